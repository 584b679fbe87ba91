/**
 * Scheduler: runs ready processes in turn, fairly, without starving the
 * event loop.
 *
 * A process that has messages is put on the run queue once. Each turn gives
 * it up to `budget` messages (its reductions); if it still has messages, it
 * goes to the back of the queue. A run keeps going while there are ready
 * processes, but never longer than `sliceMs`: then it yields to the event
 * loop with `setImmediate`, so I/O and timers run before the next slice.
 * Short bursts run from a microtask for low latency: a resolved promise's
 * `then`, which costs less than `queueMicrotask` (Node wraps each of those
 * in an AsyncResource and a bound function).
 *
 * Idle polling: work can also arrive where no event announces it, in memory
 * shared with another thread (a local cluster's in-host rings). An
 * {@link IdlePoller} registered with {@link addIdlePoller} is polled when
 * this thread has nothing to run, for a short bounded time (busy-waiting, as
 * Erlang's schedulers do before they sleep), instead of going back to the
 * event loop and waiting to be woken; when nothing comes, it is told to
 * park (arm a real wake-up) and the thread sleeps as usual. Core knows
 * nothing of what is polled. Pollers that can say cheaply whether a poll
 * would find something ({@link IdlePoller.ready}: a ring's counters) are
 * waited on in a tight loop between two steps, once a step found nothing
 * after one that found nothing either (the work the last data brought in
 * has run): the peer's bytes are taken a fraction of a µs after they land.
 *
 * A poller whose work comes through the event loop (a socket: its bytes reach
 * JavaScript only when libuv polls for I/O) says so with
 * {@link IdlePoller.eventLoop}: an idle stretch that its source started
 * (`pollIdle(true)`, after a socket write) has its steps queued with
 * `setImmediate`, so each step lets the event loop turn and poll
 * for I/O without blocking (a pending immediate makes libuv poll with a zero
 * timeout): the thread keeps running instead of halting its core and paying
 * a wake-up when the reply comes. Other stretches poll only the memory-fed
 * pollers' way, chaining through microtasks and ticks, which is faster; a
 * thread whose pollers are all fed by the event loop spins only after a write.
 *
 * Spinning pays only while the peer runs on another core at the same time:
 * a moving average of how often spins found something decides whether an
 * idle stretch spins, and a socket-started spin during which the kernel
 * preempted the process (the machine is oversubscribed) lowers it (see
 * {@link IdleSpinOptions.maxSpinUs}).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { Queue } from './queue.js';

/** Settled once; `RESOLVED.then(fn)` queues `fn` as a microtask without the AsyncResource of `queueMicrotask`. */
export const RESOLVED: Promise<void> = Promise.resolve();

/** What the scheduler needs of a process. */
export interface Runnable {
  /** True while on the run queue. */
  queued: boolean;
  /** Handle up to `budget` messages; return true when more are ready now. */
  runSlice(budget: number): boolean;
}

export interface SchedulerOptions {
  /** Reductions (messages handled plus messages sent) a process gets per turn. Default 1000. */
  readonly budget?: number;
  /** Longest stretch of work before yielding to the event loop, in ms. Default 8. */
  readonly sliceMs?: number;
}

export class Scheduler {
  private readonly ready = new Queue<Runnable>(64);
  private readonly budget: number;
  private readonly sliceMs: number;
  private armed = false;
  /** When the current slice began (Date.now()), or NaN until the clock is first read in it. */
  private sliceStart = Number.NaN;
  /** The clock's last reading in the current slice (see {@link Scheduler.now}). */
  private lastRead = 0;
  /** Runs in the current slice. */
  private runs = 0;
  /** Set once the event loop has turned since the current slice began. */
  private turned = true;
  private marker: NodeJS.Immediate | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Runs when the event loop turns after a slice that read the clock (see {@link Scheduler.turnEndPending}). */
  onTurnEnd: (() => void) | undefined = undefined;
  private readonly onTurn = (): void => {
    this.marker = undefined;
    this.turned = true;
    this.onTurnEnd?.();
  };
  private readonly runNow = (): void => this.run(false);
  private readonly runAfterYield = (): void => {
    this.immediate = undefined;
    this.run(true);
  };

