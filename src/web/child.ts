/**
 * Child specs for Web gateways: start {@link startWeb} under a Supervisor.
 * @module
 */
import type { ChildSpec, RestartType } from '../supervisor/child-spec.js';
import { startWeb, type WebSpec } from './gateway.js';

/**
 * A child spec that starts a Web gateway linked to the supervisor. Its
 * shutdown timeout leaves room for the gateway's drain (`shutdownTimeout`).
 *
 * @example
 * ```ts
 * await startSupervisor(node, { strategy: 'one_for_one', children: [webChild('web', { port: 8080, routes })] });
 * ```
 */
export function webChild(id: string, spec: WebSpec, options: { readonly restart?: RestartType; readonly name?: string } = {}): ChildSpec {
  return {
    id,
    start: async (parent) => (await startWeb(parent, spec, { link: true, ...(options.name !== undefined ? { name: options.name } : {}) })).pid,
    restart: options.restart ?? 'permanent',
    shutdown: (spec.shutdownTimeout ?? 5000) + 5000,
  };
}
