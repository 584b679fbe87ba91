/**
 * Starting supervisors: from a node (a top-level supervisor, stopped when
 * the node stops), from a process (linked, `start_link`), or as a child of
 * another supervisor.
 * @module
 */
import { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { type ExitReason, kill, shutdown } from '../core/reasons.js';
import { InitFailedError, nodeOfStarted, StartedServer, startServer } from '../server/server.js';
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

  /**
   * Stops the supervisor and its children (in reverse start order). One
   * started from a node is stopped as its parent would (`shutdown`, whatever
   * `reason`); one started from a process runs `terminate` with `reason`
   * (default `shutdown`). Also what `await using` does.
   */
  override async stop(reason: ExitReason = shutdown): Promise<void> {
    const node = nodeOfStarted(this.pid);
    const top = node === undefined ? undefined : topLevel.get(node)?.find((t) => t.pid === this.pid);
    if (node !== undefined && top !== undefined && node.isAlive(this.pid)) {
      await stopTopLevel(node, top);
      return;
    }
    await super.stop(reason);
  }
}

/** Options of {@link startSupervisor}. */
export interface SupervisorStartOptions {
  /** Register the supervisor under this name. */
  readonly name?: string | Atom;
  /** Cancels the start: the supervisor (and the children it started) are killed, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
  /** From a process: link the supervisor to it (start_link); the supervisor then exits when its parent asks. */
  readonly link?: boolean;
}

/** A supervisor started from a node, and the keeper process that is its parent. */
export interface TopLevel {
  readonly pid: Pid;
  readonly keeper: Pid;
}

const topLevel = new WeakMap<Node, TopLevel[]>();

/**
 * Stops a top-level supervisor the way its parent would: the keeper exits
 * with `shutdown`, the supervisor sees `{'EXIT', Parent, shutdown}`,
 * terminates its children in reverse order and exits. Works while the node
 * is stopping (when calls are refused). Resolves with the supervisor's exit reason.
 */
export function stopTopLevel(node: Node, top: TopLevel): Promise<ExitReason> {
  const exited = node.waitExit(top.pid);
  node.exit(top.keeper, shutdown);
  return exited;
}

/** A supervisor started from a node: stop it (reverse start order) when the node stops. */
function stopWithNode(node: Node, top: TopLevel): void {
  let list = topLevel.get(node);
  if (list === undefined) {
    const tops: TopLevel[] = [];
    topLevel.set(node, (list = tops));
    node.onStop(async () => {
      for (const t of [...tops].reverse()) if (node.isAlive(t.pid)) await stopTopLevel(node, t);
      tops.length = 0;
    });
  }
  const tops = list;
  tops.push(top);
  void node.waitExit(top.pid).then(() => {
    const i = tops.indexOf(top);
    if (i >= 0) tops.splice(i, 1);
  });
}

type ProcessOptions = SupervisorStartOptions & { readonly env?: Readonly<Record<string, unknown>> };

function startLinked(parent: Process, spec: NormalizedSupervisorSpec, options: ProcessOptions, link: boolean): Promise<StartedServer<SupervisorProtocol>> {
  const { name, env, signal } = options;
  return startServer(parent, supervisorBehavior, spec, {
    trapExit: true,
    ...(name !== undefined ? { name } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(link ? { link: true } : {}),
    ...(env !== undefined ? { env } : {}),
  });
}

/**
 * A supervisor started from a node gets a parent anyway: a keeper process
 * (as OTP's supervisors always have one), so that it can be stopped by an
 * exit signal from its parent, even while the node is stopping.
 */
function startUnderKeeper(node: Node, spec: NormalizedSupervisorSpec, options: ProcessOptions): Promise<TopLevel> {
  return new Promise<TopLevel>((resolve, reject) => {
    try {
      node.spawn(
        {
          behavior: 'supervisor_keeper',
          init(proc) {
            startLinked(proc, spec, options, true).then(
              (s) => resolve({ pid: s.pid, keeper: proc.self }),
              (err: unknown) => {
                node.exit(proc.self, kill);
                reject(err);
              },
            );
          },
          handleMessage() {},
        },
        options.env !== undefined ? { env: options.env } : {},
      );
    } catch (err) {
      reject(err);
    }
  });
}

function translate(err: unknown): unknown {
  if (err instanceof InitFailedError) {
    const r = err.reason;
    const detail = r instanceof Tuple ? r.elements[1] : undefined;
    if (detail instanceof Tuple && detail.elements.length === 3 && detail.elements[1] instanceof Atom)
      return new SupervisorStartError(detail.elements[1].name, detail.elements[2], r);
  }
  return err;
}

/** @internal Starts a supervisor under a keeper; `stopOnNodeStop` stops it when the node stops. */
export async function startTopLevel(node: Node, spec: NormalizedSupervisorSpec, options: ProcessOptions, stopOnNodeStop: boolean): Promise<TopLevel> {
  let top: TopLevel;
  try {
    top = await startUnderKeeper(node, spec, options);
  } catch (err) {
    throw translate(err);
  }
  if (stopOnNodeStop) stopWithNode(node, top);
  return top;
}

/** @internal Starts the supervisor process from a node (under a keeper) or from a process. */
export async function startSupervisorProcess(starter: Node | Process, spec: NormalizedSupervisorSpec, options: ProcessOptions): Promise<Pid> {
  if (!('self' in starter)) return (await startTopLevel(starter as Node, spec, options, true)).pid;
  try {
    return (await startLinked(starter as Process, spec, options, options.link === true)).pid;
  } catch (err) {
    throw translate(err);
  }
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
  return new SupervisorRef(await startSupervisorProcess(starter, normalized, options));
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
  return (parent) => startSupervisorProcess(parent, normalized, { ...options, link: true });
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
