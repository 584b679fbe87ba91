/**
 * Remote signals: what the distribution layer calls (`node.remote`) when a
 * signal arrives from another node. Each applies Erlang's semantics to the
 * local processes concerned.
 * @module
 */
import { type ConnectionEvent, diagnostics } from './diagnostics.js';
import { type Atom, atom } from '../terms/atom.js';
import { ImproperList } from '../terms/improper-list.js';
import { tuple } from '../terms/tuple.js';
import { type Pid, Ref } from '../terms/identifiers.js';
import { ProcessCore } from './process-core.js';
import type { RemoteSignals } from './distribution.js';
import type { Runtime } from './runtime.js';
import type { ExitReason } from './reasons.js';

const ALIAS_ITEMS: readonly Atom[] = Object.freeze([atom('alias')]);

export class RemoteSignalsImpl implements RemoteSignals {
  constructor(private readonly rt: Runtime) {}
  send(to: Pid, message: unknown): void {
    if (to.node !== this.rt.kernel.name || to.creation !== this.rt.kernel.creation) return;
    this.rt.router.deliverLocal(to, this.rt.kernel.local(to), message);
  }
  sendToName(_from: Pid, name: Atom, message: unknown): boolean {
    const core = this.rt.registry.names.get(name);
    if (core === undefined) return false;
    this.rt.router.deliverLocal(core.pid, core, message);
    return true;
  }
  sendToAlias(alias: Ref, message: unknown, priority = false): void {
    const k = this.rt.kernel;
    if (alias.node !== k.name || alias.creation !== k.creation) return;
    this.rt.router.send(undefined, alias, message, priority);
  }
  replyToAlias(alias: Ref, reply: unknown): void {
    const k = this.rt.kernel;
    if (alias.node !== k.name || alias.creation !== k.creation) return;
    const target = this.rt.registry.aliases.get(k.refKey(alias));
    if (target === undefined) return;
    if (target instanceof ProcessCore) k.deliver(target, tuple(new ImproperList(ALIAS_ITEMS, alias), reply));
    else target.resolveWith(reply);
  }
  exitVia(from: Pid, to: Ref | Atom, reason: ExitReason): void {
    let core: ProcessCore | undefined;
    if (to instanceof Ref) {
      const k = this.rt.kernel;
      if (to.node !== k.name || to.creation !== k.creation) return;
      const target = this.rt.registry.aliases.get(k.refKey(to));
      if (target instanceof ProcessCore) core = target;
    } else core = this.rt.registry.names.get(to);
    if (core !== undefined) this.rt.exits.remoteExit(from, core.pid, reason, false);
  }
  link(from: Pid, to: Pid): void {
    this.rt.exits.remoteLink(from, to);
  }
  unlink(from: Pid, to: Pid): void {
    this.rt.exits.remoteUnlink(from, to);
  }
  exitLink(from: Pid, to: Pid, reason: ExitReason): void {
    this.rt.exits.remoteExit(from, to, reason, true);
  }
  exit2(from: Pid, to: Pid, reason: ExitReason): void {
    this.rt.exits.remoteExit(from, to, reason, false);
  }
  monitor(watcher: Pid, target: Pid | Atom, ref: Ref): void {
    this.rt.monitors.remoteMonitor(watcher, target, ref);
  }
  demonitor(_watcher: Pid, _target: Pid | Atom, ref: Ref): void {
    this.rt.monitors.remoteDemonitor(ref);
  }
  monitorExit(_target: Pid | Atom, _watcher: Pid, ref: Ref, reason: ExitReason): void {
    this.rt.monitors.remoteMonitorExit(ref, reason);
  }
  nodeUp(node: Atom): void {
    if (diagnostics.connectionUp.hasSubscribers) diagnostics.connectionUp.publish({ node: this.rt.kernel.name, peer: node } satisfies ConnectionEvent);
  }
  nodeDown(node: Atom, reason: ExitReason, cause?: Error): void {
    if (diagnostics.connectionDown.hasSubscribers)
      diagnostics.connectionDown.publish({ node: this.rt.kernel.name, peer: node, reason, ...(cause === undefined ? {} : { cause }) } satisfies ConnectionEvent);
    this.rt.exits.nodeDown(node);
    this.rt.monitors.nodeDown(node, cause);
  }
}
