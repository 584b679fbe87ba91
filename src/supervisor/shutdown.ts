/**
 * Ordered shutdown of one child, as OTP's `supervisor:shutdown/2`: send exit
 * `shutdown`, wait for the child to exit up to its shutdown timeout, then
 * kill it; `brutal_kill` kills at once, `infinity` waits forever.
 * @module
 */
import type { Pid } from '../terms/identifiers.js';
import type { Process } from '../core/process.js';
import { type ExitReason, kill, shutdown as shutdownReason } from '../core/reasons.js';
import type { Shutdown } from './child-spec.js';

/**
 * Terminates `pid` (a child linked to `proc`) and resolves with its exit
 * reason once it is gone (`noproc` if it was already dead). The link stays:
 * the child's `{'EXIT', Pid, Reason}` still reaches the supervisor, which
 * ignores it because the pid is no longer one of its children.
 *
 * The wait uses `node.waitExit`, the runtime's monitor for code that waits
 * inside a handler (the supervisor is suspended in an async handler while
 * it shuts children down, so it cannot take a DOWN message from its mailbox).
 *
 * @example
 * ```ts
 * const reason = await shutdownChild(supervisorProc, childPid, 5000); // shutdown, or killed after 5 s
 * ```
 */
export async function shutdownChild(proc: Process, pid: Pid, shutdown: Shutdown): Promise<ExitReason> {
  const node = proc.node;
  const exited = node.waitExit(pid);
  if (!node.isAlive(pid)) return exited;
  if (shutdown === 'brutal_kill') {
    proc.sendExit(pid, kill);
    return exited;
  }
  proc.sendExit(pid, shutdownReason);
  if (shutdown === 'infinity') return exited;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), shutdown)));
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') proc.sendExit(pid, kill);
  return exited;
}

/**
 * Terminates many children at once (simple_one_for_one's way): exit
 * `shutdown` to all, one shared timeout, then `kill` to those still alive.
 */
export async function shutdownAll(proc: Process, pids: readonly Pid[], shutdown: Shutdown): Promise<void> {
  const node = proc.node;
  const exits = pids.map((p) => node.waitExit(p));
  if (shutdown === 'brutal_kill') {
    for (const p of pids) proc.sendExit(p, kill);
    await Promise.all(exits);
    return;
  }
  for (const p of pids) proc.sendExit(p, shutdownReason);
  const all = Promise.all(exits);
  if (shutdown === 'infinity') {
    await all;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), shutdown)));
  const first = await Promise.race([all.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') for (const p of pids) if (node.isAlive(p)) proc.sendExit(p, kill);
  await all;
}
