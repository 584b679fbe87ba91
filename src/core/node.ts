/**
 * Node: the home of processes, and the public face of the runtime. It
 * spawns processes, knows them by pid and by registered name, routes
 * messages and signals between them (and, through a {@link Distribution}, to
 * other nodes), keeps timers, and stops cleanly. The work is done by the
 * runtime's parts (kernel, registry, routing, monitors, exits, calls,
 * timers, run loop, spawn, stop), which this file wires together.
 *
 * @example
 * ```ts
 * await using node = new Node({ name: 'demo@127.0.0.1' });
 * const pid = node.spawn({ handleMessage: (msg) => console.log('got', msg) });
 * node.send(pid, 'hello');
 * ```
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import { Calls } from './calls.js';
import type { Distribution, RemoteSignals } from './distribution.js';
import { AbortedError, BadArgumentError } from './errors.js';
import { Exits } from './exits.js';
import { processInfo } from './info.js';
import { Kernel } from './kernel.js';
import { type Logger, type LogFunction, type LogLevel, type NodeLogger, toNodeLogger } from './logger.js';
import { Monitors } from './monitors.js';
import { type From, Process, type ProcessHandler, type ProcessInfo } from './process.js';
import type { ProcessCore } from './process-core.js';
import type { Address, CallOptions, CastOf, Destination, InfoOf, Protocol, ReplyTo, RequestOf, ServerRef } from './protocol.js';
import { type ExitReason, noproc } from './reasons.js';
import { Registry } from './registry.js';
import { RemoteSignalsImpl } from './remote.js';
import { Router } from './routing.js';
import { RunLoop } from './run.js';
import type { Runtime } from './runtime.js';
import type { SchedulerOptions } from './scheduler.js';
import { Spawner, type SpawnOptions } from './spawn.js';
import { stopNode } from './stop.js';
import { type TimerHandle, Timers } from './timers.js';

export type { SpawnOptions } from './spawn.js';
export type { TimerHandle } from './timers.js';

declare module './process.js' {
  /** A process's node is a {@link Node}. */
  interface ProcessNodeType {
    readonly node: Node;
  }
}

/** Options of a node. */
export interface NodeOptions {
  /** `name@host`; default `beamline@127.0.0.1`. */
  readonly name?: string;
  /** The node's creation (u32, non-zero); random by default. Distribution sets it from EPMD. */
  readonly creation?: number;
  /** Scheduler tuning. */
  readonly scheduler?: SchedulerOptions;
  /**
   * Where the node reports crashes, restarts and dropped signals: a
   * structured {@link Logger} (pino, `console`, {@link lineLogger}) or the
   * older `(level, message)` function. Default: {@link lineLogger}, one line
   * per event on stderr from `info` up. Pass `() => {}` to silence.
   */
  readonly logger?: Logger | LogFunction;
  /** How long `stop()` waits for each process that traps exits before killing it (ms). Default 5000. */
  readonly shutdownTimeout?: number;
}

/**
 * A Beamline node. See the module documentation.
 */
export class Node implements AsyncDisposable {
  /** The node's name as an atom (`demo@127.0.0.1`). */
  readonly name: Atom;
  /** The node's creation, put in every pid and reference it makes. */
  readonly creation: number;
  /** Incoming signals from other nodes; for the distribution layer. */
  readonly remote: RemoteSignals;

  private readonly rt: Runtime;
  private readonly stopHooks: (() => Promise<void> | void)[] = [];
  private readonly shutdownTimeout: number;
  private stopping: Promise<void> | undefined;
  private stopped = false;

  constructor(options: NodeOptions = {}) {
    let runLoop: RunLoop | undefined;
    const kernel = new Kernel(
      {
        name: options.name ?? 'beamline@127.0.0.1',
        creation: options.creation,
        scheduler: options.scheduler,
        logger: toNodeLogger(options.logger),
      },
      { runSlice: (core, budget) => (runLoop as RunLoop).runSlice(core, budget) },
    );
    this.name = kernel.name;
    this.creation = kernel.creation;
    this.shutdownTimeout = options.shutdownTimeout ?? 5000;
    const registry = new Registry(kernel);
    const router = new Router(kernel, registry);
    const monitors = new Monitors(kernel, registry, router);
    const exits = new Exits(kernel, registry, monitors);
    runLoop = new RunLoop(kernel, exits);
    const rt: Runtime = {
      kernel,
      registry,
      router,
      monitors,
      exits,
      calls: new Calls(kernel, registry, router, monitors),
      timers: new Timers(kernel, router),
      spawner: new Spawner(kernel, registry, exits, (core: ProcessCore) => new Process(core, rt)),
      node: this,
    };
    this.rt = rt;
    kernel.outside.proc = new Process(kernel.outside, rt);
    this.remote = new RemoteSignalsImpl(rt);
  }

