/**
 * Exit reasons: the values a process exits with, as Erlang defines them.
 *
 * - `normal`: a clean exit; linked processes ignore it unless they trap exits.
 * - `shutdown` and `{shutdown, Term}`: a clean stop asked by a supervisor or by the process.
 * - `kill`: sent with `exit/2`, cannot be trapped; the victim exits with `killed`.
 * - `noproc`: the target did not exist. `noconnection`: its node became unreachable.
 * - anything else, including a thrown `Error` (kept whole, with its stack).
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Tuple, tuple } from '../terms/tuple.js';

/** Any exit reason: an Erlang term, or a JS `Error` for a crash. */
export type ExitReason = unknown;

export const normal = atom('normal');
export const shutdown = atom('shutdown');
export const kill = atom('kill');
export const killed = atom('killed');
export const noproc = atom('noproc');
export const noconnection = atom('noconnection');

/** `{shutdown, detail}`: a clean stop that carries a detail. */
export function shutdownWith<T>(detail: T): Tuple<[Atom<'shutdown'>, T]> {
  return tuple(shutdown, detail);
}

/** True for `normal`, `shutdown` and `{shutdown, _}`: the reasons a transient child is not restarted for. */
export function isCleanExit(reason: ExitReason): boolean {
  return (
    reason === normal ||
    reason === shutdown ||
    (reason instanceof Tuple && reason.elements.length === 2 && reason.elements[0] === shutdown)
  );
}

/** Reads a reason given as a string (`'normal'`) or a term, returning the term. */
export function toReason(reason: ExitReason): ExitReason {
  return typeof reason === 'string' ? atom(reason) : reason;
}

/** A short readable form of a reason for logs and error messages. */
export function formatReason(reason: ExitReason): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'string') return JSON.stringify(reason);
  if (reason !== null && typeof reason === 'object' && Object.getPrototypeOf(reason) === Object.prototype) {
    const r = reason as { name?: unknown; node?: unknown };
    if (r.name !== undefined && r.node !== undefined) return `{${String(r.name)}, ${String(r.node)}}`;
    try {
      return JSON.stringify(reason);
    } catch {
      return '[object]';
    }
  }
  try {
    return String(reason);
  } catch {
    return Object.prototype.toString.call(reason);
  }
}