  constructor(options: SchedulerOptions = {}) {
    this.budget = options.budget ?? 1000;
    this.sliceMs = options.sliceMs ?? 8;
  }

  /** Puts `p` on the run queue (once). */
  schedule(p: Runnable): void {
    if (p.queued) return;
    p.queued = true;
    this.ready.push(p);
    if (!this.armed) {
      this.armed = true;
      void RESOLVED.then(this.runNow);
    }
  }

  /** Number of processes waiting to run. */
  get pending(): number {
    return this.ready.length;
  }

  /** Empties the run queue and cancels a pending yield; used when the node stops (every process has exited). */
  dispose(): void {
    for (let p = this.ready.shift(); p !== undefined; p = this.ready.shift()) p.queued = false;
    this.armed = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.marker !== undefined) clearImmediate(this.marker);
    this.immediate = undefined;
    this.marker = undefined;
    this.turned = true;
  }

  /** Reads the clock for the current slice: its start on the first read, armed with the turn marker that ends it. */
  private clock(): number {
    const now = Date.now();
    this.lastRead = now;
    if (this.sliceStart !== this.sliceStart) {
      this.sliceStart = now;
      this.marker ??= setImmediate(this.onTurn);
    }
    return now;
  }

  /**
   * The turn clock: the clock's last reading in the current slice, or a fresh one when the slice has
   * none (a fresh reading is not kept: only the scheduler's own readings start a slice's clock).
   * While a slice has a reading, its turn marker is pending, so the event loop cannot block in
   * poll before the slice ends: the reading lags real time by the work done since it (the
   * scheduler reads every 4 runs and every 16 process turns), about as much as the loop time
   * Node's own timers count from. For deadlines, without a `Date.now()` each.
   */
  now(): number {
    return this.marker !== undefined ? this.lastRead : Date.now();
  }

  /** True while the turn marker is pending: {@link Scheduler.onTurnEnd} runs when the event loop next turns. */
  get turnEndPending(): boolean {
    return this.marker !== undefined;
  }

  private run(afterYield: boolean): void {
    // A slice is the work done between two turns of the event loop (I/O and timers had their chance
    // between them); a chain of microtask runs (async handlers settling, processes waking each other)
    // counts against the same slice. Reading the clock costs as much as a short run, so a slice reads
    // it only once it has lasted: on every 4th run, and every 16 process turns within a run. The
    // first read starts the slice's clock and arms the turn marker (an immediate), which starts a
    // fresh slice once the loop turns; a slice that reaches `sliceMs` before that yields with
    // `setImmediate`. Short runs (a process answering calls as they arrive) read no clock and arm no
    // immediate, except one of each per 4 runs. A slice whose clock started
    // late (after 3 unmeasured runs) may overrun `sliceMs` by those runs.
    if (afterYield || this.turned) {
      this.turned = false;
      this.runs = 0;
      this.sliceStart = Number.NaN;
      if (afterYield) this.clock();
    }
    const sliceMs = this.sliceMs;
    let now = (++this.runs & 3) === 0 ? this.clock() : Number.NaN;
    const ready = this.ready;
    const budget = this.budget;
    let turns = 0;
    while (ready.length > 0) {
      if (now - this.sliceStart >= sliceMs) {
        this.immediate = setImmediate(this.runAfterYield);
        return; // stay armed until the yield fires
      }
      const p = ready.shift() as Runnable;
      p.queued = false;
      if (p.runSlice(budget) && !p.queued) {
        p.queued = true;
        ready.push(p);
      }
      // The clock is read every 16 turns: turns are short, and a slice may overrun by a few of them.
      if ((++turns & 15) === 0) now = this.clock();
    }
    this.armed = false;
    if (pollers.length !== 0) pollIdle();
  }
}

