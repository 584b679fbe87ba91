/**
 * Typed errors of the runtime. Every failure a caller can handle has its own
 * class, so `instanceof` tells them apart and `reason` carries the Erlang term.
 * @module
 */
import { formatReason, type ExitReason, noproc } from './reasons.js';

/**
 * Base class of Beamline's errors. `code` is a stable string per class
 * (`name_taken`, `call_timeout`, `noproc`...; the distribution's `DistError`
 * has its own codes), to switch on without `instanceof` or parsing messages.
 * `cause` is the error behind it when there is one: the crash of a server's
 * `init`, the EPMD or socket error behind a `noconnection`...
 *
 * @example
 * ```ts
 * try { await node.call(ref, atom('get')); }
 * catch (err) { if (err instanceof BeamlineError && err.code === 'call_timeout') retry(); }
 * ```
 */
export class BeamlineError extends Error {
  override name = 'BeamlineError';
  /** A stable, machine-readable code; each subclass has its own. */
  readonly code: string = 'beamline_error';
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** `{ cause }` when `reason` is an Error: the error behind a reason. */
export function causeOf(reason: unknown): ErrorOptions | undefined {
  return reason instanceof Error ? { cause: reason } : undefined;
}

/** A name is already registered to another process, or the process already has a name. */
export class NameTakenError extends BeamlineError {
  override name = 'NameTakenError';
  override readonly code = 'name_taken';
  constructor(readonly processName: string, detail: string, options?: ErrorOptions) {
    super(detail, options);
  }
}

/** The node is stopping or stopped; it cannot spawn or call. */
export class NodeStoppedError extends BeamlineError {
  override name = 'NodeStoppedError';
  override readonly code = 'node_stopped';
}

/** An operation needs a living process, or a process that exists. */
export class NoProcessError extends BeamlineError {
  override name = 'NoProcessError';
  override readonly code = 'noproc';
  /** The Erlang reason: `noproc`. */
  readonly reason: ExitReason = noproc;
}

/** Bad arguments given to a runtime function (Erlang's `badarg`). */
export class BadArgumentError extends BeamlineError {
  override name = 'BadArgumentError';
  override readonly code = 'badarg';
}

/** A long operation (a start, `waitExit`, `startNode`, a remote spawn) was cancelled through its AbortSignal; `reason` (and `cause`) is the signal's reason. */
export class AbortedError extends BeamlineError {
  override name = 'AbortedError';
  override readonly code = 'aborted';
  constructor(
    message: string,
    readonly reason: unknown,
  ) {
    super(message, { cause: reason });
  }
}

/** Base class of the ways a call can fail; `reason` is the Erlang exit reason. */
export class CallError extends BeamlineError {
  override name = 'CallError';
  override readonly code: string = 'call_failed';
  constructor(
    message: string,
    /** `timeout`, `noproc`, `noconnection`, the target's exit reason, or the abort reason. */
    readonly reason: ExitReason,
    /** Default: `{ cause: reason }` when the reason is an Error (a crash). */
    options: ErrorOptions | undefined = causeOf(reason),
  ) {
    super(message, options);
  }
}

/** No reply within the timeout. A late reply is discarded. */
export class CallTimeoutError extends CallError {
  override name = 'CallTimeoutError';
  override readonly code = 'call_timeout';
}

/** The target was not alive (unknown name, dead pid), or died during the call (`reason` is its exit reason). */
export class CallExitError extends CallError {
  override name = 'CallExitError';
  override readonly code = 'call_exit';
}

/** The call was cancelled through its AbortSignal. */
export class CallAbortedError extends CallError {
  override name = 'CallAbortedError';
  override readonly code = 'call_aborted';
}

/** @internal The error of a call whose target was not alive or went down; `cause` is the error behind it (a crash, a lost connection). */
export function callExitError(target: string, reason: ExitReason, cause?: Error): CallExitError {
  return new CallExitError(`call to ${target} failed: ${formatReason(reason)}`, reason, cause === undefined ? causeOf(reason) : { cause });
}
