/**
 * TCP handlers: the behavior of the processes that serve connections.
 * Each connection is owned by one handler of the pool, which gets its
 * connect, data (whole packets, or raw chunks with ergo's "unconsumed
 * bytes" contract), idle timeout and disconnect as messages.
 * @module
 */
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type InitResult, noreply, type NoReplyResult, type ServerBehavior, SettleLater } from '../server/server.js';
import type { TcpConnection } from './connection.js';
import { FramingError } from './framing.js';

type MaybePromise<T> = T | Promise<T>;

/** @internal Messages from the listener to a handler. */
export class TcpEvent {
  constructor(
    readonly kind: 'connect' | 'data' | 'timeout' | 'disconnect',
    readonly conn: TcpConnection,
    readonly data: Buffer | undefined,
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
 * The callbacks of a TCP handler with state `S`, started with `A`. They
 * return the next state. A handler that throws crashes: its connections
 * are closed and the pool restarts it; other handlers' connections stay.
 *
 * @example
 * ```ts
 * const echo: TcpHandler<undefined> = {
 *   init: () => ok(undefined),
 *   handleData: (conn, packet, s) => (conn.send(packet), s),
 * };
 * ```
 */
export interface TcpHandler<S, A = undefined> {
  readonly behavior?: string;
  init(args: A, ctx: Process): MaybePromise<InitResult<S>>;
  handleConnect?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  /** A whole packet (line, length-prefixed) or, for `raw`, the bytes read (after any unconsumed ones). */
  handleData(conn: TcpConnection, data: Buffer, state: S, ctx: Process): MaybePromise<S | Unconsumed<S>>;
  /** No data for the idle timeout. Default: close the connection. */
  handleTimeout?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  handleDisconnect?(conn: TcpConnection, state: S, ctx: Process): MaybePromise<S>;
  /** Any other message. */
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<S>;
  terminate?: ServerBehavior<Protocol, S, A>['terminate'];
}

/** What handleData returned: the next state, or the state of an {@link Unconsumed}. */
function stateOf<S>(conn: TcpConnection, data: Buffer, r: S | Unconsumed<S>): S {
  if (!(r instanceof Unconsumed)) return r;
  if (conn.framer !== undefined) return r.state;
  const n = Math.max(0, Math.min(r.bytes, data.length));
  if (n > 0) conn.leftover = Buffer.from(data.subarray(data.length - n));
  return r.state;
}

/**
 * Feeds a data chunk to the handler: one `handleData` per packet (or per
 * chunk, raw). Runs synchronously while the handler answers synchronously,
 * and returns a promise only from the first packet whose handling is async,
 * so a synchronous handler costs no promise per chunk (and an async one,
 * one promise per chunk: the server's continuation comes from the run loop).
 */
function onData<S>(h: TcpHandler<S, unknown>, conn: TcpConnection, chunk: Buffer, state: S, ctx: Process): MaybePromise<NoReplyResult<S>> {
  conn.queued--;
  conn.flow();
  let packets: Buffer[];
  if (conn.framer === undefined) {
    const data = conn.leftover === undefined ? chunk : Buffer.concat([conn.leftover, chunk]);
    conn.leftover = undefined;
    packets = [data];
  } else {
    try {
      packets = conn.framer.push(chunk);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      ctx.node.log('warning', `tcp: closing connection ${conn.id}: ${err.message}`);
      conn.destroy();
      return noreply(state);
    }
  }
  for (let i = 0; i < packets.length; i++) {
    if (conn.framer !== undefined && !conn.open) break;
    const p = packets[i] as Buffer;
    const r = h.handleData(conn, p, state, ctx);
    if (isThenable(r)) {
      const next = i + 1;
      // The usual case, one packet per chunk: no further loop to run, and the server itself settles the result.
      if (next === packets.length) return new SettleLater(r, settleLast, conn, p) as unknown as Promise<NoReplyResult<S>>;
      return r.then((v) => rest(h, conn, packets, next, stateOf(conn, p, v), ctx));
    }
    state = stateOf(conn, p, r);
  }
  return noreply(state);
}

/** What the last packet's async `handleData` settled with, as the server's result. */
function settleLast(value: unknown, conn: TcpConnection, data: Buffer): NoReplyResult<unknown> {
  return noreply(stateOf(conn, data, value));
}

/** The packets after an async `handleData`, one after another. */
async function rest<S>(h: TcpHandler<S, unknown>, conn: TcpConnection, packets: Buffer[], from: number, state: S, ctx: Process): Promise<NoReplyResult<S>> {
  for (let i = from; i < packets.length; i++) {
    if (!conn.open) break;
    const p = packets[i] as Buffer;
    state = stateOf(conn, p, await h.handleData(conn, p, state, ctx));
  }
  return noreply(state);
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** @internal A TCP handler as the Server behavior its pool runs. */
export function tcpHandlerServer<S, A>(handler: TcpHandler<S, A>): ServerBehavior<Protocol, S, A> {
  const h = handler as TcpHandler<S, unknown>;
  const next = (r: MaybePromise<S>): MaybePromise<NoReplyResult<S>> => (isThenable(r) ? r.then((s) => noreply(s)) : noreply(r));
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
        case 'data':
          return onData(h, conn, message.data as Buffer, state, ctx);
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
