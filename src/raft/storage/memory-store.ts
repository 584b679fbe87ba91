/**
 * An in-memory Raft store: what the simulator uses, with synchronous access
 * so a simulated crash can keep or lose it.
 * @module
 */
import type { Entry, HardState, PersistedState, Snapshot } from '../core/types.js';
import { applyBatch, type PersistBatch, type RaftStore } from './store.js';

/** Keeps a peer's state in memory; survives a simulated crash (the process restarting with the same store object). */
export class MemoryStore<C, S> implements RaftStore<C, S> {
  private image: { hardState: HardState; snapshot: Snapshot<S> | null; entries: Entry<C>[] } | null = null;

  loadSync(): PersistedState<C, S> | null {
    const i = this.image;
    return i === null ? null : { hardState: i.hardState, snapshot: i.snapshot, entries: [...i.entries] };
  }

  saveSync(batch: PersistBatch<C, S>): void {
    this.image ??= { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };
    applyBatch(this.image, batch);
  }

  load(): Promise<PersistedState<C, S> | null> {
    return Promise.resolve(this.loadSync());
  }

  save(batch: PersistBatch<C, S>): Promise<void> {
    this.saveSync(batch);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
