/**
 * Process: the handle a process's code acts through (send, call, link,
 * monitor, spawn, exit) and the {@link ProcessHandler} that defines a process.
 *
 * A process is defined by a {@link ProcessHandler}. The runtime gives it one
 * message at a time; if the handler returns a promise, the process handles
 * nothing else until the promise settles, while its mailbox keeps filling.
 * A handler that throws (or a promise that rejects) crashes the process with
 * the error as its exit reason.
 * @module
 */
import type { NodeLogger } from './logger.js';
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import type { Tuple } from '../terms/tuple.js';
import { processInfo, type ProcessInfo } from './info.js';
import { type ProcessCore, ProcessExit, State } from './process-core.js';
import type { Address, CallOptions, CastOf, Destination, InfoOf, Protocol, ReplyTo, RequestOf, ServerRef } from './protocol.js';
import type { ExitReason } from './reasons.js';
import type { Runtime } from './runtime.js';
import type { AliasOptions } from './registry.js';
import type { SpawnOptions } from './spawn.js';
import type { TimerHandle } from './timers.js';

export type { ProcessInfo, ProcessStatus } from './info.js';

/**
 * The type of a process's node. node.ts declares it by declaration merging
 * (`interface ProcessNodeType { node: Node }`), so that this file, which
 * node.ts builds on, imports nothing from node.ts.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by node.ts
export interface ProcessNodeType {}
type NodeOfProcess = ProcessNodeType extends { readonly node: infer N } ? N : never;

export interface ProcessHandler<M = unknown> {
  /** A name for process info (`'server'`, `'supervisor'`...). */
  readonly behavior?: string;
  /** Runs first, inside the process, before any message. */
  init?(proc: Process): void | PromiseLike<void>;
  /**
   * Handles one message: an ordinary message, or `{'EXIT', From, Reason}` /
   * `{'DOWN', ...}` / `{nodedown, Node}`, all in the order their senders sent
   * them (a result sent before an exit is handled before the EXIT or DOWN).
   */
  handleMessage(message: M, proc: Process): void | PromiseLike<void>;
  /**
   * Runs synchronously once the process has exited, whatever the reason
   * (killed included), to release resources such as sockets. It cannot stop
   * the exit; messages it sends go out with the dead process as sender.
   */
  cleanup?(reason: ExitReason, proc: Process): void;
}

/**
 * The `{Pid, Tag}` of a call, as it arrives in `{'$gen_call', From, Request}`.
 * The type parameter is the reply type the caller expects (compile time only).
 * A from is where a reply goes, so it is contravariant: a `From<number>`
 * is not a `From<unknown>` (that would let any value answer a caller
 * expecting a number), while a `From<unknown>` fits wherever a `From<number>` does.
 */
export type From<R = unknown> = Tuple<[Pid, unknown]> & { readonly [replyType]?: (reply: R) => void };
declare const replyType: unique symbol;

/**
 * The handle a process's code acts through. Handlers receive it as their
 * last argument; it stays valid after the process exits, but then sends are
 * dropped and calls fail.
 */
export class Process {
  /** @internal */
  readonly core: ProcessCore;
  /** @internal */
  readonly rt: Runtime;
  /** @internal */
  constructor(core: ProcessCore, rt: Runtime) {
    this.core = core;
    this.rt = rt;
  }

  /** This process's pid (Erlang's `self()`). */
  get self(): Pid {
    return this.core.pid;
  }
  /** The node this process runs on. */
  get node(): NodeOfProcess {
    return this.rt.node as NodeOfProcess;
  }
  /**
   * This process's logger: the node's, bound to `{ pid, name, behavior }`
   * (its registered name and behavior when it has them).
   */
  get logger(): NodeLogger {
    const core = this.core;
    const bindings: { pid: string; name?: string; behavior?: string } = { pid: String(core.pid) };
    if (core.name !== undefined) bindings.name = core.name.name;
    if (core.handler.behavior !== undefined) bindings.behavior = core.handler.behavior;
    return this.rt.kernel.logger.child(bindings);
  }
  /** The process that spawned this one, if any. */
  get parent(): Pid | undefined {
    return this.core.parent;
  }
  /** True until the process has exited. */
  get alive(): boolean {
    return this.core.state !== State.Exited;
  }
  /** Aborted when the process exits, with the exit reason; pass it to I/O the handler starts. */
  get signal(): AbortSignal {
    const core = this.core;
    if (core.abort === undefined) {
      core.abort = new AbortController();
      if (core.state === State.Exited) core.abort.abort(core.exitReason);
    }
    return core.abort.signal;
  }

