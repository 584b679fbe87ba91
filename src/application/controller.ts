/**
 * The application controller of a node: loads, starts and stops
 * applications, starts dependencies first, applies the start type when an
 * application stops by itself (permanent: the node stops; transient: only
 * after an abnormal exit; temporary: logged), and stops the running
 * applications in reverse start order when the node stops (`node.onStop`).
 *
 * Core knows nothing of applications: the controller attaches itself to a
 * node the first time it is used there.
 * @module
 */
import { AbortedError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { type ExitReason, formatReason, normal } from '../core/reasons.js';
import { normalizeSupervisorSpec } from '../supervisor/spec.js';
import { startTopLevel, stopTopLevel, type TopLevel } from '../supervisor/start.js';
import type { Pid } from '../terms/identifiers.js';
import {
  AlreadyLoadedError,
  AlreadyStartedApplicationError,
  ApplicationRunningError,
  ApplicationStartError,
  InvalidApplicationSpecError,
  MissingDependencyError,
  NotLoadedError,
  NotStartedError,
} from './errors.js';
import { type ApplicationContext, type ApplicationSpec, rootSupervisorOf, type StartType } from './spec.js';

/** The process environment key that names a process's application. */
export const APPLICATION_ENV_KEY = '$application';

/** A row of {@link whichApplications} / {@link loadedApplications}. */
export interface ApplicationInfo {
  readonly name: string;
  readonly description: string;
  readonly version: string;
}

/** How a running application ended. */
export interface ApplicationExit {
  readonly reason: ExitReason;
  /** True when `stopApplication` (or the node's stop) asked for it. */
  readonly requested: boolean;
}

interface Loaded {
  readonly spec: ApplicationSpec;
  readonly env: Map<string, unknown>;
}

interface Running {
  readonly name: string;
  readonly type: StartType;
  readonly root: Pid;
  /** The root's parent (the application master's role): stopping it stops the root. */
  readonly top: TopLevel;
  requested: boolean;
  readonly ended: Promise<ApplicationExit>;
}

class Controller {
  readonly loaded = new Map<string, Loaded>();
  /** Running applications in start order. */
  readonly running: Running[] = [];
  private readonly starting = new Map<string, Promise<void>>();

  constructor(readonly node: Node) {
    node.onStop(async () => {
      const apps = [...this.running].reverse().map((a) => a.name);
      if (apps.length > 0) node.logger.info({ applications: apps }, `node stop: stopping applications ${apps.join(', ')}`);
      for (const app of apps) await this.stop(app).catch(() => undefined);
    });
  }

  context(name: string): ApplicationContext {
    const l = this.loaded.get(name) as Loaded;
    return { node: this.node, name, env: l.env };
  }

  find(name: string): Running | undefined {
    return this.running.find((r) => r.name === name);
  }

  /** Checks that every dependency is loaded (transitively) and that there is no cycle. */
  checkDependencies(name: string, path: string[] = []): void {
    const l = this.loaded.get(name);
    if (l === undefined) throw new NotLoadedError(name);
    for (const dep of l.spec.dependencies ?? []) {
      if (path.includes(dep) || dep === name) throw new MissingDependencyError(name, dep, 'depends on it in turn (cycle)');
      if (!this.loaded.has(dep)) throw new MissingDependencyError(name, dep);
      this.checkDependencies(dep, [...path, name]);
    }
  }

  async start(name: string, type: StartType, signal?: AbortSignal): Promise<void> {
    const pending = this.starting.get(name);
    // Another start of the same application is under way: wait for it (until our own signal aborts).
    if (pending !== undefined) return signal === undefined ? pending : untilAborted(pending, signal, name);
    const p = this.doStart(name, type, signal).finally(() => this.starting.delete(name));
    this.starting.set(name, p);
    return p;
  }

  private async doStart(name: string, type: StartType, signal: AbortSignal | undefined): Promise<void> {
    const l = this.loaded.get(name);
    if (l === undefined) throw new NotLoadedError(name);
    checkAborted(signal, name);
    for (const dep of l.spec.dependencies ?? []) if (this.find(dep) === undefined) await this.start(dep, 'temporary', signal);
    checkAborted(signal, name);
    const ctx = this.context(name);
    try {
      await l.spec.start?.(signal === undefined ? ctx : { ...ctx, signal });
    } catch (err) {
      // A hook that gave up because of the abort: the start is aborted (its stop hook does not run, as after any failed hook).
      throw signal?.aborted === true ? aborted(signal, name) : new ApplicationStartError(name, err);
    }
    let top: TopLevel;
    try {
      checkAborted(signal, name);
      const sup = normalizeSupervisorSpec(rootSupervisorOf(l.spec));
      top = await startTopLevel(this.node, sup, { env: { [APPLICATION_ENV_KEY]: name }, ...(signal !== undefined ? { signal } : {}) }, false);
    } catch (err) {
      // Aborted after the start hook ran: the root supervisor was killed (or never started); undo the hook.
      if (signal?.aborted === true) {
        await this.runStopHook(name);
        throw aborted(signal, name);
      }
      throw new ApplicationStartError(name, err);
    }
    const root = top.pid;
    let resolveEnded!: (e: ApplicationExit) => void;
    const app: Running = { name, type, root, top, requested: false, ended: new Promise((r) => (resolveEnded = r)) };
    this.running.push(app);
    this.node.logger.info({ application: name, type }, `application ${name} started`);
    void this.node.waitExit(root).then(async (reason) => {
      const i = this.running.indexOf(app);
      if (i >= 0) this.running.splice(i, 1);
      if (app.requested) {
        resolveEnded({ reason, requested: true });
        return;
      }
      await this.runStopHook(name);
      this.node.log(reason === normal ? 'info' : 'error', `application ${name} exited: ${formatReason(reason)}, type ${type}`);
      resolveEnded({ reason, requested: false });
      if (type === 'permanent' || (type === 'transient' && reason !== normal)) void this.node.stop();
    });
  }

  private async runStopHook(name: string): Promise<void> {
    const l = this.loaded.get(name);
    try {
      await l?.spec.stop?.(this.context(name));
    } catch (err) {
      this.node.logger.error({ application: name, err }, `stop hook of application ${name} failed`);
    }
  }

  async stop(name: string): Promise<void> {
    const app = this.find(name);
    if (app === undefined) throw new NotStartedError(name);
    app.requested = true;
    // As OTP's application master: the root's parent exits with `shutdown`; the root terminates its tree in order.
    if (this.node.isAlive(app.root)) await stopTopLevel(this.node, app.top);
    await app.ended;
    await this.runStopHook(name);
    this.node.logger.info({ application: name }, `application ${name} stopped`);
  }
}

function aborted(signal: AbortSignal, name: string): AbortedError {
  return new AbortedError(`start of application ${name} aborted`, signal.reason);
}

function checkAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted === true) throw aborted(signal, name);
}

