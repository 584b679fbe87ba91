/**
 * Typed errors of the runtime. Every failure a caller can handle has its own
 * class, so `instanceof` tells them apart and `reason` carries the Erlang term.
 * @module
 */
import { formatReason, type ExitReason, noproc } from './reasons.js';

/** Base class of Beamline's runtime errors. */
export class BeamlineError extends Error {
  override name = 'BeamlineError';
}

/** A name is already registered to another process, or the process already has a name. */
export class NameTakenError extends BeamlineError {
  override name = 'NameTakenError';
  constructor(readonly processName: string, detail: string) {
    super(detail);
  }
}

/** The node is stopping or stopped; it cannot spawn or call. */
export class NodeStoppedError extends BeamlineError {
  override name = 'NodeStoppedError';
}

/** An operation needs a living process, or a process that exists. */
export class NoProcessError extends BeamlineError {
  override name = 'NoProcessError';
  /** The Erlang reason: `noproc`. */
  readonly reason: ExitReason = noproc;
}

/** Bad arguments given to a runtime function (Erlang's `badarg`). */
export class BadArgumentError extends BeamlineError {
  override name = 'BadArgumentError';
}

/** Base class of the ways a call can fail; `reason` is the Erlang exit reason. */
export class CallError extends BeamlineError {
  override name = 'CallError';
  constructor(
    message: string,
    /** `timeout`, `noproc`, `noconnection`, the target's exit reason, or the abort reason. */
    readonly reason: ExitReason,
  ) {
    super(message);
  }
}

/** No reply within the timeout. A late reply is discarded. */
export class CallTimeoutError extends CallError {
  override name = 'CallTimeoutError';
}

/** The target was not alive (unknown name, dead pid), or died during the call (`reason` is its exit reason). */
export class CallExitError extends CallError {
  override name = 'CallExitError';
}

/** The call was cancelled through its AbortSignal. */
export class CallAbortedError extends CallError {
  override name = 'CallAbortedError';
}

export function callExitError(target: string, reason: ExitReason): CallExitError {
  return new CallExitError(`call to ${target} failed: ${formatReason(reason)}`, reason);
}
