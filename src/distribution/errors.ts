/**
 * Typed errors of the distribution transport (EPMD, handshake, framing).
 *
 * Every failure carries a {@link DistErrorCode}, so callers can switch on
 * `error.code` instead of parsing messages. A hostile or broken peer only ever
 * produces one of these errors and the closing of its own socket; nothing
 * here throws past the connection it concerns.
 * @module
 */

/** Machine-readable reason of a {@link DistError}. */
export type DistErrorCode =
  // EPMD
  | 'epmd_unreachable'
  | 'epmd_protocol'
  | 'epmd_name_taken'
  | 'epmd_refused'
  | 'epmd_timeout'
  | 'epmd_closed'
  // handshake
  | 'handshake_timeout'
  | 'handshake_protocol'
  | 'bad_cookie'
  | 'not_allowed'
  | 'nok'
  | 'alive'
  | 'bad_status'
  | 'peer_name_mismatch'
  | 'unsupported_version'
  // connected phase
  | 'net_tick_timeout'
  | 'frame_too_large'
  | 'frame_protocol'
  | 'atom_cache'
  | 'reassembly_limit'
  | 'message_refused' // one message beyond a resource limit, dropped and logged; the connection stays up
  | 'closed_locally'
  // any phase
  | 'connection_closed'
  | 'socket_error';

/** An error of the distribution transport, with a typed {@link DistErrorCode}. */
export class DistError extends Error {
  override name = 'DistError';
  /** Machine-readable reason. */
  readonly code: DistErrorCode;
  constructor(code: DistErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

/** True when `value` is a {@link DistError} (optionally with the given code). */
export function isDistError(value: unknown, code?: DistErrorCode): value is DistError {
  return value instanceof DistError && (code === undefined || value.code === code);
}
