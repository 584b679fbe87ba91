/**
 * A bounds-checked big-endian reader over a byte buffer, shared by the EPMD
 * and handshake parsers. Every read checks the remaining length first and
 * throws a {@link DistError} with the code the caller chose, so a truncated
 * or hostile message can never read past its end or allocate from an
 * unchecked length.
 * @module
 */
import { DistError, type DistErrorCode } from './errors.js';

/** Sequential reader over `buf`; throws `DistError(code)` on any overrun. */
export class ByteReader {
  /** Current offset into the buffer. */
  pos: number;
  constructor(
    private readonly buf: Buffer,
    private readonly code: DistErrorCode,
    start = 0,
  ) {
    this.pos = start;
  }
  /** Bytes left after the current offset. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, what: string): void {
    if (this.remaining < n) throw new DistError(this.code, `truncated ${what}: need ${n} bytes, have ${this.remaining}`);
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** `n` bytes as a view (no copy). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** The rest of the buffer as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
}

/** Concatenates u8/u16/u32/u64 fields and byte strings into one Buffer. */
export class ByteWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  u8(v: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeUInt8(v);
    return this.push(b);
  }
  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }
  u64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.push(b);
  }
  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  /** The concatenated bytes. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
  /** The bytes prefixed with their u16 length (EPMD and handshake packets). */
  toPacket16(): Buffer {
    const body = this.toBuffer();
    if (body.length > 0xffff) throw new RangeError(`packet of ${body.length} bytes does not fit a u16 length`);
    const head = Buffer.allocUnsafe(2);
    head.writeUInt16BE(body.length);
    return Buffer.concat([head, body]);
  }
}
