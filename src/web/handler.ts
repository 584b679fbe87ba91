/**
 * Web handlers: the behavior of the processes that answer HTTP requests.
 * A handler answers now ({@link respond}), later ({@link wait}, then
 * `req.respond(...)` from another message, ergo's "wait"), or stops.
 * @module
 */
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type InitResult, noreply, type NoReplyResult, type ServerBehavior, type StopResult } from '../server/server.js';
import { WebRequest } from './request.js';
import { json, type WebResponse } from './response.js';
import { issuesJson, type StandardSchemaResult, type StandardSchemaV1 } from './standard-schema.js';

type MaybePromise<T> = T | Promise<T>;

/** What `handleRequest` returns. */
export type WebResult<S> =
  | { readonly type: 'respond'; readonly response: WebResponse; readonly state: S }
  | { readonly type: 'wait'; readonly state: S }
  | StopResult<S, never>;

/**
 * Answer the request with `response` and continue with `state`.
 *
 * @example
 * ```ts
 * handleRequest: (req, n) => respond(text(`hello #${n}`), n + 1),
 * ```
 */
export function respond<S>(response: WebResponse, state: S): { readonly type: 'respond'; readonly response: WebResponse; readonly state: S } {
  return { type: 'respond', response, state };
}

/**
 * Keep the request unanswered and continue with `state`; answer it later
 * with `req.respond(response)` (before the request timeout).
 *
 * @example
 * ```ts
 * handleRequest(req, pending) { pending.push(req); return wait(pending); },
 * handleInfo(msg, pending) { for (const r of pending) r.respond(text(String(msg))); return noreply([]); },
 * ```
 */
export function wait<S>(state: S): { readonly type: 'wait'; readonly state: S } {
  return { type: 'wait', state };
}

/**
 * The callbacks of a Web handler with state `S`, started with `A`, for
 * requests with route parameters `P` and validated body `B` (both inferred
 * by {@link route} when the handler is written inline). A handler that
 * throws crashes: its request (and any it keeps waiting) is answered 500
 * and the pool restarts it.
 *
 * @example
 * ```ts
 * const hello: WebHandler<number> = {
 *   init: () => ok(0),
 *   handleRequest: (req, n) => respond(json({ hello: req.params['name'], n }), n + 1),
 * };
 * ```
 */
export interface WebHandler<S, A = undefined, P extends Readonly<Record<string, string>> = Readonly<Record<string, string>>, B = unknown> {
  /** A name for process info; default `'web_handler'`. */
  readonly behavior?: string;
  init(args: A, ctx: Process): MaybePromise<InitResult<S>>;
  /** Answers a request (a property, not a method, so that a handler expecting other params or another body type does not fit the route). */
  readonly handleRequest: (request: WebRequest<P, B>, state: S, ctx: Process) => MaybePromise<WebResult<S>>;
  /** Any other message (timers, replies to requests the handler made...). */
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<NoReplyResult<S>>;
  terminate?: ServerBehavior<Protocol, S, A>['terminate'];
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function badRequest(error: string, detail: Record<string, unknown>): WebResponse {
  return json({ error, ...detail }, 400);
}

/**
 * Parses the body as JSON and validates it with `schema`: true with the value
 * set on the request, or false with the request answered 400
 * (`{"error":"invalid_json",...}` or `{"error":"invalid_body","issues":[{message,path}]}`).
 */
function validateBody(req: WebRequest, schema: StandardSchemaV1): MaybePromise<boolean> {
  let value: unknown;
  try {
    value = JSON.parse(req.text());
  } catch (e) {
    req.respond(badRequest('invalid_json', { message: `request body is not JSON: ${(e as Error).message}` }));
    return false;
  }
  const settle = (r: StandardSchemaResult<unknown>): boolean => {
    if (r.issues !== undefined) {
      req.respond(badRequest('invalid_body', { issues: issuesJson(r.issues) }));
      return false;
    }
    req._validated(r.value);
    return true;
  };
  const r = schema['~standard'].validate(value);
  return isThenable(r) ? r.then(settle) : settle(r);
}

/** @internal A Web handler as the Server behavior a pool runs; with `body`, requests whose JSON body fails it are answered 400 before the handler sees them. */
export function handlerServer<S, A>(handler: WebHandler<S, A>, body?: StandardSchemaV1): ServerBehavior<Protocol, S, A> {
  const after = (req: WebRequest, r: WebResult<S>): NoReplyResult<S> => {
    switch (r?.type) {
      case 'respond':
        req.respond(r.response);
        return noreply(r.state);
      case 'wait':
        return noreply(r.state);
      case 'stop':
        return r;
      default:
        throw new TypeError(`handleRequest returned ${String(r)}; expected respond(), wait() or stop()`);
    }
  };
  // The closures that wait for a promise are made in functions of their own (afterLater, handleLater): made in
  // `handle` or `handleInfo`, the variables they capture would be put in a context made on every request
  // (V8 makes a function's context on entry) once any request of the process had taken the async path.
  const afterLater = (req: WebRequest, r: Promise<WebResult<S>>): Promise<NoReplyResult<S>> => r.then((v) => after(req, v));
  const handle = (req: WebRequest, state: S, ctx: Process): MaybePromise<NoReplyResult<S>> => {
    const r = handler.handleRequest(req, state, ctx);
    return isThenable(r) ? afterLater(req, r) : after(req, r);
  };
  const handleLater = (valid: Promise<boolean>, req: WebRequest, state: S, ctx: Process): Promise<NoReplyResult<S>> =>
    valid.then((ok) => (ok ? handle(req, state, ctx) : noreply(state)));
  const behavior: ServerBehavior<Protocol, S, A> = {
    behavior: handler.behavior ?? 'web_handler',
    init: (args, ctx) => handler.init(args, ctx),
    handleInfo(message, state, ctx) {
      if (message instanceof WebRequest) {
        if (message.answered) return noreply(state); // timed out while queued
        message._take(ctx.self);
        if (body === undefined) return handle(message, state, ctx);
        const valid = validateBody(message, body);
        if (!isThenable(valid)) return valid ? handle(message, state, ctx) : noreply(state);
        return handleLater(valid, message, state, ctx);
      }
      if (handler.handleInfo === undefined) return noreply(state);
      return handler.handleInfo(message, state, ctx);
    },
  };
  if (handler.terminate !== undefined) behavior.terminate = handler.terminate;
  return behavior;
}
