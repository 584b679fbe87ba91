/**
 * `pg`: process groups with eventually consistent membership, speaking the
 * protocol of OTP's `pg` module (OTP 23+) so that Beamline and Erlang or
 * Elixir processes share groups (Phoenix.PubSub's default adapter is built
 * on it).
 *
 * A scope is a process registered under the scope's name (default `pg`).
 * The protocol between scope processes of the same name on different nodes:
 *
 * - on start and on every `nodeup` of a visible node, a scope sends
 *   `{discover, Self}` to `{Scope, Node}`;
 * - on `{discover, Peer}` it answers `{'$gen_cast', {sync, Self, [{Group, LocalPids}]}}`
 *   to `Peer`, monitors `Peer` and sends it `{discover, Self}` when it did not know it;
 * - on `{sync, Peer, Groups}` it replaces what it knew of `Peer`'s members;
 * - joins and leaves of local processes go to every known peer as
 *   `{join, Self, Group, PidOrPids}` and `{leave, Self, PidOrPids, Groups}`;
 * - a local member that exits leaves all its groups; a peer scope that goes
 *   down (or whose node is lost) takes its members with it.
 *
 * Only local processes join and leave; every scope knows every member.
 * Membership reads ({@link pgMembers}) are synchronous and never block.
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'ts@127.0.0.1', cookie: 'c', published: true });
 * startPgScope(node);                                  // the default scope `pg`
 * await pgJoin(node, atom('room:lobby'), worker);      // erl> pg:get_members('room:lobby').
 * for (const pid of pgMembers(node, atom('room:lobby'))) node.send(pid, 'hello');
 * ```
 * @module
 */
import type { Node } from '../core/node.js';
import type { From, Process, ProcessHandler } from '../core/process.js';
import { termEquals } from '../etf/encoder.js';
import { ErlMap } from '../etf/erl-map.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { distributionOf } from './node-dist.js';
import type { NodeEvent } from './node-events.js';

const A_DISCOVER = atom('discover');
const A_SYNC = atom('sync');
const A_JOIN = atom('join');
const A_LEAVE = atom('leave');
const A_GEN_CALL = atom('$gen_call');
const A_GEN_CAST = atom('$gen_cast');
const A_DOWN = atom('DOWN');
const A_OK = atom('ok');
const A_NOT_JOINED = atom('not_joined');
const A_JOIN_LOCAL = atom('join_local');
const A_LEAVE_LOCAL = atom('leave_local');
const A_NODEUP = atom('nodeup');
const A_NODEDOWN = atom('nodedown');
const A_MONITOR = atom('monitor');
const A_DEMONITOR = atom('demonitor');

/** The name of the default scope, as in OTP. */
export const DEFAULT_PG_SCOPE = 'pg';

/** A pid as a map key. */
function pidKey(p: Pid): string {
  return `${p.node.name}|${p.id}|${p.serial}|${p.creation}`;
}

/** Members of one group: all of them, and the local ones. */
interface GroupMembers {
  all: Pid[];
  local: Pid[];
}

/** A peer scope process on another node. */
interface RemoteScope {
  readonly pid: Pid;
  readonly monitor: Ref;
  /** Its groups and their members, as it told us. */
  groups: ErlMap<unknown, Pid[]>;
}

/** A subscriber of membership changes (`pg:monitor_scope/1`, `pg:monitor/2`). */
interface Watcher {
  readonly pid: Pid;
  readonly ref: Ref;
  /** The watched group, or undefined for the whole scope. */
  readonly group: { readonly value: unknown } | undefined;
}

/** The state of one scope, shared by its process and the synchronous readers. */
class ScopeState {
  readonly groups = new ErlMap<unknown, GroupMembers>();
  /** Local members: their monitor and the groups they joined (a group once per join). */
  readonly local = new Map<string, { pid: Pid; monitor: Ref; groups: unknown[] }>();
  readonly remote = new Map<string, RemoteScope>();
  readonly watchers = new Map<string, Watcher>();
  pid: Pid | undefined;
  constructor(readonly name: Atom) {}

  notify(kind: Atom, group: unknown, pids: readonly Pid[], proc: Process): void {
    if (this.watchers.size === 0 || pids.length === 0) return;
    for (const w of this.watchers.values()) {
      if (w.group === undefined || termEquals(w.group.value, group)) proc.send(w.pid, tuple(w.ref, kind, group, [...pids]));
    }
  }