  /** Sends `message` to `to`; never fails, never blocks. A dead or unknown destination drops it. */
  send<P extends Protocol>(to: ServerRef<P>, message: InfoOf<P>): void;
  send(to: Address, message: unknown): void;
  send(to: Destination, message: unknown): void {
    if (this.core.state !== State.Exited) this.rt.router.send(this.core.pid, to, message);
  }

  /**
   * @internal Sends from an event this process owns and no process's run is handling (a socket's
   * data): `to`, a local process with nothing to do, handles `message` now rather than on the
   * scheduler's next run (see Router.sendNow). Used by the TCP and Web front doors.
   */
  sendNow(to: Pid, message: unknown): void {
    if (this.core.state !== State.Exited) this.rt.router.sendNow(this.core.pid, to, message);
  }

  /**
   * Sends a priority message (EEP 76, Erlang's `erlang:send(To, Msg, [priority])`):
   * to an active priority alias (see {@link Process.alias}), here or on an
   * OTP 28+ or Beamline node, it is received after the priority messages
   * already queued there and before every ordinary one. To any other
   * destination it is an ordinary message, as in Erlang.
   * @example
   * const urgent = proc.alias({ priority: true });
   * proc.send(proc.self, 'first');
   * proc.sendPriority(urgent, 'cancel'); // received before 'first'
   */
  sendPriority<P extends Protocol>(to: ServerRef<P>, message: InfoOf<P>): void;
  sendPriority(to: Address, message: unknown): void;
  sendPriority(to: Destination, message: unknown): void {
    if (this.core.state !== State.Exited) this.rt.router.send(this.core.pid, to, message, true);
  }

  /** Like {@link Process.send}, but returns false when a local name is not registered (Erlang's `badarg`). */
  trySend(to: Destination, message: unknown): boolean {
    if (this.core.state === State.Exited) return false;
    return this.rt.router.send(this.core.pid, to, message);
  }

  /** Sends `message` to `to` after `ms` milliseconds; the handle cancels it. */
  sendAfter(to: Destination, message: unknown, ms: number): TimerHandle {
    return this.rt.timers.sendAfter(this.core.pid, to, message, ms);
  }

  /** Calls a server (`{'$gen_call', ...}`) and waits for the reply. See {@link Node.call}. */
  call<P extends Protocol, Q extends RequestOf<P>>(to: ServerRef<P>, request: Q, options?: CallOptions): Promise<ReplyTo<P, Q>>;
  call(to: Address, request: unknown, options?: CallOptions): Promise<unknown>;
  call(to: Destination, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.rt.calls.call(this.core, to, request, options);
  }

  /**
   * Calls a server, then continues with `then(reply)`: at once, before `callThen` returns and
   * with no promise, when the reply comes at once (a local Server with nothing else to do that
   * answers its call at once: such a call runs to its end inside, see {@link Node.call}); else
   * once the reply comes, and `callThen` returns the promise of `then`'s result. For a callback
   * that may return either a value or a promise (a TCP handler's `handleData`, a Server's
   * callbacks): in the common case the call costs no promise, no async function and no `await`.
   * A call that fails at once throws its error, as `await ctx.call(...)` would; one that fails
   * later rejects the promise returned.
   *
   * @example
   * ```ts
   * handleData(conn, line, s, ctx) {
   *   return ctx.callThen(kv, tuple(GET, line.toString()), (found) => {
   *     conn.send(found instanceof Tuple ? 'FOUND' : 'NOT_FOUND');
   *     return s;
   *   });
   * }
   * ```
   */
  callThen<P extends Protocol, Q extends RequestOf<P>, T>(to: ServerRef<P>, request: Q, then: (reply: ReplyTo<P, Q>) => T, options?: CallOptions): T | Promise<Awaited<T>>;
  callThen<T>(to: Address, request: unknown, then: (reply: unknown) => T, options?: CallOptions): T | Promise<Awaited<T>>;
  callThen<T>(to: Destination, request: unknown, then: (reply: never) => T, options?: CallOptions): T | Promise<Awaited<T>> {
    return this.rt.calls.callThen(this.core, to, request, then as (reply: unknown) => T, undefined, options);
  }

