/**
 * `global`: cluster-wide process names, taking part in OTP 25's `global`
 * protocol (version 8) as the `global_name_server` of a Beamline node, so a
 * published Beamline node stands beside Erlang and Elixir nodes:
 * `global:sync()` on them returns, they see the names registered here
 * (`global:whereis_name/1`, `gen_server:call({global, Name}, ...)`), and
 * Beamline sees theirs.
 *
 * When a visible node connects, each side's name server casts
 * `{init_connect, {8, MyTag}, node(), {locker, no_longer_a_pid, Known, Locker}}`
 * to the other; the lockers take the partition lock (see `global-locker.ts`);
 * the servers exchange their names (`exchange`), resolve conflicts (the
 * node with the smaller name runs the conflicting name's resolve method
 * through `global:resolve_it/4` on the node of the registered pid), send
 * each other `resolved` with the operations to apply and the nodes they
 * know, and announce the new nodes to the rest of their partition
 * (`new_nodes`); nodes learned that way are told `in_sync`.
 *
 * Registration ({@link globalRegister}) takes the lock `{global, Registrar}`
 * on every known node, checks the name is free, and calls
 * `{register, Name, Pid, Method}` on every name server, as
 * `global:register_name/3` does. Every name server monitors the owner: a
 * name is released everywhere when its process exits or its node is lost.
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'ts@127.0.0.1', cookie: 'c' });   // published, global started
 * await globalRegister(node, atom('kv'), kvPid);          // erl> gen_server:call({global, kv}, ...)
 * const erlPid = globalWhereis(node, atom('erl_srv'));    // registered on an Erlang node
 * ```
 * @module
 */
import type { Node } from '../core/node.js';
import type { From, Process, ProcessHandler } from '../core/process.js';
import { serverRef, type AnyProtocol, type Protocol, type ServerRef } from '../core/protocol.js';
import { termEquals } from '../etf/encoder.js';
import { ErlMap } from '../etf/erl-map.js';
import { ExportFun } from '../etf/funs.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { A_GLOBAL_NAME_SERVER, deleteGlobalLock, lockerHandler, multiCall, setLockOn, theBoss } from './global-locker.js';
import { distributionOf, exposeRpc, rpc } from './node-dist.js';
import type { NodeEvent } from './node-events.js';

/** The protocol version OTP 25.2 speaks. */
export const GLOBAL_PROTOCOL_VERSION = 8;

const A = {
  genCall: atom('$gen_call'),
  genCast: atom('$gen_cast'),
  initConnect: atom('init_connect'),
  initConnectAck: atom('init_connect_ack'),
  cancelConnect: atom('cancel_connect'),
  locker: atom('locker'),
  noLongerAPid: atom('no_longer_a_pid'),
  lockIsSet: atom('lock_is_set'),
  lockSet: atom('lock_set'),
  exchange: atom('exchange'),
  exchangeOps: atom('exchange_ops'),
  resolved: atom('resolved'),
  newNodes: atom('new_nodes'),
  inSync: atom('in_sync'),
  unused: atom('unused'),
  insert: atom('insert'),
  delete: atom('delete'),
  register: atom('register'),
  registerExt: atom('register_ext'),
  unregister: atom('unregister'),
  setLock: atom('set_lock'),
  delLock: atom('del_lock'),
  getKnown: atom('get_known'),
  getSynced: atom('get_synced'),
  getProtocolVersion: atom('get_protocol_version'),
  whereis: atom('whereis'),
  down: atom('DOWN'),
  nodeup: atom('nodeup'),
  nodedown: atom('nodedown'),
  hisTheLocker: atom('his_the_locker'),
  cancel: atom('cancel'),
  vsn: atom('vsn'),
  lock: atom('lock'),
  global: atom('global'),
  yes: atom('yes'),
  no: atom('no'),
  ok: atom('ok'),
  none: atom('none'),
  prepareShutdown: atom('prepare_shutdown'),
  removeConnection: atom('remove_connection'),
  randomExitName: atom('random_exit_name'),
  randomNotifyName: atom('random_notify_name'),
  notifyAllName: atom('notify_all_name'),
  globalNameConflict: atom('global_name_conflict'),
  kill: atom('kill'),
} as const;

/** `fun global:random_exit_name/3`, the default conflict resolution. */
export const RANDOM_EXIT_NAME = new ExportFun(A.global, A.randomExitName, 3);
/** `fun global:random_notify_name/3`: the loser gets `{global_name_conflict, Name}`. */
export const RANDOM_NOTIFY_NAME = new ExportFun(A.global, A.randomNotifyName, 3);
/** `fun global:notify_all_name/3`: both get `{global_name_conflict, Name, OtherPid}`; the name is dropped. */
export const NOTIFY_ALL_NAME = new ExportFun(A.global, A.notifyAllName, 3);