/**
 * A source of work that no event announces (memory shared with another
 * thread), polled by this thread while it has nothing to run.
 */
export interface IdlePoller {
  /** Takes in what arrived, delivering it as an event would have; true when there was something. Never blocks. */
  poll(): boolean;
  /** The idle spin is over: arrange for a real wake-up (an event), and call {@link pollIdle} on it. */
  park(): void;
  /**
   * True for a source fed by the event loop (socket bytes, read by libuv):
   * polling it helps only after the loop has turned, so an idle stretch
   * that its source started (`pollIdle(true)`: it wrote a request, a reply
   * is likely) has its steps turn the event loop (`setImmediate`) rather
   * than chain through microtasks; other stretches (the thread went idle,
   * a ring was written) do not spin for it. Default false (memory shared
   * with another thread). Read once, when the poller is added.
   */
  readonly eventLoop?: boolean;
  /**
   * Optional, for a memory-fed poller: whether a {@link poll} would find
   * something now, without doing it (a few loads of shared memory: no side
   * effect, no allocation). When every memory-fed poller has it, a spin
   * that found nothing in its last step waits on these checks in a tight
   * loop (for up to {@link INNER_SPIN_US} µs at a time, within the spin's
   * budget) instead of a chain of steps, and polls the moment one says yes:
   * the peer's bytes are taken in a fraction of a µs after they land
   * rather than at the next step. Read each time the loop runs.
   */
  ready?(): boolean;
}

/**
 * Longest tight wait on {@link IdlePoller.ready} in one step, in µs: between
 * two such waits the spin goes through a step (a tick and a microtask), so
 * that work queued meanwhile (by a tick that ran after the spin's own) is
 * not held up longer than this.
 */
export const INNER_SPIN_US = 20;
const INNER_SPIN_MS = INNER_SPIN_US / 1000;

/** Options of the idle spin ({@link setIdleSpin}). */
export interface IdleSpinOptions {
  /**
   * Longest time, in µs, this thread polls its {@link IdlePoller}s with
   * nothing to run before it parks them and goes back to the event loop.
   * Default 500 (a local cluster's ring nodes: 50); 0: polls until nothing more comes, then parks (no
   * busy-waiting). Spinning pays only while the other side is running on
   * another core: the thread keeps a moving average of how often a spin
   * ended with something found rather than parked, and while that is below
   * 3 in 4 (a loaded machine, where the peer waits for a core) it does not
   * spin, except one idle stretch in 32 that spins to notice when it pays
   * again (the average never goes below 0.6, so that a few probes that pay
   * are enough, after any stretch of bad times). A spin that a socket
   * write started (`pollIdle(true)`) during which the kernel preempted the process (its involuntary context switches: the
   * machine has more runnable threads than cores) counts as one more that
   * did not pay, for each half millisecond it was preempted in while waiting
   * long (32 empty steps in a row or more: a peer that cannot get a core);
   * a preemption while the data keeps coming within a few steps (a busy
   * peer) does not count.
   */
  readonly maxSpinUs?: number;
  /** Longest run of polling and the work it brings in without a turn of the event loop (timers, I/O), in µs. Default 1000. */
  readonly maxChainUs?: number;
  /**
   * Reads a count that grows each time the kernel preempts this process
   * (default: `process.resourceUsage().involuntaryContextSwitches`); tests
   * give their own, so that what they check does not depend on the machine's load.
   */
  readonly preemptions?: () => number;
}

const pollers: IdlePoller[] = [];
/** Registered memory-fed pollers without {@link IdlePoller.ready}: while there is one, a spin does not wait in a tight loop. */
let uncheckable = 0;
/** Pollers removed so far: a poll that removes one (a socket that saw its end) shifts the others in the array. */
let removals = 0;
/** Registered pollers fed by the event loop ({@link IdlePoller.eventLoop}). */
let eventLoopPollers = 0;
/**
 * The current idle stretch turns the event loop: one of those pollers' sources
 * wrote during it (`pollIdle(true)`), so its steps are immediates. Else they
 * chain through microtasks, polling the memory-fed pollers at full speed.
 */