  add(group: unknown, pids: readonly Pid[], local: boolean, proc: Process): void {
    let g = this.groups.get(group);
    if (g === undefined) this.groups.set(group, (g = { all: [], local: [] }));
    g.all.unshift(...pids);
    if (local) g.local.unshift(...pids);
    this.notify(A_JOIN, group, pids, proc);
  }

  remove(group: unknown, pids: readonly Pid[], proc: Process): void {
    const g = this.groups.get(group);
    if (g === undefined) return;
    const removed: Pid[] = [];
    for (const p of pids) {
      const i = g.all.findIndex((q) => q.equals(p));
      if (i < 0) continue;
      g.all.splice(i, 1);
      removed.push(p);
      const j = g.local.findIndex((q) => q.equals(p));
      if (j >= 0) g.local.splice(j, 1);
    }
    if (g.all.length === 0) this.groups.delete(group);
    this.notify(A_LEAVE, group, removed, proc);
  }
}

const scopes = new WeakMap<Node, Map<Atom, ScopeState>>();

function scopeOf(node: Node, scope: string | Atom): ScopeState | undefined {
  return scopes.get(node)?.get(typeof scope === 'string' ? atom(scope) : scope);
}

/** Pids of a `join`/`leave`: one pid or a list of pids. Undefined for anything else. */
function pidList(v: unknown): Pid[] | undefined {
  if (v instanceof Pid) return [v];
  if (Array.isArray(v) && v.every((p) => p instanceof Pid)) return v as Pid[];
  return undefined;
}

/** A typed error for a bad argument of a pg function (as `pg` raises `badarg`/`{nolocal, Pid}`). */
export class PgError extends Error {
  override name = 'PgError';
  constructor(readonly reason: 'nolocal' | 'noscope' | 'badarg', message: string) {
    super(message);
  }
}

