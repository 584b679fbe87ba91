/**
 * Registry: the node's registered names and its aliases. A name maps to one
 * living process; an alias (a reference) routes to a process's mailbox or to
 * a call waiting for its reply. A priority alias (EEP 76) also takes
 * priority messages, which skip ahead of the ordinary ones in the mailbox.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Ref } from '../terms/identifiers.js';
import { AliasTable } from './alias-table.js';
import { BadArgumentError, NameTakenError } from './errors.js';
import type { Kernel } from './kernel.js';
import { type ProcessCore, State } from './process-core.js';

/** A call waiting on its alias for `{Tag, Reply}` (see calls.ts). */
export interface ReplyWaiter {
  readonly done: boolean;
  /** The calling process (the node's outside identity for calls made from outside any process). */
  readonly caller: ProcessCore;
  /** The message `{Tag, Reply}` arrived through the alias. */
  deliver(message: unknown): void;
  /** The reply value itself (a local server answered). */
  resolveWith(reply: unknown): void;
  fail(err: Error): void;
}

/** Options of `Process.alias`. */
export interface AliasOptions {
  /**
   * Accept priority messages (EEP 76, Erlang's `alias([priority])`): a message
   * sent to this alias with `sendPriority` (or, from OTP 28 or later,
   * `erlang:send(Alias, Msg, [priority])`) is received after the priority
   * messages already queued and before every ordinary message. Default false.
   */
  readonly priority?: boolean;
}

/** What an alias routes to: a process's mailbox, or a call waiting for its reply. */
export type AliasTarget = ProcessCore | ReplyWaiter;

export class Registry {
  readonly names = new Map<Atom, ProcessCore>();
  readonly aliases = new AliasTable<AliasTarget>();
  /** Keys of the active aliases made with `{ priority: true }`. */
  readonly priorityAliases = new Set<number | string>();

  constructor(private readonly kernel: Kernel) {}

  /** The process registered under `name`. */
  lookup(name: string | Atom): ProcessCore | undefined {
    return this.names.get(this.kernel.atom(name));
  }

  register(core: ProcessCore, name: string | Atom): void {
    const a = this.kernel.atom(name);
    if (core.state === State.Exited) throw new BadArgumentError(`cannot register ${a.name}: process is not alive`);
    if (a.name === 'undefined') throw new BadArgumentError('the name undefined cannot be registered');
    if (this.names.has(a)) throw new NameTakenError(a.name, `name ${a.name} is already registered`);
    if (core.name !== undefined)
      throw new NameTakenError(a.name, `process ${String(core.pid)} is already registered as ${core.name.name}`);
    this.names.set(a, core);
    core.name = a;
  }

  unregister(core: ProcessCore): void {
    if (core.name === undefined) return;
    this.names.delete(core.name);
    core.name = undefined;
  }

  alias(core: ProcessCore, priority = false): Ref {
    const ref = this.kernel.makeRef();
    const key = this.kernel.refKey(ref);
    if (core.state !== State.Exited) {
      this.aliases.set(key, core);
      (core.aliases ??= new Set()).add(key);
      if (priority) this.priorityAliases.add(key);
    }
    return ref;
  }

  unalias(core: ProcessCore, alias: Ref): boolean {
    const key = this.kernel.refKey(alias);
    if (core.aliases?.delete(key) !== true) return false;
    this.aliases.delete(key);
    this.priorityAliases.delete(key);
    return true;
  }

  /** A process exited: its name and aliases are gone. */
  forget(core: ProcessCore): void {
    if (core.name !== undefined) this.names.delete(core.name);
    if (core.aliases !== undefined)
      for (const k of core.aliases) {
        this.aliases.delete(k);
        this.priorityAliases.delete(k);
      }
  }
}
