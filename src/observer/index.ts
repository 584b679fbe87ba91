/**
 * Observer: a live web view of a node and its cluster (Erlang's
 * `observer`): overview, processes, process pages, applications and
 * supervision trees, distribution; kill, trace and stop actions behind a
 * token; other Beamline nodes through distribution and Erlang nodes through rpc.
 *
 * @example
 * ```ts
 * import { startObserver } from 'beamline/observer';
 * const observer = await startObserver(node, { port: 9000 });
 * console.log(observer.url, observer.token);
 * ```
 * @module
 */
export { isLoopback, type ObserverOptions, observerRoutes, type StartedObserver, startObserver } from './observer.js';
export { exposeObserver, OBSERVER_RPC_MODULE } from './remote.js';
export { ObserverRequestError } from './errors.js';
export type { ObserverSource } from './source.js';
export type {
  ApplicationView,
  ConnectionView,
  DistributionView,
  NodeKind,
  OverviewView,
  ProcessPage,
  ProcessQuery,
  ProcessRow,
  ProcessView,
  SortKey,
  TracedMessage,
  TreeNode,
} from './views.js';