let evented = false;
let maxSpinMs = 0.5;
let maxChainMs = 1;
/** This idle stretch's spin budget: maxSpinMs, or 0 while spinning does not pay. */
let spinMs = maxSpinMs;
/**
 * How often a spin has paid lately (a moving average of its outcomes: 1
 * when the wait ended with something found, 0 when it ended parked).
 */
let spinPays = 1;
/** Idle stretches begun; while spinning does not pay, one in PROBE spins anyway, to notice when it would again. */
let stretches = 0;
/**
 * The process's involuntary context switches at the last check, and when
 * that was (NaN: at the next step). A spinning thread that the kernel
 * preempted found the machine oversubscribed: its spin takes a core another
 * thread wants (often the peer it waits for), even when it ends with
 * something found. Checked every CHECK_MS of spinning (from the count read at the last check),
 * and when it parks (one getrusage call, under a µs, while idle anyway).
 */
let preemptions = 0;
let checkedAt = Number.NaN;
const CHECK_MS = 0.5;
/**
 * Empty steps in a row (each a turn of the event loop, about a µs) after which a spin that a socket
 * write started is waiting long: a preemption seen then counts against spinning. A busy peer answers
 * within a few (a round trip of a call over loopback is about 20), one that cannot get a core takes hundreds.
 */
const CONTESTED_STEPS = 32;

/** The default preemption count (IdleSpinOptions.preemptions): the process's involuntary context switches, all threads. */
const involuntarySwitches = (): number => process.resourceUsage().involuntaryContextSwitches;
let readPreemptions = involuntarySwitches;

/** True when the process was preempted since the last check. */
function preempted(now: number): boolean {
  const n = readPreemptions();
  const was = n !== preemptions;
  preemptions = n;
  checkedAt = now;
  return was;
}
const PROBE = 32;
/** Spinning is worth it while it pays at least this often (a wasted spin costs more than the wake-up it saves). */
const PAYS_ENOUGH = 0.75;
/**
 * The average's floor: however long spinning did not pay (a loaded machine, a
 * peer that stopped spinning too and so answers slowly), four probes in a row
 * that pay bring it back (0.6, 0.65, 0.69, 0.73, 0.77).
 */
const PAYS_FLOOR = 0.6;
/** 0: not polling; 1: polling (a step is queued); 2: parked. */
let idleState = 0;
/** When the thread last had something (work found, or pollIdle called), or NaN until the next step reads the clock. */
let busyAt = Number.NaN;
/**
 * Steps in a row that found nothing, since the stretch began or something
 * was last found (a pollIdle while polling does not reset it: the work that
 * called it, a reply being written, is often what the data found next brought).
 * Something found after at least one empty step was waited for: the spin paid.
 */
let emptySteps = 0;
/** When the current chain of steps began, or NaN once the event loop has turned since. */
let chainAt = Number.NaN;
const onTurn = (): void => {
  chainAt = Number.NaN;
};
const resume = (): void => {
  if (idleState === 1) step();
};
// A step runs as a microtask and queues the next one through process.nextTick, so that both the
// microtasks (processes running, promises settling) and the ticks (a connection's batched write)
// queued by the work a step brings in run between two steps.
// In a stretch that a poller fed by the event loop started, a step is an immediate instead: each step lets
// the loop turn (libuv polls for I/O with a zero timeout while an immediate is pending), and the
// loop's turn is the chain's end, so no chain bookkeeping.
const requeue = (): void => void RESOLVED.then(step);

/** Queues the spin's next step: a turn of the event loop in an evented stretch, else a tick then a microtask. */
function queueStep(): void {
  if (evented) setImmediate(step);
  else process.nextTick(requeue);
}