interface NameEntry {
  readonly pid: Pid;
  readonly method: unknown;
  readonly ref: Ref;
}

interface LockEntry {
  readonly reqId: unknown;
  holders: { pid: Pid; ref: Ref }[];
}

/** What the server remembers of one node while syncing with it (OTP keeps it in the process dictionary). */
interface NodeSync {
  myTag?: unknown;
  hisTag?: unknown;
  vsn?: number;
  waitLock?: 'lock_is_set' | { names: unknown[] } | undefined;
  saveOps?: unknown[] | { hisKnown: unknown[]; namesExt: unknown; hisResolved: unknown[] } | undefined;
  preConnect?: { vsn: Tuple; initMsg: unknown; hisTag: unknown } | undefined;
  lockId?: unknown;
}

/** A typed error of the global API. */
export class GlobalError extends Error {
  override name = 'GlobalError';
  constructor(readonly reason: 'not_started' | 'badarg' | 'timeout', message: string) {
    super(message);
  }
}

/** The state of one node's `global`, shared by its name server, locker and registrar. */
class GlobalState {
  readonly known = new Map<Atom, number>();
  readonly pending = new Map<Atom, number>();
  readonly synced = new Set<Atom>();
  /** Nodes with a sync session: our tag for it. */
  readonly resolvers = new Map<Atom, unknown>();
  readonly sessions = new Map<Atom, NodeSync>();
  readonly names = new ErlMap<unknown, NameEntry>();
  readonly locks = new ErlMap<unknown, LockEntry>();
  /** Monitor ref key → what it watches. */
  readonly monitors = new Map<string, { kind: 'name'; name: unknown } | { kind: 'lock'; resource: unknown }>();
  readonly syncWaiters = new Set<() => void>();
  server: Pid | undefined;
  locker: Pid | undefined;
  registrar: Pid | undefined;
  private tag = 0;
  constructor(readonly node: Node) {}

  nextTag(): number {
    return ++this.tag;
  }

  session(n: Atom): NodeSync {
    let s = this.sessions.get(n);
    if (s === undefined) this.sessions.set(n, (s = {}));
    return s;
  }

  where(name: unknown): Pid | undefined {
    const e = this.names.get(name);
    if (e === undefined) return undefined;
    if (e.pid.node === this.node.name && !this.node.isAlive(e.pid)) return undefined;
    return e.pid;
  }

  canSetLock(id: Tuple): boolean {
    const e = this.locks.get(id.elements[0]);
    return e === undefined || termEquals(e.reqId, id.elements[1]);
  }

  notifySync(): void {
    for (const w of [...this.syncWaiters]) w();
  }
}

const states = new WeakMap<Node, GlobalState>();

function stateOf(node: Node): GlobalState {
  const s = states.get(node);
  if (s === undefined) throw new GlobalError('not_started', `global is not running on ${node.name.name}`);
  return s;
}

function refKey(node: Node, ref: Ref): string {
  return String(node._refKey(ref));
}

/** Runs a name's resolve method here, as `global:resolve_it/4` does on the node of `pid2`. */
function resolveHere(node: Node, method: unknown, name: unknown, pid1: unknown, pid2: unknown): unknown {
  if (!(pid1 instanceof Pid) || !(pid2 instanceof Pid)) return A.none;
  const [min, max] = pid1.node.name < pid2.node.name ? [pid1, pid2] : [pid2, pid1];
  const fn = method instanceof ExportFun && method.module === A.global ? method.function : undefined;
  if (fn === A.randomExitName) {
    node.log('info', `global: name conflict terminating ${String(name)} ${max.describe()}`);
    node.exit(max, 'kill');
    return min;
  }
  if (fn === A.randomNotifyName) {
    node.send(max, tuple(A.globalNameConflict, name));
    return min;
  }
  if (fn === A.notifyAllName) {
    node.send(pid1, tuple(A.globalNameConflict, name, pid2));
    node.send(pid2, tuple(A.globalNameConflict, name, pid1));
    return A.none;
  }
  // A closure or another module's function cannot run here: the name is dropped, as when a method fails in OTP.
  return A.none;
}

