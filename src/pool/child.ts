/**
 * Child specs for pools: start a {@link startPool} pool under a Supervisor.
 * @module
 */
import type { Protocol } from '../core/protocol.js';
import type { ChildSpec, RestartType, Shutdown } from '../supervisor/child-spec.js';
import { type PoolSpec, startPool } from './pool.js';

/** Options of {@link poolChild}. */
export interface PoolChildOptions {
  readonly restart?: RestartType;
  /** Default `infinity`: the pool bounds its own wait with `workerShutdown`. */
  readonly shutdown?: Shutdown;
  /** Register the pool under this name. */
  readonly name?: string;
}

/**
 * A child spec that starts a pool linked to the supervisor; stopping the
 * child stops the workers, then the pool.
 *
 * @example
 * ```ts
 * const sup = await startSupervisor(node, {
 *   strategy: 'one_for_one',
 *   children: [poolChild('workers', { size: 4, worker: echo, args: undefined }, { name: 'workers' })],
 * });
 * ```
 */
export function poolChild<P extends Protocol, S, A>(id: string, spec: PoolSpec<P, S, A>, options: PoolChildOptions = {}): ChildSpec {
  return {
    id,
    start: async (parent) => (await startPool(parent, spec, { link: true, ...(options.name !== undefined ? { name: options.name } : {}) })).pid,
    restart: options.restart ?? 'permanent',
    shutdown: options.shutdown ?? 'infinity',
  };
}
