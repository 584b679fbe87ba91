/**
 * The Saga behavior: distributed transactions with interim results,
 * lifespans, cancellation and a real two-phase commit. See {@link startSaga},
 * {@link SagaBehavior}, {@link WorkerBehavior} and docs/saga-protocol.md.
 * @module
 */
export { startSaga, SagaProcess, type SagaBehavior, type StartSagaOptions } from './saga.js';
export type { Job, WorkerBehavior, WorkerProcess } from './worker.js';
export {
  type JobId,
  type JobOptions,
  type NextId,
  type NextOptions as SagaNextOptions,
  SagaError,
  type SagaErrorCode,
  type SagaOptions,
  SagaReason,
  type SagaTracePoint,
  type SagaType,
  type SagaTypes,
  type TxId,
  type TxOptions,
  type VoteResult,
  voteNo,
  voteYes,
} from './types.js';
export { type JournalChild, type JournalRecord, MemoryJournal, type SagaJournal } from './journal.js';
export { FileJournal, type FileJournalOptions, type ReplayReport } from './file-journal.js';
