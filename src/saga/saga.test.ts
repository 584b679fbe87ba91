// The Saga behavior on one node: ergo's scenarios (cancel from the origin,
// the middle and the leaf; trap and re-route; interim results; lifespan;
// hop and job timeouts; loops; the transaction limit; a worker without a
// result) and the two-phase commit (commit everywhere, refusal, vote timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Address, Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { Ref } from '../terms/identifiers.js';
import { eventually, Probe, quietLogger } from '../../test/support.js';
import { has, type SagaEvent, testSaga, type TestSagaConfig, type Hop, until } from '../../test/saga-support.js';
import { type SagaProcess, startSaga } from './saga.js';
import { getServerState } from '../server/index.js';
import { MemoryJournal, type SagaJournal } from './journal.js';
import { FileJournal } from './file-journal.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TxOptions } from './types.js';

async function setup(configs: Omit<TestSagaConfig, 'probe'>[], options: { maxTransactions?: number; journal?: boolean } = {}) {
  const log = quietLogger();
  const node = new Node({ name: 'saga@127.0.0.1', logger: log.log });
  const probe = new Probe(node);
  for (const c of configs)
    await startSaga(node, testSaga({ ...c, probe: probe.pid }), undefined, {
      name: c.name,
      retryInterval: 50,
      ...(options.maxTransactions === undefined ? {} : { maxTransactions: options.maxTransactions }),
      ...(options.journal === true ? { journal: new MemoryJournal() } : {}),
    });
  const start = async (saga: string, route: Address[], opts: TxOptions = {}): Promise<Ref> => {
    const r = await node.call(saga, tuple(atom('start'), { route, payload: 'p' } satisfies Hop, opts), { timeout: 10_000 });
    if (!(r instanceof Ref)) throw new Error(String(r));
    return r;
  };
  return { node, probe, start, log };
}

test('a chain of three sagas: results flow up to handleTxDone', async () => {
  const { node, probe, start } = await setup([{ name: 's1' }, { name: 's2', job: true }, { name: 's3' }]);
  await using _ = node;
  const tx = await start('s1', ['s2', 's3']);
  const ev = await until(probe, (es) => has(es, 'done', 's1') !== undefined);
  assert.ok(has(ev, 'new', 's3'));
  assert.equal(has(ev, 'done', 's1')?.detail, 's1>s2>s3+s2:done');
  assert.ok(ev.every((e) => e.tx.equals(tx)));
});

for (const [who, cfg] of [
  ['origin', 0],
  ['middle', 1],
  ['leaf', 2],
] as const) {
  test(`cancel from the ${who}: every saga and worker sees the same reason`, async () => {
    const configs: Omit<TestSagaConfig, 'probe'>[] = [
      { name: 'c1', job: true, workerMode: 'hang' },
      { name: 'c2', job: true, workerMode: 'hang' },
      { name: 'c3', job: true, workerMode: 'hang' },
    ];
    configs[cfg] = { ...configs[cfg]!, cancelOnNew: `cancelled_by_${who}` };
    const { node, probe, start } = await setup(configs);
    await using _ = node;
    await start('c1', ['c2', 'c3']);
    const done = (es: SagaEvent[]) =>
      ['c1', 'c2', 'c3'].every((s) => has(es, 'cancel', s) !== undefined) &&
      es.filter((e) => e.event === 'job_cancel').length === 3; // every hop forwards and starts its job before the cancel reaches it
    const ev = await until(probe, done);
    for (const e of ev.filter((x) => x.event === 'cancel' || x.event === 'job_cancel')) assert.equal(e.detail, `cancelled_by_${who}`, `${e.event} at ${e.saga}`);
  });
}

test('trapCancel: the DOWN of a next saga goes to handleNextCancel, which re-routes', async () => {
  const { node, probe, start } = await setup([{ name: 't1', trapCancel: true, reroute: ['t4', 't3'] }, { name: 't2', silent: true }, { name: 't3' }, { name: 't4' }]);
  await using _ = node;
  const tx = await start('t1', ['t2']);
  await until(probe, (es) => has(es, 'new', 't2') !== undefined);
  node.exit(node.whereis('t2')!, atom('kill'));
  const ev = await until(probe, (es) => has(es, 'done', 't1') !== undefined);
  assert.deepEqual(has(ev, 'next_cancel', 't1')?.detail, atom('killed'));
  assert.equal(has(ev, 'done', 't1')?.detail, 't1>t4>t3');
  assert.ok(has(ev, 'done', 't1')!.tx.equals(tx));
  assert.equal(has(ev, 'cancel', 't1'), undefined);
});

