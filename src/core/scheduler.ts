/**
 * Scheduler: runs ready processes in turn, fairly, without starving the
 * event loop.
 *
 * A process that has messages is put on the run queue once. Each turn gives
 * it up to `budget` messages (its reductions); if it still has messages, it
 * goes to the back of the queue. A run keeps going while there are ready
 * processes, but never longer than `sliceMs`: then it yields to the event
 * loop with `setImmediate`, so I/O and timers run before the next slice.
 * Short bursts run from a microtask for low latency: a resolved promise's
 * `then`, which costs less than `queueMicrotask` (Node wraps each of those
 * in an AsyncResource and a bound function).
 * @module
 */
import { Queue } from './queue.js';

/** Settled once; `RESOLVED.then(fn)` queues `fn` as a microtask without the AsyncResource of `queueMicrotask`. */
export const RESOLVED: Promise<void> = Promise.resolve();

/** What the scheduler needs of a process. */
export interface Runnable {
  /** True while on the run queue. */
  queued: boolean;
  /** Handle up to `budget` messages; return true when more are ready now. */
  runSlice(budget: number): boolean;
}

export interface SchedulerOptions {
  /** Reductions (messages handled plus messages sent) a process gets per turn. Default 1000. */
  readonly budget?: number;
  /** Longest stretch of work before yielding to the event loop, in ms. Default 8. */
  readonly sliceMs?: number;
}

export class Scheduler {
  private readonly ready = new Queue<Runnable>(64);
  private readonly budget: number;
  private readonly sliceMs: number;
  private armed = false;
  /** When the current slice began (Date.now()), or NaN until the clock is first read in it. */
  private sliceStart = Number.NaN;
  /** The clock's last reading in the current slice (see {@link Scheduler.now}). */
  private lastRead = 0;
  /** Runs in the current slice. */
  private runs = 0;
  /** Set once the event loop has turned since the current slice began. */
  private turned = true;
  private marker: NodeJS.Immediate | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Runs when the event loop turns after a slice that read the clock (see {@link Scheduler.turnEndPending}). */
  onTurnEnd: (() => void) | undefined = undefined;
  private readonly onTurn = (): void => {
    this.marker = undefined;
    this.turned = true;
    this.onTurnEnd?.();
  };
  private readonly runNow = (): void => this.run(false);
  private readonly runAfterYield = (): void => {
    this.immediate = undefined;
    this.run(true);
  };

  constructor(options: SchedulerOptions = {}) {
    this.budget = options.budget ?? 1000;
    this.sliceMs = options.sliceMs ?? 8;
  }

  /** Puts `p` on the run queue (once). */
  schedule(p: Runnable): void {
    if (p.queued) return;
    p.queued = true;
    this.ready.push(p);
    if (!this.armed) {
      this.armed = true;
      void RESOLVED.then(this.runNow);
    }
  }

  /** Number of processes waiting to run. */
  get pending(): number {
    return this.ready.length;
  }

  /** Empties the run queue and cancels a pending yield; used when the node stops (every process has exited). */
  dispose(): void {
    for (let p = this.ready.shift(); p !== undefined; p = this.ready.shift()) p.queued = false;
    this.armed = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.marker !== undefined) clearImmediate(this.marker);
    this.immediate = undefined;
    this.marker = undefined;
    this.turned = true;
  }

  /** Reads the clock for the current slice: its start on the first read, armed with the turn marker that ends it. */
  private clock(): number {
    const now = Date.now();
    this.lastRead = now;
    if (this.sliceStart !== this.sliceStart) {
      this.sliceStart = now;
      this.marker ??= setImmediate(this.onTurn);
    }
    return now;
  }

  /**
   * The turn clock: the clock's last reading in the current slice, or a fresh one when the slice has
   * none (a fresh reading is not kept: only the scheduler's own readings start a slice's clock).
   * While a slice has a reading, its turn marker is pending, so the event loop cannot block in
   * poll before the slice ends: the reading lags real time by the work done since it (the
   * scheduler reads every 4 runs and every 16 process turns), about as much as the loop time
   * Node's own timers count from. For deadlines, without a `Date.now()` each.
   */
  now(): number {
    return this.marker !== undefined ? this.lastRead : Date.now();
  }

  /** True while the turn marker is pending: {@link Scheduler.onTurnEnd} runs when the event loop next turns. */
  get turnEndPending(): boolean {
    return this.marker !== undefined;
  }

  private run(afterYield: boolean): void {
    // A slice is the work done between two turns of the event loop (I/O and timers had their chance
    // between them); a chain of microtask runs (async handlers settling, processes waking each other)
    // counts against the same slice. Reading the clock costs as much as a short run, so a slice reads
    // it only once it has lasted: on every 4th run, and every 16 process turns within a run. The
    // first read starts the slice's clock and arms the turn marker (an immediate), which starts a
    // fresh slice once the loop turns; a slice that reaches `sliceMs` before that yields with
    // `setImmediate`. Short runs (a process answering calls as they arrive) read no clock and arm no
    // immediate, except one of each per 4 runs. A slice whose clock started
    // late (after 3 unmeasured runs) may overrun `sliceMs` by those runs.
    if (afterYield || this.turned) {
      this.turned = false;
      this.runs = 0;
      this.sliceStart = Number.NaN;
      if (afterYield) this.clock();
    }
    const sliceMs = this.sliceMs;
    let now = (++this.runs & 3) === 0 ? this.clock() : Number.NaN;
    const ready = this.ready;
    const budget = this.budget;
    let turns = 0;
    while (ready.length > 0) {
      if (now - this.sliceStart >= sliceMs) {
        this.immediate = setImmediate(this.runAfterYield);
        return; // stay armed until the yield fires
      }
      const p = ready.shift() as Runnable;
      p.queued = false;
      if (p.runSlice(budget) && !p.queued) {
        p.queued = true;
        ready.push(p);
      }
      // The clock is read every 16 turns: turns are short, and a slice may overrun by a few of them.
      if ((++turns & 15) === 0) now = this.clock();
    }
    this.armed = false;
  }
}
