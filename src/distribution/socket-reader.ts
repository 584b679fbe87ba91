/**
 * Pull-style reading of length-prefixed packets from a socket, used by the
 * handshake (u16 lengths) before the connection switches to the push-style
 * frame reader of `framing.ts`.
 *
 * The reader buffers what arrives, hands out whole packets, and on
 * {@link SocketReader.release} pauses the socket and returns the bytes read
 * past the last packet, so nothing the peer sends right after the handshake
 * is lost.
 * @module
 */
import type { Socket } from 'node:net';
import { DistError, type DistErrorCode } from './errors.js';

const ignoreError = (): void => {};

/** Reads u16-length-prefixed packets from a socket. */
export class SocketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: DistError | undefined;
  private released = false;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.buffered.length > this.maxBuffered) {
      this.fail(new DistError(this.protocolCode, `peer sent ${this.buffered.length} unread bytes (limit ${this.maxBuffered})`));
      return;
    }
    this.wake();
  };
  private readonly onEnd = (): void => this.fail(new DistError('connection_closed', 'peer closed the connection'));
  private readonly onClose = (): void => this.fail(new DistError('connection_closed', 'connection closed'));
  private readonly onError = (err: Error): void => this.fail(new DistError('socket_error', err.message, { cause: err }));

  constructor(
    private readonly socket: Socket,
    private readonly protocolCode: DistErrorCode,
    private readonly maxBuffered = 64 * 1024 + 2,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    if (socket.destroyed) this.onClose();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Makes every pending and future read fail with `err` (the first failure wins). */
  fail(err: DistError): void {
    if (this.failure === undefined) this.failure = err;
    this.wake();
  }

  private async waitFor(n: number): Promise<void> {
    while (this.buffered.length < n) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /**
   * The next u16-length-prefixed packet body. A zero length, or one above
   * `maxLength`, is a protocol error, reported as soon as the length is read.
   */
  readPacket16(maxLength = 0xffff): Promise<Buffer> {
    return this.readPacket(2, maxLength);
  }

  /**
   * The next packet with a `header`-byte length (2, or 4 as in TLS
   * distribution, whose handshake keeps `{packet, 4}`); same checks as
   * {@link SocketReader.readPacket16}.
   */
  async readPacket(header: 2 | 4, maxLength: number): Promise<Buffer> {
    await this.waitFor(header);
    const len = header === 2 ? this.buffered.readUInt16BE(0) : this.buffered.readUInt32BE(0);
    if (len === 0 || len > maxLength) {
      const err = new DistError(this.protocolCode, len === 0 ? 'empty packet' : `packet of ${len} bytes exceeds ${maxLength}`);
      this.fail(err);
      throw err;
    }
    await this.waitFor(header + len);
    const body = this.buffered.subarray(header, header + len);
    this.buffered = this.buffered.subarray(header + len);
    return body;
  }

  /**
   * Detaches from the socket and pauses it; returns the bytes received after
   * the last packet read. Call once, when the handshake is over.
   */
  release(): Buffer {
    if (!this.released) {
      this.released = true;
      this.socket.pause();
      this.socket.off('data', this.onData);
      this.socket.off('end', this.onEnd);
      this.socket.off('close', this.onClose);
      this.socket.off('error', this.onError);
      // Until the connection layer takes over, a late socket error must not become an uncaught 'error' event.
      this.socket.on('error', ignoreError);
    }
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}
