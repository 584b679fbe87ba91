/**
 * One lifecycle shape: what is started is disposed with `await using`
 * (Symbol.asyncDispose), and long operations take an AbortSignal.
 * Crosses the behaviors, so it lives in test/.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { deferred, eventually, freePort, quietLogger } from './support.js';
import { atom } from '../src/terms/atom.js';
import { AbortedError } from '../src/core/errors.js';
import { Node } from '../src/core/node.js';
import { normal } from '../src/core/reasons.js';
import { ok, startServer, type ServerBehavior } from '../src/server/server.js';
import { serverStart, startSupervisor } from '../src/supervisor/index.js';
import { startPool } from '../src/pool/index.js';
import { loadApplication, startApplication, whichApplications } from '../src/application/index.js';
import { json, respond, route, startWeb } from '../src/web/index.js';
import { startTcp } from '../src/tcp/index.js';
import { startUdp } from '../src/udp/index.js';
import { distributionOf, registerSpawnable, remoteSpawn, startNode } from '../src/distribution/index.js';

function newNode(name: string): Node {
  return new Node({ name: `${name}@127.0.0.1`, logger: quietLogger().log, shutdownTimeout: 200 });
}

const idle: ServerBehavior<{ call: [null, null] }, string[], string[]> = {
  init: (log) => ok(log),
  terminate: (reason, log) => void log.push(`terminate ${String(reason)}`),
};
/** Traps exits, so a supervisor's shutdown runs its terminate. */
const trapping: ServerBehavior<{ call: [null, null] }, string[], string[]> = {
  ...idle,
  init: (log, ctx) => {
    ctx.trapExit = true;
    return ok(log);
  },
};

/** A port nothing listens on once `close` resolved: a new listener can bind it. */
async function portIsFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('await using stops what was started', () => {
  it('a server: terminate runs with normal and the process exits', async () => {
    await using node = newNode('dsrv');
    const log: string[] = [];
    let pid;
    {
      await using server = await startServer(node, idle, log);
      pid = server.pid;
      assert.ok(node.isAlive(pid));
    }
    assert.equal(node.isAlive(pid), false);
    assert.deepEqual(log, ['terminate normal']);
  });

  it('stop() of a server that is already gone resolves; stop() of a hand-made ref says why it cannot', async () => {
    await using node = newNode('dgone');
    const server = await startServer(node, idle, []);
    node.exit(server.pid, atom('kill'));
    await node.waitExit(server.pid);
    await server.stop();
    const { StartedServer } = await import('../src/server/server.js');
    const { Pid } = await import('../src/terms/identifiers.js');
    const copy = new Pid(server.pid.node, server.pid.id, server.pid.serial, server.pid.creation);
    await assert.rejects(new StartedServer(copy).stop(), /not started by startServer/);
  });

  it('a supervisor from a node: its children stop too', async () => {
    await using node = newNode('dsup');
    const log: string[] = [];
    let sup;
    {
      await using s = await startSupervisor(node, { strategy: 'one_for_one', children: [{ id: 'a', start: serverStart(trapping, log, { name: 'a' }) }] });
      sup = s.pid;
      assert.ok(node.whereis('a') !== undefined);
    }
    assert.equal(node.isAlive(sup), false);
    assert.equal(node.whereis('a'), undefined);
    assert.deepEqual(log, ['terminate shutdown']);
  });

  it('a supervisor started from a process', async () => {
    await using node = newNode('dsupp');
    const done = deferred<boolean>();
    node.spawn({
      async init(ctx) {
        const s = await startSupervisor(ctx, { strategy: 'one_for_one', children: [{ id: 'b', start: serverStart(idle, [], { name: 'b' }) }] });
        await s[Symbol.asyncDispose]();
        done.resolve(!node.isAlive(s.pid) && node.whereis('b') === undefined);
      },
      handleMessage() {},
    });
    assert.equal(await done.promise, true);
  });

  it('a pool and its workers', async () => {
    await using node = newNode('dpool');
    let workers: (import('../src/terms/identifiers.js').Pid | undefined)[] = [];
    {
      await using pool = await startPool(node, { size: 3, worker: idle, args: [] });
      const { poolInfo } = await import('../src/pool/index.js');
      workers = (await poolInfo(node, pool)).workers;
      assert.equal(workers.length, 3);
    }
    for (const w of workers) assert.equal(w !== undefined && node.isAlive(w), false);
  });

  it('an application (its dependencies keep running)', async () => {
    await using node = newNode('dapp');
    loadApplication(node, { name: 'base', version: '1', children: [] });
    loadApplication(node, { name: 'top', version: '1', dependencies: ['base'], children: [{ id: 'w', start: serverStart(idle, [], { name: 'w' }) }] });
    {
      await using app = await startApplication(node, 'top');
      assert.equal(app.name, 'top');
      assert.deepEqual(whichApplications(node).map((a) => a.name).sort(), ['base', 'top']);
    }
    assert.deepEqual(whichApplications(node).map((a) => a.name), ['base']);
    assert.equal(node.whereis('w'), undefined);
  });

  it('web, tcp and udp listeners release their ports', async () => {
    await using node = newNode('dnet');
    let webPort: number;
    let tcpPort: number;
    let udpPort: number;
    {
      await using web = await startWeb(node, { port: 0, routes: [route('GET', '/', { init: () => ok(0), handleRequest: (_r, s) => respond(json({ ok: true }), s) })] });
      await using tcp = await startTcp(node, { port: 0, framing: 'line', handler: { init: () => ok(0), handleData: (_c, _l, s) => s }, args: undefined });
      await using udp = await startUdp(node, { port: 0, handler: { init: () => ok(0), handlePacket: (_p, s) => s }, args: undefined });
      webPort = web.port;
      tcpPort = tcp.port;
      udpPort = udp.port;
      assert.equal((await fetch(web.url)).status, 200);
      const socket = connect(tcpPort, '127.0.0.1');
      await once(socket, 'connect');
      socket.destroy();
    }
    assert.equal(await portIsFree(webPort), true, 'web port released');
    assert.equal(await portIsFree(tcpPort), true, 'tcp port released');
    const u = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind(udpPort, '127.0.0.1', () => resolve());
    });
    u.close();
  });

  it('a distributed node: disposing it unregisters it and closes its listener', async () => {
    const epmdPort = await freePort();
    let listenPort: number;
    {
      await using n = await startNode({ name: 'ddist@127.0.0.1', cookie: 'c', epmdPort, logger: () => {}, shutdownTimeout: 100 });
      listenPort = distributionOf(n).listenPort;
    }
    assert.equal(await portIsFree(listenPort), true);
    // The name is free again: a new node registers it on the same EPMD.
    await using again = await startNode({ name: 'ddist@127.0.0.1', cookie: 'c', epmdPort, logger: () => {}, shutdownTimeout: 100 });
    assert.ok(again.alive);
  });
});

