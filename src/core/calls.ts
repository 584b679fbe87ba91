/**
 * Calls: the gen_server call protocol. A call monitors its target, sends
 * `{'$gen_call', {Self, [alias | Ref]}, Request}` and waits for `{Tag, Reply}`
 * on the alias; it fails when the target goes down, the caller exits, the
 * deadline passes or its AbortSignal aborts. Casts and replies live here too.
 * @module
 */
import { type CallEvent, diagnostics } from './diagnostics.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BadArgumentError, CallAbortedError, CallTimeoutError, callExitError, NodeStoppedError } from './errors.js';
import type { Kernel } from './kernel.js';
import type { Monitors } from './monitors.js';
import { type CallLike, idle, type MonitorRecord, ProcessCore, State, TAKES_LOCAL_CALLS, trackCall } from './process-core.js';
import { type Address, type CallOptions, type Destination, ServerRef } from './protocol.js';
import { CallDeadlines, type TimedCall } from './call-deadlines.js';
import { type ExitReason, formatReason, noconnection, noproc } from './reasons.js';
import type { Registry, ReplyWaiter } from './registry.js';
import type { Router } from './routing.js';

const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_ALIAS = atom('alias');
const A_TIMEOUT = atom('timeout');
const A_NODEDOWN = atom('nodedown');
const A_CALLING_SELF = atom('calling_self');
/** The items of every call tag `[alias | Ref]` (an ImproperList's items are never changed). */
const ALIAS_ITEMS: readonly Atom[] = Object.freeze([A_ALIAS]);
/** The options of a call made without any (one shared object, not one per call). */
const NO_OPTIONS: CallOptions = Object.freeze({});

/** How deep calls run to their end inside `call` nest (a Server calling a Server from its handler, and so on). */
const MAX_NESTED = 8;

/** A local Server with nothing to do (see process-core.ts's `idle`), which takes a call as its waiter. */
function idleServer(core: ProcessCore): boolean {
  return idle(core) && core.handler[TAKES_LOCAL_CALLS] === true;
}

/** The resolving functions of the promise `capture` was last the executor of (one executor for every call: no closure per call). */
const NOOP = (): void => {};
const captured: { resolve: (value: unknown) => void; reject: (err: Error) => void } = { resolve: NOOP, reject: NOOP };
function capture(resolve: (value: unknown) => void, reject: (err: Error) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** The bits of {@link CallWaiter.flags}. */
const DONE = 1;
const DELIVERED = 2;
const FAILED = 4;

/**
 * What only a call that waits has: the resolving functions of its promise, its deadline, its
 * monitor of a remote target, its abort listener. A call run to its end inside `call` (see
 * {@link Calls.call}) that settles there has none of them.
 */
class WaitingCall {
  constructor(
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: Error) => void,
  ) {}
  deadline = Infinity;
  monitor: MonitorRecord | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
}

/** What a {@link CallWaiter} gives its base Tuple: nothing (its elements are made when first read, see below). */
const LAZY_ELEMENTS = Object.freeze([]) as unknown as [Pid, ImproperList<Atom, Ref>];

/**
 * A call in flight: its alias, its monitor of the target, its deadline. It is also the call's
 * `From`, the tuple `{Pid, [alias | Ref]}` a server replies through (one object rather than two),
 * and, delivered to a local process whose handler takes calls in that form ({@link TAKES_LOCAL_CALLS}:
 * a Server), the call message itself, which such a handler reads as
 * `{'$gen_call', From, Request}` ({@link takeLocalCall}) without the runtime building that tuple.
 *
 * The `From`'s elements and its alias ref are made when first read ({@link CallWaiter.elements},
 * {@link CallWaiter.ref}): a local Server answering through the waiter never reads them, so a
 * local call allocates neither (the alias is known by its key meanwhile).
 */
