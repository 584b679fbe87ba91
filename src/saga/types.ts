/**
 * The types of the Saga behavior: value and result types of a saga,
 * options, callback results, reasons and errors.
 * @module
 */
import { atom } from '../terms/atom.js';
import type { Ref } from '../terms/identifiers.js';
import { type Address, BeamlineError, type Protocol, type ServerRef } from '../core/index.js';
import type { SagaJournal } from './journal.js';

/**
 * What flows through a saga, each key optional (absent means `unknown`):
 * `value` arrives with a transaction (`handleTxNew`), `result` and
 * `interim` go up to the parent (at the origin `result` reaches
 * `handleTxDone` and is the final value of a two-phase commit);
 * `nextValue` / `nextResult` / `nextInterim` are what this saga sends to
 * and receives from its next sagas; `jobValue` / `jobResult` /
 * `jobInterim` the same for its workers.
 *
 * @example
 * ```ts
 * type Bank = { value: Transfer; result: Atom<'ok'>; nextValue: Transfer; nextResult: Atom<'ok'> };
 * ```
 */
export interface SagaTypes {
  readonly value?: unknown;
  readonly result?: unknown;
  readonly interim?: unknown;
  readonly nextValue?: unknown;
  readonly nextResult?: unknown;
  readonly nextInterim?: unknown;
  readonly jobValue?: unknown;
  readonly jobResult?: unknown;
  readonly jobInterim?: unknown;
}

/** The type of key `K` in `T`, `unknown` when `T` leaves it out. */
export type SagaType<T extends SagaTypes, K extends keyof SagaTypes> = T extends { readonly [P in K]: infer X } ? X : unknown;

/** A transaction id (a reference made by the origin). */
export type TxId = Ref;
/** The id of one hop: this saga's edge to a next saga. */
export type NextId = Ref;
/** The id of one job on a worker. */
export type JobId = Ref;

/** Options of {@link SagaProcess.startTransaction}. */
export interface TxOptions {
  /** How long the transaction may live, in ms, from the origin to every hop; default 60000; `Infinity` for no limit. */
  readonly lifespan?: number;
  /** Run a real two-phase commit once the origin has its result. Default false. */
  readonly twoPhaseCommit?: boolean;
  /** Most hops from the origin; default 65535. */
  readonly hopLimit?: number;
}

/** Options of {@link SagaProcess.next}. */
export interface NextOptions<V> {
  /** The next saga: a pid, a local name, `{name, node}`, or a ServerRef. */
  readonly saga: Address | ServerRef<Protocol>;
  readonly value: V;
  /** Ms to wait for its result; clipped to the transaction's remaining lifespan. */
  readonly timeout?: number;
  /** On its cancel, DOWN or timeout, call `handleNextCancel` instead of cancelling the transaction. */
  readonly trapCancel?: boolean;
}

/** Options of {@link SagaProcess.startJob}. */
export interface JobOptions<V> {
  readonly value: V;
  /** Ms the job may run; clipped to the transaction's remaining lifespan. */
  readonly timeout?: number;
}

/** Options of a saga (given to `startSaga`). */
export interface SagaOptions {
  /** Refuse new transactions (`exceed_tx_limit`) beyond this many at once; default 0 = no limit. */
  readonly maxTransactions?: number;
  /** Where two-phase-commit records go; without one a crash loses in-doubt transactions. */
  readonly journal?: SagaJournal;
  /** Ms between re-sends of a decision not yet acknowledged and questions of a prepared participant; default 1000. */
  readonly retryInterval?: number;
  /** Ms the origin waits for the votes (clipped to the remaining lifespan); default 5000. */
  readonly prepareTimeout?: number;
  /** Called synchronously at each point of the two-phase commit (like `sys:trace`): for logs, metrics and fault tests. */
  readonly trace?: (point: SagaTracePoint, tx: TxId) => void;
}

/**
 * The points of the two-phase commit a saga reports to `trace`:
 * `prepare` (about to ask its participants), `vote_received` (a yes from a
 * next saga), `decision_recorded` (origin: commit is durable, not yet sent),
 * `prepared` (participant: yes is durable, not yet sent), `voted` (yes
 * sent), `ack_received`, `ack` (participant: about to acknowledge).
 */
export type SagaTracePoint = 'prepare' | 'vote_received' | 'decision_recorded' | 'prepared' | 'voted' | 'ack_received' | 'ack';

/** A participant's answer to `prepare`: yes, or no with a reason (the transaction is then cancelled with it). */
export type VoteResult<S> = { readonly type: 'vote'; readonly yes: boolean; readonly reason?: unknown; readonly state: S };

/** Vote yes: this participant can commit. */
export function voteYes<S>(state: S): VoteResult<S> {
  return { type: 'vote', yes: true, state };
}
/** Vote no: the transaction is cancelled everywhere with `reason`. */
export function voteNo<S>(reason: unknown, state: S): VoteResult<S> {
  return { type: 'vote', yes: false, reason, state };
}

/** Reasons the saga itself gives, as atoms (user reasons are any term). */
export const SagaReason = {
  /** A transaction came back to a saga that already runs it. */
  loopDetected: atom('loop_detected'),
  /** The saga runs `maxTransactions` already. */
  exceedTxLimit: atom('exceed_tx_limit'),
  /** A next saga, a job or the vote did not answer in time. */
  timeout: atom('timeout'),
  /** The transaction's lifespan ran out. */
  lifespan: atom('lifespan'),
  /** A worker exited without sending a result. */
  noResult: atom('no_result'),
  /** Asked to prepare before its result was sent. */
  notReady: atom('not_ready'),
  /** Asked about a transaction it does not know. */
  unknownTx: atom('unknown_tx'),
  /** The answer to a prepared participant whose coordinator has no commit record (presumed abort). */
  aborted: atom('aborted'),
  /** A record could not be written to the journal. */
  journalError: atom('journal_error'),
} as const;

/** Why a saga operation was refused. */
export type SagaErrorCode = 'unknown_tx' | 'hop_limit' | 'lifespan' | 'no_worker' | 'result_already_sent' | 'not_allowed' | 'exceed_tx_limit' | 'unknown_job';

/** A saga operation was refused; `code` says why. */
export class SagaError extends BeamlineError {
  override name = 'SagaError';
  constructor(
    override readonly code: SagaErrorCode,
    message: string,
  ) {
    super(message);
  }
}
