/**
 * Control messages of the connected phase (erl_dist_protocol.md, "Protocol
 * between connected nodes"): opcodes, and checked accessors that turn a
 * malformed control tuple into a `DistError('frame_protocol')` so the
 * connection concerned is closed with a logged reason.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import { DistError } from './errors.js';

/** Control message opcodes (the first element of the control tuple). */
export const OP = {
  LINK: 1,
  SEND: 2,
  EXIT: 3,
  UNLINK: 4,
  REG_SEND: 6,
  GROUP_LEADER: 7,
  EXIT2: 8,
  SEND_TT: 12,
  EXIT_TT: 13,
  REG_SEND_TT: 16,
  EXIT2_TT: 18,
  MONITOR_P: 19,
  DEMONITOR_P: 20,
  MONITOR_P_EXIT: 21,
  SEND_SENDER: 22,
  SEND_SENDER_TT: 23,
  PAYLOAD_EXIT: 24,
  PAYLOAD_EXIT_TT: 25,
  PAYLOAD_EXIT2: 26,
  PAYLOAD_EXIT2_TT: 27,
  PAYLOAD_MONITOR_P_EXIT: 28,
  SPAWN_REQUEST: 29,
  SPAWN_REQUEST_TT: 30,
  SPAWN_REPLY: 31,
  SPAWN_REPLY_TT: 32,
  ALIAS_SEND: 33,
  ALIAS_SEND_TT: 34,
  UNLINK_ID: 35,
  UNLINK_ID_ACK: 36,
  ALTACT_SIG_SEND: 37,
} as const;

/**
 * ALTACT_SIG_SEND flag bits (OTP 28, `ERTS_DOP_ALTACT_SIG_FLG_*` in dist.h):
 * `{37, Flags, From, To}` or, with TOKEN, `{37, Flags, From, To, Token}`.
 * ALIAS: `To` is an alias; NAME: `To` is a registered name; neither: a pid.
 * EXIT: the payload is an exit reason, not a message. PRIO: a priority signal.
 */
export const ALTACT_FLAG = { PRIO: 1, TOKEN: 2, ALIAS: 4, NAME: 8, EXIT: 16 } as const;

/** SPAWN_REPLY flag bits. */
export const SPAWN_FLAG = { LINK: 1, MONITOR: 2 } as const;

/**
 * Checked reads of control tuple elements. Reads a Tuple, or (on the fast
 * path) the first `size` elements of an array that is reused from frame to
 * frame: then read what you need before the next frame is decoded.
 */
export class ControlReader {
  private elements: readonly unknown[];
  private n: number;
  constructor(control?: Tuple) {
    this.elements = control?.elements ?? [];
    this.n = this.elements.length;
  }
  /** Reads `control`'s elements from now on. */
  of(control: Tuple): this {
    this.elements = control.elements;
    this.n = control.elements.length;
    return this;
  }
  /** Reads the first `size` entries of `elements` from now on. */
  ofElements(elements: readonly unknown[], size: number): this {
    this.elements = elements;
    this.n = size;
    return this;
  }
  get size(): number {
    return this.n;
  }
  private bad(what: string): never {
    throw new DistError('frame_protocol', `malformed control message (opcode ${String(this.elements[0])}): ${what}`);
  }
  /** Requires at least `n` elements. */
  arity(n: number): this {
    if (this.n < n) this.bad(`expected ${n} elements, got ${this.n}`);
    return this;
  }
  any(i: number): unknown {
    return i < this.n ? this.elements[i] : undefined;
  }
  pid(i: number): Pid {
    const v = this.any(i);
    if (!(v instanceof Pid)) this.bad(`element ${i} is not a pid`);
    return v;
  }
  ref(i: number): Ref {
    const v = this.any(i);
    if (!(v instanceof Ref)) this.bad(`element ${i} is not a reference`);
    return v;
  }
  atom(i: number): Atom {
    const v = this.any(i);
    if (!(v instanceof Atom)) this.bad(`element ${i} is not an atom`);
    return v;
  }
  pidOrAtom(i: number): Pid | Atom {
    const v = this.any(i);
    if (!(v instanceof Pid) && !(v instanceof Atom)) this.bad(`element ${i} is not a pid or an atom`);
    return v;
  }
  int(i: number): number | bigint {
    const v = this.any(i);
    if (typeof v !== 'number' && typeof v !== 'bigint') this.bad(`element ${i} is not an integer`);
    return v;
  }
}