function serverHandler(g: GlobalState): ProcessHandler {
  let unsubscribe: (() => void) | undefined;
  const me = g.node.name;
  const dist = distributionOf(g.node);

  const cast = (proc: Process, node: Atom, msg: unknown): void => proc.send(tuple(A_GLOBAL_NAME_SERVER, node), tuple(A.genCast, msg));
  const volatileSend = (proc: Process, node: Atom, msg: unknown): void => {
    if (dist.nodes('connected').includes(node)) proc.send(tuple(A_GLOBAL_NAME_SERVER, node), msg);
  };
  const toLocker = (proc: Process, msg: unknown): void => {
    if (g.locker !== undefined) proc.send(g.locker, msg);
  };

  const knownMap = (): Map<Atom, number> => new Map(g.known);
  const knownList = (): Tuple[] => [...g.known].map(([n, v]) => tuple(n, v));
  const nodeVsn = (n: Atom): number => (n === me ? GLOBAL_PROTOCOL_VERSION : (g.known.get(n) ?? g.pending.get(n) ?? 0));
  const nodeList = (list: unknown[]): Atom[] =>
    list.flatMap((x) => (x instanceof Atom ? [x] : x instanceof Tuple && x.elements[0] instanceof Atom ? [x.elements[0]] : []));
  const makeNodeVsnList = (list: unknown[]): Tuple[] =>
    list.flatMap((x) => {
      if (x instanceof Atom) return [tuple(x, nodeVsn(x))];
      if (x instanceof Tuple && x.elements[0] instanceof Atom) {
        const v = x.elements[1];
        return [typeof v === 'number' && v !== 0 ? x : tuple(x.elements[0], nodeVsn(x.elements[0]))];
      }
      return [];
    });

  const addToKnown = (list: unknown[]): Atom[] => {
    const added: Atom[] = [];
    for (const x of list) {
      const [n, v] = x instanceof Atom ? [x, 0] : x instanceof Tuple ? [x.elements[0], x.elements[1]] : [undefined, undefined];
      if (!(n instanceof Atom) || n === me || g.known.has(n)) continue;
      g.known.set(n, typeof v === 'number' ? v : 0);
      added.push(n);
    }
    return added;
  };

  // ------------------------------------------------------------ names and locks

  const deleteName = (proc: Process, name: unknown): void => {
    const e = g.names.get(name);
    if (e === undefined) return;
    g.names.delete(name);
    g.monitors.delete(refKey(g.node, e.ref));
    proc.demonitor(e.ref, { flush: true });
  };

  const insertName = (proc: Process, name: unknown, pid: Pid, method: unknown): void => {
    deleteName(proc, name);
    const ref = proc.monitor(pid);
    g.monitors.set(refKey(g.node, ref), { kind: 'name', name });
    g.names.set(name, { pid, method, ref });
  };

  const setLock = (proc: Process, id: unknown, pid: Pid): boolean => {
    if (!(id instanceof Tuple) || id.elements.length !== 2) return false;
    const [resource, reqId] = id.elements;
    let e = g.locks.get(resource);
    if (e !== undefined && !termEquals(e.reqId, reqId)) return false;
    if (e === undefined) g.locks.set(resource, (e = { reqId, holders: [] }));
    if (e.holders.some((h) => h.pid.equals(pid))) return true;
    const ref = proc.monitor(pid);
    g.monitors.set(refKey(g.node, ref), { kind: 'lock', resource });
    e.holders.push({ pid, ref });
    return true;
  };

  const removeHolder = (proc: Process, resource: unknown, match: (h: { pid: Pid; ref: Ref }) => boolean): void => {
    const e = g.locks.get(resource);
    if (e === undefined) return;
    for (const h of e.holders.filter(match)) {
      g.monitors.delete(refKey(g.node, h.ref));
      proc.demonitor(h.ref, { flush: true });
    }
    e.holders = e.holders.filter((h) => !match(h));
    if (e.holders.length === 0) g.locks.delete(resource);
  };

  const delLock = (proc: Process, id: unknown, pid: Pid): void => {
    if (!(id instanceof Tuple) || id.elements.length !== 2) return;
    const e = g.locks.get(id.elements[0]);
    if (e === undefined || !termEquals(e.reqId, id.elements[1])) return;
    removeHolder(proc, id.elements[0], (h) => h.pid.equals(pid));
  };

  const getNames = (): Tuple[] => [...g.names].map(([name, e]) => tuple(name, e.pid, e.method));

  const doOps = (proc: Process, ops: unknown[]): void => {
    for (const op of ops) {
      if (!(op instanceof Tuple) || op.elements.length !== 2) continue;
      const [kind, arg] = op.elements;
      if (kind === A.insert && arg instanceof Tuple && arg.elements.length === 3 && arg.elements[1] instanceof Pid) {
        insertName(proc, arg.elements[0], arg.elements[1], arg.elements[2]);
      } else if (kind === A.delete) deleteName(proc, arg);
    }
  };

  // ------------------------------------------------------------ sync sessions

  const resetNode = (n: Atom): void => {
    g.sessions.delete(n);
  };

  const sendCancelConnect = (proc: Process, n: Atom, tag: unknown): void => {
    const v = g.pending.get(n);
    const s = g.sessions.get(n);
    if (v === undefined || v < 8 || s === undefined || !termEquals(s.myTag, tag)) return;
    volatileSend(proc, n, tuple(A.cancelConnect, me, s.hisTag));
  };

  const cancelLocker = (proc: Process, n: Atom, tag: unknown, fn?: () => void): void => {
    toLocker(proc, tuple(A.cancel, n, tag, fn ?? atom('no_fun')));
    sendCancelConnect(proc, n, tag);
    if (g.resolvers.has(n) && termEquals(g.resolvers.get(n), tag)) g.resolvers.delete(n);
  };

  const handleNodeup = (proc: Process, n: Atom): void => {
    if (g.known.has(n) || g.resolvers.has(n)) return;
    const pre = g.sessions.get(n)?.preConnect;
    if (pre !== undefined) {
      g.session(n).preConnect = undefined;
      proc.send(proc.self, tuple(A.genCast, tuple(A.initConnect, pre.vsn, n, pre.initMsg)));
    }
    const myTag = g.nextTag();
    g.session(n).myTag = myTag;
    cast(proc, n, tuple(A.initConnect, tuple(GLOBAL_PROTOCOL_VERSION, myTag), me, tuple(A.locker, A.noLongerAPid, knownMap(), g.locker)));
    g.resolvers.set(n, myTag);
  };

  const restartConnect = (proc: Process, n: Atom, myTag: unknown): void => {
    cancelLocker(proc, n, myTag);
    resetNode(n);
    g.pending.delete(n);
    g.resolvers.delete(n);
    if (typeof myTag === 'number') handleNodeup(proc, n);
  };

  const handleNodedown = (proc: Process, n: Atom): void => {
    cancelLocker(proc, n, g.sessions.get(n)?.myTag);
    g.resolvers.delete(n);
    resetNode(n);
    g.pending.delete(n);
    g.known.delete(n);
    g.synced.delete(n);
    g.notifySync();
  };

  const initConnect = (proc: Process, vsnTerm: Tuple, n: Atom, initMsg: unknown): void => {
    const hisVsn = vsnTerm.elements[0];
    const hisTag = vsnTerm.elements[1];
    if (typeof hisVsn !== 'number') return;
    if (g.pending.has(n)) {
      if (hisVsn < 8) {
        dist.disconnect(n);
        return;
      }
      volatileSend(proc, n, tuple(A.cancelConnect, me, hisTag));
      restartConnect(proc, n, g.sessions.get(n)?.myTag);
    }
    const s = g.session(n);
    s.vsn = Math.min(hisVsn, GLOBAL_PROTOCOL_VERSION);
    s.hisTag = hisTag;
    if (g.resolvers.has(n)) {
      if (!(initMsg instanceof Tuple) || initMsg.elements.length !== 4 || !(initMsg.elements[3] instanceof Pid)) return;
      toLocker(proc, tuple(A.hisTheLocker, initMsg.elements[3], tuple(s.vsn, []), hisTag, s.myTag));
      if (hisVsn >= 8) volatileSend(proc, n, tuple(A.initConnectAck, me, hisTag, s.myTag));
      g.pending.set(n, hisVsn);
    } else {
      s.preConnect = { vsn: vsnTerm, initMsg, hisTag };
    }
  };

  const startResolver = (proc: Process, n: Atom, names: unknown[]): void => {
    const tag = g.resolvers.get(n);
    void exchangeNames(proc, names, n).then(([ops, resolved]) => {
      if (!proc.alive || !g.resolvers.has(n) || !termEquals(g.resolvers.get(n), tag)) return; // the resolver was killed
      proc.send(proc.self, tuple(A.genCast, tuple(A.exchangeOps, n, tag, ops, resolved)));
    });
  };

  const exchangeNames = async (proc: Process, list: unknown[], n: Atom): Promise<[unknown[], unknown[]]> => {
    const ops: unknown[] = [];
    const res: unknown[] = [];
    for (const item of list) {
      if (!(item instanceof Tuple) || item.elements.length !== 3 || !(item.elements[1] instanceof Pid)) continue;
      const [name, pid, method] = item.elements as [unknown, Pid, unknown];
      const ours = g.names.get(name);
      if (ours !== undefined && ours.pid.equals(pid)) continue;
      if (ours === undefined) {
        ops.push(tuple(A.insert, tuple(name, pid, method)));
        continue;
      }
      if (!(me.name < n.name)) continue; // the other node resolves
      const pid2 = ours.pid;
      let winner: unknown;
      try {
        winner =
          pid2.node === me
            ? resolveHere(g.node, ours.method, name, pid, pid2)
            : await rpc(g.node, pid2.node, 'global', 'resolve_it', [ours.method, name, pid, pid2], { timeout: 15_000 });
      } catch (err) {
        g.node.log('info', `global: badrpc ${String(err)} when conflicting name ${String(name)} was found`);
        ops.push(tuple(A.insert, tuple(name, pid, method)));
        continue;
      }
      if (winner instanceof Pid && winner.equals(pid)) ops.push(tuple(A.insert, tuple(name, pid, method)));
      else if (winner instanceof Pid && winner.equals(pid2)) res.push(tuple(A.insert, tuple(name, pid2, ours.method)));
      else {
        ops.push(tuple(A.delete, name));
        res.push(tuple(A.delete, name));
      }
    }
    return [ops, res];
  };

  const lockIsSet = (proc: Process, n: Atom, lockId: unknown): void => {
    const s = g.session(n);
    cast(proc, n, tuple(A.exchange, me, getNames(), [], s.hisTag));
    s.lockId = lockId;
    const w = s.waitLock;
    if (w !== undefined && w !== 'lock_is_set') {
      s.waitLock = undefined;
      startResolver(proc, n, w.names);
    } else s.waitLock = 'lock_is_set';
  };

  const exchange = (proc: Process, n: Atom, names: unknown[]): void => {
    const s = g.session(n);
    if (s.waitLock === 'lock_is_set') {
      s.waitLock = undefined;
      startResolver(proc, n, names);
    } else s.waitLock = { names };
  };

  const syncOthers = (proc: Process, nodes: Atom[]): void => {
    for (const n of nodes) if (n !== me) cast(proc, n, tuple(A.inSync, me, true));
  };

  const resolved = (proc: Process, n: Atom, hisResolved: unknown[], hisKnown: unknown[], namesExt: unknown): void => {
    const s = g.session(n);
    const saved = Array.isArray(s.saveOps) ? s.saveOps : [];
    s.saveOps = undefined;
    const ops = [...saved, ...hisResolved];
    const knownBefore = [...g.known];
    const newNodes = makeNodeVsnList([n, ...hisKnown]);
    const hisKnownNodes = nodeList(hisKnown);
    syncOthers(proc, hisKnownNodes);
    const extraInfo = [tuple(A.vsn, s.vsn ?? GLOBAL_PROTOCOL_VERSION), tuple(A.lock, s.lockId)];
    doOps(proc, ops);
    for (const other of hisKnownNodes) {
      const tag = g.sessions.get(other)?.myTag;
      g.pending.delete(other);
      cancelLocker(proc, other, tag);
      resetNode(other);
    }
    const newNodesMsg = tuple(A.newNodes, me, ops, namesExt, newNodes, extraInfo);
    const oldNodesMsg = tuple(A.newNodes, me, ops, namesExt, nodeList(newNodes), extraInfo);
    const announce = (): void => {
      for (const [k, v] of knownBefore) cast(proc, k, v >= 7 ? newNodesMsg : oldNodesMsg);
    };
    const tag = g.sessions.get(n)?.myTag;
    g.pending.delete(n);
    cancelLocker(proc, n, tag, announce);
    resetNode(n);
    addToKnown(newNodes);
    g.synced.add(n);
    g.notifySync();
  };

  // ------------------------------------------------------------ messages

  const handleCast = (proc: Process, msg: unknown): void => {
    if (!(msg instanceof Tuple)) return;
    const e = msg.elements;
    const tagOk = (n: unknown, tag: unknown): n is Atom => n instanceof Atom && termEquals(g.sessions.get(n)?.myTag, tag);
    switch (e[0]) {
      case A.initConnect:
        if (e.length === 4 && e[1] instanceof Tuple && e[1].elements.length >= 2 && e[2] instanceof Atom) initConnect(proc, e[1], e[2], e[3]);
        return;
      case A.lockIsSet:
        if (e.length !== 4 || !(e[1] instanceof Atom)) return;
        if (tagOk(e[1], e[2])) lockIsSet(proc, e[1], e[3]);
        else cancelLocker(proc, e[1], e[2]);
        return;
      case A.exchange:
        if (e.length !== 5 || !(e[1] instanceof Atom) || !Array.isArray(e[2])) return;
        if (tagOk(e[1], e[4])) exchange(proc, e[1], e[2] as unknown[]);
        else cancelLocker(proc, e[1], e[4]);
        return;
      case A.exchangeOps: {
        if (e.length !== 5 || !(e[1] instanceof Atom) || !Array.isArray(e[3]) || !Array.isArray(e[4])) return;
        const n = e[1];
        if (!tagOk(n, e[2])) return cancelLocker(proc, n, e[2]);
        const s = g.session(n);
        cast(proc, n, tuple(A.resolved, me, e[4], knownList(), A.unused, [], s.hisTag));
        const saved = s.saveOps;
        s.saveOps = e[3] as unknown[];
        if (saved !== undefined && !Array.isArray(saved)) resolved(proc, n, saved.hisResolved, saved.hisKnown, saved.namesExt);
        return;
      }
      case A.resolved: {
        if (e.length !== 7 || !(e[1] instanceof Atom) || !Array.isArray(e[2]) || !Array.isArray(e[3])) return;
        const n = e[1];
        if (!tagOk(n, e[6])) return cancelLocker(proc, n, e[6]);
        const s = g.session(n);
        if (Array.isArray(s.saveOps)) resolved(proc, n, e[2] as unknown[], e[3] as unknown[], e[5]);
        else s.saveOps = { hisKnown: e[3] as unknown[], namesExt: e[5], hisResolved: e[2] as unknown[] };
        return;
      }
      case A.newNodes: {
        if (e.length !== 6 || !Array.isArray(e[2]) || !Array.isArray(e[4])) return;
        const added = addToKnown(e[4] as unknown[]);
        syncOthers(proc, added);
        doOps(proc, e[2] as unknown[]);
        return;
      }
      case A.inSync: {
        if (e.length !== 3 || !(e[1] instanceof Atom)) return;
        const n = e[1];
        g.synced.add(n);
        g.pending.delete(n);
        cancelLocker(proc, n, g.sessions.get(n)?.myTag);
        resetNode(n);
        g.notifySync();
        return;
      }
      case A.lockSet: {
        if ((e.length !== 5 && e.length !== 4) || !(e[1] instanceof Pid)) return;
        if (e.length === 4 || termEquals(g.sessions.get(e[1].node)?.myTag, e[4])) toLocker(proc, msg);
        return;
      }
      default:
        return; // async_del_name, async_del_lock and unknown casts: nothing to do
    }
  };

  const handleCall = (proc: Process, from: From, req: unknown): void => {
    const fromPid = from.elements[0];
    const r = req instanceof Tuple ? req.elements : [req];
    switch (r[0]) {
      case A.register:
        if (r.length === 4 && r[2] instanceof Pid) {
          insertName(proc, r[1], r[2], r[3]);
          return proc.reply(from, A.yes);
        }
        break;
      case A.registerExt:
        if (r.length === 5 && r[2] instanceof Pid) {
          insertName(proc, r[1], r[2], r[3]);
          return proc.reply(from, A.yes);
        }
        break;
      case A.unregister:
        if (r.length === 2) {
          deleteName(proc, r[1]);
          return proc.reply(from, A.ok);
        }
        break;
      case A.setLock:
        if (r.length === 2) return proc.reply(from, setLock(proc, r[1], fromPid));
        break;
      case A.delLock:
        if (r.length === 2) {
          delLock(proc, r[1], fromPid);
          return proc.reply(from, true);
        }
        break;
      case A.getKnown:
        return proc.reply(from, knownList());
      case A.getSynced:
        return proc.reply(from, [...g.synced]);
      case A.getProtocolVersion:
        return proc.reply(from, GLOBAL_PROTOCOL_VERSION);
      default:
        break;
    }
    proc.node.log('warning', `global_name_server: unexpected call ${String(req)}`);
  };

  const handleInfo = (proc: Process, e: readonly unknown[]): void => {
    switch (e[0]) {
      case A.nodeup:
        if (e[1] instanceof Atom) handleNodeup(proc, e[1]);
        return;
      case A.nodedown:
        if (e[1] instanceof Atom) handleNodedown(proc, e[1]);
        return;
      case A.initConnectAck: {
        if (e.length !== 4 || !(e[1] instanceof Atom)) return;
        const s = g.sessions.get(e[1]);
        if (s !== undefined && termEquals(s.myTag, e[2]) && termEquals(s.hisTag, e[3])) return;
        volatileSend(proc, e[1], tuple(A.cancelConnect, me, e[3]));
        restartConnect(proc, e[1], s?.myTag);
        return;
      }
      case A.cancelConnect: {
        if (e.length !== 3 || !(e[1] instanceof Atom)) return;
        const n = e[1];
        const s = g.sessions.get(n);
        if (s === undefined || !termEquals(s.myTag, e[2])) return;
        restartConnect(proc, n, s.myTag);
        return;
      }
      case A.whereis:
        if (e.length === 3 && e[2] instanceof Tuple) proc.reply(e[2] as From, g.where(e[1]) ?? atom('undefined'));
        return;
      case A.down: {
        if (e.length !== 5 || !(e[1] instanceof Ref)) return;
        const key = refKey(g.node, e[1] as Ref);
        const w = g.monitors.get(key);
        if (w === undefined) return;
        g.monitors.delete(key);
        if (w.kind === 'name') {
          const entry = g.names.get(w.name);
          if (entry !== undefined && refKey(g.node, entry.ref) === key) g.names.delete(w.name);
        } else removeHolder(proc, w.resource, (h) => refKey(g.node, h.ref) === key);
        return;
      }
      case A.prepareShutdown:
        if (e.length === 3 && e[1] instanceof Pid) proc.send(e[1], tuple(e[2], A.ok));
        return;
      case A.removeConnection:
        // A peer preventing overlapping partitions asks us to drop our connection to it (OTP 25+).
        if (e.length === 2 && e[1] instanceof Atom && (g.known.has(e[1]) || g.pending.has(e[1]))) {
          proc.node.log('warning', `global: disconnecting ${e[1].name} at its request, to prevent overlapping partitions`);
          handleNodedown(proc, e[1]);
          dist.disconnect(e[1]);
        }
        return;
      default:
        return; // lost_connection: this node does not itself prevent overlapping partitions
    }
  };

  return {
    behavior: 'global_name_server',
    init(proc) {
      g.server = proc.self;
      unsubscribe = dist.monitorNodes((ev: NodeEvent) => {
        if (ev.visible) proc.node.send(proc.self, tuple(ev.kind === 'up' ? A.nodeup : A.nodedown, ev.node));
      });
      for (const n of dist.nodes('visible')) handleNodeup(proc, n);
    },
    handleMessage(msg, proc) {
      if (!(msg instanceof Tuple)) return;
      const e = msg.elements;
      try {
        if (e[0] === A.genCast && e.length === 2) return handleCast(proc, e[1]);
        if (e[0] === A.genCall && e.length === 3 && e[1] instanceof Tuple && e[1].elements[0] instanceof Pid) return handleCall(proc, e[1] as From, e[2]);
        handleInfo(proc, e);
      } catch (err) {
        // A message of an unexpected shape from the network must not take global down.
        proc.node.log('warning', `global_name_server: ignored ${String(msg)}: ${String(err)}`);
      }
    },
    cleanup() {
      unsubscribe?.();
    },
  };
}

