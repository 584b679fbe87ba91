/**
 * A ConsumerSupervisor spread over a 2-node local cluster (and its own
 * node): children start round robin by remote spawn, at most maxDemand alive;
 * a child on a node that is killed exits `noconnection` and frees its slot
 * (or, transient, starts again elsewhere with the same event); a child no
 * node can start is a logged start error whose demand is returned.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Node } from '../core/node.js';
import { atom, isTuple, tuple, type Pid } from '../terms/index.js';
import { startNode } from '../distribution/node-dist.js';
import { emit, producer, startStage, countConsumerChildren, type StageBehavior } from '../stage/index.js';
import { registerConsumerChild, startLocalCluster, startSpreadConsumerSupervisor, type ClusterEvent, type LocalCluster } from './index.js';
import { eventually, eventuallyAsync, freePort, quietLogger } from '../../test/support.js';
import { consumerJob } from '../../test/cluster-node.js';

const START = new URL('../../test/cluster-node.js', import.meta.url);
const COOKIE = 'spreadcsup';

/** Emits `{I, Reporter}` for I = 0 .. limit-1. */
function jobs(reporter: Pid, limit: number): StageBehavior<number, number, never, unknown> {
  return {
    init: (next) => producer(next),
    handleDemand(demand, next) {
      const end = Math.min(next + demand, Math.max(limit, next));
      const out: unknown[] = [];
      for (let i = next; i < end; i++) out.push(tuple(i, reporter));
      return emit(out, end);
    },
  };
}

/**
 * A process on `node` that keeps every `{started, I, Pid}` it is told, in
 * arrival order (children on different nodes report in any order: order holds
 * per pair of processes only).
 */
function reporter(node: Node): { pid: Pid; started: { i: number; pid: Pid }[]; byEvent: () => { i: number; pid: Pid }[] } {
  const started: { i: number; pid: Pid }[] = [];
  const byEvent = (): { i: number; pid: Pid }[] => [...started].sort((a, b) => a.i - b.i);
  const pid = node.spawn({
    handleMessage: (m) => {
      if (isTuple(m, 3) && m.elements[0] === atom('started')) started.push({ i: m.elements[1] as number, pid: m.elements[2] as Pid });
    },
  });
  return { pid, started, byEvent };
}

