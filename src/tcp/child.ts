/**
 * Child specs for TCP listeners: start {@link startTcp} under a Supervisor.
 * @module
 */
import type { ChildSpec, RestartType } from '../supervisor/child-spec.js';
import type { TcpData } from './handler.js';
import { startTcp, type TcpSpec } from './listener.js';

/**
 * A child spec that starts a TCP listener linked to the supervisor;
 * stopping the child closes the listener and every connection.
 *
 * @example
 * ```ts
 * await startSupervisor(node, { strategy: 'one_for_one', children: [tcpChild('echo', { port: 7000, handler: echo, args: undefined })] });
 * ```
 */
export function tcpChild<S, A, D extends TcpData = Buffer>(id: string, spec: TcpSpec<S, A, D>, options: { readonly restart?: RestartType; readonly name?: string } = {}): ChildSpec {
  return {
    id,
    start: async (parent) => (await startTcp(parent, spec, { link: true, ...(options.name !== undefined ? { name: options.name } : {}) })).pid,
    restart: options.restart ?? 'permanent',
    shutdown: 10_000,
  };
}
