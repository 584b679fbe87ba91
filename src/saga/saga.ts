/**
 * Saga: a distributed transaction as a tree of steps across services, on
 * the Server behavior (ergo's Saga, with its promises kept).
 *
 * The origin starts a transaction (`startTransaction`); any saga forwards it
 * to next sagas (`next`, a pid, a local name or `{name, node}`) and runs
 * local jobs on workers (`startJob`). Results and interim results flow up
 * the tree; a cancel flows to every participant except where it came from,
 * with its reason, and each runs `handleTxCancel` (compensation). A next
 * saga's DOWN or timeout cancels the transaction unless the hop traps
 * cancels (`trapCancel`: `handleNextCancel` runs and may re-route). Every
 * hop knows the remaining lifespan and cancels with `lifespan` when it runs
 * out; hop and job timeouts never exceed it.
 *
 * With `twoPhaseCommit`, once the origin has its result it asks every
 * participant (next sagas, recursively, and workers) to prepare; each votes
 * (`handleTxPrepare`, `handleJobPrepare`; a refusal or a timeout is a no).
 * On all yes the origin records the decision in its journal (synced), then
 * sends it; participants run `handleTxCommit` / `handleJobCommit` and
 * acknowledge. A participant records its yes before sending it and keeps
 * the transaction until it learns the outcome, asking its parent after a
 * crash; the origin re-sends a recorded decision until acknowledged. No
 * commit record means abort (presumed abort). See docs/saga-protocol.md.
 *
 * @example
 * ```ts
 * type T = { value: number; result: number; nextValue: number; nextResult: number };
 * const adder: SagaBehavior<undefined, T> = {
 *   init: () => ok(undefined),
 *   handleTxNew: (tx, value, state, saga) => (saga.sendResult(tx, value + 1), noreply(state)),
 *   handleTxResult: (_tx, _from, _result, state) => noreply(state),
 *   handleTxCancel: (_tx, _reason, state) => noreply(state),
 * };
 * const ref = await startSaga(node, adder, undefined, { name: 'adder' });
 * ```
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import {
  type Address,
  type CastOf,
  type ExitReason,
  type From,
  formatReason,
  type Node,
  normal,
  type Process,
  type Protocol,
  type CallRequest,
  type ReplyOf,
  type RequestOf,
  ServerRef,
} from '../core/index.js';
import {
  type CallResult,
  type InitResult,
  type NoReplyResult,
  noreply,
  ok,
  type ServerBehavior,
  type StartOptions,
  type StartedServer,
  startServer,
  stop,
} from '../server/index.js';
import { type CallFrom, forwardReply, forwardStopAndReply } from '../server/server.js';
import type { JournalChild, JournalRecord, SagaJournal } from './journal.js';
import { FileJournal } from './file-journal.js';
import {
  A_ACK,
  A_CANCEL,
  A_DECISION,
  A_COMMIT,
  A_INFINITY,
  A_INTERIM,
  A_JOB_CANCEL,
  A_JOB_COMMIT,
  A_JOB_INTERIM,
  A_JOB_PREPARE,
  A_JOB_RESULT,
  A_JOB_VOTE,
  A_NEXT,
  A_NO,
  A_PREPARE,
  A_QUERY,
  A_RESULT,
  A_VOTE,
  A_YES,
  isSagaTag,
  parseSagaMessage,
  type Peer,
  refKey,
  type SagaMessage,
  sagaMessage,
  type WireTxOptions,
} from './protocol.js';
import {
  type JobId,
  type JobOptions,
  type NextId,
  type NextOptions,
  SagaError,
  type SagaOptions,
  SagaReason,
  type SagaType,
  type SagaTracePoint,
  type SagaTypes,
  type TxId,
  type TxOptions,
  type VoteResult,
} from './types.js';
import { type WorkerBehavior, WorkerProcessHandler } from './worker.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * The callbacks of a saga with state `S`, types `T`, start arguments `A`
 * and call/cast protocol `P`. Each receives the state and the saga (to
 * call `next`, `startJob`, `sendResult`...) last, and returns
 * `noreply(state)` or `stop(reason)`.
 */
