/**
 * Supervisor specifications: strategy, restart intensity and the children
 * (or, for simple_one_for_one, the template), with their validation.
 * @module
 */
import { type ChildSpec, normalizeChildSpec, type NormalizedChildSpec } from './child-spec.js';
import { InvalidChildSpecError } from './errors.js';

/** How a supervisor reacts when a child must be restarted. */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';

/** Restart intensity and start timeout, shared by every kind of supervisor. */
export interface SupervisorFlags {
  /** Most restarts allowed within `period`; one more and the supervisor gives up. Default 1 (OTP). */
  readonly intensity?: number;
  /** Seconds. Default 5 (OTP). */
  readonly period?: number;
  /**
   * Default start timeout (ms) of worker children (Beamline addition, see
   * {@link ChildSpec.startTimeout}); supervisor children wait without limit.
   * Default 5000; `Infinity` for none.
   */
  readonly startTimeout?: number;
  /**
   * OTP 24's automatic shutdown, driven by significant children: `never`
   * (default; significant children are then invalid), `any_significant`
   * (shut down when any significant child ends on its own and is not
   * restarted), `all_significant` (when the last running significant child
   * does). The supervisor terminates its other children and exits `shutdown`.
   * A child terminated through `terminateChild` does not count.
   */
  readonly autoShutdown?: AutoShutdown;
}

/** See {@link SupervisorFlags.autoShutdown}. */
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/**
 * A supervisor with a static list of children.
 *
 * @example
 * ```ts
 * const spec: SupervisorSpec = {
 *   strategy: 'rest_for_one',
 *   intensity: 3,
 *   period: 10,
 *   children: [
 *     { id: 'db', start: serverStart(db, undefined) },
 *     { id: 'api', start: serverStart(api, undefined) },
 *   ],
 * };
 * ```
 */
export interface SupervisorSpec extends SupervisorFlags {
  readonly strategy: 'one_for_one' | 'one_for_all' | 'rest_for_one';
  /** Started in this order, stopped in reverse order. */
  readonly children: readonly ChildSpec[];
}

/**
 * A simple_one_for_one supervisor: no child at start; `startChild(extra)`
 * starts one more child from the template with `template.start(parent, ...extra)`.
 *
 * @example
 * ```ts
 * const spec: SimpleSupervisorSpec<[number]> = {
 *   strategy: 'simple_one_for_one',
 *   template: { id: 'worker', start: serverStartWith(worker, (n: number) => n), restart: 'transient' },
 * };
 * ```
 */
export interface SimpleSupervisorSpec<E extends readonly unknown[] = readonly unknown[]> extends SupervisorFlags {
  readonly strategy: 'simple_one_for_one';
  readonly template: ChildSpec<E>;
}

/** A validated supervisor spec with defaults filled in. */
export interface NormalizedSupervisorSpec {
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  readonly startTimeout: number;
  readonly autoShutdown: AutoShutdown;
  readonly children: readonly NormalizedChildSpec[];
  readonly template: NormalizedChildSpec | undefined;
}

const STRATEGIES: readonly string[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const AUTO_SHUTDOWNS: readonly string[] = ['never', 'any_significant', 'all_significant'];

/** A significant child under `autoShutdown: never` is invalid (OTP's bad_combination). Throws InvalidChildSpecError. */
export function checkSignificant(child: NormalizedChildSpec, autoShutdown: AutoShutdown): void {
  if (child.significant && autoShutdown === 'never')
    throw new InvalidChildSpecError(`child ${child.id}: significant needs a supervisor autoShutdown other than never (OTP's bad_combination)`);
}

/**
 * Validates a supervisor spec: strategy, intensity, period, children (valid
 * specs, unique ids). Throws {@link InvalidChildSpecError}.
 *
 * @example
 * ```ts
 * normalizeSupervisorSpec({ strategy: 'one_for_one', children: [] }).intensity; // 1
 * ```
 */
export function normalizeSupervisorSpec(spec: SupervisorSpec | SimpleSupervisorSpec<never>): NormalizedSupervisorSpec {
  if (spec === null || typeof spec !== 'object') throw new InvalidChildSpecError('supervisor spec must be an object');
  const strategy: unknown = spec.strategy;
  if (typeof strategy !== 'string' || !STRATEGIES.includes(strategy))
    throw new InvalidChildSpecError(`strategy must be one of ${STRATEGIES.join(', ')}, got ${String(strategy)}`);
  const intensity = spec.intensity ?? 1;
  if (!Number.isInteger(intensity) || intensity < 0) throw new InvalidChildSpecError(`intensity must be a non-negative integer, got ${intensity}`);
  const period = spec.period ?? 5;
  if (typeof period !== 'number' || !(period > 0)) throw new InvalidChildSpecError(`period must be a positive number of seconds, got ${period}`);
  const startTimeout = spec.startTimeout ?? 5000;
  if (typeof startTimeout !== 'number' || !(startTimeout > 0)) throw new InvalidChildSpecError(`startTimeout must be positive, got ${startTimeout}`);
  const autoShutdown: unknown = spec.autoShutdown ?? 'never';
  if (typeof autoShutdown !== 'string' || !AUTO_SHUTDOWNS.includes(autoShutdown))
    throw new InvalidChildSpecError(`autoShutdown must be one of ${AUTO_SHUTDOWNS.join(', ')}, got ${String(autoShutdown)}`);
  const auto = autoShutdown as AutoShutdown;
  if (spec.strategy === 'simple_one_for_one') {
    const template = normalizeChildSpec((spec as SimpleSupervisorSpec<never>).template, true);
    checkSignificant(template, auto);
    return { strategy: 'simple_one_for_one', intensity, period, startTimeout, autoShutdown: auto, children: [], template };
  }
  const list: unknown = (spec as SupervisorSpec).children;
  if (!Array.isArray(list)) throw new InvalidChildSpecError('children must be an array');
  const children: NormalizedChildSpec[] = [];
  const ids = new Set<string>();
  for (const c of list) {
    const n = normalizeChildSpec(c);
    checkSignificant(n, auto);
    if (ids.has(n.id)) throw new InvalidChildSpecError(`duplicate child id ${n.id}`);
    ids.add(n.id);
    children.push(n);
  }
  return { strategy: spec.strategy as Strategy, intensity, period, startTimeout, autoShutdown: auto, children, template: undefined };
}
