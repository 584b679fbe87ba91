/**
 * Pool: ergo's gen.Pool on the Server behavior. A pool process owns `size`
 * worker servers (linked, restarted when they die) and forwards every
 * message, cast and call it receives to the next worker, round robin.
 * Calls are forwarded as the unchanged `{'$gen_call', From, Request}`, so the
 * worker replies straight to the caller; the pool never waits.
 *
 * @example
 * ```ts
 * type Echo = { call: [string, string]; cast: string };
 * const echo: ServerBehavior<Echo, number> = {
 *   init: () => ok(0),
 *   handleCall: (req, _from, n) => reply(req, `echo ${String(req)}`, n + 1),
 *   handleCast: (_msg, n) => noreply(n + 1),
 * };
 * const pool = await startPool(node, { size: 4, worker: echo, args: undefined });
 * await node.call(pool, 'hi'); // 'echo hi', answered by one of the 4 workers
 * ```
 * @module
 */
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { From, Process } from '../core/process.js';
import type { Protocol, ServerRef } from '../core/protocol.js';
import { type ExitReason, formatReason, shutdown } from '../core/reasons.js';
import {
  nodeOfStarted,
  noreply,
  ok,
  type ServerBehavior,
  StartedServer,
  startServer,
  type StartOptions,
  stop,
} from '../server/server.js';
import { RestartIntensity } from '../supervisor/intensity.js';
import { shutdownAll } from '../supervisor/shutdown.js';
import type { Shutdown } from '../supervisor/child-spec.js';
import { getServerState } from '../server/server.js';

const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_EXIT = atom('EXIT');
const A_RESTART_FAILED = atom('$pool_restart_failed');

/**
 * What a pool runs: `size` workers of one {@link ServerBehavior}.
 * `P` is the protocol the workers (and so the pool) speak.
 */
export interface PoolSpec<P extends Protocol, S, A> {
  /** Number of workers, at least 1. */
  readonly size: number;
  /** The workers' behavior. */
  readonly worker: ServerBehavior<P, S, A>;
  /** `init` arguments of the workers: one value for all, or made per worker from its index (0-based). */
  readonly args: A | { readonly perWorker: (index: number) => A };
  /** Spawn options of each worker (environment, trapExit, init timeout). */
  readonly workerOptions?: Omit<StartOptions, 'link' | 'name'>;
  /** The pool gives up (exits `shutdown`) after more than `intensity` worker restarts in `period` s. Default 100 in 5 s. */
  readonly restartIntensity?: { readonly intensity: number; readonly period: number };
  /** How long the pool waits for each worker to stop before killing it (or `brutal_kill`, `infinity`). Default 5000 ms. */
  readonly workerShutdown?: Shutdown;
  /**
   * Skip a worker whose mailbox holds this many messages or more, trying the
   * next one (ergo's "busy worker"); if all are busy the round-robin one gets
   * the message anyway. Default: no limit.
   */
  readonly maxWorkerQueue?: number;
  /**
   * Starts worker `index` somewhere else than in this node (for example on
   * another node of a local cluster, see `startSpreadPool`) and resolves with
   * its pid; the pool links to it. Default: `startServer(worker, args)` here.
   */
  readonly placeWorker?: (ctx: Process, index: number) => Promise<Pid>;
}

