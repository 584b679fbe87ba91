/**
 * Framing for TCP streams: cut a byte stream into whole packets, either
 * length-prefixed (a 1, 2 or 4-byte big-endian length, like Erlang's
 * `{packet, N}`) or line-delimited (`\n`, like `{packet, line}`); and frame
 * outgoing packets the same way.
 * @module
 */

/**
 * How a TCP handler receives data. `raw`: chunks as they arrive, with
 * ergo's contract (the handler returns how many bytes it did not consume;
 * they are prefixed to the next chunk). `length`: whole packets after a
 * `bytes`-byte length header. `line`: whole lines without the `\n` (and `\r`).
 */
export type Framing =
  | 'raw'
  | 'line'
  | { readonly type: 'length'; readonly bytes: 1 | 2 | 4; readonly maxPacket?: number }
  | { readonly type: 'line'; readonly maxLine?: number; readonly encoding?: undefined };

/** How the lines of a {@link TextLineFraming} are decoded. */
export type TextEncoding = 'utf8' | 'latin1' | 'ascii';

/**
 * Line framing whose lines reach the handler as strings, decoded with
 * `encoding` (without the `\n` and `\r`), like `{packet, line}` in list mode:
 * no `Buffer` is made for a line. A `\n` byte never occurs inside a UTF-8
 * sequence, so a line is always decoded whole. The handler's data type is
 * `string` ({@link TcpHandler}'s third type parameter).
 *
 * @example
 * ```ts
 * const upper: TcpHandler<undefined, undefined, string> = {
 *   init: () => ok(undefined),
 *   handleData: (conn, line, s) => (conn.send(line.toUpperCase()), s),
 * };
 * await startTcp(node, { framing: { type: 'line', encoding: 'utf8' }, handler: upper, args: undefined });
 * ```
 */
export interface TextLineFraming {
  readonly type: 'line';
  readonly encoding: TextEncoding;
  /** Bytes; default 1 MiB. */
  readonly maxLine?: number;
}

/** A packet over the framing's size limit: the connection is closed. */
export class FramingError extends Error {
  override name = 'FramingError';
}

/**
 * Accumulates chunks and yields whole packets: {@link Framer.push} returns
 * a chunk's packets at once; {@link Framer.feed} then {@link Framer.next}
 * takes them one by one (no array per chunk: what the TCP handler uses).
 *
 * @example
 * ```ts
 * const f = new Framer({ type: 'length', bytes: 2 });
 * f.push(Buffer.from([0, 3, 97, 98])); // []
 * f.push(Buffer.from([99]));           // [<Buffer 61 62 63>]
 * f.feed(Buffer.from('a\nb\n'));
 * f.next();                            // <Buffer 61>, then <Buffer 62>, then undefined
 * ```
 */
const EMPTY = Buffer.alloc(0);

export class Framer {
  /** Bytes fed and not yet taken, from `pos` on. */
  private buffer: Buffer = EMPTY;
  private pos = 0;
  private readonly kind: 'line' | 'length';
  private readonly bytes: number;
  private readonly max: number;
  /** The encoding of a {@link TextLineFraming} (lines as strings: {@link Framer.nextText}), else undefined. */
  readonly encoding: TextEncoding | undefined;

  constructor(framing: Exclude<Framing, 'raw'> | TextLineFraming) {
    this.encoding = framing !== 'line' && framing.type === 'line' ? framing.encoding : undefined;
    if (framing === 'line' || framing.type === 'line') {
      this.kind = 'line';
      this.bytes = 0;
      this.max = framing === 'line' ? 1024 * 1024 : (framing.maxLine ?? 1024 * 1024);
    } else {
      this.kind = 'length';
      this.bytes = framing.bytes;
      this.max = framing.maxPacket ?? 16 * 1024 * 1024;
    }
  }

  /** Adds a chunk; returns the packets it completes. Throws {@link FramingError} past the size limit. */
  push(chunk: Buffer): Buffer[] {
    this.feed(chunk);
    const out: Buffer[] = [];
    for (let p = this.next(); p !== undefined; p = this.next()) out.push(p);
    return out;
  }

  /** Adds a chunk, whose packets {@link Framer.next} then returns. */
  feed(chunk: Buffer): void {
    const rest = this.buffer.length - this.pos;
    this.buffer = rest === 0 ? chunk : Buffer.concat([this.buffer.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /**
   * The next whole packet of what was fed, or undefined when the rest is
   * not a whole packet yet (it is kept, copied, for the next chunk). Throws
   * {@link FramingError} when the rest is past the size limit.
   */
  next(): Buffer | undefined {
    const buf = this.buffer;
    const pos = this.pos;
    if (this.kind === 'line') {
      const end = this.lineEnd(buf, pos);
      return end < 0 ? this.keepRest(buf, pos) : buf.subarray(pos, end);
    }
    const h = this.bytes;
    if (buf.length - pos >= h) {
      const len = h === 1 ? buf.readUInt8(pos) : h === 2 ? buf.readUInt16BE(pos) : buf.readUInt32BE(pos);
      if (len > this.max) throw new FramingError(`packet of ${len} bytes is over the ${this.max}-byte limit`);
      if (buf.length - pos - h >= len) {
        this.pos = pos + h + len;
        return buf.subarray(pos + h, pos + h + len);
      }
    }
    return this.keepRest(buf, pos);
  }

  /**
   * Line framing: the next whole line of what was fed, decoded with `encoding` (the
   * framing's, by default), or undefined as for {@link Framer.next}. Makes no Buffer.
   */
  nextText(encoding: TextEncoding = this.encoding ?? 'utf8'): string | undefined {
    const buf = this.buffer;
    const pos = this.pos;
    const end = this.kind === 'line' ? this.lineEnd(buf, pos) : -1;
    if (end >= 0) return buf.toString(encoding, pos, end);
    if (this.kind !== 'line') throw new TypeError('Framer.nextText: not a line framing');
    return this.keepRest(buf, pos);
  }

  /** The end of the line that starts at `pos` (before its `\r\n` or `\n`), having moved past it; -1 when no whole line is left. */
  private lineEnd(buf: Buffer, pos: number): number {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) {
      if (buf.length - pos > this.max) throw new FramingError(`line longer than ${this.max} bytes`);
      return -1;
    }
    this.pos = nl + 1;
    return nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
  }

  /** No whole packet left: keeps a copy of the rest (not the whole chunk it came in); returns undefined. */
  private keepRest(buf: Buffer, pos: number): undefined {
    this.buffer = pos === buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
    this.pos = 0;
    return undefined;
  }
}

/** Frames one outgoing packet: adds the length header or the `\n`; `raw` sends it as is. */
export function framePacket(framing: Framing | TextLineFraming, packet: Uint8Array | string): Uint8Array | string {
  if (framing === 'raw') return packet;
  if (framing === 'line' || framing.type === 'line') return typeof packet === 'string' ? `${packet}\n` : Buffer.concat([packet, Buffer.from('\n')]);
  const body = typeof packet === 'string' ? Buffer.from(packet) : packet;
  const header = Buffer.alloc(framing.bytes);
  if (framing.bytes === 1) header.writeUInt8(body.length);
  else if (framing.bytes === 2) header.writeUInt16BE(body.length);
  else header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}
