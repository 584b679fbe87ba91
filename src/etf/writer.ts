/**
 * EtfWriter: a growable byte buffer that the encoder writes into. One writer
 * is reused across terms, so encoding allocates nothing per term except
 * when the buffer has to grow (it doubles). The distribution layer can write
 * its own headers into the same writer, then encode terms after them.
 * @module
 */

/**
 * A reusable, growing output buffer with big-endian writers.
 *
 * @example
 * ```ts
 * import { EtfWriter, Encoder } from 'beamline/etf';
 * const w = new EtfWriter();
 * const enc = new Encoder();
 * w.reset();
 * const lenAt = w.skip(4);          // room for a length prefix
 * enc.writeTerm(w, [1, 2, 3]);      // no 131 prefix
 * w.setU32(lenAt, w.length - 4);
 * socket.write(w.toBuffer());       // a copy; w can be reused at once
 * ```
 */
export class EtfWriter {
  /** The underlying storage; only bytes `0 .. length-1` are meaningful. Replaced when it grows. */
  buf: Buffer;
  /** Number of bytes written (the current write offset). */
  length = 0;
  /** A DataView of `dvOf` (see {@link EtfWriter.dataView}). */
  private dv: DataView | undefined = undefined;
  private dvOf: Buffer | undefined = undefined;

  constructor(initialCapacity = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /**
   * A DataView of the current `buf` (made once per buffer, however `buf` was replaced): for
   * writing whole 32-bit words at any offset. Writes through it must stay below `buf.length`.
   */
  dataView(): DataView {
    const b = this.buf;
    if (this.dvOf === b) return this.dv as DataView;
    this.dvOf = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.length);
    return this.dv;
  }

  /** Forgets the content; keeps the storage. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Reserves `n` bytes (to fill in later with `setU32` etc.) and returns their offset. */
  skip(n: number): number {
    this.ensure(n);
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): void {
    if (this.length + 1 > this.buf.length) this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    if (this.length + 2 > this.buf.length) this.ensure(2);
    const b = this.buf;
    const p = this.length;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.length = p + 2;
  }

  u32(v: number): void {
    if (this.length + 4 > this.buf.length) this.ensure(4);
    const b = this.buf;
    const p = this.length;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.length = p + 4;
  }

  /** Tag byte followed by a big-endian u32 (the shape of most length-prefixed items). */
  tagU32(tag: number, v: number): void {
    if (this.length + 5 > this.buf.length) this.ensure(5);
    const b = this.buf;
    const p = this.length;
    b[p] = tag;
    b[p + 1] = v >>> 24;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 8) & 0xff;
    b[p + 4] = v & 0xff;
    this.length = p + 5;
  }

  /** Overwrites a big-endian u32 at `offset` (for length prefixes). */
  setU32(offset: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, offset);
  }

  /** Overwrites a byte at `offset`. */
  setU8(offset: number, v: number): void {
    this.buf[offset] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.length);
    this.length += 8;
  }

  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    if (n < 64) {
      const b = this.buf;
      let p = this.length;
      for (let i = 0; i < n; i++) b[p++] = src[i] as number;
    } else {
      this.buf.set(src, this.length);
    }
    this.length += n;
  }

  /** Writes `s` as UTF-8 and returns the number of bytes written (Node's `utf8Write`: `write` without its argument parsing). */
  utf8(s: string): number {
    // Long strings are measured first rather than given room for 3 bytes a character.
    const max = s.length > 65536 ? Buffer.byteLength(s, 'utf8') : s.length * 3;
    this.ensure(max);
    const n = (this.buf as Buffer & { utf8Write(s: string, offset: number, max: number): number }).utf8Write(s, this.length, max);
    this.length += n;
    return n;
  }

  /** A copy of the written bytes (safe to keep while the writer is reused). */
  toBuffer(): Buffer {
    const n = this.length;
    const out = Buffer.allocUnsafe(n);
    if (n <= 128) {
      const b = this.buf;
      for (let i = 0; i < n; i++) out[i] = b[i] as number;
    } else {
      this.buf.copy(out, 0, 0, n);
    }
    return out;
  }

  /** A view of the written bytes, valid only until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
