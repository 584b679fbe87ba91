/**
 * The request a Web handler receives: method, path, route parameters,
 * query, headers and the whole body (already read, within the size limit),
 * and the way to answer it later ({@link WebRequest.respond}).
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Pid } from '../terms/identifiers.js';
import type { WebResponse } from './response.js';

/** @internal The gateway's side of one request: who took it, and completing it. */
export interface Exchange {
  take(worker: Pid): void;
  complete(response: WebResponse): boolean;
  readonly done: boolean;
  readonly signal: AbortSignal;
}

/**
 * One HTTP request, delivered to a handler process as a message. `P` is the
 * route's parameters (inferred from its pattern by {@link route}), `B` the
 * type of {@link WebRequest.data}, the body validated by the route's `body`
 * schema.
 *
 * @example
 * ```ts
 * handleRequest(req, state) {
 *   const id = req.params['id'];
 *   const page = req.query.get('page') ?? '1';
 *   const body = req.json<{ name: string }>();
 *   return respond(json({ id, page, name: body.name }), state);
 * }
 * ```
 */
export class WebRequest<P extends Readonly<Record<string, string>> = Readonly<Record<string, string>>, B = unknown> {
  /** @internal */
  readonly #exchange: Exchange;

  /** @internal */
  constructor(
    /** Upper-case method (`GET`, `POST`...). */
    readonly method: string,
    /** The path, without the query string, as sent (percent-encoded). */
    readonly path: string,
    /** Route parameters (`:id` → `params.id`), decoded; typed from the route's pattern. */
    readonly params: Readonly<P>,
    /** @internal The query string, without `?`; parsed on first use of {@link WebRequest.query}. */
    private readonly search: string,
    /** @internal The request as node:http has it: its headers are read from it on first use. */
    incoming: IncomingMessage,
    /** The body bytes (empty when there is none). */
    readonly body: Buffer,
    /** The route pattern that matched (`/users/:id`). */
    readonly route: string,
    /** The client's address. */
    readonly remoteAddress: string | undefined,
    exchange: Exchange,
  ) {
    this.#incoming = incoming;
    this.#exchange = exchange;
  }

  readonly #incoming: IncomingMessage;

  /** Request headers, lower-case names. */
  get headers(): IncomingHttpHeaders {
    return this.#incoming.headers;
  }

  #query: URLSearchParams | undefined;
  #data: B | undefined;

  /** The body validated by the route's `body` schema (the schema's output); `undefined` on a route without one. */
  get data(): B {
    return this.#data as B;
  }

  /** @internal Set by the handler process once the body passed the route's schema. */
  _validated(value: B): void {
    this.#data = value;
  }

  /** The query string, parsed. */
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.search));
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON (throws a SyntaxError for bad JSON, which crashes the handler: answer 400 yourself if you expect it). */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /**
   * Answers the request from anywhere, typically from a later message after
   * the handler returned `wait(state)` (ergo's "wait"). Returns false if the
   * request was already answered, timed out, or its client went away.
   */
  respond(response: WebResponse): boolean {
    return this.#exchange.complete(response);
  }

  /** True once the request has been answered (or timed out). */
  get answered(): boolean {
    return this.#exchange.done;
  }

  /** Aborted when the request is answered, times out or its client disconnects. */
  get signal(): AbortSignal {
    return this.#exchange.signal;
  }

  /** @internal Called by the handler process that takes the request. */
  _take(worker: Pid): void {
    this.#exchange.take(worker);
  }
}