test('trapCancel: a hop timeout goes to handleNextCancel (the slow saga is cancelled with timeout) and the saga re-routes', async () => {
  const { node, probe, start } = await setup([{ name: 'q1', trapCancel: true, nextTimeout: 100, reroute: ['q3'] }, { name: 'q2', silent: true }, { name: 'q3' }]);
  await using _ = node;
  await start('q1', ['q2']);
  const ev = await until(probe, (es) => has(es, 'done', 'q1') !== undefined && has(es, 'cancel', 'q2') !== undefined);
  assert.deepEqual(has(ev, 'next_cancel', 'q1')?.detail, atom('timeout'));
  assert.deepEqual(has(ev, 'cancel', 'q2')?.detail, atom('timeout'));
  assert.equal(has(ev, 'done', 'q1')?.detail, 'q1>q3');
});

test('a journal given as a path is a file journal: a 2PC leaves it with nothing open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'saga-path-'));
  try {
    const log = quietLogger();
    const node = new Node({ name: 'path@127.0.0.1', logger: log.log });
    const probe = new Probe(node);
    await startSaga(node, testSaga({ name: 'fp1', probe: probe.pid }), undefined, { name: 'fp1', journal: join(dir, 'fp1.journal') });
    await startSaga(node, testSaga({ name: 'fp2', probe: probe.pid }), undefined, { name: 'fp2', journal: join(dir, 'fp2.journal') });
    await node.call('fp1', tuple(atom('start'), { route: ['fp2'], payload: 'p' }, { twoPhaseCommit: true }));
    await until(probe, (es) => has(es, 'commit', 'fp1') !== undefined && has(es, 'commit', 'fp2') !== undefined);
    // The origin forgets the transaction once fp2's ack is in.
    for (;;) {
      const origin = (await getServerState(node, 'fp1')) as SagaProcess;
      if (origin.transactions().length === 0) break;
    }
    await node.stop();
    for (const f of ['fp1', 'fp2']) {
      const j = await FileJournal.open(join(dir, `${f}.journal`));
      assert.ok(j.replay.records >= 2, `${f}: ${j.replay.records} records`);
      assert.equal(j.open, 0);
      await j.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without trapCancel the DOWN of a next saga cancels the transaction with the exit reason', async () => {
  const { node, probe, start } = await setup([{ name: 'd1' }, { name: 'd2' }, { name: 'd3', silent: true }]);
  await using _ = node;
  await start('d1', ['d2', 'd3']);
  await until(probe, (es) => has(es, 'new', 'd3') !== undefined);
  node.exit(node.whereis('d3')!, atom('kill'));
  const ev = await until(probe, (es) => has(es, 'cancel', 'd1') !== undefined && has(es, 'cancel', 'd2') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'd1')?.detail, atom('killed'));
  assert.deepEqual(has(ev, 'cancel', 'd2')?.detail, atom('killed'));
});

test('interim results from sagas and workers', async () => {
  const { node, probe, start } = await setup([{ name: 'i1' }, { name: 'i2', interim: true, job: true, workerMode: 'interim' }]);
  await using _ = node;
  await start('i1', ['i2']);
  const ev = await until(probe, (es) => has(es, 'done', 'i1') !== undefined && has(es, 'job_interim', 'i2') !== undefined);
  assert.equal(has(ev, 'interim', 'i1')?.detail, 'i2:interim');
  assert.equal(has(ev, 'job_interim', 'i2')?.detail, 'i2:interim');
});