async function transAllKnown<T>(g: GlobalState, proc: Process, fn: (nodes: Atom[]) => Promise<T>): Promise<T> {
  const id = tuple(A.global, proc.self);
  let nodes: Atom[];
  for (let times = 0; ; times++) {
    const known = [...g.known.keys()];
    nodes = [g.node.name, ...known];
    const boss = theBoss(nodes);
    if (await setLockOn(proc, id, [boss])) {
      if ((await setLockOn(proc, id, nodes)) && [...g.known.keys()].every((n) => known.includes(n))) break;
      await deleteGlobalLock(proc, id, [boss]);
    }
    // random_sleep: back off a little more each time
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(1000, 100 * (times + 1)))));
  }
  try {
    return await fn(nodes);
  } finally {
    await deleteGlobalLock(proc, id, nodes);
  }
}

/** Runs `fn` in a fresh registrar process (its pid holds the lock), one transaction at a time per node. */
const queues = new WeakMap<Node, Promise<unknown>>();
function inRegistrar<T>(node: Node, fn: (proc: Process) => Promise<T>): Promise<T> {
  const prev = queues.get(node) ?? Promise.resolve();
  const run = prev.then(
    () =>
      new Promise<T>((resolve, reject) => {
        node.spawn({
          behavior: 'global_registrar',
          handleMessage() {},
          init(proc) {
            fn(proc).then(
              (v) => {
                resolve(v);
                proc.stop('normal');
              },
              (err: unknown) => {
                reject(err instanceof Error ? err : new Error(String(err)));
                proc.stop('normal');
              },
            );
          },
        });
      }),
  );
  queues.set(node, run.catch(() => undefined));
  return run;
}

