/**
 * A 2-node local cluster: the nodes are connected at start; a call, a link
 * and a monitor across it; a node killed is reported down, its peer sees
 * `noconnection`, and it comes back under its name with a new creation (its
 * old pids are dead); an Erlang node calls both; one Web port served by both;
 * a shared port's connections handed in turn to the nodes serving it;
 * stats; bad options, a failing start function and the restart intensity.
 * @module
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import nodeCluster from 'node:cluster';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Node } from '../core/node.js';
import { atom, isTuple, tuple } from '../terms/index.js';
import { rpc } from '../distribution/node-dist.js';
import { ok, reply, type ServerBehavior } from '../server/server.js';
import { startLocalCluster, startSpreadPool, type ClusterEvent, type LocalCluster } from './index.js';
import { eventually, eventuallyAsync, freePort } from '../../test/support.js';
import { erlSkipReason, startErl } from '../../test/erl.js';
import { checkExitAndThrowRestart, checkKilledNodeRestarts, twoNodeCluster } from '../../test/cluster-checks.js';

const START = new URL('../../test/cluster-node.js', import.meta.url);
const COOKIE = 'clustertest';

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Opens `n` connections to `port` and keeps them all open while each asks
 * `GET /who` once; the node names that answered, in connection order.
 */
async function whoOver(port: number, n: number): Promise<string[]> {
  const sockets = Array.from({ length: n }, () => connect(port, '127.0.0.1'));
  try {
    return await Promise.all(
      sockets.map(
        (s) =>
          new Promise<string>((resolve, reject) => {
            let text = '';
            s.on('data', (d: Buffer) => {
              text += d.toString();
              const m = /\{"node":"([^"]+)"\}/.exec(text);
              if (m !== null) resolve(m[1] as string);
            });
            s.once('error', reject);
            s.once('close', () => reject(new Error(`connection closed before an answer: ${JSON.stringify(text)}`)));
            s.write('GET /who HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
          }),
      ),
    );
  } finally {
    for (const s of sockets) s.destroy();
  }
}

