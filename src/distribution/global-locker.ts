/**
 * `global`'s locker: before two partitions exchange their global names,
 * their lockers take the lock `{global, [LockerA, LockerB]}` (the two
 * locker pids in Erlang's term order) on the boss node (the greatest known
 * node name), on both nodes, and on every known node, then tell each other
 * with `lock_set` casts to the peer's `global_name_server`. The name
 * servers then exchange names; when they have settled, the server sends the
 * locker `{cancel, Node, Tag, Fun}` and the lock is deleted everywhere.
 *
 * This follows OTP 25's `global.erl` (protocol version 8): the same
 * messages, lock ids and order of lock acquisition, so a Beamline locker
 * and an Erlang locker agree. The locker is an async loop over a
 * {@link SelectiveMailbox}, as OTP's is a loop of selective receives.
 * @module
 */
import type { Process, ProcessHandler } from '../core/process.js';
import { termEquals } from '../etf/encoder.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { MailboxClosed, SelectiveMailbox, TIMEOUT } from './selective-receive.js';

const A_GLOBAL = atom('global');
const A_LOCK_SET = atom('lock_set');
const A_LOCK_IS_SET = atom('lock_is_set');
const A_HIS_THE_LOCKER = atom('his_the_locker');
const A_CANCEL = atom('cancel');
const A_SET_LOCK = atom('set_lock');
const A_DEL_LOCK = atom('del_lock');
const A_GEN_CAST = atom('$gen_cast');
export const A_GLOBAL_NAME_SERVER = atom('global_name_server');

/** What the locker needs from the name server it belongs to. */
export interface LockerHost {
  /** This node's name. */
  readonly self: Atom;
  /** Nodes global has synced with (the locker's `known`). */
  knownNodes(): Atom[];
  /** True when the lock `global` is held here (a registration in progress). */
  globalLockSet(): boolean;
  /** True when a lock with this id could be set here now. */
  canSetLock(id: Tuple): boolean;
}

/** A peer locker we may lock with. */
interface Him {
  readonly node: Atom;
  readonly locker: Pid;
  readonly vsn: number;
  readonly myTag: unknown;
  readonly hisTag: unknown;
}

/**
 * Erlang's term order of pids (measured on OTP 25): by serial, then number,
 * then node name, then creation. Lock ids hold sorted pids, so both lockers
 * must sort alike.
 */
export function comparePids(a: Pid, b: Pid): number {
  if (a.serial !== b.serial) return a.serial < b.serial ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  if (a.node !== b.node) return a.node.name < b.node.name ? -1 : 1;
  return a.creation === b.creation ? 0 : a.creation < b.creation ? -1 : 1;
}

/** The greatest node name: `global`'s boss. */
export function theBoss(nodes: readonly Atom[]): Atom {
  let boss = nodes[0] as Atom;
  for (const n of nodes) if (n.name > boss.name) boss = n;
  return boss;
}

/** Calls `{set_lock, Id}` / `{del_lock, Id}` on the name servers of `nodes` (gen_server:multi_call). */
export async function multiCall(proc: Process, nodes: readonly Atom[], request: unknown): Promise<[Atom, unknown][]> {
  const replies = await Promise.allSettled(nodes.map((n) => proc.call(tuple(A_GLOBAL_NAME_SERVER, n), request, { timeout: 15_000 })));
  const out: [Atom, unknown][] = [];
  replies.forEach((r, i) => {
    if (r.status === 'fulfilled') out.push([nodes[i] as Atom, r.value]); // failed nodes are bad nodes, ignored as in OTP
  });
  return out;
}

/** `global:set_lock(Id, Nodes, 0)`: all or nothing, no retries. */
export async function setLockOn(proc: Process, id: Tuple, nodes: readonly Atom[]): Promise<boolean> {
  if (nodes.length === 0) return true;
  const replies = await multiCall(proc, nodes, tuple(A_SET_LOCK, id));
  if (replies.every(([, r]) => r === true)) return true;
  const granted = replies.filter(([, r]) => r === true).map(([n]) => n);
  if (granted.length > 0) await multiCall(proc, granted, tuple(A_DEL_LOCK, id));
  return false;
}

