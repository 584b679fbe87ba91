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
  private sliceStart = 0;
  /** When the last run ended (Date.now()). */
  private lastEnd = 0;
  /** Set once the event loop has turned since the current slice began. */
  private turned = true;
  private marker: NodeJS.Immediate | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly onTurn = (): void => {
    this.marker = undefined;
    this.turned = true;
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

  private run(afterYield: boolean): void {
    let now = Date.now();
    // A fresh slice starts only once the event loop has turned (I/O and timers had their chance);
    // a chain of microtask runs (async handlers settling) counts against the same slice. The turn is
    // seen by an immediate (the marker), armed only once a slice has lasted 1 ms: runs that each take
    // a message or two (a process answering calls as they arrive) do not pay for an immediate each.
    // A run 2 ms or more after the last one ended also starts a fresh slice: other work ran between
    // them, and the loop has most likely turned even if the marker has not seen it yet (a timer that
    // fires before the check phase). A chain of runs without a turn stays within 2 ms of each other,
    // so it keeps its slice, arms the marker, and yields at the slice's end.
    if (afterYield || this.turned || now - this.lastEnd >= 2) {
      this.sliceStart = now;
      this.turned = false;
    }
    const deadline = this.sliceStart + this.sliceMs;
    const ready = this.ready;
    const budget = this.budget;
    let turns = 0;
    while (ready.length > 0) {
      if (now >= deadline) {
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
      if ((++turns & 15) === 0) now = Date.now();
    }
    this.armed = false;
    now = Date.now();
    this.lastEnd = now;
    if (this.marker === undefined && now - this.sliceStart >= 1) this.marker = setImmediate(this.onTurn);
  }
}
