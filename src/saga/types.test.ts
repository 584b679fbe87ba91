/**
 * Type tests for the Saga behavior: these `@ts-expect-error` lines must
 * fail to compile (tsc checks them), so typed values, results and calls
 * stay typed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Atom, atom } from '../terms/atom.js';
import { type Tuple, tuple } from '../terms/tuple.js';
import { Node } from '../core/index.js';
import { noreply, ok, reply } from '../server/index.js';
import { type SagaBehavior, startSaga } from './saga.js';
import type { WorkerBehavior } from './worker.js';
import { voteNo, voteYes } from './types.js';

type Pay = { value: number; result: string; nextValue: number; nextResult: boolean; jobValue: string; jobResult: number };
type Api = { call: [Atom<'count'>, number] };

const worker: WorkerBehavior<Pay, undefined> = {
  handleJobStart(job, w) {
    const v: string = job.value;
    // @ts-expect-error a job result is a number
    w.sendResult('x');
    w.sendResult(v.length);
    return noreply(undefined);
  },
};

const pay: SagaBehavior<number, Pay, undefined, Api> = {
  worker,
  init: () => ok(0),
  handleTxNew(tx, value, n, saga) {
    // @ts-expect-error the value is a number
    const s: string = value;
    // @ts-expect-error next values are numbers
    saga.next(tx, { saga: 'other', value: 'x' });
    saga.next(tx, { saga: 'other', value: value + 1, timeout: 100, trapCancel: true });
    // @ts-expect-error a job value is a string
    saga.startJob(tx, { value: 1 });
    saga.startJob(tx, { value: 'job' });
    // @ts-expect-error this saga's result is a string
    saga.sendResult(tx, 1);
    void s;
    return noreply(n + 1);
  },
  handleTxResult(tx, _from, result, n, saga) {
    const ok: boolean = result;
    saga.sendResult(tx, String(ok));
    return noreply(n);
  },
  // @ts-expect-error the state is a number
  handleTxCancel: (_tx, _reason, _n) => noreply('zero'),
  handleTxPrepare: (_tx, n) => (n > 0 ? voteYes(n) : voteNo(atom('empty'), n)),
  handleCall: (req, _from, n) => reply(req, n, n),
};

test('a typed saga reference accepts only its calls', async () => {
  await using node = new Node({ name: 'sagatypes@127.0.0.1' });
  const running: SagaBehavior<number, Pay, undefined, Api> = { ...pay, handleTxCancel: (_tx, _reason, n) => noreply(n) };
  const ref = await startSaga(node, running, undefined);
  const n: number = await node.call(ref, atom('count'));
  assert.equal(n, 0);
  // @ts-expect-error not a request of Api (at run time this saga answers anything with its count)
  assert.equal(await node.call(ref, tuple(atom('nope')) as Tuple<[Atom<'nope'>]>), 0);
});
