// The Saga behavior across three Beamline nodes (one OS process): a chain
// s1@a -> s2@b -> s3@c addressed as {name, node}; cancel from each hop with
// workers, trap and re-route after a DOWN, interim results, the lifespan at
// remote hops (small and huge), and a two-phase commit reaching every saga
// and worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Address, Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { startNode } from '../distribution/node-dist.js';
import { Probe, freePort } from '../../test/support.js';
import { has, type SagaEvent, testSaga, type TestSagaConfig, until } from '../../test/saga-support.js';
import { startSaga } from './saga.js';
import { MemoryJournal } from './journal.js';
import type { TxOptions } from './types.js';

const quiet = { logger: (): void => {}, shutdownTimeout: 200 };

describe('sagas on three Beamline nodes', () => {
  const tag = `saga${randomInt(1e6)}`;
  const names = { a: `a${tag}@127.0.0.1`, b: `b${tag}@127.0.0.1`, c: `c${tag}@127.0.0.1` };
  const nodes: Record<'a' | 'b' | 'c', Node> = {} as Record<'a' | 'b' | 'c', Node>;
  let probe: Probe;
  let seq = 0;
  before(async () => {
    const epmdPort = await freePort();
    for (const k of ['a', 'b', 'c'] as const) nodes[k] = await startNode({ name: names[k], cookie: 'saga', epmdPort, node: quiet });
    probe = new Probe(nodes.a);
  });
  after(async () => {
    for (const k of ['c', 'b', 'a'] as const) await nodes[k].stop();
  });

  /** Starts one saga per config on nodes a, b, c (in turn), with fresh names; returns their addresses. */
  async function chain(configs: Omit<TestSagaConfig, 'probe' | 'name'>[], where: ('a' | 'b' | 'c')[] = ['a', 'b', 'c']): Promise<{ addrs: Address[]; names: string[] }> {
    const addrs: Address[] = [];
    const sagaNames: string[] = [];
    for (let i = 0; i < configs.length; i++) {
      const k = where[i % where.length]!;
      const name = `s${++seq}`;
      await startSaga(nodes[k], testSaga({ ...configs[i], name, probe: probe.pid }), undefined, { name, retryInterval: 50, journal: new MemoryJournal() });
      addrs.push({ name, node: names[k] });
      sagaNames.push(name);
    }
    return { addrs, names: sagaNames };
  }

  async function start(origin: Address, route: Address[], opts: TxOptions = {}): Promise<Ref> {
    const r = await nodes.a.call(origin, tuple(atom('start'), { route, payload: 'p' }, opts), { timeout: 10_000 });
    if (!(r instanceof Ref)) throw new Error(String(r));
    return r;
  }

  it('results flow up a chain across nodes', async () => {
    const { addrs, names: n } = await chain([{}, { job: true }, {}]);
    const tx = await start(addrs[0]!, addrs.slice(1));
    const ev = await until(probe, (es) => has(es, 'done', n[0]!) !== undefined);
    const result = has(ev, 'done', n[0]!)!;
    assert.ok(result.tx.equals(tx));
    assert.ok((result.detail as string).includes(`>${n[2]}`));
  });

  for (const who of [0, 1, 2]) {
    it(`cancel from hop ${who}: every saga and worker on every node sees the same reason`, async () => {
      const configs: Omit<TestSagaConfig, 'probe' | 'name'>[] = [0, 1, 2].map(() => ({ job: true, workerMode: 'hang' as const }));
      configs[who] = { ...configs[who], cancelOnNew: `stop_at_${who}` };
      const { addrs, names: n } = await chain(configs);
      await start(addrs[0]!, addrs.slice(1));
      const jobs = 3; // every hop forwards and starts its job before the cancel reaches it
      const ev = await until(probe, (es) => n.every((s) => has(es, 'cancel', s) !== undefined) && es.filter((e) => e.event === 'job_cancel' && n.includes(e.saga)).length === jobs);
      for (const e of ev.filter((x) => (x.event === 'cancel' || x.event === 'job_cancel') && n.includes(x.saga))) assert.equal(e.detail, `stop_at_${who}`);
    });
  }

  it('trapCancel: a remote next goes DOWN, the origin re-routes to another node', async () => {
    const spare = await chain([{}, {}], ['c', 'b']);
    const { addrs, names: n } = await chain([{ trapCancel: true, reroute: spare.addrs }, { silent: true }], ['a', 'b']);
    const tx = await start(addrs[0]!, [addrs[1]!]);
    await until(probe, (es) => has(es, 'new', n[1]!) !== undefined);
    nodes.b.exit(nodes.b.whereis(n[1]!)!, atom('kill'));
    const ev = await until(probe, (es) => has(es, 'done', n[0]!) !== undefined);
    assert.deepEqual(has(ev, 'next_cancel', n[0]!)?.detail, atom('killed'));
    assert.ok(has(ev, 'done', n[0]!)!.tx.equals(tx));
    assert.ok((has(ev, 'done', n[0]!)!.detail as string).includes(spare.names[1]!));
  });

  it('interim results from a remote saga and its worker', async () => {
    const { addrs, names: n } = await chain([{}, { interim: true, job: true, workerMode: 'interim' }]);
    await start(addrs[0]!, [addrs[1]!]);
    const ev = await until(probe, (es) => has(es, 'done', n[0]!) !== undefined && has(es, 'job_interim', n[1]!) !== undefined);
    assert.equal(has(ev, 'interim', n[0]!)?.detail, `${n[1]}:interim`);
  });

  for (const lifespan of [150, 400]) {
    it(`lifespan ${lifespan} ms is honored at remote hops`, async () => {
      const { addrs, names: n } = await chain([{}, {}, { silent: true }]);
      const t0 = Date.now();
      await start(addrs[0]!, addrs.slice(1), { lifespan });
      const ev = await until(probe, (es) => n.every((s) => has(es, 'cancel', s) !== undefined));
      assert.ok(Date.now() - t0 >= lifespan - 10);
      for (const s of n) assert.deepEqual(has(ev, 'cancel', s)?.detail, atom('lifespan'));
    });
  }

  it('a huge lifespan (beyond 2^31 ms) crosses nodes without firing', async () => {
    const { addrs, names: n } = await chain([{}, {}, {}]);
    await start(addrs[0]!, addrs.slice(1), { lifespan: 2 ** 45 });
    const ev = await until(probe, (es) => has(es, 'done', n[0]!) !== undefined);
    assert.ok(ev.every((e: SagaEvent) => !(e.event === 'cancel' && n.includes(e.saga))));
  });

  it('hop and job timeouts across nodes: a silent remote hop times out, a remote job that hangs fails with timeout', async () => {
    const { addrs, names: n } = await chain([{ nextTimeout: 150 }, { job: true, workerMode: 'hang', jobTimeout: 60 }, { silent: true }]);
    await start(addrs[0]!, addrs.slice(1));
    const ev = await until(probe, (es) => has(es, 'job_failed', n[1]!) !== undefined && n.every((s) => has(es, 'cancel', s) !== undefined));
    assert.deepEqual(has(ev, 'job_failed', n[1]!)?.detail, atom('timeout'));
    for (const s of n) assert.deepEqual(has(ev, 'cancel', s)?.detail, atom('timeout'));
  });

  it('a loop across nodes is detected', async () => {
    const { addrs, names: n } = await chain([{}, {}, {}]);
    await start(addrs[0]!, [addrs[1]!, addrs[2]!, addrs[0]!]);
    const ev = await until(probe, (es) => n.every((s) => has(es, 'cancel', s) !== undefined));
    for (const s of n) assert.deepEqual(has(ev, 'cancel', s)?.detail, atom('loop_detected'));
  });

  it('two-phase commit: commits reach every saga and worker on every node', async () => {
    const { addrs, names: n } = await chain([{ job: true }, { job: true }, { job: true }]);
    await start(addrs[0]!, addrs.slice(1), { twoPhaseCommit: true });
    const mine = (e: SagaEvent) => n.includes(e.saga);
    const ev = await until(probe, (es) => es.filter((e) => mine(e) && e.event === 'commit').length === 3 && es.filter((e) => mine(e) && e.event === 'job_commit').length === 3);
    const final = has(ev, 'done', n[0]!)?.detail;
    for (const e of ev.filter((x) => mine(x) && (x.event === 'commit' || x.event === 'job_commit'))) assert.equal(e.detail, final);
  });

  it('two-phase commit: a remote refusal cancels everywhere', async () => {
    const { addrs, names: n } = await chain([{ job: true }, {}, { refuse: 'insufficient_funds' }]);
    await start(addrs[0]!, addrs.slice(1), { twoPhaseCommit: true });
    const ev = await until(probe, (es) => n.every((s) => has(es, 'cancel', s) !== undefined) && has(es, 'job_cancel', n[0]!) !== undefined);
    for (const s of n) assert.equal(has(ev, 'cancel', s)?.detail, 'insufficient_funds');
    assert.ok(ev.every((e) => !(e.event === 'commit' && n.includes(e.saga))));
  });
});
