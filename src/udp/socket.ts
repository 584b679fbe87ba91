/**
 * UDP: ergo's gen.UDP on `node:dgram`. A socket owner process binds the
 * socket (IPv4 or IPv6) and hands each datagram to a pool of handler
 * processes (round robin) with the sender's address; handlers reply from
 * the same socket. Stopping the owner closes the socket and the pool.
 *
 * @example
 * ```ts
 * const udp = await startUdp(node, { port: 0, handler: echo, args: undefined });
 * const client = dgram.createSocket('udp4');
 * client.send('ping', udp.port, '127.0.0.1'); // 'ping' comes back
 * ```
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { Pid } from '../terms/identifiers.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { noreply, ok, type ServerBehavior, StartedServer, startServer, stop } from '../server/server.js';
import { shutdownAll } from '../supervisor/shutdown.js';
import { startPool } from '../pool/pool.js';
import { closeOnExit, ownerExitReason, ownerStartOptions } from '../pool/owner.js';
import { UdpPacket, type UdpHandler, udpHandlerServer } from './handler.js';

/** What a UDP socket owner serves and how. */
export interface UdpSpec<S, A> {
  /** Default `127.0.0.1`; an IPv6 address (`::1`, `::`) makes an IPv6 socket. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** With an IPv6 host: refuse IPv4-mapped traffic. */
  readonly ipv6Only?: boolean;
  /** SO_REUSEADDR, to share the port with other sockets. */
  readonly reuseAddr?: boolean;
  readonly handler: UdpHandler<S, A>;
  readonly args: A;
  /** Handlers in the pool; default 4. */
  readonly poolSize?: number;
  /** A handler with no datagram for this many ms gets `handleTimeout`. */
  readonly idleTimeout?: number;
  /** Receive buffer size (SO_RCVBUF) in bytes. */
  readonly recvBufferSize?: number;
}

/** Options of {@link startUdp}. */
export interface UdpStartOptions {
  readonly name?: string;
  readonly link?: boolean;
  /** Cancels the start: the owner (its pool, and its socket if already open) is killed, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** A started socket owner: its pid and where it is bound. */
export class StartedUdp extends StartedServer<Record<never, never>> {
  constructor(
    pid: Pid,
    readonly host: string,
    readonly port: number,
    readonly family: 'IPv4' | 'IPv6',
  ) {
    super(pid);
  }
}

/** The owner's state, as `getServerState` shows it. */
export interface UdpState {
  readonly socket: Socket;
  readonly pool: Pid;
}

interface Bound {
  address?: AddressInfo;
}

function ownerBehavior<S, A>(spec: UdpSpec<S, A>): ServerBehavior<Record<never, never>, UdpState, Bound> {
  return {
    behavior: 'udp',
    async init(bound, ctx) {
      const pool = (
        await startPool(
          ctx,
          { size: spec.poolSize ?? 4, worker: udpHandlerServer(spec.handler, spec.idleTimeout), args: spec.args, restartIntensity: { intensity: 1000, period: 5 } },
          { link: true },
        )
      ).pid;
      const host = spec.host ?? '127.0.0.1';
      const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: spec.reuseAddr === true, ...(spec.ipv6Only === true ? { ipv6Only: true } : {}) });
      socket.on('message', (data, rinfo) => ctx.send(pool, UdpPacket.from(data, rinfo, socket)));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: host, port: spec.port ?? 0 }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      // A killed owner (no terminate) still closes its socket, even one killed while this init awaited.
      closeOnExit(ctx, () => {
        try {
          socket.close();
        } catch {
          // already closed
        }
      });
      socket.on('error', (err) => ctx.node.log('error', `udp ${ctx.self.describe()}: ${err.message}`));
      if (spec.recvBufferSize !== undefined) socket.setRecvBufferSize(spec.recvBufferSize);
      bound.address = socket.address();
      return ok({ socket, pool });
    },
    handleInfo(message, state) {
      const reason = ownerExitReason(message, [state.pool]);
      return reason === undefined ? noreply(state) : stop(reason, state);
    },
    async terminate(_reason, state, ctx) {
      await new Promise<void>((resolve) => {
        try {
          state.socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
      if (ctx.node.isAlive(state.pool)) await shutdownAll(ctx, [state.pool], 'infinity');
    },
  };
}

/**
 * Binds a UDP socket and starts its handler pool; resolves once bound.
 * Stop it with `stopServer` or from its supervisor ({@link udpChild}).
 *
 * @example
 * ```ts
 * const udp = await startUdp(node, { host: '::1', port: 0, handler: echo, args: undefined, poolSize: 2 });
 * ```
 */
export async function startUdp<S, A>(starter: Node | Process, spec: UdpSpec<S, A>, options: UdpStartOptions = {}): Promise<StartedUdp> {
  const bound: Bound = {};
  const started = await startServer(starter, ownerBehavior(spec), bound, ownerStartOptions(options));
  const a = bound.address as AddressInfo;
  return new StartedUdp(started.pid, a.address, a.port, a.family === 'IPv6' ? 'IPv6' : 'IPv4');
}