/** `p`, or an AbortedError as soon as `signal` aborts (`p` itself goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, name: string): Promise<T> {
  if (signal.aborted) return Promise.reject(aborted(signal, name));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted(signal, name));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const controllers = new WeakMap<Node, Controller>();

function controllerOf(node: Node): Controller {
  let c = controllers.get(node);
  if (c === undefined) controllers.set(node, (c = new Controller(node)));
  return c;
}

function info(spec: ApplicationSpec): ApplicationInfo {
  return { name: spec.name, description: spec.description ?? '', version: spec.version ?? '' };
}

/**
 * Loads an application on a node (nothing starts). Throws
 * InvalidApplicationSpecError or AlreadyLoadedError.
 *
 * @example
 * ```ts
 * loadApplication(node, { name: 'db', version: '1.0.0', children: [dbWorker] });
 * ```
 */
export function loadApplication(node: Node, spec: ApplicationSpec): void {
  rootSupervisorOf(spec);
  const c = controllerOf(node);
  if (c.loaded.has(spec.name)) throw new AlreadyLoadedError(spec.name);
  try {
    normalizeSupervisorSpec(rootSupervisorOf(spec));
  } catch (err) {
    throw new InvalidApplicationSpecError(spec.name, `application ${spec.name}: ${(err as Error).message}`);
  }
  c.loaded.set(spec.name, { spec, env: new Map(Object.entries(spec.env ?? {})) });
}

/**
 * Unloads an application that is not running. Throws NotLoadedError or ApplicationRunningError.
 *
 * @example
 * ```ts
 * await stopApplication(node, 'db');
 * unloadApplication(node, 'db');
 * ```
 */
export function unloadApplication(node: Node, name: string): void {
  const c = controllerOf(node);
  if (!c.loaded.has(name)) throw new NotLoadedError(name);
  if (c.find(name) !== undefined) throw new ApplicationRunningError(name);
  c.loaded.delete(name);
}

/** Options of {@link startApplication}. */
export interface ApplicationStartOptions {
  /** What happens when the application stops by itself; default `temporary`. */
  readonly type?: StartType;
  /**
   * Cancels the start: it rejects with AbortedError. The start hook gets the
   * signal (`app.signal`); once the hook has run, an abort runs the stop
   * hook, and a root supervisor being started is killed with the children
   * it started. Dependencies that finished starting keep running, as after
   * a failed start.
   */
  readonly signal?: AbortSignal;
}

/**
 * Starts a loaded application: its dependencies first (as temporary, if not
 * running), then its start hook, then its root supervisor. Rejects with
 * NotLoadedError, AlreadyStartedApplicationError, MissingDependencyError
 * (nothing started), ApplicationStartError, or AbortedError (`signal`).
 *
 * The type (the third argument, or `type` in the options) decides what
 * happens when the application stops by itself: `permanent` stops the node,
 * `transient` stops it only after an abnormal exit (anything but `normal`),
 * `temporary` (default) only logs.
 *
 * @example
 * ```ts
 * loadApplication(node, db);
 * loadApplication(node, web); // dependencies: ['db']
 * await startApplication(node, 'web', 'permanent'); // starts db, then web
 * await using app = await startApplication(node, 'web'); // stopped at the end of the scope
 * await startApplication(node, 'web', { type: 'permanent', signal: AbortSignal.timeout(5000) });
 * ```
 */
