/**
 * ConsumerSupervisor: one child per event, maxDemand as the concurrency
 * bound, demand returned as children exit, transient restarts with the same
 * event, restart intensity, ignored and failed starts; and against an
 * Elixir producer through the ordinary consumer protocol (interop file).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, quietLogger } from '../../test/support.js';
import { counterProducer } from '../../test/stages.js';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { shutdown } from '../core/reasons.js';
import { countConsumerChildren, startConsumerSupervisor, startStage } from './index.js';

function newNode(): { node: Node; lines: string[] } {
  const q = quietLogger();
  return { node: new Node({ name: 'csup@127.0.0.1', logger: q.log, shutdownTimeout: 200 }), lines: q.lines };
}

/** A child that waits for `go`, reports its event, then exits with `how`. */
function worker(ctx: Process, event: number, done: number[], how: (event: number) => unknown = () => atom('normal')): Pid {
  return ctx.spawnLink({
    handleMessage: (m, p) => {
      if (m === atom('go')) {
        done.push(event);
        p.exit(how(event));
      }
    },
  });
}

test('one child per event, at most maxDemand alive, every event handled once', async () => {
  const { node } = newNode();
  await using _n = node;
  const prod = await startStage(node, counterProducer(30), 0);
  const done: number[] = [];
  const alive: Pid[] = [];
  let peak = 0;
  const sup = await startConsumerSupervisor<number>(node, {
    start: (e, ctx) => {
      const pid = worker(ctx, e, done);
      alive.push(pid);
      return pid;
    },
    subscribeTo: [{ to: prod, maxDemand: 4, minDemand: 2 }],
  });
  while (done.length < 30) {
    await eventually(() => alive.some((p) => node.isAlive(p)) || done.length === 30, 10_000, 'a live child');
    const live = alive.filter((p) => node.isAlive(p));
    peak = Math.max(peak, live.length, await countConsumerChildren(node, sup));
    for (const p of live) node.send(p, atom('go'));
    await eventually(() => live.every((p) => !node.isAlive(p)));
  }
  assert.deepEqual([...done].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
  assert.ok(peak <= 4, `peak ${peak}`);
  assert.ok(peak >= 2);
});

test('transient children are restarted with the same event; temporary ones are not; ignore and failures return demand', async () => {
  const { node, lines } = newNode();
  await using _n = node;
  const prod = await startStage(node, counterProducer(6), 0);
  const starts: number[] = [];
  const done: number[] = [];
  const sup = await startConsumerSupervisor<number>(node, {
    restart: 'transient',
    maxRestarts: 10,
    start: (e, ctx) => {
      starts.push(e);
      if (e === 4) return null; // ignored
      if (e === 5) throw new Error('cannot start 5');
      const pid = worker(ctx, e, done, (ev) => (ev === 2 && starts.filter((x) => x === 2).length === 1 ? atom('crash') : atom('normal')));
      node.send(pid, atom('go'));
      return pid;
    },
    subscribeTo: [{ to: prod, maxDemand: 10 }],
  });
  await eventually(() => done.filter((e) => e === 2).length === 2, 10_000, 'event 2 retried');
  assert.deepEqual(starts.filter((e) => e === 2).length, 2);
  assert.ok(lines.some((l) => /cannot start 5/.test(l)));
  await eventually(() => done.length === 5 && starts.includes(5), 10_000, 'all events');
  assert.deepEqual([...done].sort((a, b) => a - b), [0, 1, 2, 2, 3]);
  assert.equal(await countConsumerChildren(node, sup), 0);
  assert.ok(node.isAlive(sup.pid));
});

test('restart intensity: too many crashes stop the supervisor with shutdown', async () => {
  const { node } = newNode();
  await using _n = node;
  const prod = await startStage(node, counterProducer(100), 0);
  const sup = await startConsumerSupervisor<number>(node, {
    restart: 'transient',
    maxRestarts: 2,
    maxSeconds: 60,
    start: (e, ctx) => {
      const pid = worker(ctx, e, [], () => atom('boom'));
      node.send(pid, atom('go'));
      return pid;
    },
    subscribeTo: [{ to: prod, maxDemand: 1, minDemand: 0, cancel: 'temporary' }],
  });
  assert.equal(await node.waitExit(sup.pid), shutdown);
  await assert.rejects(startConsumerSupervisor<number>(node, { restart: 'permanent' as 'transient', start: () => null }), RangeError);
});
