/**
 * Request deadlines of one gateway: every request gets the same timeout, so
 * their deadlines come in the order the requests do. One FIFO queue holds
 * them and one timer, armed for the earliest deadline still pending, serves
 * them all: no timer is created or cleared per request. A request answered
 * in time is only marked done; the queue drops it when it reaches the head.
 * @module
 */
import { Queue } from '../core/queue.js';

/** What {@link DeadlineQueue} needs of a request. */
export interface Expiring {
  /** True once answered (or otherwise finished): its deadline no longer matters. */
  readonly done: boolean;
  /** Called once when the deadline passes and the request is not done. */
  expire(): void;
}

interface Entry<T> {
  readonly item: T;
  readonly at: number;
}

/**
 * A FIFO of same-timeout deadlines with one timer.
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineQueue<RequestExchange>(5000);
 * deadlines.add(exchange);   // exchange.expire() runs in 5 s unless exchange.done by then
 * deadlines.clear();         // on shutdown
 * ```
 */
export class DeadlineQueue<T extends Expiring> {
  private readonly queue = new Queue<Entry<T>>(64);
  private timer: NodeJS.Timeout | undefined;
  private readonly onTimer = (): void => this.fire();

  constructor(
    /** The timeout of every request, in ms (finite, >= 0). */
    readonly timeoutMs: number,
  ) {
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`bad timeout ${timeoutMs}`);
  }

  /** Requests whose deadline is still queued (answered ones included until they reach the head). */
  get size(): number {
    return this.queue.length;
  }

  /** Starts `item`'s deadline: `item.expire()` runs `timeoutMs` from now unless it is done by then. */
  add(item: T): void {
    const q = this.queue;
    // Answered requests at the head go now, so the queue stays as long as the requests in flight.
    while (q.length > 0 && (q.peek() as Entry<T>).item.done) q.shift();
    q.push({ item, at: performance.now() + this.timeoutMs });
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  /** Forgets every deadline and stops the timer. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(ms)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const q = this.queue;
    const now = performance.now();
    for (let e = q.peek(); e !== undefined; e = q.peek()) {
      if (e.item.done) q.shift();
      else if (e.at <= now) {
        q.shift();
        e.item.expire();
      } else break;
    }
    const head = q.peek();
    if (head !== undefined && this.timer === undefined) this.arm(head.at - now);
  }
}