  // ---------------------------------------------------------------- public API

  /** True until {@link Node.stop} begins. */
  get alive(): boolean {
    return this.stopping === undefined;
  }

  /** Connects a distribution layer (done by the `dist` module). */
  attachDistribution(dist: Distribution): void {
    if (this.rt.kernel.dist !== undefined) throw new BadArgumentError('a distribution is already attached');
    this.rt.kernel.dist = dist;
  }

  /** The attached distribution, if any. */
  get distribution(): Distribution | undefined {
    return this.rt.kernel.dist;
  }

  /**
   * Spawns a process running `handler`. Returns its pid at once; `init` runs
   * inside the new process before its first message.
   */
  spawn<M>(handler: ProcessHandler<M>, options: SpawnOptions = {}): Pid {
    return this.rt.spawner.spawn(handler as ProcessHandler, options, undefined);
  }

  /** Sends `message`; never fails, never blocks; dropped if the destination is dead or unknown. */
  send<P extends Protocol>(to: ServerRef<P>, message: InfoOf<P>): void;
  send(to: Address, message: unknown): void;
  send(to: Destination, message: unknown): void {
    this.rt.router.send(undefined, to, message);
  }

  /**
   * Sends a priority message from outside any process (EEP 76): see
   * {@link Process.sendPriority}. Ordinary unless `to` is an active priority alias.
   * @example
   * node.sendPriority(alias, { kind: 'cancel' });
   */
  sendPriority<P extends Protocol>(to: ServerRef<P>, message: InfoOf<P>): void;
  sendPriority(to: Address, message: unknown): void;
  sendPriority(to: Destination, message: unknown): void {
    this.rt.router.send(undefined, to, message, true);
  }

  /** Like {@link Node.send}, but returns false when a local name is not registered. */
  trySend(to: Destination, message: unknown): boolean {
    return this.rt.router.send(undefined, to, message);
  }

  /** Sends `message` after `ms` milliseconds; the handle cancels it. Timers are cleared when the node stops. */
  sendAfter(to: Destination, message: unknown, ms: number): TimerHandle {
    return this.rt.timers.sendAfter(undefined, to, message, ms);
  }

  /**
   * Calls a server from outside any process: sends `{'$gen_call', {From, Tag}, Request}`
   * and resolves with the reply. Rejects with CallExitError at once when the
   * target is dead or unknown (reason `noproc`) or dies during the call,
   * with CallTimeoutError after `timeout` (default 5000 ms), with
   * CallAbortedError when `signal` aborts.
   */
  call<P extends Protocol, Q extends RequestOf<P>>(to: ServerRef<P>, request: Q, options?: CallOptions): Promise<ReplyTo<P, Q>>;
  call(to: Address, request: unknown, options?: CallOptions): Promise<unknown>;
  call(to: Destination, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.rt.calls.call(this.rt.kernel.outside, to, request, options);
  }

  /** Casts `{'$gen_cast', Message}` to a server. */
  cast<P extends Protocol>(to: ServerRef<P>, message: CastOf<P>): void;
  cast(to: Address, message: unknown): void;
  cast(to: Destination, message: unknown): void {
    this.rt.calls.cast(undefined, to, message);
  }

  /** Sends an exit signal to `pid` from outside any process (Erlang's `exit/2`). */
  exit(pid: Pid, reason: ExitReason): void {
    this.rt.exits.exit2(this.rt.kernel.outside.pid, pid, reason);
  }

  /** The pid registered under `name`, if any. */
  whereis(name: string | Atom): Pid | undefined {
    return this.rt.registry.lookup(name)?.pid;
  }

  /** Registers `pid` under `name`. Throws NameTakenError when the name is taken or the process has a name, NoProcessError-like BadArgumentError when it is not alive. */
  register(name: string | Atom, pid: Pid): void {
    const core = this.rt.kernel.local(pid);
    if (core === undefined) throw new BadArgumentError(`cannot register ${String(pid)}: not a living local process`);
    this.rt.registry.register(core, name);
  }

  /** Removes a registered name. Returns false if it was not registered. */
  unregister(name: string | Atom): boolean {
    const core = this.rt.registry.lookup(name);
    if (core === undefined) return false;
    this.rt.registry.unregister(core);
    return true;
  }

  /** The registered names. */
  registered(): Atom[] {
    return [...this.rt.registry.names.keys()];
  }

  /** The pids of the living processes, in spawn order. */
  processes(): Pid[] {
    const out: Pid[] = [];
    for (const p of this.rt.kernel.procs.values()) out.push(p.pid);
    return out;
  }

  /** True when `pid` is a living process of this node. */
  isAlive(pid: Pid): boolean {
    return this.rt.kernel.local(pid) !== undefined;
  }