describe('a 2-node local cluster', () => {
  const rig = twoNodeCluster('c', COOKIE);
  let cluster: LocalCluster;
  let t: Node;
  let n0 = '';
  let n1 = '';
  let base = '';
  let epmdPort = 0;
  before(() => ({ cluster, t, n0, n1, base, epmdPort } = rig));

  it('starts the nodes named base_i@host, connected to each other before their start function runs', async () => {
    assert.deepEqual(cluster.names, [`${base}_0@127.0.0.1`, `${base}_1@127.0.0.1`]);
    assert.ok(cluster.members().every((m) => m.state === 'up' && m.creation > 0 && typeof m.osPid === 'number' && m.osPid !== process.pid));
    assert.deepEqual(await rpc(t, n0, 'ct', 'context', []), tuple(0, 2, [atom(n1)]));
    assert.deepEqual(await rpc(t, n1, 'ct', 'context', []), tuple(1, 2, [atom(n0)]));
  });

  it('a call across the cluster', async () => {
    assert.deepEqual(await rpc(t, n0, 'ct', 'call', [n1, 'hi']), tuple(atom(n1), 'hi'));
    assert.deepEqual(await rpc(t, n1, 'ct', 'call', [n0, 42]), tuple(atom(n0), 42));
  });

  it('a Pool spread over the nodes places its workers round robin', async () => {
    const answers = await rpc(t, n0, 'pool', 'spread', [4]);
    const order = [atom(n0), atom(n1), atom(n0), atom(n1)];
    assert.deepEqual(answers, tuple(order, order));
  });

  it('a spread pool places a worker on the next node when one cannot be reached, and fails when none can', async () => {
    const nobody = `nobody${base}@127.0.0.1`;
    assert.deepEqual(await rpc(t, n0, 'pool', 'spread_over', [[n1, nobody], 2], { timeout: 30_000 }), [atom(n1), atom(n1)]);
    const failed = await rpc(t, n0, 'pool', 'spread_over', [[nobody], 1], { timeout: 30_000 });
    assert.ok(isTuple(failed, 2) && failed.elements[0] === atom('error'), `got ${String(failed)}`);
  });

  it('reports each node: name, OS pid, event-loop utilization, processes, message counts, connections', async () => {
    const first = await cluster.stats();
    // 50 calls from n0 to n1's echo: each is a message delivered to echo's mailbox on n1 and frames both ways
    // (the replies come back to a call made from outside any process on n0: no mailbox).
    assert.equal(await rpc(t, n0, 'ct', 'calls', [n1, 50]), atom('ok'));
    const stats = await cluster.stats();
    assert.deepEqual(stats.map((s) => s.name), [n0, n1]);
    for (const s of stats) {
      assert.ok(s.osPid > 0 && s.eventLoopUtilization >= 0 && s.eventLoopUtilization <= 1 && s.processes > 0 && s.rssBytes > 0);
      assert.ok(s.connectedNodes.includes(s.name === n0 ? n1 : n0));
      const before = first.find((f) => f.name === s.name);
      assert.ok(before !== undefined);
      assert.ok(s.cpuMs > before.cpuMs, `${s.name} used CPU`);
      if (s.name === n1) {
        assert.ok(s.messagesDelivered - before.messagesDelivered >= 50, `${s.name} delivered ${s.messagesDelivered - before.messagesDelivered}`);
        assert.ok(s.messagesPerSecond > 0);
      }
      assert.ok(s.distMessagesIn - before.distMessagesIn >= 50 && s.distMessagesOut - before.distMessagesOut >= 50, `${s.name} frames in/out`);
    }
    // The nodes reached each other over the in-host transport (n1 connected to n0), not TCP.
    assert.equal(stats.reduce((sum, s) => sum + s.inHostConnects, 0), 1);
  });

  it('a killed node: link and monitor fire noconnection, it restarts with a new creation, its old pids are dead', () =>
    checkKilledNodeRestarts(rig, 'SIGKILL'));

  it('one Web port served by both nodes', async () => {
    const port = (await rpc(t, n0, 'web', 'port', [])) as number;
    assert.equal(await rpc(t, n1, 'web', 'port', []), port, 'the nodes share one listening port');
    const seen = new Set<string>();
    await eventuallyAsync(
      async () => {
        const body = JSON.parse(await get(port, '/who')) as { node: string };
        seen.add(body.node);
        return seen.size;
      },
      (n) => n === 2,
      30_000,
      'responses from both nodes',
    );
    assert.deepEqual([...seen].sort(), [n0, n1].sort());
  });

  it('a shared port hands connections to the nodes serving it, in turn: none to a node not serving yet or no more; a restarted node takes them again', async () => {
    // Runs after the kill test: n1 is a restarted incarnation.
    assert.ok((cluster.members()[1]?.restarts ?? 0) >= 1, 'n1 was restarted');
    const port = await freePort();
    const settled = (): Promise<void> => eventually(() => cluster.members().every((m) => m.connections.open === 0), 30_000, 'every connection closed and counted');
    const taken = (): number[] => cluster.members().map((m) => m.connections.taken);
    // Only n0 serves the port yet.
    assert.equal(await rpc(t, n0, 'web', 'start_late', [port]), port);
    await settled();
    let before = taken();
    assert.deepEqual(await whoOver(port, 4), [n0, n0, n0, n0]);
    assert.deepEqual(taken().map((x, i) => x - (before[i] as number)), [4, 0]);
    // n1 serves it too: N connections held open at once, N/2 each.
    assert.equal(await rpc(t, n1, 'web', 'start_late', [port]), port);
    await settled();
    before = taken();
    const six = await whoOver(port, 6);
    assert.deepEqual([six.filter((n) => n === n0).length, six.filter((n) => n === n1).length], [3, 3], six.join(' '));
    assert.deepEqual(taken().map((x, i) => x - (before[i] as number)), [3, 3]);
    // n0's gateway stops (a drain): every connection goes to n1.
    assert.equal(await rpc(t, n0, 'web', 'stop_late', []), atom('ok'));
    await settled();
    assert.deepEqual(await whoOver(port, 4), [n1, n1, n1, n1]);
    // Started again, n0 serves it again: it takes connections as before.
    assert.equal(await rpc(t, n0, 'web', 'start_late', [port]), port);
    await settled();
    const two = await whoOver(port, 2);
    assert.deepEqual([...two].sort(), [n0, n1].sort());
    assert.equal(await rpc(t, n0, 'web', 'stop_late', []), atom('ok'));
    // Nobody serves it any more: the port is closed.
    assert.equal(await rpc(t, n1, 'web', 'stop_late', []), atom('ok'));
    await eventuallyAsync(
      () => new Promise<string>((resolve) => connect(port, '127.0.0.1').once('connect', function (this: Socket) { this.destroy(); resolve('open'); }).once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))),
      (code) => code === 'ECONNREFUSED',
      30_000,
      'the port closed',
    );
  });

  it('one TCP port served by both nodes', async () => {
    const port = (await rpc(t, n0, 'web', 'tcp_port', [])) as number;
    assert.equal(await rpc(t, n1, 'web', 'tcp_port', []), port, 'the nodes share one listening port');
    const seen = new Set<string>();
    await eventuallyAsync(
      async () => {
        const socket = connect(port, '127.0.0.1');
        const [line] = (await once(socket, 'data')) as [Buffer];
        socket.destroy();
        seen.add(line.toString().trim());
        return seen.size;
      },
      (n) => n === 2,
      30_000,
      'greetings from both nodes',
    );
    assert.deepEqual([...seen].sort(), [n0, n1].sort());
  });

  it('an Erlang node connects to both nodes and calls each', { skip: erlSkipReason() }, async () => {
    const call = (n: string): string => `{'${n}', R${n === n0 ? 0 : 1}} = gen_server:call({echo, '${n}'}, ping)`;
    const erl = startErl({
      name: `erl${base}@127.0.0.1`,
      cookie: COOKIE,
      epmdPort,
      eval: `${call(n0).replace('R0', 'ping')}, ${call(n1).replace('R1', 'ping')}, io:format("called ~p~n", [lists:sort(nodes())]), halt().`,
    });
    try {
      const out = await erl.waitForOutput(/called \[.*\]/s, 60_000);
      assert.ok(out.includes(n0) && out.includes(n1), out);
    } finally {
      await erl.kill();
    }
  });

  it('a node ending by process.exit or an uncaught error is reported down and restarted', () => checkExitAndThrowRestart(rig));
});

