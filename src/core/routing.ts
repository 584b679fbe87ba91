/**
 * Routing: where a message goes. A pid, an alias, a registered name or
 * `{name, node}` resolves to a local mailbox, a waiting call, or the
 * distribution layer for another node.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple } from '../terms/tuple.js';
import { BadArgumentError } from './errors.js';
import { type Kernel, TWO32 } from './kernel.js';
import { idle, ProcessCore } from './process-core.js';
import { type Destination, ServerRef } from './protocol.js';
import { formatReason } from './reasons.js';
import type { Registry } from './registry.js';

const A_ALIAS = atom('alias');

export class Router {
  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
  ) {}

  /**
   * Sends `message` from `from` (undefined: from outside any process). Returns false only when a local name is unknown.
   * With `priority`, a message to an active priority alias is a priority message (EEP 76); to anything else, an ordinary one.
   */
  send(from: Pid | undefined, to: Destination, message: unknown, priority = false): boolean {
    const k = this.kernel;
    if (to instanceof Pid) {
      if (to.node === k.name) {
        if (to.creation !== k.creation) return true;
        this.deliverLocal(to, k.procs.get(to.serial * TWO32 + to.id), message);
        return true;
      }
      k.dist?.send(from, to, message);
      return true;
    }
    if (typeof to === 'string' || to instanceof Atom) {
      const core = this.registry.names.get(typeof to === 'string' ? atom(to) : to);
      if (core === undefined) return false;
      this.deliverLocal(core.pid, core, message);
      return true;
    }
    if (to instanceof Ref) {
      if (to.node === k.name) {
        const target = this.registry.aliases.get(k.refKey(to));
        if (target === undefined) return true;
        if (target instanceof ProcessCore) {
          if (priority && this.registry.priorityAliases.has(k.refKey(to))) k.deliverPriority(target, message);
          else k.deliver(target, message);
        } else target.deliver(message);
        return true;
      }
      k.dist?.sendToAlias(from ?? k.outside.pid, to, message, priority);
      return true;
    }
    if (to instanceof ServerRef) return this.send(from, to.dest, message, priority);
    const [name, node] = this.remoteName(to);
    if (node === k.name) return this.send(from, name, message);
    k.dist?.sendToName(from ?? k.outside.pid, name, node, message);
    return true;
  }

  /**
   * Sends `message` from `from` to `to`, from an event that no process's run is handling (a
   * socket's data): a local process with nothing to do (process-core.ts's `idle`) handles it now,
   * as the scheduler would have next, without a turn of the scheduler (Kernel.deliverAndRun);
   * anything else goes as {@link Router.send} sends it.
   */
  sendNow(from: Pid, to: Pid, message: unknown): void {
    const k = this.kernel;
    const core = to.node === k.name && to.creation === k.creation ? k.procs.get(to.serial * TWO32 + to.id) : undefined;
    // A tuple may be a `{Tag, Reply}` that completes a call (deliverLocal): it goes the ordinary way.
    if (core !== undefined && idle(core) && !(message instanceof Tuple)) k.deliverAndRun(core, message);
    else this.send(from, to, message);
  }

  /**
   * Delivers a message that arrived for local pid `to` (`core`: its living
   * process, if any). A `{[alias | Ref], Reply}` whose alias belongs to a
   * call `to` is waiting on completes that call, wherever it was sent from:
   * what OTP's `gen:call` receive does with a reply sent to the caller's pid
   * (`Pid ! {Tag, Reply}` with `From = {Pid, Tag}`). A late reply, whose
   * call (made here) has finished, is discarded, never left as a stray
   * message. Anything else goes to the mailbox.
   */
  deliverLocal(to: Pid, core: ProcessCore | undefined, message: unknown): void {
    if (message instanceof Tuple && message.elements.length === 2) {
      const tag = message.elements[0];
      if (tag instanceof ImproperList && tag.tail instanceof Ref && tag.items.length === 1 && tag.items[0] === A_ALIAS) {
        const key = this.kernel.refKey(tag.tail);
        const waiter = this.registry.aliases.get(key);
        if (waiter === undefined) {
          if (typeof key === 'number') return; // a reply to a call this node made, which has finished
        } else if (!(waiter instanceof ProcessCore) && waiter.caller.pid.equals(to)) {
          waiter.deliver(message);
          return;
        }
      }
    }
    if (core !== undefined) this.kernel.deliver(core, message);
  }

  /** The last `{name, node}` object resolved, as given (strings or atoms), and its atoms. */
  private lastName: unknown;
  private lastNode: unknown;
  private lastPair: readonly [Atom, Atom] | undefined;

  /**
   * `{name, node}` given as a 2-tuple of atoms or an object; throws BadArgumentError for anything else.
   * A call resolves its destination three times (local or not, its monitor, its send): the last object's
   * atoms are kept, so the repeats (and a caller that calls the same server again) cost two comparisons.
   */
  remoteName(to: Destination): readonly [Atom, Atom] {
    if (to instanceof Tuple) {
      const [name, node] = to.elements;
      if (to.elements.length === 2 && name instanceof Atom && node instanceof Atom) return [name, node];
    } else if (typeof to === 'object' && to !== null && 'name' in to && 'node' in to) {
      const name = to.name;
      const node = to.node;
      const last = this.lastPair;
      if (last !== undefined && name === this.lastName && node === this.lastNode) return last;
      const pair = [this.kernel.atom(name), this.kernel.atom(node)] as const;
      this.lastName = name;
      this.lastNode = node;
      this.lastPair = pair;
      return pair;
    }
    throw new BadArgumentError(`not a destination: ${formatReason(to)}`);
  }

  /** The local process `dest` names (null when it names a local process that does not exist); undefined for a remote destination. */
  localTarget(dest: Destination): ProcessCore | null | undefined {
    const k = this.kernel;
    if (dest instanceof Pid) {
      if (dest.node !== k.name) return undefined;
      return k.local(dest) ?? null;
    }
    if (typeof dest === 'string' || dest instanceof Atom) return this.registry.lookup(dest) ?? null;
    if (dest instanceof Ref || dest instanceof ServerRef) return undefined;
    const [name, node] = this.remoteName(dest);
    return node === k.name ? (this.registry.names.get(name) ?? null) : undefined;
  }
}
