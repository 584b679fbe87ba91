/**
 * Exits: links, exit signals and the end of a process. A linked process's
 * exit travels along its links; `exit/2` sends an exit signal directly; a
 * process that traps exits receives `{'EXIT', From, Reason}` instead of
 * dying. {@link Exits.terminate} ends a process and tells its links and
 * watchers.
 * @module
 */
import { diagnostics, type ExitEvent } from './diagnostics.js';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { NoProcessError } from './errors.js';
import type { Kernel } from './kernel.js';
import type { Monitors } from './monitors.js';
import { pidString, type ProcessCore, State } from './process-core.js';
import { type ExitReason, formatReason, kill, killed, noconnection, noproc, normal } from './reasons.js';
import type { Registry } from './registry.js';

const A_EXIT = atom('EXIT');

export class Exits {
  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
    private readonly monitors: Monitors,
  ) {}

  /** Links `core` to `other` (and `other` back when it is a local process). */
  addLink(core: ProcessCore, other: Pid, otherCore: ProcessCore | undefined): void {
    const k = pidString(other);
    if (core.links?.has(k) === true) return;
    (core.links ??= new Map()).set(k, other);
    if (otherCore !== undefined) (otherCore.links ??= new Map()).set(pidString(core.pid), core.pid);
  }

  /** `link(Pid)` from `core`. */
  link(core: ProcessCore, pid: Pid): void {
    const k = this.kernel;
    if (core.state === State.Exited || pid.equals(core.pid)) return;
    if (k.isLocalNode(pid.node)) {
      const other = k.local(pid);
      if (other === undefined) {
        // OTP: a trapping caller gets {'EXIT', Pid, noproc}; any other caller gets a noproc error.
        if (!core.trapExit) throw new NoProcessError(`link: ${pid.describe()} is not alive`);
        k.deliver(core, tuple(A_EXIT, pid, noproc));
        return;
      }
      this.addLink(core, pid, other);
      return;
    }
    if (k.dist === undefined) {
      this.deliverExit(core, pid, noconnection, true, true);
      return;
    }
    const key = pidString(pid);
    if (core.links?.has(key) === true) return;
    (core.links ??= new Map()).set(key, pid);
    k.dist.link(core.pid, pid);
  }

  /** `unlink(Pid)` from `core`. */
  unlink(core: ProcessCore, pid: Pid): void {
    const k = pidString(pid);
    if (core.links?.delete(k) !== true) return;
    if (this.kernel.isLocalNode(pid.node)) this.kernel.local(pid)?.links?.delete(pidString(core.pid));
    else this.kernel.dist?.unlink(core.pid, pid);
  }

  /** `exit(Pid, Reason)` from `from`. */
  exit2(from: Pid, to: Pid, reason: ExitReason): void {
    const r = typeof reason === 'string' ? atom(reason) : reason;
    if (this.kernel.isLocalNode(to.node)) {
      const core = this.kernel.local(to);
      if (core !== undefined) this.deliverExit(core, from, r, false);
      return;
    }
    this.kernel.dist?.exit2(from, to, r);
  }

  /** LINK from a remote pid; answers `noproc` when the local one is dead. */
  remoteLink(from: Pid, to: Pid): void {
    const core = this.kernel.local(to);
    if (core === undefined) {
      this.kernel.dist?.exitLink(to, from, noproc);
      return;
    }
    (core.links ??= new Map()).set(pidString(from), from);
  }

  /** UNLINK_ID from a remote pid. */
  remoteUnlink(from: Pid, to: Pid): void {
    this.kernel.local(to)?.links?.delete(pidString(from));
  }

  /** An exit signal that arrived from another node, along a link or as EXIT2. */
  remoteExit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void {
    const core = this.kernel.local(to);
    if (core !== undefined) this.deliverExit(core, from, reason, viaLink);
  }

  /** The connection to `node` is lost: links to its processes break with `noconnection`. */
  nodeDown(node: Pid['node']): void {
    for (const core of [...this.kernel.procs.values()]) {
      if (core.links === undefined) continue;
      for (const other of [...core.links.values()]) {
        if (other.node === node) this.deliverExit(core, other, noconnection, true);
      }
    }
  }

  /** Takes the first `{'EXIT', Pid, Reason}` from `pid` out of `core`'s mailbox; returns whether there was one and its reason. */
  takeExit(core: ProcessCore, pid: Pid): { found: boolean; reason: ExitReason } {
    let found = false;
    let reason: ExitReason;
    core.mailbox.removeWhere((msg) => {
      if (found || !(msg instanceof Tuple) || msg.elements.length !== 3 || msg.elements[0] !== A_EXIT) return false;
      const from = msg.elements[1];
      if (!(from instanceof Pid) || !from.equals(pid)) return false;
      found = true;
      reason = msg.elements[2];
      return true;
    });
    return { found, reason };
  }

  /**
   * Applies an exit signal to a local process with Erlang's rules.
   * `viaLink`: the signal travelled along a link (the link is gone now).
   */
  deliverExit(core: ProcessCore, from: Pid, reason: ExitReason, viaLink: boolean, noLinkToDrop = false): void {
    if (core.state === State.Exited) return;
    if (viaLink && !noLinkToDrop) {
      if (core.links?.delete(pidString(from)) !== true) return; // no link: nothing to propagate
    }
    if (!viaLink && reason === kill) {
      this.terminate(core, killed);
      return;
    }
    if (core.trapExit) {
      this.kernel.deliver(core, tuple(A_EXIT, from, reason));
      return;
    }
    if (reason === normal) {
      if (!viaLink && from.equals(core.pid)) this.terminate(core, normal);
      return;
    }
    this.terminate(core, reason);
  }

  /**
   * Ends a process: it is gone at once (name, aliases, mailbox), then its
   * links receive the exit signal and its watchers a DOWN.
   */
  terminate(core: ProcessCore, reason: ExitReason): void {
    if (core.state === State.Exited) return;
    const k = this.kernel;
    core.state = State.Exited;
    core.exitReason = reason;
    if (diagnostics.exit.hasSubscribers)
      diagnostics.exit.publish({ node: k.name, pid: core.pid, name: core.name, behavior: core.handler.behavior, reason } satisfies ExitEvent);
    k.procs.delete(core.key);
    this.registry.forget(core);
    core.mailbox.clear();
    if (core.calls !== undefined) {
      const calls = core.calls;
      core.calls = undefined;
      for (const c of calls) if (!c.done) c.cancel(noproc);
    }
    if (core.awaitedBy !== undefined) {
      const waiting = core.awaitedBy;
      core.awaitedBy = undefined;
      for (const c of waiting) if (!c.done) c.down(reason);
    }
    this.monitors.processExited(core);
    if (core.links !== undefined) {
      const links = [...core.links.values()];
      core.links = undefined;
      for (const other of links) {
        if (k.isLocalNode(other.node)) {
          const oc = k.local(other);
          if (oc !== undefined) this.deliverExit(oc, core.pid, reason, true);
        } else k.dist?.exitLink(core.pid, other, reason);
      }
    }
    this.monitors.notifyWatchers(core, reason);
    if (core.abort !== undefined) core.abort.abort(reason);
    if (core.handler.cleanup !== undefined) {
      try {
        core.handler.cleanup(reason, core.proc);
      } catch (err) {
        k.logger.error({ pid: String(core.pid), err }, 'process cleanup threw');
      }
    }
    const waiters = core.exitWaiters;
    core.exitWaiters = undefined;
    if (waiters !== undefined) for (const w of waiters) w(reason);
  }
}
