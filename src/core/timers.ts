/**
 * Timers: timed sends (`erlang:send_after`). Each pending timer is tracked so
 * the node clears them all when it stops.
 * @module
 */
import type { Pid } from '../terms/identifiers.js';
import { BadArgumentError } from './errors.js';
import type { Kernel } from './kernel.js';
import type { Destination } from './protocol.js';
import type { Router } from './routing.js';

/** Cancels a timed send. */
export interface TimerHandle {
  /** Cancels the send; returns false if it already fired or was cancelled. */
  cancel(): boolean;
}

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(
    private readonly kernel: Kernel,
    private readonly router: Router,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Sends `message` from `from` to `to` after `ms` milliseconds. */
  sendAfter(from: Pid | undefined, to: Destination, message: unknown, ms: number): TimerHandle {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new BadArgumentError(`sendAfter: bad delay ${ms}`);
    if (this.kernel.closing) return { cancel: () => false };
    const timers = this.pending;
    const timer = setTimeout(() => {
      timers.delete(timer);
      this.router.send(from, to, message);
    }, ms);
    timers.add(timer);
    return {
      cancel: () => {
        if (!timers.delete(timer)) return false;
        clearTimeout(timer);
        return true;
      },
    };
  }

  /** Cancels every pending timer (the node stopped). */
  clear(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