/** Polls every registered poller once; true when one found something (or one was removed meanwhile). */
function pollAll(): boolean {
  let found = false;
  const removed = removals;
  for (let i = 0; i < pollers.length; i++) if ((pollers[i] as IdlePoller).poll()) found = true;
  // A poller removed during the loop (its poll saw its end) shifted the next one into its place,
  // unpolled this time, though its own wake-up may have come already: poll again, as for work found.
  return found || removals !== removed;
}

/**
 * Waits in a tight loop until a memory-fed poller's {@link IdlePoller.ready}
 * says yes (true), or until `until` (performance.now() ms; false). The clock
 * is read every 32 rounds of checks (each is a few loads).
 */
function waitReady(until: number): boolean {
  for (let round = 1; ; round++) {
    for (let i = 0; i < pollers.length; i++) {
      const p = pollers[i] as IdlePoller;
      if (p.ready !== undefined && p.ready()) return true;
    }
    if ((round & 31) === 0 && performance.now() >= until) return false;
  }
}

function step(): void {
  if (idleState !== 1) return;
  let now = performance.now();
  if (busyAt !== busyAt) busyAt = now;
  // The preemption rule holds for stretches a socket write started only: the process's count includes
  // every thread, and the nodes of a threads cluster (in-host rings) share one process, where their own
  // threads preempt each other routinely on 2 vCPUs (rings measured 124k calls/s with it, 162k without).
  if (spinMs !== 0 && evented) {
    if (checkedAt !== checkedAt) checkedAt = now;
    // Preempted while spinning, and waiting long already: the machine may be loaded (the peer cannot
    // run), counted as a spin that did not pay. (Not more: two nodes and their runtimes' threads on two
    // cores are preempted now and then, quiet or not.) A preemption while the data keeps coming within
    // a few steps (a busy peer: 8 callers) says nothing of the spin's worth: the process's count takes
    // in its GC and other threads too; that long spin of 8 callers went back to sleeping and waking on
    // every batch, at half its calls per second, after such preemptions (the count is read anyway, to
    // start the next check afresh).
    else if (now - checkedAt >= CHECK_MS && preempted(now) && emptySteps >= CONTESTED_STEPS) spinPays = Math.max(PAYS_FLOOR, spinPays - spinPays / 8);
  }
  // Steps that are immediates turn the loop each time: no chain (NaN also keeps the check below false,
  // and a chain of microtask steps, once only memory-fed pollers are left, starts afresh).
  if (evented) chainAt = Number.NaN;
  else if (chainAt !== chainAt) {
    chainAt = now;
    setImmediate(onTurn);
  }
  let found = pollAll();
  // Nothing now, nor at the last step (a whole turn of ticks and microtasks since: the work that
  // data found before brought in, its writes included, has run): wait on the pollers' own cheap
  // checks in a tight loop, and poll the moment one says yes, instead of stepping again.
  if (!found && emptySteps !== 0 && spinMs !== 0 && !evented && uncheckable === 0) {
    const until = Math.min(busyAt + spinMs, now + INNER_SPIN_MS, chainAt + maxChainMs);
    if (until > now) {
      if (waitReady(until)) found = pollAll();
      now = performance.now();
    }
  }
  if (found) {
    // Found after waiting for it (an empty step before): the spin paid.
    if (spinMs !== 0 && emptySteps !== 0) spinPays += (1 - spinPays) / 8;
    emptySteps = 0;
    busyAt = now;
  } else emptySteps++;
  if (now - chainAt >= maxChainMs) {
    // Timers and I/O get their turn; polling resumes right after it.
    setImmediate(resume);
    return;
  }
  if (!found && now - busyAt >= spinMs) {
    if (spinMs !== 0) {
      spinPays -= spinPays / 8;
      if (evented && preempted(now)) spinPays -= spinPays / 8;
      if (spinPays < PAYS_FLOOR) spinPays = PAYS_FLOOR;
    }
    idleState = 2;
    for (let i = 0; i < pollers.length; i++) (pollers[i] as IdlePoller).park();
    return;
  }
  queueStep();
}