function scopeHandler(state: ScopeState): ProcessHandler {
  let unsubscribe: (() => void) | undefined;
  const broadcast = (proc: Process, msg: unknown): void => {
    for (const r of state.remote.values()) proc.send(r.pid, msg);
  };
  const discover = (proc: Process, node: Atom): void => {
    proc.send(tuple(state.name, node), tuple(A_DISCOVER, proc.self));
  };
  const localGroups = (): Tuple[] => {
    const out: Tuple[] = [];
    for (const [group, m] of state.groups) if (m.local.length > 0) out.push(tuple(group, [...m.local]));
    return out;
  };
  const learnPeer = (proc: Process, peer: Pid): RemoteScope => {
    let r = state.remote.get(pidKey(peer));
    if (r === undefined) {
      r = { pid: peer, monitor: proc.monitor(peer), groups: new ErlMap() };
      state.remote.set(pidKey(peer), r);
    }
    return r;
  };

  const join = (proc: Process, group: unknown, pids: Pid[]): void => {
    for (const p of pids) {
      const k = pidKey(p);
      let l = state.local.get(k);
      if (l === undefined) state.local.set(k, (l = { pid: p, monitor: proc.monitor(p), groups: [] }));
      l.groups.push(group);
    }
    state.add(group, pids, true, proc);
  };

  const leave = (proc: Process, group: unknown, pids: Pid[]): boolean => {
    const left: Pid[] = [];
    for (const p of pids) {
      const l = state.local.get(pidKey(p));
      if (l === undefined) continue;
      const i = l.groups.findIndex((g) => termEquals(g, group));
      if (i < 0) continue;
      l.groups.splice(i, 1);
      if (l.groups.length === 0) {
        proc.demonitor(l.monitor, { flush: true });
        state.local.delete(pidKey(p));
      }
      left.push(p);
    }
    if (left.length === 0) return false;
    state.remove(group, left, proc);
    return true;
  };

  const handleCall = (proc: Process, from: From, req: unknown): void => {
    const r = req instanceof Tuple ? req.elements : [req];
    if (r[0] === A_JOIN_LOCAL && r.length === 3) {
      const pids = pidList(r[2]);
      if (pids === undefined || !pids.every((p) => p.node === proc.node.name)) return proc.reply(from, atom('badarg'));
      join(proc, r[1], pids);
      broadcast(proc, tuple(A_JOIN, proc.self, r[1], r[2]));
      return proc.reply(from, A_OK);
    }
    if (r[0] === A_LEAVE_LOCAL && r.length === 3) {
      const pids = pidList(r[2]);
      if (pids === undefined) return proc.reply(from, atom('badarg'));
      if (!leave(proc, r[1], pids)) return proc.reply(from, A_NOT_JOINED);
      broadcast(proc, tuple(A_LEAVE, proc.self, r[2], [r[1]]));
      return proc.reply(from, A_OK);
    }
    if (r[0] === A_MONITOR && (r.length === 1 || r.length === 2)) {
      const watcherPid = from.elements[0];
      const ref = proc.monitor(watcherPid);
      if (r.length === 1) {
        state.watchers.set(String(proc.node._refKey(ref)), { pid: watcherPid, ref, group: undefined });
        const snapshot = new ErlMap<unknown, Pid[]>();
        for (const [g, m] of state.groups) snapshot.set(g, [...m.all]);
        return proc.reply(from, tuple(ref, snapshot));
      }
      state.watchers.set(String(proc.node._refKey(ref)), { pid: watcherPid, ref, group: { value: r[1] } });
      return proc.reply(from, tuple(ref, [...(state.groups.get(r[1])?.all ?? [])]));
    }
    if (r[0] === A_DEMONITOR && r.length === 2) {
      const ref = r[1] as Ref;
      const key = String(proc.node._refKey(ref));
      if (!state.watchers.delete(key)) return proc.reply(from, false);
      proc.demonitor(ref, { flush: true });
      return proc.reply(from, A_OK);
    }
    proc.reply(from, atom('badarg'));
  };

  const sync = (proc: Process, peer: Pid, groups: unknown): void => {
    if (!Array.isArray(groups)) return;
    const r = learnPeer(proc, peer);
    const next = new ErlMap<unknown, Pid[]>();
    for (const entry of groups) {
      if (!(entry instanceof Tuple) || entry.elements.length !== 2) continue;
      const pids = pidList(entry.elements[1]);
      if (pids !== undefined) next.set(entry.elements[0], pids);
    }
    // Replace what we knew of this peer with what it tells.
    for (const [group, old] of r.groups) if (!next.has(group)) state.remove(group, old, proc);
    for (const [group, pids] of next) {
      const old = r.groups.get(group);
      if (old !== undefined && old.length === pids.length && old.every((p, i) => p.equals(pids[i]))) continue; // unchanged
      if (old !== undefined) state.remove(group, old, proc);
      state.add(group, pids, false, proc);
    }
    r.groups = next;
  };

  const down = (proc: Process, ref: Ref, pid: unknown): void => {
    const key = String(proc.node._refKey(ref));
    if (state.watchers.delete(key)) return;
    if (!(pid instanceof Pid)) return;
    if (pid.node === proc.node.name) {
      const l = state.local.get(pidKey(pid));
      if (l === undefined || l.monitor.equals(ref) === false) return;
      state.local.delete(pidKey(pid));
      const groups = [...l.groups];
      for (const g of groups) state.remove(g, [pid], proc);
      broadcast(proc, tuple(A_LEAVE, proc.self, pid, groups));
      return;
    }
    const r = state.remote.get(pidKey(pid));
    if (r === undefined || !r.monitor.equals(ref)) return;
    state.remote.delete(pidKey(pid));
    for (const [group, pids] of r.groups) state.remove(group, pids, proc);
  };

  return {
    behavior: 'pg',
    init(proc) {
      state.pid = proc.self;
      const dist = distributionOf(proc.node);
      unsubscribe = dist.monitorNodes((e: NodeEvent) => {
        if (e.visible) proc.node.send(proc.self, tuple(e.kind === 'up' ? A_NODEUP : A_NODEDOWN, e.node));
      });
      for (const n of dist.nodes('visible')) discover(proc, n);
    },
    handleMessage(msg, proc) {
      try {
        handle(msg, proc);
      } catch (err) {
        // A message of an unexpected shape from the network must not take the scope down.
        proc.node.log('warning', `pg scope ${state.name.name}: ignored ${String(msg)}: ${String(err)}`);
      }
    },
    cleanup() {
      unsubscribe?.();
    },
  };

  function handle(msg: unknown, proc: Process): void {
    if (!(msg instanceof Tuple)) return proc.node.log('warning', `pg scope ${state.name.name}: unexpected message ${String(msg)}`);
    const e = msg.elements;
    if (e[0] === A_GEN_CALL && e.length === 3 && e[1] instanceof Tuple) return handleCall(proc, e[1] as From, e[2]);
    if (e[0] === A_GEN_CAST && e.length === 2 && e[1] instanceof Tuple) {
      const c = e[1].elements;
      if (c[0] === A_SYNC && c.length === 3 && c[1] instanceof Pid) return sync(proc, c[1], c[2]);
      return proc.node.log('warning', `pg scope ${state.name.name}: unexpected cast ${String(e[1])}`);
    }
    if (e[0] === A_DISCOVER && (e.length === 2 || e.length === 3) && e[1] instanceof Pid) {
      const peer = e[1];
      proc.send(peer, tuple(A_GEN_CAST, tuple(A_SYNC, proc.self, localGroups())));
      if (!state.remote.has(pidKey(peer))) {
        learnPeer(proc, peer);
        proc.send(peer, tuple(A_DISCOVER, proc.self));
      }
      return;
    }
    if (e[0] === A_JOIN && e.length === 4 && e[1] instanceof Pid) {
      const r = state.remote.get(pidKey(e[1]));
      const pids = pidList(e[3]);
      if (r === undefined || pids === undefined) return; // not (or no longer) in the overlay network
      state.add(e[2], pids, false, proc);
      r.groups.set(e[2], [...pids, ...(r.groups.get(e[2]) ?? [])]);
      return;
    }
    if (e[0] === A_LEAVE && e.length === 4 && e[1] instanceof Pid && Array.isArray(e[3])) {
      const r = state.remote.get(pidKey(e[1]));
      const pids = pidList(e[2]);
      if (r === undefined || pids === undefined) return;
      for (const group of e[3] as unknown[]) {
        state.remove(group, pids, proc);
        const left = (r.groups.get(group) ?? []).filter((p) => !pids.some((q) => q.equals(p)));
        if (left.length === 0) r.groups.delete(group);
        else r.groups.set(group, left);
      }
      return;
    }
    if (e[0] === A_DOWN && e.length === 5 && e[1] instanceof Ref) return down(proc, e[1], e[3]);
    if (e[0] === A_NODEUP && e.length === 2 && e[1] instanceof Atom) return discover(proc, e[1]);
    if (e[0] === A_NODEDOWN) return; // the DOWN of the peer's scope cleans up
    proc.node.log('warning', `pg scope ${state.name.name}: unexpected message ${String(msg)}`);
  }
}

