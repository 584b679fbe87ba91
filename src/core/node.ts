/**
 * Node: the home of processes. It spawns them, knows them by pid and by
 * registered name, routes messages and signals between them (and, through a
 * {@link Distribution}, to other nodes), keeps timers, and stops cleanly.
 *
 * @example
 * ```ts
 * await using node = new Node({ name: 'demo@127.0.0.1' });
 * const pid = node.spawn({ handleMessage: (msg) => console.log('got', msg) });
 * node.send(pid, 'hello');
 * ```
 * @module
 */
import { randomInt } from 'node:crypto';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Distribution, RemoteSignals } from './distribution.js';
import {
  BadArgumentError,
  CallAbortedError,
  CallTimeoutError,
  callExitError,
  NameTakenError,
  NodeStoppedError,
} from './errors.js';
import {
  type From,
  type MonitorRecord,
  Process,
  ProcessCore,
  ProcessExit,
  type ProcessHandler,
  trackCall,
  type ProcessInfo,
  State,
} from './process.js';
import {
  type CallOptions,
  type CastOf,
  type Address,
  type Destination,
  type InfoOf,
  type Protocol,
  type ReplyTo,
  type RequestOf,
  ServerRef,
} from './protocol.js';
import { type ExitReason, formatReason, kill, killed, noconnection, noproc, normal, shutdown } from './reasons.js';
import { Queue } from './queue.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

const A_EXIT = atom('EXIT');
const A_DOWN = atom('DOWN');
const A_PROCESS = atom('process');
const A_NODEDOWN = atom('nodedown');
const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_ALIAS = atom('alias');
const A_TIMEOUT = atom('timeout');
const TWO32 = 4294967296;

/** Options of a node. */
export interface NodeOptions {
  /** `name@host`; default `beamline@127.0.0.1`. */
  readonly name?: string;
  /** The node's creation (u32, non-zero); random by default. Distribution sets it from EPMD. */
  readonly creation?: number;
  /** Scheduler tuning. */
  readonly scheduler?: SchedulerOptions;
  /** Where the node reports crashes and dropped signals; default `console.error`. Pass `() => {}` to silence. */
  readonly logger?: (level: 'error' | 'warning' | 'info', message: string) => void;
  /** How long `stop()` waits for each process that traps exits before killing it (ms). Default 5000. */
  readonly shutdownTimeout?: number;
}

/** Options of a spawn. */
export interface SpawnOptions {
  /** Link the new process to the spawner. */
  readonly link?: boolean;
  /** Register the new process under this name (fails the spawn if taken). */
  readonly name?: string | Atom;
  /** Environment entries, added to what the process inherits from its parent. */
  readonly env?: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;
  /** Start trapping exits. */
  readonly trapExit?: boolean;
}

/** Cancels a timed send. */
export interface TimerHandle {
  /** Cancels the send; returns false if it already fired or was cancelled. */
  cancel(): boolean;
}

/** What an alias routes to: a process's mailbox, or a call waiting for its reply. */
type AliasTarget = ProcessCore | CallWaiter;

/** A call in flight: its alias, its monitor of the target, its deadline. */
class CallWaiter {
  monitor: MonitorRecord | undefined;
  onAbort: (() => void) | undefined;
  signal: AbortSignal | undefined;
  /** Date.now() deadline, or Infinity. */
  deadline = Infinity;
  done = false;
  constructor(
    readonly node: Node,
    readonly key: number | string,
    readonly caller: ProcessCore,
    readonly dest: Destination,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: Error) => void,
  ) {}
  /** The reply `{Tag, Reply}` arrived through the alias. */
  deliver(message: unknown): void {
    if (this.done) return;
    const reply = message instanceof Tuple && message.elements.length === 2 ? message.elements[1] : message;
    this.done = true;
    this.resolve(reply); // first: the caller's continuation is queued before anything finish() queues
    this.finish();
  }
  /** The reply value itself (a local server answered). */
  resolveWith(reply: unknown): void {
    if (this.done) return;
    this.done = true;
    this.resolve(reply);
    this.finish();
  }
  fail(err: Error): void {
    if (this.done) return;
    this.finish();
    this.reject(err);
  }
  /** The target went down (the call's monitor fired). */
  down(reason: ExitReason): void {
    this.fail(callExitError(this.target(), reason));
  }
  /** The caller exited. */
  cancel(reason: ExitReason): void {
    this.fail(callExitError(this.target(), reason));
  }
  timedOut(timeout: number): void {
    this.fail(new CallTimeoutError(`call to ${this.target()} timed out after ${timeout} ms`, A_TIMEOUT));
  }
  target(): string {
    const d = this.dest;
    return typeof d === 'string' ? d : formatReason(d instanceof ServerRef ? d.dest : d);
  }
  finish(): void {
    this.done = true;
    const node = this.node;
    node._aliases.delete(this.key);
    if (this.monitor !== undefined) node._dropMonitor(this.monitor);
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
    if (this.deadline !== Infinity) node._timedCallDone();
  }
}

/**
 * Call deadlines. Calls with the same timeout have increasing deadlines, so
 * one FIFO queue per timeout value holds them in order and one node timer,
 * armed for the earliest head, serves them all: no timer per call.
 */
class CallDeadlines {
  private readonly queues = new Map<number, Queue<CallWaiter>>();
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private active = 0;
  private readonly onTimer = (): void => this.fire();

  add(w: CallWaiter, timeout: number): void {
    const deadline = Date.now() + timeout;
    w.deadline = deadline;
    let q = this.queues.get(timeout);
    if (q === undefined) this.queues.set(timeout, (q = new Queue<CallWaiter>(16)));
    // Completed calls at the head are dropped here, so the queue stays as short as the calls in flight.
    while (q.length > 0 && (q.peek() as CallWaiter).done) q.shift();
    q.push(w);
    if (this.active++ === 0) this.timer?.ref();
    if (deadline < this.armedAt) this.arm(deadline);
  }

