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
import { randomInt } from 'node:crypto';
import { type Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import type { Distribution } from './distribution.js';
import { BadArgumentError } from './errors.js';
import { type CoreRunner, ProcessCore, State } from './process-core.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

/** 2^32: pids and keys combine a serial and a 32-bit id. */
export const TWO32 = 4294967296;

/** Where a node reports crashes and dropped signals. */
export type Logger = (level: 'error' | 'warning' | 'info', message: string) => void;

/** What a kernel is made from (the node's options, resolved). */
export interface KernelOptions {
  readonly name: string;
  readonly creation: number | undefined;
  readonly scheduler: SchedulerOptions | undefined;
  readonly logger: Logger;
}

export class Kernel {
  /** The node's name as an atom. */
  readonly name: Atom;
  /** The node's creation, put in every pid and reference it makes. */
  readonly creation: number;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Living processes by key (serial * 2^32 + id). */
  readonly procs = new Map<number, ProcessCore>();
  /** The identity of signals and calls made from outside any process (pid `<0.0.0>`). */
  readonly outside: ProcessCore;
  dist: Distribution | undefined;
  /** Set once stop hooks have run: from then on no spawn, call or timer. */
  closing = false;
  /** Reductions of the running slice: messages handled plus messages sent. */
  reductions = 0;
  private readonly refSalt: number;
  private nextId = 1;
  private nextSerial = 0;
  private nextRef = 1;

  constructor(options: KernelOptions, readonly runner: CoreRunner) {
    const name = options.name;
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new BadArgumentError(`node name must be name@host, got ${JSON.stringify(name)}`);
    this.name = atom(name);
    const creation = options.creation ?? randomInt(1, 2 ** 32 - 1);
    if (!Number.isInteger(creation) || creation <= 0 || creation >= TWO32)
      throw new BadArgumentError(`creation must be a non-zero u32, got ${creation}`);
    this.creation = creation;
    this.scheduler = new Scheduler(options.scheduler);
    this.logger = options.logger;
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
    const n = this.nextRef++;
    return new Ref(this.name, this.creation, [n % 262144, Math.floor(n / 262144) >>> 0, this.refSalt]);
  }

  /** Key of a ref in maps: a number for refs made here, a string otherwise. */
  refKey(ref: Ref): number | string {
    const ids = ref.ids;
    if (ref.node === this.name && ref.creation === this.creation && ids.length === 3 && ids[2] === this.refSalt)
      return (ids[0] as number) + (ids[1] as number) * 262144;
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
    core.mailbox.push(message);
    if (core.state === State.Waiting) this.scheduler.schedule(core);
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
