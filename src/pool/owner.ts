/**
 * Shared by the processes that own a socket and a handler pool (TCP, UDP,
 * Web): how they start (trapping exits, optionally named and linked) and
 * which exit signals stop them.
 * @module
 */
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import { type ExitReason, normal } from '../core/reasons.js';
import type { Process } from '../core/process.js';
import type { StartOptions } from '../server/server.js';

const A_EXIT = atom('EXIT');

/**
 * Runs `close` when the owner process exits (killed included: no
 * `terminate` then), or at once if it already has: an `init` that was
 * awaiting (its pool, a listen) resumes after a kill, so an owner calls
 * this once its socket is open, and a socket opened by a dead owner is
 * closed at once instead of leaking.
 *
 * @example
 * ```ts
 * await listen(server);
 * closeOnExit(ctx, () => server.close());
 * ```
 */
export function closeOnExit(ctx: Process, close: () => void): void {
  if (ctx.signal.aborted) close();
  else ctx.signal.addEventListener('abort', close, { once: true });
}

/**
 * The server options of an owner process: it traps exits, so that its
 * parent's stop runs its `terminate` (which closes the sockets). A `signal`
 * that aborts during `init` kills the owner: its pool goes with the link,
 * and the socket closes with the process's own signal (`ctx.signal`).
 *
 * @example
 * ```ts
 * startServer(starter, behavior, args, ownerStartOptions({ name: 'web', link: true }));
 * ```
 */
export function ownerStartOptions(options: { readonly name?: string; readonly link?: boolean; readonly signal?: AbortSignal }): StartOptions {
  return {
    trapExit: true,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.link === true ? { link: true } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}

/**
 * For an `{'EXIT', From, Reason}` message reaching an owner: the reason to
 * stop with when one of its `pools` exited (they gave up) or any other
 * process sent a non-`normal` exit signal (the node stopping, `exit/2`);
 * `undefined` to carry on.
 *
 * @example
 * ```ts
 * const r = ownerExitReason(message, [state.pool]);
 * if (r !== undefined) return stop(r, state);
 * ```
 */
export function ownerExitReason(message: unknown, pools: readonly Pid[]): ExitReason | undefined {
  if (!(message instanceof Tuple) || message.elements[0] !== A_EXIT || message.elements.length !== 3) return undefined;
  const [, from, reason] = message.elements;
  const isPool = from instanceof Pid && pools.some((p) => p.equals(from));
  if (!isPool && reason === normal) return undefined;
  return reason === normal ? atom('shutdown') : reason;
}
