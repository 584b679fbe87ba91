/**
 * BitString: an Erlang bitstring whose length is not a whole number of bytes
 * (BIT_BINARY_EXT), such as `<<1:3>>`.
 * @module
 */

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A bitstring: `bytes`, of which only the high `bitsInLastByte` bits of the
 * last byte count (1..8). Whole-byte binaries are `Uint8Array` or `string`.
 *
 * @example
 * ```ts
 * import { BitString, encode } from 'beamline/etf';
 * const b = new BitString(Uint8Array.of(0x20), 3); // <<1:3>>
 * b.bitLength; // 3
 * encode(b);   // <<131,77,0,0,0,1,3,32>>
 * ```
 */
export class BitString {
  constructor(
    /** The bytes; the unused low bits of the last byte are zero. */
    readonly bytes: Uint8Array,
    /** How many high bits of the last byte belong to the value (1..8). */
    readonly bitsInLastByte: number,
  ) {
    if (!Number.isInteger(bitsInLastByte) || bitsInLastByte < 1 || bitsInLastByte > 8 || bytes.length === 0) {
      throw new RangeError('BitString needs at least one byte and 1..8 bits in the last byte');
    }
  }
  /** Total number of bits (Erlang's `bit_size/1`). */
  get bitLength(): number {
    return (this.bytes.length - 1) * 8 + this.bitsInLastByte;
  }
  /** Structural equality. */
  equals(other: unknown): boolean {
    if (!(other instanceof BitString) || other.bitsInLastByte !== this.bitsInLastByte) return false;
    const a = this.bytes;
    const b = other.bytes;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  /** Erlang syntax: `<<1,2,3:4>>`. */
  toString(): string {
    const n = this.bytes.length;
    const parts: string[] = [];
    for (let i = 0; i < n - 1; i++) parts.push(String(this.bytes[i]));
    const last = (this.bytes[n - 1] as number) >> (8 - this.bitsInLastByte);
    parts.push(this.bitsInLastByte === 8 ? String(last) : `${last}:${this.bitsInLastByte}`);
    return `<<${parts.join(',')}>>`;
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}
