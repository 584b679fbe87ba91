/**
 * The storage interface the Raft driver persists through, and the batch it
 * writes after each step. Implementations: {@link MemoryStore} (simulator,
 * tests) and {@link FileStore} (the durable default).
 * @module
 */
import type { Entry, HardState, PersistedState, Ready, Snapshot } from '../core/types.js';

/** One write burst: everything a Ready asks to persist, applied atomically in this order. */
export interface PersistBatch<C, S> {
  readonly hardState: HardState | null;
  /** A snapshot to keep. With `replacesLog` the whole log is dropped first (a snapshot from the leader). */
  readonly snapshot: Snapshot<S> | null;
  readonly replacesLog: boolean;
  /** Entries that overwrite the log from `entries[0].index`, dropping anything after. */
  readonly entries: readonly Entry<C>[];
}

/** How the caller waits for a {@link RaftStore.save}. */
export interface SaveOptions {
  /**
   * The caller does nothing else until this write is durable (a follower
   * about to acknowledge): a store may then sync on the calling thread,
   * sparing the round trip through a worker thread, at the cost of blocking
   * the event loop for the sync. Default false.
   */
  readonly awaited?: boolean;
}

/** Durable state of one Raft peer. */
export interface RaftStore<C, S> {
  /** The state saved so far, or null for a fresh store. */
  load(): Promise<PersistedState<C, S> | null>;
  /** Persists a batch; resolves once it is durable. Batches are applied, and their promises settle, in call order. */
  save(batch: PersistBatch<C, S>, options?: SaveOptions): Promise<void>;
  close(): Promise<void>;
}

/** The part of a Ready that must be persisted, or null when nothing must. */
export function persistBatch<C, S>(ready: Ready<C, S>): PersistBatch<C, S> | null {
  if (ready.hardState === null && ready.snapshot === null && ready.entries.length === 0) return null;
  return { hardState: ready.hardState, snapshot: ready.snapshot, replacesLog: ready.restore !== null && ready.restore === ready.snapshot, entries: ready.entries };
}

/** What a completed write of `batch` tells the core (`RaftCore.persisted`): the log up to this entry is on disk; null when the batch holds no log. */
export function persistedMark<C, S>(batch: PersistBatch<C, S>): { readonly index: number; readonly term: number } | null {
  const last = batch.entries[batch.entries.length - 1];
  if (last !== undefined) return { index: last.index, term: last.term };
  return batch.snapshot === null ? null : { index: batch.snapshot.index, term: batch.snapshot.term };
}

/** Applies a batch to an in-memory image (used by the memory store and by file-store recovery). */
export function applyBatch<C, S>(image: { hardState: HardState; snapshot: Snapshot<S> | null; entries: Entry<C>[] }, batch: PersistBatch<C, S>): void {
  if (batch.hardState !== null) image.hardState = batch.hardState;
  if (batch.snapshot !== null) {
    const s = batch.snapshot;
    if (batch.replacesLog) image.entries = [];
    else image.entries = image.entries.filter((e) => e.index > s.index);
    image.snapshot = s;
  }
  const first = batch.entries[0];
  if (first !== undefined) {
    const base = image.snapshot?.index ?? 0;
    const keep = Math.max(0, first.index - base - 1);
    if (keep > image.entries.length) throw new Error(`persisted log has a gap before ${first.index}`);
    image.entries.length = keep;
    for (const e of batch.entries) if (e.index > base) image.entries.push(e);
  }
}