export async function startApplication(node: Node, name: string, typeOrOptions: StartType | ApplicationStartOptions = 'temporary'): Promise<StartedApplication> {
  const { type = 'temporary', signal } = typeof typeOrOptions === 'string' ? { type: typeOrOptions } : typeOrOptions;
  const c = controllerOf(node);
  if (c.find(name) !== undefined) throw new AlreadyStartedApplicationError(name);
  c.checkDependencies(name);
  await c.start(name, type, signal);
  return new StartedApplication(node, name);
}

/**
 * A started application. `stop()` (and `await using`) stops it as
 * {@link stopApplication} does; the dependencies it started keep running.
 */
export class StartedApplication implements AsyncDisposable {
  constructor(
    readonly node: Node,
    readonly name: string,
  ) {}
  /** Stops the application; resolves at once when it is no longer running. */
  async stop(): Promise<void> {
    const app = controllerOf(this.node).find(this.name);
    if (app === undefined) return;
    if (!this.node.alive) await app.ended; // the node's stop is stopping it
    else await stopApplication(this.node, this.name);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Stops a running application: its root supervisor terminates its tree,
 * then the stop hook runs. A stop asked this way never stops the node.
 * Rejects with NotStartedError.
 *
 * @example
 * ```ts
 * await stopApplication(node, 'web');
 * ```
 */
export async function stopApplication(node: Node, name: string): Promise<void> {
  await controllerOf(node).stop(name);
}

/**
 * Resolves when the running application `name` ends, with its root's exit
 * reason and whether the stop was requested; the start type's effect on the
 * node has been applied by then. Rejects with NotStartedError.
 *
 * @example
 * ```ts
 * const { reason, requested } = await applicationExit(node, 'web');
 * ```
 */
export async function applicationExit(node: Node, name: string): Promise<ApplicationExit> {
  const app = controllerOf(node).find(name);
  if (app === undefined) throw new NotStartedError(name);
  return app.ended;
}

/**
 * The running applications, the most recently started first (as OTP).
 *
 * @example
 * ```ts
 * whichApplications(node).map((a) => a.name); // ['web', 'db']
 * ```
 */
export function whichApplications(node: Node): ApplicationInfo[] {
  const c = controllerOf(node);
  return [...c.running].reverse().map((r) => info((c.loaded.get(r.name) as Loaded).spec));
}

/**
 * The root supervisor of a running application, or undefined when it is not running.
 *
 * @example
 * ```ts
 * const root = applicationSupervisor(node, 'web'); // whichChildren(node, root!)
 * ```
 */
export function applicationSupervisor(node: Node, name: string): Pid | undefined {
  return controllerOf(node).running.find((r) => r.name === name)?.root;
}

/**
 * The loaded applications (running or not), in load order.
 *
 * @example
 * ```ts
 * loadedApplications(node).map((a) => `${a.name} ${a.version}`);
 * ```
 */
export function loadedApplications(node: Node): ApplicationInfo[] {
  return [...controllerOf(node).loaded.values()].map((l) => info(l.spec));
}

/**
 * The application a process belongs to (processes spawned under an
 * application's root supervisor inherit it), or undefined.
 *
 * @example
 * ```ts
 * getApplication(ctx); // 'web'
 * ```
 */
export function getApplication(proc: Process): string | undefined {
  const name = proc.getEnv<unknown>(APPLICATION_ENV_KEY);
  return typeof name === 'string' ? name : undefined;
}

/**
 * Reads a value of the environment of the process's application
 * (`application:get_env/1`); undefined outside an application or for an unknown key.
 *
 * @example
 * ```ts
 * const port = getAppEnv<number>(ctx, 'port');
 * ```
 */
export function getAppEnv<T = unknown>(proc: Process, key: string): T | undefined {
  const name = getApplication(proc);
  if (name === undefined) return undefined;
  return controllers.get(proc.node)?.loaded.get(name)?.env.get(key) as T | undefined;
}

/**
 * Reads a value of a loaded application's environment from anywhere (`application:get_env/2`).
 *
 * @example
 * ```ts
 * getApplicationEnv(node, 'web', 'port'); // 8080
 * ```
 */
export function getApplicationEnv<T = unknown>(node: Node, application: string, key: string): T | undefined {
  return controllers.get(node)?.loaded.get(application)?.env.get(key) as T | undefined;
}

/**
 * Sets a value of a loaded application's environment (`application:set_env/3`).
 *
 * @example
 * ```ts
 * setApplicationEnv(node, 'web', 'port', 9090);
 * ```
 */
export function setApplicationEnv(node: Node, application: string, key: string, value: unknown): void {
  const l = controllerOf(node).loaded.get(application);
  if (l === undefined) throw new NotLoadedError(application);
  l.env.set(key, value);
}