/**
 * Something may arrive soon (this thread just went idle, sent a request, or
 * was woken by a parked poller): poll the registered {@link IdlePoller}s,
 * for up to the spin while spinning pays, else until they have nothing.
 * `eventLoop`: the caller is the source of a poller fed by the event loop
 * (a socket that wrote): the stretch's steps turn the event loop. Without
 * it, a thread whose pollers are all fed by the event loop does not spin
 * (they find something only after their source wrote). Does nothing when
 * none is registered.
 */
export function pollIdle(eventLoop = false): void {
  if (pollers.length === 0) return;
  if (eventLoop) {
    if (eventLoopPollers === 0) return;
    evented = true;
  } else if (idleState !== 1 && eventLoopPollers === pollers.length) return;
  busyAt = Number.NaN;
  if (idleState === 1) return;
  idleState = 1;
  evented = eventLoop;
  emptySteps = 0;
  spinMs = spinPays >= PAYS_ENOUGH || ++stretches % PROBE === 0 ? maxSpinMs : 0;
  // No getrusage here (one per idle stretch, so per call in a ping-pong over rings, cost a tenth of
  // the call): the count read at the last check or park is the baseline, and preemptions since then
  // (the thread was working or asleep) are as much a sign of an oversubscribed machine.
  if (spinMs !== 0) checkedAt = Number.NaN;
  if (evented) setImmediate(step);
  else void RESOLVED.then(step);
}

/** Registers `poller` for this thread's idle spin; returns the function that removes it (once; later calls do nothing). */
export function addIdlePoller(poller: IdlePoller): () => void {
  const isEvented = poller.eventLoop === true;
  const isUncheckable = !isEvented && poller.ready === undefined;
  pollers.push(poller);
  if (isEvented) eventLoopPollers++;
  if (isUncheckable) uncheckable++;
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    const i = pollers.indexOf(poller);
    if (i >= 0) pollers.splice(i, 1);
    removals++;
    if (isEvented) eventLoopPollers--;
    if (isUncheckable) uncheckable--;
    if (eventLoopPollers === 0) evented = false;
    if (pollers.length === 0) idleState = 0;
  };
}

/** The idle spin's state, for tests and diagnostics: registered pollers (of which fed by the event loop), polling or parked, the spin setting, the spin budget of this idle stretch (0 while spinning does not pay) and how often spinning has paid lately. */
export function idleSpinState(): { pollers: number; eventLoopPollers: number; state: 'idle' | 'polling' | 'parked'; maxSpinUs: number; spinUs: number; pays: number } {
  return {
    maxSpinUs: maxSpinMs * 1000,
    pollers: pollers.length,
    eventLoopPollers,
    state: idleState === 0 ? 'idle' : idleState === 1 ? 'polling' : 'parked',
    spinUs: spinMs * 1000,
    pays: spinPays,
  };
}

/**
 * Sets this thread's idle spin (see {@link IdleSpinOptions}).
 *
 * @example
 * ```ts
 * setIdleSpin({ maxSpinUs: 0 }); // never busy-wait: park at once
 * ```
 */
export function setIdleSpin(options: IdleSpinOptions): void {
  const spin = options.maxSpinUs ?? 500;
  const chain = options.maxChainUs ?? 1000;
  if (!(spin >= 0 && spin <= 10_000)) throw new RangeError(`maxSpinUs must be between 0 and 10000, got ${spin}`);
  if (!(chain >= 1 && chain <= 100_000)) throw new RangeError(`maxChainUs must be between 1 and 100000, got ${chain}`);
  maxSpinMs = spin / 1000;
  maxChainMs = chain / 1000;
  spinPays = 1;
  readPreemptions = options.preemptions ?? involuntarySwitches;
  preemptions = readPreemptions();
}
