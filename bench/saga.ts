/**
 * Saga benchmark (`saga_tx*`): transactions per second through a chain of
 * three sagas on one node (origin -> middle -> leaf), 64 transactions in
 * flight, each carrying a small value:
 *
 * - `saga_tx`: no two-phase commit (results flow up; the origin's
 *   handleTxDone ends the transaction);
 * - `saga_tx_2pc`: with the real two-phase commit (prepare, votes,
 *   decision, commits, acks), no journal;
 * - `saga_tx_2pc_file`: the same with a FileJournal per saga: a synced
 *   `prepared` record at the middle and the leaf, a synced decision at the
 *   origin, synced `end` records before the acks. Group commit batches the
 *   fdatasyncs of the transactions in flight; the notes give syncs per
 *   transaction.
 *
 * A transaction counts when the origin commits (2PC) or gets its result.
 * No Erlang peer: OTP has no saga behavior (ergo's, measured separately,
 * has no prepare, no vote and no journal).
 *
 * Run alone: `npx tsc -p . && node build/bench/saga.js [--quick]`
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type From, Node } from '../src/core/index.js';
import { noreply } from '../src/server/index.js';
import { type Atom, atom, type Tuple, tuple } from '../src/terms/index.js';
import { FileJournal, type SagaBehavior, type SagaJournal, startSaga } from '../src/saga/index.js';
import type { BenchResult } from './local.js';

type Chain = { value: readonly string[]; nextValue: readonly string[]; result: number; nextResult: number };
type Run = { call: [Tuple<[Atom<'run'>, number, number, boolean]>, number] };

interface OriginState {
  started: number;
  finished: number;
  total: number;
  twoPC: boolean;
  t0: number;
  from: From<number> | undefined;
}

function hop(): SagaBehavior<undefined, Chain> {
  return {
    init: () => ({ type: 'ok', state: undefined }),
    handleTxNew(tx, route, state, saga) {
      const [first, ...rest] = route;
      if (first === undefined) saga.sendResult(tx, 1);
      else saga.next(tx, { saga: first, value: rest });
      return noreply(state);
    },
    handleTxResult(tx, _from, n, state, saga) {
      saga.sendResult(tx, n + 1);
      return noreply(state);
    },
    handleTxCancel: (_tx, reason, state) => {
      throw new Error(`bench transaction cancelled: ${String(reason)}`);
      return noreply(state);
    },
  };
}

const ROUTE = ['b_middle', 'b_leaf'] as const;

function origin(): SagaBehavior<OriginState, Chain, undefined, Run> {
  const finishOne = (s: OriginState, saga: Parameters<NonNullable<SagaBehavior<OriginState, Chain>['handleTxDone']>>[3]): void => {
    s.finished++;
    if (s.started < s.total) {
      s.started++;
      saga.startTransaction(ROUTE, { twoPhaseCommit: s.twoPC });
    }
    if (s.finished === s.total && s.from !== undefined) saga.process.reply(s.from, performance.now() - s.t0);
  };
  return {
    init: () => ({ type: 'ok', state: { started: 0, finished: 0, total: 0, twoPC: false, t0: 0, from: undefined } }),
    handleCall(req, from, _s, saga) {
      const [, total, inflight, twoPC] = req.elements;
      const s: OriginState = { started: 0, finished: 0, total, twoPC, t0: performance.now(), from };
      for (; s.started < Math.min(inflight, total); s.started++) saga.startTransaction(ROUTE, { twoPhaseCommit: twoPC });
      return noreply(s);
    },
    handleTxNew(tx, route, state, saga) {
      saga.next(tx, { saga: route[0] as string, value: route.slice(1) });
      return noreply(state);
    },
    handleTxResult(tx, _from, n, state, saga) {
      saga.sendResult(tx, n + 1);
      return noreply(state);
    },
    handleTxDone(_tx, _n, s, saga) {
      if (!s.twoPC) finishOne(s, saga);
      return noreply(s);
    },
    handleTxCommit(_tx, _final, s, saga) {
      finishOne(s, saga);
      return noreply(s);
    },
    handleTxCancel: (_tx, reason, state) => {
      throw new Error(`bench transaction cancelled: ${String(reason)}`);
      return noreply(state);
    },
  };
}

async function measure(mode: 'plain' | '2pc' | 'file', n: number): Promise<{ rate: number; syncs: number }> {
  const node = new Node({ name: 'sagabench@127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'saga-bench-'));
  const journals: FileJournal[] = [];
  const journal = async (name: string): Promise<{ journal?: SagaJournal }> => {
    if (mode !== 'file') return {};
    const j = await FileJournal.open(join(dir, `${name}.journal`));
    journals.push(j);
    return { journal: j };
  };
  try {
    await startSaga(node, hop(), undefined, { name: 'b_leaf', ...(await journal('leaf')) });
    await startSaga(node, hop(), undefined, { name: 'b_middle', ...(await journal('middle')) });
    const o = await startSaga(node, origin(), undefined, { name: 'b_origin', ...(await journal('origin')) });
    const twoPC = mode !== 'plain';
    await node.call(o, tuple(atom('run'), Math.max(100, Math.floor(n / 10)), 64, twoPC), { timeout: Infinity });
    const before = journals.reduce((a, j) => a + j.syncs, 0);
    let best = 0;
    for (let i = 0; i < 2; i++) {
      const ms = await node.call(o, tuple(atom('run'), n, 64, twoPC), { timeout: Infinity });
      best = Math.max(best, (n * 1000) / ms);
    }
    const syncs = journals.reduce((a, j) => a + j.syncs, 0) - before;
    return { rate: best, syncs: syncs / (2 * n) };
  } finally {
    await node.stop();
    for (const j of journals) await j.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the saga scenarios; see the module notes. */
export async function runSagaBench(opts: { quick: boolean }): Promise<BenchResult[]> {
  const n = opts.quick ? 5_000 : 30_000;
  const nFile = opts.quick ? 2_000 : 10_000;
  const plain = await measure('plain', n);
  const twoPC = await measure('2pc', n);
  const file = await measure('file', nFile);
  return [
    { scenario: 'saga_tx', impl: 'beamline', value: plain.rate, unit: 'tx/s', notes: `3-saga chain, 64 in flight, n=${n}, best of 2` },
    { scenario: 'saga_tx_2pc', impl: 'beamline', value: twoPC.rate, unit: 'tx/s', notes: `with prepare/vote/decision/ack, no journal, n=${n}` },
    {
      scenario: 'saga_tx_2pc_file',
      impl: 'beamline',
      value: file.rate,
      unit: 'tx/s',
      notes: `file journals, group-committed fdatasync: ${file.syncs.toFixed(3)} syncs per transaction (5 synced records each), n=${nFile}`,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runSagaBench({ quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.scenario}: ${Math.round(r.value).toLocaleString('en-US')} ${r.unit} (${r.notes ?? ''})`);
}
