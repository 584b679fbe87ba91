/**
 * A 2-node local cluster hosted in worker threads, joined over shared-memory
 * rings: the nodes are connected at start (over rings, not TCP); a call, a
 * link and a monitor across it; a node's thread terminated is reported down,
 * its peer sees `noconnection`, and it comes back under its name with a new
 * creation (its old pids are dead); process.exit and an uncaught error in a
 * node's thread do the same; an Erlang node reaches both over TCP; bad
 * hosting options are refused.
 * @module
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import type { Node } from '../core/node.js';
import { atom, tuple } from '../terms/index.js';
import { rpc } from '../distribution/node-dist.js';
import { startLocalCluster, type ClusterEvent, type LocalCluster } from './index.js';
import { freePort } from '../../test/support.js';
import { erlSkipReason, startErl } from '../../test/erl.js';
import { checkExitAndThrowRestart, checkKilledNodeRestarts, twoNodeCluster } from '../../test/cluster-checks.js';

const START = new URL('../../test/cluster-node.js', import.meta.url);
const COOKIE = 'clusterthreads';

describe('a 2-node local cluster of worker threads', () => {
  const rig = twoNodeCluster('th', COOKIE, { hosting: 'threads' });
  let cluster: LocalCluster;
  let t: Node;
  let n0 = '';
  let n1 = '';
  const { base } = rig;
  let epmdPort = 0;
  before(() => ({ cluster, t, n0, n1, epmdPort } = rig));

  it('starts the nodes as threads of this process, named base_i@host, connected over rings before their start function runs', async () => {
    assert.equal(cluster.hosting, 'threads');
    assert.deepEqual(cluster.names, [`${base}_0@127.0.0.1`, `${base}_1@127.0.0.1`]);
    const members = cluster.members();
    assert.ok(members.every((m) => m.state === 'up' && m.creation > 0 && m.osPid === process.pid && typeof m.threadId === 'number' && m.threadId !== threadId));
    assert.deepEqual(await rpc(t, n0, 'ct', 'context', []), tuple(0, 2, [atom(n1)]));
    assert.deepEqual(await rpc(t, n1, 'ct', 'context', []), tuple(1, 2, [atom(n0)]));
    const stats = await cluster.stats();
    assert.deepEqual(stats.map((s) => s.threadId), members.map((m) => m.threadId));
    assert.equal(stats.reduce((sum, s) => sum + s.inHostConnects, 0), 1, 'one connection between the two, over rings');
  });

  it('a call across the cluster, and many in a row', async () => {
    assert.deepEqual(await rpc(t, n0, 'ct', 'call', [n1, 'hi']), tuple(atom(n1), 'hi'));
    assert.deepEqual(await rpc(t, n1, 'ct', 'call', [n0, 42]), tuple(atom(n0), 42));
    assert.equal(await rpc(t, n0, 'ct', 'calls', [n1, 500], { timeout: 60_000 }), atom('ok'));
    const big = 'x'.repeat(1 << 20); // larger than a ring: crosses in pieces
    assert.deepEqual(await rpc(t, n0, 'ct', 'call', [n1, big], { timeout: 60_000 }), tuple(atom(n1), big));
  });

  it('a killed node: link and monitor fire noconnection, it restarts with a new creation, its old pids are dead', async () => {
    await checkKilledNodeRestarts(rig, 'terminated');
    const stats = await cluster.stats();
    assert.equal(stats.find((s) => s.name === n1)?.inHostConnects, 1, 'the new incarnation connected to n0 over rings');
  });

  it('a node ending by process.exit or an uncaught error in its thread is reported down and restarted', () => checkExitAndThrowRestart(rig));

  it('an Erlang node connects to both nodes over TCP and calls each', { skip: erlSkipReason() }, async () => {
    const call = (n: string): string => `{'${n}', ping} = gen_server:call({echo, '${n}'}, ping)`;
    const erl = startErl({
      name: `erl${base}@127.0.0.1`,
      cookie: COOKIE,
      epmdPort,
      eval: `${call(n0)}, ${call(n1)}, io:format("called ~p~n", [lists:sort(nodes())]), halt().`,
    });
    try {
      const out = await erl.waitForOutput(/called \[.*\]/s, 60_000);
      assert.ok(out.includes(n0) && out.includes(n1), out);
    } finally {
      await erl.kill();
    }
  });
});

describe('local cluster of threads: options', () => {
  it('refuses a bad hosting, ring size or spin', async () => {
    const start = { base: 'x', cookie: COOKIE, start: START, size: 1 };
    // @ts-expect-error hosting is 'processes' or 'threads'
    await assert.rejects(startLocalCluster({ ...start, hosting: 'fibers' }), RangeError);
    await assert.rejects(startLocalCluster({ ...start, hosting: 'threads', ringBytes: 1000 }), RangeError);
    await assert.rejects(startLocalCluster({ ...start, hosting: 'threads', maxSpinUs: -5 }), RangeError);
  });

  it('gives up after more restarts than its intensity allows', async () => {
    const epmdPort = await freePort();
    const c = await startLocalCluster({ base: `r${randomInt(1e6)}`, cookie: COOKIE, start: START, size: 1, epmdPort, intensity: 0, period: 60, hosting: 'threads' });
    const seen: ClusterEvent[] = [];
    c.monitor((e) => seen.push(e));
    const [name] = c.names as [string];
    assert.ok(c.kill(name));
    assert.equal(await c.closed, 'reached_max_restart_intensity');
    assert.deepEqual(seen.map((e) => e.kind), ['down', 'shutdown']);
    await c.stop();
  });
});
