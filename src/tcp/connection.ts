/**
 * A TCP connection as its handler sees it: who is on the other side,
 * writing (framed or raw) with backpressure, closing. Reading is paused
 * while the socket's write buffer is full or the handler lags behind, so
 * neither side's memory grows without bound.
 *
 * Writes are held to the end of the event-loop turn and handed to the
 * socket together once the turn's reads are served (one `socket.write` per
 * connection and turn; a `setImmediate` for all connections, never a
 * timer). Why: a request reaches its handler process and the reply comes
 * back in microtasks, so a server that answered at once would write in the
 * middle of the poll phase, and each write wakes the client while the
 * server still has readable sockets to serve. Holding the bytes ourselves
 * rather than corking the socket spares the stream its buffered-write
 * bookkeeping. While turns carry a single connection's writes each, writes
 * go out at once (TurnBatch's direct mode).
 * @module
 */
import type { Socket } from 'node:net';
import type { Pid } from '../terms/identifiers.js';
import { Queue } from '../core/queue.js';
import { TurnBatch } from '../core/turn-batch.js';
import { type Framing, framePacket, Framer, type TextLineFraming } from './framing.js';

/** Data messages in a handler's mailbox for one connection before the socket stops reading. */
const MAX_QUEUED = 8;

/** The connections holding writes in this turn. */
const heldWrites = new TurnBatch<TcpConnection>((conn) => conn.flushHeld());

/**
 * One accepted connection. Handlers receive it in every callback.
 *
 * @example
 * ```ts
 * handleData(conn, packet, state) {
 *   if (!conn.send(packet)) await conn.drain(); // echo, waiting when the client reads slowly
 *   return state;
 * }
 * ```
 */
export class TcpConnection {
  /** @internal The handler process that owns the connection. */
  owner: Pid | undefined;
  /** @internal ergo's raw contract: bytes the handler did not consume. */
  leftover: Buffer | undefined;
  /** @internal */
  readonly framer: Framer | undefined;
  /** @internal Data messages sent to the owner and not yet handled. */
  queued = 0;
  /** @internal The handler's continuation of its last async packet (handler.ts's PacketLater, reused). */
  later: object | undefined;
  /** @internal The handler's last `noreply` result for this connection's data (handler.ts's continueWith). */
  lastResult: { readonly type: 'noreply'; readonly state: unknown } | undefined;
  /** The oldest chunk read and not yet taken by the owner; the ones after it wait in {@link moreChunks}. */
  private chunk: Buffer | undefined;
  private moreChunks: Queue<Buffer> | undefined;
  /** @internal Read or written since the listener's last idle sweep (see idle-sweep.ts). */
  active = false;
  /** @internal When the idle sweep last saw activity (ms, Date.now()). */
  activeAt = 0;
  /** @internal The idle timeout fired and no activity came since. */
  idleFired = false;
  /** Bytes written in this turn and not yet given to the socket (strings of a turn are joined). */
  private held: Uint8Array | string | undefined;
  /** The turn's writes after `held` when they could not be joined to it. */
  private heldMore: (Uint8Array | string)[] | undefined;
  /** Length of what is held, counted as the socket counts its buffer (bytes, or characters of a string). */
  private heldLength = 0;
  private writeBlocked = false;
  /** Whether reading is paused (the listener pauses a socket until a handler takes it; {@link flow} calls pause/resume on changes only). */
  private paused = true;
  private closed = false;

  /** @internal */
  constructor(
    /** Unique per listener. */
    readonly id: number,
    /** @internal */
    readonly socket: Socket,
    readonly framing: Framing | TextLineFraming,
  ) {
    this.framer = framing === 'raw' ? undefined : new Framer(framing);
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.flow();
    });
    socket.once('close', () => (this.closed = true));
    // The peer's FIN: the socket ends its side on the next tick; what this turn wrote goes out before it.
    socket.once('end', () => this.flushHeld());
  }

  /** The peer's address. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  /** True until the connection has closed. */
  get open(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Sends one packet, framed by the connection's framing. Returns false when the write buffer is full: wait for {@link drain}. */
  send(packet: Uint8Array | string): boolean {
    return this.write(framePacket(this.framing, packet));
  }

  /**
   * Writes bytes as they are (no framing). Returns false when the write buffer is full.
   * The bytes leave with the connection's other writes of this event-loop turn, once its reads are served.
   */
  write(data: Uint8Array | string): boolean {
    if (!this.open) return false;
    this.active = true;
    const s = this.socket;
    const length = this.heldLength + data.length;
    if (s.writableLength + length < s.writableHighWaterMark) {
      const held = this.held;
      this.heldLength = length;
      if (held === undefined) {
        this.held = data;
        heldWrites.add(this); // may write at once (direct mode)
      } else if (typeof held === 'string' && typeof data === 'string' && this.heldMore === undefined) this.held = held + data;
      else (this.heldMore ??= []).push(data);
      return true;
    }
    // Past the high-water mark: everything goes to the socket now, and its 'drain' tells when to write again.
    this.flushHeld();
    const ok = s.write(data);
    if (!ok) this.blocked();
    return ok;
  }

  /** @internal Gives what this turn wrote to the socket: one write, or one writev for writes that could not be joined. */
  flushHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    const more = this.heldMore;
    this.held = this.heldMore = undefined;
    this.heldLength = 0;
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    let ok: boolean;
    if (more === undefined) ok = s.write(held);
    else {
      s.cork();
      ok = s.write(held);
      for (const d of more) ok = s.write(d);
      s.uncork();
    }
    if (!ok) this.blocked();
  }

  private blocked(): void {
    this.writeBlocked = true;
    this.flow();
  }

  /** Resolves when the write buffer has room again (at once if it has, or if the connection closed). */
  drain(): Promise<void> {
    if (!this.writeBlocked || !this.open) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Closes the connection after pending writes (half-close, then the socket closes). */
  close(): void {
    if (!this.open) return;
    this.flushHeld();
    this.socket.end();
  }

  /** Closes the connection at once (what was written before is handed to the kernel first, as it would have been without batching). */
  destroy(): void {
    this.flushHeld();
    this.socket.destroy();
  }

  /** @internal Set by the listener: told when a handler takes the connection. */
  onClaim: ((conn: TcpConnection) => void) | undefined;

  /** @internal The handler `pid` takes the connection: reading starts. */
  claim(pid: Pid): void {
    this.owner = pid;
    this.onClaim?.(this);
    this.flow();
  }

  /**
   * @internal A chunk was read for the owner: it waits here, in order, until the owner handles the
   * data message the listener sends for it. Reading pauses once the owner lags {@link MAX_QUEUED} chunks behind.
   */
  chunkRead(chunk: Buffer): void {
    if (this.chunk === undefined) this.chunk = chunk;
    else (this.moreChunks ??= new Queue<Buffer>(MAX_QUEUED)).push(chunk);
    if (++this.queued >= MAX_QUEUED) this.flow();
  }

  /** @internal The owner takes the oldest chunk read (undefined if none waits): reading resumes if the lag paused it. */
  takeChunk(): Buffer | undefined {
    const chunk = this.chunk;
    if (chunk === undefined) return undefined;
    this.chunk = this.moreChunks === undefined || this.moreChunks.length === 0 ? undefined : this.moreChunks.shift();
    this.queued--;
    if (this.paused) this.flow();
    return chunk;
  }

  /** @internal Pauses reading while writes are blocked or the handler lags; resumes otherwise. */
  flow(): void {
    if (!this.open || this.owner === undefined) return;
    const pause = this.writeBlocked || this.queued >= MAX_QUEUED;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }
}
