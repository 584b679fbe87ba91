/**
 * The Raft log as the core holds it in memory: the latest snapshot (the
 * compacted prefix) followed by the entries after it.
 * @module
 */
import type { ClusterConfig, Entry, Snapshot } from './types.js';

/** A snapshot-prefixed log; index `snapshotIndex + 1 + i` is `entries[i]`. */
export class RaftLog<C, S> {
  snapshot: Snapshot<S> | null;
  private entries: Entry<C>[];

  constructor(snapshot: Snapshot<S> | null, entries: readonly Entry<C>[]) {
    this.snapshot = snapshot;
    this.entries = [];
    const first = this.snapshotIndex + 1;
    for (const e of entries) if (e.index >= first) this.entries.push(e);
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i]!.index !== first + i) throw new Error(`log entries not contiguous at ${first + i}`);
    }
  }

  get snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  get snapshotTerm(): number {
    return this.snapshot?.term ?? 0;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  get lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshotTerm : last.term;
  }

  /** The term of the entry at `index`, or undefined when it was compacted away or does not exist yet. */
  term(index: number): number | undefined {
    const base = this.snapshotIndex;
    if (index === base) return this.snapshotTerm;
    if (index < base || index > this.lastIndex) return undefined;
    return this.entries[index - base - 1]!.term;
  }

  entry(index: number): Entry<C> | undefined {
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** Entries `from..to` inclusive, at most `max` of them (all must be in the log). */
  slice(from: number, to: number, max = Number.POSITIVE_INFINITY): Entry<C>[] {
    const base = this.snapshotIndex;
    if (from <= base) throw new Error(`slice from ${from} reaches into the snapshot at ${base}`);
    const end = Math.min(to, this.lastIndex, from + max - 1);
    return end < from ? [] : this.entries.slice(from - base - 1, end - base);
  }

  /** Appends at the end. */
  push(entry: Entry<C>): void {
    if (entry.index !== this.lastIndex + 1) throw new Error(`append at ${entry.index}, log ends at ${this.lastIndex}`);
    this.entries.push(entry);
  }

  /** Drops every entry from `index` on. */
  truncateFrom(index: number): void {
    const base = this.snapshotIndex;
    if (index <= base) throw new Error(`truncate at ${index} reaches into the snapshot at ${base}`);
    this.entries.length = Math.max(0, index - base - 1);
  }

  /** Replaces the prefix up to `snapshot.index` with the snapshot; later entries stay if they follow it. */
  installSnapshot(snapshot: Snapshot<S>): void {
    const keep = this.term(snapshot.index) === snapshot.term ? this.entries.slice(snapshot.index - this.snapshotIndex) : [];
    this.snapshot = snapshot;
    this.entries = keep;
  }

  /** The latest configuration in the log at or before `upTo`, else the snapshot's. */
  configAt(upTo: number): { config: ClusterConfig; index: number } | null {
    for (let i = Math.min(upTo, this.lastIndex); i > this.snapshotIndex; i--) {
      const e = this.entries[i - this.snapshotIndex - 1]!;
      if (e.kind === 'config') return { config: e.config, index: e.index };
    }
    return this.snapshot === null ? null : { config: this.snapshot.config, index: this.snapshot.index };
  }
}
