/**
 * Web responses: what a handler answers with (status, headers, a body or a
 * stream), and the helpers that build common ones.
 * @module
 */
import type { OutgoingHttpHeaders } from 'node:http';

/** A response body: text, bytes, or a stream of chunks written with backpressure (an async generator, a `Readable`...). */
export type WebBody = string | Uint8Array | AsyncIterable<string | Uint8Array>;

/**
 * An HTTP response. `status` defaults to 200 (204 without a body).
 *
 * @example
 * ```ts
 * const r: WebResponse = { status: 201, headers: { location: '/users/7' }, body: 'created' };
 * ```
 */
export interface WebResponse {
  readonly status?: number;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: WebBody;
}

/**
 * A JSON response (`content-type: application/json`).
 *
 * @example
 * ```ts
 * return respond(json({ id: req.params['id'] }), state);
 * ```
 */
export function json(value: unknown, status = 200, headers?: OutgoingHttpHeaders): WebResponse {
  const type = 'application/json; charset=utf-8';
  return { status, headers: headers === undefined ? { 'content-type': type } : { 'content-type': type, ...headers }, body: JSON.stringify(value) };
}

/**
 * A plain-text response.
 *
 * @example
 * ```ts
 * return respond(text('not today', 418), state);
 * ```
 */
export function text(body: string, status = 200, headers?: OutgoingHttpHeaders): WebResponse {
  const type = 'text/plain; charset=utf-8';
  return { status, headers: headers === undefined ? { 'content-type': type } : { 'content-type': type, ...headers }, body };
}

/**
 * A streamed response: each chunk the iterable yields is written when the
 * client can take it.
 *
 * @example
 * ```ts
 * async function* lines() { for (let i = 0; i < 3; i++) yield `line ${i}\n`; }
 * return respond(stream(lines(), 200, { 'content-type': 'text/plain' }), state);
 * ```
 */
export function stream(chunks: AsyncIterable<string | Uint8Array>, status = 200, headers: OutgoingHttpHeaders = {}): WebResponse {
  return { status, headers, body: chunks };
}
