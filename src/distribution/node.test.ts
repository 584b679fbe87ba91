/**
 * Node-level distribution between Beamline nodes, over TCP and over TLS:
 * connect on first use, calls and casts by name and pid, rpc with Erlang's
 * error shapes, links and monitors both ways with `noconnection` on loss,
 * node monitors, remote spawn, a 10 MB message (fragments), wrong cookie,
 * simultaneous connects.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import type { Node } from '../core/node.js';
import { CallExitError } from '../core/errors.js';
import { ok, reply, noreply, startServer } from '../server/server.js';
import { Atom, atom, ImproperList, Pid, Ref, Tuple, tuple, isTuple } from '../terms/index.js';
import {
  distributionOf,
  exposeRpc,
  registerSpawnable,
  remoteSpawn,
  rpc,
  startNode,
  RemoteSpawnError,
  RpcError,
  type DistTlsOptions,
} from './node-dist.js';
import { ErlangThrow } from './rpc.js';
import { createSelfSignedCertificate } from './transport.js';
import { Inbox } from './testing/inbox.js';
import { eventually, freePort } from '../../test/support.js';

const quiet = { logger: (): void => {}, shutdownTimeout: 200 };

function isDown(m: unknown, reason?: unknown): boolean {
  return isTuple(m, 5) && m.elements[0] === atom('DOWN') && (reason === undefined || m.elements[4] === reason);
}
function isExit(m: unknown, reason?: unknown): boolean {
  return isTuple(m, 3) && m.elements[0] === atom('EXIT') && (reason === undefined || m.elements[2] === reason);
}

type Counter = { call: ['get', number] | [['add', number], number]; cast: ['add', number] };

for (const mode of ['tcp', 'tls'] as const) {
  /** `{nodedown, Node}`. */
function isNodedown(reason: unknown, node: string): boolean {
  return reason instanceof Tuple && reason.elements[0] === atom('nodedown') && reason.elements[1] === atom(node);
}

