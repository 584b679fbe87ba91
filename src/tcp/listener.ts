/**
 * TCP: ergo's gen.TCP on `node:net` / `node:tls`. A listener process
 * accepts connections and hands each to one handler of a pool (round
 * robin); the handler then gets the connection's events as messages.
 * A handler that crashes loses its connections (they are closed) and is
 * restarted; stopping the listener closes the server and every connection.
 *
 * @example
 * ```ts
 * const echo: TcpHandler<undefined> = { init: () => ok(undefined), handleData: (c, p, s) => (c.send(p), s) };
 * const tcp = await startTcp(node, { port: 0, framing: 'line', handler: echo, args: undefined });
 * const socket = net.connect(tcp.port, '127.0.0.1'); // "hi\n" comes back as "hi\n"
 * ```
 * @module
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Pid } from '../terms/identifiers.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { listenServer } from '../core/listen.js';
import { noreply, ok, type ServerBehavior, StartedServer, startServer, stop } from '../server/server.js';
import { shutdownAll } from '../supervisor/shutdown.js';
import { startPool } from '../pool/pool.js';
import { closeOnExit, ownerExitReason, ownerStartOptions } from '../pool/owner.js';
import { TcpConnection } from './connection.js';
import type { Framing, TextLineFraming } from './framing.js';
import { type TcpData, TcpEvent, type TcpHandler, tcpHandlerServer } from './handler.js';
import { sweepIdle } from './idle-sweep.js';

/**
 * What a TCP listener serves and how. `D` is the data its handler gets: a
 * `Buffer` (any {@link Framing}), or a `string` for a {@link TextLineFraming},
 * which is then required.
 */
export type TcpSpec<S, A, D extends TcpData = Buffer> = TcpSpecBase<S, A, D> &
  ([D] extends [string] ? { readonly framing: TextLineFraming } : { /** Default `raw`. */ readonly framing?: Framing });

/** A {@link TcpSpec} but its framing. */
export interface TcpSpecBase<S, A, D extends TcpData> {
  /** Default `127.0.0.1`; `::` or `0.0.0.0` for all interfaces. */
  readonly host?: string;
  /** Default 0: a free port (see {@link StartedTcp.port}). */
  readonly port?: number;
  /** Serve TLS with these options (key, cert...). */
  readonly tls?: TlsOptions;
  /**
   * Let several listeners bind the same port (SO_REUSEPORT). Passed to
   * `listen`; Node honours it from v22.12/v23.1 on Linux and BSD, and
   * ignores it on older runtimes (Node 20 included).
   */
  readonly reusePort?: boolean;
  readonly handler: TcpHandler<S, A, D>;
  readonly args: A;
  /** Handlers in the pool; default 4. */
  readonly poolSize?: number;
  /**
   * Close (or call `handleTimeout` on) a connection with no activity for this many ms. Default: none.
   * One sweep per listener checks every `idleTimeout / 8` ms (5 ms to 1 s), so the timeout fires no
   * earlier than this and at most a quarter of it (2 s at most) later.
   */
  readonly idleTimeout?: number;
  /** Refuse connections beyond this many. */
  readonly maxConnections?: number;
  /** TCP keep-alive probes after this many ms idle. Default: off. */
  readonly keepAlive?: number;
  /** Disable Nagle's algorithm; default true. */
  readonly noDelay?: boolean;
}

