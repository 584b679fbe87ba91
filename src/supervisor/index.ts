/**
 * Supervisor: OTP's supervision trees for Beamline. Strategies one_for_one,
 * one_for_all, rest_for_one and simple_one_for_one; restart types permanent,
 * transient and temporary; restart intensity; ordered start and shutdown;
 * the dynamic API.
 *
 * @example
 * ```ts
 * const sup = await startSupervisor(node, {
 *   strategy: 'one_for_one',
 *   intensity: 3,
 *   period: 5,
 *   children: [{ id: 'counter', start: serverStart(counter, 0), restart: 'permanent' }],
 * });
 * await terminateChild(node, sup, 'counter');
 * await restartChild(node, sup, 'counter');
 * ```
 * @module
 */
export {
  type ChildSpec,
  type ChildType,
  normalizeChildSpec,
  type NormalizedChildSpec,
  type RestartType,
  type Shutdown,
  type StartFunction,
  type StartReturn,
} from './child-spec.js';
export { serverStart, serverStartWith } from './child-start.js';
export * from './errors.js';
export { RestartIntensity } from './intensity.js';
export { shutdownChild } from './shutdown.js';
export {
  normalizeSupervisorSpec,
  type NormalizedSupervisorSpec,
  type SimpleSupervisorSpec,
  type Strategy,
  type AutoShutdown,
  type SupervisorFlags,
  type SupervisorSpec,
} from './spec.js';
export { type ChildCounts, type ChildInfo, type SupervisorProtocol, type SupervisorReply } from './supervisor.js';
export { startSupervisor, supervisorChild, supervisorStart, SupervisorRef, type SupervisorStartOptions } from './start.js';
export {
  countChildren,
  deleteChild,
  restartChild,
  startChild,
  terminateChild,
  type SupervisorTarget,
  whichChildren,
} from './api.js';