/**
 * Starts a `pg` scope process registered as `scope` (default `pg`) on a node
 * started with `startNode`. Throws when that name is taken.
 *
 * @example
 * ```ts
 * startPgScope(node);            // default scope, like pg:start_link()
 * startPgScope(node, 'chat');    // like pg:start_link(chat)
 * ```
 */
export function startPgScope(node: Node, scope: string = DEFAULT_PG_SCOPE): Pid {
  const name = atom(scope);
  let map = scopes.get(node);
  if (map === undefined) scopes.set(node, (map = new Map()));
  if (node.whereis(name) !== undefined) throw new PgError('badarg', `a process is already registered as ${scope}`);
  const state = new ScopeState(name);
  const handler = scopeHandler(state);
  const cleanup = handler.cleanup;
  const scopes_ = map;
  const pid = node.spawn(
    {
      ...handler,
      cleanup(reason, proc) {
        cleanup?.call(handler, reason, proc);
        if (scopes_.get(name) === state) scopes_.delete(name);
      },
    },
    { name },
  );
  map.set(name, state);
  return pid;
}

function requireScope(node: Node, scope: string | Atom): ScopeState {
  const s = scopeOf(node, scope);
  if (s === undefined) throw new PgError('noscope', `no pg scope ${String(scope)} on ${node.name.name}`);
  return s;
}

function requireLocal(node: Node, pids: Pid | readonly Pid[]): void {
  for (const p of pids instanceof Pid ? [pids] : pids) {
    if (!(p instanceof Pid) || p.node !== node.name) throw new PgError('nolocal', `pg: ${String(p)} is not a local process`);
  }
}

/**
 * Joins local process(es) to `group` in `scope` (like `pg:join/3`). A
 * process may join a group several times and must then leave it as many
 * times. Rejects with {@link PgError} for a remote pid or a missing scope.
 *
 * @example
 * ```ts
 * await pgJoin(node, atom('workers'), [w1, w2]);
 * ```
 */
export async function pgJoin(node: Node, group: unknown, pids: Pid | readonly Pid[], scope: string | Atom = DEFAULT_PG_SCOPE): Promise<void> {
  requireLocal(node, pids);
  const s = requireScope(node, scope);
  await node.call(s.name, tuple(A_JOIN_LOCAL, group, pids instanceof Pid ? pids : [...pids]), { timeout: 30_000 });
}