/** Options of {@link startTcp}. */
export interface TcpStartOptions {
  readonly name?: string;
  readonly link?: boolean;
  /** Cancels the start: the owner (its pool, and its socket if already open) is killed, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** A started listener: its pid and where it listens. */
export class StartedTcp extends StartedServer<Record<never, never>> {
  constructor(
    pid: Pid,
    readonly host: string,
    readonly port: number,
  ) {
    super(pid);
  }
}

/** The listener's state, as `getServerState` shows it. */
export interface TcpState {
  readonly server: Server;
  readonly pool: Pid;
  readonly connections: Set<TcpConnection>;
}

interface Listening {
  address?: AddressInfo;
}

function pidKey(p: Pid): string {
  return `${p.id}.${p.serial}.${p.creation}`;
}

function listenerBehavior<S, A, D extends TcpData>(spec: TcpSpec<S, A, D>): ServerBehavior<Record<never, never>, TcpState, Listening> {
  const framing: Framing | TextLineFraming = spec.framing ?? 'raw';
  return {
    behavior: 'tcp',
    async init(listening, ctx) {
      const pool = (
        await startPool(ctx, { size: spec.poolSize ?? 4, worker: tcpHandlerServer(spec.handler), args: spec.args, restartIntensity: { intensity: 1000, period: 5 } }, { link: true })
      ).pid;
      const connections = new Set<TcpConnection>();
      const owned = new Map<string, Set<TcpConnection>>();
      let nextId = 0;
      // The connections of a handler that exits (crash, kill) are closed; the pool restarts the handler.
      const onClaim = (conn: TcpConnection): void => {
        const owner = conn.owner as Pid;
        const key = pidKey(owner);
        let set = owned.get(key);
        if (set === undefined) {
          const s = new Set<TcpConnection>();
          owned.set(key, (set = s));
          void ctx.node.waitExit(owner).then(() => {
            owned.delete(key);
            for (const c of s) c.destroy();
          });
        }
        if (!connections.has(conn)) {
          ctx.send(owner, new TcpEvent('disconnect', conn)); // it closed while queued
          return;
        }
        set.add(conn);
        conn.socket.once('close', () => set.delete(conn));
      };
      const onSocket = (socket: Socket): void => {
        const conn = new TcpConnection(++nextId, socket, framing);
        conn.onClaim = onClaim;
        connections.add(conn);
        socket.setNoDelay(spec.noDelay ?? true);
        if (spec.keepAlive !== undefined) socket.setKeepAlive(true, spec.keepAlive);
        conn.activeAt = Date.now(); // the idle timeout counts from the accept
        // One data message object per connection, sent once per chunk; the chunks wait in the connection, in order.
        const data = new TcpEvent('data', conn);
        socket.on('data', (chunk: Buffer) => {
          conn.active = true;
          if (conn.owner === undefined) return;
          conn.chunkRead(chunk);
          // An idle owner handles it now, in this callback, as the scheduler would have next.
          ctx.sendNow(conn.owner, data);
        });
        socket.pause(); // until a handler takes it
        socket.on('error', () => {}); // 'close' follows
        socket.once('close', () => {
          connections.delete(conn);
          if (conn.owner !== undefined) ctx.send(conn.owner, new TcpEvent('disconnect', conn));
        });
        ctx.send(pool, new TcpEvent('connect', conn));
      };
      const server = spec.tls !== undefined ? createTlsServer(spec.tls) : createNetServer();
      server.on(spec.tls !== undefined ? 'secureConnection' : 'connection', onSocket);
      if (spec.tls !== undefined) server.on('tlsClientError', () => {});
      if (spec.maxConnections !== undefined) server.maxConnections = spec.maxConnections;
      // On a node of a local cluster of processes, the port is the cluster's, served by every node.
      const address = await listenServer(server, { host: spec.host ?? '127.0.0.1', port: spec.port ?? 0, reusePort: spec.reusePort === true });
      // One sweep for the connections' idle timeouts, rather than a socket timer re-armed on every read and write.
      const stopSweep =
        spec.idleTimeout === undefined
          ? () => {}
          : sweepIdle(connections, spec.idleTimeout, (conn) => conn.owner !== undefined && ctx.send(conn.owner, new TcpEvent('timeout', conn)));
      // A killed listener (no terminate) still closes its sockets, even one killed while this init awaited.
      closeOnExit(ctx, () => {
        stopSweep();
        server.close();
        for (const c of connections) c.destroy();
      });
      server.on('error', (err) => ctx.node.log('error', `tcp ${ctx.self.describe()}: ${err.message}`));
      listening.address = address;
      return ok({ server, pool, connections });
    },
    handleInfo(message, state) {
      const reason = ownerExitReason(message, [state.pool]);
      return reason === undefined ? noreply(state) : stop(reason, state);
    },
    async terminate(_reason, state, ctx) {
      const closed = new Promise<void>((resolve) => state.server.close(() => resolve()));
      for (const c of state.connections) c.destroy();
      await closed;
      if (ctx.node.isAlive(state.pool)) await shutdownAll(ctx, [state.pool], 'infinity');
    },
  };
}

/**
 * Starts a TCP listener and its handler pool; resolves once it listens.
 * Stop it with `stopServer` or from its supervisor ({@link tcpChild}).
 *
 * @example
 * ```ts
 * const tcp = await startTcp(node, { framing: { type: 'length', bytes: 4 }, handler: rpc, args: db, poolSize: 8, idleTimeout: 60_000 });
 * ```
 */
export async function startTcp<S, A, D extends TcpData = Buffer>(starter: Node | Process, spec: TcpSpec<S, A, D>, options: TcpStartOptions = {}): Promise<StartedTcp> {
  const listening: Listening = {};
  const started = await startServer(starter, listenerBehavior(spec), listening, ownerStartOptions(options));
  const address = listening.address as AddressInfo;
  return new StartedTcp(started.pid, address.address, address.port);
}
