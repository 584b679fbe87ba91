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
 * the turn's end. An item added while the batch is being handled waits for
 * the next turn.
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
  /** Direct mode: the last held turn had a single item. */
  private direct = false;
  /** Items handled at once since the last held one. */
  private sinceHeld = 0;
  private readonly flush = (): void => {
    this.armed = false;
    const items = this.items;
    const n = this.count;
    for (let i = 0; i < n; i++) {
      const item = items[i] as T;
      items[i] = undefined;
      this.handle(item);
    }
    // Items added while these were handled (after index n) move to the front, for the next turn.
    const total = this.count;
    for (let i = n; i < total; i++) {
      items[i - n] = items[i];
      items[i] = undefined;
    }
    this.count = total - n;
    this.direct = n === 1;
  };

  constructor(
    /** Handles one item, at the end of its turn or at once (must not throw: the batch's other items would be lost). */
    private readonly handle: (item: T) => void,
  ) {}

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
  }
}
