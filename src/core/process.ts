/**
 * Process: a lightweight process's state (its mailbox, links, monitors and
 * status) and the handle its code uses to act: send, call, link, monitor,
 * spawn, exit.
 *
 * A process is defined by a {@link ProcessHandler}. The runtime gives it one
 * message at a time; if the handler returns a promise, the process handles
 * nothing else until the promise settles, while its mailbox keeps filling.
 * A handler that throws (or a promise that rejects) crashes the process with
 * the error as its exit reason.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import type { Tuple } from '../terms/tuple.js';
import type { Address, CallOptions, CastOf, Destination, InfoOf, Protocol, ReplyTo, RequestOf, ServerRef } from './protocol.js';
import { Queue } from './queue.js';
import type { ExitReason } from './reasons.js';
import type { Runnable } from './scheduler.js';
import type { Node, SpawnOptions, TimerHandle } from './node.js';

/**
 * The code of a process. Only `handleMessage` is required.
 *
 * @example
 * ```ts
 * const echo: ProcessHandler = {
 *   handleMessage(msg, proc) {
 *     if (msg instanceof Tuple && msg.elements[0] instanceof Pid) proc.send(msg.elements[0], msg.elements[1]);
 *   },
 * };
 * const pid = node.spawn(echo);
 * ```
 */
export interface ProcessHandler<M = unknown> {
  /** A name for process info (`'server'`, `'supervisor'`...). */
  readonly behavior?: string;
  /** Runs first, inside the process, before any message. */
  init?(proc: Process): void | PromiseLike<void>;
  /** Handles one message: an ordinary message, or `{'EXIT', From, Reason}` / `{'DOWN', ...}` / `{nodedown, Node}`. */
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
 */
export type From<R = unknown> = Tuple<[Pid, unknown]> & { readonly [replyType]?: R };
declare const replyType: unique symbol;

/** Where a process is in its life, as process info reports it. */
export type ProcessStatus = 'initializing' | 'waiting' | 'runnable' | 'running' | 'suspended' | 'exited';

/** A snapshot of a process, as `erlang:process_info/1` gives it. */
export interface ProcessInfo {
  readonly pid: Pid;
  /** `waiting`: no messages; `runnable`: queued to run; `running`: in a handler; `suspended`: awaiting an async handler. */
  readonly status: ProcessStatus;
  readonly messageQueueLength: number;
  readonly links: readonly Pid[];
  /** Monitors this process holds: the pid, or `{name, node}` for a monitor by name. */
  readonly monitors: readonly (Pid | { name: Atom; node: Atom })[];
  /** Processes monitoring this one. */
  readonly monitoredBy: readonly Pid[];
  readonly registeredName: Atom | undefined;
  readonly parent: Pid | undefined;
  readonly behavior: string | undefined;
  readonly trapExit: boolean;
}

export const enum State {
  Init = 0,
  Waiting = 1,
  Running = 2,
  Suspended = 3,
  Exited = 4,
}

/** Thrown by {@link Process.exit} to end the process from inside a handler. */
export class ProcessExit {
  constructor(readonly reason: ExitReason) {}
}

/** A monitor this node knows about: the watcher is local, or the target is. */
export interface MonitorRecord {
  readonly ref: Ref;
  readonly key: number | string;
  readonly watcher: Pid;
  /** Local watcher process, or undefined for a remote watcher or a call. */
  readonly watcherCore: ProcessCore | undefined;
  /** Set for the monitor a call makes: gets the DOWN instead of a mailbox. */
  readonly onDown: { down(reason: ExitReason): void } | undefined;
  /** The monitored pid; for a name monitor of a remote name, undefined. */
  readonly target: Pid | undefined;
  /** Set for a monitor by name. */
  readonly name: Atom | undefined;
  readonly targetNode: Atom;
  /** Local target process. */
  targetCore: ProcessCore | undefined;
}

/** What a process remembers of a call in flight. */
export interface CallLike {
  readonly done: boolean;
  /** The target exited with `reason`. */
  down(reason: ExitReason): void;
  /** The caller exited. */
  cancel(reason: ExitReason): void;
}

/**
 * Adds `call` to a list of calls, dropping finished ones once the list has
 * doubled since the last pruning: O(1) amortized, no per-call map work.
 */
export function trackCall(list: CallLike[], call: CallLike): void {
  list.push(call);
  if (list.length >= 64 && (list.length & (list.length - 1)) === 0) {
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const c = list[r] as CallLike;
      if (!c.done) list[w++] = c;
    }
    list.length = w;
  }
}

