// Properties of the Saga behavior, checked with fast-check: the lifespan is
// honored at every hop for any value (short ones cancel every hop with
// `lifespan`, never before it ends; long ones, up to 2^53 ms, never fire
// early), and no message, however malformed, takes a saga down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { Probe, quietLogger } from '../../test/support.js';
import { type SagaEvent, testSaga, until } from '../../test/saga-support.js';
import { startSaga } from './saga.js';

async function chain(name: string) {
  const log = quietLogger();
  const node = new Node({ name, logger: log.log });
  const probe = new Probe(node);
  await startSaga(node, testSaga({ name: 'a', probe: probe.pid }), undefined, { name: 'a' });
  await startSaga(node, testSaga({ name: 'b', probe: probe.pid }), undefined, { name: 'b' });
  await startSaga(node, testSaga({ name: 'c', probe: probe.pid, silent: true }), undefined, { name: 'c' });
  await startSaga(node, testSaga({ name: 'd', probe: probe.pid }), undefined, { name: 'd' });
  return { node, probe, log };
}

test('any short lifespan cancels every hop it reached with lifespan, not before it ends', async () => {
  const { node, probe } = await chain('lifespan-short@127.0.0.1');
  await using _ = node;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 120 }), async (lifespan) => {
      const t0 = Date.now();
      const tx = await node.call('a', tuple(atom('start'), { route: ['b', 'c'], payload: 'p' }, { lifespan }));
      assert.ok(tx instanceof Ref);
      // A lifespan of a few ms may end before the transaction reaches b or c (next() then refuses with
      // lifespan); every saga it reached cancels. Events of one saga arrive in order (new, then cancel).
      const reached = (es: SagaEvent[], s: string) => es.some((e) => e.saga === s && e.event === 'new' && e.tx.equals(tx));
      const cancelled = (es: SagaEvent[], s: string) => es.some((e) => e.saga === s && e.event === 'cancel' && e.tx.equals(tx));
      const ev = await until(probe, (es) => cancelled(es, 'a') && ['b', 'c'].every((s) => !reached(es, s) || cancelled(es, s)));
      assert.ok(Date.now() - t0 >= lifespan - 1, `cancelled after ${Date.now() - t0} ms, lifespan ${lifespan}`);
      for (const e of ev.filter((x) => x.event === 'cancel' && x.tx.equals(tx))) assert.deepEqual(e.detail, atom('lifespan'));
    }),
    { numRuns: 12 },
  );
});

test('any long lifespan (up to 2^53 ms) lets the transaction finish without a cancel', async () => {
  const { node, probe } = await chain('lifespan-long@127.0.0.1');
  await using _ = node;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.integer({ min: 5_000, max: 2 ** 31 }), fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER })), fc.boolean(), async (lifespan, twoPhaseCommit) => {
      const tx = await node.call('a', tuple(atom('start'), { route: ['b', 'd'], payload: 'p' }, { lifespan, twoPhaseCommit }));
      assert.ok(tx instanceof Ref);
      const done = (es: { event: string; saga: string; tx: Ref }[]) => es.some((e) => e.saga === 'a' && e.event === (twoPhaseCommit ? 'commit' : 'done') && e.tx.equals(tx));
      const ev = await until(probe, done);
      assert.ok(ev.every((e) => !(e.event === 'cancel' && e.tx.equals(tx))));
    }),
    { numRuns: 15 },
  );
});

test('no message, however malformed, takes a saga down', async () => {
  const { node, probe, log } = await chain('fuzz@127.0.0.1');
  await using _ = node;
  const pid = node.whereis('a')!;
  const tags = ['$saga_next', '$saga_result', '$saga_interim', '$saga_cancel', '$saga_prepare', '$saga_vote', '$saga_decision', '$saga_ack', '$saga_query', '$saga_job_result', '$saga_job_vote', '$saga_self', 'DOWN'];
  const ref = fc.constant(null).map(() => node.makeRef());
  const leaf = fc.oneof(fc.integer(), fc.string(), ref, fc.constant(pid), fc.constant(new Pid(atom('x@y'), 1, 0, 1)), fc.constantFrom(atom('yes'), atom('commit'), atom('infinity'), undefined, true));
  const body = fc.array(fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }).map((xs) => new Tuple(xs)), fc.record({ lifespan: fc.integer(), two_phase_commit: fc.boolean(), hop_limit: fc.integer(), hops: fc.integer() })), { maxLength: 5 });
  const message = fc.tuple(fc.constantFrom(...tags), fc.oneof(leaf, fc.tuple(fc.constant(pid), fc.constantFrom(undefined, atom('a')))), body).map(
    ([tag, from, b]) => tuple(atom(tag), Array.isArray(from) ? tuple(...from) : from, new Tuple(b)),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 20 }), async (messages) => {
      for (const m of messages) node.send('a', m);
      const tx = await node.call('a', tuple(atom('start'), { route: ['b', 'd'], payload: 'p' }, {}));
      assert.ok(tx instanceof Ref, `the saga answers: ${String(tx)}`);
      await until(probe, (es) => es.some((e) => e.saga === 'a' && e.event === 'done' && e.tx.equals(tx)));
      assert.ok(node.isAlive(pid), log.lines.join('\n'));
    }),
    { numRuns: 40 },
  );
});
