/**
 * The supervisor process: a {@link ServerBehavior} that traps exits, starts
 * its children in order, restarts them by strategy and restart type within
 * the restart intensity, serves the dynamic API calls, and terminates its
 * children in reverse order when it stops.
 *
 * The rules are OTP's `supervisor`: restart type decides for the child that
 * exited, with its own reason; a failed restart is retried through a message
 * to itself and counts toward the intensity; when the intensity is exceeded
 * the supervisor terminates its children and exits with `shutdown`.
 * @module
 */
import { diagnostics, type RestartEvent } from '../core/diagnostics.js';
import { Atom, atom, isAtom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { isTagged, Tuple, tuple } from '../terms/tuple.js';
import type { From, Process } from '../core/process.js';
import { type ExitReason, formatReason, isCleanExit } from '../core/reasons.js';
import { noreply, ok, reply, type ServerBehavior, stop } from '../server/server.js';
import { normalizeChildSpec, type NormalizedChildSpec } from './child-spec.js';
import { runStart, type StartOutcome } from './child-start.js';
import {
  AlreadyPresentError,
  AlreadyStartedError,
  ChildNotFoundError,
  ChildRestartingError,
  ChildRunningError,
  ChildStartError,
  InvalidChildSpecError,
  SimpleOneForOneError,
  SupervisorError,
} from './errors.js';
import { RestartIntensity } from './intensity.js';
import { shutdownAll, shutdownChild } from './shutdown.js';
import { checkSignificant, type NormalizedSupervisorSpec, type Strategy } from './spec.js';

const A_EXIT = atom('EXIT');
const A_OK = atom('ok');
const A_ERROR = atom('error');
const A_SHUTDOWN = atom('shutdown');
const A_TRY_AGAIN = atom('$beamline_try_again_restart');
/** Requests of the supervisor protocol (`{start_child, X}`, `which_children`...). */
export const REQ = {
  startChild: atom('start_child'),
  terminateChild: atom('terminate_child'),
  restartChild: atom('restart_child'),
  deleteChild: atom('delete_child'),
  whichChildren: atom('which_children'),
  countChildren: atom('count_children'),
} as const;

/** One child as the supervisor keeps it. */
interface ChildRecord {
  readonly spec: NormalizedChildSpec;
  pid: Pid | undefined | 'restarting';
  readonly extra: readonly unknown[];
}

/** One row of `which_children`. */
export interface ChildInfo {
  /** The child's id; undefined for the children of a simple_one_for_one supervisor. */
  readonly id: string | undefined;
  /** The pid, `'restarting'` while a failed restart is retried, `'undefined'` when not running. */
  readonly pid: Pid | 'restarting' | 'undefined';
  readonly type: 'worker' | 'supervisor';
}

/** The counts of `count_children`. */
export interface ChildCounts {
  /** Child specs, running or not (1 for simple_one_for_one: its template). */
  readonly specs: number;
  /** Children with a living process. */
  readonly active: number;
  readonly supervisors: number;
  readonly workers: number;
}

/** The calls a supervisor answers. */
export type SupervisorProtocol = {
  call:
    | [Tuple<[Atom<'start_child'>, unknown]>, SupervisorReply<Pid | undefined>]
    | [Tuple<[Atom<'terminate_child'>, string | Pid]>, SupervisorReply<undefined>]
    | [Tuple<[Atom<'restart_child'>, string]>, SupervisorReply<Pid | undefined>]
    | [Tuple<[Atom<'delete_child'>, string]>, SupervisorReply<undefined>]
    | [Atom<'which_children'>, ChildInfo[]]
    | [Atom<'count_children'>, ChildCounts];
};

/** `{ok, Value}` or `{error, SupervisorError}`. */
export type SupervisorReply<T> = Tuple<[Atom<'ok'>, T]> | Tuple<[Atom<'error'>, SupervisorError]>;

function pidKey(p: Pid): string {
  return `${p.id}|${p.serial}`;
}

/** The supervisor's state: its children and its restart history. */
export class SupervisorState {
  readonly strategy: Strategy;
  readonly intensity: RestartIntensity;
  /** Static children in start order (all strategies but simple_one_for_one). */
  children: ChildRecord[] = [];
  /** simple_one_for_one: children in start order, and by pid. */
  readonly dynamic = new Set<ChildRecord>();
  readonly byPid = new Map<string, ChildRecord>();
  readonly template: NormalizedChildSpec | undefined;

  constructor(readonly spec: NormalizedSupervisorSpec) {
    this.strategy = spec.strategy;
    this.intensity = new RestartIntensity(spec.intensity, spec.period);
    this.template = spec.template;
  }

  get simple(): boolean {
    return this.strategy === 'simple_one_for_one';
  }

  timeoutOf(spec: NormalizedChildSpec): number | undefined {
    if (spec.startTimeout !== undefined) return spec.startTimeout;
    if (spec.type === 'supervisor' || this.spec.startTimeout === Infinity) return undefined;
    return this.spec.startTimeout;
  }

  findPid(pid: Pid): ChildRecord | undefined {
    if (this.simple) return this.byPid.get(pidKey(pid));
    return this.children.find((c) => c.pid instanceof Pid && c.pid.equals(pid));
  }

  findId(id: string): ChildRecord | undefined {
    return this.children.find((c) => c.spec.id === id);
  }

  setPid(child: ChildRecord, pid: Pid | undefined | 'restarting'): void {
    if (this.simple) {
      if (child.pid instanceof Pid) this.byPid.delete(pidKey(child.pid));
      if (pid instanceof Pid) {
        this.byPid.set(pidKey(pid), child);
        // Keep simple_one_for_one children in pid (spawn) order, the order OTP terminates them in.
        this.dynamic.delete(child);
        this.dynamic.add(child);
      }
    }
    child.pid = pid;
  }

  remove(child: ChildRecord): void {
    if (this.simple) {
      if (child.pid instanceof Pid) this.byPid.delete(pidKey(child.pid));
      this.dynamic.delete(child);
    } else {
      const i = this.children.indexOf(child);
      if (i >= 0) this.children.splice(i, 1);
    }
  }

  contains(child: ChildRecord): boolean {
    return this.simple ? this.dynamic.has(child) : this.children.includes(child);
  }
}

/** Starts one child; applies the outcome to the record. */
async function startOne(ctx: Process, state: SupervisorState, child: ChildRecord): Promise<StartOutcome> {
  const outcome = await runStart(ctx, child.spec, child.extra, state.timeoutOf(child.spec));
  if (outcome.type === 'ok') state.setPid(child, outcome.pid);
  else state.setPid(child, undefined);
  return outcome;
}

/** Terminates one child (if running) and marks it not running; a temporary child is removed. */
async function terminateOne(ctx: Process, state: SupervisorState, child: ChildRecord): Promise<void> {
  const pid = child.pid;
  if (pid instanceof Pid) await shutdownChild(ctx, pid, child.spec.shutdown);
  if (child.spec.restart === 'temporary') state.remove(child);
  else state.setPid(child, undefined);
}

/** Terminates `list` in reverse order. */
async function terminateReverse(ctx: Process, state: SupervisorState, list: readonly ChildRecord[]): Promise<void> {
  for (let i = list.length - 1; i >= 0; i--) await terminateOne(ctx, state, list[i] as ChildRecord);
}

/**
 * Starts `list` in order. On the first failure, stops and returns the failed
 * child and reason (the children after it stay not running).
 */
async function startInOrder(
  ctx: Process,
  state: SupervisorState,
  list: readonly ChildRecord[],
): Promise<{ child: ChildRecord; reason: ExitReason } | undefined> {
  for (const child of list) {
    if (!state.contains(child)) continue;
    const outcome = await startOne(ctx, state, child);
    if (outcome.type === 'error') {
      ctx.logger.error({ child: child.spec.id, reason: formatReason(outcome.reason) }, `child ${child.spec.id} failed to start`);
      return { child, reason: outcome.reason };
    }
    if (outcome.type === 'ignore' && child.spec.restart === 'temporary') state.remove(child);
  }
  return undefined;
}

/** Terminates every child: in reverse start order, or all at once for simple_one_for_one. */
export async function terminateAll(ctx: Process, state: SupervisorState): Promise<void> {
  if (state.simple) {
    const pids: Pid[] = [];
    for (const c of state.dynamic) if (c.pid instanceof Pid) pids.push(c.pid);
    const shutdown = state.template?.shutdown ?? 'infinity';
    await shutdownAll(ctx, pids, shutdown);
    state.dynamic.clear();
    state.byPid.clear();
    return;
  }
  await terminateReverse(ctx, state, [...state.children]);
}

type Step = ReturnType<typeof noreply<SupervisorState>> | ReturnType<typeof stop<SupervisorState>>;

/**
 * Restarts `child` (its process is gone) after counting the restart; on
 * overflow, gives up with `shutdown`. A failed start marks the failed child
 * `restarting` and retries through a message to self, as OTP's try_again.
 */
async function restart(ctx: Process, state: SupervisorState, child: ChildRecord, why: ExitReason): Promise<Step> {
  if (!state.intensity.add()) {
    ctx.logger.error(
      { child: child.spec.id, reason: formatReason(why), intensity: state.intensity.intensity, period: state.intensity.period },
      `supervisor reached max restart intensity (${state.intensity.intensity} in ${state.intensity.period} s); shutting down`,
    );
    if (state.simple) state.remove(child);
    else state.setPid(child, undefined);
    return stop(A_SHUTDOWN, state);
  }
  if (diagnostics.restart.hasSubscribers)
    diagnostics.restart.publish({
      node: ctx.node.name,
      supervisor: ctx.self,
      name: ctx.registeredName,
      childId: child.spec.id,
      child: child.pid instanceof Pid ? child.pid : undefined,
      reason: why,
    } satisfies RestartEvent);
  let failed: { child: ChildRecord; reason: ExitReason } | undefined;
  switch (state.strategy) {
    case 'one_for_one':
    case 'simple_one_for_one': {
      const outcome = await startOne(ctx, state, child);
      if (outcome.type === 'error') failed = { child, reason: outcome.reason };
      else if (outcome.type === 'ignore' && (state.simple || child.spec.restart === 'temporary')) state.remove(child);
      break;
    }
    case 'one_for_all': {
      state.setPid(child, undefined);
      await terminateReverse(ctx, state, state.children.filter((c) => c !== child));
      failed = await startInOrder(ctx, state, [...state.children]);
      break;
    }
    case 'rest_for_one': {
      state.setPid(child, undefined);
      const i = state.children.indexOf(child);
      const rest = state.children.slice(i);
      await terminateReverse(ctx, state, rest.slice(1));
      failed = await startInOrder(ctx, state, rest);
      break;
    }
  }
  if (failed !== undefined) {
    ctx.logger.error({ child: failed.child.spec.id, reason: formatReason(failed.reason) }, `restart of child ${failed.child.spec.id} failed; trying again`);
    state.setPid(failed.child, 'restarting');
    ctx.send(ctx.self, tuple(A_TRY_AGAIN, failed.child, failed.reason));
  }
  return noreply(state);
}

/** A child exited with `reason`: its restart type decides, with its own reason. */
async function childExited(ctx: Process, state: SupervisorState, child: ChildRecord, reason: ExitReason): Promise<Step> {
  if (!isCleanExit(reason)) ctx.logger.error({ child: child.spec.id, reason: formatReason(reason) }, `child ${child.spec.id} terminated`);
  const type = child.spec.restart;
  if (type === 'temporary') {
    state.remove(child);
    return autoShutdown(state, child);
  }
  if (type === 'transient' && isCleanExit(reason)) {
    if (state.simple) state.remove(child);
    else state.setPid(child, undefined);
    return autoShutdown(state, child);
  }
  return restart(ctx, state, child, reason);
}

/**
 * A child ended on its own and is not restarted: if it is significant, the
 * supervisor's `autoShutdown` may end the supervisor (OTP 24): at once for
 * `any_significant`, once no significant child runs for `all_significant`.
 */
function autoShutdown(state: SupervisorState, child: ChildRecord): Step {
  const mode = state.spec.autoShutdown;
  if (!child.spec.significant || mode === 'never') return noreply(state);
  if (mode === 'all_significant') {
    const list = state.simple ? state.dynamic : state.children;
    for (const c of list) if (c !== child && c.spec.significant && c.pid !== undefined) return noreply(state);
  }
  return stop(A_SHUTDOWN, state);
}

type Reply = SupervisorReply<Pid | undefined>;

function errorReply(err: unknown): Tuple<[Atom<'error'>, SupervisorError]> {
  return tuple(A_ERROR, err instanceof SupervisorError ? err : new SupervisorError(formatReason(err), err));
}

function childIdOf(v: unknown): string | Pid | undefined {
  if (typeof v === 'string' || v instanceof Pid) return v;
  if (v instanceof Atom) return v.name;
  return undefined;
}

async function onStartChild(ctx: Process, state: SupervisorState, arg: unknown): Promise<Reply> {
  let child: ChildRecord;
  if (state.simple) {
    if (!Array.isArray(arg)) return errorReply(new InvalidChildSpecError('simple_one_for_one startChild takes an array of extra arguments'));
    child = { spec: state.template as NormalizedChildSpec, pid: undefined, extra: [...(arg as unknown[])] };
    const outcome = await runStart(ctx, child.spec, child.extra, state.timeoutOf(child.spec));
    if (outcome.type === 'error') return errorReply(new ChildStartError(child.spec.id, outcome.reason));
    if (outcome.type === 'ignore') return tuple(A_OK, undefined);
    state.dynamic.add(child);
    state.setPid(child, outcome.pid);
    return tuple(A_OK, outcome.pid);
  }
  let spec: NormalizedChildSpec;
  try {
    spec = normalizeChildSpec(arg);
    checkSignificant(spec, state.spec.autoShutdown);
  } catch (err) {
    return errorReply(err);
  }
  const existing = state.findId(spec.id);
  if (existing !== undefined) {
    return errorReply(existing.pid instanceof Pid ? new AlreadyStartedError(spec.id, existing.pid) : new AlreadyPresentError(spec.id));
  }
  child = { spec, pid: undefined, extra: [] };
  const outcome = await runStart(ctx, spec, [], state.timeoutOf(spec));
  if (outcome.type === 'error') return errorReply(new ChildStartError(spec.id, outcome.reason));
  if (outcome.type === 'ignore') {
    if (spec.restart !== 'temporary') state.children.push(child);
    return tuple(A_OK, undefined);
  }
  child.pid = outcome.pid;
  state.children.push(child);
  return tuple(A_OK, outcome.pid);
}

async function onTerminateChild(ctx: Process, state: SupervisorState, idOrPid: string | Pid): Promise<SupervisorReply<undefined>> {
  // OTP: a simple_one_for_one supervisor's children have no id; terminate_child by id is {error, simple_one_for_one}.
  if (state.simple && !(idOrPid instanceof Pid)) return errorReply(new SimpleOneForOneError('terminateChild by id'));
  const child = idOrPid instanceof Pid ? state.findPid(idOrPid) : state.findId(idOrPid);
  if (child === undefined) return errorReply(new ChildNotFoundError(String(idOrPid)));
  if (state.simple) {
    if (child.pid instanceof Pid) await shutdownChild(ctx, child.pid, child.spec.shutdown);
    state.remove(child);
  } else await terminateOne(ctx, state, child);
  return tuple(A_OK, undefined);
}

async function onRestartChild(ctx: Process, state: SupervisorState, id: string): Promise<Reply> {
  if (state.simple) return errorReply(new SimpleOneForOneError('restartChild'));
  const child = state.findId(id);
  if (child === undefined) return errorReply(new ChildNotFoundError(id));
  if (child.pid instanceof Pid) return errorReply(new ChildRunningError(id));
  if (child.pid === 'restarting') return errorReply(new ChildRestartingError(id));
  const outcome = await startOne(ctx, state, child);
  if (outcome.type === 'error') return errorReply(new ChildStartError(id, outcome.reason));
  return tuple(A_OK, outcome.type === 'ok' ? outcome.pid : undefined);
}

function onDeleteChild(state: SupervisorState, id: string): SupervisorReply<undefined> {
  if (state.simple) return errorReply(new SimpleOneForOneError('deleteChild'));
  const child = state.findId(id);
  if (child === undefined) return errorReply(new ChildNotFoundError(id));
  if (child.pid instanceof Pid) return errorReply(new ChildRunningError(id));
  if (child.pid === 'restarting') return errorReply(new ChildRestartingError(id));
  state.remove(child);
  return tuple(A_OK, undefined);
}

/** As OTP: the most recently started child first. */
function whichChildren(state: SupervisorState): ChildInfo[] {
  const list = state.simple ? [...state.dynamic] : [...state.children];
  return list.reverse().map((c) => ({
    id: state.simple ? undefined : c.spec.id,
    pid: c.pid instanceof Pid ? c.pid : c.pid === 'restarting' ? 'restarting' : 'undefined',
    type: c.spec.type,
  }));
}

function countChildren(ctx: Process, state: SupervisorState): ChildCounts {
  const list = state.simple ? [...state.dynamic] : state.children;
  let active = 0;
  let supervisors = 0;
  for (const c of list) {
    if (c.pid instanceof Pid && ctx.node.isAlive(c.pid)) active++;
    if (c.spec.type === 'supervisor') supervisors++;
  }
  // OTP: a simple_one_for_one supervisor has one spec, its template, however many children run.
  return { specs: state.simple ? 1 : list.length, active, supervisors, workers: list.length - supervisors };
}

/** `init` failed because child `id` did not start: OTP's `{shutdown, {failed_to_start_child, Id, Reason}}`. */
export function failedToStart(id: string, reason: ExitReason): Tuple<[Atom<'shutdown'>, Tuple<[Atom<'failed_to_start_child'>, Atom, ExitReason]>]> {
  return tuple(A_SHUTDOWN, tuple(atom('failed_to_start_child'), atom(id), reason));
}

/** The supervisor behavior. Its `init` argument is a normalized spec. */
export const supervisorBehavior: ServerBehavior<SupervisorProtocol, SupervisorState, NormalizedSupervisorSpec> = {
  behavior: 'supervisor',

  async init(spec, ctx) {
    ctx.trapExit = true;
    const state = new SupervisorState(spec);
    if (state.simple) return ok(state);
    state.children = spec.children.map((s) => ({ spec: s, pid: undefined, extra: [] }));
    const failed = await startInOrder(ctx, state, [...state.children]);
    if (failed !== undefined) {
      await terminateReverse(ctx, state, state.children.filter((c) => c.pid instanceof Pid));
      return stop(failedToStart(failed.child.spec.id, failed.reason));
    }
    return ok(state);
  },

  async handleCall(request, from: From, state, ctx) {
    void from;
    const badArg = (): Tuple<[Atom<'error'>, SupervisorError]> =>
      errorReply(new SupervisorError(`unknown supervisor request ${formatReason(request)}`, atom('badarg')));
    if (isAtom(request, 'which_children')) return reply(request, whichChildren(state), state);
    if (isAtom(request, 'count_children')) return reply(request, countChildren(ctx, state), state);
    if (isTagged(request, 'start_child', 2)) return reply(request, await onStartChild(ctx, state, request.elements[1]), state);
    if (isTagged(request, 'terminate_child', 2)) {
      const id = childIdOf(request.elements[1]);
      return reply(request, id === undefined ? badArg() : await onTerminateChild(ctx, state, id), state);
    }
    if (isTagged(request, 'restart_child', 2)) {
      const id = childIdOf(request.elements[1]);
      return reply(request, typeof id !== 'string' ? badArg() : await onRestartChild(ctx, state, id), state);
    }
    if (isTagged(request, 'delete_child', 2)) {
      const id = childIdOf(request.elements[1]);
      return reply(request, typeof id !== 'string' ? badArg() : onDeleteChild(state, id), state);
    }
    // Every request of the protocol is handled above: what is left came malformed from outside.
    return reply(request, badArg(), state);
  },

  async handleInfo(message, state, ctx) {
    if (message instanceof Tuple && message.elements.length === 3) {
      const [tag, a, b] = message.elements;
      if (tag === A_EXIT && a instanceof Pid) {
        const child = state.findPid(a);
        if (child === undefined) return noreply(state); // a child already terminated by us, or a stranger
        return childExited(ctx, state, child, b);
      }
      if (tag === A_TRY_AGAIN) {
        const child = a as ChildRecord;
        if (!state.contains(child) || child.pid !== 'restarting') return noreply(state);
        return restart(ctx, state, child, b);
      }
    }
    ctx.logger.warn({ message: formatReason(message) }, 'supervisor received an unexpected message');
    return noreply(state);
  },

  async terminate(_reason, state, ctx) {
    await terminateAll(ctx, state);
  },
};

