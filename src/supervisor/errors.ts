/**
 * Typed errors of the supervisor: each failure of the dynamic API and of a
 * child start has its own class; `reason` carries the Erlang term OTP would
 * return in `{error, Reason}`.
 * @module
 */
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { BeamlineError, causeOf } from '../core/errors.js';
import { type ExitReason, formatReason } from '../core/reasons.js';

/**
 * Base class of supervisor errors.
 *
 * @example
 * ```ts
 * try { await startChild(node, sup, spec); }
 * catch (err) { if (err instanceof SupervisorError) console.log(err.reason); }
 * ```
 */
export class SupervisorError extends BeamlineError {
  override name = 'SupervisorError';
  override readonly code: string = 'supervisor_error';
  constructor(
    message: string,
    /** The Erlang reason (`not_found`, `running`, `{already_started, Pid}`...). */
    readonly reason: ExitReason,
    /** Default: `{ cause: reason }` when the reason is an Error. */
    options: ErrorOptions | undefined = causeOf(reason),
  ) {
    super(message, options);
  }
}

/** A child specification (or supervisor specification) is malformed. `reason` is `{invalid_child_spec, Detail}`. */
export class InvalidChildSpecError extends SupervisorError {
  override name = 'InvalidChildSpecError';
  override readonly code = 'invalid_child_spec';
  constructor(detail: string) {
    super(`invalid child spec: ${detail}`, tuple(atom('invalid_child_spec'), detail));
  }
}

/** A child with this id is already running (`{already_started, Pid}`). */
export class AlreadyStartedError extends SupervisorError {
  override name = 'AlreadyStartedError';
  override readonly code = 'already_started';
  constructor(
    readonly childId: string,
    readonly pid: Pid,
  ) {
    super(`child ${childId} is already started as ${pid.describe()}`, tuple(atom('already_started'), pid));
  }
}

/** A child spec with this id exists but is not running (`already_present`). */
export class AlreadyPresentError extends SupervisorError {
  override name = 'AlreadyPresentError';
  override readonly code = 'already_present';
  constructor(readonly childId: string) {
    super(`child ${childId} is already present (not running)`, atom('already_present'));
  }
}

/** No child with this id (or pid) (`not_found`). */
export class ChildNotFoundError extends SupervisorError {
  override name = 'ChildNotFoundError';
  override readonly code = 'child_not_found';
  constructor(readonly childId: string) {
    super(`no child ${childId}`, atom('not_found'));
  }
}

/** The child is running, so it cannot be restarted or deleted (`running`). */
export class ChildRunningError extends SupervisorError {
  override name = 'ChildRunningError';
  override readonly code = 'child_running';
  constructor(readonly childId: string) {
    super(`child ${childId} is running`, atom('running'));
  }
}

/** The child is being restarted (`restarting`). */
export class ChildRestartingError extends SupervisorError {
  override name = 'ChildRestartingError';
  override readonly code = 'child_restarting';
  constructor(readonly childId: string) {
    super(`child ${childId} is restarting`, atom('restarting'));
  }
}

/** The operation does not exist for a simple_one_for_one supervisor (`simple_one_for_one`). */
export class SimpleOneForOneError extends SupervisorError {
  override name = 'SimpleOneForOneError';
  override readonly code = 'simple_one_for_one';
  constructor(operation: string) {
    super(`${operation} is not supported by a simple_one_for_one supervisor`, atom('simple_one_for_one'));
  }
}

/**
 * A child failed to start: its start function threw, rejected, returned
 * something that is not a pid, or did not return within the start timeout.
 * `reason` is the start's failure reason (for a server, the reason its
 * `init` gave); `childId` names the child.
 */
export class ChildStartError extends SupervisorError {
  override name = 'ChildStartError';
  override readonly code = 'child_start_failed';
  constructor(
    readonly childId: string,
    reason: ExitReason,
  ) {
    super(`child ${childId} failed to start: ${formatReason(reason)}`, reason);
  }
}

/** A child's start function did not return within its start timeout. Used as the reason of a {@link ChildStartError}. */
export class StartTimeoutError extends BeamlineError {
  override name = 'StartTimeoutError';
  override readonly code = 'start_timeout';
  constructor(
    readonly childId: string,
    readonly timeout: number,
  ) {
    super(`start of child ${childId} did not return within ${timeout} ms`);
  }
}

/**
 * A supervisor failed to start because a child failed to start. The
 * children started before it were terminated. `reason` is OTP's
 * `{shutdown, {failed_to_start_child, Id, Reason}}`; `childReason` the child's reason.
 */
export class SupervisorStartError extends SupervisorError {
  override name = 'SupervisorStartError';
  override readonly code = 'supervisor_start_failed';
  constructor(
    readonly childId: string,
    readonly childReason: ExitReason,
    reason: ExitReason,
  ) {
    super(`supervisor start failed: child ${childId} failed to start: ${formatReason(childReason)}`, reason, causeOf(childReason));
  }
}
