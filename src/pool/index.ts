/**
 * Pool: a process that forwards every message, cast and call to a set of
 * restartable workers, round robin (ergo's gen.Pool).
 *
 * @example
 * ```ts
 * const pool = await startPool(node, { size: 4, worker: echo, args: undefined });
 * await node.call(pool, 'hi');
 * ```
 * @module
 */
export { type PoolSpec, type PoolStartOptions, type PoolState, StartedPool, startPool, poolInfo, pickPoolWorker } from './pool.js';
export { poolChild, type PoolChildOptions } from './child.js';
