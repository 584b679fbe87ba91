import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineQueue } from './deadlines.js';
import { eventually } from '../../test/support.js';

class Item {
  done = false;
  expired = 0;
  expire(): void {
    this.expired++;
    this.done = true;
  }
}

test('deadlines expire in order, once each; answered ones never expire', async () => {
  const q = new DeadlineQueue<Item>(5);
  const answered = new Item();
  const late = [new Item(), new Item()];
  q.add(answered);
  for (const i of late) q.add(i);
  answered.done = true;
  await eventually(() => late.every((i) => i.expired === 1), 10_000, 'both pending items expire');
  assert.equal(answered.expired, 0, 'an answered request is dropped, not expired');
  // The queue re-arms for later arrivals after it emptied.
  const again = new Item();
  q.add(again);
  await eventually(() => again.expired === 1);
  assert.equal(q.size, 0);
  assert.deepEqual(late.map((i) => i.expired), [1, 1]);
});

test('answered requests at the head are dropped as new ones arrive, so the queue stays short', () => {
  const q = new DeadlineQueue<Item>(60_000);
  for (let n = 0; n < 1000; n++) {
    const i = new Item();
    q.add(i);
    i.done = true;
  }
  assert.equal(q.size, 1, 'only the last one, answered, waits for the next add');
  q.clear();
  assert.equal(q.size, 0);
});

test('an item added from expire() is served; clear() stops everything', async () => {
  const q = new DeadlineQueue<Item>(1);
  const chained = new Item();
  const first = new Item();
  first.expire = (): void => {
    first.expired++;
    first.done = true;
    q.add(chained);
  };
  q.add(first);
  await eventually(() => chained.expired === 1);
  const never = new Item();
  const q2 = new DeadlineQueue<Item>(0);
  q2.add(never);
  q2.clear();
  const witness = new Item();
  const q3 = new DeadlineQueue<Item>(0);
  q3.add(witness);
  await eventually(() => witness.expired === 1);
  assert.equal(never.expired, 0, 'cleared before its timer ran');
});

test('a bad timeout is refused', () => {
  assert.throws(() => new DeadlineQueue<Item>(-1), RangeError);
  assert.throws(() => new DeadlineQueue<Item>(Number.NaN), RangeError);
  assert.throws(() => new DeadlineQueue<Item>(Infinity), RangeError);
});