export class CallWaiter extends Tuple<[Pid, ImproperList<Atom, Ref>]> implements ReplyWaiter, TimedCall {
  /** `{Pid, [alias | Ref]}`: an accessor on the prototype, made on first read (defined below the class). */
  declare readonly elements: [Pid, ImproperList<Atom, Ref>];
  // Every field is assigned in the constructor, in one order (no field initializer function per call).
  // A call to an idle local Server that answers at once (run inside `call`) is the hot case: the
  // waiter keeps only what that needs as fields; `done`, `delivered` and `failed` are bits of one
  // field, and what only a waiting call needs (deadline, monitor, abort signal) is in `waiting`.
  declare readonly calls: Calls;
  declare readonly key: number;
  declare readonly caller: ProcessCore;
  declare readonly dest: Destination;
  /** The local process called (its `awaitedBy` lists this call), or undefined. */
  declare targetCore: ProcessCore | undefined;
  /** The request, for a handler that takes the waiter itself as the call message. */
  declare readonly request: unknown;
  /** The alias ref once made (see {@link CallWaiter.ref}), then the From's elements once read (its ref is their tail's). */
  declare from: Ref | [Pid, ImproperList<Atom, Ref>] | undefined;
  /** The reply or error of a call that settled while `call` ran it, with no promise (see {@link CallWaiter.settled}). */
  declare outcome: unknown;
  /** DONE, DELIVERED and FAILED (see the accessors below). */
  declare flags: number;
  /** The promise's resolving functions, deadline, monitor and abort listener of a call that waits; undefined while it runs inside `call`. */
  declare waiting: WaitingCall | undefined;
  constructor(
    calls: Calls,
    key: number,
    caller: ProcessCore,
    dest: Destination,
    request: unknown,
    waiting: WaitingCall | undefined,
  ) {
    super(LAZY_ELEMENTS);
    this.calls = calls;
    this.key = key;
    this.caller = caller;
    this.dest = dest;
    this.targetCore = undefined;
    this.request = request;
    this.from = undefined;
    this.outcome = undefined;
    this.flags = 0;
    this.waiting = waiting;
  }
  /** Settled (replied, failed or cancelled). */
  get done(): boolean {
    return (this.flags & DONE) !== 0;
  }
  set done(v: boolean) {
    this.flags = v ? this.flags | DONE : this.flags & ~DONE;
  }
  /** Set while the waiter is in the target's mailbox as the call message itself (see {@link takeLocalCall}). */
  get delivered(): boolean {
    return (this.flags & DELIVERED) !== 0;
  }
  set delivered(v: boolean) {
    this.flags = v ? this.flags | DELIVERED : this.flags & ~DELIVERED;
  }
  /** Whether {@link CallWaiter.outcome} is an error (see `keepFailure`). */
  get failed(): boolean {
    return (this.flags & FAILED) !== 0;
  }
  set failed(v: boolean) {
    this.flags = v ? this.flags | FAILED : this.flags & ~FAILED;
  }
  /** The turn clock's time plus the timeout, or Infinity. */
  get deadline(): number {
    return this.waiting === undefined ? Infinity : this.waiting.deadline;
  }
  set deadline(v: number) {
    (this.waiting as WaitingCall).deadline = v;
  }
  /** The call's monitor of a remote target, or undefined. */
  get monitor(): MonitorRecord | undefined {
    return this.waiting?.monitor;
  }
  set monitor(v: MonitorRecord | undefined) {
    (this.waiting as WaitingCall).monitor = v;
  }
  /** The signal the call listens to, or undefined. */
  get signal(): AbortSignal | undefined {
    return this.waiting?.signal;
  }
  set signal(v: AbortSignal | undefined) {
    (this.waiting as WaitingCall).signal = v;
  }
  /** The call's listener on {@link CallWaiter.signal}, or undefined. */
  get onAbort(): (() => void) | undefined {
    return this.waiting?.onAbort;
  }
  set onAbort(v: (() => void) | undefined) {
    (this.waiting as WaitingCall).onAbort = v;
  }
  /** The call's alias (`Ref` in `[alias | Ref]`), made on first use: its key is {@link CallWaiter.key}. */
  get ref(): Ref {
    const from = this.from;
    if (from instanceof Ref) return from;
    if (from !== undefined) return from[1].tail;
    return (this.from = this.calls.ownRef(this.key));
  }
  /** As JSON, what the plain tuple `{Pid, [alias | Ref]}` would give (not the call's internals). */
  toJSON(): { elements: readonly unknown[] } {
    return { elements: this.elements };
  }
  /** The reply `{Tag, Reply}` arrived through the alias. */
  deliver(message: unknown): void {
    if (this.done) return;
    const reply = message instanceof Tuple && message.elements.length === 2 ? message.elements[1] : message;
    this.done = true;
    this.settle(reply); // first: the caller's continuation is queued before anything finish() queues
    this.finish();
  }
  /** The reply value itself (a local server answered). */
  resolveWith(reply: unknown): void {
    if (this.done) return;
    this.done = true;
    this.settle(reply);
    this.finish();
  }
  fail(err: Error): void {
    if (this.done) return;
    this.finish();
    const w = this.waiting;
    if (w !== undefined) w.reject(err);
    else {
      this.outcome = err;
      this.failed = true;
    }
  }
  /** Settles with `reply`: the call's promise, or, for a call run inside `call` (no promise yet), its outcome. */
  private settle(reply: unknown): void {
    const w = this.waiting;
    if (w !== undefined) w.resolve(reply);
    else this.outcome = reply;
  }
  /** Waits from now on through a promise (the call did not settle while `call` ran it): its resolving functions. */
  wait(resolve: (value: unknown) => void, reject: (err: Error) => void): void {
    this.waiting = new WaitingCall(resolve, reject);
  }
  /** The target went down (the call's monitor fired); a lost connection is OTP's `{nodedown, Node}`. */
  down(reason: ExitReason, cause?: Error): void {
    this.fail(callExitError(this.target(), reason === noconnection ? tuple(A_NODEDOWN, this.calls.nodeOf(this.dest)) : reason, cause));
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
    this.calls.finished(this);
  }
}