/**
 * Makes local process(es) leave `group` (like `pg:leave/3`). Resolves
 * `'not_joined'` when none of them was a member.
 *
 * @example
 * ```ts
 * await pgLeave(node, atom('workers'), w1);   // 'ok'
 * ```
 */
export async function pgLeave(node: Node, group: unknown, pids: Pid | readonly Pid[], scope: string | Atom = DEFAULT_PG_SCOPE): Promise<'ok' | 'not_joined'> {
  requireLocal(node, pids);
  const s = requireScope(node, scope);
  const r = await node.call(s.name, tuple(A_LEAVE_LOCAL, group, pids instanceof Pid ? pids : [...pids]), { timeout: 30_000 });
  return r === A_NOT_JOINED ? 'not_joined' : 'ok';
}

/**
 * Every member of `group` on every node of the scope (like
 * `pg:get_members/2`); empty for an unknown group or scope.
 *
 * @example
 * ```ts
 * for (const pid of pgMembers(node, atom('room'))) node.send(pid, msg);
 * ```
 */
export function pgMembers(node: Node, group: unknown, scope: string | Atom = DEFAULT_PG_SCOPE): Pid[] {
  return [...(scopeOf(node, scope)?.groups.get(group)?.all ?? [])];
}

/**
 * The members of `group` running on this node (like `pg:get_local_members/2`).
 *
 * @example
 * ```ts
 * pgLocalMembers(node, atom('room'));
 * ```
 */
export function pgLocalMembers(node: Node, group: unknown, scope: string | Atom = DEFAULT_PG_SCOPE): Pid[] {
  return [...(scopeOf(node, scope)?.groups.get(group)?.local ?? [])];
}

/**
 * The groups with at least one member (like `pg:which_groups/1`).
 *
 * @example
 * ```ts
 * pgWhichGroups(node); // [atom('room'), ...]
 * ```
 */
export function pgWhichGroups(node: Node, scope: string | Atom = DEFAULT_PG_SCOPE): unknown[] {
  const s = scopeOf(node, scope);
  return s === undefined ? [] : [...s.groups].map(([g]) => g);
}

/** A subscription made with {@link pgMonitor} or {@link pgMonitorScope}. */
export interface PgSubscription<T> {
  /** Tags the notifications `{Ref, join | leave, Group, Pids}` the subscriber receives. */
  readonly ref: Ref;
  /** Membership when the subscription started. */
  readonly members: T;
}

/**
 * Subscribes `proc` to the changes of `group` (like `pg:monitor/2`, OTP
 * 25.1): it receives `{Ref, join, Group, Pids}` and `{Ref, leave, Group,
 * Pids}` messages. Resolves with the ref and the current members.
 *
 * @example
 * ```ts
 * const { ref, members } = await pgMonitor(proc, atom('room'));
 * ```
 */
export async function pgMonitor(proc: Process, group: unknown, scope: string | Atom = DEFAULT_PG_SCOPE): Promise<PgSubscription<Pid[]>> {
  const s = requireScope(proc.node, scope);
  const r = await proc.call(s.name, tuple(A_MONITOR, group), { timeout: 30_000 });
  const [ref, members] = (r as Tuple).elements as [Ref, Pid[]];
  return { ref, members };
}

/**
 * Subscribes `proc` to every change in the scope (like `pg:monitor_scope/1`).
 * Resolves with the ref and a map of every group to its members.
 *
 * @example
 * ```ts
 * const { ref, members } = await pgMonitorScope(proc);
 * ```
 */
export async function pgMonitorScope(proc: Process, scope: string | Atom = DEFAULT_PG_SCOPE): Promise<PgSubscription<ErlMap<unknown, Pid[]>>> {
  const s = requireScope(proc.node, scope);
  const r = await proc.call(s.name, A_MONITOR, { timeout: 30_000 });
  const [ref, members] = (r as Tuple).elements as [Ref, ErlMap<unknown, Pid[]>];
  return { ref, members };
}

/**
 * Ends a subscription (like `pg:demonitor/2`); false when it was not active.
 * Notifications already in the mailbox stay there.
 *
 * @example
 * ```ts
 * await pgDemonitor(proc, ref);
 * ```
 */
export async function pgDemonitor(proc: Process, ref: Ref, scope: string | Atom = DEFAULT_PG_SCOPE): Promise<boolean> {
  const s = requireScope(proc.node, scope);
  return (await proc.call(s.name, tuple(A_DEMONITOR, ref), { timeout: 30_000 })) === A_OK;
}
