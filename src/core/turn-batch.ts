/**
 * Turn batch: items gathered during one event-loop turn and handled together
 * once the turn's I/O callbacks have run (one `setImmediate`, the loop's
 * check phase, per turn with items; never a timer). The Web and TCP
 * behaviors write the answers of a turn this way.
 * @module
 */

/** In direct mode, one item in this many is held to its turn's end again, to see whether the turn has company. */
const SAMPLE_EVERY = 16;

/**
 * Items added during a turn, handed to `handle` in the order they came at
 * the turn's end, or as soon as `maxHeld` of them are held. An item added
 * while held items are being handled waits for the turn's end (the next
 * turn's, when the turn's end is handling them).
 *
 * Holding pays when turns have company (several answers per turn: one
 * `setImmediate` for all); a turn with a single item pays an immediate for
 * nothing and the latency of the rest of the turn. So the batch adapts:
 * after a turn that held one item, items are handled at once when added
 * (direct mode), and one in {@link SAMPLE_EVERY} is held again to its
 * turn's end; a held turn with two items or more goes back to holding.
 *
 * @example
 * ```ts
 * const writes = new TurnBatch<() => void>((write) => write());
 * writes.add(() => socket.write(reply)); // leaves with the other replies of this turn
 * ```
 */
export class TurnBatch<T> {
  /** The held items are `items[0..count)`; slots past `count` are empty (kept: no array per turn). */
  private readonly items: (T | undefined)[] = [];
  private count = 0;
  private armed = false;
  /** Set while held items are handled (items added meanwhile wait for the turn's end). */
  private handling = false;
  /** Direct mode: the last held turn had a single item. */
  private direct = false;
  /** Items handled at once since the last held one. */
  private sinceHeld = 0;
  /** Items of this turn handled before its end because the batch was full. */
  private early = 0;
  private readonly flush = (): void => {
    this.armed = false;
    const n = this.handleHeld() + this.early;
    this.early = 0;
    this.direct = n === 1;
  };

  constructor(
    /** Handles one item, at the end of its turn or at once (must not throw: the batch's other items would be lost). */
    private readonly handle: (item: T) => void,
    /**
     * Most items held at once: when a turn's held items reach it, they are handled there and then
     * (in order), and holding starts again for the rest of the turn. Default: no limit. A limit
     * bounds how long the first item of a busy turn waits for the others.
     */
    private readonly maxHeld = Infinity,
  ) {
    if (!(maxHeld >= 1)) throw new RangeError(`TurnBatch: maxHeld must be at least 1, got ${maxHeld}`);
  }

  /**
   * Handles the items held now, in order; items added meanwhile move to the front, for later (and
   * so do the ones not reached, should `handle` throw). Returns how many were held.
   */
  private handleHeld(): number {
    const items = this.items;
    const n = this.count;
    let i = 0;
    this.handling = true;
    try {
      while (i < n) {
        const item = items[i] as T;
        items[i++] = undefined;
        this.handle(item);
      }
    } finally {
      this.handling = false;
      const total = this.count;
      for (let j = i; j < total; j++) {
        items[j - i] = items[j];
        items[j] = undefined;
      }
      this.count = total - i;
    }
    return n;
  }

  /** True while items are handled at once when added (see the class's description). */
  get handlesAtOnce(): boolean {
    return this.direct;
  }

  /** Adds `item` to this turn's batch, or handles it now in direct mode. */
  add(item: T): void {
    if (this.direct && !this.armed && ++this.sinceHeld < SAMPLE_EVERY) {
      this.handle(item);
      return;
    }
    this.sinceHeld = 0;
    this.items[this.count++] = item;
    if (!this.armed) {
      this.armed = true;
      setImmediate(this.flush);
    }
    // A full batch goes now; the turn's end handles what is added after it.
    if (this.count >= this.maxHeld && !this.handling) this.early += this.handleHeld();
  }
}
