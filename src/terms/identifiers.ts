/**
 * Process identifiers, references and ports: the values Erlang nodes use to
 * name processes and requests, mapped one to one onto the External Term Format
 * (NEW_PID_EXT, NEWER_REFERENCE_EXT, NEW_PORT_EXT / V4_PORT_EXT).
 *
 * Each carries its node's name and *creation*, the number that tells one
 * incarnation of a node from the next, so identifiers from a previous run of
 * a node never reach a process of the current one.
 *
 * An alias (OTP 24+) is a {@link Ref} that routes messages to the process
 * that created it; it has no type of its own.
 * @module
 */
import { Atom } from './atom.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A process identifier: `{node, id, serial, creation}` as in NEW_PID_EXT.
 *
 * @example
 * ```ts
 * const pid = node.spawn(handler);
 * pid.toString();   // '<0.42.0>'
 * pid.equals(other);
 * ```
 */
export class Pid {
  constructor(
    /** The node that owns the process. */
    readonly node: Atom,
    /** Process number (u32). */
    readonly id: number,
    /** Serial (u32); grows when ids wrap. */
    readonly serial: number,
    /** The owning node's creation (u32). */
    readonly creation: number,
  ) {}
  /** Structural equality: same node, id, serial and creation. */
  equals(other: unknown): boolean {
    return (
      other === this ||
      (other instanceof Pid &&
        other.id === this.id &&
        other.serial === this.serial &&
        other.node === this.node &&
        other.creation === this.creation)
    );
  }
  /** Erlang's printed form without the node: `<0.42.0>`. Use {@link Pid.describe} to include it. */
  toString(): string {
    return `<0.${this.id}.${this.serial}>`;
  }
  /** `<0.42.0 @ demo@127.0.0.1>`: the printed form with the node name. */
  describe(): string {
    return `<0.${this.id}.${this.serial} @ ${this.node.name}>`;
  }
  toJSON(): string {
    return this.describe();
  }
  [inspectSymbol](): string {
    return `#PID${this.describe()}`;
  }
}

/**
 * A reference: `{node, creation, ids}` as in NEWER_REFERENCE_EXT (3 to 5 u32
 * words). Unique per node incarnation. Also the value of an alias.
 */
export class Ref {
  constructor(
    readonly node: Atom,
    readonly creation: number,
    /** 3 to 5 u32 words; the first holds 18 significant bits in refs made by Erlang and Beamline. */
    readonly ids: readonly number[],
  ) {}
  equals(other: unknown): boolean {
    if (other === this) return true;
    if (!(other instanceof Ref) || other.node !== this.node || other.creation !== this.creation) return false;
    const a = this.ids;
    const b = other.ids;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  /** Erlang's printed form: `#Ref<0.3.2.1>` (words from last to first). */
  toString(): string {
    return `#Ref<0.${[...this.ids].reverse().join('.')}>`;
  }
  toJSON(): string {
    return `${this.toString()}@${this.node.name}`;
  }
  [inspectSymbol](): string {
    return this.toJSON();
  }
}

/** A port identifier (NEW_PORT_EXT, or V4_PORT_EXT with a 64-bit id). Beamline never creates ports; it carries them. */
export class Port {
  constructor(
    readonly node: Atom,
    readonly id: number | bigint,
    readonly creation: number,
  ) {}
  equals(other: unknown): boolean {
    return (
      other === this ||
      (other instanceof Port && other.node === this.node && other.id === this.id && other.creation === this.creation)
    );
  }
  toString(): string {
    return `#Port<0.${this.id}>`;
  }
  toJSON(): string {
    return `${this.toString()}@${this.node.name}`;
  }
  [inspectSymbol](): string {
    return this.toJSON();
  }
}