/**
 * Starts `global` on a node started with `startNode` (done by `startNode`
 * for published nodes unless `global: false`): the `global_name_server`
 * process, its locker, and `global:resolve_it/4` for Erlang's conflict
 * resolution. Returns the server's pid; throws when already started.
 *
 * @example
 * ```ts
 * startGlobal(node);
 * ```
 */
export function startGlobal(node: Node): Pid {
  if (states.has(node) || node.whereis(A_GLOBAL_NAME_SERVER) !== undefined) throw new GlobalError('badarg', `global already runs on ${node.name.name}`);
  const g = new GlobalState(node);
  states.set(node, g);
  g.locker = node.spawn(
    lockerHandler({
      self: node.name,
      knownNodes: () => [...g.known.keys()],
      globalLockSet: () => g.locks.has(A.global),
      canSetLock: (id) => g.canSetLock(id),
    }),
  );
  const pid = node.spawn(serverHandler(g), { name: A_GLOBAL_NAME_SERVER });
  exposeRpc(node, 'global', {
    resolve_it: (method: unknown, name: unknown, pid1: unknown, pid2: unknown) => resolveHere(node, method, name, pid1, pid2),
    whereis_name: (name: unknown) => g.where(name) ?? atom('undefined'),
  });
  return pid;
}

