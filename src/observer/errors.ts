/**
 * Observer errors: a request the observer cannot serve, with the HTTP status
 * it is answered with (400 malformed, 401/403 token, 404 unknown, 409 state).
 * @module
 */
import { BeamlineError } from '../core/errors.js';

/** A request the observer refuses; `status` is its HTTP status. */
export class ObserverRequestError extends BeamlineError {
  override name = 'ObserverRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
