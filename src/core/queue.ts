/**
 * Queue: a growable ring buffer, the storage of mailboxes and the scheduler's
 * run queue. Push and shift are O(1) and allocate only when the ring grows.
 * @module
 */

/** Shared by every empty queue; never written (push grows first). */
const EMPTY: never[] = [];

/** FIFO queue on a power-of-two ring buffer. */
export class Queue<T> {
  private ring: (T | undefined)[];
  private head = 0;
  private count = 0;
  private mask: number;

  /** With capacity 0, the ring is allocated on the first push. */
  constructor(initialCapacity = 8) {
    let cap = initialCapacity <= 0 ? 0 : 4;
    while (cap < initialCapacity) cap <<= 1;
    this.ring = cap === 0 ? EMPTY : new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.count;
  }

  push(value: T): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & this.mask] = value;
    this.count++;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const value = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return value;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.ring[this.head];
  }

  /** Removes every item for which `drop` returns true, keeping order. Returns how many were removed. */
  removeWhere(drop: (value: T) => boolean): number {
    const kept: T[] = [];
    let removed = 0;
    while (this.count > 0) {
      const v = this.shift() as T;
      if (drop(v)) removed++;
      else kept.push(v);
    }
    for (const v of kept) this.push(v);
    return removed;
  }

  /** Slots allocated for items (a power of two, or 0). */
  get capacity(): number {
    return this.ring.length;
  }

  /** Shrinks the ring to the smallest power of two that holds the items (none: no ring at all). */
  compact(): void {
    let cap = this.count === 0 ? 0 : 4;
    while (cap < this.count) cap <<= 1;
    if (cap >= this.ring.length) return;
    const old = this.ring;
    const next = cap === 0 ? EMPTY : new Array<T | undefined>(cap);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.ring = next;
    this.head = 0;
    this.mask = cap - 1;
  }

  clear(): void {
    this.ring = EMPTY;
    this.mask = -1;
    this.head = 0;
    this.count = 0;
  }

  /** Items from oldest to newest (a copy). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.ring[(this.head + i) & this.mask] as T);
    return out;
  }

  private grow(): void {
    const old = this.ring;
    const cap = old.length === 0 ? 4 : old.length * 2;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.ring = next;
    this.head = 0;
    this.mask = cap - 1;
  }
}