  /** A timed call finished; with none left, the timer stays armed but no longer keeps the process alive. */
  done(): void {
    if (--this.active === 0) this.timer?.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
    this.queues.clear();
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - Date.now()));
    if (this.active === 0) this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [timeout, q] of this.queues) {
      while (q.length > 0) {
        const w = q.peek() as CallWaiter;
        if (w.done) q.shift();
        else if (w.deadline <= now) {
          q.shift();
          w.timedOut(timeout);
        } else break;
      }
      const head = q.peek();
      if (head === undefined) this.queues.delete(timeout);
      else if (head.deadline < next) next = head.deadline;
    }
    if (next !== Infinity) this.arm(next);
  }
}

/** Reads the state through a call, so TypeScript does not narrow it across handler calls. */
function exited(core: ProcessCore): boolean {
  return core.state === State.Exited;
}

function isCallWaiter(t: AliasTarget): t is CallWaiter {
  return t instanceof CallWaiter;
}

/** Key of a pid in maps: its node, id, serial and creation. */
function pidString(pid: Pid): string {
  return `${pid.node.name}|${pid.id}|${pid.serial}|${pid.creation}`;
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

  /** @internal */ readonly _aliases = new Map<number | string, AliasTarget>();
  private readonly procs = new Map<number, ProcessCore>();
  private readonly names = new Map<Atom, ProcessCore>();
  /** Monitors whose watcher is local, by ref key. */
  private readonly monitors = new Map<number | string, MonitorRecord>();
  /** Monitors held by remote watchers on local processes, by ref key. */
  private readonly remoteMonitors = new Map<number | string, MonitorRecord>();
  private readonly nodeWatchers = new Map<Atom, ProcessCore[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly deadlines = new CallDeadlines();
  private readonly stopHooks: (() => Promise<void> | void)[] = [];
  private readonly scheduler: Scheduler;
  private readonly logger: (level: 'error' | 'warning' | 'info', message: string) => void;
  private readonly shutdownTimeout: number;
  private readonly refSalt: number;
  /** Reductions of the running slice: messages handled plus messages sent. */
  private reductions = 0;
  private nextId = 1;
  private nextSerial = 0;
  private nextRef = 1;
  private dist: Distribution | undefined;
  private stopping: Promise<void> | undefined;
  /** Set once stop hooks have run: from then on no spawn, call or timer. */
  private closing = false;
  private stopped = false;
  /** The identity of calls made from outside any process. */
  private readonly outside: ProcessCore;

  constructor(options: NodeOptions = {}) {
    const name = options.name ?? 'beamline@127.0.0.1';
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new BadArgumentError(`node name must be name@host, got ${JSON.stringify(name)}`);
    this.name = atom(name);
    const creation = options.creation ?? randomInt(1, 2 ** 32 - 1);
    if (!Number.isInteger(creation) || creation <= 0 || creation >= TWO32)
      throw new BadArgumentError(`creation must be a non-zero u32, got ${creation}`);
    this.creation = creation;
    this.scheduler = new Scheduler(options.scheduler);
    this.logger = options.logger ?? ((level, message) => console.error(`[beamline ${level}] ${message}`));
    this.shutdownTimeout = options.shutdownTimeout ?? 5000;
    this.refSalt = randomInt(0, 2 ** 32 - 1);
    const outsidePid = new Pid(this.name, 0, 0, creation);
    this.outside = new ProcessCore(this, outsidePid, 0, { handleMessage() {} }, undefined);
    this.outside.state = State.Waiting;
    this.remote = new RemoteSignalsImpl(this);
  }

  // ---------------------------------------------------------------- public API

  /** True until {@link Node.stop} begins. */
  get alive(): boolean {
    return this.stopping === undefined;
  }

  /** Connects a distribution layer (done by the `dist` module). */
  attachDistribution(dist: Distribution): void {
    if (this.dist !== undefined) throw new BadArgumentError('a distribution is already attached');
    this.dist = dist;
  }

  /** The attached distribution, if any. */
  get distribution(): Distribution | undefined {
    return this.dist;
  }

  /**
   * Spawns a process running `handler`. Returns its pid at once; `init` runs
   * inside the new process before its first message.
   */
  spawn<M>(handler: ProcessHandler<M>, options: SpawnOptions = {}): Pid {
    return this._spawn(handler as ProcessHandler, options, undefined);
  }

  /** Sends `message`; never fails, never blocks; dropped if the destination is dead or unknown. */
  send<P extends Protocol>(to: ServerRef<P>, message: InfoOf<P>): void;
  send(to: Address, message: unknown): void;
  send(to: Destination, message: unknown): void {
    this._send(undefined, to, message);
  }

  /** Like {@link Node.send}, but returns false when a local name is not registered. */
  trySend(to: Destination, message: unknown): boolean {
    return this._send(undefined, to, message);
  }

  /** Sends `message` after `ms` milliseconds; the handle cancels it. Timers are cleared when the node stops. */
  sendAfter(to: Destination, message: unknown, ms: number): TimerHandle {
    return this._sendAfter(undefined, to, message, ms);
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
    return this._call(this.outside, to, request, options);
  }

  /** Casts `{'$gen_cast', Message}` to a server. */
  cast<P extends Protocol>(to: ServerRef<P>, message: CastOf<P>): void;
  cast(to: Address, message: unknown): void;
  cast(to: Destination, message: unknown): void {
    this._cast(undefined, to, message);
  }

  /** Sends an exit signal to `pid` from outside any process (Erlang's `exit/2`). */
  exit(pid: Pid, reason: ExitReason): void {
    this._exit2(this.outside.pid, pid, reason);
  }

  /** The pid registered under `name`, if any. */
  whereis(name: string | Atom): Pid | undefined {
    return this.names.get(this._atom(name))?.pid;
  }

  /** Registers `pid` under `name`. Throws NameTakenError when the name is taken or the process has a name, NoProcessError-like BadArgumentError when it is not alive. */
  register(name: string | Atom, pid: Pid): void {
    const core = this.local(pid);
    if (core === undefined) throw new BadArgumentError(`cannot register ${String(pid)}: not a living local process`);
    this._register(core, name);
  }

  /** Removes a registered name. Returns false if it was not registered. */
  unregister(name: string | Atom): boolean {
    const core = this.names.get(this._atom(name));
    if (core === undefined) return false;
    this._unregister(core);
    return true;
  }

  /** The registered names. */
  registered(): Atom[] {
    return [...this.names.keys()];
  }

  /** The pids of the living processes, in spawn order. */
  processes(): Pid[] {
    const out: Pid[] = [];
    for (const p of this.procs.values()) out.push(p.pid);
    return out;
  }

  /** True when `pid` is a living process of this node. */
  isAlive(pid: Pid): boolean {
    return this.local(pid) !== undefined;
  }

  /** Process info, or undefined when the process is not alive. */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const core = this.local(pid);
    return core === undefined ? undefined : this._info(core);
  }

  /** Resolves with the exit reason once `pid` has exited (at once, with `noproc`, if it is not alive). */
  waitExit(pid: Pid): Promise<ExitReason> {
    const core = this.local(pid);
    if (core === undefined) return Promise.resolve(noproc);
    return new Promise((resolve) => (core.exitWaiters ??= []).push(resolve));
  }

  /** A new unique reference. */
  makeRef(): Ref {
    const n = this.nextRef++;
    return new Ref(this.name, this.creation, [n % 262144, Math.floor(n / 262144) >>> 0, this.refSalt]);
  }

  /** Runs `hook` when the node stops, before processes are terminated; hooks run in reverse order of registration. */
  onStop(hook: () => Promise<void> | void): void {
    this.stopHooks.push(hook);
  }

  /** Reports a message through the node's logger. */
  log(level: 'error' | 'warning' | 'info', message: string): void {
    this.logger(level, message);
  }

  /**
   * Stops the node: runs the stop hooks (applications stop there; processes
   * can still spawn, call and send while they run), then
   * terminates the remaining processes in reverse spawn order (exit signal
   * `shutdown`, then `kill` after the shutdown timeout for those that trap
   * exits), clears timers and closes distribution. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async doStop(): Promise<void> {
    for (const hook of [...this.stopHooks].reverse()) {
      try {
        await hook();
      } catch (err) {
        this.logger('error', `stop hook failed: ${formatReason(err)}`);
      }
    }
    this.closing = true;
    // Exit signal `shutdown` to every process, newest first; then one shared wait for those that trap
    // exits (they run their own shutdown), and `kill` for any still alive after the shutdown timeout.
    const order = [...this.procs.values()].reverse();
    const waits: Promise<ExitReason>[] = [];
    for (const core of order) {
      this.deliverExit(core, this.outside.pid, shutdown, false);
      if (!exited(core)) waits.push(new Promise<ExitReason>((resolve) => (core.exitWaiters ??= []).push(resolve)));
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.shutdownTimeout)));
      await Promise.race([Promise.all(waits), timedOut]);
      clearTimeout(timer);
      for (const core of order) if (!exited(core)) this.terminate(core, killed);
    }
    // Processes spawned meanwhile (a trapping process may spawn while shutting down) are killed too.
    for (const core of [...this.procs.values()]) this.terminate(core, killed);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this._aliases.values()]) if (isCallWaiter(w)) w.fail(new NodeStoppedError('node stopped'));
    this.deadlines.clear();
    this.stopped = true;
    this.scheduler.dispose();
    if (this.dist !== undefined) await this.dist.stop();
  }

  // ------------------------------------------------------- internal: helpers

  /** @internal */
  _atom(name: string | Atom): Atom {
    return typeof name === 'string' ? atom(name) : name;
  }

  private isLocalNode(node: Atom): boolean {
    return node === this.name;
  }

  /** The living local process with this pid. */
  private local(pid: Pid): ProcessCore | undefined {
    if (pid.node !== this.name || pid.creation !== this.creation) return undefined;
    return this.procs.get(pid.serial * TWO32 + pid.id);
  }

  /** @internal Key of a ref in maps: a number for refs made here, a string otherwise. */
  _refKey(ref: Ref): number | string {
    const ids = ref.ids;
    if (ref.node === this.name && ref.creation === this.creation && ids.length === 3 && ids[2] === this.refSalt)
      return (ids[0] as number) + (ids[1] as number) * 262144;
    return `${ref.node.name}|${ref.creation}|${ids.join('.')}`;
  }

  // ------------------------------------------------------- internal: spawning

  /** @internal */
  _spawn(handler: ProcessHandler, options: SpawnOptions, parent: ProcessCore | undefined): Pid {
    if (this.closing) throw new NodeStoppedError(`node ${this.name.name} is stopping`);
    if (typeof handler?.handleMessage !== 'function')
      throw new BadArgumentError('a process handler needs a handleMessage function');
    const regName = options.name === undefined ? undefined : this._atom(options.name);
    if (regName !== undefined && this.names.has(regName))
      throw new NameTakenError(regName.name, `name ${regName.name} is already registered`);
    const id = this.nextId;
    if (id >= TWO32) {
      this.nextId = 1;
      this.nextSerial++;
    } else this.nextId = id + 1;
    const serial = this.nextSerial;
    const pid = new Pid(this.name, id, serial, this.creation);
    const core = new ProcessCore(this, pid, serial * TWO32 + id, handler, parent?.pid);
    if (parent?.env !== undefined && parent.env.size > 0) core.env = new Map(parent.env);
    if (options.env !== undefined) {
      const entries = options.env instanceof Map ? options.env.entries() : Object.entries(options.env);
      core.env ??= new Map();
      for (const [k, v] of entries) core.env.set(k, v);
    }
    if (options.trapExit === true) core.trapExit = true;
    this.procs.set(core.key, core);
    if (regName !== undefined) {
      this.names.set(regName, core);
      core.name = regName;
    }
    if (options.link === true && parent !== undefined && parent !== this.outside) this.addLink(parent, pid, core);
    this.scheduler.schedule(core);
    return pid;
  }

  // ------------------------------------------------------- internal: running

  /** @internal Called by the scheduler. Returns true if the process has more to do now. */
  _runSlice(core: ProcessCore, budget: number): boolean {
    const handler = core.handler;
    const proc = core.proc;
    if (core.state === State.Init) {
      core.state = State.Running;
      if (handler.init !== undefined) {
        let result: void | PromiseLike<void>;
        try {
          result = handler.init(proc);
        } catch (err) {
          this._crashed(core, err);
          return false;
        }
        if (!this.continueAfter(core, result)) return false;
      } else core.state = State.Waiting;
    }
    if (core.state !== State.Waiting) return false;
    const mailbox = core.mailbox;
    // A slice ends after `budget` reductions: each message handled and each message sent counts,
    // so a process that floods another yields as often as the one it floods.
    this.reductions = 0;
    while (this.reductions++ < budget) {
      let message: unknown;
      const urgent = core.urgent;
      if (urgent !== undefined && urgent.length > 0) message = urgent.shift();
      else if (mailbox.length > 0) message = mailbox.shift();
      else return false;
      core.state = State.Running;
      let result: void | PromiseLike<void>;
      try {
        result = handler.handleMessage(message, proc);
      } catch (err) {
        this._crashed(core, err);
        return false;
      }
      if (!this.continueAfter(core, result)) return false;
    }
    return core.hasMessages();
  }

  /** After a handler returned: true when the process may take its next message now; false when it exited or awaits a promise. */
  private continueAfter(core: ProcessCore, result: void | PromiseLike<void>): boolean {
    if (exited(core)) return false;
    if (result !== undefined && typeof result.then === 'function') {
      core.state = State.Suspended;
      result.then(core.onSettled, core.onRejected);
      return false;
    }
    core.state = State.Waiting;
    return true;
  }

  /** @internal An async handler settled. */
  _settled(core: ProcessCore): void {
    if (core.state !== State.Suspended) return;
    core.state = State.Waiting;
    if (core.hasMessages()) this.scheduler.schedule(core);
  }

  /** @internal `proc.stop(reason)`: the process ends now, from inside its own code. */
  _terminateSelf(core: ProcessCore, reason: ExitReason): void {
    this.terminate(core, reason);
  }

  /** @internal A handler threw or its promise rejected. */
  _crashed(core: ProcessCore, err: unknown): void {
    if (core.state === State.Exited) return;
    if (err instanceof ProcessExit) {
      this.terminate(core, err.reason);
      return;
    }
    const reason = err === undefined ? atom('undefined') : err;
    if (reason instanceof Error)
      this.logger('error', `process ${core.pid.describe()}${core.name ? ` (${core.name.name})` : ''} crashed: ${reason.stack ?? reason.message}`);
    this.terminate(core, reason);
  }

  /** Puts a message in a local mailbox. */
  private deliver(core: ProcessCore, message: unknown): void {
    if (core.state === State.Exited) return;
    this.reductions++;
    core.mailbox.push(message);
    if (core.state === State.Waiting) this.scheduler.schedule(core);
  }

  /** Puts an exit/down message ahead of ordinary messages. */
  private deliverUrgent(core: ProcessCore, message: unknown): void {
    if (core.state === State.Exited) return;
    (core.urgent ??= new Queue<unknown>(4)).push(message);
    if (core.state === State.Waiting) this.scheduler.schedule(core);
  }

  // ------------------------------------------------------- internal: sending

  /** @internal Returns false only when a local name is unknown. */
  _send(from: Pid | undefined, to: Destination, message: unknown): boolean {
    if (to instanceof Pid) {
      if (to.node === this.name) {
        if (to.creation !== this.creation) return true;
        const core = this.procs.get(to.serial * TWO32 + to.id);
        if (core !== undefined) this.deliver(core, message);
        return true;
      }
      this.dist?.send(from, to, message);
      return true;
    }
    if (typeof to === 'string' || to instanceof Atom) {
      const core = this.names.get(typeof to === 'string' ? atom(to) : to);
      if (core === undefined) return false;
      this.deliver(core, message);
      return true;
    }
    if (to instanceof Ref) {
      if (to.node === this.name) {
        const target = this._aliases.get(this._refKey(to));
        if (target === undefined) return true;
        if (isCallWaiter(target)) target.deliver(message);
        else this.deliver(target, message);
        return true;
      }
      this.dist?.sendToAlias(from ?? this.outside.pid, to, message);
      return true;
    }
    if (to instanceof ServerRef) return this._send(from, to.dest, message);
    const [name, node] = this.remoteName(to);
    if (node === this.name) return this._send(from, name, message);
    this.dist?.sendToName(from ?? this.outside.pid, name, node, message);
    return true;
  }

  private remoteName(to: Destination): [Atom, Atom] {
    if (to instanceof Tuple) {
      const [name, node] = to.elements;
      if (to.elements.length === 2 && name instanceof Atom && node instanceof Atom) return [name, node];
    } else if (typeof to === 'object' && to !== null && 'name' in to && 'node' in to) {
      return [this._atom(to.name), this._atom(to.node)];
    }
    throw new BadArgumentError(`not a destination: ${formatReason(to)}`);
  }

  /** @internal */
  _sendAfter(from: Pid | undefined, to: Destination, message: unknown, ms: number): TimerHandle {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new BadArgumentError(`sendAfter: bad delay ${ms}`);
    if (this.closing) return { cancel: () => false };
    const timers = this.timers;
    const timer = setTimeout(() => {
      timers.delete(timer);
      this._send(from, to, message);
    }, ms);
    timers.add(timer);
    return {
      cancel: () => {
        if (!timers.delete(timer)) return false;
        clearTimeout(timer);
        return true;
      },
    };
  }

  /** @internal */
  _cast(from: Pid | undefined, to: Destination, message: unknown): void {
    this._send(from, to, tuple(A_GEN_CAST, message));
  }

  /** @internal The call protocol: monitor, send `{'$gen_call', {Self, [alias|Ref]}, Req}`, wait for `{Tag, Reply}` on the alias. */
  _call(caller: ProcessCore, to: Destination, request: unknown, options: CallOptions = {}): Promise<unknown> {
    const dest = to instanceof ServerRef ? to.dest : to;
    if (this.closing) return Promise.reject(new NodeStoppedError(`node ${this.name.name} is stopping`));
    const timeout = options.timeout ?? 5000;
    if (!(timeout >= 0)) return Promise.reject(new BadArgumentError(`call: bad timeout ${timeout}`));
    const signal = options.signal;
    let resolve!: (value: unknown) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const ref = this.makeRef();
    const key = this._refKey(ref);
    const waiter = new CallWaiter(this, key, caller, dest, resolve, reject);
    if (caller.state === State.Exited) {
      waiter.cancel(noproc);
      return promise;
    }
    if (signal?.aborted === true) {
      waiter.fail(new CallAbortedError(`call to ${waiter.target()} aborted`, signal.reason));
      return promise;
    }
    this._aliases.set(key, waiter);
    if (caller !== this.outside) trackCall((caller.calls ??= []), waiter);
    const local = this.localTarget(dest);
    if (local !== undefined) {
      // A local target: no monitor record, the target fails its waiting calls when it exits.
      if (local === null) {
        waiter.down(noproc);
        return promise;
      }
      trackCall((local.awaitedBy ??= []), waiter);
    } else {
      try {
        waiter.monitor = this.createMonitor(caller, dest, ref, key, waiter);
      } catch (err) {
        waiter.fail(err as Error);
        return promise;
      }
      if (waiter.done) return promise; // the target was already dead: noproc
    }
    if (timeout !== Infinity) this.deadlines.add(waiter, timeout);
    if (signal !== undefined) {
      waiter.signal = signal;
      waiter.onAbort = () => waiter.fail(new CallAbortedError(`call to ${waiter.target()} aborted`, signal.reason));
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    const tag = new ImproperList([A_ALIAS], ref);
    this._send(caller.pid, dest, tuple(options.label ?? A_GEN_CALL, tuple(caller.pid, tag), request));
    return promise;
  }

  /** The local process `dest` names (null when it names a local process that does not exist); undefined for a remote destination. */
  private localTarget(dest: Destination): ProcessCore | null | undefined {
    if (dest instanceof Pid) {
      if (dest.node !== this.name) return undefined;
      return this.local(dest) ?? null;
    }
    if (typeof dest === 'string' || dest instanceof Atom) return this.names.get(this._atom(dest)) ?? null;
    if (dest instanceof Ref || dest instanceof ServerRef) return undefined;
    const [name, node] = this.remoteName(dest);
    return node === this.name ? (this.names.get(name) ?? null) : undefined;
  }

  /** @internal A call with a deadline finished. */
  _timedCallDone(): void {
    this.deadlines.done();
  }

  /** @internal Sends `{Tag, Reply}` for a call: to the alias in `[alias | Ref]` tags, else to the caller pid. */
  _reply(self: Pid | undefined, from: unknown, reply: unknown): void {
    if (!(from instanceof Tuple) || from.elements.length !== 2 || !(from.elements[0] instanceof Pid))
      throw new BadArgumentError(`reply: not a {Pid, Tag} from: ${formatReason(from)}`);
    const [pid, tag] = from.elements;
    let aliasTag: unknown = tag;
    if (aliasTag instanceof ImproperList && aliasTag.items[0] instanceof ImproperList) aliasTag = aliasTag.items[0];
    if (aliasTag instanceof ImproperList && aliasTag.items.length === 1 && aliasTag.items[0] === A_ALIAS && aliasTag.tail instanceof Ref) {
      const alias = aliasTag.tail;
      if (alias.node === this.name) {
        // Local caller: hand the reply straight to the waiting call, or to the alias's process.
        const target = this._aliases.get(this._refKey(alias));
        if (target === undefined) return;
        if (isCallWaiter(target)) target.resolveWith(reply);
        else this.deliver(target, tuple(tag, reply));
        return;
      }
      this._send(self, alias, tuple(tag, reply));
    } else {
      this._send(self, pid, tuple(tag, reply));
    }
  }

  /** Replies to a call from outside any process. See {@link Process.reply}. */
  reply<R>(from: From<R>, reply: NoInfer<R>): void {
    this._reply(undefined, from, reply);
  }

  // ------------------------------------------------------- internal: names and aliases

  /** @internal */
  _register(core: ProcessCore, name: string | Atom): void {
    const a = this._atom(name);
    if (core.state === State.Exited) throw new BadArgumentError(`cannot register ${a.name}: process is not alive`);
    if (a.name === 'undefined') throw new BadArgumentError('the name undefined cannot be registered');
    if (this.names.has(a)) throw new NameTakenError(a.name, `name ${a.name} is already registered`);
    if (core.name !== undefined)
      throw new NameTakenError(a.name, `process ${String(core.pid)} is already registered as ${core.name.name}`);
    this.names.set(a, core);
    core.name = a;
  }

  /** @internal */
  _unregister(core: ProcessCore): void {
    if (core.name === undefined) return;
    this.names.delete(core.name);
    core.name = undefined;
  }

  /** @internal */
  _alias(core: ProcessCore): Ref {
    const ref = this.makeRef();
    const key = this._refKey(ref);
    if (core.state !== State.Exited) {
      this._aliases.set(key, core);
      (core.aliases ??= new Set()).add(key);
    }
    return ref;
  }

  /** @internal */
  _unalias(core: ProcessCore, alias: Ref): boolean {
    const key = this._refKey(alias);
    if (core.aliases?.delete(key) !== true) return false;
    this._aliases.delete(key);
    return true;
  }

  // ------------------------------------------------------- internal: links and exits

  private addLink(core: ProcessCore, other: Pid, otherCore: ProcessCore | undefined): void {
    const k = pidString(other);
    if (core.links?.has(k) === true) return;
    (core.links ??= new Map()).set(k, other);
    if (otherCore !== undefined) (otherCore.links ??= new Map()).set(pidString(core.pid), core.pid);
  }

  /** @internal */
  _link(core: ProcessCore, pid: Pid): void {
    if (core.state === State.Exited || pid.equals(core.pid)) return;
    if (this.isLocalNode(pid.node)) {
      const other = this.local(pid);
      if (other === undefined) {
        this.deliverExit(core, pid, noproc, true, true);
        return;
      }
      this.addLink(core, pid, other);
      return;
    }
    if (this.dist === undefined) {
      this.deliverExit(core, pid, noconnection, true, true);
      return;
    }
    const k = pidString(pid);
    if (core.links?.has(k) === true) return;
    (core.links ??= new Map()).set(k, pid);
    this.dist.link(core.pid, pid);
  }

  /** @internal */
  _unlink(core: ProcessCore, pid: Pid): void {
    const k = pidString(pid);
    if (core.links?.delete(k) !== true) return;
    if (this.isLocalNode(pid.node)) this.local(pid)?.links?.delete(pidString(core.pid));
    else this.dist?.unlink(core.pid, pid);
  }

  /** @internal `exit(Pid, Reason)` from `from`. */
  _exit2(from: Pid, to: Pid, reason: ExitReason): void {
    const r = typeof reason === 'string' ? atom(reason) : reason;
    if (this.isLocalNode(to.node)) {
      const core = this.local(to);
      if (core !== undefined) this.deliverExit(core, from, r, false);
      return;
    }
    this.dist?.exit2(from, to, r);
  }

  /**
   * Applies an exit signal to a local process with Erlang's rules.
   * `viaLink`: the signal travelled along a link (the link is gone now).
   */
  private deliverExit(core: ProcessCore, from: Pid, reason: ExitReason, viaLink: boolean, noLinkToDrop = false): void {
    if (core.state === State.Exited) return;
    if (viaLink && !noLinkToDrop) {
      if (core.links?.delete(pidString(from)) !== true) return; // no link: nothing to propagate
    }
    if (!viaLink && reason === kill) {
      this.terminate(core, killed);
      return;
    }
    if (core.trapExit) {
      this.deliverUrgent(core, tuple(A_EXIT, from, reason));
      return;
    }
    if (reason === normal) {
      if (!viaLink && from.equals(core.pid)) this.terminate(core, normal);
      return;
    }
    this.terminate(core, reason);
  }

  /**
   * Ends a process: it is gone at once (name, aliases, mailbox), then its
   * links receive the exit signal and its watchers a DOWN.
   */
  private terminate(core: ProcessCore, reason: ExitReason): void {
    if (core.state === State.Exited) return;
    core.state = State.Exited;
    core.exitReason = reason;
    this.procs.delete(core.key);
    if (core.name !== undefined) {
      this.names.delete(core.name);
    }
    if (core.aliases !== undefined) for (const k of core.aliases) this._aliases.delete(k);
    core.mailbox.clear();
    core.urgent = undefined;
    if (core.calls !== undefined) {
      const calls = core.calls;
      core.calls = undefined;
      for (const c of calls) if (!c.done) c.cancel(noproc);
    }
    if (core.awaitedBy !== undefined) {
      const waiting = core.awaitedBy;
      core.awaitedBy = undefined;
      for (const c of waiting) if (!c.done) c.down(reason);
    }
    // Monitors this process held.
    if (core.monitors !== undefined) {
      for (const m of core.monitors.values()) this._dropMonitor(m);
      core.monitors = undefined;
    }
    if (core.nodeMonitors !== undefined) {
      for (const n of core.nodeMonitors) this.removeNodeWatcher(n, core);
      core.nodeMonitors = undefined;
    }
    // Links.
    if (core.links !== undefined) {
      const links = [...core.links.values()];
      core.links = undefined;
      for (const other of links) {
        if (this.isLocalNode(other.node)) {
          const oc = this.local(other);
          if (oc !== undefined) this.deliverExit(oc, core.pid, reason, true);
        } else this.dist?.exitLink(core.pid, other, reason);
      }
    }
    // Watchers.
    if (core.monitoredBy !== undefined) {
      const watchers = [...core.monitoredBy.values()];
      core.monitoredBy = undefined;
      for (const m of watchers) this.fireDown(m, reason);
    }
    if (core.abort !== undefined) core.abort.abort(reason);
    if (core.handler.cleanup !== undefined) {
      try {
        core.handler.cleanup(reason, core.proc);
      } catch (err) {
        this.logger('error', `cleanup of ${core.pid.describe()} threw: ${formatReason(err)}`);
      }
    }
    const waiters = core.exitWaiters;
    core.exitWaiters = undefined;
    if (waiters !== undefined) for (const w of waiters) w(reason);
  }

  // ------------------------------------------------------- internal: monitors

  private downMessage(m: MonitorRecord, reason: ExitReason): Tuple {
    const target = m.name !== undefined ? tuple(m.name, m.targetNode) : m.target;
    return tuple(A_DOWN, m.ref, A_PROCESS, target, reason);
  }

  /** Delivers the DOWN of monitor `m` (its target exited) to its watcher. */
  private fireDown(m: MonitorRecord, reason: ExitReason): void {
    if (m.watcherCore !== undefined || m.onDown !== undefined) {
      if (this.monitors.get(m.key) !== m) return; // already removed
      this.monitors.delete(m.key);
      m.watcherCore?.monitors?.delete(m.key);
      if (m.onDown !== undefined) m.onDown.down(reason);
      else if (m.watcherCore !== undefined) this.deliverUrgent(m.watcherCore, this.downMessage(m, reason));
      return;
    }
    // Remote watcher.
    if (this.remoteMonitors.get(m.key) !== m) return;
    this.remoteMonitors.delete(m.key);
    this.dist?.monitorExit(m.name ?? (m.target as Pid), m.watcher, m.ref, reason);
  }

  /** Creates a monitor held by `watcher` on `dest`. Fires `noproc` at once if the local target is dead. */
  private createMonitor(
    watcher: ProcessCore,
    dest: Destination,
    ref: Ref,
    key: number | string,
    onDown: { down(reason: ExitReason): void } | undefined,
  ): MonitorRecord {
    let target: Pid | undefined;
    let name: Atom | undefined;
    let targetNode: Atom;
    if (dest instanceof ServerRef) return this.createMonitor(watcher, dest.dest, ref, key, onDown);
    if (dest instanceof Pid) {
      target = dest;
      targetNode = dest.node;
    } else if (typeof dest === 'string' || dest instanceof Atom) {
      name = this._atom(dest);
      targetNode = this.name;
    } else if (dest instanceof Ref) {
      throw new BadArgumentError('cannot monitor or call an alias');
    } else {
      [name, targetNode] = this.remoteName(dest);
    }
    const isWatcherProc = watcher !== this.outside;
    const m: MonitorRecord = {
      ref,
      key,
      watcher: watcher.pid,
      watcherCore: isWatcherProc ? watcher : undefined,
      onDown,
      target,
      name,
      targetNode,
      targetCore: undefined,
    };
    this.monitors.set(key, m);
    if (isWatcherProc) (watcher.monitors ??= new Map()).set(key, m);
    if (this.isLocalNode(targetNode)) {
      const core = target !== undefined ? this.local(target) : this.names.get(name as Atom);
      if (core === undefined) {
        this.fireDown(m, noproc);
        return m;
      }
      m.targetCore = core;
      (core.monitoredBy ??= new Map()).set(key, m);
      return m;
    }
    if (this.dist === undefined || !this.dist.ensureConnected(targetNode)) {
      this.fireDown(m, noconnection);
      return m;
    }
    this.dist.monitor(watcher.pid, target ?? (name as Atom), targetNode, ref);
    return m;
  }

  /** @internal Removes a monitor held by a local watcher without delivering anything. */
  _dropMonitor(m: MonitorRecord): void {
    if (this.monitors.get(m.key) !== m) return;
    this.monitors.delete(m.key);
    m.watcherCore?.monitors?.delete(m.key);
    if (m.targetCore !== undefined) m.targetCore.monitoredBy?.delete(m.key);
    else if (!this.isLocalNode(m.targetNode)) this.dist?.demonitor(m.watcher, m.target ?? (m.name as Atom), m.targetNode, m.ref);
  }

  /** @internal */
  _monitor(core: ProcessCore, target: Destination): Ref {
    const ref = this.makeRef();
    if (core.state === State.Exited) return ref;
    this.createMonitor(core, target, ref, this._refKey(ref), undefined);
    return ref;
  }

  /** @internal */
  _demonitor(core: ProcessCore, ref: Ref, flush: boolean): boolean {
    const key = this._refKey(ref);
    const m = core.monitors?.get(key);
    if (m !== undefined) this._dropMonitor(m);
    if (flush && core.urgent !== undefined) {
      core.urgent.removeWhere(
        (msg) => msg instanceof Tuple && msg.elements[0] === A_DOWN && msg.elements[1] instanceof Ref && msg.elements[1].equals(ref),
      );
    }
    return m !== undefined;
  }

  /** @internal */
  _monitorNode(core: ProcessCore, node: string | Atom): void {
    const n = this._atom(node);
    if (core.state === State.Exited) return;
    if (this.isLocalNode(n)) return;
    if (this.dist === undefined || !this.dist.ensureConnected(n)) {
      this.deliverUrgent(core, tuple(A_NODEDOWN, n));
      return;
    }
    let list = this.nodeWatchers.get(n);
    if (list === undefined) this.nodeWatchers.set(n, (list = []));
    list.push(core);
    (core.nodeMonitors ??= []).push(n);
  }

  /** @internal */
  _demonitorNode(core: ProcessCore, node: string | Atom): void {
    const n = this._atom(node);
    const i = core.nodeMonitors?.indexOf(n) ?? -1;
    if (i < 0) return;
    core.nodeMonitors?.splice(i, 1);
    this.removeNodeWatcher(n, core);
  }

  private removeNodeWatcher(n: Atom, core: ProcessCore): void {
    const list = this.nodeWatchers.get(n);
    if (list === undefined) return;
    const i = list.indexOf(core);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.nodeWatchers.delete(n);
  }

  /** @internal */
  _info(core: ProcessCore): ProcessInfo {
    let status: ProcessInfo['status'];
    switch (core.state) {
      case State.Init:
        status = 'initializing';
        break;
      case State.Running:
        status = 'running';
        break;
      case State.Suspended:
        status = 'suspended';
        break;
      case State.Exited:
        status = 'exited';
        break;
      default:
        status = core.queued ? 'runnable' : 'waiting';
    }
    const monitors: ProcessInfo['monitors'][number][] = [];
    for (const m of core.monitors?.values() ?? []) {
      if (m.onDown !== undefined) continue;
      monitors.push(m.name !== undefined ? { name: m.name, node: m.targetNode } : (m.target as Pid));
    }
    return {
      pid: core.pid,
      status,
      messageQueueLength: core.mailbox.length + (core.urgent?.length ?? 0),
      links: [...(core.links?.values() ?? [])],
      monitors,
      monitoredBy: [...(core.monitoredBy?.values() ?? [])].map((m) => m.watcher),
      registeredName: core.name,
      parent: core.parent,
      behavior: core.handler.behavior,
      trapExit: core.trapExit,
    };
  }

  // ------------------------------------------------------- internal: remote signals (used by RemoteSignalsImpl)

  /** @internal */
  _remoteSend(to: Pid, message: unknown): void {
    const core = this.local(to);
    if (core !== undefined) this.deliver(core, message);
  }
  /** @internal */
  _remoteSendToName(name: Atom, message: unknown): boolean {
    const core = this.names.get(name);
    if (core === undefined) return false;
    this.deliver(core, message);
    return true;
  }
  /** @internal */
  _remoteSendToAlias(alias: Ref, message: unknown): void {
    if (alias.node !== this.name || alias.creation !== this.creation) return;
    this._send(undefined, alias, message);
  }
  /** @internal */
  _remoteLink(from: Pid, to: Pid): void {
    const core = this.local(to);
    if (core === undefined) {
      this.dist?.exitLink(to, from, noproc);
      return;
    }
    (core.links ??= new Map()).set(pidString(from), from);
  }
  /** @internal */
  _remoteUnlink(from: Pid, to: Pid): void {
    this.local(to)?.links?.delete(pidString(from));
  }
  /** @internal */
  _remoteExitLink(from: Pid, to: Pid, reason: ExitReason): void {
    const core = this.local(to);
    if (core !== undefined) this.deliverExit(core, from, reason, true);
  }
  /** @internal */
  _remoteExit2(from: Pid, to: Pid, reason: ExitReason): void {
    const core = this.local(to);
    if (core !== undefined) this.deliverExit(core, from, reason, false);
  }
  /** @internal */
  _remoteMonitor(watcher: Pid, target: Pid | Atom, ref: Ref): void {
    const core = target instanceof Pid ? this.local(target) : this.names.get(target);
    const key = this._refKey(ref);
    const m: MonitorRecord = {
      ref,
      key,
      watcher,
      watcherCore: undefined,
      onDown: undefined,
      target: target instanceof Pid ? target : core?.pid,
      name: target instanceof Atom ? target : undefined,
      targetNode: this.name,
      targetCore: core,
    };
    if (core === undefined) {
      this.dist?.monitorExit(target, watcher, ref, noproc);
      return;
    }
    this.remoteMonitors.set(key, m);
    (core.monitoredBy ??= new Map()).set(key, m);
  }
  /** @internal */
  _remoteDemonitor(ref: Ref): void {
    const key = this._refKey(ref);
    const m = this.remoteMonitors.get(key);
    if (m === undefined) return;
    this.remoteMonitors.delete(key);
    m.targetCore?.monitoredBy?.delete(key);
  }
  /** @internal */
  _remoteMonitorExit(ref: Ref, reason: ExitReason): void {
    const m = this.monitors.get(this._refKey(ref));
    if (m !== undefined) this.fireDown(m, reason);
  }
  /** @internal */
  _nodeDown(node: Atom, reason: ExitReason): void {
    void reason;
    // Links to processes on that node.
    for (const core of [...this.procs.values()]) {
      if (core.links === undefined) continue;
      for (const other of [...core.links.values()]) {
        if (other.node === node) this.deliverExit(core, other, noconnection, true);
      }
    }
    // Monitors on processes of that node.
    for (const m of [...this.monitors.values()]) if (m.targetNode === node) this.fireDown(m, noconnection);
    // Monitors remote watchers of that node held on local processes.
    for (const m of [...this.remoteMonitors.values()]) {
      if (m.watcher.node === node) {
        this.remoteMonitors.delete(m.key);
        m.targetCore?.monitoredBy?.delete(m.key);
      }
    }
    const watchers = this.nodeWatchers.get(node);
    if (watchers !== undefined) {
      this.nodeWatchers.delete(node);
      for (const core of watchers) {
        const i = core.nodeMonitors?.indexOf(node) ?? -1;
        if (i >= 0) core.nodeMonitors?.splice(i, 1);
        this.deliverUrgent(core, tuple(A_NODEDOWN, node));
      }
    }
  }

  /** @internal For tests of leaks: counts of internal tables. */
  _stats(): { processes: number; names: number; aliases: number; monitors: number; timers: number; scheduled: number } {
    return {
      processes: this.procs.size,
      names: this.names.size,
      aliases: this._aliases.size,
      monitors: this.monitors.size + this.remoteMonitors.size,
      timers: this.timers.size,
      scheduled: this.scheduler.pending,
    };
  }

  /** True once {@link Node.stop} has finished. */
  get hasStopped(): boolean {
    return this.stopped;
  }
}

class RemoteSignalsImpl implements RemoteSignals {
  constructor(private readonly node: Node) {}
  send(to: Pid, message: unknown): void {
    this.node._remoteSend(to, message);
  }
  sendToName(_from: Pid, name: Atom, message: unknown): boolean {
    return this.node._remoteSendToName(name, message);
  }
  sendToAlias(alias: Ref, message: unknown): void {
    this.node._remoteSendToAlias(alias, message);
  }
  link(from: Pid, to: Pid): void {
    this.node._remoteLink(from, to);
  }
  unlink(from: Pid, to: Pid): void {
    this.node._remoteUnlink(from, to);
  }
  exitLink(from: Pid, to: Pid, reason: ExitReason): void {
    this.node._remoteExitLink(from, to, reason);
  }
  exit2(from: Pid, to: Pid, reason: ExitReason): void {
    this.node._remoteExit2(from, to, reason);
  }
  monitor(watcher: Pid, target: Pid | Atom, ref: Ref): void {
    this.node._remoteMonitor(watcher, target, ref);
  }
  demonitor(_watcher: Pid, _target: Pid | Atom, ref: Ref): void {
    this.node._remoteDemonitor(ref);
  }
  monitorExit(_target: Pid | Atom, _watcher: Pid, ref: Ref, reason: ExitReason): void {
    this.node._remoteMonitorExit(ref, reason);
  }
  nodeUp(_node: Atom): void {}
  nodeDown(node: Atom, reason: ExitReason): void {
    this.node._nodeDown(node, reason);
  }
}
