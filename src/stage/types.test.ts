/**
 * Type tests for Stage: each `@ts-expect-error` line must fail to compile
 * (tsc reports an unused directive otherwise), so a wrong event, state or
 * reply type is caught at build time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Atom, atom } from '../terms/atom.js';
import { Node } from '../core/node.js';
import { noreply } from '../server/server.js';
import { broadcastDispatcher, consumer, emit, partitionDispatcher, producer, producerConsumer, replyEmit, startStage, syncSubscribe, type StageBehavior } from './index.js';

const numbers: StageBehavior<number, number, never, number> = {
  init: (n) => producer(n),
  handleDemand: (d, n) => emit([n, n + d], n + d),
};

const wrongEvents: StageBehavior<number, number, never, number> = {
  init: (n) => producer(n),
  // @ts-expect-error a producer of numbers cannot emit strings
  handleDemand: (_d, n) => emit(['one'], n),
};

const wrongState: StageBehavior<number, number, never, number> = {
  init: (n) => producer(n),
  // @ts-expect-error the state is a number
  handleDemand: (_d, _n) => noreply('zero'),
};

const strings: StageBehavior<null, undefined, string, never> = {
  init: () => consumer(null),
  handleEvents: (events, _from, s) => {
    // @ts-expect-error events are strings
    const n: number = events[0];
    void n;
    return noreply(s);
  },
};

const lengths: StageBehavior<null, undefined, string, number> = {
  init: () => producerConsumer(null),
  handleEvents: (events, _from, s) => emit(events.map((e) => e.length), s),
};

const wrongDispatcher: StageBehavior<number, number, never, number> = {
  // @ts-expect-error a dispatcher of strings cannot serve a producer of numbers
  init: (n) => producer(n, { dispatcher: broadcastDispatcher<string>() }),
  handleDemand: (_d, n) => noreply(n),
};
const partitioned: StageBehavior<number, number, never, number> = {
  init: (n) => producer(n, { dispatcher: partitionDispatcher<number>({ partitions: 2, hash: (e) => e % 2 }) }),
  handleDemand: (_d, n) => noreply(n),
};

type Query = { call: [Atom<'count'>, number] };
const counting: StageBehavior<number, undefined, never, number, Query> = {
  init: () => producer(0),
  handleCall: (_req, _from, n) => replyEmit(n, [n], n),
};
const badReply: StageBehavior<number, undefined, never, number, Query> = {
  init: () => producer(0),
  // @ts-expect-error the reply of `count` is a number
  handleCall: (_req, _from, n) => replyEmit('many', [], n),
};

async function typeChecks(node: Node): Promise<void> {
  const p = await startStage(node, numbers, 0);
  const c = await startStage(node, strings, undefined);
  const pc = await startStage(node, lengths, undefined);
  // @ts-expect-error a consumer of strings cannot subscribe to a producer of numbers
  await syncSubscribe(node, c, { to: p });
  await syncSubscribe(node, pc, { to: c.pid }); // untyped targets are accepted
  // @ts-expect-error a consumer of strings cannot subscribe to a stage that emits numbers
  await syncSubscribe(node, pc, { to: pc, selector: (e: number) => e > 0 });
  const q = await startStage(node, counting, undefined);
  const n: number = await node.call(q, atom('count'));
  // @ts-expect-error `reset` is not a request of this stage
  await node.call(q, atom('reset'));
  // @ts-expect-error start arguments are a number
  await startStage(node, numbers, 'zero');
  void [n, wrongEvents, wrongState, badReply, wrongDispatcher, partitioned];
}

test('stage type tests compile (the checks are in tsc)', () => {
  assert.equal(typeof typeChecks, 'function');
});
