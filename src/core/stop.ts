/**
 * Node stop: runs the stop hooks, then ends every process (exit signal
 * `shutdown`, then `kill` after the shutdown timeout for those that trap
 * exits), clears timers and pending calls, and closes the distribution.
 * @module
 */
import type { Calls } from './calls.js';
import type { Exits } from './exits.js';
import type { Kernel } from './kernel.js';
import { exited } from './process-core.js';
import { type ExitReason, formatReason, killed, shutdown } from './reasons.js';
import type { Timers } from './timers.js';

export async function stopNode(
  parts: { readonly kernel: Kernel; readonly exits: Exits; readonly calls: Calls; readonly timers: Timers },
  hooks: readonly (() => Promise<void> | void)[],
  shutdownTimeout: number,
  markStopped: () => void,
): Promise<void> {
  const { kernel: k, exits } = parts;
  for (const hook of [...hooks].reverse()) {
    try {
      await hook();
    } catch (err) {
      k.logger.error({ err }, 'stop hook failed');
    }
  }
  k.closing = true;
  // Exit signal `shutdown` to every process, newest first; then one shared wait for those that trap
  // exits (they run their own shutdown), and `kill` for any still alive after the shutdown timeout.
  const order = [...k.procs.values()].reverse();
  const waits: Promise<ExitReason>[] = [];
  for (const core of order) {
    exits.deliverExit(core, k.outside.pid, shutdown, false);
    if (!exited(core)) waits.push(new Promise<ExitReason>((resolve) => (core.exitWaiters ??= []).push(resolve)));
  }
  if (waits.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownTimeout)));
    await Promise.race([Promise.all(waits), timedOut]);
    clearTimeout(timer);
    for (const core of order) if (!exited(core)) exits.terminate(core, killed);
  }
  // Processes spawned meanwhile (a trapping process may spawn while shutting down) are killed too.
  for (const core of [...k.procs.values()]) exits.terminate(core, killed);
  parts.timers.clear();
  parts.calls.stop();
  markStopped();
  k.scheduler.dispose();
  if (k.dist !== undefined) await k.dist.stop();
}
