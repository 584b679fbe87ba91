/**
 * A byte stream between two threads over two {@link ByteRing}s (one per
 * direction), shaped as the part of `net.Socket` the distribution uses
 * (`write`, `cork`, `end`, `destroy`, `pause`/`resume`, `writableLength`,
 * `bytesRead`/`bytesWritten`; events `data`, `end`, `close`, `drain`), so the
 * handshake and the connection run over it unchanged. No stream machinery:
 * a write copies into the ring at once (what does not fit waits in order
 * and leaves as the reader frees room); reading is done by this thread's
 * idle spin (`pollIdle` in src/core/scheduler.ts), and by a wake-up from
 * `Atomics.waitAsync` once the spin has parked.
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { addIdlePoller, pollIdle, type IdlePoller } from '../core/scheduler.js';
import { WRITES_TO_MEMORY } from '../distribution/transport.js';
import { ByteRing } from './shm-ring.js';

const noop = (): void => {};

/** One end of an in-host connection: reads `rx`, writes `tx`. */
export class RingSocket extends EventEmitter implements IdlePoller {
  /** {@link WRITES_TO_MEMORY}: a write is a copy into shared memory, and the peer is polling it (not parked, to be woken). */
  get [WRITES_TO_MEMORY](): boolean {
    return !this.tx.readerParked();
  }

  bytesRead = 0;
  bytesWritten = 0;
  destroyed = false;
  /** Bytes accepted by {@link write} that are not in the ring yet. */
  writableLength = 0;
  private readonly rx: ByteRing;
  private readonly tx: ByteRing;
  private readonly pending: Buffer[] = [];
  /** Offset into `pending[0]` of its first byte not yet in the ring. */
  private pendingAt = 0;
  private paused = false;
  private dataListeners = 0;
  private corks = 0;
  private ended = false;
  private readEnded = false;
  private endCallbacks: (() => void)[] = [];
  private readonly removePoller: () => void;
  /** Keeps the event loop alive while open, as an open socket does (a pending waitAsync does not). */
  private readonly keepAlive: NodeJS.Timeout;
  private readonly wake = (): void => {
    if (!this.destroyed) pollIdle();
  };

  /** An end over ring buffers made by {@link ByteRing.create} (in this thread or another). */
  constructor(rx: SharedArrayBuffer, tx: SharedArrayBuffer) {
    super();
    this.rx = new ByteRing(rx);
    this.tx = new ByteRing(tx);
    this.on('newListener', (event: string | symbol) => {
      if (event === 'data') this.dataListeners++;
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'data') this.dataListeners--;
    });
    this.keepAlive = setInterval(noop, 1 << 30);
    this.removePoller = addIdlePoller(this);
    // The peer's end (or death) is noticed even while this end reads nothing.
    this.rx.watchClose(this.wake);
    pollIdle();
  }

  /** This end as the `net.Socket` the distribution takes. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }

  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.ended) {
      if (cb !== undefined) process.nextTick(cb, new Error('write after end'));
      return false;
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytesWritten += buf.length;
    let n = 0;
    if (this.pending.length === 0) {
      n = this.tx.write(buf);
      if (this.corks === 0) this.tx.commit();
    }
    if (n < buf.length) {
      this.pending.push(Buffer.from(buf.buffer, buf.byteOffset + n, buf.length - n));
      this.writableLength += buf.length - n;
    }
    if (cb !== undefined) process.nextTick(cb);
    // Expect an answer: poll for it.
    pollIdle();
    return this.writableLength === 0;
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks > 0 && --this.corks === 0) this.tx.commit();
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    pollIdle();
    return this;
  }

  /** Sends what is queued, then the end of the stream; `cb` once it is in the ring. */
  end(cb?: () => void): this {
    if (cb !== undefined) this.endCallbacks.push(cb);
    if (this.destroyed) {
      this.finishEnd();
      return this;
    }
    this.ended = true;
    if (this.pending.length === 0) this.finishEnd();
    else pollIdle();
    return this;
  }

  /** Closes both directions at once (unsent bytes are dropped); `close` follows. */
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.rx.close();
    this.tx.close();
    this.pending.length = 0;
    this.writableLength = 0;
    this.removePoller();
    clearInterval(this.keepAlive);
    this.finishEnd();
    process.nextTick(() => {
      if (err !== undefined) this.emit('error', err);
      this.emit('close', err !== undefined);
    });
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    this.keepAlive.ref();
    return this;
  }

  unref(): this {
    this.keepAlive.unref();
    return this;
  }

  /** {@link IdlePoller}: moves queued bytes into the ring, reads what arrived, notices the end. */
  poll(): boolean {
    if (this.destroyed) return false;
    let progress = false;
    if (this.pending.length !== 0) progress = this.flushPending();
    const reading = !this.paused && this.dataListeners > 0;
    if (reading) {
      this.rx.unpark(true);
      const chunk = this.rx.read();
      if (chunk !== undefined) {
        this.bytesRead += chunk.length;
        this.emit('data', chunk);
        progress = true;
      }
    }
    if (this.destroyed) return progress;
    if (this.rx.closed && this.rx.available() === 0) {
      // The peer ended (or died): the end of the stream, then closed (no half-open sockets).
      if (!this.readEnded) {
        this.readEnded = true;
        this.emit('end');
      }
      this.destroy();
    } else if (!this.ended && this.tx.closed) this.destroy(); // the reader of our direction went away
    return progress;
  }

  /**
   * {@link IdlePoller}: whether {@link poll} would find something now (bytes to
   * read, room for queued ones, an end), from the rings' counters alone: the
   * scheduler's tight wait calls it over and over.
   */
  ready(): boolean {
    const rx = this.rx;
    if (rx.closed) return true;
    if (!this.paused && this.dataListeners > 0 && rx.available() !== 0) return true;
    const tx = this.tx;
    return (!this.ended && tx.closed) || (this.pending.length !== 0 && tx.room() !== 0);
  }

  /** {@link IdlePoller}: waits for bytes (or room for queued ones) with `Atomics.waitAsync`. */
  park(): void {
    if (this.destroyed) return;
    let now = false;
    if (!this.paused && this.dataListeners > 0 && !this.rx.parkReader(this.wake)) now = true;
    if (this.pending.length !== 0 && !this.tx.parkWriter(this.wake)) now = true;
    if (now) process.nextTick(this.wake);
  }

  private flushPending(): boolean {
    const tx = this.tx;
    let moved = 0;
    while (this.pending.length !== 0) {
      const head = this.pending[0] as Buffer;
      const n = tx.write(head, this.pendingAt);
      moved += n;
      this.pendingAt += n;
      if (this.pendingAt < head.length) break;
      this.pending.shift();
      this.pendingAt = 0;
    }
    if (moved === 0) return false;
    this.writableLength -= moved;
    if (this.corks === 0) tx.commit();
    if (this.pending.length === 0) {
      if (this.ended) this.finishEnd();
      else this.emit('drain');
    }
    return true;
  }

  private finishEnd(): void {
    if (!this.destroyed) {
      this.tx.commit();
      this.tx.close();
    }
    const cbs = this.endCallbacks;
    this.endCallbacks = [];
    for (const cb of cbs) process.nextTick(cb);
  }
}