describe('AbortSignal on long operations', () => {
  const slowInit = (gate: Promise<void>): ServerBehavior<{ call: [null, null] }, number> => ({
    init: async () => {
      await gate;
      return ok(0);
    },
  });

  it('waitExit rejects with AbortedError, and leaves the process alone', async () => {
    await using node = newNode('awx');
    const server = await startServer(node, idle, []);
    const controller = new AbortController();
    const wait = node.waitExit(server.pid, { signal: controller.signal });
    controller.abort('enough');
    const err = await wait.catch((e: unknown) => e);
    assert.ok(err instanceof AbortedError);
    assert.equal(err.code, 'aborted');
    assert.equal(err.reason, 'enough');
    assert.ok(node.isAlive(server.pid));
    await assert.rejects(node.waitExit(server.pid, { signal: AbortSignal.abort() }), AbortedError);
    const later = node.waitExit(server.pid, { signal: new AbortController().signal });
    await server.stop();
    assert.equal(await later, normal);
  });

  it('a server start: aborted during init kills the process; aborted before does not spawn', async () => {
    await using node = newNode('ast');
    const gate = deferred<void>();
    const controller = new AbortController();
    const before = node.processes().length;
    const start = startServer(node, slowInit(gate.promise), undefined, { signal: controller.signal });
    controller.abort();
    const err = await start.catch((e: unknown) => e);
    assert.ok(err instanceof AbortedError, String(err));
    assert.equal(node.processes().length, before, 'the process was killed');
    await assert.rejects(startServer(node, idle, [], { signal: AbortSignal.abort() }), AbortedError);
    assert.equal(node.processes().length, before);
    gate.resolve();
    // A signal that aborts after the start has no effect on the server.
    const late = new AbortController();
    const s = await startServer(node, idle, [], { signal: late.signal });
    late.abort();
    assert.ok(node.isAlive(s.pid));
  });

  it('supervisor and pool starts', async () => {
    await using node = newNode('asp');
    const gate = deferred<void>();
    const c1 = new AbortController();
    const sup = startSupervisor(node, { strategy: 'one_for_one', children: [{ id: 'slow', start: serverStart(slowInit(gate.promise), undefined) }] }, { signal: c1.signal });
    c1.abort();
    await assert.rejects(sup, AbortedError);
    const c2 = new AbortController();
    const pool = startPool(node, { size: 2, worker: slowInit(gate.promise), args: undefined }, { signal: c2.signal });
    c2.abort();
    await assert.rejects(pool, AbortedError);
    gate.resolve();
  });

  it('web, TCP and UDP starts: aborted before, nothing starts; aborted while their handlers start, it rejects and no process or socket is left', async () => {
    await using node = newNode('aowner');
    let gate = deferred<void>();
    const held = async (): Promise<ReturnType<typeof ok<number>>> => {
      await gate.promise;
      return ok(0);
    };
    // Listening TCP servers and UDP sockets of this test process (port 0: no port to collide with other tests).
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'UDPWrap').length;
    const starts = {
      web: (signal: AbortSignal) => startWeb(node, { port: 0, routes: [route('GET', '/', { init: held, handleRequest: (_r, s) => respond(json({}), s) })] }, { signal }),
      tcp: (signal: AbortSignal) => startTcp(node, { port: 0, framing: 'line', handler: { init: held, handleData: (_c, _l, s) => s }, args: undefined }, { signal }),
      udp: (signal: AbortSignal) => startUdp(node, { port: 0, handler: { init: held, handlePacket: (_p, s) => s }, args: undefined }, { signal }),
    };
    const before = node.processes().length;
    const openBefore = sockets();
    for (const [kind, start] of Object.entries(starts)) {
      await assert.rejects(start(AbortSignal.abort()), AbortedError, `${kind}: aborted before`);
      assert.equal(node.processes().length, before, `${kind}: nothing spawned`);
      gate = deferred<void>();
      const controller = new AbortController();
      const starting = start(controller.signal);
      // The owner is up and its pool is starting a handler that waits at the gate.
      await eventually(() => node.processes().length > before + 2, 10_000, `${kind}: the owner, its pool, a handler`);
      controller.abort(atom('cancelled'));
      const err = await starting.catch((e: unknown) => e);
      assert.ok(err instanceof AbortedError && err.reason === atom('cancelled'), `${kind}: ${String(err)}`);
      // The owner was killed at once; its pool (trapping exits, as a supervisor in init does in OTP)
      // acts on the exit once the handler it is starting returns from init, then stops its handlers.
      // The owner's init resumes after the kill and opens its socket: it is closed at once.
      gate.resolve();
      await eventually(() => node.processes().length === before, 10_000, `${kind}: the owner, its pool and its handlers are gone`);
      // At most as many as before (an earlier test's socket may still be closing when counted).
      await eventually(() => sockets() <= openBefore, 10_000, `${kind}: no listening socket left (${sockets()} open, ${openBefore} before)`);
    }
  });

  it('startNode and remoteSpawn', async () => {
    const epmdPort = await freePort();
    await assert.rejects(startNode({ name: 'anode@127.0.0.1', cookie: 'c', epmdPort, signal: AbortSignal.abort(), logger: () => {} }), AbortedError);
    await using a = await startNode({ name: 'anodea@127.0.0.1', cookie: 'c', epmdPort, logger: () => {}, shutdownTimeout: 100 });
    await using b = await startNode({ name: 'anodeb@127.0.0.1', cookie: 'c', epmdPort, logger: () => {}, shutdownTimeout: 100 });
    const gate = deferred<void>();
    registerSpawnable(b, 'slow', async (_args, node) => (await startServer(node, slowInit(gate.promise), undefined)).pid);
    const controller = new AbortController();
    const spawning = remoteSpawn(a, b.name, 'slow', [], { signal: controller.signal, timeout: 10_000 });
    controller.abort();
    await assert.rejects(spawning, AbortedError);
    await assert.rejects(remoteSpawn(a, b.name, 'slow', [], { signal: AbortSignal.abort() }), AbortedError);
    gate.resolve();
  });
});
