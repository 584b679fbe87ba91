/**
 * Type tests for the Raft API: these `@ts-expect-error` lines must fail to
 * compile (tsc, run by `npm test`, reports any that compiles), so a wrong
 * value, query or state type is caught at build time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Node } from '../core/node.js';
import { RaftClient } from './client.js';
import { applied, type RaftBehavior, startRaft } from './server.js';

type Counter = RaftBehavior<number, number, 'sum', number>;

const counter: Counter = {
  init: () => ({ state: 0 }),
  handleApply: (_key, value, _serial, sum) => sum + value,
  handleRead: (_query, sum) => sum,
};

const wrongState: Counter = {
  // @ts-expect-error the state is a number, not a string
  init: () => ({ state: 'zero' }),
  handleApply: (_key, value, _serial, sum) => sum + value,
};

const wrongApply: Counter = {
  init: () => ({ state: 0 }),
  // @ts-expect-error handleApply must return the state (or applied(state, result))
  handleApply: (key) => key,
};

const withResult: Counter = {
  init: () => ({ state: 0 }),
  handleApply: (_key, value, _serial, sum) => applied(sum + value, sum + value > 10),
  // @ts-expect-error a read of this behavior answers a number
  handleRead: (_query, sum) => String(sum),
};

test('raft API types: values, queries and results are checked', async () => {
  const node = new Node({ name: 'raft-types@127.0.0.1' });
  const client = new RaftClient<number, 'sum', number>(node, [{ name: 'c', node: 'raft-types@127.0.0.1' }], { timeout: 50 });
  const typed = async (): Promise<void> => {
    const serial: number = await client.append('n', 5);
    const sum: number = await client.read('sum');
    // @ts-expect-error the value type is number
    await client.append('n', 'five');
    // @ts-expect-error the only query is 'sum'
    await client.read('count');
    // @ts-expect-error reads answer a number
    const s: string = await client.read('sum');
    void [serial, sum, s];
  };
  void typed;
  // @ts-expect-error startRaft needs its options
  const bad = (): unknown => startRaft(node, counter, undefined);
  void bad;
  assert.equal(typeof counter.handleApply, 'function');
  assert.ok(wrongState && wrongApply && withResult);
  await node.stop();
});
