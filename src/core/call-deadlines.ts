/**
 * Call deadlines: the timeouts of the calls in flight, one node timer for
 * all of them. A call's deadline is the scheduler's turn clock plus its
 * timeout (no clock read per call); calls with the same timeout come in
 * deadline order, so each timeout value has an append-only FIFO queue, and
 * the timer is armed for the earliest head. Finished calls stay in their
 * queue until they reach its head (no removal per call).
 * @module
 */
import { Queue } from './queue.js';

/** The clock deadlines are counted from (the scheduler's turn clock), and whether it signals the turn's end. */
export interface TurnClock {
  now(): number;
  /** True when {@link CallDeadlines.turnEnd} will be called as the event loop turns. */
  readonly turnEndPending: boolean;
}

/** What the deadline structure knows of a call. */
export interface TimedCall {
  /** The turn clock's time plus the timeout (set when added), or Infinity. */
  deadline: number;
  readonly done: boolean;
  /** The deadline passed: the call fails with a timeout. */
  timedOut(timeout: number): void;
}

/**
 * Call deadlines. Calls with the same timeout have increasing deadlines, so
 * one FIFO queue per timeout value holds them in order and one node timer,
 * armed for the earliest head, serves them all: no timer per call. A
 * deadline is the turn clock (see `Scheduler.now`) plus the timeout: no
 * clock read per call. Adding a call whose deadline is later than the
 * armed one (every call but the first of a burst) is an append to its
 * queue; a call that finishes leaves its entry behind, dropped when it
 * reaches the head (on the next add or when the timer fires).
 *
 * @example
 * ```ts
 * const deadlines = new CallDeadlines(scheduler);
 * deadlines.add(call, 5000); // call.timedOut(5000) runs once its deadline passes, unless call.done by then
 * deadlines.done();          // when a call added here finishes
 * scheduler.onTurnEnd = () => deadlines.turnEnd();
 * ```
 */
export class CallDeadlines {
  private readonly queues = new Map<number, Queue<TimedCall>>();
  /** The queue of the last timeout added (calls mostly use one timeout): no map lookup per call. */
  private lastTimeout = Number.NaN;
  private lastQueue: Queue<TimedCall> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  /** Calls added and not yet finished: while there are any, the timer keeps the event loop alive. */
  private active = 0;
  private refed = false;
  /** Set when the last call finished with the timer ref'd: {@link CallDeadlines.turnEnd} unrefs it. */
  private unrefPending = false;
  private readonly onTimer = (): void => this.fire();

  /** `clock`: the turn clock deadlines are counted from; `now`: the exact clock the timer checks deadlines against. */
  constructor(
    private readonly clock: TurnClock,
    private readonly now: () => number = Date.now,
  ) {}

  add(w: TimedCall, timeout: number): void {
    const deadline = this.clock.now() + timeout;
    w.deadline = deadline;
    let q = this.lastQueue;
    if (timeout !== this.lastTimeout || q === undefined) {
      q = this.queues.get(timeout);
      if (q === undefined) this.queues.set(timeout, (q = new Queue<TimedCall>(16)));
      this.lastTimeout = timeout;
      this.lastQueue = q;
    }
    // Completed calls at the head are dropped here, so the queue stays as short as the calls in flight.
    while (q.length > 0 && (q.peek() as TimedCall).done) q.shift();
    q.push(w);
    if (this.active++ === 0 && !this.refed) {
      this.refed = true;
      this.timer?.ref();
    }
    if (deadline < this.armedAt) this.arm(deadline);
  }

  /**
   * A timed call finished. With none left, the timer stays armed but stops keeping the process
   * alive: at once, or, when the turn clock signals the turn's end, then ({@link CallDeadlines.turnEnd}),
   * so that calls made one after another in a turn do not ref and unref Node's timer around each one.
   */
  done(): void {
    if (--this.active === 0 && this.refed) {
      if (this.clock.turnEndPending) this.unrefPending = true;
      else {
        this.refed = false;
        this.timer?.unref();
      }
    }
  }

  /** The event loop turned (the scheduler's turn marker ran): with no call left, the timer no longer keeps the process alive. */
  turnEnd(): void {
    if (!this.unrefPending) return;
    this.unrefPending = false;
    if (this.active === 0 && this.refed) {
      this.refed = false;
      this.timer?.unref();
    }
  }

  /** Calls waiting, across every timeout (finished ones not counted). */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) for (const w of q.toArray()) if (!w.done) n++;
    return n;
  }

  /** Whether the timer is armed and keeps the event loop alive. */
  get timerState(): 'none' | 'unref' | 'ref' {
    return this.timer === undefined ? 'none' : this.refed ? 'ref' : 'unref';
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.refed = false;
    this.unrefPending = false;
    this.armedAt = Infinity;
    this.queues.clear();
    this.lastQueue = undefined;
    this.lastTimeout = Number.NaN;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - this.now()));
    this.refed = this.active > 0;
    if (!this.refed) this.timer.unref();
  }

  /**
   * The timer fired: calls past their deadline fail in deadline order, across
   * every timeout's queue (a timer that fires late, on a busy loop, can find
   * calls of several timeouts due at once), then the timer is armed for the
   * earliest deadline left.
   */
  private fire(): void {
    this.timer = undefined;
    this.refed = false;
    this.armedAt = Infinity;
    const now = this.now();
    for (;;) {
      let earliest: Queue<TimedCall> | undefined;
      let earliestTimeout = 0;
      let deadline = Infinity;
      for (const [timeout, q] of this.queues) {
        while (q.length > 0 && (q.peek() as TimedCall).done) q.shift();
        const head = q.peek();
        if (head === undefined) {
          this.queues.delete(timeout);
          if (q === this.lastQueue) {
            this.lastQueue = undefined;
            this.lastTimeout = Number.NaN;
          }
        } else if (head.deadline < deadline) {
          earliest = q;
          earliestTimeout = timeout;
          deadline = head.deadline;
        }
      }
      if (earliest === undefined) return;
      if (deadline > now) return this.arm(deadline);
      (earliest.shift() as TimedCall).timedOut(earliestTimeout);
    }
  }
}
