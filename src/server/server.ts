/**
 * Server: Erlang's gen_server for TypeScript.
 *
 * A server is a process that keeps a state and answers calls (a request and
 * a reply), casts (a message with no reply) and any other message (info).
 * On the wire a call is `{'$gen_call', {Pid, Tag}, Request}`, the reply
 * `{Tag, Reply}`, a cast `{'$gen_cast', Msg}`, exactly as OTP, so Erlang and
 * Elixir processes call Beamline servers and the other way round.
 *
 * Callbacks return what to do next: {@link reply} (typed by the request it
 * answers), {@link noreply}, {@link stop}, {@link stopAndReply}; `init` returns {@link ok}, {@link ignore}, {@link error} or {@link stop}.
 * Any callback may be async: the server handles nothing else until it
 * settles. A reply given later goes through {@link deferReply}; what other
 * nodes send can be checked with Standard Schemas ({@link MessageSchemas}).
 *
 * @example
 * ```ts
 * type Counter = { call: [Atom<'get'>, number]; cast: Atom<'inc'> };
 * const counter: ServerBehavior<Counter, number> = {
 *   init: () => ok(0),
 *   handleCall: (req, _from, n) => reply(req, n, n),
 *   handleCast: (_msg, n) => noreply(n + 1),
 * };
 * const ref = await startServer(node, counter, undefined, { name: 'counter' });
 * node.cast(ref, atom('inc'));
 * const n = await node.call(ref, atom('get')); // 1
 * ```
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { AbortedError, BadArgumentError, BeamlineError, causeOf } from '../core/errors.js';
import type { Node, SpawnOptions } from '../core/node.js';
import type { From, Process, ProcessHandler } from '../core/process.js';
import { takeLocalCall } from '../core/calls.js';
import { RESUME, TAKES_LOCAL_CALLS } from '../core/process-core.js';
import { type CallRequest, type CastOf, type InfoOf, type Protocol, type ReplyMark, type RequestOf, ServerRef, type SharedReplyOf } from '../core/protocol.js';
import { type ExitReason, formatReason, isCleanExit, normal } from '../core/reasons.js';
import { issuesJson, type StandardSchemaIssue, type StandardSchemaResult, type StandardSchemaV1 } from '../core/standard-schema.js';

const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_EXIT = atom('EXIT');
const A_SYSTEM = atom('system');
const A_TERMINATE = atom('terminate');
const A_GET_STATE = atom('get_state');
const A_OK = atom('ok');
const A_TIMEOUT = atom('timeout');
const A_ERROR = atom('error');
const A_INVALID_MESSAGE = atom('invalid_message');
const A_DOWN = atom('DOWN');

/** Options that every "continue" result may carry. */
export interface NextOptions {
  /** Run `handleContinue(arg)` before any other message (OTP's `{continue, Arg}`). */
  readonly continue?: unknown;
  /**
   * If no message arrives within this many ms, `handleInfo` receives the atom
   * `timeout`. A system request (`getServerState`...) that arrives meanwhile
   * restarts the wait, as in OTP.
   */
  readonly timeout?: number;
  /** Hibernate until the next message (OTP's `hibernate`); see `Process.hibernate` for what that means in JavaScript. */
  readonly hibernate?: boolean;
}

/** What `init` returns. */
export type InitResult<S> =
  | { readonly type: 'ok'; readonly state: S; readonly next?: NextOptions }
  | { readonly type: 'ignore' }
  | { readonly type: 'error'; readonly reason: ExitReason }
  | { readonly type: 'stop'; readonly reason: ExitReason };

declare const checkedReply: unique symbol;

/**
 * What `handleCall` returns: {@link reply}, {@link noreply}, {@link stop} or
 * {@link stopAndReply}. A reply is built from the request it answers, so its
 * type was checked against that request's pair of the protocol.
 */
export type CallResult<S> = ReplyResult<S> | NoReplyResult<S> | StopAndReplyResult<S>;

/** Reply to the current call and continue: built by {@link reply} only. */
export interface ReplyResult<S> {
  readonly type: 'reply';
  readonly reply: unknown;
  readonly state: S;
  readonly next?: NextOptions;
  /** Type-only mark: the reply was checked against its request. */
  readonly [checkedReply]: true;
}

/** What `handleCast`, `handleInfo` and `handleContinue` return. */
export type NoReplyResult<S> = { readonly type: 'noreply'; readonly state: S; readonly next?: NextOptions } | StopResult<S, never>;

/** Stop the server with `reason`; optionally reply to the current call (after `terminate` has run, as OTP). */
export type StopResult<S, R = never> = {
  readonly type: 'stop';
  readonly reason: ExitReason;
  readonly state?: S;
  readonly reply?: R;
};

/** Stop the server and answer the current call: built by {@link stopAndReply} only. */
export type StopAndReplyResult<S> = StopResult<S, unknown> & { readonly [checkedReply]: true };

