/**
 * TurnBatch: items held to the end of their event-loop turn, and the direct
 * mode it switches to while turns carry a single item each.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBatch } from './turn-batch.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a new batch holds items to the end of the turn, in order', async () => {
  const seen: number[] = [];
  const batch = new TurnBatch<number>((n) => seen.push(n));
  batch.add(1);
  batch.add(2);
  await Promise.resolve();
  assert.deepEqual(seen, [], 'held through the microtasks of the turn');
  await nextTurn();
  assert.deepEqual(seen, [1, 2]);
  assert.equal(batch.handlesAtOnce, false, 'a turn with two items keeps holding');
});

test('after a turn with one item, items are handled at once; one in 16 is held to see whether its turn has company', async () => {
  const seen: number[] = [];
  const batch = new TurnBatch<number>((n) => seen.push(n));
  batch.add(0);
  await nextTurn();
  assert.equal(batch.handlesAtOnce, true);
  // 15 items handled as they come (one per turn, as a single client's answers)...
  for (let i = 1; i <= 15; i++) {
    batch.add(i);
    assert.equal(seen.at(-1), i, `item ${i} handled at once`);
    await nextTurn();
  }
  // ...the 16th is held, and a second item of its turn joins it: the turn has company.
  batch.add(16);
  batch.add(17);
  assert.equal(seen.at(-1), 15, 'the sampled turn is held');
  await nextTurn();
  assert.deepEqual(seen.slice(-2), [16, 17]);
  assert.equal(batch.handlesAtOnce, false, 'back to holding');
  batch.add(18);
  assert.equal(seen.at(-1), 17, 'held again');
  await nextTurn();
  assert.equal(seen.at(-1), 18);
  assert.equal(batch.handlesAtOnce, true, 'a turn with one item: at once again');
});

test('an item added while a held batch is handled waits for the next turn, in order', async () => {
  const seen: string[] = [];
  const batch: TurnBatch<string> = new TurnBatch<string>((s) => {
    seen.push(s);
    if (s === 'a') batch.add('added while handling');
  });
  batch.add('a');
  batch.add('b');
  await nextTurn();
  assert.deepEqual(seen, ['a', 'b']);
  await nextTurn();
  assert.deepEqual(seen, ['a', 'b', 'added while handling']);
});
