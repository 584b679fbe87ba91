/**
 * Test support: the 2-node local cluster (nodes running test/cluster-node.ts)
 * that the local cluster tests start for each hosting (processes, threads),
 * and the crash-and-restart checks they run against it: a node killed, and
 * a node ending by process.exit or an uncaught error.
 * @module
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before } from 'node:test';
import { startNode } from '../src/distribution/node-dist.js';
import { startLocalCluster, type LocalClusterOptions } from '../src/cluster/index.js';
import { freePort } from './support.js';
import type { Node } from '../src/core/node.js';
import { atom, isTuple, tuple, type Pid } from '../src/terms/index.js';
import { rpc } from '../src/distribution/node-dist.js';
import type { ClusterEvent, LocalCluster } from '../src/cluster/index.js';
import { eventually, eventuallyAsync } from './support.js';

/** A started 2-node cluster, its events, and a node `t` of this thread connected to it over TCP. */
export interface TwoNodes {
  readonly base: string;
  /** Its private EPMD's port, chosen when the cluster starts (before the suite's tests). */
  epmdPort: number;
  cluster: LocalCluster;
  t: Node;
  readonly events: ClusterEvent[];
  n0: string;
  n1: string;
}

/** Starts a 2-node cluster (and `t`) before the suite's tests and stops it after them; `options` add to the defaults. */
export function twoNodeCluster(prefix: string, cookie: string, options: Partial<LocalClusterOptions> = {}): TwoNodes {
  const base = `${prefix}${randomInt(1e6)}`;
  const rig = { base, epmdPort: 0, events: [] as ClusterEvent[], n0: '', n1: '' } as TwoNodes;
  before(async () => {
    const epmdPort = (rig.epmdPort = await freePort());
    rig.cluster = await startLocalCluster({ base, cookie, start: new URL('./cluster-node.js', import.meta.url), size: 2, epmdPort, intensity: 5, period: 60, ...options });
    rig.cluster.monitor((e) => rig.events.push(e));
    [rig.n0, rig.n1] = rig.cluster.names as [string, string];
    rig.t = await startNode({ name: `t${base}@127.0.0.1`, cookie, epmdPort, embeddedEpmd: false, node: { logger: () => {}, shutdownTimeout: 200 } });
  });
  after(async () => {
    await rig.t?.stop();
    await rig.cluster?.stop();
  });
  return rig;
}

export function hasPair(list: unknown, tag: string, reason: string): boolean {
  return Array.isArray(list) && list.some((m) => isTuple(m, 2) && m.elements[0] === atom(tag) && m.elements[1] === atom(reason));
}

/**
 * Kills `n1` (its process or thread): a link and a monitor from `n0` fire
 * `noconnection`; `n1` is reported down with `reason` and comes back under
 * its name with a new creation and a new process or thread; its old pids
 * are dead (`noproc`); it is connected to `n0` again.
 */
export async function checkKilledNodeRestarts({ t, cluster, events, n0, n1 }: TwoNodes, reason: string): Promise<void> {
  const oldEcho = (await rpc(t, n1, 'ct', 'echo_pid', [])) as Pid;
  const before = cluster.members()[1];
  const watcher = (await rpc(t, n0, 'ct', 'watch', [oldEcho])) as Pid;
  await eventuallyAsync(() => rpc(t, n1, 'ct', 'echo_watchers', []), (n) => n === 2, 20_000, 'link and monitor on n1');
  assert.ok(cluster.kill(n1));
  await eventuallyAsync(
    () => rpc(t, n0, 'ct', 'seen', [watcher]),
    (seen) => hasPair(seen, 'EXIT', 'noconnection') && hasPair(seen, 'DOWN', 'noconnection'),
    30_000,
    'EXIT and DOWN noconnection on n0',
  );
  await eventually(() => events.some((e) => e.kind === 'up' && e.node === n1), 60_000, 'n1 up again');
  const down = events.find((e) => e.kind === 'down');
  assert.ok(down?.kind === 'down' && down.node === n1 && down.creation === before?.creation && down.reason === reason, `down: ${JSON.stringify(down)}`);
  const after = cluster.members()[1];
  assert.ok(after !== undefined && after.state === 'up' && after.restarts === 1 && after.creation !== before?.creation);
  assert.notEqual(after.threadId ?? after.osPid, before?.threadId ?? before?.osPid, 'a new process or thread');
  // Same name, new creation: its processes are new, the old pids are dead.
  const newEcho = (await rpc(t, n1, 'ct', 'echo_pid', [])) as Pid;
  assert.equal(newEcho.node, oldEcho.node);
  assert.equal(newEcho.creation, after.creation);
  assert.notEqual(newEcho.creation, oldEcho.creation);
  const late = (await rpc(t, n0, 'ct', 'watch', [oldEcho])) as Pid;
  await eventuallyAsync(() => rpc(t, n0, 'ct', 'seen', [late]), (seen) => hasPair(seen, 'EXIT', 'noproc') && hasPair(seen, 'DOWN', 'noproc'), 30_000, 'noproc for an old pid');
  // And the restarted node is connected to its peer again.
  assert.deepEqual(await rpc(t, n0, 'ct', 'call', [n1, 'back']), tuple(atom(n1), 'back'));
  assert.deepEqual(await rpc(t, n1, 'ct', 'context', []), tuple(1, 2, [atom(n0)]));
}

/** Ends `n0` by process.exit(7), then by an uncaught error: each time reported down and restarted with a new creation. */
export async function checkExitAndThrowRestart({ t, cluster, events, n0, n1 }: TwoNodes): Promise<void> {
  for (const [how, reason] of [['exit', 'exit code 7'], ['throw', 'exit code 1']] as const) {
    const ups = events.filter((e) => e.kind === 'up' && e.node === n0).length;
    const creation = cluster.members()[0]?.creation;
    assert.equal(await rpc(t, n0, 'ct', 'die', [how]), atom('ok'));
    await eventually(() => events.filter((e) => e.kind === 'up' && e.node === n0).length > ups, 60_000, `n0 up again after ${how}`);
    assert.ok(events.some((e) => e.kind === 'down' && e.node === n0 && e.reason === reason && e.creation === creation), `down with ${reason}`);
    assert.notEqual(cluster.members()[0]?.creation, creation);
    assert.deepEqual(await rpc(t, n1, 'ct', 'call', [n0, how]), tuple(atom(n0), how));
  }
}