describe('a ConsumerSupervisor spread over a local cluster', () => {
  const base = `s${randomInt(1e6)}`;
  let epmdPort = 0;
  const log = quietLogger();
  let cluster: LocalCluster;
  let t: Node;
  let n0 = '';
  let n1 = '';
  const events: ClusterEvent[] = [];
  before(async () => {
    epmdPort = await freePort();
    cluster = await startLocalCluster({ base, cookie: COOKIE, start: START, size: 2, epmdPort, intensity: 5, period: 60 });
    cluster.monitor((e) => events.push(e));
    [n0, n1] = cluster.names as [string, string];
    t = await startNode({ name: `t${base}@127.0.0.1`, cookie: COOKIE, epmdPort, embeddedEpmd: false, node: { logger: log.log, shutdownTimeout: 200 } });
    registerConsumerChild(t, 'job', consumerJob);
  });
  after(async () => {
    await t?.stop();
    await cluster?.stop();
  });

  /** Kills `name` and waits until it is up again. */
  async function killAndWaitUp(name: string): Promise<void> {
    const ups = events.filter((e) => e.kind === 'up' && e.node === name).length;
    assert.ok(cluster.kill(name));
    await eventually(() => events.filter((e) => e.kind === 'up' && e.node === name).length > ups, 60_000, `${name} up again`);
  }

  it('places children round robin over the nodes, at most maxDemand alive, demand asked again as they exit', async () => {
    const r = reporter(t);
    const prod = await startStage(t, jobs(r.pid, 7), 0);
    const sup = await startSpreadConsumerSupervisor(t, { name: 'job', nodes: [n0, n1, t.name], subscribeTo: [{ to: prod, maxDemand: 4, minDemand: 2 }] });
    await eventually(() => r.started.length === 4, 20_000, '4 children');
    const first = r.byEvent();
    assert.deepEqual(first.map((s) => [s.i, s.pid.node.name]), [[0, n0], [1, n1], [2, t.name.name], [3, n0]]);
    assert.equal(await countConsumerChildren(t, sup), 4);
    // One exit frees one slot: below minDemand nothing more is asked.
    t.send(first[0]?.pid as Pid, atom('go'));
    await eventuallyAsync(() => countConsumerChildren(t, sup), (n) => n === 3, 20_000, '3 children');
    assert.equal(r.started.length, 4);
    // A second exit reaches minDemand: two more events, placed on from where the round left off.
    t.send(first[1]?.pid as Pid, atom('go'));
    await eventually(() => r.started.length === 6, 20_000, '6 children');
    assert.deepEqual(r.byEvent().slice(4).map((s) => [s.i, s.pid.node.name]), [[4, n1], [5, t.name.name]]);
    assert.equal(await countConsumerChildren(t, sup), 4);
    for (const s of r.byEvent().slice(2)) t.send(s.pid, atom('go'));
    await eventually(() => r.started.length === 7, 20_000, 'the last event');
    assert.deepEqual(r.byEvent().map((s) => s.i), [0, 1, 2, 3, 4, 5, 6]);
    t.send(r.byEvent()[6]?.pid as Pid, atom('go'));
    await eventuallyAsync(() => countConsumerChildren(t, sup), (n) => n === 0, 20_000, 'no children left');
    assert.ok(t.isAlive(sup.pid));
  });

  it('a child on a killed node exits noconnection and frees its demand slot', async () => {
    const r = reporter(t);
    const prod = await startStage(t, jobs(r.pid, 5), 0);
    const sup = await startSpreadConsumerSupervisor(t, { name: 'job', nodes: [n1, n0], subscribeTo: [{ to: prod, maxDemand: 2, minDemand: 1 }] });
    await eventually(() => r.started.length === 2, 20_000, '2 children');
    assert.deepEqual(r.byEvent().map((s) => s.pid.node.name), [n1, n0]);
    const onN1 = r.byEvent()[0]?.pid as Pid;
    await killAndWaitUp(n1);
    await eventually(() => log.lines.some((l) => l.includes(onN1.describe()) && l.includes('noconnection')), 20_000, 'noconnection logged');
    // Its slot was freed: the next event started (on whichever node answered), still 2 alive.
    await eventually(() => r.started.length === 3, 20_000, 'a third child');
    assert.equal(r.started[2]?.i, 2);
    assert.equal(await countConsumerChildren(t, sup), 2);
    assert.ok(t.isAlive(sup.pid));
  });

  it('a transient child on a killed node starts again elsewhere with the same event', async () => {
    const r = reporter(t);
    const prod = await startStage(t, jobs(r.pid, 2), 0);
    const sup = await startSpreadConsumerSupervisor(t, { name: 'job', nodes: [n0, t.name], restart: 'transient', subscribeTo: [{ to: prod, maxDemand: 2 }] });
    await eventually(() => r.started.length === 2, 20_000, '2 children');
    const onN0 = r.byEvent()[0]?.pid as Pid;
    assert.equal(onN0.node.name, n0);
    await killAndWaitUp(n0);
    await eventually(() => r.started.length === 3, 20_000, 'event 0 started again');
    const again = r.started[2];
    assert.equal(again?.i, 0);
    assert.ok(again.pid.node.name === t.name.name || again.pid.creation !== onN0.creation, 'not on the dead incarnation');
    assert.equal(await countConsumerChildren(t, sup), 2);
  });

  it('a child no node can start is a logged start error and its demand is returned', async () => {
    const r = reporter(t);
    const prod = await startStage(t, jobs(r.pid, 3), 0);
    const before = log.lines.length;
    const sup = await startSpreadConsumerSupervisor(t, { name: 'nothing', nodes: [n0, t.name], subscribeTo: [{ to: prod, maxDemand: 1, minDemand: 0 }] });
    await eventually(() => log.lines.slice(before).filter((l) => l.includes('failed to start child')).length === 3, 20_000, '3 start errors');
    assert.ok(log.lines.slice(before).some((l) => l.includes('no consumer child nothing is registered')));
    assert.equal(await countConsumerChildren(t, sup), 0);
    assert.ok(t.isAlive(sup.pid));
    const empty = await startSpreadConsumerSupervisor(t, { name: 'job', nodes: [], subscribeTo: [{ to: await startStage(t, jobs(r.pid, 1), 0), maxDemand: 1 }] });
    await eventually(() => log.lines.some((l) => l.includes('needs at least one node')), 20_000, 'no nodes');
    assert.ok(t.isAlive(empty.pid));
  });
});

// Type tests (checked by tsc, never run).
export function typeTests(node: Node): void {
  // @ts-expect-error children cross nodes by name: a start closure is not accepted
  void startSpreadConsumerSupervisor(node, { nodes: ['a@h'], start: () => null });
  // @ts-expect-error the nodes to place children on are required
  void startSpreadConsumerSupervisor(node, { name: 'job' });
  // @ts-expect-error a child start returns the child's pid
  registerConsumerChild(node, 'job', () => 'pid');
}