/**
 * Registers `pid` as `name` on every node of the cluster (like
 * `global:register_name/3`). Resolves `'yes'`, or `'no'` when the name is
 * taken or the pid already has a global name. `method` resolves a conflict
 * when two partitions that both hold the name meet (default
 * {@link RANDOM_EXIT_NAME}).
 *
 * @example
 * ```ts
 * if ((await globalRegister(node, atom('leader'), self)) === 'no') console.log('someone else leads');
 * ```
 */
export async function globalRegister(node: Node, name: unknown, pid: Pid, method: ExportFun = RANDOM_EXIT_NAME): Promise<'yes' | 'no'> {
  if (!(pid instanceof Pid)) throw new GlobalError('badarg', 'globalRegister needs a pid');
  const g = stateOf(node);
  return inRegistrar(node, (proc) =>
    transAllKnown(g, proc, async (nodes) => {
      if (g.where(name) !== undefined) return 'no' as const;
      for (const e of g.names.values()) if (e.pid.equals(pid)) return 'no' as const;
      await multiCall(proc, nodes, tuple(A.register, name, pid, method));
      return 'yes' as const;
    }),
  );
}

/**
 * Removes a global name everywhere (like `global:unregister_name/1`).
 *
 * @example
 * ```ts
 * await globalUnregister(node, atom('leader'));
 * ```
 */