/** Options of {@link startPool}. */
export interface PoolStartOptions {
  /** Register the pool under this name. */
  readonly name?: string;
  /** From a process: link the pool to it (start_link). */
  readonly link?: boolean;
  /** Cancels the start: the pool (and the workers it started) are killed, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** A started pool: a reference speaking the workers' protocol `P`, which knows the pool's pid; `stop()` or `await using` stops it and its workers. */
export class StartedPool<P extends Protocol> extends StartedServer<P> {}

/** The pool's state, as `getServerState` shows it. */
export interface PoolState {
  /** Worker pids by slot; `undefined` while a slot's worker restarts. */
  readonly workers: (Pid | undefined)[];
  /** Messages forwarded by each slot since the pool started. */
  readonly forwarded: number[];
  /** Worker restarts since the pool started. */
  restarts: number;
  next: number;
  /** Messages held while no worker is up. */
  readonly backlog: unknown[];
}

function argsFor<A>(args: A | { readonly perWorker: (index: number) => A }, index: number): A {
  if (args !== null && typeof args === 'object' && 'perWorker' in args && typeof args.perWorker === 'function')
    return (args as { readonly perWorker: (index: number) => A }).perWorker(index);
  return args as A;
}

function isBusy(node: Node, pid: Pid, limit: number | undefined): boolean {
  if (limit === undefined) return false;
  const info = node.processInfo(pid);
  return info !== undefined && info.messageQueueLength >= limit;
}

/**
 * The next worker in round robin: skips restarting slots and (with
 * `maxWorkerQueue`) busy workers, unless all are busy; counts the message as
 * forwarded by that slot. Undefined when every worker is restarting.
 */
function nextWorker(node: Node, state: PoolState, maxWorkerQueue: number | undefined): Pid | undefined {
  const n = state.workers.length;
  for (let tries = 0; tries < n; tries++) {
    const slot = state.next;
    state.next = (slot + 1) % n;
    const pid = state.workers[slot];
    if (pid === undefined) continue;
    if (tries < n - 1 && isBusy(node, pid, maxWorkerQueue)) continue;
    state.forwarded[slot] = (state.forwarded[slot] ?? 0) + 1;
    return pid;
  }
  return undefined;
}

/** What a local sender needs to pick a pool's worker itself: the pool process and its state. */
interface Picker {
  readonly ctx: Process;
  readonly state: PoolState;
  readonly maxWorkerQueue: number | undefined;
}

/** Running pools of this JavaScript realm, by the pool's pid object. */
const pickers = new WeakMap<Pid, Picker>();

/**
 * Picks the worker of a local pool that the pool itself would forward the
 * next message to (round robin over live workers, busy workers skipped),
 * and counts it as forwarded: a sender on the pool's node that sends to
 * the returned pid saves the hop through the pool process. Undefined when
 * `pool` is not a running local pool (or every worker is restarting): then
 * send to the pool as usual.
 *
 * @example
 * ```ts
 * const pool = await startPool(node, { size: 4, worker: handler, args: undefined });
 * node.send(pickPoolWorker(pool.pid) ?? pool.pid, request);
 * ```
 */
export function pickPoolWorker(pool: Pid): Pid | undefined {
  const p = pickers.get(pool);
  if (p === undefined || !p.ctx.alive) return undefined;
  const node = p.ctx.node;
  const n = p.state.workers.length;
  // A worker that died and whose exit the pool has not handled yet is passed over here, as in no other path.
  for (let tries = 0; tries < n; tries++) {
    const pid = nextWorker(node, p.state, p.maxWorkerQueue);
    if (pid === undefined) return undefined;
    if (node.isAlive(pid)) return pid;
  }
  return undefined;
}

/** The pool process as a {@link ServerBehavior}: `handleCall`/`handleCast`/`handleInfo` forward. */
function poolBehavior<P extends Protocol, S, A>(spec: PoolSpec<P, S, A>): ServerBehavior<Protocol, PoolState> {
  const intensity = new RestartIntensity(spec.restartIntensity?.intensity ?? 100, spec.restartIntensity?.period ?? 5);
  const workerOptions = spec.workerOptions ?? {};
  const place = spec.placeWorker;
  const startWorker = (ctx: Process, index: number): Promise<Pid> =>
    place !== undefined
      ? place(ctx, index).then((pid) => (ctx.link(pid), pid))
      : startServer(ctx, spec.worker, argsFor(spec.args, index), { ...workerOptions, link: true }).then((s) => s.pid);

  const forward = (ctx: Process, state: PoolState, message: unknown): void => {
    const pid = nextWorker(ctx.node, state, spec.maxWorkerQueue);
    if (pid !== undefined) ctx.send(pid, message);
    else state.backlog.push(message); // every worker is restarting
  };

  const restart = (ctx: Process, state: PoolState, slot: number, reason: ExitReason): void => {
    state.workers[slot] = undefined;
    state.restarts++;
    if (!intensity.add()) {
      ctx.logger.error({}, 'pool: too many worker restarts, giving up');
      ctx.send(ctx.self, tuple(A_RESTART_FAILED, shutdown));
      return;
    }
    if (!isQuiet(reason)) ctx.logger.info({ worker: slot, reason: formatReason(reason) }, `pool worker ${slot} exited, restarting`);
    startWorker(ctx, slot).then(
      (pid) => {
        if (!ctx.alive) return;
        state.workers[slot] = pid;
        const held = state.backlog.splice(0);
        for (const m of held) forward(ctx, state, m);
      },
      (err: unknown) => ctx.send(ctx.self, tuple(A_RESTART_FAILED, err)),
    );
  };

  return {
    behavior: 'pool',
    async init(_args, ctx) {
      if (!Number.isInteger(spec.size) || spec.size < 1) throw new RangeError(`pool size must be a positive integer, got ${spec.size}`);
      const workers: Pid[] = [];
      for (let i = 0; i < spec.size; i++) workers.push(await startWorker(ctx, i));
      const state: PoolState = { workers, forwarded: workers.map(() => 0), restarts: 0, next: 0, backlog: [] };
      pickers.set(ctx.self, { ctx, state, maxWorkerQueue: spec.maxWorkerQueue });
      return ok(state);
    },
    handleCall(request, from: From, state, ctx) {
      forward(ctx, state, tuple(A_GEN_CALL, from, request));
      return noreply(state);
    },
    handleCast(message, state, ctx) {
      forward(ctx, state, tuple(A_GEN_CAST, message));
      return noreply(state);
    },
    handleInfo(message, state, ctx) {
      if (message instanceof Tuple && message.elements[0] === A_EXIT && message.elements.length === 3 && message.elements[1] instanceof Pid) {
        const from = message.elements[1];
        const slot = state.workers.findIndex((w) => w !== undefined && w.equals(from));
        if (slot >= 0) restart(ctx, state, slot, message.elements[2]);
        // An exit signal from elsewhere (exit/2, the node stopping): stop, unless it is `normal`.
        else if (message.elements[2] !== atom('normal')) return stop(message.elements[2], state);
        return noreply(state);
      }
      if (message instanceof Tuple && message.elements[0] === A_RESTART_FAILED && message.elements.length === 2)
        return stop(message.elements[1], state);
      forward(ctx, state, message);
      return noreply(state);
    },
    async terminate(_reason, state, ctx) {
      pickers.delete(ctx.self);
      const alive = state.workers.filter((w): w is Pid => w !== undefined && ctx.node.isAlive(w));
      await shutdownAll(ctx, alive, spec.workerShutdown ?? 5000);
    },
  };
}

function isQuiet(reason: ExitReason): boolean {
  return reason === shutdown || reason === atom('normal');
}

/**
 * Starts a pool and its workers (in order). Resolves once every worker's
 * `init` has returned; rejects with InitFailedError if one fails. The pool
 * traps exits: stopping it (`stopServer`, or its supervisor) stops the
 * workers first.
 *
 * @example
 * ```ts
 * const pool = await startPool(node, { size: 8, worker: cache, args: { perWorker: (i) => ({ shard: i }) } });
 * node.cast(pool, tuple(atom('put'), 'k', 1));
 * ```
 */
export function startPool<P extends Protocol, S, A>(
  starter: Node | Process,
  spec: PoolSpec<P, S, A>,
  options: PoolStartOptions = {},
): Promise<StartedPool<P>> {
  const serverOptions: StartOptions = {
    trapExit: true,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.link === true ? { link: true } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  return startServer(starter, poolBehavior(spec), undefined, serverOptions).then((s) => new StartedPool<P>(s.pid, nodeOfStarted(s.pid)));
}

/**
 * The pids of a pool's workers, by slot (`undefined` for a slot whose
 * worker is restarting), and how many messages each slot has received.
 *
 * @example
 * ```ts
 * const { workers, forwarded } = await poolInfo(node, pool);
 * ```
 */
export async function poolInfo<P extends Protocol>(
  from: Node | Process,
  pool: ServerRef<P> | Pid | string,
): Promise<{ workers: (Pid | undefined)[]; forwarded: number[]; restarts: number }> {
  const state = (await getServerState(from, pool)) as PoolState;
  return { workers: [...state.workers], forwarded: [...state.forwarded], restarts: state.restarts };
}