  /**
   * {@link Process.callThen} with `arg` handed to `then` as its second argument, so that `then`
   * can be one function made once (a module-level function) rather than a closure made for each
   * call: on a hot path, the call then allocates nothing of its own beyond the request.
   *
   * @example
   * ```ts
   * // Made once: the connection comes as the argument, not from a closure.
   * function answer(found: Tuple<[Atom<'ok'>, unknown]> | Atom<'not_found'>, conn: TcpConnection): undefined {
   *   conn.send(found instanceof Tuple ? 'FOUND' : 'NOT_FOUND');
   *   return undefined;
   * }
   * const lookup: TcpHandler<undefined> = {
   *   init: () => ok(undefined),
   *   handleData: (conn, line, s, ctx) => ctx.callThenWith(kv, tuple(GET, line.toString()), answer, conn),
   * };
   * ```
   */
  callThenWith<P extends Protocol, Q extends RequestOf<P>, A, T>(to: ServerRef<P>, request: Q, then: (reply: ReplyTo<P, Q>, arg: A) => T, arg: A, options?: CallOptions): T | Promise<Awaited<T>>;
  callThenWith<A, T>(to: Address, request: unknown, then: (reply: unknown, arg: A) => T, arg: A, options?: CallOptions): T | Promise<Awaited<T>>;
  callThenWith<A, T>(to: Destination, request: unknown, then: (reply: never, arg: A) => T, arg: A, options?: CallOptions): T | Promise<Awaited<T>> {
    return this.rt.calls.callThen(this.core, to, request, then as (reply: unknown, arg: A) => T, arg, options);
  }

  /**
   * Replies to a call: sends `{Tag, Reply}` to the caller's alias when the tag is
   * `[alias | Ref]` (OTP 24+), else to the caller's pid. `from` is the
   * `{Pid, Tag}` of the `{'$gen_call', From, Request}` message; it can be kept
   * and answered later from another message.
   */
  reply<R>(from: From<R>, reply: NoInfer<R>): void {
    if (this.core.state !== State.Exited) this.rt.calls.reply(this.core.pid, from, reply);
  }

  /** Casts to a server (`{'$gen_cast', Message}`). */
  cast<P extends Protocol>(to: ServerRef<P>, message: CastOf<P>): void;
  cast(to: Address, message: unknown): void;
  cast(to: Destination, message: unknown): void {
    if (this.core.state !== State.Exited) this.rt.calls.cast(this.core.pid, to, message);
  }

  /**
   * Links this process to `pid` (both ways). A dead or unknown local pid
   * throws `NoProcessError` (reason `noproc`), or, when this process
   * traps exits, delivers `{'EXIT', Pid, noproc}` (OTP's `link/1`).
   */
  link(pid: Pid): void {
    this.rt.exits.link(this.core, pid);
  }
  /** Removes the link to `pid`, if any. */
  unlink(pid: Pid): void {
    this.rt.exits.unlink(this.core, pid);
  }
  /**
   * Monitors a pid, a registered name or `{name, node}`; returns the monitor's
   * reference. The DOWN message is `{'DOWN', Ref, process, Target, Reason}`.
   */
  monitor(target: Destination): Ref {
    return this.rt.monitors.monitor(this.core, target);
  }
  /** Removes a monitor; with `flush`, also removes its DOWN message if already delivered. Returns true if the monitor was active. */
  demonitor(ref: Ref, options: { flush?: boolean } = {}): boolean {
    return this.rt.monitors.demonitor(this.core, ref, options.flush === true);
  }
  /** Monitors a node: `{nodedown, Node}` arrives when the connection is lost. Stackable. */
  monitorNode(node: string | Atom): void {
    this.rt.monitors.monitorNode(this.core, node);
  }
  /** Removes one node monitor set on `node`. */
  demonitorNode(node: string | Atom): void {
    this.rt.monitors.demonitorNode(this.core, node);
  }

  /** Whether exit signals become `{'EXIT', From, Reason}` messages. */
  get trapExit(): boolean {
    return this.core.trapExit;
  }
  set trapExit(value: boolean) {
    this.core.trapExit = value;
  }

  /** Ends this process now with `reason` (default `normal`). Throws to leave the handler: do not catch it. */
  exit(reason: ExitReason = 'normal'): never {
    throw new ProcessExit(typeof reason === 'string' ? this.rt.kernel.atom(reason) : reason);
  }

  /**
   * Ends this process now with `reason` (default `normal`) without throwing:
   * links and monitors fire at once, and whatever the current handler does
   * afterwards is inert (sends are dropped, calls fail). Cheaper than
   * {@link Process.exit} where the handler returns right after.
   */
  stop(reason: ExitReason = 'normal'): void {
    this.rt.exits.terminate(this.core, typeof reason === 'string' ? this.rt.kernel.atom(reason) : reason);
  }

