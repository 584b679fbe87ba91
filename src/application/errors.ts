/**
 * Typed errors of applications: loading, starting, stopping and dependencies.
 * @module
 */
import { BeamlineError, causeOf } from '../core/errors.js';
import { type ExitReason, formatReason } from '../core/reasons.js';

/**
 * Base class of application errors; `application` names the application.
 *
 * @example
 * ```ts
 * try { await startApplication(node, 'web'); }
 * catch (err) { if (err instanceof MissingDependencyError) console.log(err.dependency); }
 * ```
 */
export class ApplicationError extends BeamlineError {
  override name = 'ApplicationError';
  override readonly code: string = 'application_error';
  constructor(
    readonly application: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The spec is malformed (name, version, dependencies, root...). */
export class InvalidApplicationSpecError extends ApplicationError {
  override name = 'InvalidApplicationSpecError';
  override readonly code = 'invalid_application_spec';
}

/** An application with this name is already loaded. */
export class AlreadyLoadedError extends ApplicationError {
  override name = 'AlreadyLoadedError';
  override readonly code = 'already_loaded';
  constructor(application: string) {
    super(application, `application ${application} is already loaded`);
  }
}

/** No application with this name is loaded. */
export class NotLoadedError extends ApplicationError {
  override name = 'NotLoadedError';
  override readonly code = 'not_loaded';
  constructor(application: string) {
    super(application, `application ${application} is not loaded`);
  }
}

/** The application is already running (OTP's `{already_started, App}`). */
export class AlreadyStartedApplicationError extends ApplicationError {
  override name = 'AlreadyStartedApplicationError';
  override readonly code = 'application_already_started';
  constructor(application: string) {
    super(application, `application ${application} is already started`);
  }
}

/** The application is not running. */
export class NotStartedError extends ApplicationError {
  override name = 'NotStartedError';
  override readonly code = 'application_not_started';
  constructor(application: string) {
    super(application, `application ${application} is not started`);
  }
}

/** The application is running, so it cannot be unloaded. */
export class ApplicationRunningError extends ApplicationError {
  override name = 'ApplicationRunningError';
  override readonly code = 'application_running';
  constructor(application: string) {
    super(application, `application ${application} is running; stop it before unloading`);
  }
}

/** A dependency is not loaded (or the dependencies form a cycle). Nothing was started. */
export class MissingDependencyError extends ApplicationError {
  override name = 'MissingDependencyError';
  override readonly code = 'missing_dependency';
  constructor(
    application: string,
    readonly dependency: string,
    detail = 'is not loaded',
  ) {
    super(application, `application ${application} depends on ${dependency}, which ${detail}`);
  }
}

/** The start hook or the root supervisor failed; `reason` is why. */
export class ApplicationStartError extends ApplicationError {
  override name = 'ApplicationStartError';
  override readonly code = 'application_start_failed';
  constructor(
    application: string,
    readonly reason: ExitReason,
  ) {
    super(application, `application ${application} failed to start: ${formatReason(reason)}`, causeOf(reason));
  }
}