/** Internal state of one process. Not exported from the package. */
export class ProcessCore implements Runnable {
  queued = false;
  state: State = State.Init;
  readonly mailbox = new Queue<unknown>(0);
  /** Exit and down messages of a trapping process: they overtake ordinary messages. */
  urgent: Queue<unknown> | undefined;
  links: Map<string, Pid> | undefined;
  /** Monitors held by this process, by ref key. */
  monitors: Map<number | string, MonitorRecord> | undefined;
  /** Monitors on this process, by ref key. */
  monitoredBy: Map<number | string, MonitorRecord> | undefined;
  nodeMonitors: Atom[] | undefined;
  aliases: Set<number | string> | undefined;
  /** Calls made by this process (finished ones are pruned lazily); those in flight are cancelled when it exits. */
  calls: CallLike[] | undefined;
  /** Calls waiting on this process (finished ones pruned lazily); they fail with its exit reason. */
  awaitedBy: CallLike[] | undefined;
  trapExit = false;
  name: Atom | undefined;
  env: Map<string, unknown> | undefined;
  exitReason: ExitReason = undefined;
  abort: AbortController | undefined;
  exitWaiters: ((reason: ExitReason) => void)[] | undefined;
  readonly proc: Process;
  private settledFn: (() => void) | undefined;
  private rejectedFn: ((err: unknown) => void) | undefined;
  /** Continuations for an async handler, made on the first one only. */
  get onSettled(): () => void {
    return (this.settledFn ??= () => this.node._settled(this));
  }
  get onRejected(): (err: unknown) => void {
    return (this.rejectedFn ??= (err: unknown) => this.node._crashed(this, err));
  }

  constructor(
    readonly node: Node,
    readonly pid: Pid,
    readonly key: number,
    readonly handler: ProcessHandler,
    readonly parent: Pid | undefined,
  ) {
    this.proc = new Process(this);
  }

  runSlice(budget: number): boolean {
    return this.node._runSlice(this, budget);
  }

  hasMessages(): boolean {
    return this.mailbox.length > 0 || (this.urgent !== undefined && this.urgent.length > 0);
  }
}

/**
 * The handle a process's code acts through. Handlers receive it as their
 * last argument; it stays valid after the process exits, but then sends are
 * dropped and calls fail.
 */
export class Process {
  /** @internal */
  readonly core: ProcessCore;
  /** @internal */
  constructor(core: ProcessCore) {
    this.core = core;
  }

  /** This process's pid (Erlang's `self()`). */
  get self(): Pid {
    return this.core.pid;
  }
  /** The node this process runs on. */
  get node(): Node {
    return this.core.node;
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
    if (this.core.state !== State.Exited) this.core.node._send(this.core.pid, to, message);
  }

  /** Like {@link Process.send}, but returns false when a local name is not registered (Erlang's `badarg`). */
  trySend(to: Destination, message: unknown): boolean {
    if (this.core.state === State.Exited) return false;
    return this.core.node._send(this.core.pid, to, message);
  }

  /** Sends `message` to `to` after `ms` milliseconds; the handle cancels it. */
  sendAfter(to: Destination, message: unknown, ms: number): TimerHandle {
    return this.core.node._sendAfter(this.core.pid, to, message, ms);
  }

  /** Calls a server (`{'$gen_call', ...}`) and waits for the reply. See {@link Node.call}. */
  call<P extends Protocol, Q extends RequestOf<P>>(to: ServerRef<P>, request: Q, options?: CallOptions): Promise<ReplyTo<P, Q>>;
  call(to: Address, request: unknown, options?: CallOptions): Promise<unknown>;
  call(to: Destination, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.core.node._call(this.core, to, request, options);
  }

