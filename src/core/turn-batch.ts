/**
 * Turn batch: items gathered during one event-loop turn and handled together
 * once the turn's I/O callbacks have run (one `setImmediate`, the loop's
 * check phase, per turn with items; never a timer). The Web and TCP
 * behaviors write the answers of a turn this way.
 * @module
 */

/**
 * Items added during a turn, handed to `handle` in the order they came at
 * the turn's end. An item added while the batch is being handled waits for
 * the next turn.
 *
 * @example
 * ```ts
 * const writes = new TurnBatch<() => void>((write) => write());
 * writes.add(() => socket.write(reply)); // leaves with the other replies of this turn
 * ```
 */
export class TurnBatch<T> {
  private readonly items: (T | undefined)[] = [];
  private armed = false;
  private readonly flush = (): void => {
    this.armed = false;
    const items = this.items;
    const n = items.length;
    for (let i = 0; i < n; i++) {
      const item = items[i] as T;
      items[i] = undefined;
      this.handle(item);
    }
    items.splice(0, n);
  };

  constructor(
    /** Handles one item at the end of its turn (must not throw: the batch's other items would be lost). */
    private readonly handle: (item: T) => void,
  ) {}

  /** Adds `item` to this turn's batch. */
  add(item: T): void {
    this.items.push(item);
    if (!this.armed) {
      this.armed = true;
      setImmediate(this.flush);
    }
  }
}
