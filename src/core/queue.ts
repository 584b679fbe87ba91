/**
 * Queue: a growable ring buffer, the storage of mailboxes and the scheduler's
 * run queue. Push and shift are O(1) and allocate only when the ring grows.
 * A mailbox also takes priority messages (EEP 76): {@link Queue.pushPriority}
 * puts one after the priority items still queued, ahead of every other item.
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
  /** How many items at the head were pushed with {@link Queue.pushPriority}. */
  private prio = 0;

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

  /**
   * Adds a priority item: after the priority items still queued (in the
   * order they were pushed), before every ordinary item. O(priority items
   * queued), not O(length).
   */
  pushPriority(value: T): void {
    if (this.count === this.ring.length) this.grow();
    // Step the head back one slot and slide the queued priority items into it.
    this.head = (this.head - 1) & this.mask;
    for (let i = 0; i < this.prio; i++) this.ring[(this.head + i) & this.mask] = this.ring[(this.head + i + 1) & this.mask];
    this.ring[(this.head + this.prio) & this.mask] = value;
    this.count++;
    this.prio++;
  }

  /** How many priority items are queued (at the head). */
  get priorityLength(): number {
    return this.prio;
  }

  /** Removes and returns the oldest item (priority items first), or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    if (this.prio > 0) this.prio--;
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
    const prioBefore = this.prio;
    let prioKept = 0;
    for (let i = 0; this.count > 0; i++) {
      const v = this.shift() as T;
      if (drop(v)) removed++;
      else {
        kept.push(v);
        if (i < prioBefore) prioKept++;
      }
    }
    for (const v of kept) this.push(v);
    this.prio = prioKept;
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
    this.prio = 0;
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