test('lifespan: a short one cancels every hop with lifespan, a huge one does not fire early', async () => {
  const { node, probe, start } = await setup([{ name: 'l1' }, { name: 'l2' }, { name: 'l3', silent: true, job: true, workerMode: 'hang' }]);
  await using _ = node;
  const t0 = Date.now();
  await start('l1', ['l2', 'l3'], { lifespan: 150 });
  const ev = await until(probe, (es) => ['l1', 'l2', 'l3'].every((s) => has(es, 'cancel', s) !== undefined));
  assert.ok(Date.now() - t0 >= 140, 'not before the lifespan');
  for (const s of ['l1', 'l2', 'l3']) assert.deepEqual(has(ev, 'cancel', s)?.detail, atom('lifespan'));
  // A lifespan beyond setTimeout's 2^31-1 ms limit must not fire at once.
  const tx = await start('l1', ['l2'], { lifespan: 2 ** 40 });
  const ev2 = await until(probe, (es) => has(es, 'done', 'l1') !== undefined);
  assert.ok(ev2.every((e) => e.event !== 'cancel'));
  assert.ok(has(ev2, 'done', 'l1')!.tx.equals(tx));
  await assert.rejects(start('l1', [], { lifespan: 0 }));
});

test('hop timeout cancels with timeout; a hop timeout is clipped to the remaining lifespan', async () => {
  const { node, probe, start } = await setup([{ name: 'h1', nextTimeout: 100 }, { name: 'h2', silent: true }, { name: 'k1', nextTimeout: 60_000 }]);
  await using _ = node;
  await start('h1', ['h2']);
  const ev = await until(probe, (es) => has(es, 'cancel', 'h1') !== undefined && has(es, 'cancel', 'h2') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'h1')?.detail, atom('timeout'));
  assert.deepEqual(has(ev, 'cancel', 'h2')?.detail, atom('timeout'));
  const t0 = Date.now();
  await start('k1', ['h2'], { lifespan: 120 });
  const ev2 = await until(probe, (es) => has(es, 'cancel', 'k1') !== undefined);
  assert.ok(Date.now() - t0 < 5000);
  assert.deepEqual(has(ev2, 'cancel', 'k1')?.detail, atom('lifespan'));
});

test('job timeout fails the job with timeout and kills the worker; a worker exiting without a result fails with no_result', async () => {
  const { node, probe, start } = await setup([{ name: 'j1', job: true, workerMode: 'hang', jobTimeout: 80 }, { name: 'j2', job: true, workerMode: 'exit' }]);
  await using _ = node;
  await start('j1', []);
  const ev = await until(probe, (es) => has(es, 'job_failed', 'j1') !== undefined);
  assert.deepEqual(has(ev, 'job_failed', 'j1')?.detail, atom('timeout'));
  await start('j2', []);
  const ev2 = await until(probe, (es) => has(es, 'job_failed', 'j2') !== undefined);
  assert.deepEqual(has(ev2, 'job_failed', 'j2')?.detail, atom('no_result'));
});

test('a transaction that comes back to a saga is a loop: loop_detected everywhere', async () => {
  const { node, probe, start } = await setup([{ name: 'o1' }, { name: 'o2' }, { name: 'o3' }]);
  await using _ = node;
  await start('o1', ['o2', 'o3', 'o2']);
  const ev = await until(probe, (es) => ['o1', 'o2', 'o3'].every((s) => has(es, 'cancel', s) !== undefined));
  for (const s of ['o1', 'o2', 'o3']) assert.deepEqual(has(ev, 'cancel', s)?.detail, atom('loop_detected'));
});

test('hopLimit: a hop beyond the limit is refused and the transaction cancelled with hop_limit', async () => {
  const { node, probe, start } = await setup([{ name: 'x1' }, { name: 'x2' }, { name: 'x3' }]);
  await using _ = node;
  await start('x1', ['x2', 'x3'], { hopLimit: 1 });
  const ev = await until(probe, (es) => has(es, 'cancel', 'x1') !== undefined && has(es, 'cancel', 'x2') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'x1')?.detail, atom('hop_limit'));
  assert.equal(has(ev, 'new', 'x3'), undefined);
  await start('x1', ['x2', 'x3'], { hopLimit: 2 });
  await until(probe, (es) => has(es, 'done', 'x1') !== undefined);
});

test('maxTransactions: a saga at its limit refuses with exceed_tx_limit', async () => {
  const { node, probe, start } = await setup([{ name: 'm1' }, { name: 'm2', silent: true }], { maxTransactions: 1 });
  await using _ = node;
  await start('m1', ['m2']);
  await until(probe, (es) => has(es, 'new', 'm2') !== undefined);
  // m1 is at its limit too: starting a second transaction there fails.
  await assert.rejects(start('m1', ['m2']), /maxTransactions/);
  // A second origin forwarding to m2 is refused.
  await startSaga(node, testSaga({ name: 'm3', probe: probe.pid }), undefined, { name: 'm3' });
  await start('m3', ['m2']);
  const ev = await until(probe, (es) => has(es, 'cancel', 'm3') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'm3')?.detail, atom('exceed_tx_limit'));
});

