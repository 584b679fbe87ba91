/**
 * Running a child's start function from the supervisor process: a start
 * timeout, `ignore`, failures turned into OTP-like reasons; and the
 * start functions for Beamline servers.
 * @module
 */
import { Pid } from '../terms/identifiers.js';
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type ExitReason, kill } from '../core/reasons.js';
import { InitFailedError, InitIgnoredError, type ServerBehavior, startServer, type StartOptions } from '../server/server.js';
import type { NormalizedChildSpec, StartFunction, StartReturn } from './child-spec.js';
import { StartTimeoutError } from './errors.js';

/** The outcome of one start: a pid, `ignore`, or a failure reason. */
export type StartOutcome =
  | { readonly type: 'ok'; readonly pid: Pid }
  | { readonly type: 'ignore' }
  | { readonly type: 'error'; readonly reason: ExitReason };

function pidKey(p: Pid): string {
  return `${p.node.name}|${p.id}|${p.serial}|${p.creation}`;
}

function isThenable(v: unknown): v is PromiseLike<StartReturn> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function failureReason(err: unknown): ExitReason {
  return err instanceof InitFailedError ? err.reason : err;
}

function outcomeOf(value: unknown): StartOutcome {
  if (value instanceof Pid) return { type: 'ok', pid: value };
  if (value === 'ignore') return { type: 'ignore' };
  return { type: 'error', reason: new TypeError(`start function returned ${String(value)}; expected a Pid or 'ignore'`) };
}

/**
 * Runs `spec.start(proc, ...extra)` and waits for it, at most `timeout` ms
 * (undefined: no limit). On timeout, the processes the start linked to the
 * supervisor are killed, and so is a pid the start returns late.
 */
export async function runStart(
  proc: Process,
  spec: NormalizedChildSpec,
  extra: readonly unknown[],
  timeout: number | undefined,
): Promise<StartOutcome> {
  const linksBefore = timeout === undefined ? undefined : new Set(proc.info().links.map(pidKey));
  let result: StartReturn | PromiseLike<StartReturn>;
  try {
    result = spec.start(proc, ...extra);
  } catch (err) {
    return err instanceof InitIgnoredError ? { type: 'ignore' } : { type: 'error', reason: failureReason(err) };
  }
  if (!isThenable(result)) return outcomeOf(result);
  const settled: Promise<StartOutcome> = Promise.resolve(result).then(outcomeOf, (err: unknown) =>
    err instanceof InitIgnoredError ? { type: 'ignore' } : { type: 'error', reason: failureReason(err) },
  );
  if (timeout === undefined || timeout === Infinity) return settled;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const deadline = new Promise<StartOutcome>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve({ type: 'error', reason: new StartTimeoutError(spec.id, timeout) });
    }, timeout);
  });
  const outcome = await Promise.race([settled, deadline]);
  clearTimeout(timer);
  if (timedOut) {
    for (const p of proc.info().links) if (!linksBefore?.has(pidKey(p))) proc.sendExit(p, kill);
    void settled.then((late) => {
      if (late.type === 'ok') proc.node.exit(late.pid, kill);
    });
  }
  return outcome;
}

/**
 * A start function that starts a Beamline server linked to the supervisor
 * (`startServer(parent, behavior, args, { link: true })`). An `init` that
 * returns `ignore()` makes the child `ignore`d; one that fails fails the start
 * with the reason `init` gave.
 *
 * @example
 * ```ts
 * const spec: ChildSpec = { id: 'counter', start: serverStart(counterBehavior, 0) };
 * ```
 */
export function serverStart<P extends Protocol, S, A>(
  behavior: ServerBehavior<P, S, A>,
  args: A,
  options: Omit<StartOptions, 'link'> = {},
): StartFunction<[]> {
  return async (parent) => (await startServer(parent, behavior, args, { ...options, link: true })).pid;
}

/**
 * Like {@link serverStart}, for simple_one_for_one templates: the server's
 * `init` arguments are made from the extra arguments given to `startChild`.
 *
 * @example
 * ```ts
 * const template: ChildSpec<[string]> = { id: 'conn', start: serverStartWith(connBehavior, (host: string) => ({ host })) };
 * await startChild(node, sup, ['example.org']);
 * ```
 */
export function serverStartWith<P extends Protocol, S, A, E extends readonly unknown[]>(
  behavior: ServerBehavior<P, S, A>,
  makeArgs: (...extra: E) => A,
  options: Omit<StartOptions, 'link'> = {},
): StartFunction<E> {
  return async (parent, ...extra) => (await startServer(parent, behavior, makeArgs(...extra), { ...options, link: true })).pid;
}
