/**
 * A Pool whose workers are spread over the nodes of a cluster, round robin:
 * worker `i` starts on `nodes[i % n]` (by remote spawn), or on the next node
 * that answers when that one is down. The pool itself runs where it is
 * started and forwards calls and casts to its workers as any Pool does; a
 * worker whose node goes down exits `noconnection` and is started again
 * elsewhere. Workers cross nodes by name: each node registers the worker's
 * behavior with {@link registerPoolWorker}, and its args are terms.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { startServer, type ServerBehavior, type StartOptions } from '../server/server.js';
import { registerSpawnable, remoteSpawn } from '../distribution/node-dist.js';
import { placeRoundRobin } from './placement.js';
import { startPool, type PoolSpec, type PoolStartOptions, type StartedPool } from '../pool/pool.js';

function spawnableName(name: string): string {
  return `$pool_worker:${name}`;
}

/**
 * Makes `worker` startable on `node` by spread pools of any node of the
 * cluster, under `name`. Call it on every node (in the cluster's start function).
 *
 * @example
 * ```ts
 * export function start(node: Node) { registerPoolWorker(node, 'resize', resizer); }
 * ```
 */
export function registerPoolWorker<P extends Protocol, S, A>(node: Node, name: string, worker: ServerBehavior<P, S, A>, options: Omit<StartOptions, 'link' | 'name'> = {}): void {
  registerSpawnable(node, spawnableName(name), (args, on) => startServer(on, worker, args[0] as A, options).then((s) => s.pid));
}

/** What {@link startSpreadPool} runs. */
export interface SpreadPoolSpec<P extends Protocol, S, A> extends Omit<PoolSpec<P, S, A>, 'placeWorker' | 'args'> {
  /** The name every node registered `worker` under ({@link registerPoolWorker}). */
  readonly name: string;
  /** The nodes to place workers on, round robin (the local node may be one of them). */
  readonly nodes: readonly (string | Atom)[];
  /** The workers' `init` argument: a term, since it crosses nodes. */
  readonly args: A;
}

function place<P extends Protocol, S, A>(ctx: Process, spec: SpreadPoolSpec<P, S, A>, index: number): Promise<Pid> {
  return placeRoundRobin(
    ctx,
    spec.nodes,
    index,
    () => startServer(ctx, spec.worker, spec.args, spec.workerOptions ?? {}).then((s) => s.pid),
    (node) => remoteSpawn(ctx.node, node, spawnableName(spec.name), [spec.args]),
  );
}

/**
 * Starts a Pool on `starter`'s node whose `size` workers are placed round
 * robin over `nodes`. Resolves once every worker has started.
 *
 * @example
 * ```ts
 * // in each node's start function: registerPoolWorker(node, 'echo', echo);
 * const pool = await startSpreadPool(node, { size: 8, worker: echo, name: 'echo', args: undefined, nodes: [node.name, ...context.peers] });
 * await node.call(pool, 'hi'); // answered by a worker on one of the nodes
 * ```
 */
export function startSpreadPool<P extends Protocol, S, A>(starter: Node | Process, spec: SpreadPoolSpec<P, S, A>, options: PoolStartOptions = {}): Promise<StartedPool<P>> {
  return startPool(starter, { ...spec, placeWorker: (ctx, index) => place(ctx, spec, index) }, options);
}
