/**
 * Starting supervisors: from a node (a top-level supervisor, stopped when
 * the node stops), from a process (linked, `start_link`), or as a child of
 * another supervisor.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { formatReason, shutdown } from '../core/reasons.js';
import { InitFailedError, StartedServer, startServer, stopServer } from '../server/server.js';
import type { ChildSpec, RestartType, StartFunction } from './child-spec.js';
import { SupervisorStartError } from './errors.js';
import { normalizeSupervisorSpec, type NormalizedSupervisorSpec, type SimpleSupervisorSpec, type SupervisorSpec } from './spec.js';
import { supervisorBehavior, type SupervisorProtocol } from './supervisor.js';

declare const extraArgs: unique symbol;

/**
 * A started supervisor: a typed reference that knows its pid. For a
 * simple_one_for_one supervisor, `E` is the tuple of extra arguments
 * `startChild` takes; for the others it is `never`.
 */
export class SupervisorRef<E extends readonly unknown[] = never> extends StartedServer<SupervisorProtocol> {
  declare readonly [extraArgs]?: E;
}

/** Options of {@link startSupervisor}. */
export interface SupervisorStartOptions {
  /** Register the supervisor under this name. */
  readonly name?: string | Atom;
  /** From a process: link the supervisor to it (start_link); the supervisor then exits when its parent asks. */
  readonly link?: boolean;
}

const topLevel = new WeakMap<Node, Pid[]>();

/** A supervisor started from a node has no parent: stop it (reverse start order) when the node stops. */
function stopWithNode(node: Node, pid: Pid): void {
  let list = topLevel.get(node);
  if (list === undefined) {
    const pids: Pid[] = [];
    topLevel.set(node, (list = pids));
    node.onStop(async () => {
      for (const p of [...pids].reverse()) {
        if (!node.isAlive(p)) continue;
        try {
          await stopServer(node, p, shutdown);
        } catch (err) {
          node.log('warning', `stopping supervisor ${p.describe()}: ${formatReason(err)}`);
        }
      }
      pids.length = 0;
    });
  }
  const pids = list;
  pids.push(pid);
  void node.waitExit(pid).then(() => {
    const i = pids.findIndex((p) => p.equals(pid));
    if (i >= 0) pids.splice(i, 1);
  });
}

/** @internal Starts the supervisor process; `stopOnNodeStop` registers a top-level supervisor for node stop. */
export async function startSupervisorProcess(
  starter: Node | Process,
  spec: NormalizedSupervisorSpec,
  options: SupervisorStartOptions & { readonly env?: Readonly<Record<string, unknown>> },
  stopOnNodeStop: boolean,
): Promise<Pid> {
  const { name, link, env } = options;
  let started: StartedServer<SupervisorProtocol>;
  try {
    started = await startServer(starter, supervisorBehavior, spec, {
      trapExit: true,
      ...(name !== undefined ? { name } : {}),
      ...(link === true ? { link: true } : {}),
      ...(env !== undefined ? { env } : {}),
    });
  } catch (err) {
    if (err instanceof InitFailedError) {
      const r = err.reason;
      const detail = r instanceof Tuple ? r.elements[1] : undefined;
      if (detail instanceof Tuple && detail.elements.length === 3 && detail.elements[1] instanceof Atom)
        throw new SupervisorStartError(detail.elements[1].name, detail.elements[2], r);
    }
    throw err;
  }
  const isNode = 'stop' in starter && 'spawn' in starter;
  if (stopOnNodeStop && isNode) stopWithNode(starter as Node, started.pid);
  return started.pid;
}

/**
 * Starts a supervisor and its children (in order). Rejects with
 * {@link InvalidChildSpecError} for a bad spec (nothing started) and with
 * {@link SupervisorStartError} when a child fails to start (the children
 * already started are terminated first). A supervisor started from a node
 * is stopped when the node stops.
 *
 * @example
 * ```ts
 * const sup = await startSupervisor(node, {
 *   strategy: 'one_for_one',
 *   children: [{ id: 'worker', start: serverStart(worker, undefined) }],
 * });
 * console.log(await whichChildren(node, sup));
 * ```
 */
export function startSupervisor<E extends readonly unknown[]>(
  starter: Node | Process,
  spec: SimpleSupervisorSpec<E>,
  options?: SupervisorStartOptions,
): Promise<SupervisorRef<E>>;
export function startSupervisor(starter: Node | Process, spec: SupervisorSpec, options?: SupervisorStartOptions): Promise<SupervisorRef>;
export async function startSupervisor(
  starter: Node | Process,
  spec: SupervisorSpec | SimpleSupervisorSpec<never>,
  options: SupervisorStartOptions = {},
): Promise<unknown> {
  const normalized = normalizeSupervisorSpec(spec);
  return new SupervisorRef(await startSupervisorProcess(starter, normalized, options, true));
}

/**
 * A start function that starts a supervisor as the child of another
 * (linked to the parent supervisor). Validates the spec at once.
 *
 * @example
 * ```ts
 * const child: ChildSpec = { id: 'workers', type: 'supervisor', start: supervisorStart(workersSpec) };
 * ```
 */
export function supervisorStart(spec: SupervisorSpec | SimpleSupervisorSpec<never>, options: Omit<SupervisorStartOptions, 'link'> = {}): StartFunction<[]> {
  const normalized = normalizeSupervisorSpec(spec);
  return (parent) => startSupervisorProcess(parent, normalized, { ...options, link: true }, false);
}

/**
 * A child spec for a nested supervisor: type `supervisor`, shutdown `infinity`.
 *
 * @example
 * ```ts
 * const top = await startSupervisor(node, {
 *   strategy: 'one_for_one',
 *   children: [supervisorChild('pool', { strategy: 'one_for_all', children: workers })],
 * });
 * ```
 */
export function supervisorChild(
  id: string,
  spec: SupervisorSpec | SimpleSupervisorSpec<never>,
  options: { readonly restart?: RestartType; readonly name?: string | Atom } = {},
): ChildSpec {
  const start = supervisorStart(spec, options.name !== undefined ? { name: options.name } : {});
  return { id, start, type: 'supervisor', shutdown: 'infinity', restart: options.restart ?? 'permanent' };
}