describe(`two Beamline nodes over ${mode}`, () => {
    let a: Node;
    let b: Node;
    const tag = `${mode}${randomInt(1e6)}`;
    const A = `a${tag}@127.0.0.1`;
    const B = `b${tag}@127.0.0.1`;
    let epmdPort = 0;
    before(async () => {
      epmdPort = await freePort(); // nothing there yet: the first node starts the embedded EPMD
      let tls: DistTlsOptions | undefined;
      if (mode === 'tls') tls = await createSelfSignedCertificate();
      const common = { cookie: 'secret', epmdPort, node: quiet, ...(tls === undefined ? {} : { tls }) };
      a = await startNode({ name: A, ...common });
      b = await startNode({ name: B, ...common });
      assert.equal(distributionOf(a).tls, mode === 'tls');
      assert.ok(distributionOf(a).epmdEmbedded, 'the first node starts the embedded EPMD');
      assert.ok(!distributionOf(b).epmdEmbedded, 'the second node uses it');
      await startServer<Counter, number, undefined>(
        b,
        {
          init: () => ok(0),
          handleCall: (req, _from, s) => (req === 'get' ? reply(req, s, s) : reply(req, s + req[1], s + req[1])),
          handleCast: (msg, s) => noreply(s + msg[1]),
        },
        undefined,
        { name: 'counter' },
      );
      exposeRpc(b, 'calc', {
        add: (x: number, y: number) => x + y,
        later: async (x: number) => {
          await new Promise((r) => setImmediate(r));
          return tuple(atom('ok'), x);
        },
        boom: () => {
          throw new TypeError('boom');
        },
        toss: () => {
          throw new ErlangThrow(atom('tossed'));
        },
      });
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
    });

    it('calls and casts a server by name, connecting on first use', async () => {
      assert.equal(await a.call({ name: 'counter', node: B }, ['add', 2]), 2);
      a.cast({ name: 'counter', node: B }, ['add', 3]);
      assert.equal(await a.call({ name: 'counter', node: B }, 'get'), 5);
      assert.deepEqual(distributionOf(a).connectedNodes(), [atom(B)]);
      assert.deepEqual(distributionOf(b).connectedNodes(), [atom(A)]);
    });

    it('a call-reply-shaped message to a process alias arrives whole; a reply for a finished call is dropped', async () => {
      // {[alias | Alias], Reply} sent to Alias is read on the fast path (only Reply is decoded): a
      // process that owns the alias still gets the whole message.
      const got = new Promise<unknown>((resolve) => {
        a.spawn({
          init: (p) => {
            const alias = p.alias();
            b.spawn({ init: (q) => q.send(alias, tuple(new ImproperList([atom('alias')], alias), atom('hello'))), handleMessage() {} });
          },
          handleMessage: (m) => resolve(m),
        });
      });
      const m = await got;
      assert.ok(m instanceof Tuple && m.elements[1] === atom('hello'));
      const tagList = m.elements[0];
      assert.ok(tagList instanceof ImproperList && tagList.items[0] === atom('alias') && tagList.tail instanceof Ref);
      assert.equal(await a.call({ name: 'counter', node: B }, ['add', 0]), 5, 'calls still answered after it');
    });

    it('calls a server by pid and gets noproc for unknown names at once', async () => {
      const pid = b.whereis('counter') as Pid;
      assert.equal(await a.call(pid, ['add', 1]), 6);
      await assert.rejects(a.call({ name: 'nobody', node: B }, 'x'), (e) => e instanceof CallExitError && e.reason === atom('noproc'));
    });

    it('rpc returns values and error shapes', async () => {
      assert.equal(await rpc(a, B, 'calc', 'add', [40, 2]), 42);
      assert.deepEqual(await rpc(a, B, 'calc', 'later', [7]), tuple(atom('ok'), 7));
      assert.equal(await rpc(a, B, 'erlang', 'node', []), atom(B));
      assert.equal(await rpc(a, B, 'calc', 'toss', []), atom('tossed'));
      await assert.rejects(rpc(a, B, 'calc', 'nope', [1]), (e) => {
        assert.ok(e instanceof RpcError);
        const r = e.reason as Tuple;
        assert.equal(r.elements[0], atom('EXIT'));
        assert.equal((r.elements[1] as Tuple).elements[0], atom('undef'));
        return true;
      });
      await assert.rejects(rpc(a, B, 'calc', 'boom', []), (e) => {
        assert.ok(e instanceof RpcError);
        const inner = ((e.reason as Tuple).elements[1] as Tuple).elements[0];
        assert.ok(inner instanceof TypeError && inner.message === 'boom', `got ${String(inner)}`);
        return true;
      });
    });

    it('links and monitors deliver exit reasons in both directions', async () => {
      const watcherA = new Inbox(a);
      const victimB = b.spawn({ handleMessage: (m, p) => p.exit(m) });
      // a links to b's process and monitors it
      const linker = a.spawn(
        {
          handleMessage: (m, p) => {
            if (m === 'go') {
              p.link(victimB);
              p.monitor(victimB);
              p.send(watcherA.pid, 'linked');
            } else p.send(watcherA.pid, m);
          },
        },
        { trapExit: true },
      );
      a.send(linker, 'go');
      await watcherA.waitFor((m) => m === 'linked');
      // b's side sees the link
      await eventually(() => (b.processInfo(victimB)?.links.length ?? 0) === 1, 20_000, 'link on b');
      a.send(victimB, atom('boom'));
      await watcherA.waitFor((m) => isExit(m, atom('boom')), 'EXIT boom');
      await watcherA.waitFor((m) => isDown(m, atom('boom')), 'DOWN boom');
      // b monitors and links a process on a
      const watcherB = new Inbox(b);
      const victimA = a.spawn({ handleMessage: (m, p) => p.exit(m) });
      const ref = b.spawn({
        init: (p) => {
          p.monitor(victimA);
          p.link(victimA);
        },
        handleMessage: (m, p) => p.send(watcherB.pid, m),
      }, { trapExit: true });
      void ref;
      await eventually(() => (a.processInfo(victimA)?.links.length ?? 0) === 1, 20_000, 'link on a');
      b.send(victimA, tuple(atom('shutdown'), 'bye'));
      await watcherB.waitFor((m) => isExit(m) && isTuple((m as Tuple).elements[2], 2), 'EXIT {shutdown, bye}');
      await watcherB.waitFor((m) => isDown(m) && isTuple((m as Tuple).elements[4], 2), 'DOWN {shutdown, bye}');
    });

    it('unlink removes the remote link (UNLINK_ID)', async () => {
      const victimB = b.spawn({ handleMessage: (m, p) => p.exit(m) });
      const inbox = new Inbox(a);
      const p = a.spawn({
        handleMessage: (m, proc) => {
          if (m === 'link') proc.link(victimB);
          if (m === 'unlink') proc.unlink(victimB);
          proc.send(inbox.pid, `${String(m)}-done`);
        },
      });
      a.send(p, 'link');
      await eventually(() => (b.processInfo(victimB)?.links.length ?? 0) === 1, 20_000, 'link on b');
      a.send(p, 'unlink');
      await eventually(() => (b.processInfo(victimB)?.links.length ?? 1) === 0, 20_000, 'unlink on b');
      a.send(victimB, atom('boom'));
      await eventually(() => !b.isAlive(victimB), 20_000, 'victim exit');
      // p survives: no link remains
      await inbox.waitFor((m) => m === 'unlink-done');
      assert.ok(a.isAlive(p));
    });

    it('remote spawn of registered behaviors; unknown names are refused', async () => {
      registerSpawnable(b, 'echo', (args) => ({
        handleMessage: (m, p) => {
          const [to, msg] = (m as Tuple).elements;
          p.send(to as Pid, tuple(args[0], msg));
        },
      }));
      const pid = await remoteSpawn(a, B, 'echo', [atom('tag')]);
      assert.equal(pid.node, atom(B));
      const inbox = new Inbox(a);
      a.send(pid, tuple(inbox.pid, 'hi'));
      const got = await inbox.waitFor<Tuple>((m) => isTuple(m, 2));
      assert.deepEqual(got, tuple(atom('tag'), 'hi'));
      await assert.rejects(remoteSpawn(a, B, 'missing'), (e) => e instanceof RemoteSpawnError && e.reason === atom('undef'));
    });

    it('a 10 MB binary crosses in both directions', async () => {
      const data = randomBytes(10 * 1024 * 1024);
      const inboxA = new Inbox(a);
      const echo = b.spawn({ handleMessage: (m, p) => p.send((m as Tuple).elements[0] as Pid, (m as Tuple).elements[1]) });
      a.send(echo, tuple(inboxA.pid, data));
      const back = await inboxA.waitFor<Uint8Array>((m) => m instanceof Uint8Array, '10 MB echo', 60_000);
      assert.equal(back.length, data.length);
      assert.ok(Buffer.from(back.buffer, back.byteOffset, back.length).equals(data));
    });

    it('connection loss fires noconnection to links and monitors, nodedown to node monitors', async () => {
      const victimB = b.spawn({ handleMessage: () => {} });
      const inbox = new Inbox(a);
      a.spawn(
        {
          init: (p) => {
            p.link(victimB);
            p.monitor(victimB);
            p.monitorNode(B);
            p.send(inbox.pid, 'ready');
          },
          handleMessage: (m, p) => p.send(inbox.pid, m),
        },
        { trapExit: true },
      );
      await inbox.waitFor((m) => m === 'ready');
      await eventually(() => (b.processInfo(victimB)?.links.length ?? 0) === 1, 20_000, 'link on b');
      assert.ok(distributionOf(b).disconnect(A));
      await inbox.waitFor((m) => isExit(m, atom('noconnection')), 'EXIT noconnection');
      await inbox.waitFor((m) => isDown(m, atom('noconnection')), 'DOWN noconnection');
      await inbox.waitFor((m) => isTuple(m, 2) && m.elements[0] === atom('nodedown'), 'nodedown');
      // b's end of the link fired too: the victim does not trap exits, so it died with noconnection
      await eventually(() => !b.isAlive(victimB), 20_000, 'victim on b exits');
      // and the next send reconnects
      assert.equal(typeof (await a.call({ name: 'counter', node: B }, 'get')), 'number');
    });

    it('a wrong cookie is refused on both sides', async () => {
      const c = await startNode({ name: `c${tag}@127.0.0.1`, cookie: 'wrong', epmdPort, node: quiet, ...(mode === 'tls' ? { tls: { selfSigned: true } as const } : {}) });
      try {
        // OTP's gen:call turns a lost connection into {nodedown, Node}.
        await assert.rejects(c.call({ name: 'counter', node: B }, 'get', { timeout: 10_000 }), (e) => e instanceof CallExitError && isNodedown(e.reason, B));
        await assert.rejects(b.call({ name: 'net_kernel', node: c.name.name }, 'x', { timeout: 10_000 }), (e) => e instanceof CallExitError && isNodedown(e.reason, c.name.name));
      } finally {
        await c.stop();
      }
    });
  });
}

describe('simultaneous connects', () => {
  it('two nodes that connect to each other at once end with one connection', async () => {
    const epmdPort = await freePort();
    const tag = randomInt(1e6);
    const x = await startNode({ name: `x${tag}@127.0.0.1`, cookie: 'c', epmdPort, node: quiet });
    const y = await startNode({ name: `y${tag}@127.0.0.1`, cookie: 'c', epmdPort, node: quiet });
    try {
      const ix = new Inbox(x, { name: 'inbox' });
      const iy = new Inbox(y, { name: 'inbox' });
      for (let i = 0; i < 20; i++) {
        x.send({ name: 'inbox', node: y.name.name }, i);
        y.send({ name: 'inbox', node: x.name.name }, i);
      }
      await iy.waitFor((m) => m === 19);
      await ix.waitFor((m) => m === 19);
      assert.deepEqual(iy.messages, Array.from({ length: 19 }, (_, i) => i), 'in order, none lost');
      assert.deepEqual(ix.messages, Array.from({ length: 19 }, (_, i) => i));
      assert.equal(distributionOf(x).connectedNodes().length, 1);
      assert.equal(distributionOf(y).connectedNodes().length, 1);
    } finally {
      await x.stop();
      await y.stop();
    }
  });
});

void Atom;