// The From's elements, made when first read. Tuple's constructor assigns `elements`; on a waiter
// that assignment reaches this setter, which ignores it (the waiter passes no elements).
Object.defineProperty(CallWaiter.prototype, 'elements', {
  get(this: CallWaiter): [Pid, ImproperList<Atom, Ref>] {
    const from = this.from;
    if (from !== undefined && !(from instanceof Ref)) return from;
    return (this.from = [this.caller.pid, new ImproperList(ALIAS_ITEMS, this.ref)]);
  },
  set(): void {},
  configurable: true,
});

/**
 * The call a message is, when it is a {@link CallWaiter} delivered as the call message itself to a
 * handler that marks {@link TAKES_LOCAL_CALLS}: such a handler treats the result as
 * `{'$gen_call', From, Request}` with the waiter as `From` and `waiter.request` as `Request`.
 * Undefined for anything else, a `From` that was later sent on as an ordinary message included
 * (it is taken once).
 */
export function takeLocalCall(message: unknown): CallWaiter | undefined {
  if (!(message instanceof CallWaiter) || !message.delivered) return undefined;
  message.delivered = false;
  return message;
}

/**
 * Drops the finished calls at the end of a list of calls in flight (each call is dropped once: O(1)
 * amortized). A process that makes one call at a time, or a server that answers its calls in the
 * order they came, so keeps only its calls in flight: finished ones do not wait for the list's
 * pruning (trackCall) and live on through young-generation GCs, each of which copies them.
 */
function dropFinishedTail(list: CallLike[] | undefined): void {
  if (list === undefined) return;
  // pop(), not a shorter `length`: setting the length trims the array's store, which the next push allocates again.
  while (list.length > 0 && (list[list.length - 1] as CallLike).done) list.pop();
}

/**
 * Fails `waiter` when `signal` aborts (at once if it already has: aborted while the call ran inside
 * `call`, by the Server it ran, so no 'abort' event comes now). Its own function, as {@link thenLater}:
 * its closure would make armWaiter allocate a context for every call that waits.
 */
function listenForAbort(waiter: CallWaiter, signal: AbortSignal): void {
  if (signal.aborted) return waiter.fail(new CallAbortedError(`call to ${waiter.target()} aborted`, signal.reason));
  waiter.signal = signal;
  waiter.onAbort = () => waiter.fail(new CallAbortedError(`call to ${waiter.target()} aborted`, signal.reason));
  signal.addEventListener('abort', waiter.onAbort, { once: true });
}

/**
 * `then(reply, arg)` once `promise` settles. Its own function: a closure in {@link Calls.callThen} would
 * capture `then` and `arg`, and optimized code then allocates their context on every call, the calls
 * answered at once included, once it has seen one call wait.
 */
function thenLater<A, T>(promise: Promise<unknown>, then: (reply: unknown, arg: A) => T, arg: A): Promise<Awaited<T>> {
  return promise.then((reply) => then(reply, arg)) as Promise<Awaited<T>>;
}