export async function globalUnregister(node: Node, name: unknown): Promise<void> {
  const g = stateOf(node);
  if (g.where(name) === undefined) return;
  await inRegistrar(node, (proc) =>
    transAllKnown(g, proc, async (nodes) => {
      await multiCall(proc, nodes, tuple(A.unregister, name));
    }),
  );
}

/**
 * The pid registered globally as `name`, or undefined (like
 * `global:whereis_name/1`; reads the local table, never blocks).
 *
 * @example
 * ```ts
 * const pid = globalWhereis(node, atom('erl_srv'));
 * if (pid) await node.call(pid, 'ping');
 * ```
 */
export function globalWhereis(node: Node, name: unknown): Pid | undefined {
  return states.get(node)?.where(name);
}

/**
 * A typed reference to the process registered globally as `name` (the pid
 * it resolves to now), or undefined. Calls through it are checked against
 * protocol `P`, as for any `ServerRef`.
 *
 * @example
 * ```ts
 * type Counter = { call: [Atom<'get'>, number] };
 * const ref = globalServerRef<Counter>(node, atom('counter'));
 * if (ref) console.log(await node.call(ref, atom('get'))); // a number
 * ```
 */
export function globalServerRef<P extends Protocol = AnyProtocol>(node: Node, name: unknown): ServerRef<P> | undefined {
  const pid = globalWhereis(node, name);
  return pid === undefined ? undefined : serverRef<P>(pid);
}