test('two-phase commit: the commit reaches every saga and worker, with the final value', async () => {
  const { node, probe, start } = await setup([{ name: 'p1', job: true }, { name: 'p2', job: true }, { name: 'p3', job: true }], { journal: true });
  await using _ = node;
  await start('p1', ['p2', 'p3'], { twoPhaseCommit: true });
  const ev = await until(probe, (es) => es.filter((e) => e.event === 'commit').length === 3 && es.filter((e) => e.event === 'job_commit').length === 3);
  const final = has(ev, 'done', 'p1')?.detail as string;
  for (const part of ['p1', '>p2', '>p3', '+p1:done', '+p2:done', '+p3:done']) assert.ok(final.includes(part), final);
  for (const e of ev.filter((x) => x.event === 'commit' || x.event === 'job_commit')) assert.equal(e.detail, final);
  // Every participant voted before any commit.
  const firstCommit = ev.findIndex((e) => e.event === 'commit');
  assert.equal(ev.slice(0, firstCommit).filter((e) => e.event === 'prepare').length, 3);
});

test('two-phase commit: a refusal cancels everywhere with its reason, workers included', async () => {
  const { node, probe, start } = await setup([{ name: 'r1', job: true }, { name: 'r2', job: true }, { name: 'r3', refuse: 'no_funds' }]);
  await using _ = node;
  await start('r1', ['r2', 'r3'], { twoPhaseCommit: true });
  const ev = await until(probe, (es) => ['r1', 'r2', 'r3'].every((s) => has(es, 'cancel', s) !== undefined) && es.filter((e) => e.event === 'job_cancel').length === 2);
  for (const e of ev.filter((x) => x.event === 'cancel' || x.event === 'job_cancel')) assert.equal(e.detail, 'no_funds');
  assert.equal(ev.filter((e) => e.event === 'commit').length, 0);
});

test('two-phase commit: a worker refusing is a no', async () => {
  const { node, probe, start } = await setup([{ name: 'w1' }, { name: 'w2', job: true, workerMode: 'refuse' }]);
  await using _ = node;
  await start('w1', ['w2'], { twoPhaseCommit: true });
  const ev = await until(probe, (es) => has(es, 'cancel', 'w1') !== undefined && has(es, 'cancel', 'w2') !== undefined);
  assert.equal(has(ev, 'cancel', 'w1')?.detail, 'worker_refuses');
});

test('two-phase commit: a vote that does not come in time is a no (timeout)', async () => {
  const log = quietLogger();
  const node = new Node({ name: 'vote@127.0.0.1', logger: log.log });
  await using _ = node;
  const probe = new Probe(node);
  await startSaga(node, testSaga({ name: 'v1', probe: probe.pid }), undefined, { name: 'v1', prepareTimeout: 100 });
  await startSaga(node, testSaga({ name: 'v2', probe: probe.pid, slowPrepareMs: 400 }), undefined, { name: 'v2' });
  await node.call('v1', tuple(atom('start'), { route: ['v2'], payload: 'p' }, {}));
  await node.call('v1', tuple(atom('start'), { route: ['v2'], payload: 'p' }, { twoPhaseCommit: true }));
  const ev = await until(probe, (es) => has(es, 'cancel', 'v1') !== undefined && has(es, 'cancel', 'v2') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'v1')?.detail, atom('timeout'));
  assert.deepEqual(has(ev, 'cancel', 'v2')?.detail, atom('timeout'));
});