  /**
   * Replies to a call: sends `{Tag, Reply}` to the caller's alias when the tag is
   * `[alias | Ref]` (OTP 24+), else to the caller's pid. `from` is the
   * `{Pid, Tag}` of the `{'$gen_call', From, Request}` message; it can be kept
   * and answered later from another message.
   */
  reply<R>(from: From<R>, reply: NoInfer<R>): void {
    if (this.core.state !== State.Exited) this.core.node._reply(this.core.pid, from, reply);
  }

  /** Casts to a server (`{'$gen_cast', Message}`). */
  cast<P extends Protocol>(to: ServerRef<P>, message: CastOf<P>): void;
  cast(to: Address, message: unknown): void;
  cast(to: Destination, message: unknown): void {
    if (this.core.state !== State.Exited) this.core.node._cast(this.core.pid, to, message);
  }

  /** Links this process to `pid` (both ways). A dead or unknown pid sends `noproc` back at once. */
  link(pid: Pid): void {
    this.core.node._link(this.core, pid);
  }
  /** Removes the link to `pid`, if any. */
  unlink(pid: Pid): void {
    this.core.node._unlink(this.core, pid);
  }
  /**
   * Monitors a pid, a registered name or `{name, node}`; returns the monitor's
   * reference. The DOWN message is `{'DOWN', Ref, process, Target, Reason}`.
   */
  monitor(target: Destination): Ref {
    return this.core.node._monitor(this.core, target);
  }
  /** Removes a monitor; with `flush`, also removes its DOWN message if already delivered. Returns true if the monitor was active. */
  demonitor(ref: Ref, options: { flush?: boolean } = {}): boolean {
    return this.core.node._demonitor(this.core, ref, options.flush === true);
  }
  /** Monitors a node: `{nodedown, Node}` arrives when the connection is lost. Stackable. */
  monitorNode(node: string | Atom): void {
    this.core.node._monitorNode(this.core, node);
  }
  /** Removes one node monitor set on `node`. */
  demonitorNode(node: string | Atom): void {
    this.core.node._demonitorNode(this.core, node);
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
    throw new ProcessExit(typeof reason === 'string' ? this.core.node._atom(reason) : reason);
  }

  /**
   * Ends this process now with `reason` (default `normal`) without throwing:
   * links and monitors fire at once, and whatever the current handler does
   * afterwards is inert (sends are dropped, calls fail). Cheaper than
   * {@link Process.exit} where the handler returns right after.
   */
  stop(reason: ExitReason = 'normal'): void {
    this.core.node._terminateSelf(this.core, typeof reason === 'string' ? this.core.node._atom(reason) : reason);
  }

  /** Sends an exit signal to `pid` (Erlang's `exit/2`): `kill` always kills, `normal` is ignored by others. */
  sendExit(pid: Pid, reason: ExitReason): void {
    this.core.node._exit2(this.core.pid, pid, reason);
  }

  /** Spawns a child process; it inherits this process's environment. */
  spawn(handler: ProcessHandler, options: SpawnOptions = {}): Pid {
    return this.core.node._spawn(handler, options, this.core);
  }
  /** Spawns a child process linked to this one. */
  spawnLink(handler: ProcessHandler, options: SpawnOptions = {}): Pid {
    return this.core.node._spawn(handler, { ...options, link: true }, this.core);
  }
  /** Spawns a child process and monitors it. */
  spawnMonitor(handler: ProcessHandler, options: SpawnOptions = {}): [Pid, Ref] {
    const pid = this.core.node._spawn(handler, options, this.core);
    return [pid, this.monitor(pid)];
  }

  /** Registers this process under `name`. Throws NameTakenError if the name is taken or the process has a name. */
  register(name: string | Atom): void {
    this.core.node._register(this.core, name);
  }
  /** Removes this process's registered name. */
  unregister(): void {
    this.core.node._unregister(this.core);
  }
  /** The registered name, if any. */
  get registeredName(): Atom | undefined {
    return this.core.name;
  }

  /** Creates an alias: a reference that routes messages to this process until {@link Process.unalias}. */
  alias(): Ref {
    return this.core.node._alias(this.core);
  }
  /** Deactivates an alias; later messages to it are dropped. */
  unalias(alias: Ref): boolean {
    return this.core.node._unalias(this.core, alias);
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
    return this.core.node.makeRef();
  }

  /** Process info of this process. */
  info(): ProcessInfo {
    return this.core.node._info(this.core);
  }
}