export class Calls {
  private readonly deadlines: CallDeadlines;

  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
    private readonly router: Router,
    private readonly monitors: Monitors,
  ) {
    const scheduler = kernel.scheduler;
    const deadlines = new CallDeadlines(scheduler);
    scheduler.onTurnEnd = () => deadlines.turnEnd();
    this.deadlines = deadlines;
  }

  /** Calls being run to their end inside `call` right now, nested (see {@link Calls.call}). */
  private runningInside = 0;

  /**
   * The call protocol: monitor, send `{'$gen_call', {Self, [alias|Ref]}, Req}`, wait for `{Tag, Reply}` on the alias.
   *
   * A call to a local Server that is idle (waiting, nothing in its mailbox, not on the run queue)
   * is run to its end here: the waiter goes into the Server's mailbox and the Server handles it
   * now, as the scheduler would have next (its mailbox held nothing else, so no message is
   * overtaken). A Server that answers at once settles the call before `call` returns: the caller
   * gets a settled promise, and the call costs no resolving functions, no turn of the scheduler,
   * no deadline. A Server that does not answer at once (async, `noreply`) leaves the call waiting
   * as usual. Nested runs (a Server calling another from its handler) go {@link MAX_NESTED} deep.
   */
  call(caller: ProcessCore, to: Destination, request: unknown, options: CallOptions = NO_OPTIONS): Promise<unknown> {
    const started = this.start(caller, to, request, options);
    if (!(started instanceof CallWaiter)) return started;
    if (!started.done) return this.waitFor(started, options);
    return started.failed ? Promise.reject(started.outcome as Error) : Promise.resolve(started.outcome);
  }

  /**
   * {@link Calls.call}, then `then(reply, arg)`: at once, before this returns and without a promise, when
   * the call settled inside it (an idle local Server that answered at once); else once the reply
   * comes, through the call's promise. A call that failed at once throws its error; one that fails
   * later rejects the promise returned.
   */
  callThen<A, T>(caller: ProcessCore, to: Destination, request: unknown, then: (reply: unknown, arg: A) => T, arg: A, options: CallOptions = NO_OPTIONS): T | Promise<Awaited<T>> {
    const started = this.start(caller, to, request, options);
    if (!(started instanceof CallWaiter)) return thenLater(started, then, arg);
    if (!started.done) return thenLater(this.waitFor(started, options), then, arg);
    if (started.failed) throw started.outcome;
    return then(started.outcome, arg);
  }

  /**
   * Starts a call: the waiter of a call run to its end inside (settled, or left waiting: see
   * {@link Calls.call}), else the promise of a call made the ordinary way (or failed at once).
   */
  private start(caller: ProcessCore, to: Destination, request: unknown, options: CallOptions): CallWaiter | Promise<unknown> {
    const k = this.kernel;
    const dest = to instanceof ServerRef ? to.dest : to;
    if (k.closing) return Promise.reject(new NodeStoppedError(`node ${k.name.name} is stopping`));
    const timeout = options.timeout ?? 5000;
    if (!(timeout >= 0)) return Promise.reject(new BadArgumentError(`call: bad timeout ${timeout}`));
    const signal = options.signal;
    const label = options.label;
    const traced = diagnostics.callStart.hasSubscribers || diagnostics.callEnd.hasSubscribers;
    const ran = traced ? undefined : this.runInside(caller, dest, request, options);
    if (ran !== undefined) return ran;
    const promise = new Promise<unknown>(capture);
    let resolve = captured.resolve;
    let reject = captured.reject;
    captured.resolve = captured.reject = NOOP;
    if (traced) [resolve, reject] = this.traced(caller, dest, request, resolve, reject);
    const key = k.makeRefKey();
    const waiter = new CallWaiter(this, key, caller, dest, request, new WaitingCall(resolve, reject));
    if (caller.state === State.Exited) {
      waiter.cancel(noproc);
      return promise;
    }
    if (signal?.aborted === true) {
      waiter.fail(new CallAbortedError(`call to ${waiter.target()} aborted`, signal.reason));
      return promise;
    }
    this.registry.aliases.set(key, waiter);
    if (caller !== k.outside) trackCall((caller.calls ??= []), waiter);
    const local = this.localTarget(dest);
    if (local !== undefined) {
      // A local target: no monitor record, the target fails its waiting calls when it exits.
      if (local === null) {
        waiter.down(noproc);
        return promise;
      }
      if (local === caller) {
        waiter.fail(callExitError(waiter.target(), A_CALLING_SELF));
        return promise;
      }
      trackCall((local.awaitedBy ??= []), waiter);
      waiter.targetCore = local;
    } else {
      try {
        waiter.monitor = this.monitors.create(caller, dest, waiter.ref, key, waiter);
      } catch (err) {
        waiter.fail(err as Error);
        return promise;
      }
      if (waiter.done) return promise; // the target was already dead: noproc
    }
    this.armWaiter(waiter, timeout, signal);
    if (local !== undefined) {
      // What the router would do with it, without looking the target up again. A Server takes the
      // waiter itself as the call message (no `$gen_call` tuple); any other handler, or a traced
      // process, gets the tuple, with the waiter as its From.
      if (label === undefined && local.handler[TAKES_LOCAL_CALLS] === true && local.tracer === undefined) {
        waiter.delivered = true;
        k.deliver(local, waiter);
      } else k.deliver(local, new Tuple([label ?? A_GEN_CALL, waiter, request]));
      return promise;
    }
    const message = new Tuple([label ?? A_GEN_CALL, waiter, request]);
    try {
      this.router.send(caller.pid, dest, message);
    } catch (err) {
      // The request could not be sent (a value with no Erlang term, an integer too wide for the
      // peer): the call fails with that error now, and its alias, monitor and deadline go.
      waiter.fail(err instanceof Error ? err : new Error(String(err)));
    }
    return promise;
  }

  /** The call's deadline and abort listener, for a call that waits. */
  private armWaiter(waiter: CallWaiter, timeout: number, signal: AbortSignal | undefined): void {
    if (timeout !== Infinity) this.deadlines.add(waiter, timeout);
    if (signal !== undefined) listenForAbort(waiter, signal);
  }

  /**
   * A call to an idle local Server, run to its end now (see {@link Calls.call}): the Server handles
   * the waiter at once, for one reduction. Returns the waiter, settled (`done`) or still waiting
   * (then {@link Calls.waitFor} it); undefined when the call cannot run so (not an idle local Server,
   * a labelled call, an exited caller, an aborted signal, nested too deep).
   */
  private runInside(caller: ProcessCore, dest: Address, request: unknown, options: CallOptions): CallWaiter | undefined {
    if (options.label !== undefined || caller.state === State.Exited || options.signal?.aborted === true || this.runningInside >= MAX_NESTED) return undefined;
    const local = this.localTarget(dest);
    if (!(local instanceof ProcessCore) || local === caller || !idleServer(local)) return undefined;
    const k = this.kernel;
    const key = k.makeRefKey();
    const waiter = new CallWaiter(this, key, caller, dest, request, undefined);
    this.registry.aliases.set(key, waiter);
    if (caller !== k.outside) trackCall((caller.calls ??= []), waiter);
    trackCall((local.awaitedBy ??= []), waiter);
    waiter.targetCore = local;
    waiter.delivered = true;
    this.runningInside++;
    try {
      k.deliverAndRun(local, waiter);
    } finally {
      this.runningInside--;
    }
    return waiter;
  }

  /** A call {@link Calls.runInside} left waiting (not answered at once): settled through a promise as usual, with its deadline. */
  private waitFor(waiter: CallWaiter, options: CallOptions): Promise<unknown> {
    const promise = new Promise<unknown>(capture);
    waiter.wait(captured.resolve, captured.reject);
    captured.resolve = captured.reject = NOOP;
    this.armWaiter(waiter, options.timeout ?? 5000, options.signal);
    return promise;
  }

  /** The ref a call's key stands for (see {@link CallWaiter.ref}). */
  ownRef(key: number): Ref {
    return this.kernel.ownRef(key);
  }

  /** The pid last called and its process, while it lives (a pid is never reused: no invalidation). */
  private lastPid: Pid | undefined;
  private lastCore: ProcessCore | undefined;

  /** The local process `dest` names (null: none), or undefined for a remote destination. */
  private localTarget(dest: Address): ProcessCore | null | undefined {
    if (dest === this.lastPid && (this.lastCore as ProcessCore).state !== State.Exited) return this.lastCore;
    // A name given as a string: its atom from a one-entry cache (a server called again and again by name).
    const local = this.router.localTarget(typeof dest === 'string' ? this.nameAtom(dest) : dest);
    if (local instanceof ProcessCore && dest instanceof Pid) {
      this.lastPid = dest;
      this.lastCore = local;
    }
    return local;
  }

  private lastName = '';
  private lastAtom: Atom | undefined;
  /** The atom of a registered name given as a string (the last one is kept). */
  private nameAtom(name: string): Atom {
    if (name === this.lastName && this.lastAtom !== undefined) return this.lastAtom;
    this.lastName = name;
    return (this.lastAtom = atom(name));
  }

  /** Publishes the call's start, and wraps its settlement to publish its end (same event object). */
  private traced(
    caller: ProcessCore,
    target: Address,
    request: unknown,
    resolve: (value: unknown) => void,
    reject: (err: Error) => void,
  ): [(value: unknown) => void, (err: Error) => void] {
    const event: CallEvent = { node: this.kernel.name, caller: caller.pid, target, request };
    const started = performance.now();
    diagnostics.callStart.publish(event);
    const end = (): void => {
      event.durationMs = performance.now() - started;
      diagnostics.callEnd.publish(event);
    };
    return [
      (value) => {
        event.reply = value;
        end();
        resolve(value);
      },
      (err) => {
        event.error = err;
        end();
        reject(err);
      },
    ];
  }

  /** The node a call's destination lives on. */
  nodeOf(dest: Destination): Atom {
    if (dest instanceof Pid || dest instanceof Ref) return dest.node;
    if (typeof dest === 'string' || dest instanceof Atom) return this.kernel.name;
    if (dest instanceof ServerRef) return this.nodeOf(dest.dest);
    return this.router.remoteName(dest)[1];
  }

  /**
   * A call finished (replied, failed or cancelled): its alias, monitor, abort listener and deadline go,
   * and so do the finished calls at the end of the caller's and the target's lists of calls in flight.
   */
  finished(w: CallWaiter): void {
    this.registry.aliases.delete(w.key);
    dropFinishedTail(w.caller.calls);
    if (w.targetCore !== undefined) {
      dropFinishedTail(w.targetCore.awaitedBy);
      w.targetCore = undefined;
    }
    const waiting = w.waiting;
    if (waiting === undefined) return; // no deadline, no monitor, no abort listener
    if (waiting.monitor !== undefined) this.monitors.drop(waiting.monitor);
    if (waiting.onAbort !== undefined) waiting.signal?.removeEventListener('abort', waiting.onAbort);
    if (waiting.deadline !== Infinity) this.deadlines.done();
  }

  /** Casts `{'$gen_cast', Message}`. */
  cast(from: Pid | undefined, to: Destination, message: unknown): void {
    this.router.send(from, to, tuple(A_GEN_CAST, message));
  }

  /** Sends `{Tag, Reply}` for a call: to the alias in `[alias | Ref]` tags, else to the caller pid. */
  reply(self: Pid | undefined, from: unknown, reply: unknown): void {
    if (from instanceof CallWaiter) {
      // The From of a call made on this node: straight to the waiting call (a late reply is dropped).
      from.resolveWith(reply);
      return;
    }
    const e = from instanceof Tuple ? from.elements : undefined;
    const pid = e?.length === 2 ? e[0] : undefined;
    if (!(pid instanceof Pid)) throw new BadArgumentError(`reply: not a {Pid, Tag} from: ${formatReason(from)}`);
    const tag = (e as readonly unknown[])[1];
    if (tag instanceof ImproperList) {
      // `[alias | Ref]`, or `[[alias | Ref] | ...]`; a tag made by a call here has the shared ALIAS_ITEMS.
      let aliasTag: ImproperList = tag;
      if (tag.items !== ALIAS_ITEMS && tag.items[0] instanceof ImproperList) aliasTag = tag.items[0];
      const items = aliasTag.items;
      const alias = aliasTag.tail;
      if ((items === ALIAS_ITEMS || (items.length === 1 && items[0] === A_ALIAS)) && alias instanceof Ref) {
        if (alias.node === this.kernel.name) {
          // Local caller: hand the reply straight to the waiting call, or to the alias's process.
          const target = this.registry.aliases.get(this.kernel.refKey(alias));
          if (target === undefined) return;
          if (target instanceof ProcessCore) this.kernel.deliver(target, tuple(tag, reply));
          else target.resolveWith(reply);
          return;
        }
        this.router.send(self, alias, tuple(tag, reply));
        return;
      }
    }
    this.router.send(self, pid, tuple(tag, reply));
  }

  /** The node stopped: calls still waiting fail with NodeStoppedError, deadlines are cleared. */
  stop(): void {
    for (const w of [...this.registry.aliases.values()]) if (!(w instanceof ProcessCore)) w.fail(new NodeStoppedError('node stopped'));
    this.deadlines.clear();
    this.lastPid = this.lastCore = undefined;
  }
}