/** `init` succeeded: start with `state`. */
export function ok<S>(state: S, next?: NextOptions): InitResult<S> {
  return next === undefined ? { type: 'ok', state } : { type: 'ok', state, next };
}
/** `init` asks not to start: no process, no error (the supervisor skips the child). */
export function ignore(): { readonly type: 'ignore' } {
  return { type: 'ignore' };
}
/**
 * `init` failed in an expected way (OTP 26's `{error, Reason}`): the start
 * rejects with `reason`, the process exits `normal` (no crash report) and a
 * linked starter is not killed.
 *
 * @example
 * ```ts
 * const needsUrl: ServerBehavior<Protocol, Config, string | undefined> = {
 *   init: (url) => (url === undefined ? error('missing_url') : ok({ url })),
 * };
 * ```
 */
export function error(reason: ExitReason): { readonly type: 'error'; readonly reason: ExitReason } {
  return { type: 'error', reason: typeof reason === 'string' ? atom(reason) : reason };
}
/**
 * Replies `value` to `request` (the request `handleCall` received, narrowed
 * to one of the protocol's requests) and continues with `state`. `value` must
 * be the reply type of that request's pair: answering `get` with the reply of
 * `add` does not compile. An un-narrowed request accepts only a reply every
 * request of the protocol shares. Once every request is handled the request
 * is `never`: a last `reply(request, ...)` answers what the types say cannot
 * come (a malformed request from an Erlang caller).
 *
 * @example
 * ```ts
 * type Counter = { call: [Atom<'get'>, number] | [Tuple<[Atom<'add'>, number]>, Atom<'ok'>] };
 * handleCall(request, _from, n) {
 *   if (isTagged(request, 'add')) return reply(request, atom('ok'), n + request.elements[1]);
 *   return reply(request, n, n); // request is Atom<'get'> here: the reply is a number
 * }
 * ```
 */
export function reply<R, S>(request: ReplyMark<R>, value: NoInfer<R>, state: S, next?: NextOptions): ReplyResult<S> {
  void request;
  return (next === undefined ? { type: 'reply', reply: value, state } : { type: 'reply', reply: value, state, next }) as unknown as ReplyResult<S>;
}
/**
 * The `from` of a call, as `handleCall` receives it: a reply through it
 * (`ctx.reply(from, value)`) must fit every request of the protocol, as
 * {@link reply} on an un-narrowed request. To answer one request later,
 * keep `deferReply(request, from)` instead: typed with that request's reply.
 */
export type CallFrom<P extends Protocol> = From<SharedReplyOf<P>>;

/**
 * Keeps the `from` of `request` (narrowed to one of the protocol's requests)
 * to answer it later with `ctx.reply(from, value)`: the returned from takes
 * only that request's reply, so a deferred reply of the wrong type does not
 * compile. Runtime: returns `from` itself.
 *
 * @example
 * ```ts
 * type Kv = { call: [Tuple<[Atom<'await'>, string]>, number] | [Tuple<[Atom<'put'>, string, number]>, Atom<'ok'>] };
 * handleCall(request, from, state, ctx) {
 *   if (isTagged(request, 'await')) {
 *     state.waiting.push(deferReply(request, from)); // From<number>
 *     return noreply(state);
 *   }
 *   for (const waiter of state.waiting) ctx.reply(waiter, request.elements[2]); // a number: compiles
 *   return reply(request, atom('ok'), { waiting: [] });
 * }
 * ```
 */
export function deferReply<R>(request: ReplyMark<R>, from: From<never>): From<R> {
  void request;
  return from as From<R>;
}

/**
 * @internal For behaviors built on Server (stage, saga, raft) that forward
 * a reply their own callback already produced: a reply result without the
 * request check. Application code uses {@link reply}.
 */
export function forwardReply<S>(value: unknown, state: S, next?: NextOptions): ReplyResult<S> {
  return (next === undefined ? { type: 'reply', reply: value, state } : { type: 'reply', reply: value, state, next }) as unknown as ReplyResult<S>;
}
/** @internal As {@link forwardReply}, for a stop that answers the call. */
export function forwardStopAndReply<S>(reason: ExitReason, value: unknown, state: S): StopAndReplyResult<S> {
  return { ...stop(reason, state), reply: value } as unknown as StopAndReplyResult<S>;
}
/** @internal The method of a {@link SettleLater}; a symbol, so no state or result has it by chance. */
export const SETTLE: unique symbol = Symbol('beamline.settle');

/**
 * @internal For behaviors built on Server that run a user callback inside theirs (the TCP handler):
 * the result of `handleInfo`, `handleCast` or `handleContinue` when the user callback went async.
 * The server suspends on `promise` itself and, once it settles, takes `[SETTLE](value)` as the
 * callback's result (which may be another SettleLater); `promise.then(...)` would cost the behavior
 * a promise, a closure and a microtask more per async callback. An interface with a symbol rather
 * than a base class: constructing a subclass costs V8 a generic construct stub per object.
 * Return it cast to the callback's result type.
 */
export interface SettleLater<S> {
  readonly promise: PromiseLike<unknown>;
  /** The callback's result, from what `promise` settled with. */
  [SETTLE](value: unknown): NoReplyResult<S>;
}