test('nothing is left behind: after many transactions (committed, cancelled, plain) no transaction, monitor, worker or timer remains', async () => {
  const { node, probe, start } = await setup([{ name: 'z1', job: true }, { name: 'z2', job: true }, { name: 'z3', job: true, refuse: 'sometimes' }], { journal: true });
  await using _ = node;
  const before = node.processes().length;
  for (let i = 0; i < 60; i++) await start('z1', i % 3 === 2 ? ['z2'] : ['z2', 'z3'], { twoPhaseCommit: i % 2 === 0 });
  // 60 transactions: each ends with done (plain), commit or cancel at z1.
  await until(probe, (es) => es.filter((e) => e.saga === 'z1' && (e.event === 'cancel' || e.event === 'commit' || (e.event === 'done' && !es.some((x) => x.tx.equals(e.tx) && x.event === 'prepare')))).length >= 60);
  for (const name of ['z1', 'z2', 'z3']) {
    for (;;) {
      const saga = (await getServerState(node, name)) as SagaProcess;
      if (saga.transactions().length === 0 && saga.process.info().monitors.length === 0) break;
      await new Promise((r) => setImmediate(r));
    }
  }
  await eventually(() => node.processes().length === before, 10_000, 'every worker gone');
});

test('cancelJob: the worker runs handleJobCancel with the reason and exits; the transaction goes on', async () => {
  const { node, probe, start } = await setup([{ name: 'cj', job: true, workerMode: 'hang', cancelJob: 'not_needed' }]);
  await using _ = node;
  const before = node.processes().length;
  await start('cj', []);
  const ev = await until(probe, (es) => has(es, 'job_cancel', 'cj') !== undefined && has(es, 'done', 'cj') !== undefined);
  assert.equal(has(ev, 'job_cancel', 'cj')?.detail, 'not_needed');
  assert.equal(has(ev, 'job_failed', 'cj'), undefined);
  await eventually(() => node.processes().length === before, 10_000, 'the worker gone');
});

test('workers exit with their saga', async () => {
  const { node, probe, start } = await setup([{ name: 'g1', job: true, workerMode: 'hang' }]);
  await using _ = node;
  const before = node.processes().length;
  await start('g1', []);
  await start('g1', []);
  await until(probe, (es) => es.filter((e) => e.event === 'new').length === 2);
  await eventually(() => node.processes().length === before + 2, 10_000, 'two workers');
  node.exit(node.whereis('g1')!, atom('kill'));
  await eventually(() => node.processes().length === before - 1, 10_000, 'the saga and its workers gone');
});

test('a journal that cannot record a yes vote turns it into a no: the transaction is cancelled with journal_error', async () => {
  const log = quietLogger();
  const node = new Node({ name: 'jfail@127.0.0.1', logger: log.log });
  await using _ = node;
  const probe = new Probe(node);
  const failing: SagaJournal = {
    load: async () => [],
    append: async (r) => {
      if (r.type === 'prepared') throw new Error('disk full');
    },
    close: async () => {},
  };
  await startSaga(node, testSaga({ name: 'f1', probe: probe.pid }), undefined, { name: 'f1', journal: new MemoryJournal() });
  await startSaga(node, testSaga({ name: 'f2', probe: probe.pid }), undefined, { name: 'f2', journal: failing });
  await node.call('f1', tuple(atom('start'), { route: ['f2'], payload: 'p' }, { twoPhaseCommit: true }));
  const ev = await until(probe, (es) => has(es, 'cancel', 'f1') !== undefined && has(es, 'cancel', 'f2') !== undefined);
  assert.deepEqual(has(ev, 'cancel', 'f1')?.detail, tuple(atom('journal_error'), 'disk full'));
  assert.ok(ev.every((e) => e.event !== 'commit'));
});

test('bad input: malformed saga messages and unknown transactions do not take the saga down', async () => {
  const { node, probe, start, log } = await setup([{ name: 'b1' }]);
  await using _ = node;
  const pid = node.whereis('b1')!;
  node.send('b1', tuple(atom('$saga_next'), 'garbage', 42));
  node.send('b1', tuple(atom('$saga_result'), tuple(pid, undefined), tuple(node.makeRef(), node.makeRef(), 'x')));
  node.send('b1', tuple(atom('$saga_decision'), tuple(pid, undefined), tuple(node.makeRef(), node.makeRef(), atom('maybe'), 1)));
  node.send('b1', new Tuple([atom('$saga_cancel'), 1, 2]));
  await start('b1', []);
  await until(probe, (es) => has(es, 'done', 'b1') !== undefined);
  assert.ok(node.isAlive(pid));
  assert.ok(log.lines.some((l) => l.includes('malformed saga message')));
});