/**
 * Registers `pid` as `name` even when the name is taken, moving it (like
 * `global:re_register_name/3`). Always resolves `'yes'`.
 *
 * @example
 * ```ts
 * await globalReRegister(node, atom('leader'), newLeader);
 * ```
 */
export async function globalReRegister(node: Node, name: unknown, pid: Pid, method: ExportFun = RANDOM_EXIT_NAME): Promise<'yes'> {
  if (!(pid instanceof Pid)) throw new GlobalError('badarg', 'globalReRegister needs a pid');
  const g = stateOf(node);
  return inRegistrar(node, (proc) =>
    transAllKnown(g, proc, async (nodes) => {
      await multiCall(proc, nodes, tuple(A.register, name, pid, method));
      return 'yes' as const;
    }),
  );
}

/**
 * Every global name this node knows (like `global:registered_names/0`).
 *
 * @example
 * ```ts
 * globalRegisteredNames(node); // [atom('kv'), ...]
 * ```
 */
export function globalRegisteredNames(node: Node): unknown[] {
  const g = states.get(node);
  return g === undefined ? [] : [...g.names].map(([n]) => n);
}

/**
 * Resolves once global has synced with every visible node (like
 * `global:sync/0`); rejects with {@link GlobalError} `timeout` after
 * `timeout` ms (default 30000).
 *
 * @example
 * ```ts
 * await globalSync(node);
 * ```
 */
export function globalSync(node: Node, timeout = 30_000): Promise<void> {
  const g = stateOf(node);
  const dist = distributionOf(node);
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (dist.nodes('visible').every((n) => g.synced.has(n))) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new GlobalError('timeout', `global sync did not finish within ${timeout} ms`));
    }, timeout);
    const unsubscribe = dist.monitorNodes(() => check());
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      g.syncWaiters.delete(check);
    };
    g.syncWaiters.add(check);
    check();
  });
}

/**
 * Sends `message` to the process registered globally as `name` (like
 * `global:send/2`); returns its pid. Throws {@link GlobalError} `badarg`
 * when no such name.
 *
 * @example
 * ```ts
 * globalSend(node, atom('logger'), tuple(atom('log'), 'hello'));
 * ```
 */
export function globalSend(node: Node, name: unknown, message: unknown): Pid {
  const pid = globalWhereis(node, name);
  if (pid === undefined) throw new GlobalError('badarg', `no global name ${String(name)}`);
  node.send(pid, message);
  return pid;
}
