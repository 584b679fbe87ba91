/**
 * Kernel: what every part of the runtime shares. The node's identity (name,
 * creation), the table of living processes, pids and references, the
 * scheduler, the logger, the attached distribution, and the one primitive
 * all delivery goes through: putting a signal in a process's mailbox.
 *
 * The other parts (registry, routing, monitors, exits, calls, timers, the
 * run loop, stop) are small classes built on a kernel; node.ts wires them.
 * @module
 */
import type { NodeLogger } from './logger.js';
import { randomInt } from 'node:crypto';
import { type Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import type { Distribution } from './distribution.js';
import { BadArgumentError } from './errors.js';
import { type CoreRunner, ProcessCore, State } from './process-core.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

/** 2^32: pids and keys combine a serial and a 32-bit id. */
export const TWO32 = 4294967296;


/** What a kernel is made from (the node's options, resolved). */
export interface KernelOptions {
  readonly name: string;
  readonly creation: number | undefined;
  readonly scheduler: SchedulerOptions | undefined;
  readonly logger: NodeLogger;
}

export class Kernel {
  /** The node's name as an atom. */
  readonly name: Atom;
  /** The node's creation, put in every pid and reference it makes. */
  readonly creation: number;
  readonly scheduler: Scheduler;
  /** The node's logger, bound to `{ node }`. */
  readonly logger: NodeLogger;
  /** Living processes by key (serial * 2^32 + id). */
  readonly procs = new Map<number, ProcessCore>();
  /** The identity of signals and calls made from outside any process (pid `<0.0.0>`). */
  readonly outside: ProcessCore;
  dist: Distribution | undefined;
  /** Set once stop hooks have run: from then on no spawn, call or timer. */
  closing = false;
  /** Reductions of the running slice: messages handled plus messages sent. */
  reductions = 0;
  /** Messages put in local mailboxes since the node started. */
  delivered = 0;
  private readonly refSalt: number;
  private nextId = 1;
  private nextSerial = 0;
  private nextRef = 1;
  private readonly refSpaces = new RefSpaces();

  constructor(options: KernelOptions, readonly runner: CoreRunner) {
    const name = options.name;
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new BadArgumentError(`node name must be name@host, got ${JSON.stringify(name)}`);
    this.name = atom(name);
    const creation = options.creation ?? randomInt(1, 2 ** 32 - 1);
    if (!Number.isInteger(creation) || creation <= 0 || creation >= TWO32)
      throw new BadArgumentError(`creation must be a non-zero u32, got ${creation}`);
    this.creation = creation;
    this.scheduler = new Scheduler(options.scheduler);
    this.logger = options.logger.child({ node: name });
    this.refSalt = randomInt(0, 2 ** 32 - 1);
    this.outside = new ProcessCore(runner, new Pid(this.name, 0, 0, creation), 0, { handleMessage() {} }, undefined);
    this.outside.state = State.Waiting;
  }

  /** Reads a name given as a string or an atom. */
  atom(name: string | Atom): Atom {
    return typeof name === 'string' ? atom(name) : name;
  }

  isLocalNode(node: Atom): boolean {
    return node === this.name;
  }

  /** The living local process with this pid. */
  local(pid: Pid): ProcessCore | undefined {
    if (pid.node !== this.name || pid.creation !== this.creation) return undefined;
    return this.procs.get(pid.serial * TWO32 + pid.id);
  }

  /** A new pid (ids wrap into the serial after 2^32). */
  nextPid(): Pid {
    const id = this.nextId;
    if (id >= TWO32) {
      this.nextId = 1;
      this.nextSerial++;
    } else this.nextId = id + 1;
    return new Pid(this.name, id, this.nextSerial, this.creation);
  }

  /** A new unique reference. */
  makeRef(): Ref {
    return this.ownRef(this.nextRef++);
  }

  /**
   * A new unique reference's key ({@link ownRefKey} of the ref it stands for), without the ref:
   * {@link Kernel.ownRef} makes that ref when it is needed (a call's alias, read only when its
   * `From` is looked into).
   */
  makeRefKey(): number {
    return this.nextRef++;
  }

  /** The ref whose {@link ownRefKey} is `key`, a key {@link Kernel.makeRefKey} gave (equal to every other ref made for it). */
  ownRef(key: number): Ref {
    return new Ref(this.name, this.creation, [key % 262144, Math.floor(key / 262144) >>> 0, this.refSalt]);
  }

  /**
   * Key of a ref in maps, a number without allocation for the refs of the hot
   * paths: refs made here map to `ids[0] + ids[1] * 2^18` (non-negative);
   * 3-word refs made elsewhere map to a negative number, `-(1 + space * 2^32 +
   * low 32 bits of the counter)`, where `space` numbers each (node, creation,
   * ids[2], high bits of ids[1]) seen. Anything else (other word counts, more
   * than 2^20 spaces) gets a string.
   */
  refKey(ref: Ref): number | string {
    const ids = ref.ids;
    if (ids.length === 3) {
      const id0 = ids[0] as number;
      const id1 = ids[1] as number;
      const id2 = ids[2] as number;
      if (ref.node === this.name && ref.creation === this.creation && id2 === this.refSalt) return ownRefKey(ref);
      if (id0 < 262144) {
        const space = this.refSpaces.index(ref.node, ref.creation, id2, id1 >>> 14);
        if (space >= 0) return -(1 + space * 4294967296 + id0 + (id1 & 0x3fff) * 262144);
      }
    }
    return `${ref.node.name}|${ref.creation}|${ids.join('.')}`;
  }

  /**
   * Puts a message in a local mailbox. Every signal that becomes a message
   * (a message, an `{'EXIT', ...}` of a trapping process, a `{'DOWN', ...}`,
   * `{nodedown, ...}`) goes through here, in the order it was sent: signals
   * from one process to another arrive in send order, as in Erlang.
   */
  deliver(core: ProcessCore, message: unknown): void {
    if (core.state === State.Exited) return;
    this.reductions++;
    this.delivered++;
    if (core.tracer !== undefined) core.tracer(message);
    core.mailbox.push(message);
    if (core.state === State.Waiting) this.scheduler.schedule(core);
  }

  /**
   * Puts `message` in the mailbox of an idle process (waiting, mailbox empty, not on the run
   * queue) and has it handle that message now, as the scheduler would have next: one reduction,
   * then the scheduler takes over if more came meanwhile. The reductions counted for the process
   * running now (the caller) are kept, plus one for the message.
   */
  deliverAndRun(core: ProcessCore, message: unknown): void {
    this.delivered++;
    core.mailbox.push(message);
    const reductions = this.reductions;
    let more = false;
    try {
      more = core.runSlice(1);
    } finally {
      this.reductions = reductions + 1;
    }
    if (more) this.scheduler.schedule(core);
  }

  /**
   * Puts a priority message (EEP 76) in a local mailbox: after the priority
   * messages still queued there, ahead of every ordinary one.
   */
  deliverPriority(core: ProcessCore, message: unknown): void {
    if (core.state === State.Exited) return;
    this.reductions++;
    core.mailbox.pushPriority(message);
    if (core.state === State.Waiting) this.scheduler.schedule(core);
  }
}

/**
 * {@link Kernel.refKey} of a ref this node's {@link Kernel.makeRef} made
 * (the caller knows it is one: no check), `ids[0] + ids[1] * 2^18`.
 */
export function ownRefKey(ref: Ref): number {
  const ids = ref.ids;
  return (ids[0] as number) + (ids[1] as number) * 262144;
}

/**
 * Numbers the key spaces of refs made on other nodes for {@link Kernel.refKey}:
 * a space is (node, creation, third word, high bits of the second word). The
 * last few spaces are found by comparison, without hashing or allocating.
 */
class RefSpaces {
  private static readonly MAX = 1 << 20;
  private static readonly RECENT = 4;
  private readonly all = new Map<string, number>();
  private readonly nodes: (Atom | undefined)[] = new Array<Atom | undefined>(RefSpaces.RECENT).fill(undefined);
  private readonly words = new Float64Array(RefSpaces.RECENT * 3);
  private readonly indexes = new Int32Array(RefSpaces.RECENT);
  private next = 0;

  /** The space's number, or -1 once there are too many. */
  index(node: Atom, creation: number, word2: number, high1: number): number {
    const w = this.words;
    for (let i = 0; i < RefSpaces.RECENT; i++) {
      if (this.nodes[i] === node && w[i * 3] === creation && w[i * 3 + 1] === word2 && w[i * 3 + 2] === high1)
        return this.indexes[i] as number;
    }
    const name = `${node.name}|${creation}|${word2}|${high1}`;
    let index = this.all.get(name);
    if (index === undefined) {
      if (this.all.size >= RefSpaces.MAX) return -1;
      index = this.all.size;
      this.all.set(name, index);
    }
    const slot = this.next;
    this.next = (slot + 1) % RefSpaces.RECENT;
    this.nodes[slot] = node;
    w[slot * 3] = creation;
    w[slot * 3 + 1] = word2;
    w[slot * 3 + 2] = high1;
    this.indexes[slot] = index;
    return index;
  }
}
