/**
 * The dynamic API: calls to a running supervisor process, as OTP's
 * `supervisor:start_child/2`, `terminate_child/2`, `restart_child/2`,
 * `delete_child/2`, `which_children/1`, `count_children/1`. They work from
 * a node (outside any process) or from a process; a failure rejects with a
 * typed {@link SupervisorError}.
 * @module
 */
import { type Atom, atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { type CallOptions, ServerRef } from '../core/protocol.js';
import type { ChildSpec } from './child-spec.js';
import { normalizeChildSpec } from './child-spec.js';
import { SupervisorError } from './errors.js';
import type { SupervisorRef } from './start.js';
import { type ChildCounts, type ChildInfo, REQ } from './supervisor.js';

/** A supervisor: its reference, pid or registered name. */
export type SupervisorTarget = SupervisorRef<readonly unknown[]> | Pid | string | Atom;

const REQ_OK = atom('ok');
const INFINITE: CallOptions = { timeout: Infinity };

function dest(sup: SupervisorTarget): Pid | string | Atom {
  return sup instanceof ServerRef ? (sup.dest as Pid) : sup;
}

async function request(from: Node | Process, sup: SupervisorTarget, req: unknown): Promise<unknown> {
  const r = await from.call(dest(sup), req, INFINITE);
  if (r instanceof Tuple && r.elements.length === 2) {
    const [tag, value] = r.elements;
    if (tag === REQ_OK) return value;
    if (value instanceof SupervisorError) throw value;
  }
  throw new SupervisorError(`unexpected supervisor reply ${String(r)}`, r);
}

/**
 * Adds a child and starts it. For a simple_one_for_one supervisor, pass the
 * extra arguments of the template's start function. Resolves with the pid
 * (undefined when the start returned `ignore`); rejects with
 * InvalidChildSpecError, AlreadyStartedError, AlreadyPresentError or
 * ChildStartError (the spec is then not kept).
 *
 * @example
 * ```ts
 * const pid = await startChild(node, sup, { id: 'extra', start: serverStart(worker, undefined) });
 * const conn = await startChild(node, pool, ['example.org', 443]); // simple_one_for_one
 * ```
 */
export function startChild<E extends readonly unknown[]>(from: Node | Process, sup: SupervisorRef<E>, extra: E): Promise<Pid | undefined>;
export function startChild(from: Node | Process, sup: SupervisorRef | Pid | string | Atom, spec: ChildSpec): Promise<Pid | undefined>;
export function startChild(from: Node | Process, sup: Pid | string | Atom, specOrExtra: ChildSpec | readonly unknown[]): Promise<Pid | undefined>;
export async function startChild(
  from: Node | Process,
  sup: SupervisorTarget,
  specOrExtra: ChildSpec | readonly unknown[],
): Promise<Pid | undefined> {
  // A spec is checked here too, so a bad one fails before any message is sent.
  if (!Array.isArray(specOrExtra)) normalizeChildSpec(specOrExtra);
  return (await request(from, sup, tuple(REQ.startChild, specOrExtra))) as Pid | undefined;
}

/**
 * Terminates a child (by id, or by pid; simple_one_for_one takes a pid). The
 * spec is kept (a temporary child's, and a simple_one_for_one child, are
 * removed). Rejects with ChildNotFoundError.
 *
 * @example
 * ```ts
 * await terminateChild(node, sup, 'cache');
 * ```
 */
export async function terminateChild(from: Node | Process, sup: SupervisorTarget, child: string | Pid): Promise<void> {
  await request(from, sup, tuple(REQ.terminateChild, child));
}

/**
 * Starts again a child that is not running (terminated with
 * {@link terminateChild}, or a transient child that exited normally).
 * Resolves with the new pid; rejects with ChildNotFoundError,
 * ChildRunningError, ChildRestartingError, ChildStartError or SimpleOneForOneError.
 *
 * @example
 * ```ts
 * await terminateChild(node, sup, 'cache');
 * const pid = await restartChild(node, sup, 'cache');
 * ```
 */
export async function restartChild(from: Node | Process, sup: SupervisorTarget, id: string): Promise<Pid | undefined> {
  return (await request(from, sup, tuple(REQ.restartChild, id))) as Pid | undefined;
}

/**
 * Removes the spec of a child that is not running. Rejects with
 * ChildNotFoundError, ChildRunningError, ChildRestartingError or SimpleOneForOneError.
 *
 * @example
 * ```ts
 * await terminateChild(node, sup, 'cache');
 * await deleteChild(node, sup, 'cache');
 * ```
 */
export async function deleteChild(from: Node | Process, sup: SupervisorTarget, id: string): Promise<void> {
  await request(from, sup, tuple(REQ.deleteChild, id));
}

/**
 * The children in start order: id (undefined under simple_one_for_one),
 * pid or `'restarting'` / `'undefined'`, and type.
 *
 * @example
 * ```ts
 * for (const c of await whichChildren(node, sup)) console.log(c.id, String(c.pid), c.type);
 * ```
 */
export async function whichChildren(from: Node | Process, sup: SupervisorTarget): Promise<ChildInfo[]> {
  return (await from.call(dest(sup), REQ.whichChildren, INFINITE)) as ChildInfo[];
}

/**
 * Counts of the children: specs, active, supervisors, workers.
 *
 * @example
 * ```ts
 * const { active } = await countChildren(node, sup);
 * ```
 */
export async function countChildren(from: Node | Process, sup: SupervisorTarget): Promise<ChildCounts> {
  return (await from.call(dest(sup), REQ.countChildren, INFINITE)) as ChildCounts;
}