describe('local cluster failures', () => {
  it('rejects bad options with a clear error', async () => {
    await assert.rejects(startLocalCluster({ base: 'bad name', cookie: COOKIE, start: START, size: 1 }), RangeError);
    await assert.rejects(startLocalCluster({ base: 'x', cookie: COOKIE, start: START, size: 0 }), RangeError);
  });

  it('a start function that is missing or throws fails the start and stops the other nodes', async () => {
    const epmdPort = await freePort();
    await assert.rejects(
      startLocalCluster({ base: `m${randomInt(1e6)}`, cookie: COOKIE, start: START, exportName: 'nothing', size: 1, epmdPort, intensity: 0 }),
      /does not export a function nothing/,
    );
  });

  it('a start cancelled by its AbortSignal stops the nodes started so far and rejects with AbortedError', async () => {
    await assert.rejects(startLocalCluster({ base: `a${randomInt(1e6)}`, cookie: COOKIE, start: START, size: 1, signal: AbortSignal.abort('no') }), {
      name: 'AbortedError',
    });
    const epmdPort = await freePort();
    const controller = new AbortController();
    const workersBefore = Object.keys(nodeCluster.workers ?? {}).length;
    nodeCluster.once('fork', () => controller.abort('changed my mind'));
    await assert.rejects(startLocalCluster({ base: `a${randomInt(1e6)}`, cookie: COOKIE, start: START, size: 2, epmdPort, signal: controller.signal }), {
      name: 'AbortedError',
      reason: 'changed my mind',
    });
    await eventually(() => Object.keys(nodeCluster.workers ?? {}).length === workersBefore, 30_000, 'the forked nodes are gone');
  });

  it('gives up after more restarts than its intensity allows', async () => {
    const epmdPort = await freePort();
    const c = await startLocalCluster({ base: `r${randomInt(1e6)}`, cookie: COOKIE, start: START, size: 1, epmdPort, intensity: 0, period: 60 });
    const seen: ClusterEvent[] = [];
    c.monitor((e) => seen.push(e));
    const [name] = c.names as [string];
    c.kill(name);
    assert.equal(await c.closed, 'reached_max_restart_intensity');
    assert.deepEqual(seen.map((e) => e.kind), ['down', 'shutdown']);
    assert.equal(c.members()[0]?.state, 'down');
    await c.stop();
  });
});


// Type tests (checked by tsc, never run).
export function typeTests(node: Node): void {
  // @ts-expect-error a start module is required: closures do not cross nodes
  void startLocalCluster({ base: 'x', cookie: 'c' });
  // @ts-expect-error start is a module (path or URL), not a function
  void startLocalCluster({ base: 'x', cookie: 'c', start: () => {} });
  type Echo = { call: [string, string] };
  const echo: ServerBehavior<Echo, undefined, number> = { init: () => ok(undefined), handleCall: (r, _f, s) => reply(r, r, s) };
  // @ts-expect-error the workers' init argument is a number
  void startSpreadPool(node, { size: 2, worker: echo, name: 'echo', nodes: ['a@h'], args: 'one' });
  void startSpreadPool(node, { size: 2, worker: echo, name: 'echo', nodes: ['a@h'], args: 1 }).then(async (pool) => {
    const answer: string = await node.call(pool, 'hi');
    // @ts-expect-error the pool speaks the workers' protocol: requests are strings
    await node.call(pool, 42);
    void answer;
  });
}
