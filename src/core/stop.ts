/**
 * Node stop: runs the stop hooks, then ends every process (exit signal
 * `shutdown`, then `kill` after the shutdown timeout for those that trap
 * exits), clears timers and pending calls, and closes the distribution.
 * It logs (info) the processes it waits for and those it kills.
 * @module
 */
import type { Calls } from './calls.js';
import type { Exits } from './exits.js';
import type { Kernel } from './kernel.js';
import { exited, type ProcessCore } from './process-core.js';
import { type ExitReason, formatReason, killed, shutdown } from './reasons.js';
import type { Timers } from './timers.js';

/** A process as a stop log names it: `<0.7.0> name (behavior)`. */
function describeProcess(core: ProcessCore): string {
  const behavior = core.handler.behavior;
  return `${String(core.pid)}${core.name !== undefined ? ` ${core.name.name}` : ''}${behavior !== undefined ? ` (${behavior})` : ''}`;
}

/** `n processes: a, b, c` (the first 10 in the line; every one in `fields.processes`). */
function processList(cores: readonly ProcessCore[]): { readonly line: string; readonly processes: string[] } {
  const processes = cores.map(describeProcess);
  const shown = processes.slice(0, 10).join(', ') + (processes.length > 10 ? `, and ${processes.length - 10} more` : '');
  return { line: `${processes.length} process${processes.length === 1 ? '' : 'es'}: ${shown}`, processes };
}

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
  const pending: ProcessCore[] = [];
  for (const core of order) {
    exits.deliverExit(core, k.outside.pid, shutdown, false);
    if (!exited(core)) {
      pending.push(core);
      waits.push(new Promise<ExitReason>((resolve) => (core.exitWaiters ??= []).push(resolve)));
    }
  }
  if (waits.length > 0) {
    const waiting = processList(pending);
    k.logger.info({ processes: waiting.processes, shutdownTimeout }, `node stop: waiting up to ${shutdownTimeout} ms for ${waiting.line}`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownTimeout)));
    await Promise.race([Promise.all(waits), timedOut]);
    clearTimeout(timer);
    const late = order.filter((core) => !exited(core));
    if (late.length > 0) {
      const killing = processList(late);
      k.logger.info({ processes: killing.processes, shutdownTimeout }, `node stop: killing ${killing.line} (still running after ${shutdownTimeout} ms)`);
      for (const core of late) exits.terminate(core, killed);
    }
  }
  // Processes spawned meanwhile (a trapping process may spawn while shutting down) are killed too.
  for (const core of [...k.procs.values()]) exits.terminate(core, killed);
  parts.timers.clear();
  parts.calls.stop();
  markStopped();
  k.scheduler.dispose();
  if (k.dist !== undefined) await k.dist.stop();
}