function isSettleLater<S>(v: unknown): v is SettleLater<S> {
  return typeof v === 'object' && v !== null && typeof (v as { [SETTLE]?: unknown })[SETTLE] === 'function';
}

/** Continue with `state` without replying now (reply later with `ctx.reply(deferReply(request, from), value)`). */
export function noreply<S>(state: S, next?: NextOptions): { readonly type: 'noreply'; readonly state: S; readonly next?: NextOptions } {
  return next === undefined ? { type: 'noreply', state } : { type: 'noreply', state, next };
}
/** Stop with `reason` (string for an atom: `'normal'`); `terminate` runs with `state`. A call in progress gets no reply (see {@link stopAndReply}). */
export function stop<S = never>(reason: ExitReason, state?: S): StopResult<S> {
  const r = typeof reason === 'string' ? atom(reason) : reason;
  const base: { type: 'stop'; reason: ExitReason; state?: S } = { type: 'stop', reason: r };
  if (state !== undefined) base.state = state;
  return base;
}
/**
 * OTP's `{stop, Reason, Reply, State}` from `handleCall`: `terminate` runs
 * with `state`, then `value` answers `request` (typed as in {@link reply}),
 * then the server exits with `reason`.
 */
export function stopAndReply<R, S>(request: ReplyMark<R>, reason: ExitReason, value: NoInfer<R>, state: S): StopAndReplyResult<S> {
  void request;
  return { ...stop(reason, state), reply: value } as unknown as StopAndReplyResult<S>;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Standard Schemas (Zod, Valibot, ArkType... or any object with
 * `~standard`; types only, no dependency) for what a server receives. Each
 * must validate into the protocol's type, and the callback gets the
 * validated (possibly transformed) value. A message that fails its schema
 * never reaches the callback: it is logged at `warn` with its issues, the
 * state is unchanged, and a call is answered
 * `{error, {invalid_message, Issues}}` (see {@link InvalidMessageReply}) so the
 * caller, an Erlang process included, gets a clear error rather than a timeout.
 */
export interface MessageSchemas<P extends Protocol> {
  /** The request of every `{'$gen_call', From, Request}`. */
  readonly call?: StandardSchemaV1<unknown, RequestOf<P>>;
  /** The message of every `{'$gen_cast', Message}`. */
  readonly cast?: StandardSchemaV1<unknown, CastOf<P>>;
  /**
   * Every other message, except what the runtime itself delivers to
   * `handleInfo` (`{'EXIT', Pid, Reason}` from a trapped link, `{'DOWN',
   * Ref, process, Pid, Reason}` from a monitor, the server's own `timeout`),
   * which reach `handleInfo` unvalidated. An invalid one is logged and dropped.
   */
  readonly info?: StandardSchemaV1<unknown, InfoOf<P>>;
}

/** One issue of an {@link InvalidMessageReply}: an Erlang map `#{message => Binary, path => [Key]}`. */
export interface InvalidMessageIssue {
  readonly message: string;
  readonly path: ReadonlyArray<string | number>;
}

/**
 * The reply to a call whose request failed the server's `validate.call`
 * schema: `{error, {invalid_message, [#{message => <<"...">>, path => [...]}]}}`.
 */
export type InvalidMessageReply = Tuple<[Atom<'error'>, Tuple<[Atom<'invalid_message'>, InvalidMessageIssue[]]>]>;

/**
 * Whether a call's reply is the {@link InvalidMessageReply} of a server
 * whose schema refused the request.
 *
 * @example
 * ```ts
 * const r: unknown = await node.call('kv', anything);
 * if (isInvalidMessage(r)) console.log(r.elements[1].elements[1]); // the issues
 * ```
 */
export function isInvalidMessage(reply: unknown): reply is InvalidMessageReply {
  if (!(reply instanceof Tuple) || reply.elements.length !== 2 || reply.elements[0] !== A_ERROR) return false;
  const detail = reply.elements[1];
  return detail instanceof Tuple && detail.elements.length === 2 && detail.elements[0] === A_INVALID_MESSAGE && Array.isArray(detail.elements[1]);
}

/**
 * The callbacks of a server speaking protocol `P`, with state `S`, started
 * with arguments `A`. Only `init` is required. `ctx` is the server's process.
 */
export interface ServerBehavior<P extends Protocol, S, A = undefined> {
  /** A name for process info; default `'server'`. */
  readonly behavior?: string;
  /**
   * Schemas that check calls, casts and other messages before the callbacks
   * see them: what a remote node (or an untyped caller) sends is not checked
   * by the compiler. See {@link MessageSchemas}.
   */
  readonly validate?: MessageSchemas<P>;
  init(args: A, ctx: Process): MaybePromise<InitResult<S>>;
  /**
   * Answers a call. `request` carries (in its type) the reply of its pair:
   * narrow it and answer with `reply(request, value, state)`. To answer
   * later, keep `deferReply(request, from)` and call `ctx.reply` with it;
   * `from` itself takes only a reply every request shares.
   */
  handleCall?(request: CallRequest<P>, from: CallFrom<P>, state: S, ctx: Process): MaybePromise<CallResult<S>>;
  handleCast?(message: CastOf<P>, state: S, ctx: Process): MaybePromise<NoReplyResult<S>>;
  /** Every message that is not a call or a cast: `{'EXIT', ...}`, `{'DOWN', ...}`, timers, `timeout`... */
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<NoReplyResult<S>>;
  handleContinue?(arg: unknown, state: S, ctx: Process): MaybePromise<NoReplyResult<S>>;
  /**
   * Runs when the server stops: on a stop result, on a crash of a callback,
   * on a stop asked by `stopServer`, and on an exit signal from its parent
   * (the process that started it with a link) when it traps exits. Not when
   * killed. A server started without a link has no parent: an exit signal
   * from its starter goes to `handleInfo` like any other.
   */
  terminate?(reason: ExitReason, state: S, ctx: Process): MaybePromise<void>;
}

/** Options of {@link startServer}. */
export interface StartOptions extends Omit<SpawnOptions, 'link'> {
  /** Link the server to the starting process (start_link). Needs a process as starter. */
  readonly link?: boolean;
  /** Fail the start if `init` has not returned within this many ms (the process is killed). Default: no limit. */
  readonly timeout?: number;
  /** Cancels the start: the process is killed if `init` has not returned, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** The node of each started server, for `stop()` and `await using` (subclasses keep their constructors). */
const owners = new WeakMap<Pid, Node>();

/** @internal The node a started server runs on, if it was started by {@link startServer}. */
export function nodeOfStarted(pid: Pid): Node | undefined {
  return owners.get(pid);
}

/**
 * A started server: a typed reference that also knows its pid, and stops the
 * server when disposed (`await using server = await startServer(...)`).
 * Supervisors, pools and the web, TCP and UDP listeners are started servers too.
 */
export class StartedServer<P extends Protocol> extends ServerRef<P> implements AsyncDisposable {
  constructor(
    readonly pid: Pid,
    /** The node it runs on; given by `startServer`, needed by {@link StartedServer.stop}. */
    node?: Node,
  ) {
    super(pid);
    if (node !== undefined) owners.set(pid, node);
  }

  /**
   * Stops the server as {@link stopServer} does (`terminate` runs with
   * `reason`, default `normal`) and resolves once it has exited; at once if
   * it is not alive. While its node is stopping, waits for the node to end it.
   */
  async stop(reason: ExitReason = normal): Promise<void> {
    const node = owners.get(this.pid);
    if (node === undefined) throw new BadArgumentError(`${this.pid.describe()} was not started by startServer on this process's node`);
    if (!node.isAlive(this.pid)) return;
    if (!node.alive) {
      await node.waitExit(this.pid);
      return;
    }
    await stopServer(node, this.pid, reason).catch((err: unknown) => {
      if (node.isAlive(this.pid)) throw err; // it exited meanwhile: stopped all the same
    });
  }

  /** `await using`: {@link StartedServer.stop} with `normal`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** `init` failed: threw, rejected, returned `stop(reason)` (`reason` is the exit reason) or `error(reason)` (the process exited `normal`). */
export class InitFailedError extends BeamlineError {
  override name = 'InitFailedError';
  override readonly code = 'init_failed';
  constructor(readonly reason: ExitReason) {
    super(`server init failed: ${formatReason(reason)}`, causeOf(reason));
  }
}

/** `init` returned `ignore()`: no server was started. */
export class InitIgnoredError extends BeamlineError {
  override name = 'InitIgnoredError';
  override readonly code = 'init_ignored';
  constructor() {
    super('server init returned ignore');
  }
}

/** `init` did not return within the start timeout. */
export class InitTimeoutError extends BeamlineError {
  override name = 'InitTimeoutError';
  override readonly code = 'init_timeout';
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

interface Ack {
  ok(): void;
  fail(err: Error): void;
}

/**
 * What the runtime itself hands to `handleInfo`: `{'EXIT', From, Reason}`
 * (a trapped exit signal) and `{'DOWN', Ref, Type, Object, Info}` (a monitor).
 * An `info` schema does not see them.
 */
function isRuntimeMessage(message: unknown): boolean {
  if (!(message instanceof Tuple)) return false;
  const e = message.elements;
  return (e[0] === A_EXIT && e.length === 3) || (e[0] === A_DOWN && e.length === 5);
}

/** The process handler that runs a {@link ServerBehavior}. */
class ServerProcess<P extends Protocol, S, A> implements ProcessHandler {
  readonly behavior: string;
  /** A local call reaches the server as its waiter (see `takeLocalCall`), not as a `$gen_call` tuple built for it. */
  readonly [TAKES_LOCAL_CALLS] = true;
  private state!: S;
  private timeoutTimer: { cancel(): boolean } | undefined;
  private timeoutRef = 0;
  /** The timeout the last callback asked for (ms), while its timer runs. */
  private timeoutMs = 0;
  private readonly schemas: MessageSchemas<P> | undefined;
  /**
   * What an async `handleCall` (1) or `handleCast`/`handleInfo`/`handleContinue` (2) the process is
   * suspended on continues with, once the run loop hands its outcome to {@link ServerProcess[RESUME]}; 0: none.
   */
  private pending: 0 | 1 | 2 = 0;
  private pendingFrom: CallFrom<P> | undefined;
  private pendingWhich: 'handleCast' | 'handleInfo' | 'handleContinue' = 'handleInfo';
  /** Set when the pending callback returned a {@link SettleLater}: what turns the settled value into its result. */
  private pendingSettle: SettleLater<S> | undefined;

  constructor(
    private readonly impl: ServerBehavior<P, S, A>,
    private readonly args: A,
    private readonly ack: Ack | undefined,
    private readonly linkedTo: Pid | undefined,
  ) {
    this.behavior = impl.behavior ?? 'server';
    this.schemas = impl.validate;
  }

  init(ctx: Process): void | Promise<void> {
    let result: MaybePromise<InitResult<S>>;
    try {
      result = this.impl.init(this.args, ctx);
    } catch (err) {
      return this.initFailed(ctx, err);
    }
    if (isThenable(result)) return result.then((r) => this.initDone(ctx, r), (err) => this.initFailed(ctx, err));
    return this.initDone(ctx, result);
  }

  private initDone(ctx: Process, result: InitResult<S>): void | Promise<void> {
    switch (result?.type) {
      case 'ok':
        this.state = result.state;
        this.ack?.ok();
        return this.next(ctx, result.next);
      case 'ignore':
        if (this.linkedTo !== undefined) ctx.unlink(this.linkedTo);
        this.ack?.fail(new InitIgnoredError());
        ctx.exit(normal);
        break;
      case 'error':
        // OTP 26: {error, Reason} exits normal: no crash report, a linked starter lives on.
        if (this.linkedTo !== undefined) ctx.unlink(this.linkedTo);
        this.ack?.fail(new InitFailedError(result.reason));
        ctx.exit(normal);
        break;
      case 'stop':
        return this.initFailed(ctx, result.reason, true);
      default:
        return this.initFailed(ctx, new TypeError(`init returned ${formatReason(result)}; expected ok(state), ignore() or stop(reason)`));
    }
  }

  /** `init` returned stop(R) or threw R: the process exits with R; the link carries it to the starter (OTP 26+). */
  private initFailed(ctx: Process, reason: unknown, quiet = false): never {
    if (!quiet && reason instanceof Error)
      ctx.logger.error({ err: reason }, `server init failed: ${reason.message}`);
    this.ack?.fail(new InitFailedError(reason));
    ctx.exit(reason);
  }

  handleMessage(message: unknown, ctx: Process): void | Promise<void> {
    const timing = this.timeoutTimer !== undefined;
    if (timing) {
      (this.timeoutTimer as { cancel(): boolean }).cancel();
      this.timeoutTimer = undefined;
    }
    if (message instanceof Tuple) {
      const call = takeLocalCall(message);
      if (call !== undefined) {
        // `{'$gen_call', From, Request}` from a local caller: the call's waiter is its From.
        const from = call as unknown as CallFrom<P>;
        return this.schemas?.call === undefined
          ? this.onCall(call.request as CallRequest<P>, from, ctx)
          : this.validated(ctx, this.schemas.call, 'call', call.request, timing, from as From);
      }
      const e = message.elements;
      const tag = e[0];
      if (tag === A_GEN_CALL && e.length === 3) {
        const from = e[1];
        if (from instanceof Tuple && from.elements.length === 2 && from.elements[0] instanceof Pid)
          return this.schemas?.call === undefined
            ? this.onCall(e[2] as CallRequest<P>, from as CallFrom<P>, ctx)
            : this.validated(ctx, this.schemas.call, 'call', e[2], timing, from as From);
      } else if (tag === A_GEN_CAST && e.length === 2) {
        return this.schemas?.cast === undefined
          ? this.onNoReply(ctx, 'handleCast', e[1])
          : this.validated(ctx, this.schemas.cast, 'cast', e[1], timing, undefined);
      } else if (tag === A_EXIT && e.length === 3 && this.linkedTo !== undefined && this.linkedTo.equals(e[1]) && ctx.trapExit) {
        // The parent (the linked starter, a supervisor) asks us to stop: terminate, then exit with its reason.
        return this.terminate(ctx, e[2]);
      } else if (tag === A_SYSTEM && e.length === 3) {
        const done = this.onSystem(ctx, e[1], e[2]);
        // A system request does not consume the callback's timeout: the wait starts again (OTP's sys loop).
        if (timing && done === undefined && ctx.alive) this.armTimeout(ctx, this.timeoutMs);
        return done;
      } else if (typeof tag === 'number' && tag === this.timeoutRef && e.length === 2 && e[1] === A_TIMEOUT) {
        return this.onNoReply(ctx, 'handleInfo', A_TIMEOUT);
      }
    }
    const info = this.schemas?.info;
    if (info !== undefined && !isRuntimeMessage(message))
      return this.validated(ctx, info, 'info', message, timing, undefined);
    return this.onNoReply(ctx, 'handleInfo', message);
  }

  /**
   * Validates `message` with `schema` and handles the validated value as a `kind` ({@link ServerProcess.accepted});
   * an invalid message is logged, answered when it is a call (`from`), and otherwise leaves the server as it was
   * (a running timeout starts again, as after a system message).
   *
   * No closure is made in {@link ServerProcess.handleMessage} for this: a closure there would capture `ctx` (and the
   * call's `from`), and V8 makes the context of captured variables on entry, for every message of every Server,
   * once optimized code has seen a validated message.
   */
  private validated(
    ctx: Process,
    schema: StandardSchemaV1,
    kind: 'call' | 'cast' | 'info',
    message: unknown,
    timing: boolean,
    from: From | undefined,
  ): void | Promise<void> {
    const settle = (r: StandardSchemaResult<unknown>): void | Promise<void> => {
      if (r.issues === undefined) return this.accepted(ctx, kind, r.value, from);
      this.refuse(ctx, kind, message, r.issues, from);
      if (timing && ctx.alive) this.armTimeout(ctx, this.timeoutMs);
    };
    let r: StandardSchemaResult<unknown> | Promise<StandardSchemaResult<unknown>>;
    try {
      r = schema['~standard'].validate(message);
    } catch (err) {
      return this.crash(ctx, err);
    }
    return isThenable(r) ? r.then(settle, (err) => this.crash(ctx, err)) : settle(r);
  }

  /** A message its schema accepted (`value`), handled as the `kind` it came as. */
  private accepted(ctx: Process, kind: 'call' | 'cast' | 'info', value: unknown, from: From | undefined): void | Promise<void> {
    if (kind === 'call') return this.onCall(value as CallRequest<P>, from as unknown as CallFrom<P>, ctx);
    return this.onNoReply(ctx, kind === 'cast' ? 'handleCast' : 'handleInfo', value);
  }

  private refuse(ctx: Process, kind: 'call' | 'cast' | 'info', message: unknown, issues: ReadonlyArray<StandardSchemaIssue>, from: From | undefined): void {
    const list = issuesJson(issues);
    const lines = list.map((i) => (i.path.length > 0 ? `${i.message} (at ${i.path.join('.')})` : i.message));
    const caller = from?.elements[0];
    ctx.logger.warn(
      { kind, message: formatReason(message), issues: lines, ...(caller !== undefined ? { from: String(caller) } : {}) },
      `server refused an invalid ${kind}${caller !== undefined ? ` from ${String(caller)}` : ''}: ${lines[0] ?? 'the schema gave no issue'}`,
    );
    if (from !== undefined) ctx.reply(from, tuple(A_ERROR, tuple(A_INVALID_MESSAGE, list)));
  }

  private onCall(request: CallRequest<P>, from: CallFrom<P>, ctx: Process): void | Promise<void> {
    const handler = this.impl.handleCall;
    if (handler === undefined) return this.crash(ctx, new TypeError(`server ${String(ctx.self)} has no handleCall for ${formatReason(request)}`));
    let result: MaybePromise<CallResult<S>>;
    try {
      result = handler.call(this.impl, request, from, this.state, ctx);
    } catch (err) {
      return this.crash(ctx, err);
    }
    if (isThenable(result)) {
      // The run loop suspends the process on the callback's own promise and resumes it here: no promise of ours.
      this.pending = 1;
      this.pendingFrom = from;
      return result as PromiseLike<unknown> as Promise<void>; // its value reaches [RESUME], not the run loop
    }
    return this.afterCall(ctx, from, result);
  }

  /** The run loop's continuation: the async callback the process was suspended on settled (`ok`) or rejected. */
  [RESUME](value: unknown, ctx: Process, ok: boolean): void | Promise<void> {
    const pending = this.pending;
    if (pending === 0) {
      if (ok) return;
      throw value; // one of our own promises (init, terminate...) rejected: the process crashes with it
    }
    this.pending = 0;
    const later = this.pendingSettle;
    this.pendingSettle = undefined;
    if (!ok) return this.crash(ctx, value);
    if (pending === 1) {
      const from = this.pendingFrom as CallFrom<P>;
      this.pendingFrom = undefined;
      return this.afterCall(ctx, from, value as CallResult<S>);
    }
    if (later === undefined) return this.afterNoReply(ctx, this.pendingWhich, value as NoReplyResult<S>);
    let result: NoReplyResult<S>;
    try {
      result = later[SETTLE](value);
    } catch (err) {
      return this.crash(ctx, err);
    }
    return this.afterNoReply(ctx, this.pendingWhich, result);
  }

  private afterCall(ctx: Process, from: CallFrom<P>, result: CallResult<S>): void | Promise<void> {
    switch (result?.type) {
      case 'reply':
        this.state = result.state;
        ctx.reply(from as From, result.reply);
        return this.next(ctx, result.next);
      case 'noreply':
        this.state = result.state;
        return this.next(ctx, result.next);
      case 'stop':
        if (result.state !== undefined) this.state = result.state;
        return this.stopFromCall(ctx, from, result);
      default:
        return this.crash(ctx, new TypeError(`handleCall returned ${formatReason(result)}; expected reply(), noreply() or stop()`));
    }
  }

  /**
   * `handleCall` returned `stop` (with a reply or not). Its own method: the closure that sends the reply captures
   * `ctx`, `from` and `result`, and in {@link ServerProcess.afterCall} their context would be made on every call.
   */
  private stopFromCall(ctx: Process, from: CallFrom<P>, result: StopAndReplyResult<S> | StopResult<S>): void | Promise<void> {
    // OTP order: terminate runs first, the reply goes out after it, then the process exits.
    return this.terminate(ctx, result.reason, 'reply' in result ? () => ctx.reply(from as From, result.reply) : undefined);
  }

  private onNoReply(ctx: Process, which: 'handleCast' | 'handleInfo' | 'handleContinue', message: unknown): void | Promise<void> {
    const handler = this.impl[which] as ((m: unknown, s: S, c: Process) => MaybePromise<NoReplyResult<S>>) | undefined;
    if (handler === undefined) {
      if (which === 'handleInfo') {
        ctx.logger.warn({ message: formatReason(message) }, 'server received an unexpected message');
        return;
      }
      return this.crash(ctx, new TypeError(`server ${String(ctx.self)} has no ${which} for ${formatReason(message)}`));
    }
    let result: MaybePromise<NoReplyResult<S>>;
    try {
      result = handler.call(this.impl, message, this.state, ctx);
    } catch (err) {
      return this.crash(ctx, err);
    }
    if (isThenable(result)) {
      this.pending = 2;
      this.pendingWhich = which;
      return result as PromiseLike<unknown> as Promise<void>; // its value reaches [RESUME], not the run loop
    }
    return this.afterNoReply(ctx, which, result);
  }

  private afterNoReply(ctx: Process, which: 'handleCast' | 'handleInfo' | 'handleContinue', result: NoReplyResult<S>): void | Promise<void> {
    switch (result?.type) {
      case 'noreply':
        this.state = result.state;
        return this.next(ctx, result.next);
      case 'stop':
        if (result.state !== undefined) this.state = result.state;
        return this.terminate(ctx, result.reason);
      default:
        if (isSettleLater<S>(result as unknown)) {
          // A behavior's async callback: the run loop suspends on the user's promise, [RESUME] settles it.
          const later = result as unknown as SettleLater<S>;
          this.pending = 2;
          this.pendingWhich = which;
          this.pendingSettle = later;
          return later.promise as PromiseLike<unknown> as Promise<void>;
        }
        return this.crash(ctx, new TypeError(`${which} returned ${formatReason(result)}; expected noreply() or stop()`));
    }
  }

  /** Applies `continue`, `timeout` and `hibernate` of a result. */
  private next(ctx: Process, next: NextOptions | undefined): void | Promise<void> {
    if (next === undefined) return;
    if (next.timeout !== undefined && next.timeout !== Infinity) this.armTimeout(ctx, next.timeout);
    if ('continue' in next) return this.onNoReply(ctx, 'handleContinue', next.continue);
    if (next.hibernate === true) ctx.hibernate();
  }

  private armTimeout(ctx: Process, ms: number): void {
    const ref = ++this.timeoutRef;
    this.timeoutMs = ms;
    this.timeoutTimer = ctx.sendAfter(ctx.self, tuple(ref, A_TIMEOUT), ms);
  }

  private onSystem(ctx: Process, from: unknown, request: unknown): void | Promise<void> {
    const validFrom = from instanceof Tuple && from.elements.length === 2 && from.elements[0] instanceof Pid;
    if (request instanceof Tuple && request.elements.length === 2 && request.elements[0] === A_TERMINATE) {
      const reason = request.elements[1];
      const done = this.runTerminate(ctx, reason);
      const finish = (): void => {
        if (validFrom) ctx.reply(from as From, A_OK);
        ctx.stop(reason);
      };
      return isThenable(done) ? done.then(finish) : finish();
    }
    if (!validFrom) return;
    if (request === A_GET_STATE) ctx.reply(from as From, this.state);
    else ctx.reply(from as From, tuple(A_ERROR, atom('unknown_system_msg')));
  }

  private runTerminate(ctx: Process, reason: ExitReason): void | Promise<void> {
    const t = this.impl.terminate;
    if (t === undefined) return;
    try {
      const r = t.call(this.impl, reason, this.state, ctx);
      if (isThenable(r))
        return r.then(undefined, (err) => ctx.logger.error({ err }, `server terminate failed: ${formatReason(err)}`));
    } catch (err) {
      ctx.logger.error({ err }, `server terminate failed: ${formatReason(err)}`);
    }
  }

  /** Runs `terminate`, then `after` (a pending reply), then exits with `reason`. */
  private terminate(ctx: Process, reason: ExitReason, after?: () => void): void | Promise<void> {
    const done = this.runTerminate(ctx, reason);
    const finish = (): void => {
      after?.();
      if (!isCleanExit(reason)) ctx.logger.error({ reason: formatReason(reason) }, 'server terminating');
      ctx.stop(reason);
    };
    return isThenable(done) ? done.then(finish) : finish();
  }

  /** A callback threw: OTP runs terminate with the error, then the process exits with it. */
  private crash(ctx: Process, err: unknown): void | Promise<void> {
    if (err !== null && typeof err === 'object' && err.constructor.name === 'ProcessExit') throw err;
    // Already ended while the callback ran (killed, or by a link, inside a call run to its end): the
    // callback's throw is that call failing. A process that was killed runs no terminate (OTP).
    if (!ctx.alive) return;
    if (err instanceof Error) ctx.logger.error({ err }, `server crashed: ${err.message}`);
    const done = this.runTerminate(ctx, err);
    const finish = (): void => ctx.stop(err);
    return isThenable(done) ? done.then(finish) : finish();
  }
}

/**
 * Starts a server and waits for its `init`. From a process, `link: true`
 * links it to the caller (start_link) and makes the caller its parent.
 * Resolves with a typed reference that knows the pid; rejects with
 * {@link InitFailedError} (the reason `init` gave or threw),
 * {@link InitIgnoredError}, or {@link InitTimeoutError}.
 *
 * A failed start rejects once the process has exited, with OTP 26+'s
 * synchronous semantics: when `init` returns `stop(R)` or throws R, the
 * link carries R to the caller, so a caller that does not trap exits is
 * killed with R; a caller that traps exits gets the rejection and its
 * `{'EXIT', Pid, R}` is taken out of its mailbox. `ignore()` and `error(R)`
 * exit `normal` and never kill the caller.
 */
export function startServer<P extends Protocol, S, A>(
  starter: Node | Process,
  behavior: ServerBehavior<P, S, A>,
  args: A,
  options: StartOptions = {},
): Promise<StartedServer<P>> {
  return new Promise<StartedServer<P>>((resolve, reject) => {
    let pid: Pid | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    /** Removes the abort listener once the start has settled. */
    let detach: (() => void) | undefined;
    /** Why the start failed, as the server said; the rejection waits for its exit. */
    let failure: Error | undefined;
    const ack: Ack = {
      ok: () => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        detach?.();
        resolve(new StartedServer<P>(pid as Pid, node));
      },
      fail: (err) => {
        failure ??= err;
      },
    };
    const isProcess = 'self' in starter;
    const node = isProcess ? (starter as Process).node : (starter as Node);
    const link = options.link === true;
    if (link && !isProcess) {
      reject(new TypeError('startServer: link needs a process as starter'));
      return;
    }
    const { timeout, signal, ...spawnOptions } = options;
    if (signal?.aborted === true) {
      reject(new AbortedError('server start aborted', signal.reason));
      return;
    }
    const linkedTo = link ? (starter as Process).self : undefined;
    const handler = new ServerProcess<P, S, A>(behavior, args, ack, linkedTo);
    try {
      pid = starter.spawn(handler, spawnOptions);
    } catch (err) {
      reject(err);
      return;
    }
    const started = pid;
    // A failed start settles once the process has exited (killed during init included); like
    // OTP 26's proc_lib, a trapping starter's {'EXIT', Pid, _} from the link is consumed.
    node.waitExit(started).then((reason) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      detach?.();
      if (linkedTo !== undefined) (starter as Process).takeExit(started);
      reject(failure ?? new InitFailedError(reason));
    });
    const giveUp = (why: Error): void => {
      if (settled) return;
      if (linkedTo !== undefined) (starter as Process).unlink(started);
      failure ??= why;
      node.exit(started, atom('kill'));
    };
    if (timeout !== undefined && timeout !== Infinity)
      timer = setTimeout(() => giveUp(new InitTimeoutError(`server init did not return within ${timeout} ms`)), timeout);
    if (signal !== undefined) {
      const onAbort = (): void => giveUp(new AbortedError('server start aborted', signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      detach = () => signal.removeEventListener('abort', onAbort);
    }
  });
}

/**
 * Stops a server the way `gen_server:stop/3` does: it runs `terminate` with
 * `reason` (default `normal`) and exits. Resolves once it has exited; rejects
 * with a CallExitError if it is not alive, or a CallTimeoutError.
 */
export async function stopServer<P extends Protocol>(
  from: Node | Process,
  server: ServerRef<P> | Pid | string | Atom,
  reason: ExitReason = normal,
  timeout = Infinity,
): Promise<void> {
  const r = typeof reason === 'string' ? atom(reason) : reason;
  const dest = server instanceof ServerRef ? server.dest : server;
  // The system message is a call whose request is {terminate, Reason}; the reply comes just before the exit.
  await callSystem(from, dest, tuple(A_TERMINATE, r), timeout);
}

/** Reads a server's state (`sys:get_state/1`). */
export function getServerState<P extends Protocol>(from: Node | Process, server: ServerRef<P> | Pid | string | Atom, timeout = 5000): Promise<unknown> {
  const dest = server instanceof ServerRef ? server.dest : server;
  return callSystem(from, dest, A_GET_STATE, timeout);
}

function callSystem(from: Node | Process, dest: ServerRef<Protocol>['dest'], request: unknown, timeout: number): Promise<unknown> {
  // `{system, From, Request}`, answered with `{Tag, Reply}` like a call.
  return from.call(dest, request, { timeout, label: A_SYSTEM });
}

