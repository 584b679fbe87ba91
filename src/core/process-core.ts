/**
 * Process core: the runtime's record of one process (its mailbox, links,
 * monitors, calls and status). The runtime's parts read and change it; code
 * running in a process sees it only through its {@link Process} handle.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import type { AliasTable } from './alias-table.js';
import { Queue } from './queue.js';
import type { ExitReason } from './reasons.js';
import type { Runnable } from './scheduler.js';

export const enum State {
  Init = 0,
  Waiting = 1,
  Running = 2,
  Suspended = 3,
  Exited = 4,
}

/** Thrown by `Process.exit` to end the process from inside a handler. */
export class ProcessExit {
  constructor(readonly reason: ExitReason) {}
}

/**
 * @internal The key of a handler's continuation (see {@link CoreHandler}): a
 * symbol, so that no handler written for the public API has it by chance.
 */
export const RESUME: unique symbol = Symbol('beamline.resume');

/**
 * @internal Set (true) on a handler that reads a call delivered as calls.ts's `CallWaiter` (see
 * `takeLocalCall`) exactly as `{'$gen_call', From, Request}`: a call between two local processes
 * then reaches it without the runtime building that tuple. Every other handler receives the tuple.
 */
export const TAKES_LOCAL_CALLS: unique symbol = Symbol('beamline.takesLocalCalls');

/**
 * The code of a process as the runtime runs it. The handle it is given is the
 * process's `Process` (see process.ts, where `ProcessHandler` types it).
 *
 * A handler that returns a promise suspends the process until it settles.
 * A behavior whose callbacks are user code that may be async (Server) can
 * define `[RESUME]`: the run loop then calls it with what the promise
 * settled with (`ok` false: the rejection) instead of the behavior chaining
 * its own continuation on the user's promise, which would cost a promise and
 * a microtask more per async callback. What `[RESUME]` returns is treated as
 * what `handleMessage` returns; a throw crashes the process.
 */
export interface CoreHandler {
  readonly behavior?: string | undefined;
  init?(proc: object): void | PromiseLike<void>;
  handleMessage(message: unknown, proc: object): void | PromiseLike<void>;
  cleanup?(reason: ExitReason, proc: object): void;
  /** @internal See {@link TAKES_LOCAL_CALLS}. */
  readonly [TAKES_LOCAL_CALLS]?: boolean;
  /** @internal The continuation of a behavior's async callback (see above). */
  [RESUME]?(value: unknown, proc: object, ok: boolean): void | PromiseLike<void>;
}

/** A monitor this node knows about: the watcher is local, or the target is. */
export interface MonitorRecord {
  readonly ref: Ref;
  readonly key: number | string;
  readonly watcher: Pid;
  /** Local watcher process, or undefined for a remote watcher or a call. */
  readonly watcherCore: ProcessCore | undefined;
  /** Set for the monitor a call makes: gets the DOWN instead of a mailbox. */
  readonly onDown: { down(reason: ExitReason, cause?: Error): void } | undefined;
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

/** Runs a process's slice; given by the run loop (run.ts), so this file does not import it. */
export interface CoreRunner {
  runSlice(core: ProcessCore, budget: number): boolean;
}

/** Internal state of one process. Not exported from the package. */
export class ProcessCore implements Runnable {
  queued = false;
  state: State = State.Init;
  /** Every signal that became a message, in arrival order: messages, `{'EXIT', ...}`, `{'DOWN', ...}`, `{nodedown, ...}`. */
  readonly mailbox = new Queue<unknown>(0);
  links: Map<string, Pid> | undefined;
  /** Monitors held by this process, by ref key (an {@link AliasTable}: a call's monitor comes and goes with each call). */
  monitors: AliasTable<MonitorRecord> | undefined;
  /** Monitors on this process, by ref key (an {@link AliasTable}: a remote caller's calls each bring one and take it down). */
  monitoredBy: AliasTable<MonitorRecord> | undefined;
  nodeMonitors: Atom[] | undefined;
  aliases: Set<number | string> | undefined;
  /** Calls made by this process (finished ones are pruned lazily); those in flight are cancelled when it exits. */
  calls: CallLike[] | undefined;
  /** Calls waiting on this process (finished ones pruned lazily); they fail with its exit reason. */
  awaitedBy: CallLike[] | undefined;
  trapExit = false;
  /** Set by `Process.hibernate()`, cleared when the process next runs. */
  hibernated = false;
  /** Messages handled so far (the process's reductions). */
  handled = 0;
  /** Set while the process's messages are traced: called with each message put in its mailbox. */
  tracer: ((message: unknown) => void) | undefined;
  name: Atom | undefined;
  env: Map<string, unknown> | undefined;
  exitReason: ExitReason = undefined;
  abort: AbortController | undefined;
  exitWaiters: ((reason: ExitReason) => void)[] | undefined;
  /** The `Process` handle its code acts through (made by the kernel's handle factory). */
  proc: object;
  /** Continuations for an async handler, made by the run loop on the first one only. */
  onSettled: ((value: unknown) => void) | undefined;
  onRejected: ((err: unknown) => void) | undefined;

  constructor(
    private readonly runner: CoreRunner,
    readonly pid: Pid,
    readonly key: number,
    readonly handler: CoreHandler,
    readonly parent: Pid | undefined,
  ) {
    this.proc = this;
  }

  runSlice(budget: number): boolean {
    return this.runner.runSlice(this, budget);
  }

  hasMessages(): boolean {
    return this.mailbox.length > 0;
  }
}

/**
 * A process with nothing to do: waiting for a message, its mailbox empty, not on the run queue,
 * not traced. A message for it may be handled at once rather than on the scheduler's next run
 * (Kernel.deliverAndRun): it would have been handled next, nothing before it is overtaken.
 */
export function idle(core: ProcessCore): boolean {
  return core.state === State.Waiting && !core.queued && core.mailbox.length === 0 && core.tracer === undefined;
}

/** Reads the state through a call, so TypeScript does not narrow it across handler calls. */
export function exited(core: ProcessCore): boolean {
  return core.state === State.Exited;
}

/** Key of a pid in maps: its node, id, serial and creation. */
export function pidString(pid: Pid): string {
  return `${pid.node.name}|${pid.id}|${pid.serial}|${pid.creation}`;
}
