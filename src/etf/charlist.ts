/**
 * Charlist: an Erlang string, i.e. a list of character codes ("abc" in
 * Erlang, 'abc' / ~c"abc" in Elixir), kept apart from JS strings, which
 * Beamline sends as UTF-8 binaries (Elixir strings).
 *
 * The decoder returns a Charlist for every STRING_EXT (the compact form OTP
 * uses for any list of integers 0..255, so `[1,2,3]` arrives as one too);
 * it never turns a list into a JS string by itself.
 * @module
 */

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A list of Unicode code points, encoded as STRING_EXT when every code is
 * 0..255 and there are at most 65535 of them, otherwise as a LIST_EXT of integers.
 *
 * @example
 * ```ts
 * import { charlist, encode } from 'beamline/etf';
 * const cl = charlist('abc');  // Erlang "abc", Elixir ~c"abc"
 * cl.codes();                  // [97, 98, 99]
 * String(cl);                  // 'abc'
 * encode(cl);                  // <<131,107,0,3,97,98,99>>
 * ```
 */
export class Charlist {
  constructor(
    /** The characters as a JS string (each code point is one list element). */
    readonly value: string,
  ) {}
  /** Builds a charlist from code points (each 0..0x10FFFF). */
  static fromCodes(codes: readonly number[]): Charlist {
    return new Charlist(String.fromCodePoint(...codes));
  }
  /** The list elements: one integer per code point. */
  codes(): number[] {
    const out: number[] = [];
    for (const ch of this.value) out.push(ch.codePointAt(0) as number);
    return out;
  }
  /** Number of list elements (code points). */
  get length(): number {
    let n = 0;
    for (const _ of this.value) n++;
    return n;
  }
  toString(): string {
    return this.value;
  }
  toJSON(): string {
    return this.value;
  }
  [inspectSymbol](): string {
    return `Charlist(${JSON.stringify(this.value)})`;
  }
}

/** Shorthand for `new Charlist(text)`. @example `charlist('ok')` is Erlang `"ok"`. */
export function charlist(text: string): Charlist {
  return new Charlist(text);
}
