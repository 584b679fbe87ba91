/**
 * TCP handlers: the behavior of the processes that serve connections.
 * Each connection is owned by one handler of the pool, which gets its
 * connect, data (whole packets, or raw chunks with ergo's "unconsumed
 * bytes" contract), idle timeout and disconnect as messages.
 * @module
 */
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type InitResult, noreply, type NoReplyResult, type ServerBehavior, SETTLE, type SettleLater } from '../server/server.js';
import type { TcpConnection } from './connection.js';
import { type Framer, FramingError, type TextLineFraming } from './framing.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * @internal Messages from the listener to a handler. A `data` event is the
 * connection's own (one object, sent once per chunk read): the chunks wait,
 * in order, in the connection ({@link TcpConnection.takeChunk}).
 */
export class TcpEvent {
  constructor(
    readonly kind: 'connect' | 'data' | 'timeout' | 'disconnect',
    readonly conn: TcpConnection,
  ) {}
}

/** What `handleData` returns for a raw connection that left bytes unconsumed. */
export class Unconsumed<S> {
  constructor(
    readonly state: S,
    readonly bytes: number,
  ) {}
}

/**
 * For `raw` framing: continue with `state` and keep the last `bytes` bytes
 * of the chunk; they are prefixed to the next chunk (ergo's contract).
 *
 * @example
 * ```ts
 * handleData(conn, chunk, state) {
 *   const end = chunk.lastIndexOf(10) + 1;      // whole lines only
 *   conn.write(chunk.subarray(0, end));
 *   return unconsumed(state, chunk.length - end);
 * }
 * ```
 */
export function unconsumed<S>(state: S, bytes: number): Unconsumed<S> {
  return new Unconsumed(state, bytes);
}

/**
 * The callbacks of a TCP handler with state `S`, started with `A`, that
 * gets its data as `D`: a `Buffer` (the default), or a `string` for a
 * {@link TextLineFraming} (lines decoded as they are cut: no Buffer per
 * line). They return the next state. A handler that throws crashes: its
 * connections are closed and the pool restarts it; other handlers'
 * connections stay.
 *
 * @example
 * ```ts
 * const echo: TcpHandler<undefined> = {
 *   init: () => ok(undefined),
 *   handleData: (conn, packet, s) => (conn.send(packet), s),
 * };
 * ```
 */
export interface TcpHandler<S, A = undefined, D extends TcpData = Buffer> {
  readonly behavior?: string;
  init(args: A, ctx: Process): MaybePromise<InitResult<S>>;
  handleConnect?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  /** A whole packet (line, length-prefixed) or, for `raw`, the bytes read (after any unconsumed ones); a line as a string for a {@link TextLineFraming}. */
  handleData(conn: TcpConnection, data: D, state: S, ctx: Process): MaybePromise<S | Unconsumed<S>>;
  /** No data for the idle timeout. Default: close the connection. */
  handleTimeout?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  handleDisconnect?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  /** Any other message. */
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<S>;
  terminate?: ServerBehavior<Protocol, S, A>['terminate'];
}

/** What a handler's data is: bytes, or the lines of a {@link TextLineFraming}. */
export type TcpData = Buffer | string;

/** Any handler, as this module calls it (the data it gets follows the connection's framing). */
type AnyTcpHandler<S> = TcpHandler<S, unknown, TcpData>;

/** What handleData returned: the next state, or the state of an {@link Unconsumed}. */
function stateOf<S>(conn: TcpConnection, data: TcpData, r: S | Unconsumed<S>): S {
  if (!(r instanceof Unconsumed)) return r;
  if (conn.framer !== undefined || typeof data === 'string') return r.state;
  const n = Math.max(0, Math.min(r.bytes, data.length));
  if (n > 0) conn.leftover = Buffer.from(data.subarray(data.length - n));
  return r.state;
}

/**
 * Feeds a data chunk to the handler: one `handleData` per packet (or per
 * chunk, raw). Runs synchronously while the handler answers synchronously;
 * from the first packet whose handling is async, the server waits for it
 * and {@link PacketLater} goes on with the chunk's other packets. No array
 * per chunk, and no promise of ours per async packet.
 */
function onData<S>(h: AnyTcpHandler<S>, conn: TcpConnection, chunk: Buffer, state: S, ctx: Process): NoReplyResult<S> {
  const framer = conn.framer;
  if (framer !== undefined) {
    framer.feed(chunk);
    return packets(h, conn, framer, state, ctx);
  }
  const data = conn.leftover === undefined ? chunk : Buffer.concat([conn.leftover, chunk]);
  conn.leftover = undefined;
  const r = h.handleData(conn, data, state, ctx);
  return isThenable(r) ? later(packetLater(r, h, conn, data, ctx)) : continueWith(conn, stateOf(conn, data, r));
}

/**
 * `noreply(state)` once a connection's data is handled; the connection keeps the last one and gives it
 * again while the state is the same (a handler whose state does not change, or changes in place, costs
 * no result object per packet). Results are never changed, only replaced.
 */