  /** Process info, or undefined when the process is not alive. */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const core = this.rt.kernel.local(pid);
    return core === undefined ? undefined : processInfo(core);
  }

  /**
   * Traces the messages of the local process `pid`: `onMessage` is called
   * with each message as it is put in the mailbox, until `traceMessages(pid,
   * undefined)` or the process exits. One tracer per process (a new one
   * replaces the old). Returns false when `pid` is not a living local process.
   *
   * @example
   * ```ts
   * node.traceMessages(pid, (m) => console.log('got', m));
   * ```
   */
  traceMessages(pid: Pid, onMessage: ((message: unknown) => void) | undefined): boolean {
    const core = this.rt.kernel.local(pid);
    if (core === undefined) return false;
    core.tracer = onMessage;
    return true;
  }

  /** Messages delivered to this node's processes since it started (signals that became messages included). */
  messagesDelivered(): number {
    return this.rt.kernel.delivered;
  }

  /**
   * Resolves with the exit reason once `pid` has exited (at once, with
   * `noproc`, if it is not alive). `signal` stops the wait: the promise
   * rejects with AbortedError and the process is left alone.
   */
  waitExit(pid: Pid, options: { readonly signal?: AbortSignal } = {}): Promise<ExitReason> {
    const core = this.rt.kernel.local(pid);
    if (core === undefined) return Promise.resolve(noproc);
    const signal = options.signal;
    if (signal === undefined) return new Promise((resolve) => (core.exitWaiters ??= []).push(resolve));
    if (signal.aborted) return Promise.reject(new AbortedError(`wait for the exit of ${pid.describe()} aborted`, signal.reason));
    return new Promise((resolve, reject) => {
      const waiter = (reason: ExitReason): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(reason);
      };
      const onAbort = (): void => {
        const list = core.exitWaiters;
        const i = list?.indexOf(waiter) ?? -1;
        if (i >= 0) list?.splice(i, 1);
        reject(new AbortedError(`wait for the exit of ${pid.describe()} aborted`, signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      (core.exitWaiters ??= []).push(waiter);
    });
  }

  /** A new unique reference. */
  makeRef(): Ref {
    return this.rt.kernel.makeRef();
  }

  /** Runs `hook` when the node stops, before processes are terminated; hooks run in reverse order of registration. */
  onStop(hook: () => Promise<void> | void): void {
    this.stopHooks.push(hook);
  }

  /** The node's logger, bound to `{ node }`; a process's own is `Process.logger`. */
  get logger(): NodeLogger {
    return this.rt.kernel.logger;
  }

  /** Reports `message` (with optional `fields`) through the node's logger; `'warning'` is `'warn'`. */
  log(level: LogLevel | 'warning', message: string, fields: object = {}): void {
    this.rt.kernel.logger[level === 'warning' ? 'warn' : level](fields, message);
  }

  /**
   * Stops the node: runs the stop hooks (applications stop there; processes
   * can still spawn, call and send while they run), then
   * terminates the remaining processes in reverse spawn order (exit signal
   * `shutdown`, then `kill` after the shutdown timeout for those that trap
   * exits), clears timers and closes distribution. Idempotent. Logs at
   * `info` the processes it waits for and those it kills (the application
   * controller logs the applications it stops).
   *
   * @example
   * ```ts
   * await node.stop(); // [info] node stop: waiting up to 5000 ms for 1 process: <0.7.0> cache (gen_server)
   * ```
   */
  stop(): Promise<void> {
    this.stopping ??= stopNode(this.rt, this.stopHooks, this.shutdownTimeout, () => {
      this.stopped = true;
    });
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** @internal */
  _atom(name: string | Atom): Atom {
    return this.rt.kernel.atom(name);
  }

  /** @internal Key of a ref in maps: a number for refs made here, a string otherwise. */
  _refKey(ref: Ref): number | string {
    return this.rt.kernel.refKey(ref);
  }

  /** Replies to a call from outside any process. See {@link Process.reply}. */
  reply<R>(from: From<R>, reply: NoInfer<R>): void {
    this.rt.calls.reply(undefined, from, reply);
  }

  /** @internal For tests of leaks: counts of internal tables. */
  _stats(): { processes: number; names: number; aliases: number; monitors: number; timers: number; scheduled: number } {
    const rt = this.rt;
    return {
      processes: rt.kernel.procs.size,
      names: rt.registry.names.size,
      aliases: rt.registry.aliases.size,
      monitors: rt.monitors.size,
      timers: rt.timers.size,
      scheduled: rt.kernel.scheduler.pending,
    };
  }

  /** True once {@link Node.stop} has finished. */
  get hasStopped(): boolean {
    return this.stopped;
  }
}
