/**
 * A producer's buffer (GenStage.Buffer): events waiting for demand, bounded
 * by a size with `keep: first | last`, and info messages (`syncInfo` /
 * `asyncInfo`) placed behind the events buffered before them. Events are
 * stored as the arrays they came in (no per-event copying); positions are
 * counted from the start so an info message knows after which event it is
 * due.
 * @module
 */
import type { BufferKeep } from './types.js';

interface Chunk<E> {
  readonly events: readonly E[];
  start: number;
}

interface PendingInfo {
  /** Due once this many events have left the buffer since it was created. */
  readonly at: number;
  readonly message: unknown;
}

/** What {@link StageBuffer.take} hands back. */
export interface Taken<E> {
  readonly events: readonly E[];
  /** Info messages due right after `events`. */
  readonly infos: readonly unknown[];
}

const NO_INFOS: readonly unknown[] = [];

/** A bounded FIFO of events with info markers. */
export class StageBuffer<E> {
  private readonly chunks: Chunk<E>[] = [];
  private chunkHead = 0;
  private count = 0;
  /** Events removed (taken or discarded) since creation. */
  private removed = 0;
  private readonly infos: PendingInfo[] = [];

  constructor(
    readonly size: number,
    readonly keep: BufferKeep,
  ) {}

  /** Events held (info messages not counted), as `estimateBufferedCount` reports. */
  get length(): number {
    return this.count;
  }

  /**
   * Stores events; returns how many were discarded and the info messages
   * that fell due because events before them were discarded.
   */
  store(events: readonly E[]): { discarded: number; infos: readonly unknown[] } {
    const n = events.length;
    if (n === 0) return { discarded: 0, infos: NO_INFOS };
    const room = this.size - this.count;
    if (n <= room) {
      this.push(events, 0);
      return { discarded: 0, infos: NO_INFOS };
    }
    if (this.keep === 'first') {
      if (room > 0) this.push(events, 0, room);
      return { discarded: n - Math.max(room, 0), infos: NO_INFOS };
    }
    // keep last: the newest `size` events survive.
    if (this.size === 0) return { discarded: n, infos: NO_INFOS };
    const fromNew = Math.min(n, this.size);
    const dropOld = this.count + fromNew - this.size;
    this.drop(dropOld);
    this.push(events, n - fromNew);
    // Events of `events` that never entered count as passing through the buffer too.
    const dropNew = n - fromNew;
    return { discarded: dropOld + dropNew, infos: this.due() };
  }

  /** Places `message` behind the buffered events; returns false (do not store) when the buffer is empty. */
  storeInfo(message: unknown): boolean {
    if (this.count === 0) return false;
    this.infos.push({ at: this.removed + this.count, message });
    return true;
  }

  /**
   * Takes up to `n` events, stopping at the first info message due: GenStage's
   * `take_count_or_until_permanent`. Returns undefined when nothing is taken.
   */
  take(n: number): Taken<E> | undefined {
    if (n <= 0 || this.count === 0) return undefined;
    let want = Math.min(n, this.count);
    const next = this.infos[0];
    if (next !== undefined) want = Math.min(want, next.at - this.removed);
    const out = this.shift(want);
    return { events: out, infos: this.due() };
  }

  private due(): readonly unknown[] {
    let k = 0;
    while (k < this.infos.length && (this.infos[k] as PendingInfo).at <= this.removed) k++;
    if (k === 0) return NO_INFOS;
    return this.infos.splice(0, k).map((i) => i.message);
  }

  private push(events: readonly E[], from: number, to = events.length): void {
    const slice = from === 0 && to === events.length ? events : events.slice(from, to);
    if (slice.length === 0) return;
    this.chunks.push({ events: slice, start: 0 });
    this.count += slice.length;
  }

  private drop(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.chunkHead] as Chunk<E>;
      const avail = c.events.length - c.start;
      if (avail <= left) {
        left -= avail;
        this.chunks[this.chunkHead++] = undefined as unknown as Chunk<E>;
      } else {
        c.start += left;
        left = 0;
      }
    }
    this.count -= n;
    this.removed += n;
    this.compact();
  }

  private shift(n: number): readonly E[] {
    const first = this.chunks[this.chunkHead] as Chunk<E>;
    let out: readonly E[];
    if (first.start === 0 && first.events.length === n) {
      out = first.events;
      this.chunks[this.chunkHead++] = undefined as unknown as Chunk<E>;
    } else if (first.events.length - first.start >= n) {
      out = first.events.slice(first.start, first.start + n);
      first.start += n;
      if (first.start === first.events.length) this.chunks[this.chunkHead++] = undefined as unknown as Chunk<E>;
    } else {
      const acc: E[] = [];
      let left = n;
      while (left > 0) {
        const c = this.chunks[this.chunkHead] as Chunk<E>;
        const avail = c.events.length - c.start;
        const k = Math.min(avail, left);
        for (let i = 0; i < k; i++) acc.push(c.events[c.start + i] as E);
        left -= k;
        c.start += k;
        if (c.start === c.events.length) this.chunks[this.chunkHead++] = undefined as unknown as Chunk<E>;
      }
      out = acc;
    }
    this.count -= n;
    this.removed += n;
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.chunkHead === this.chunks.length) {
      this.chunks.length = 0;
      this.chunkHead = 0;
    } else if (this.chunkHead > 1024 && this.chunkHead * 2 > this.chunks.length) {
      this.chunks.splice(0, this.chunkHead);
      this.chunkHead = 0;
    }
  }
}
