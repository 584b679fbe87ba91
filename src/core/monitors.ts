/**
 * Monitors: process monitors (`{'DOWN', Ref, process, Target, Reason}`) held
 * by local processes or calls on local or remote targets, monitors remote
 * watchers hold on local processes, and node monitors (`{nodedown, Node}`).
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { AliasTable } from './alias-table.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BadArgumentError } from './errors.js';
import type { Kernel } from './kernel.js';
import { type MonitorRecord, type ProcessCore, State } from './process-core.js';
import { type Destination, ServerRef } from './protocol.js';
import { type ExitReason, noconnection, noproc } from './reasons.js';
import type { Registry } from './registry.js';
import type { Router } from './routing.js';

const A_DOWN = atom('DOWN');
const A_PROCESS = atom('process');
const A_NODEDOWN = atom('nodedown');

export class Monitors {
  /** Monitors whose watcher is local, by ref key (a call's monitor comes and goes with the call: no Map churn). */
  readonly local = new AliasTable<MonitorRecord>();
  /** Monitors held by remote watchers on local processes, by ref key (a remote caller's calls set them up and take them down). */
  readonly remote = new AliasTable<MonitorRecord>();
  private readonly nodeWatchers = new Map<Atom, ProcessCore[]>();

  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
    private readonly router: Router,
  ) {}

  get size(): number {
    return this.local.size + this.remote.size;
  }

  private downMessage(m: MonitorRecord, reason: ExitReason): Tuple {
    const target = m.name !== undefined ? tuple(m.name, m.targetNode) : m.target;
    return tuple(A_DOWN, m.ref, A_PROCESS, target, reason);
  }

  /** Delivers the DOWN of monitor `m` (its target exited) to its watcher. */
  fireDown(m: MonitorRecord, reason: ExitReason, cause?: Error): void {
    if (m.watcherCore !== undefined || m.onDown !== undefined) {
      if (this.local.get(m.key) !== m) return; // already removed
      this.local.delete(m.key);
      m.watcherCore?.monitors?.delete(m.key);
      if (m.onDown !== undefined) m.onDown.down(reason, cause);
      else if (m.watcherCore !== undefined) this.kernel.deliver(m.watcherCore, this.downMessage(m, reason));
      return;
    }
    // Remote watcher.
    if (this.remote.get(m.key) !== m) return;
    this.remote.delete(m.key);
    this.kernel.dist?.monitorExit(m.name ?? (m.target as Pid), m.watcher, m.ref, reason);
  }

  /** Creates a monitor held by `watcher` on `dest`. Fires `noproc` at once if the local target is dead. */
  create(
    watcher: ProcessCore,
    dest: Destination,
    ref: Ref,
    key: number | string,
    onDown: { down(reason: ExitReason, cause?: Error): void } | undefined,
  ): MonitorRecord {
    const k = this.kernel;
    let target: Pid | undefined;
    let name: Atom | undefined;
    let targetNode: Atom;
    if (dest instanceof ServerRef) return this.create(watcher, dest.dest, ref, key, onDown);
    if (dest instanceof Pid) {
      target = dest;
      targetNode = dest.node;
    } else if (typeof dest === 'string' || dest instanceof Atom) {
      name = k.atom(dest);
      targetNode = k.name;
    } else if (dest instanceof Ref) {
      throw new BadArgumentError('cannot monitor or call an alias');
    } else {
      [name, targetNode] = this.router.remoteName(dest);
    }
    const isWatcherProc = watcher !== k.outside;
    const m: MonitorRecord = {
      ref,
      key,
      watcher: watcher.pid,
      watcherCore: isWatcherProc ? watcher : undefined,
      onDown,
      target,
      name,
      targetNode,
      targetCore: undefined,
    };
    this.local.set(key, m);
    if (isWatcherProc) (watcher.monitors ??= AliasTable.forProcess()).set(key, m);
    if (k.isLocalNode(targetNode)) {
      const core = target !== undefined ? k.local(target) : this.registry.names.get(name as Atom);
      if (core === undefined) {
        this.fireDown(m, noproc);
        return m;
      }
      m.targetCore = core;
      (core.monitoredBy ??= AliasTable.forProcess()).set(key, m);
      return m;
    }
    if (k.dist === undefined || !k.dist.ensureConnected(targetNode)) {
      this.fireDown(m, noconnection);
      return m;
    }
    k.dist.monitor(watcher.pid, target ?? (name as Atom), targetNode, ref);
    return m;
  }

  /** Removes a monitor held by a local watcher without delivering anything. */
  drop(m: MonitorRecord): void {
    if (this.local.get(m.key) !== m) return;
    this.local.delete(m.key);
    m.watcherCore?.monitors?.delete(m.key);
    if (m.targetCore !== undefined) m.targetCore.monitoredBy?.delete(m.key);
    else if (!this.kernel.isLocalNode(m.targetNode))
      this.kernel.dist?.demonitor(m.watcher, m.target ?? (m.name as Atom), m.targetNode, m.ref);
  }

  /** `monitor(process, Target)` from `core`. */
  monitor(core: ProcessCore, target: Destination): Ref {
    const ref = this.kernel.makeRef();
    if (core.state === State.Exited) return ref;
    this.create(core, target, ref, this.kernel.refKey(ref), undefined);
    return ref;
  }

  /** `demonitor(Ref, [flush])` from `core`. */
  demonitor(core: ProcessCore, ref: Ref, flush: boolean): boolean {
    const key = this.kernel.refKey(ref);
    const m = core.monitors?.get(key);
    if (m !== undefined) this.drop(m);
    if (flush) {
      core.mailbox.removeWhere(
        (msg) => msg instanceof Tuple && msg.elements[0] === A_DOWN && msg.elements[1] instanceof Ref && msg.elements[1].equals(ref),
      );
    }
    return m !== undefined;
  }

  /** `monitor_node(Node, true)` from `core`. */
  monitorNode(core: ProcessCore, node: string | Atom): void {
    const k = this.kernel;
    const n = k.atom(node);
    if (core.state === State.Exited) return;
    if (k.isLocalNode(n)) return;
    if (k.dist === undefined || !k.dist.ensureConnected(n)) {
      k.deliver(core, tuple(A_NODEDOWN, n));
      return;
    }
    let list = this.nodeWatchers.get(n);
    if (list === undefined) this.nodeWatchers.set(n, (list = []));
    list.push(core);
    (core.nodeMonitors ??= []).push(n);
  }

  /** `monitor_node(Node, false)` from `core`: removes one node monitor. */
  demonitorNode(core: ProcessCore, node: string | Atom): void {
    const n = this.kernel.atom(node);
    const i = core.nodeMonitors?.indexOf(n) ?? -1;
    if (i < 0) return;
    core.nodeMonitors?.splice(i, 1);
    this.removeNodeWatcher(n, core);
  }

  private removeNodeWatcher(n: Atom, core: ProcessCore): void {
    const list = this.nodeWatchers.get(n);
    if (list === undefined) return;
    const i = list.indexOf(core);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.nodeWatchers.delete(n);
  }

  /** A process exited: the monitors it held are dropped, its watchers get a DOWN. */
  processExited(core: ProcessCore): void {
    if (core.monitors !== undefined) {
      for (const m of core.monitors.values()) this.drop(m);
      core.monitors = undefined;
    }
    if (core.nodeMonitors !== undefined) {
      for (const n of core.nodeMonitors) this.removeNodeWatcher(n, core);
      core.nodeMonitors = undefined;
    }
  }

  /** The DOWNs of a process that exited, to its watchers (after its links were told). */
  notifyWatchers(core: ProcessCore, reason: ExitReason): void {
    if (core.monitoredBy === undefined) return;
    const watchers = [...core.monitoredBy.values()];
    core.monitoredBy = undefined;
    for (const m of watchers) this.fireDown(m, reason);
  }

  /** MONITOR_P from a remote watcher on a local pid or name. */
  remoteMonitor(watcher: Pid, target: Pid | Atom, ref: Ref): void {
    const k = this.kernel;
    const core = target instanceof Pid ? k.local(target) : this.registry.names.get(target);
    const key = k.refKey(ref);
    const m: MonitorRecord = {
      ref,
      key,
      watcher,
      watcherCore: undefined,
      onDown: undefined,
      target: target instanceof Pid ? target : core?.pid,
      name: target instanceof Atom ? target : undefined,
      targetNode: k.name,
      targetCore: core,
    };
    if (core === undefined) {
      k.dist?.monitorExit(target, watcher, ref, noproc);
      return;
    }
    this.remote.set(key, m);
    (core.monitoredBy ??= AliasTable.forProcess()).set(key, m);
  }

  /** DEMONITOR_P from a remote watcher. */
  remoteDemonitor(ref: Ref): void {
    const key = this.kernel.refKey(ref);
    const m = this.remote.get(key);
    if (m === undefined) return;
    this.remote.delete(key);
    m.targetCore?.monitoredBy?.delete(key);
  }

  /** MONITOR_P_EXIT: a remote target of a local monitor exited. */
  remoteMonitorExit(ref: Ref, reason: ExitReason): void {
    const m = this.local.get(this.kernel.refKey(ref));
    if (m !== undefined) this.fireDown(m, reason);
  }

  /** The connection to `node` is lost: monitors through it fire `noconnection`, node monitors `nodedown`. */
  nodeDown(node: Atom, cause?: Error): void {
    for (const m of [...this.local.values()]) if (m.targetNode === node) this.fireDown(m, noconnection, cause);
    for (const m of [...this.remote.values()]) {
      if (m.watcher.node === node) {
        this.remote.delete(m.key);
        m.targetCore?.monitoredBy?.delete(m.key);
      }
    }
    const watchers = this.nodeWatchers.get(node);
    if (watchers !== undefined) {
      this.nodeWatchers.delete(node);
      for (const core of watchers) {
        const i = core.nodeMonitors?.indexOf(node) ?? -1;
        if (i >= 0) core.nodeMonitors?.splice(i, 1);
        this.kernel.deliver(core, tuple(A_NODEDOWN, node));
      }
    }
  }
}
