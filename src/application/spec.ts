/**
 * Application specifications (OTP's `.app` resource plus its callback
 * module): name, description, version, environment, dependencies, the root
 * supervisor (or just its children) and optional start/stop hooks.
 * @module
 */
import type { Node } from '../core/node.js';
import type { ChildSpec } from '../supervisor/child-spec.js';
import type { SimpleSupervisorSpec, SupervisorSpec } from '../supervisor/spec.js';
import { InvalidApplicationSpecError } from './errors.js';

/** What the node does when the application stops by itself (not through `stopApplication`). */
export type StartType = 'permanent' | 'transient' | 'temporary';

/** What the hooks receive. */
export interface ApplicationContext {
  readonly node: Node;
  readonly name: string;
  /** The application's environment (read-only view). */
  readonly env: ReadonlyMap<string, unknown>;
  /** In the start hook, the `signal` given to `startApplication`: a long hook may stop early when it aborts. */
  readonly signal?: AbortSignal;
}

/**
 * An application.
 *
 * @example
 * ```ts
 * const web: ApplicationSpec = {
 *   name: 'web',
 *   version: '1.0.0',
 *   description: 'HTTP front end',
 *   env: { port: 8080 },
 *   dependencies: ['db'],
 *   children: [{ id: 'listener', start: serverStart(listener, undefined) }],
 * };
 * ```
 */
export interface ApplicationSpec {
  readonly name: string;
  readonly description?: string;
  readonly version?: string;
  /** Readable by every process of the application with `getAppEnv(proc, key)`. */
  readonly env?: Readonly<Record<string, unknown>>;
  /** Applications that must run first; started (as temporary) if they are not running. */
  readonly dependencies?: readonly string[];
  /** The root supervisor. */
  readonly supervisor?: SupervisorSpec | SimpleSupervisorSpec<never>;
  /** Shorthand for a one_for_one root supervisor with these children (OTP's default intensity). */
  readonly children?: readonly ChildSpec[];
  /** Runs before the root supervisor starts; a failure fails the start. */
  readonly start?: (app: ApplicationContext) => void | Promise<void>;
  /** Runs after the root supervisor has terminated (OTP's `Mod:stop/1`). */
  readonly stop?: (app: ApplicationContext) => void | Promise<void>;
}

/** Checks a spec; returns its root supervisor spec. Throws {@link InvalidApplicationSpecError}. */
export function rootSupervisorOf(spec: ApplicationSpec): SupervisorSpec | SimpleSupervisorSpec<never> {
  if (spec === null || typeof spec !== 'object') throw new InvalidApplicationSpecError(String(spec), 'application spec must be an object');
  const name = spec.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidApplicationSpecError(String(name), 'application name must be a non-empty string');
  const deps = spec.dependencies ?? [];
  if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string' || d === name))
    throw new InvalidApplicationSpecError(name, `dependencies of ${name} must be names of other applications`);
  if (spec.supervisor !== undefined && spec.children !== undefined)
    throw new InvalidApplicationSpecError(name, `application ${name}: give either supervisor or children, not both`);
  for (const hook of ['start', 'stop'] as const)
    if (spec[hook] !== undefined && typeof spec[hook] !== 'function') throw new InvalidApplicationSpecError(name, `${hook} must be a function`);
  return spec.supervisor ?? { strategy: 'one_for_one', children: spec.children ?? [] };
}