  /**
   * Takes `{'EXIT', Pid, Reason}` from `pid` out of the mailbox if it is
   * there, and returns its reason (undefined when there is none): Erlang's
   * `receive {'EXIT', Pid, R} -> R after 0 -> undefined end`. For code that
   * consumes the exit of a process it started, as OTP's `proc_lib:start_link`
   * does when the start fails.
   *
   * @example
   * ```ts
   * proc.trapExit = true;
   * const child = proc.spawnLink({ init: (p) => p.exit('failed'), handleMessage() {} });
   * // ... once it has exited:
   * proc.takeExit(child); // atom 'failed', and the EXIT is no longer in the mailbox
   * ```
   */
  takeExit(pid: Pid): ExitReason | undefined {
    const { found, reason } = this.rt.exits.takeExit(this.core, pid);
    return found ? reason : undefined;
  }

  /**
   * Hibernates (OTP's `erlang:hibernate/3`, a server's `hibernate` option):
   * releases what the process holds only to go faster (an empty mailbox's
   * ring buffer is freed, a non-empty one shrunk to fit) until its next
   * message. In Erlang hibernation also discards the call stack and
   * compacts the process heap; in JavaScript memory is V8's, so what the
   * process's state no longer references is collected by V8 as usual, and
   * the state itself stays as it is. Process info reports `hibernated`
   * until the process runs again.
   *
   * @example
   * ```ts
   * node.spawn({ handleMessage(msg, proc) { handle(msg); proc.hibernate(); } });
   * ```
   */
  hibernate(): void {
    if (this.core.state === State.Exited) return;
    this.core.mailbox.compact();
    this.core.hibernated = true;
  }

  /** Sends an exit signal to `pid` (Erlang's `exit/2`): `kill` always kills, `normal` is ignored by others. */
  sendExit(pid: Pid, reason: ExitReason): void {
    this.rt.exits.exit2(this.core.pid, pid, reason);
  }

  /** Spawns a child process; it inherits this process's environment. */
  spawn(handler: ProcessHandler, options: SpawnOptions = {}): Pid {
    return this.rt.spawner.spawn(handler, options, this.core);
  }
  /** Spawns a child process linked to this one. */
  spawnLink(handler: ProcessHandler, options: SpawnOptions = {}): Pid {
    return this.rt.spawner.spawn(handler, { ...options, link: true }, this.core);
  }
  /** Spawns a child process and monitors it. */
  spawnMonitor(handler: ProcessHandler, options: SpawnOptions = {}): [Pid, Ref] {
    const pid = this.rt.spawner.spawn(handler, options, this.core);
    return [pid, this.monitor(pid)];
  }

  /** Registers this process under `name`. Throws NameTakenError if the name is taken or the process has a name. */
  register(name: string | Atom): void {
    this.rt.registry.register(this.core, name);
  }
  /** Removes this process's registered name. */
  unregister(): void {
    this.rt.registry.unregister(this.core);
  }
  /** The registered name, if any. */
  get registeredName(): Atom | undefined {
    return this.core.name;
  }

  /**
   * Creates an alias: a reference that routes messages to this process until
   * {@link Process.unalias}. With `{ priority: true }` it is a priority alias
   * (EEP 76, OTP 28's `alias([priority])`): messages sent to it with
   * {@link Process.sendPriority} skip ahead of the ordinary messages queued.
   * @example
   * const urgent = proc.alias({ priority: true });
   * node.send(proc.self, 'ordinary');
   * node.sendPriority(urgent, 'urgent'); // handled before 'ordinary'
   */
  alias(options: AliasOptions = {}): Ref {
    return this.rt.registry.alias(this.core, options.priority === true);
  }
  /** Deactivates an alias; later messages to it are dropped. */
  unalias(alias: Ref): boolean {
    return this.rt.registry.unalias(this.core, alias);
  }

  /** Reads a value of the process environment (inherited from the parent at spawn). */
  getEnv<T = unknown>(key: string): T | undefined {
    return this.core.env?.get(key) as T | undefined;
  }
  /** Sets a value of the process environment. */
  setEnv(key: string, value: unknown): void {
    (this.core.env ??= new Map()).set(key, value);
  }
  /** The whole environment, as a copy. */
  env(): Map<string, unknown> {
    return new Map(this.core.env ?? []);
  }

  /** A new unique reference (Erlang's `make_ref()`). */
  makeRef(): Ref {
    return this.rt.kernel.makeRef();
  }

  /** Process info of this process. */
  info(): ProcessInfo {
    return processInfo(this.core);
  }

  /**
   * Messages waiting in this process's mailbox (`info().messageQueueLength`
   * without building the whole info record), for a process that decides
   * between acting now and batching behind what waits.
   */
  get messageQueueLength(): number {
    return this.core.mailbox.length;
  }
}
