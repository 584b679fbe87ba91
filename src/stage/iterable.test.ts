/**
 * Iterables and async iteration over stages: fromIterable (sync and async
 * sources, end, failure, abort) and stageStream (back-pressure, end, errors,
 * break and AbortSignal cancelling the subscription).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, quietLogger } from '../../test/support.js';
import { counterProducer } from '../../test/stages.js';
import { atom } from '../terms/atom.js';
import { Node } from '../core/node.js';
import { normal, shutdown } from '../core/reasons.js';
import { noreply, stopServer } from '../server/server.js';
import { emit, fromIterable, producer, stageStream, startStage, StreamError, type CancelInfo, type StageBehavior } from './index.js';

function newNode(): Node {
  return new Node({ name: 'iter@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 200 });
}

async function collect<E>(it: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test('fromIterable (sync) -> stageStream: every value, then the iteration ends', async () => {
  await using node = newNode();
  const prod = await fromIterable(node, Array.from({ length: 2500 }, (_, i) => i));
  const got = await collect(stageStream<number>(node, [{ to: prod, maxDemand: 100 }]));
  assert.deepEqual(got, Array.from({ length: 2500 }, (_, i) => i));
  await eventually(() => !node.isAlive(prod.pid));
});

test('fromIterable (async generator) pulls only on demand and ends with normal', async () => {
  await using node = newNode();
  let pulled = 0;
  async function* gen(): AsyncGenerator<string> {
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r));
      pulled++;
      yield `v${i}`;
    }
  }
  const prod = await fromIterable(node, gen());
  const exit = node.waitExit(prod.pid);
  const got = await collect(stageStream<string>(node, [{ to: prod, maxDemand: 4 }]));
  assert.equal(got.length, 50);
  assert.equal(got[49], 'v49');
  assert.equal(pulled, 50);
  assert.equal(await exit, normal);
});

test('a failing source stops the producer with its error, and the stream throws StreamError', async () => {
  await using node = newNode();
  async function* gen(): AsyncGenerator<number> {
    yield 1;
    throw new Error('source broke');
  }
  const prod = await fromIterable(node, gen());
  await assert.rejects(collect(stageStream<number>(node, [prod])), (e: unknown) => e instanceof StreamError && e.reason instanceof Error);
});

test('fromIterable stops with shutdown when its signal aborts', async () => {
  await using node = newNode();
  const ac = new AbortController();
  const prod = await fromIterable(node, [1, 2, 3], { signal: ac.signal });
  const exit = node.waitExit(prod.pid);
  ac.abort();
  assert.equal(await exit, shutdown);
});

function watched(cancels: CancelInfo[], demand: number[]): StageBehavior<number, number, never, number> {
  const base = counterProducer();
  return {
    ...base,
    init: (n) => producer(n),
    handleDemand: (d, n, ctx) => {
      demand.push(d);
      return base.handleDemand?.(d, n, ctx) ?? emit([], n);
    },
    handleCancel: (info, _from, s) => (cancels.push(info), noreply(s)),
  };
}

test('stageStream: back-pressure holds the producer; break cancels the subscription with normal', async () => {
  await using node = newNode();
  const cancels: CancelInfo[] = [];
  const demand: number[] = [];
  const prod = await startStage(node, watched(cancels, demand), 0);
  const got: number[] = [];
  for await (const n of stageStream<number>(node, [{ to: prod, maxDemand: 10 }])) {
    got.push(n);
    if (got.length === 5) {
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      const total = demand.reduce((a, b) => a + b, 0);
      assert.ok(total <= 20, `producer was asked for ${total} events while the loop held 5`);
    }
    if (got.length === 12) break;
  }
  assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => i));
  await eventually(() => cancels.length === 1);
  assert.deepEqual(cancels[0], { kind: 'cancel', reason: normal });
  assert.ok(node.isAlive(prod.pid));
});

test('stageStream: an AbortSignal ends the iteration and cancels; a producer crash throws StreamError', async () => {
  await using node = newNode();
  const cancels: CancelInfo[] = [];
  const prod = await startStage(node, watched(cancels, []), 0);
  const ac = new AbortController();
  const got: number[] = [];
  for await (const n of stageStream<number>(node, [prod], { signal: ac.signal })) {
    got.push(n);
    if (n === 3) ac.abort();
  }
  assert.ok(got.length >= 4);
  await eventually(() => cancels.length === 1);
  const prod2 = await startStage(node, counterProducer(), 0);
  const it = stageStream<number>(node, [prod2]);
  assert.equal((await it.next()).value, 0);
  await stopServer(node, prod2, atom('boom'));
  await assert.rejects(collect(it), (e: unknown) => e instanceof StreamError && e.reason === atom('boom'));
});
