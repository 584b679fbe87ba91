import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeAtTurnEnd } from './turn-writes.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('answers of one turn are written together once the turn ends, in the order they came', async () => {
  const written: string[] = [];
  for (const name of ['a', 'b', 'c']) writeAtTurnEnd({ writeNow: () => written.push(name) });
  await Promise.resolve(); // microtasks of the same turn: still held
  assert.deepEqual(written, []);
  await nextTurn();
  assert.deepEqual(written, ['a', 'b', 'c']);
});

test('an answer queued while the turn is written waits for the next turn; every turn is written', async () => {
  const written: string[] = [];
  writeAtTurnEnd({
    writeNow: () => {
      written.push('first');
      writeAtTurnEnd({ writeNow: () => written.push('queued while writing') });
    },
  });
  await nextTurn();
  assert.deepEqual(written, ['first']);
  await nextTurn();
  assert.deepEqual(written, ['first', 'queued while writing']);
  writeAtTurnEnd({ writeNow: () => written.push('later turn') });
  await nextTurn();
  assert.deepEqual(written, ['first', 'queued while writing', 'later turn']);
});
