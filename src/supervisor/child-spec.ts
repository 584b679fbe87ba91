/**
 * Child specifications: what a supervisor needs to start, restart and stop
 * one child, as OTP's `child_spec()` map, with TypeScript types; and the
 * validation that turns a spec from user code into a normalized one.
 * @module
 */
import type { Pid } from '../terms/identifiers.js';
import type { Process } from '../core/process.js';
import { InvalidChildSpecError } from './errors.js';

/** `permanent`: always restarted; `transient`: only after an abnormal exit; `temporary`: never (and removed). */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** `brutal_kill`: killed at once; a number: ms to wait after exit `shutdown` before the kill; `infinity`: wait forever. */
export type Shutdown = 'brutal_kill' | 'infinity' | number;

/** `worker` or `supervisor` (a supervisor child defaults to shutdown `infinity`). */
export type ChildType = 'worker' | 'supervisor';

/** What a start function returns: the child's pid, or `'ignore'` (no process, no error). */
export type StartReturn = Pid | 'ignore';

/**
 * Starts a child from the supervisor's process `parent` and returns its pid.
 * The child must be linked to `parent` (e.g. `startServer(parent, b, args, { link: true })`).
 * Throwing or rejecting fails the start; an InitIgnoredError rejection (or
 * returning `'ignore'`) means `ignore`. `extra` are the arguments given to
 * `startChild` of a simple_one_for_one supervisor.
 */
export type StartFunction<E extends readonly unknown[] = []> = (parent: Process, ...extra: E) => StartReturn | PromiseLike<StartReturn>;

/**
 * A child specification.
 *
 * @example
 * ```ts
 * const spec: ChildSpec = {
 *   id: 'cache',
 *   start: serverStart(cacheBehavior, { size: 100 }),
 *   restart: 'transient',
 *   shutdown: 2000,
 * };
 * ```
 */
export interface ChildSpec<E extends readonly unknown[] = []> {
  /** Unique among the supervisor's children. */
  readonly id: string;
  /** Starts the child, linked to the supervisor process. */
  readonly start: StartFunction<E>;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /** Default 5000 ms for a worker, `infinity` for a supervisor. */
  readonly shutdown?: Shutdown;
  /** Default `worker`. */
  readonly type?: ChildType;
  /**
   * Beamline addition: fail the start if the start function has not
   * returned within this many ms (what it linked to the supervisor is
   * killed). Default: the supervisor's `startTimeout`.
   */
  readonly startTimeout?: number;
  /**
   * A significant child (OTP 24): when it ends on its own and is not
   * restarted, the supervisor may shut itself down, as its `autoShutdown`
   * says. Only for `transient` and `temporary` children. Default false.
   */
  readonly significant?: boolean;
}

/** A validated child spec with every default filled in. */
export interface NormalizedChildSpec {
  readonly id: string;
  readonly start: StartFunction<readonly unknown[]>;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly startTimeout: number | undefined;
  readonly significant: boolean;
}

const RESTARTS: readonly string[] = ['permanent', 'transient', 'temporary'];
const TYPES: readonly string[] = ['worker', 'supervisor'];

function isTimeout(v: unknown): boolean {
  return v === 'infinity' || v === Infinity || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
}

/**
 * Checks a child spec from user code and fills its defaults. Throws
 * {@link InvalidChildSpecError} naming the bad field.
 *
 * @example
 * ```ts
 * const n = normalizeChildSpec({ id: 'a', start: serverStart(worker, undefined) });
 * n.shutdown; // 5000
 * ```
 */
export function normalizeChildSpec(spec: unknown, template = false): NormalizedChildSpec {
  if (spec === null || typeof spec !== 'object') throw new InvalidChildSpecError(`expected an object, got ${String(spec)}`);
  const s = spec as Record<string, unknown>;
  const id = s['id'];
  if (typeof id !== 'string' || (id.length === 0 && !template)) throw new InvalidChildSpecError(`id must be a non-empty string, got ${String(id)}`);
  const start = s['start'];
  if (typeof start !== 'function') throw new InvalidChildSpecError(`child ${id}: start must be a function`);
  const restart = s['restart'] ?? 'permanent';
  if (typeof restart !== 'string' || !RESTARTS.includes(restart))
    throw new InvalidChildSpecError(`child ${id}: restart must be permanent, transient or temporary, got ${String(restart)}`);
  const type = s['type'] ?? 'worker';
  if (typeof type !== 'string' || !TYPES.includes(type))
    throw new InvalidChildSpecError(`child ${id}: type must be worker or supervisor, got ${String(type)}`);
  const shutdown = s['shutdown'] ?? (type === 'supervisor' ? 'infinity' : 5000);
  if (shutdown !== 'brutal_kill' && !isTimeout(shutdown))
    throw new InvalidChildSpecError(`child ${id}: shutdown must be brutal_kill, infinity or a non-negative integer (ms), got ${String(shutdown)}`);
  const startTimeout = s['startTimeout'];
  if (startTimeout !== undefined && !(typeof startTimeout === 'number' && startTimeout > 0))
    throw new InvalidChildSpecError(`child ${id}: startTimeout must be a positive number of ms, got ${String(startTimeout)}`);
  const significant = s['significant'] ?? false;
  if (typeof significant !== 'boolean') throw new InvalidChildSpecError(`child ${id}: significant must be a boolean, got ${String(significant)}`);
  if (significant && restart === 'permanent')
    throw new InvalidChildSpecError(`child ${id}: a permanent child cannot be significant (OTP's bad_combination)`);
  return {
    id,
    significant,
    start: start as StartFunction<readonly unknown[]>,
    restart: restart as RestartType,
    shutdown: shutdown === Infinity ? 'infinity' : (shutdown as Shutdown),
    type: type as ChildType,
    startTimeout: startTimeout as number | undefined,
  };
}
