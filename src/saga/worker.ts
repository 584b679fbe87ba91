/**
 * Worker: the process a saga starts for one job of a transaction
 * (`saga.startJob(tx, {value, timeout})`). It runs `handleJobStart`, sends
 * interim results and one result to its saga, and then: without two-phase
 * commit it exits; with it, it waits to vote (`handleJobPrepare`) and for
 * the outcome (`handleJobCommit` or `handleJobCancel`). A cancel runs
 * `handleJobCancel` and ends it. A worker that exits without a result fails
 * its job (`no_result`); it exits with its saga.
 *
 * @example
 * ```ts
 * const debit: WorkerBehavior<Bank, undefined> = {
 *   handleJobStart(job, w) {
 *     w.sendResult(atom('ok'));
 *     return noreply(undefined);
 *   },
 * };
 * ```
 * @module
 */
import { atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { formatReason, type Process, type ProcessHandler } from '../core/index.js';
import type { NoReplyResult } from '../server/index.js';
import { A_JOB_CANCEL, A_JOB_COMMIT, A_JOB_INTERIM, A_JOB_PREPARE, A_JOB_RESULT, A_JOB_VOTE, A_NO, A_YES } from './protocol.js';
import { type JobId, SagaError, SagaReason, type SagaType, type SagaTypes, type TxId, type VoteResult } from './types.js';

type MaybePromise<T> = T | Promise<T>;

/** A job as its worker sees it. */
export interface Job<T extends SagaTypes> {
  readonly id: JobId;
  readonly tx: TxId;
  readonly value: SagaType<T, 'jobValue'>;
  readonly twoPhaseCommit: boolean;
}

/**
 * The callbacks of a worker of a saga of types `T`, with state `S`. Only
 * `handleJobStart` is required.
 */
export interface WorkerBehavior<T extends SagaTypes, S = undefined> {
  /** Starts the job: send its result (now or from a later message) with `worker.sendResult`. */
  handleJobStart(job: Job<T>, worker: WorkerProcess<T>): MaybePromise<NoReplyResult<S>>;
  /** The transaction (or this job) was cancelled: undo. The worker exits afterwards. */
  handleJobCancel?(reason: unknown, state: S, worker: WorkerProcess<T>): MaybePromise<void>;
  /** Two-phase commit: vote. Default yes (once the result is sent). */
  handleJobPrepare?(state: S, worker: WorkerProcess<T>): MaybePromise<VoteResult<S>>;
  /** Two-phase commit: the transaction committed with the origin's `final` value. The worker exits afterwards. */
  handleJobCommit?(final: unknown, state: S, worker: WorkerProcess<T>): MaybePromise<void>;
  /** Any other message. */
  handleInfo?(message: unknown, state: S, worker: WorkerProcess<T>): MaybePromise<NoReplyResult<S>>;
}

/** What a worker's callbacks act through. */
export interface WorkerProcess<T extends SagaTypes> {
  readonly job: Job<T>;
  readonly process: Process;
  /** Sends the job's result to the saga (once). */
  sendResult(result: SagaType<T, 'jobResult'>): void;
  /** Sends an interim result to the saga. */
  sendInterim(interim: SagaType<T, 'jobInterim'>): void;
}

const A_DOWN = atom('DOWN');

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The process of one job. */
export class WorkerProcessHandler<T extends SagaTypes, S> implements ProcessHandler, WorkerProcess<T> {
  readonly behavior = 'saga_worker';
  process!: Process;
  private state!: S;
  private resultSent = false;
  private sagaMonitor: Ref | undefined;

  constructor(
    private readonly impl: WorkerBehavior<T, S>,
    private readonly saga: Pid,
    readonly job: Job<T>,
  ) {}

  sendResult(result: SagaType<T, 'jobResult'>): void {
    if (this.resultSent) throw new SagaError('result_already_sent', `job ${String(this.job.id)}: result already sent`);
    this.resultSent = true;
    this.process.send(this.saga, tuple(A_JOB_RESULT, this.job.id, result));
  }

  sendInterim(interim: SagaType<T, 'jobInterim'>): void {
    this.process.send(this.saga, tuple(A_JOB_INTERIM, this.job.id, interim));
  }

  init(proc: Process): void | Promise<void> {
    this.process = proc;
    this.sagaMonitor = proc.monitor(this.saga);
    return this.then(this.impl.handleJobStart(this.job, this), (r) => this.apply(r));
  }

  handleMessage(message: unknown, proc: Process): void | Promise<void> {
    if (message instanceof Tuple && message.elements.length >= 3 && message.elements[1] === this.job.id) {
      const [tag, , arg] = message.elements;
      if (tag === A_JOB_CANCEL) return this.finish(this.impl.handleJobCancel?.(arg, this.state, this));
      if (tag === A_JOB_COMMIT) return this.finish(this.impl.handleJobCommit?.(arg, this.state, this));
      if (tag === A_JOB_PREPARE) return this.prepare();
    }
    if (message instanceof Tuple && message.elements[0] === A_DOWN && message.elements[1] === this.sagaMonitor) {
      // Signals arrive in send order: the saga's last words were handled before its DOWN.
      proc.stop(message.elements[4]);
      return;
    }
    const h = this.impl.handleInfo;
    if (h === undefined) {
      proc.node.log('warning', `saga worker ${proc.self.describe()} received an unexpected message: ${formatReason(message)}`);
      return;
    }
    return this.then(h.call(this.impl, message, this.state, this), (r) => this.apply(r));
  }

  private prepare(): void | Promise<void> {
    if (!this.resultSent) return this.vote(false, SagaReason.notReady);
    const h = this.impl.handleJobPrepare;
    if (h === undefined) return this.vote(true, undefined);
    return this.then(h.call(this.impl, this.state, this), (v) => {
      this.state = v.state;
      this.vote(v.yes, v.reason);
    });
  }

  private vote(yes: boolean, reason: unknown): void {
    this.process.send(this.saga, tuple(A_JOB_VOTE, this.job.id, yes ? A_YES : tuple(A_NO, reason)));
  }

  private finish(r: MaybePromise<void> | undefined): void | Promise<void> {
    if (r !== undefined && isThenable(r)) return r.then(() => this.process.stop());
    this.process.stop();
  }

  private apply(r: NoReplyResult<S>): void {
    if (r.type === 'stop') {
      if (r.state !== undefined) this.state = r.state;
      this.process.stop(r.reason);
      return;
    }
    this.state = r.state;
    // Without two-phase commit the job is over once its result is out.
    if (this.resultSent && !this.job.twoPhaseCommit) this.process.stop();
  }

  private then<R>(r: MaybePromise<R>, f: (v: R) => void): void | Promise<void> {
    if (isThenable(r)) return r.then(f);
    f(r);
  }
}
