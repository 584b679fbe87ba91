/**
 * Float: a box that marks a JavaScript number as an Erlang float.
 *
 * A plain `number` encodes as an Erlang integer when it is a safe integer
 * (`1` → `1`) and as a float otherwise (`1.5`, `1e300`, `-0`). Wrap a number
 * in `Float` to send an integral float such as `1.0`. The decoder returns a
 * `Float` exactly for the floats a plain number would not round-trip
 * (integral values such as `2.0`), so Erlang → JS → Erlang is lossless.
 * @module
 */

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * An Erlang float (NEW_FLOAT_EXT), kept distinct from the integer with the same value.
 *
 * @example
 * ```ts
 * import { encode, decode, Float } from 'beamline/etf';
 * encode(new Float(1));         // 1.0 in Erlang, not 1
 * decode(encode(new Float(1))); // Float { value: 1 }
 * new Float(2).valueOf() + 1;   // 3
 * ```
 */
export class Float {
  constructor(
    /** The IEEE-754 double. NaN and infinities cannot be encoded. */
    readonly value: number,
  ) {}
  /** The plain number, so arithmetic works: `+f`, `f.valueOf() * 2`. */
  valueOf(): number {
    return this.value;
  }
  /** Erlang's printed form: always with a fraction (`1.0`, `-0.0`). */
  toString(): string {
    if (Object.is(this.value, -0)) return '-0.0';
    const s = String(this.value);
    return /[.eE]/.test(s) || !Number.isFinite(this.value) ? s : `${s}.0`;
  }
  toJSON(): number {
    return this.value;
  }
  [inspectSymbol](): string {
    return `Float(${this.toString()})`;
  }
}

/** Shorthand for `new Float(value)`. @example `float(1)` is Erlang's `1.0`. */
export function float(value: number): Float {
  return new Float(value);
}
