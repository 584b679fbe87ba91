/**
 * Child specs for UDP sockets: start {@link startUdp} under a Supervisor.
 * @module
 */
import type { ChildSpec, RestartType } from '../supervisor/child-spec.js';
import { startUdp, type UdpSpec } from './socket.js';

/**
 * A child spec that starts a UDP socket owner linked to the supervisor;
 * stopping the child closes the socket and stops the handlers.
 *
 * @example
 * ```ts
 * await startSupervisor(node, { strategy: 'one_for_one', children: [udpChild('dns', { port: 5353, handler, args: undefined })] });
 * ```
 */
export function udpChild<S, A>(id: string, spec: UdpSpec<S, A>, options: { readonly restart?: RestartType; readonly name?: string } = {}): ChildSpec {
  return {
    id,
    start: async (parent) => (await startUdp(parent, spec, { link: true, ...(options.name !== undefined ? { name: options.name } : {}) })).pid,
    restart: options.restart ?? 'permanent',
    shutdown: 10_000,
  };
}
