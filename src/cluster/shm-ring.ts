/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer: one
 * direction of an in-host connection between two threads. The writer copies
 * bytes in once and publishes them by moving `head`; the reader copies them
 * out once and frees the room by moving `tail`. Both counters are 32-bit
 * byte counts that wrap (positions are taken modulo the capacity, a power of
 * two). A side that waits parks on its counter with `Atomics.waitAsync`,
 * after raising its parked flag; the other side notifies only when that flag
 * is up, so a busy ring costs no system call.
 *
 * The control words: `head` and the reader's parked flag share one cache
 * line, `tail` and the writer's parked flag another; `closed` is set by
 * either end (or by the thread that hosts both, when one of them dies) and
 * ends the stream once the bytes already written are read.
 * @module
 */

/** Int32 indices of the control words (each group in its own 64-byte line). */
const HEAD = 0;
const READER_PARKED = 1;
const CLOSED = 2;
const TAIL = 16;
const WRITER_PARKED = 17;
const CONTROL_BYTES = 128;

/** `Atomics.waitAsync` (Node 16+; not in this project's TypeScript lib). */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Smallest and largest ring capacities, in bytes. */
export const MIN_RING_BYTES = 64;
export const MAX_RING_BYTES = 1 << 30;

/** One direction of an in-host connection; each end builds its own `ByteRing` over the same buffer. */
export class ByteRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;
  /** The writer's copy of `head` and the reader's of `tail` (each end uses one). */
  private head: number;
  private tail: number;
  /** Bytes written since the last {@link commit}. */
  private uncommitted = 0;
  /** The outstanding waitAsync of this end, if any (at most one). */
  private waiting: Promise<string> | undefined;

  /** A new ring of `capacity` bytes (a power of two). */
  static create(capacity: number): ByteRing {
    if (!Number.isInteger(capacity) || capacity < MIN_RING_BYTES || capacity > MAX_RING_BYTES || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`a ring's capacity is a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES} bytes, got ${capacity}`);
    }
    return new ByteRing(new SharedArrayBuffer(CONTROL_BYTES + capacity));
  }

  /** An end of the ring whose buffer is `sab` (made by {@link ByteRing.create}, possibly in another thread). */
  constructor(sab: SharedArrayBuffer) {
    const capacity = sab.byteLength - CONTROL_BYTES;
    if (capacity < MIN_RING_BYTES || (capacity & (capacity - 1)) !== 0) throw new RangeError(`not a ring buffer: ${sab.byteLength} bytes`);
    this.sab = sab;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.data = new Uint8Array(sab, CONTROL_BYTES, capacity);
    this.head = Atomics.load(this.ctl, HEAD);
    this.tail = Atomics.load(this.ctl, TAIL);
  }

  /** True once either end (or the host of a dead end) closed it. */
  get closed(): boolean {
    return Atomics.load(this.ctl, CLOSED) !== 0;
  }

  /** Closes the ring: the reader gets what was written, then the end of the stream; wakes both ends. */
  close(): void {
    Atomics.store(this.ctl, CLOSED, 1);
    Atomics.notify(this.ctl, CLOSED);
    Atomics.notify(this.ctl, HEAD);
    Atomics.notify(this.ctl, TAIL);
  }

  // ------------------------------------------------------------------ writer

  /** Room for bytes now (as seen by the writer). */
  room(): number {
    return this.capacity - ((this.head - Atomics.load(this.ctl, TAIL)) >>> 0);
  }

  /**
   * Copies as much of `src[from..]` as fits; returns the bytes copied. They
   * are visible to the reader only after {@link commit}.
   */
  write(src: Uint8Array, from = 0): number {
    const n = Math.min(src.length - from, this.room());
    if (n <= 0) return 0;
    const at = this.head & this.mask;
    const first = Math.min(n, this.capacity - at);
    this.data.set(first === src.length && from === 0 ? src : src.subarray(from, from + first), at);
    if (first < n) this.data.set(src.subarray(from + first, from + n), 0);
    this.head = (this.head + n) | 0;
    this.uncommitted += n;
    return n;
  }

  /** Publishes the bytes written so far; wakes the reader if it is parked. */
  commit(): void {
    if (this.uncommitted === 0) return;
    this.uncommitted = 0;
    Atomics.store(this.ctl, HEAD, this.head);
    if (Atomics.load(this.ctl, READER_PARKED) !== 0) {
      Atomics.store(this.ctl, READER_PARKED, 0);
      Atomics.notify(this.ctl, HEAD);
    }
  }

  /** True while the reader is parked: the next {@link commit} wakes it (a system call in the writer, a wake-up in the reader). */
  readerParked(): boolean {
    return Atomics.load(this.ctl, READER_PARKED) !== 0;
  }

  // ------------------------------------------------------------------ reader

  /** Bytes published and not yet read. */
  available(): number {
    return (Atomics.load(this.ctl, HEAD) - this.tail) >>> 0;
  }

  /** Copies out every byte available (at most `max`) into a new Buffer and frees their room; undefined when none. */
  read(max = this.capacity): Buffer | undefined {
    const n = Math.min(this.available(), max);
    if (n === 0) return undefined;
    const out = Buffer.allocUnsafe(n);
    const at = this.tail & this.mask;
    const first = Math.min(n, this.capacity - at);
    out.set(this.data.subarray(at, at + first), 0);
    if (first < n) out.set(this.data.subarray(0, n - first), first);
    this.tail = (this.tail + n) | 0;
    Atomics.store(this.ctl, TAIL, this.tail);
    if (Atomics.load(this.ctl, WRITER_PARKED) !== 0) {
      Atomics.store(this.ctl, WRITER_PARKED, 0);
      Atomics.notify(this.ctl, TAIL);
    }
    return out;
  }

  // ----------------------------------------------------------------- parking

  /** Calls `cb` once the ring is closed (at once if it is), whatever this end is doing meanwhile. */
  watchClose(cb: () => void): void {
    const r = waitAsync(this.ctl, CLOSED, 0);
    if (r.async) void (r.value as Promise<string>).then(cb);
    else queueMicrotask(cb);
  }

  /**
   * Parks the reader until bytes arrive or the ring closes: `wake` is called
   * then (once per park; not at all when it returns false, which it does
   * when there is something to read already).
   */
  parkReader(wake: () => void): boolean {
    return this.park(READER_PARKED, HEAD, (head) => head !== this.tail, wake);
  }

  /** Parks the writer until the reader frees room or the ring closes (see {@link parkReader}). */
  parkWriter(wake: () => void): boolean {
    return this.park(WRITER_PARKED, TAIL, (tail) => ((this.head - tail) >>> 0) < this.capacity, wake);
  }

  private park(flag: number, counter: number, ready: (value: number) => boolean, wake: () => void): boolean {
    // Raise the flag, then read the counter: the other end stores its counter, then reads the flag, so
    // one of the two sees the other's store (sequentially consistent atomics). The wait is on the value
    // read here: had the other end moved the counter since, the wait returns at once.
    Atomics.store(this.ctl, flag, 1);
    const value = Atomics.load(this.ctl, counter);
    if (ready(value) || this.closed) {
      Atomics.store(this.ctl, flag, 0);
      return false;
    }
    if (this.waiting === undefined) {
      const r = waitAsync(this.ctl, counter, value);
      if (!r.async) {
        Atomics.store(this.ctl, flag, 0);
        return false;
      }
      const p = r.value as Promise<string>;
      this.waiting = p;
      void p.then(() => {
        this.waiting = undefined;
        wake();
      });
    }
    return true;
  }

  /** Lowers this end's parked flag (it is polling again): the other end need not notify it. */
  unpark(reader: boolean): void {
    const flag = reader ? READER_PARKED : WRITER_PARKED;
    if (Atomics.load(this.ctl, flag) !== 0) Atomics.store(this.ctl, flag, 0);
  }
}
