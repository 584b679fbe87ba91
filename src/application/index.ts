/**
 * Application: OTP's applications for Beamline. Load, start (dependencies
 * first), stop, unload; start types permanent, transient, temporary; an
 * environment readable by the application's processes; ordered stop with the node.
 *
 * @example
 * ```ts
 * loadApplication(node, { name: 'db', env: { pool: 4 }, children: [dbWorker] });
 * loadApplication(node, { name: 'web', dependencies: ['db'], children: [listener] });
 * await startApplication(node, 'web', 'permanent');
 * whichApplications(node); // web, db
 * await node.stop(); // stops web, then db
 * ```
 * @module
 */
export * from './errors.js';
export { type ApplicationContext, type ApplicationSpec, type StartType } from './spec.js';
export {
  applicationExit,
  applicationSupervisor,
  type ApplicationStartOptions,
  type ApplicationExit,
  type ApplicationInfo,
  getApplication,
  getApplicationEnv,
  getAppEnv,
  loadApplication,
  loadedApplications,
  setApplicationEnv,
  startApplication,
  StartedApplication,
  stopApplication,
  unloadApplication,
  whichApplications,
} from './controller.js';