export interface SagaBehavior<S, T extends SagaTypes = SagaTypes, A = undefined, P extends Protocol = Protocol> {
  /** The worker that runs this saga's jobs. */
  readonly worker?: WorkerBehavior<T, unknown>;
  init(args: A, saga: SagaProcess<T>): MaybePromise<InitResult<S>>;
  /** A transaction arrived (or was started here): do the local step, `next` it on, `startJob`, `sendResult`... */
  handleTxNew(tx: TxId, value: SagaType<T, 'value'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** A next saga sent its result. */
  handleTxResult(tx: TxId, from: NextId, result: SagaType<T, 'nextResult'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** The transaction was cancelled (`reason`): compensate here. */
  handleTxCancel(tx: TxId, reason: unknown, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** A next saga sent an interim result. */
  handleTxInterim?(tx: TxId, from: NextId, interim: SagaType<T, 'nextInterim'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** At the origin: the transaction's result (`sendResult` at the origin). With two-phase commit the vote follows. */
  handleTxDone?(tx: TxId, result: SagaType<T, 'result'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** Two-phase commit: vote; default yes. */
  handleTxPrepare?(tx: TxId, state: S, saga: SagaProcess<T>): MaybePromise<VoteResult<S>>;
  /** Two-phase commit: the transaction committed with the origin's result `final`. */
  handleTxCommit?(tx: TxId, final: unknown, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** A hop started with `trapCancel` was cancelled, went DOWN or timed out; the transaction goes on (re-route with `next`). */
  handleNextCancel?(tx: TxId, next: NextId, reason: unknown, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  handleJobResult?(tx: TxId, job: JobId, result: SagaType<T, 'jobResult'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  handleJobInterim?(tx: TxId, job: JobId, interim: SagaType<T, 'jobInterim'>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** A job failed: `timeout`, `no_result`, or its worker's exit reason. */
  handleJobFailed?(tx: TxId, job: JobId, reason: unknown, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** Answers a call: narrow `request` and answer with `reply(request, value, state)` (the reply type follows the request). */
  handleCall?(request: CallRequest<P>, from: CallFrom<P>, state: S, saga: SagaProcess<T>): MaybePromise<CallResult<S>>;
  handleCast?(message: CastOf<P>, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** Any message that is not a call, a cast or a saga message. */
  handleInfo?(message: unknown, state: S, saga: SagaProcess<T>): MaybePromise<NoReplyResult<S>>;
  terminate?(reason: ExitReason, state: S, saga: SagaProcess<T>): MaybePromise<void>;
}

/** Options of {@link startSaga}. */
export interface StartSagaOptions extends StartOptions, Omit<SagaOptions, 'journal'> {
  /** A journal, or the path of a file journal (opened here, closed when the saga exits). */
  readonly journal?: SagaJournal | string;
}

const A_DOWN = atom('DOWN');
/** The saga's messages to itself: `{'$saga_self', Token, Kind, A, B}`; only its own token is accepted. */
const A_SELF = atom('$saga_self');
const A_TIMER = atom('timer');
const A_SYNCED = atom('synced');
const A_START = atom('start');
const A_DONE = atom('done');
const A_CANCEL_SELF = atom('cancel');
const A_RECOVER = atom('recover');
const MAX_TIMER = 2_147_483_647;
const DEFAULT_LIFESPAN = 60_000;
const DEFAULT_HOP_LIMIT = 65_535;

/** A timer of this saga; its handle changes when a long timer re-arms. */
interface Timer {
  handle: NodeJS.Timeout | undefined;
}

type Phase = 'active' | 'preparing' | 'deciding' | 'prepared' | 'committing';

interface NextRec {
  readonly id: Ref;
  readonly key: string;
  readonly dest: Address;
  peer: Peer | undefined;
  mon: Ref | undefined;
  timer: Timer | undefined;
  done: boolean;
  readonly trapCancel: boolean;
  votedYes: boolean;
  acked: boolean;
}

interface JobRec {
  readonly id: Ref;
  readonly key: string;
  readonly pid: Pid;
  mon: Ref | undefined;
  timer: Timer | undefined;
  done: boolean;
  dead: boolean;
  votedYes: boolean;
}

class Tx {
  readonly key: string;
  parentMon: Ref | undefined;
  lifespanTimer: Timer | undefined;
  voteTimer: Timer | undefined;
  readonly nexts = new Map<string, NextRec>();
  readonly jobs = new Map<string, JobRec>();
  phase: Phase = 'active';
  resultSent = false;
  /** At the origin: handleTxDone has run. */
  doneDelivered = false;
  final: unknown = undefined;
  /** A record of this transaction is in the journal. */
  journaled = false;
  /** Rebuilt from a commit record: the commit callbacks have not run again yet, so acks cannot finish it. */
  recommit = false;
  lastContact = 0;
  constructor(
    readonly id: Ref,
    readonly parent: Peer | undefined,
    readonly parentNext: Ref | undefined,
    readonly twoPC: boolean,
    readonly hopLimit: number,
    readonly hops: number,
    readonly deadline: number,
  ) {
    this.key = refKey(id);
  }
}

type Source = 'self' | 'parent' | NextRec | JobRec;

interface MonEntry {
  readonly tx: Tx;
  readonly what: 'parent' | NextRec | JobRec;
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** A step of the saga: done now, or a promise when a callback is async (sync callbacks allocate no promise). */
type Step = void | Promise<void>;

/** Runs `f` after `r`: at once if `r` is done, else when it settles. */
function then(r: Step, f: () => Step): Step {
  return r === undefined ? f() : r.then(f);
}

function destOf(d: Address | ServerRef<Protocol>): Address {
  return d instanceof ServerRef ? d.dest : d;
}

/** Where to reach a peer after it restarted: `{name, node}` if it has a name, else its pid. */
function durable(peer: Peer): Address {
  return peer.name === undefined ? peer.pid : { name: peer.name, node: peer.pid.node };
}

/**
 * A running saga, as its callbacks see it: start transactions, forward
 * them, start jobs, send results, cancel.
 */
export class SagaProcess<T extends SagaTypes = SagaTypes> {
  /** The saga's process. */
  readonly process: Process;
  /** @internal */
  state: unknown;
  private readonly txs = new Map<string, Tx>();
  private readonly nextIndex = new Map<string, Tx>();
  private readonly jobIndex = new Map<string, Tx>();
  private readonly monIndex = new Map<string, MonEntry>();
  private readonly timers = new Set<Timer>();
  private readonly continuations = new Map<number, (err: unknown) => Step>();
  private continuationSeq = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopRequest: { reason: ExitReason } | undefined;
  private readonly self: Tuple;
  /** Makes the saga's messages to itself unforgeable. */
  private readonly token: Ref;
  private readonly maxTransactions: number;
  private readonly retryInterval: number;
  private readonly prepareTimeout: number;
  /** @internal */
  readonly journal: SagaJournal | undefined;
  private readonly trace: ((point: SagaTracePoint, tx: TxId) => void) | undefined;

  /** @internal */
  constructor(
    private readonly impl: SagaBehavior<unknown, T, unknown, Protocol>,
    proc: Process,
    options: SagaOptions,
  ) {
    this.process = proc;
    this.self = tuple(proc.self, proc.registeredName);
    this.token = proc.makeRef();
    this.maxTransactions = options.maxTransactions ?? 0;
    this.retryInterval = options.retryInterval ?? 1000;
    this.prepareTimeout = options.prepareTimeout ?? 5000;
    this.journal = options.journal;
    this.trace = options.trace;
    proc.signal.addEventListener('abort', () => {
      for (const t of this.timers) clearTimeout(t.handle);
      this.timers.clear();
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    });
  }

  // ------------------------------------------------------------ public API

  /**
   * Starts a transaction with this saga as its origin; `handleTxNew` runs
   * next with `value`. Throws SagaError `exceed_tx_limit` at the limit.
   */
  startTransaction(value: SagaType<T, 'value'>, options: TxOptions = {}): TxId {
    const lifespan = options.lifespan ?? DEFAULT_LIFESPAN;
    if (!(lifespan > 0)) throw new RangeError(`lifespan must be > 0 ms, got ${lifespan}`);
    const hopLimit = options.hopLimit ?? DEFAULT_HOP_LIMIT;
    if (!Number.isInteger(hopLimit) || hopLimit < 0) throw new RangeError(`hopLimit must be an integer >= 0, got ${hopLimit}`);
    this.checkLimit();
    const id = this.process.makeRef();
    const tx = new Tx(id, undefined, undefined, options.twoPhaseCommit === true, hopLimit, 0, Date.now() + lifespan);
    this.addTx(tx);
    this.toSelf(A_START, id, value);
    return id;
  }

  /**
   * Forwards transaction `tx` to a next saga; returns the hop's id. Throws
   * SagaError `unknown_tx`, `not_allowed` (after the vote started),
   * `hop_limit`, or `lifespan` (the transaction is then cancelled).
   */
  next(txId: TxId, options: NextOptions<SagaType<T, 'nextValue'>>): NextId {
    const tx = this.activeTx(txId);
    if (tx.hops + 1 > tx.hopLimit) throw new SagaError('hop_limit', `transaction ${String(txId)}: hop limit ${tx.hopLimit} reached`);
    const remaining = this.remaining(tx);
    const proc = this.process;
    const id = proc.makeRef();
    const dest = destOf(options.saga);
    const rec: NextRec = {
      id,
      key: refKey(id),
      dest,
      peer: undefined,
      mon: undefined,
      timer: undefined,
      done: false,
      trapCancel: options.trapCancel === true,
      votedYes: false,
      acked: false,
    };
    const opts: WireTxOptions = {
      lifespan: remaining === Infinity ? A_INFINITY : Math.max(1, Math.floor(remaining)),
      two_phase_commit: tx.twoPC,
      hop_limit: tx.hopLimit,
      hops: tx.hops + 1,
    };
    tx.nexts.set(rec.key, rec);
    this.nextIndex.set(rec.key, tx);
    rec.mon = proc.monitor(dest);
    this.monIndex.set(refKey(rec.mon), { tx, what: rec });
    if (options.timeout !== undefined && options.timeout < remaining) rec.timer = this.arm(options.timeout, this.internal(A_TIMER, atom('next'), rec.key));
    proc.send(dest, sagaMessage(A_NEXT, this.self, id, tx.id, options.value, opts));
    return id;
  }

  /** Runs a job of transaction `tx` on a new worker; returns the job's id. Throws SagaError `no_worker`, `unknown_tx`, `not_allowed`, `lifespan`. */
  startJob(txId: TxId, options: JobOptions<SagaType<T, 'jobValue'>>): JobId {
    const worker = this.impl.worker;
    if (worker === undefined) throw new SagaError('no_worker', 'this saga has no worker behavior');
    const tx = this.activeTx(txId);
    const remaining = this.remaining(tx);
    const proc = this.process;
    const id = proc.makeRef();
    const handler = new WorkerProcessHandler<T, unknown>(worker as WorkerBehavior<T, unknown>, proc.self, {
      id,
      tx: tx.id,
      value: options.value,
      twoPhaseCommit: tx.twoPC,
    });
    const pid = proc.spawn(handler);
    const rec: JobRec = { id, key: refKey(id), pid, mon: undefined, timer: undefined, done: false, dead: false, votedYes: false };
    tx.jobs.set(rec.key, rec);
    this.jobIndex.set(rec.key, tx);
    rec.mon = proc.monitor(pid);
    this.monIndex.set(refKey(rec.mon), { tx, what: rec });
    const timeout = Math.min(options.timeout ?? Infinity, remaining);
    if (timeout !== Infinity) rec.timer = this.arm(timeout, this.internal(A_TIMER, atom('job'), rec.key));
    return id;
  }

  /**
   * Sends this saga's result of `tx` to its parent (at the origin:
   * `handleTxDone` runs next, then the vote with two-phase commit). Once.
   */
  sendResult(txId: TxId, result: SagaType<T, 'result'>): void {
    const tx = this.txs.get(refKey(txId));
    if (tx === undefined) throw new SagaError('unknown_tx', `unknown transaction ${String(txId)}`);
    if (tx.resultSent) throw new SagaError('result_already_sent', `transaction ${String(txId)}: result already sent`);
    tx.resultSent = true;
    if (tx.parent === undefined) {
      this.toSelf(A_DONE, tx.id, result);
      return;
    }
    this.process.send(tx.parent.pid, sagaMessage(A_RESULT, this.self, tx.id, tx.parentNext, result));
    if (!tx.twoPC) this.maybeFinished(tx);
  }

  /** Sends an interim result of `tx` to the parent. Throws SagaError `unknown_tx`, or `not_allowed` at the origin. */
  sendInterim(txId: TxId, interim: SagaType<T, 'interim'>): void {
    const tx = this.txs.get(refKey(txId));
    if (tx === undefined) throw new SagaError('unknown_tx', `unknown transaction ${String(txId)}`);
    if (tx.parent === undefined) throw new SagaError('not_allowed', 'the origin has no parent to send an interim result to');
    this.process.send(tx.parent.pid, sagaMessage(A_INTERIM, this.self, tx.id, tx.parentNext, interim));
  }

  /**
   * Cancels `tx` everywhere with `reason`: `handleTxCancel` runs here and
   * on every participant. Ignored for an unknown transaction and once the
   * vote is over (a prepared or decided transaction only ends by its decision).
   */
  cancelTransaction(txId: TxId, reason: unknown): void {
    const tx = this.txs.get(refKey(txId));
    if (tx === undefined || tx.phase === 'prepared' || tx.phase === 'committing' || tx.phase === 'deciding') return;
    this.toSelf(A_CANCEL_SELF, tx.id, reason);
  }

  /** Cancels one job: its worker runs `handleJobCancel` and exits. */
  cancelJob(txId: TxId, job: JobId, reason: unknown): void {
    const tx = this.txs.get(refKey(txId));
    const rec = tx?.jobs.get(refKey(job));
    if (tx === undefined || rec === undefined) throw new SagaError('unknown_job', `unknown job ${String(job)} of ${String(txId)}`);
    this.dropJob(tx, rec);
    this.process.send(rec.pid, tuple(A_JOB_CANCEL, rec.id, reason));
  }

  /** Transactions this saga takes part in now. */
  transactions(): TxId[] {
    return [...this.txs.values()].map((t) => t.id);
  }

  /** Transactions this saga voted yes for and whose outcome it does not know yet. */
  inDoubt(): TxId[] {
    return [...this.txs.values()].filter((t) => t.phase === 'prepared').map((t) => t.id);
  }

  // ------------------------------------------------------------ internals

  private checkLimit(): void {
    if (this.maxTransactions > 0 && this.txs.size >= this.maxTransactions)
      throw new SagaError('exceed_tx_limit', `saga runs ${this.txs.size} transactions (maxTransactions)`);
  }

  private activeTx(txId: TxId): Tx {
    const tx = this.txs.get(refKey(txId));
    if (tx === undefined) throw new SagaError('unknown_tx', `unknown transaction ${String(txId)}`);
    if (tx.phase !== 'active') throw new SagaError('not_allowed', `transaction ${String(txId)} is past its result (${tx.phase})`);
    return tx;
  }

  private remaining(tx: Tx): number {
    const remaining = tx.deadline - Date.now();
    if (remaining <= 0) {
      this.toSelf(A_CANCEL_SELF, tx.id, SagaReason.lifespan);
      throw new SagaError('lifespan', `transaction ${String(tx.id)}: lifespan is over`);
    }
    return remaining;
  }

  private addTx(tx: Tx): void {
    this.txs.set(tx.key, tx);
    if (tx.deadline !== Infinity) tx.lifespanTimer = this.arm(tx.deadline - Date.now(), this.internal(A_TIMER, atom('lifespan'), tx.key));
  }

  /** A timer that delivers `msg` to this saga after `ms` (beyond setTimeout's 2^31-1 ms limit too). */
  private arm(ms: number, msg: Tuple): Timer {
    const at = Date.now() + ms;
    const timer: Timer = { handle: undefined };
    const fire = (): void => {
      const left = at - Date.now();
      if (left > 0) {
        timer.handle = setTimeout(fire, Math.min(left, MAX_TIMER));
        return;
      }
      this.timers.delete(timer);
      this.process.send(this.process.self, msg);
    };
    timer.handle = setTimeout(fire, Math.max(0, Math.min(ms, MAX_TIMER)));
    this.timers.add(timer);
    return timer;
  }

  private clear(t: Timer | undefined): void {
    if (t === undefined) return;
    clearTimeout(t.handle);
    this.timers.delete(t);
  }

  private demonitor(ref: Ref | undefined): void {
    if (ref === undefined) return;
    this.monIndex.delete(refKey(ref));
    this.process.demonitor(ref, { flush: true });
  }

  private removeTx(tx: Tx): void {
    this.txs.delete(tx.key);
    this.clear(tx.lifespanTimer);
    this.clear(tx.voteTimer);
    this.demonitor(tx.parentMon);
    for (const n of tx.nexts.values()) {
      this.clear(n.timer);
      this.demonitor(n.mon);
      this.nextIndex.delete(n.key);
    }
    for (const j of tx.jobs.values()) {
      this.clear(j.timer);
      this.demonitor(j.mon);
      this.jobIndex.delete(j.key);
    }
  }

  private dropNext(tx: Tx, n: NextRec): void {
    this.clear(n.timer);
    this.demonitor(n.mon);
    tx.nexts.delete(n.key);
    this.nextIndex.delete(n.key);
  }

  private dropJob(tx: Tx, j: JobRec): void {
    this.clear(j.timer);
    this.demonitor(j.mon);
    tx.jobs.delete(j.key);
    this.jobIndex.delete(j.key);
  }

  /** Without two-phase commit a participant forgets the transaction once its result is out and nothing runs. */
  private maybeFinished(tx: Tx): void {
    if (tx.twoPC || !tx.resultSent || tx.nexts.size > 0 || tx.jobs.size > 0 || (tx.parent === undefined && !tx.doneDelivered)) return;
    if (this.txs.get(tx.key) === tx) this.removeTx(tx);
  }

  private invoke(r: MaybePromise<NoReplyResult<unknown>> | undefined): Step {
    if (r === undefined) return;
    if (isThenable(r)) return r.then((res) => this.apply(res));
    this.apply(r);
  }

  private apply(res: NoReplyResult<unknown>): void {
    if (res?.type === 'noreply') this.state = res.state;
    else if (res?.type === 'stop') {
      if (res.state !== undefined) this.state = res.state;
      this.stopRequest ??= { reason: res.reason };
    } else throw new TypeError(`saga callback returned ${formatReason(res)}; expected noreply() or stop()`);
  }

  private sendTo(peer: Peer | undefined, fallback: Address, msg: Tuple): void {
    this.process.send(peer?.pid ?? fallback, msg);
  }

  /**
   * Appends a record. With `after`, it runs in the saga once the record is
   * durable (other messages keep flowing meanwhile, so the syncs of
   * concurrent transactions are batched); without a journal it runs now.
   */
  private record(rec: JournalRecord, sync: boolean, after?: (err: unknown) => Step): Step {
    const j = this.journal;
    if (j === undefined) return after?.(undefined);
    const p = j.append(rec, sync);
    if (after === undefined) {
      p.catch((err) => this.process.node.log('error', `saga ${this.process.self.describe()}: journal: ${formatReason(err)}`));
      return;
    }
    const seq = ++this.continuationSeq;
    this.continuations.set(seq, after);
    p.then(
      () => this.toSelf(A_SYNCED, seq, undefined),
      (err: unknown) => this.toSelf(A_SYNCED, seq, err instanceof Error ? err.message : formatReason(err)),
    );
  }

  private children(tx: Tx): JournalChild[] {
    const out: JournalChild[] = [];
    for (const n of tx.nexts.values()) if (n.peer !== undefined) out.push({ next: n.id, pid: n.peer.pid, name: n.peer.name });
    return out;
  }

  private ensureRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.toSelf(A_TIMER, atom('retry'), '');
    }, this.retryInterval);
  }

  // ------------------------------------------------------------ message handling

  /** @internal Handles one message: false if it is not the saga's, else done now or a promise. */
  handle(message: unknown): false | Step {
    if (!(message instanceof Tuple)) return false;
    const e = message.elements;
    const tag = e[0];
    if (isSagaTag(message)) {
      const m = parseSagaMessage(message);
      if (m !== undefined) return this.onSagaMessage(m);
      this.process.node.log('warning', `saga ${this.process.self.describe()} dropped a malformed saga message: ${formatReason(message)}`);
      return;
    }
    if (tag === A_DOWN && e.length === 5 && e[1] instanceof Ref) {
      // Signals between two processes arrive in send order: a result sent just before the exit
      // has already been handled when the DOWN arrives.
      const entry = this.monIndex.get(refKey(e[1]));
      if (entry === undefined) return false;
      this.monIndex.delete(refKey(e[1]));
      return this.onDown(entry, e[4]);
    }
    if ((tag === A_JOB_RESULT || tag === A_JOB_INTERIM || tag === A_JOB_VOTE) && e.length === 3 && e[1] instanceof Ref) return this.onJobMessage(tag, e[1], e[2]);
    if (tag === A_SELF && e.length === 5 && e[1] === this.token) return this.onInternal(e[2], e[3], e[4]);
    return false;
  }

  private onInternal(kind: unknown, a: unknown, b: unknown): Step {
    switch (kind) {
      case A_TIMER:
        return this.onTimer(a as Atom, b as string);
      case A_SYNCED: {
        const k = this.continuations.get(a as number);
        if (k === undefined) return;
        this.continuations.delete(a as number);
        return k(b);
      }
      case A_START: {
        const tx = this.txs.get(refKey(a as Ref));
        if (tx !== undefined) return this.invoke(this.impl.handleTxNew(tx.id, b as SagaType<T, 'value'>, this.state, this));
        return;
      }
      case A_DONE: {
        const tx = this.txs.get(refKey(a as Ref));
        if (tx !== undefined) return this.onDone(tx, b);
        return;
      }
      case A_CANCEL_SELF: {
        const tx = this.txs.get(refKey(a as Ref));
        if (tx !== undefined && (tx.phase === 'active' || tx.phase === 'preparing')) return this.cancelTx(tx, b, 'self');
        return;
      }
      case A_RECOVER:
        return this.recommit();
    }
  }

  /** A message to itself, with the saga's token. */
  private internal(kind: Atom, a: unknown, b: unknown): Tuple {
    return tuple(A_SELF, this.token, kind, a, b);
  }

  /** @internal Sends a message to itself, with the saga's token. */
  toSelf(kind: Atom, a: unknown, b: unknown): void {
    this.process.send(this.process.self, tuple(A_SELF, this.token, kind, a, b));
  }

  /** @internal The stop a callback asked for, taken once. */
  takeStop(): { reason: ExitReason } | undefined {
    const s = this.stopRequest;
    this.stopRequest = undefined;
    return s;
  }

  private onSagaMessage(m: SagaMessage): Step {
    switch (m.tag) {
      case 'next':
        return this.onNext(m);
      case 'result':
      case 'interim': {
        const tx = this.nextIndex.get(refKey(m.next));
        const n = tx?.nexts.get(refKey(m.next));
        if (tx === undefined || n === undefined || !tx.id.equals(m.tx)) return;
        if (m.tag === 'interim') {
          if (n.done) return;
          return this.invoke(this.impl.handleTxInterim?.(tx.id, n.id, m.value as SagaType<T, 'nextInterim'>, this.state, this));
        }
        if (n.done) return;
        n.done = true;
        n.peer = m.from;
        this.clear(n.timer);
        n.timer = undefined;
        if (!tx.twoPC) this.dropNext(tx, n);
        return then(this.invoke(this.impl.handleTxResult(tx.id, n.id, m.value as SagaType<T, 'nextResult'>, this.state, this)), () => this.maybeFinished(tx));
      }
      case 'cancel':
      case 'vote':
        return this.onCancelOrVote(m);
      case 'prepare': {
        const tx = this.txs.get(refKey(m.tx));
        if (tx === undefined || tx.parentNext === undefined || !tx.parentNext.equals(m.next)) {
          this.process.send(m.from.pid, sagaMessage(A_VOTE, this.self, m.tx, m.next, tuple(A_NO, SagaReason.unknownTx)));
          return;
        }
        if (tx.phase !== 'active') return;
        if (!tx.resultSent) return this.cancelTx(tx, SagaReason.notReady, 'self');
        return this.startPrepare(tx, m.timeout);
      }
      case 'decision': {
        const tx = this.txs.get(refKey(m.tx));
        if (tx === undefined) {
          // Already finished here (or never prepared): acknowledge, so the sender stops re-sending.
          this.process.send(m.from.pid, sagaMessage(A_ACK, this.self, m.tx, m.next));
          return;
        }
        if (tx.parentNext === undefined || !tx.parentNext.equals(m.next) || tx.phase !== 'prepared') return;
        return this.commit(tx, m.final);
      }
      case 'ack': {
        const tx = this.nextIndex.get(refKey(m.next));
        const n = tx?.nexts.get(refKey(m.next));
        if (tx === undefined || n === undefined || tx.phase !== 'committing' || n.acked) return;
        n.acked = true;
        this.trace?.('ack_received', tx.id);
        return this.maybeCommitted(tx);
      }
      case 'query': {
        const tx = this.txs.get(refKey(m.tx));
        if (tx === undefined) {
          // No record of a commit: presumed abort.
          this.process.send(m.from.pid, sagaMessage(A_CANCEL, this.self, m.tx, m.next, SagaReason.aborted));
          return;
        }
        const n = tx.nexts.get(refKey(m.next));
        if (tx.phase === 'committing' && n !== undefined) {
          n.peer = m.from;
          this.process.send(m.from.pid, sagaMessage(A_DECISION, this.self, tx.id, n.id, A_COMMIT, tx.final));
        }
        return;
      }
    }
  }

  private onNext(m: Extract<SagaMessage, { tag: 'next' }>): Step {
    const key = refKey(m.tx);
    if (this.txs.has(key)) {
      this.process.send(m.from.pid, sagaMessage(A_CANCEL, this.self, m.tx, m.next, SagaReason.loopDetected));
      return;
    }
    if (this.maxTransactions > 0 && this.txs.size >= this.maxTransactions) {
      this.process.send(m.from.pid, sagaMessage(A_CANCEL, this.self, m.tx, m.next, SagaReason.exceedTxLimit));
      return;
    }
    const o = m.options;
    const deadline = o.lifespan === A_INFINITY ? Infinity : Date.now() + (o.lifespan as number);
    const tx = new Tx(m.tx, m.from, m.next, o.two_phase_commit, o.hop_limit, o.hops, deadline);
    this.addTx(tx);
    tx.parentMon = this.process.monitor(m.from.pid);
    this.monIndex.set(refKey(tx.parentMon), { tx, what: 'parent' });
    return this.invoke(this.impl.handleTxNew(tx.id, m.value as SagaType<T, 'value'>, this.state, this));
  }

  private onCancelOrVote(m: Extract<SagaMessage, { tag: 'cancel' | 'vote' }>): Step {
    const tx = this.txs.get(refKey(m.tx));
    if (tx === undefined) return;
    if (tx.parentNext !== undefined && tx.parentNext.equals(m.next)) {
      // From the parent: a cancel before or after our vote (an abort decision).
      if (m.tag !== 'cancel' || tx.phase === 'committing') return;
      return this.cancelTx(tx, m.reason, 'parent');
    }
    const n = tx.nexts.get(refKey(m.next));
    if (n === undefined) return;
    if (m.tag === 'vote' && m.yes) {
      if (tx.phase !== 'preparing' || n.votedYes) return;
      n.votedYes = true;
      n.peer = m.from;
      this.trace?.('vote_received', tx.id);
      return this.maybeVoted(tx);
    }
    // A cancel from a next, or its no vote.
    if (tx.phase === 'committing' || tx.phase === 'prepared' || tx.phase === 'deciding') return;
    return this.nextFailed(tx, n, m.reason, false);
  }

  /** A next saga cancelled, went down or timed out. */
  private nextFailed(tx: Tx, n: NextRec, reason: unknown, tellIt: boolean): Step {
    if (n.trapCancel && tx.phase === 'active' && this.impl.handleNextCancel !== undefined) {
      this.dropNext(tx, n);
      if (tellIt) this.sendTo(n.peer, n.dest, sagaMessage(A_CANCEL, this.self, tx.id, n.id, reason));
      return this.invoke(this.impl.handleNextCancel(tx.id, n.id, reason, this.state, this));
    }
    return this.cancelTx(tx, reason, tellIt ? 'self' : n);
  }

  private onDown(entry: MonEntry, reason: unknown): Step {
    const { tx, what } = entry;
    if (this.txs.get(tx.key) !== tx) return;
    if (what === 'parent') {
      tx.parentMon = undefined;
      // Prepared: in doubt, wait for the decision (ask the parent); else the transaction is lost.
      if (tx.phase === 'prepared' || tx.phase === 'committing') return;
      return this.cancelTx(tx, reason, 'parent');
    }
    if ('trapCancel' in what) {
      what.mon = undefined;
      if (what.votedYes || tx.phase === 'committing' || tx.phase === 'prepared' || tx.phase === 'deciding') return;
      return this.nextFailed(tx, what, reason, false);
    }
    what.mon = undefined;
    if (!what.done) {
      this.dropJob(tx, what);
      return this.invoke(this.impl.handleJobFailed?.(tx.id, what.id, reason === normal ? SagaReason.noResult : reason, this.state, this));
    }
    if (what.votedYes || tx.phase === 'committing' || tx.phase === 'prepared' || tx.phase === 'deciding') return;
    what.dead = true;
    if (tx.phase === 'preparing') return this.cancelTx(tx, reason, what);
  }

  private onTimer(kind: Atom, key: string): Step {
    switch (kind.name) {
      case 'lifespan': {
        const tx = this.txs.get(key);
        if (tx === undefined) return;
        tx.lifespanTimer = undefined;
        if (tx.phase === 'active' || tx.phase === 'preparing') return this.cancelTx(tx, SagaReason.lifespan, 'self');
        return;
      }
      case 'vote': {
        const tx = this.txs.get(key);
        if (tx === undefined || tx.phase !== 'preparing') return;
        tx.voteTimer = undefined;
        return this.cancelTx(tx, SagaReason.timeout, 'self');
      }
      case 'next': {
        const tx = this.nextIndex.get(key);
        const n = tx?.nexts.get(key);
        if (tx === undefined || n === undefined || n.done) return;
        n.timer = undefined;
        if (tx.phase !== 'active') return;
        return this.nextFailed(tx, n, SagaReason.timeout, true);
      }
      case 'job': {
        const tx = this.jobIndex.get(key);
        const j = tx?.jobs.get(key);
        if (tx === undefined || j === undefined || j.done) return;
        j.timer = undefined;
        this.dropJob(tx, j);
        this.process.sendExit(j.pid, atom('kill'));
        return this.invoke(this.impl.handleJobFailed?.(tx.id, j.id, SagaReason.timeout, this.state, this));
      }
      case 'retry':
        return this.retry();
    }
  }

  private onJobMessage(tag: unknown, jobId: Ref, value: unknown): Step {
    const key = refKey(jobId);
    const tx = this.jobIndex.get(key);
    const j = tx?.jobs.get(key);
    if (tx === undefined || j === undefined) return;
    if (tag === A_JOB_INTERIM) {
      if (!j.done) return this.invoke(this.impl.handleJobInterim?.(tx.id, j.id, value as SagaType<T, 'jobInterim'>, this.state, this));
      return;
    }
    if (tag === A_JOB_RESULT) {
      if (j.done) return;
      j.done = true;
      this.clear(j.timer);
      j.timer = undefined;
      if (!tx.twoPC) this.dropJob(tx, j);
      return then(this.invoke(this.impl.handleJobResult?.(tx.id, j.id, value as SagaType<T, 'jobResult'>, this.state, this)), () => this.maybeFinished(tx));
    }
    // A vote.
    if (tx.phase !== 'preparing' || j.votedYes) return;
    if (value === A_YES) {
      j.votedYes = true;
      return this.maybeVoted(tx);
    }
    const reason = value instanceof Tuple && value.elements[0] === A_NO ? value.elements[1] : value;
    return this.cancelTx(tx, reason, j);
  }

  /**
   * Cancels `tx` here and sends the cancel to every participant but
   * `source`; `handleTxCancel` runs last.
   */
  private cancelTx(tx: Tx, reason: unknown, source: Source): Step {
    if (this.txs.get(tx.key) !== tx) return;
    this.removeTx(tx);
    if (tx.parent !== undefined && source !== 'parent') this.process.send(tx.parent.pid, sagaMessage(A_CANCEL, this.self, tx.id, tx.parentNext, reason));
    for (const n of tx.nexts.values()) if (n !== source) this.sendTo(n.peer, n.dest, sagaMessage(A_CANCEL, this.self, tx.id, n.id, reason));
    for (const j of tx.jobs.values()) if (j !== source) this.process.send(j.pid, tuple(A_JOB_CANCEL, j.id, reason));
    if (tx.journaled) this.record({ type: 'end', tx: tx.id }, false);
    return this.invoke(this.impl.handleTxCancel(tx.id, reason, this.state, this));
  }

  private onDone(tx: Tx, result: unknown): Step {
    tx.doneDelivered = true;
    return then(this.invoke(this.impl.handleTxDone?.(tx.id, result as SagaType<T, 'result'>, this.state, this)), () => {
      if (this.txs.get(tx.key) !== tx) return;
      if (!tx.twoPC) return this.maybeFinished(tx);
      if (tx.phase !== 'active') return;
      tx.final = result;
      return this.startPrepare(tx, this.prepareTimeout);
    });
  }

  /** Asks every participant below this saga to prepare, and votes itself. */
  private startPrepare(tx: Tx, timeout: number): Step {
    tx.phase = 'preparing';
    const h = this.impl.handleTxPrepare;
    if (h === undefined) return this.askParticipants(tx, timeout);
    const r = h.call(this.impl, tx.id, this.state, this);
    const voted = (v: VoteResult<unknown>): Step => {
      this.state = v.state;
      if (this.txs.get(tx.key) !== tx || tx.phase !== 'preparing') return;
      if (!v.yes) return this.cancelTx(tx, v.reason, 'self');
      return this.askParticipants(tx, timeout);
    };
    return isThenable(r) ? r.then(voted) : voted(r);
  }

  /** This saga votes yes itself: ask its next sagas and workers. */
  private askParticipants(tx: Tx, timeout: number): Step {
    for (const n of tx.nexts.values()) {
      if (!n.done) return this.cancelTx(tx, SagaReason.notReady, 'self');
    }
    for (const j of tx.jobs.values()) {
      if (!j.done || j.dead) return this.cancelTx(tx, j.dead ? SagaReason.noResult : SagaReason.notReady, 'self');
    }
    const wait = Math.max(0, Math.min(timeout, tx.deadline - Date.now()));
    this.trace?.('prepare', tx.id);
    for (const n of tx.nexts.values()) this.sendTo(n.peer, n.dest, sagaMessage(A_PREPARE, this.self, tx.id, n.id, Math.floor(wait)));
    for (const j of tx.jobs.values()) this.process.send(j.pid, tuple(A_JOB_PREPARE, j.id, Math.floor(wait)));
    if (tx.nexts.size + tx.jobs.size > 0) tx.voteTimer = this.arm(wait, this.internal(A_TIMER, atom('vote'), tx.key));
    return this.maybeVoted(tx);
  }

  private maybeVoted(tx: Tx): Step {
    if (tx.phase !== 'preparing') return;
    for (const n of tx.nexts.values()) if (!n.votedYes) return;
    for (const j of tx.jobs.values()) if (!j.votedYes) return;
    this.clear(tx.voteTimer);
    tx.voteTimer = undefined;
    tx.phase = 'deciding';
    const children = this.children(tx);
    if (tx.parent === undefined) {
      // The origin: every vote is yes. Record the decision before anyone hears of it.
      if (children.length === 0) return this.commit(tx, tx.final);
      tx.journaled = this.journal !== undefined;
      return this.record({ type: 'decision', tx: tx.id, final: tx.final, children }, true, (err) => {
        if (this.txs.get(tx.key) !== tx) return;
        if (err !== undefined) {
          tx.phase = 'preparing';
          return this.cancelTx(tx, tuple(SagaReason.journalError, err), 'self');
        }
        this.trace?.('decision_recorded', tx.id);
        return this.commit(tx, tx.final);
      });
    }
    // A participant: record the yes, then send it.
    tx.journaled = this.journal !== undefined;
    const parent = tx.parent;
    return this.record(
      { type: 'prepared', tx: tx.id, parentPid: parent.pid, parentName: parent.name, parentNext: tx.parentNext as Ref, children },
      true,
      (err) => {
        if (this.txs.get(tx.key) !== tx || tx.phase !== 'deciding') return;
        if (err !== undefined) {
          tx.phase = 'preparing';
          return this.cancelTx(tx, tuple(SagaReason.journalError, err), 'self');
        }
        tx.phase = 'prepared';
        this.clear(tx.lifespanTimer);
        tx.lifespanTimer = undefined;
        tx.lastContact = Date.now();
        this.trace?.('prepared', tx.id);
        this.process.send(parent.pid, sagaMessage(A_VOTE, this.self, tx.id, tx.parentNext, A_YES));
        this.trace?.('voted', tx.id);
        this.ensureRetry();
      },
    );
  }

  /** The decision is commit: pass it down, run the commit callbacks, wait for the acks. */
  private commit(tx: Tx, final: unknown): Step {
    tx.phase = 'committing';
    tx.final = final;
    this.clear(tx.lifespanTimer);
    tx.lifespanTimer = undefined;
    tx.lastContact = Date.now();
    for (const n of tx.nexts.values()) this.sendTo(n.peer, n.dest, sagaMessage(A_DECISION, this.self, tx.id, n.id, A_COMMIT, final));
    for (const j of tx.jobs.values()) {
      this.demonitor(j.mon);
      j.mon = undefined;
      this.process.send(j.pid, tuple(A_JOB_COMMIT, j.id, final));
    }
    if (tx.nexts.size > 0) this.ensureRetry();
    return then(this.invoke(this.impl.handleTxCommit?.(tx.id, final, this.state, this)), () => this.maybeCommitted(tx));
  }

  private maybeCommitted(tx: Tx): Step {
    if (this.txs.get(tx.key) !== tx || tx.phase !== 'committing' || tx.recommit) return;
    for (const n of tx.nexts.values()) if (!n.acked) return;
    this.removeTx(tx);
    if (tx.parent === undefined) {
      if (tx.journaled) this.record({ type: 'end', tx: tx.id }, false);
      return;
    }
    const parent = tx.parent;
    const ack = sagaMessage(A_ACK, this.self, tx.id, tx.parentNext);
    // The end is durable before the ack: once acked, the parent may forget the decision.
    if (!tx.journaled) return this.process.send(parent.pid, ack);
    return this.record({ type: 'end', tx: tx.id }, true, () => {
      this.trace?.('ack', tx.id);
      this.process.send(durable(parent), ack);
    });
  }

  /** Re-sends unacknowledged decisions and asks about in-doubt transactions. */
  private retry(): void {
    const now = Date.now();
    let pending = false;
    for (const tx of this.txs.values()) {
      if (tx.phase === 'prepared' && tx.parent !== undefined) {
        pending = true;
        if (now - tx.lastContact >= this.retryInterval) {
          tx.lastContact = now;
          this.process.send(durable(tx.parent), sagaMessage(A_QUERY, this.self, tx.id, tx.parentNext));
        }
      } else if (tx.phase === 'committing') {
        pending = true;
        if (now - tx.lastContact >= this.retryInterval) {
          tx.lastContact = now;
          for (const n of tx.nexts.values())
            if (!n.acked) this.process.send(n.peer === undefined ? n.dest : durable(n.peer), sagaMessage(A_DECISION, this.self, tx.id, n.id, A_COMMIT, tx.final));
        }
      }
    }
    if (pending) this.ensureRetry();
  }

  /**
   * @internal After a restart, from `init`: rebuild the transactions the
   * journal holds open, before any message is handled. A query or a decision
   * can be in the mailbox already (the name is registered before `init`
   * runs): answered from an empty table, a query would get a presumed abort
   * for a recorded commit. The commit callbacks run later, on `recover`.
   */
  async load(): Promise<void> {
    const j = this.journal;
    if (j === undefined) return;
    const records = await j.load();
    for (const r of records) {
      if (r.type === 'end') continue;
      const parent = r.type === 'prepared' ? { pid: r.parentPid, name: r.parentName } : undefined;
      const tx = new Tx(r.tx, parent, r.type === 'prepared' ? r.parentNext : undefined, true, DEFAULT_HOP_LIMIT, 0, Infinity);
      tx.journaled = true;
      tx.resultSent = true;
      for (const c of r.children) {
        const n: NextRec = {
          id: c.next,
          key: refKey(c.next),
          dest: c.name === undefined ? c.pid : { name: c.name, node: c.pid.node },
          peer: { pid: c.pid, name: c.name },
          mon: undefined,
          timer: undefined,
          done: true,
          trapCancel: false,
          votedYes: true,
          acked: false,
        };
        tx.nexts.set(n.key, n);
        this.nextIndex.set(n.key, tx);
      }
      this.txs.set(tx.key, tx);
      if (r.type === 'prepared') tx.phase = 'prepared';
      else {
        // The decision is commit from now on: a query is answered with it, a cancel or a no vote ignored.
        tx.phase = 'committing';
        tx.final = r.final;
        tx.recommit = true;
      }
    }
  }

  /** After a restart: the origin's decision stands, commit again (the callbacks run at least once). */
  private async recommit(): Promise<void> {
    if (this.txs.size > 0) this.ensureRetry();
    for (const tx of [...this.txs.values()]) {
      if (!tx.recommit) continue;
      tx.recommit = false;
      await this.commit(tx, tx.final);
    }
  }
}

/** The Server that runs a saga. */
class SagaServer<S, T extends SagaTypes, A, P extends Protocol> implements ServerBehavior<P, SagaProcess<T>, A> {
  readonly behavior = 'saga';
  constructor(
    private readonly impl: SagaBehavior<S, T, A, P>,
    private readonly options: SagaOptions,
  ) {}

  async init(args: A, ctx: Process): Promise<InitResult<SagaProcess<T>>> {
    const saga = new SagaProcess<T>(this.impl as unknown as SagaBehavior<unknown, T, unknown, Protocol>, ctx, this.options);
    const r = await this.impl.init(args, saga);
    if (r.type !== 'ok') return r;
    saga.state = r.state;
    if (saga.journal !== undefined) {
      await saga.load();
      saga.toSelf(A_RECOVER, undefined, undefined);
    }
    return ok(saga, r.next);
  }

  private lift(saga: SagaProcess<T>, r: NoReplyResult<S>): NoReplyResult<SagaProcess<T>> {
    const pending = saga.takeStop();
    if (r.type === 'stop') {
      if (r.state !== undefined) saga.state = r.state;
      return stop(r.reason, saga);
    }
    saga.state = r.state;
    if (pending !== undefined) return stop(pending.reason, saga);
    return r.next === undefined ? noreply(saga) : noreply(saga, r.next);
  }

  private afterSaga(saga: SagaProcess<T>): NoReplyResult<SagaProcess<T>> {
    const s = saga.takeStop();
    return s === undefined ? noreply(saga) : stop(s.reason, saga);
  }

  handleInfo(message: unknown, saga: SagaProcess<T>): MaybePromise<NoReplyResult<SagaProcess<T>>> {
    const r = saga.handle(message);
    if (r === undefined) return this.afterSaga(saga);
    if (r !== false) return r.then(() => this.afterSaga(saga));
    const h = this.impl.handleInfo;
    if (h === undefined) {
      saga.process.node.log('warning', `saga ${saga.process.self.describe()} received an unexpected message: ${formatReason(message)}`);
      return noreply(saga);
    }
    const u = h.call(this.impl, message, saga.state as S, saga);
    return isThenable(u) ? u.then((x) => this.lift(saga, x)) : this.lift(saga, u);
  }

  handleCast(message: CastOf<P>, saga: SagaProcess<T>): MaybePromise<NoReplyResult<SagaProcess<T>>> {
    const h = this.impl.handleCast;
    if (h === undefined) throw new TypeError(`saga ${String(saga.process.self)} has no handleCast for ${formatReason(message)}`);
    const u = h.call(this.impl, message, saga.state as S, saga);
    return isThenable(u) ? u.then((x) => this.lift(saga, x)) : this.lift(saga, u);
  }

  handleCall(request: CallRequest<P>, from: CallFrom<P>, saga: SagaProcess<T>): MaybePromise<CallResult<SagaProcess<T>>> {
    const h = this.impl.handleCall;
    if (h === undefined) throw new TypeError(`saga ${String(saga.process.self)} has no handleCall for ${formatReason(request)}`);
    const u = h.call(this.impl, request, from, saga.state as S, saga);
    return isThenable(u) ? u.then((x) => this.liftCall(saga, x)) : this.liftCall(saga, u);
  }

  private liftCall(saga: SagaProcess<T>, r: CallResult<S>): CallResult<SagaProcess<T>> {
    if (r.type === 'reply') {
      saga.state = r.state;
      const pending = saga.takeStop();
      if (pending !== undefined) return forwardStopAndReply(pending.reason, r.reply, saga);
      return forwardReply(r.reply, saga, r.next);
    }
    if (r.type === 'stop') {
      if (r.state !== undefined) saga.state = r.state;
      return 'reply' in r ? forwardStopAndReply(r.reason, r.reply, saga) : stop(r.reason, saga);
    }
    return this.lift(saga, r);
  }

  /** A `continue` from `init` (sagas have no handleContinue of their own) goes to `handleInfo`. */
  handleContinue(arg: unknown, saga: SagaProcess<T>): MaybePromise<NoReplyResult<SagaProcess<T>>> {
    return this.handleInfo(arg, saga);
  }

  async terminate(reason: ExitReason, saga: SagaProcess<T>): Promise<void> {
    await this.impl.terminate?.(reason, saga.state as S, saga);
  }
}

/**
 * Starts a saga and waits for its `init`. Options are the Server's (`name`
 * matters: a saga that takes part in durable two-phase commits must be
 * registered, so that its peers find it again after a restart) and the
 * saga's: `maxTransactions`, `journal` (a {@link SagaJournal} or a file
 * path for a {@link FileJournal}), `retryInterval`, `prepareTimeout`,
 * `trace`. With a journal, transactions left open by a crash are resolved
 * after `init`.
 *
 * @example
 * ```ts
 * await startSaga(node, bank, undefined, { name: 'bank', journal: '/var/lib/app/bank.journal' });
 * ```
 */
export async function startSaga<S, T extends SagaTypes, A, P extends Protocol = Protocol>(
  starter: Node | Process,
  behavior: SagaBehavior<S, T, A, P>,
  args: A,
  options: StartSagaOptions = {},
): Promise<StartedServer<P>> {
  const { maxTransactions, journal: journalOption, retryInterval, prepareTimeout, trace, ...serverOptions } = options;
  const opened = typeof journalOption === 'string' ? await FileJournal.open(journalOption) : undefined;
  const journal = opened ?? (journalOption as SagaJournal | undefined);
  const sagaOptions: SagaOptions = {
    ...(maxTransactions === undefined ? {} : { maxTransactions }),
    ...(journal === undefined ? {} : { journal }),
    ...(retryInterval === undefined ? {} : { retryInterval }),
    ...(prepareTimeout === undefined ? {} : { prepareTimeout }),
    ...(trace === undefined ? {} : { trace }),
  };
  try {
    const started = await startServer<P, SagaProcess<T>, A>(starter, new SagaServer<S, T, A, P>(behavior, sagaOptions), args, serverOptions);
    if (opened !== undefined) {
      const node = 'self' in starter ? starter.node : starter;
      void node.waitExit(started.pid).then(() => opened.close());
    }
    return started;
  } catch (err) {
    await opened?.close();
    throw err;
  }
}
