/**
 * UDP handlers: the behavior of the processes that handle datagrams. Each
 * datagram goes to one handler of the pool, with the sender's address so
 * the handler can reply.
 * @module
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { atom } from '../terms/atom.js';
import type { Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type InitResult, noreply, type NoReplyResult, type ServerBehavior } from '../server/server.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * One datagram and its sender.
 *
 * @example
 * ```ts
 * handlePacket(p, s) { p.reply(`echo ${p.data}`); return s; }
 * ```
 */
export class UdpPacket {
  /** @internal */
  readonly #socket: Socket;
  /** @internal */
  constructor(
    readonly data: Buffer,
    /** The sender. */
    readonly address: string,
    readonly port: number,
    readonly family: 'IPv4' | 'IPv6',
    socket: Socket,
  ) {
    this.#socket = socket;
  }

  /** @internal */
  static from(data: Buffer, rinfo: RemoteInfo, socket: Socket): UdpPacket {
    return new UdpPacket(data, rinfo.address, rinfo.port, rinfo.family, socket);
  }

  /** Sends `data` back to the sender from the listening socket. Resolves once sent; rejects on a send error. */
  reply(data: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.send(data, this.port, this.address, (err) => (err ? reject(err) : resolve())));
  }
}

/**
 * The callbacks of a UDP handler with state `S`, started with `A`; they
 * return the next state. A handler that throws is restarted by the pool.
 *
 * @example
 * ```ts
 * const echo: UdpHandler<undefined> = { init: () => ok(undefined), handlePacket: (p, s) => (void p.reply(p.data), s) };
 * ```
 */
export interface UdpHandler<S, A = undefined> {
  readonly behavior?: string;
  init(args: A, ctx: Process): MaybePromise<InitResult<S>>;
  handlePacket(packet: UdpPacket, state: S, ctx: Process): MaybePromise<S>;
  /** No datagram for the listener's `idleTimeout`. */
  handleTimeout?(state: S, ctx: Process): MaybePromise<S>;
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<S>;
  terminate?: ServerBehavior<Protocol, S, A>['terminate'];
}

/** @internal A UDP handler as the Server behavior its pool runs. */
export function udpHandlerServer<S, A>(handler: UdpHandler<S, A>, idleTimeout: number | undefined): ServerBehavior<Protocol, S, A> {
  const opts = idleTimeout === undefined ? undefined : { timeout: idleTimeout };
  const next = (r: MaybePromise<S>): MaybePromise<NoReplyResult<S>> =>
    typeof (r as { then?: unknown } | null)?.then === 'function' ? (r as Promise<S>).then((s) => noreply(s, opts)) : noreply(r as S, opts);
  const timeout = atom('timeout');
  const behavior: ServerBehavior<Protocol, S, A> = {
    behavior: handler.behavior ?? 'udp_handler',
    async init(args, ctx) {
      const r = await handler.init(args, ctx);
      return r.type === 'ok' && opts !== undefined ? { ...r, next: opts } : r;
    },
    handleInfo(message, state, ctx) {
      if (message instanceof UdpPacket) return next(handler.handlePacket(message, state, ctx));
      if (message === timeout && handler.handleTimeout !== undefined) return next(handler.handleTimeout(state, ctx));
      return handler.handleInfo === undefined ? noreply(state, opts) : next(handler.handleInfo(message, state, ctx));
    },
  };
  if (handler.terminate !== undefined) behavior.terminate = handler.terminate;
  return behavior;
}