function continueWith<S>(conn: TcpConnection, state: S): NoReplyResult<S> {
  const last = conn.lastResult as { readonly type: 'noreply'; readonly state: S } | undefined;
  if (last !== undefined && last.state === state) return last;
  const r = noreply(state);
  conn.lastResult = r;
  return r;
}

/** The framed packets fed to the connection and not yet handled, from `state` on. */
function packets<S>(h: AnyTcpHandler<S>, conn: TcpConnection, framer: Framer, state: S, ctx: Process): NoReplyResult<S> {
  const text = framer.encoding !== undefined;
  for (;;) {
    if (!conn.open) return noreply(state);
    let p: TcpData | undefined;
    try {
      p = text ? framer.nextText() : framer.next();
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      ctx.node.log('warning', `tcp: closing connection ${conn.id}: ${err.message}`);
      conn.destroy();
      return noreply(state);
    }
    if (p === undefined) return continueWith(conn, state);
    const r = h.handleData(conn, p, state, ctx);
    if (isThenable(r)) return later(packetLater(r, h, conn, p, ctx));
    state = stateOf(conn, p, r);
  }
}

/**
 * An async `handleData`: the server settles it, then the chunk's other packets are handled.
 * One per connection, reused packet after packet: a connection's packets are handled one at a
 * time, by its owner, so at most one of them is waited for at once.
 */
class PacketLater<S> implements SettleLater<S> {
  promise: PromiseLike<S | Unconsumed<S>>;
  packet: TcpData;
  constructor(
    promise: PromiseLike<S | Unconsumed<S>>,
    private readonly h: AnyTcpHandler<S>,
    private readonly conn: TcpConnection,
    packet: TcpData,
    readonly ctx: Process,
  ) {
    this.promise = promise;
    this.packet = packet;
  }
  [SETTLE](value: unknown): NoReplyResult<S> {
    const conn = this.conn;
    const packet = this.packet;
    this.promise = SETTLED;
    this.packet = EMPTY; // what the handler was given is not kept past its settling
    const state = stateOf(conn, packet, value as S | Unconsumed<S>);
    return conn.framer === undefined ? continueWith(conn, state) : packets(this.h, conn, conn.framer, state, this.ctx);
  }
}

const SETTLED: PromiseLike<never> = new Promise<never>(() => {});
const EMPTY = Buffer.alloc(0);

/** The connection's PacketLater, set to wait for `promise` (the owner process, `ctx`, handles all of its packets). */
function packetLater<S>(promise: PromiseLike<S | Unconsumed<S>>, h: AnyTcpHandler<S>, conn: TcpConnection, packet: TcpData, ctx: Process): PacketLater<S> {
  const l = conn.later as PacketLater<S> | undefined;
  if (l === undefined || l.promise !== SETTLED || l.ctx !== ctx) return (conn.later = new PacketLater(promise, h, conn, packet, ctx));
  l.promise = promise;
  l.packet = packet;
  return l;
}

/** Another async callback: its value is the next state. */
class StateLater<S> implements SettleLater<S> {
  constructor(readonly promise: PromiseLike<S>) {}
  [SETTLE](value: unknown): NoReplyResult<S> {
    return noreply(value as S);
  }
}

/** A SettleLater as what the server's callback returns (the server tells it apart at run time). */
function later<S>(l: SettleLater<S>): NoReplyResult<S> {
  return l as unknown as NoReplyResult<S>;
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** @internal A TCP handler as the Server behavior its pool runs. */
export function tcpHandlerServer<S, A, D extends TcpData>(handler: TcpHandler<S, A, D>): ServerBehavior<Protocol, S, A> {
  const h = handler as unknown as AnyTcpHandler<S>;
  const next = (r: MaybePromise<S>): NoReplyResult<S> => (isThenable(r) ? later(new StateLater<S>(r)) : noreply(r));
  const behavior: ServerBehavior<Protocol, S, A> = {
    behavior: handler.behavior ?? 'tcp_handler',
    init: (args, ctx) => handler.init(args, ctx),
    handleInfo(message, state, ctx) {
      if (!(message instanceof TcpEvent)) return handler.handleInfo === undefined ? noreply(state) : next(handler.handleInfo(message, state, ctx));
      const conn = message.conn;
      switch (message.kind) {
        case 'connect':
          conn.claim(ctx.self);
          return handler.handleConnect === undefined ? noreply(state) : next(handler.handleConnect(conn, state, ctx));
        case 'data': {
          const chunk = conn.takeChunk();
          return chunk === undefined ? noreply(state) : onData(h, conn, chunk, state, ctx);
        }
        case 'timeout':
          if (handler.handleTimeout !== undefined) return next(handler.handleTimeout(conn, state, ctx));
          conn.close();
          return noreply(state);
        case 'disconnect':
          return handler.handleDisconnect === undefined ? noreply(state) : next(handler.handleDisconnect(conn, state, ctx));
      }
    },
  };
  if (handler.terminate !== undefined) behavior.terminate = handler.terminate;
  return behavior;
}