/** `global:del_lock(Id, Nodes)`. */
export async function delLockOn(proc: Process, id: Tuple, nodes: readonly Atom[]): Promise<void> {
  if (nodes.length > 0) await multiCall(proc, nodes, tuple(A_DEL_LOCK, id));
}

/** Deletes the lock on every node but the boss, then on the boss (`delete_global_lock`). */
export async function deleteGlobalLock(proc: Process, id: Tuple, nodes: readonly Atom[]): Promise<void> {
  if (nodes.length === 0) return;
  const boss = theBoss(nodes);
  await delLockOn(proc, id, nodes.filter((n) => n !== boss));
  await delLockOn(proc, id, [boss]);
}

function without(list: readonly Atom[], remove: readonly Atom[]): Atom[] {
  return list.filter((n) => !remove.includes(n));
}

/** The locker process's handler; its loop runs until the process exits. */
export function lockerHandler(host: LockerHost): ProcessHandler {
  const mb = new SelectiveMailbox();
  let hims: Him[] = [];
  let justSynced = false;
  let fresh = false;

  const known = (): Atom[] => host.knownNodes();

  const removeHim = (node: Atom, tag: unknown): void => {
    hims = hims.filter((h) => !(h.node === node && termEquals(h.myTag, tag)));
  };

  const lockIdWith = (proc: Process, hisLocker: Pid): Tuple => tuple(A_GLOBAL, [proc.self, hisLocker].sort(comparePids));

  const sendLockSet = (proc: Process, isSet: boolean, hisLocker: Pid, vsn: number, hisTag: unknown): void => {
    const k = known();
    const msg = vsn < 8 ? tuple(A_LOCK_SET, proc.self, isSet, k) : tuple(A_LOCK_SET, proc.self, isSet, k, hisTag);
    if (vsn < 6) proc.send(hisLocker, msg);
    else proc.send(tuple(A_GLOBAL_NAME_SERVER, hisLocker.node), tuple(A_GEN_CAST, msg));
  };

  const lockNodesSafely = async (proc: Process, id: Tuple, extra: readonly Atom[]): Promise<boolean> => {
    const first = [theBoss([host.self, ...known()])];
    if (!(first[0] === host.self || host.canSetLock(id))) return false;
    if (!(await setLockOn(proc, id, first))) return false;
    const second = without([host.self, ...extra], first);
    if (!(await setLockOn(proc, id, second))) {
      await delLockOn(proc, id, first);
      return false;
    }
    if (!(await setLockOn(proc, id, without(known(), first)))) {
      await delLockOn(proc, id, [...first, ...second]);
      return false;
    }
    return true;
  };

  const lockIsSetAtServer = (proc: Process, node: Atom, myTag: unknown, id: Tuple): void => {
    proc.send(A_GLOBAL_NAME_SERVER, tuple(A_GEN_CAST, tuple(A_LOCK_IS_SET, node, myTag, id)));
  };

  /** Waits for the server's cancel after a lock was set with `node`, then deletes the lock. */
  const waitCancelLock = async (proc: Process, node: Atom, id: Tuple, myTag: unknown, nodes: readonly Atom[]): Promise<void> => {
    const fn = await mb.receive((m) => {
      if (m instanceof Tuple && m.elements.length === 4 && m.elements[0] === A_CANCEL && m.elements[1] === node && termEquals(m.elements[2], myTag)) {
        return { run: m.elements[3] };
      }
      return undefined;
    });
    if (fn !== TIMEOUT && typeof fn.run === 'function') (fn.run as () => void)();
    await deleteGlobalLock(proc, id, nodes);
  };

  /** After our lock_set true to `him`: wait for his answer. */
  const lockIsSet = async (proc: Process, him: Him, nodes: Atom[], id: Tuple): Promise<void> => {
    for (;;) {
      const m = await mb.receive((x) => {
        if (!(x instanceof Tuple)) return undefined;
        const e = x.elements;
        if (e[0] === A_LOCK_SET && (e.length === 4 || e.length === 5) && e[1] instanceof Pid && e[1].node === him.node) return x;
        if (e[0] === A_CANCEL && e.length === 4 && e[1] === him.node && termEquals(e[2], him.myTag)) return x;
        return undefined;
      });
      if (m === TIMEOUT) continue;
      const e = m.elements;
      if (e[0] === A_CANCEL) {
        if (typeof e[3] === 'function') (e[3] as () => void)();
        await deleteGlobalLock(proc, id, nodes);
        removeHim(him.node, him.myTag);
        return;
      }
      const tagOk = e.length === 4 || termEquals(e[4], him.myTag);
      if (!tagOk) continue; // an answer to an older attempt
      if (e[2] === true) {
        lockIsSetAtServer(proc, him.node, him.myTag, id);
        await waitCancelLock(proc, him.node, id, him.myTag, nodes);
        justSynced = true;
        hims = hims.filter((h) => h !== him);
        return;
      }
      await deleteGlobalLock(proc, id, nodes);
      return;
    }
  };

  const selectNode = async (proc: Process): Promise<void> => {
    const k = known();
    hims = hims.filter((h) => !k.includes(h.node));
    if (hims.length === 0) return;
    const him = hims[Math.floor(Math.random() * hims.length)] as Him;
    const id = lockIdWith(proc, him.locker);
    if (!(await lockNodesSafely(proc, id, [him.node]))) return;
    const nodes = [host.self, him.node, ...known()];
    sendLockSet(proc, true, him.locker, him.vsn, him.hisTag);
    await lockIsSet(proc, him, nodes, id);
  };

  /** A peer locker's `lock_set true` that we did not ask for: lock on our side too and answer. */
  const answerLockSet = async (proc: Process, hisLocker: Pid, myTag: unknown | undefined): Promise<void> => {
    const him = hims.find((h) => h.node === hisLocker.node && (myTag === undefined || termEquals(h.myTag, myTag)));
    if (him === undefined) {
      sendLockSet(proc, false, hisLocker, 5, 0);
      return;
    }
    const id = lockIdWith(proc, hisLocker);
    const isSet = await lockNodesSafely(proc, id, []);
    sendLockSet(proc, isSet, hisLocker, him.vsn, him.hisTag);
    if (!isSet) {
      justSynced = false;
      return;
    }
    lockIsSetAtServer(proc, him.node, him.myTag, id);
    await waitCancelLock(proc, him.node, id, him.myTag, [host.self, ...known()]);
    justSynced = true;
    removeHim(him.node, him.myTag);
  };

  const handle = async (proc: Process, m: unknown): Promise<void> => {
    if (!(m instanceof Tuple)) return;
    const e = m.elements;
    if (e[0] === A_HIS_THE_LOCKER && e.length === 5 && e[1] instanceof Pid && e[2] instanceof Tuple) {
      const vsn = e[2].elements[0];
      hims.push({ node: e[1].node, locker: e[1], vsn: typeof vsn === 'number' ? vsn : 8, hisTag: e[3], myTag: e[4] });
      fresh = true;
      return;
    }
    if (e[0] === A_CANCEL && e.length === 4 && e[1] instanceof Atom) {
      if (typeof e[3] === 'function') (e[3] as () => void)();
      removeHim(e[1], e[2]);
      return;
    }
    if (e[0] === A_LOCK_SET && (e.length === 4 || e.length === 5) && e[1] instanceof Pid && e[2] === true) {
      await answerLockSet(proc, e[1], e.length === 5 ? e[4] : undefined);
    }
  };

  const run = async (proc: Process): Promise<void> => {
    for (;;) {
      let timeout: number | undefined;
      if (hims.length === 0) timeout = undefined;
      else if (justSynced || fresh) timeout = 0;
      else {
        const n = known().length;
        timeout = n === 0 ? 200 : Math.min(1000 + 100 * n, 3000);
      }
      const m = await mb.receive((x) => x, timeout);
      if (m === TIMEOUT) {
        justSynced = false;
        fresh = false;
        if (!host.globalLockSet()) await selectNode(proc);
        continue;
      }
      await handle(proc, m);
    }
  };

  return {
    behavior: 'global_locker',
    init(proc) {
      run(proc).catch((err: unknown) => {
        if (err instanceof MailboxClosed) return;
        proc.node.log('error', `global locker failed: ${String(err)}`);
        proc.node.exit(proc.self, 'kill');
      });
    },
    handleMessage(msg) {
      mb.put(msg);
    },
    cleanup() {
      mb.close();
    },
  };
}
