/**
 * An embedded EPMD server, usable by real `erl` nodes, by the `epmd -names`
 * client and by {@link registerNode}/{@link lookupNode}.
 *
 * - ALIVE2_REQ registers a node for as long as its connection stays open and
 *   answers ALIVE2_X_RESP with a random non-zero 32-bit creation; a name
 *   already registered is refused (result 1) and the connection closed.
 * - PORT_PLEASE2_REQ and NAMES_REQ are answered, then the connection closed.
 * - KILL_REQ is honoured (`OK`) only with the `onKill` option and no node
 *   registered (`NO` otherwise), like `epmd -kill` without `-relaxed_command_check`.
 * - Anything else, a malformed or oversized request, or a client that does
 *   not complete a request within `requestTimeout` closes only that socket.
 * @module
 */
import { randomInt } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ByteReader } from '../bytes.js';
import { DistError } from '../errors.js';
import {
  DEFAULT_EPMD_PORT,
  EPMD,
  decodeAlive2Req,
  decodePortPlease2Req,
  encodeAlive2XResp,
  encodeNamesResp,
  encodePort2Resp,
  type EpmdNodeInfo,
} from './protocol.js';

/** A node registered with the embedded server. */
export interface RegisteredNode extends EpmdNodeInfo {
  /** The creation issued at registration. */
  readonly creation: number;
}

/** Options of {@link EpmdServer.start}. */
export interface EpmdServerOptions {
  /** Port to listen on; default 4369; 0 picks a free port. */
  port?: number;
  /** Address to listen on; default `127.0.0.1`. */
  host?: string;
  /** Milliseconds a client has to send a complete request; default 10000. */
  requestTimeout?: number;
  /** Most nodes registered at once; default 4096. */
  maxNodes?: number;
  /**
   * Honour KILL_REQ (`epmd -kill`, {@link killEpmd}) when no node is
   * registered: answer `OK` and call this. Without it KILL_REQ closes the socket.
   */
  onKill?: () => void;
}

type Listener = (node: RegisteredNode) => void;

/** The embedded EPMD server. */
export class EpmdServer {
  private readonly registered = new Map<string, { node: RegisteredNode; socket: Socket }>();
  private readonly sockets = new Set<Socket>();
  private readonly registerListeners = new Set<Listener>();
  private readonly unregisterListeners = new Set<Listener>();
  private readonly requestTimeout: number;
  private readonly maxNodes: number;
  private readonly onKill: (() => void) | undefined;

  private constructor(
    private readonly server: Server,
    /** The port the server listens on. */
    readonly port: number,
    /** The address the server listens on. */
    readonly host: string,
    options: EpmdServerOptions,
  ) {
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.maxNodes = options.maxNodes ?? 4096;
    this.onKill = options.onKill;
  }

  /** Starts listening. Rejects with the listen error (for example EADDRINUSE) as a Node.js error. */
  static async start(options: EpmdServerOptions = {}): Promise<EpmdServer> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port ?? DEFAULT_EPMD_PORT, host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const epmd = new EpmdServer(server, (server.address() as AddressInfo).port, host, options);
    server.on('connection', (socket) => epmd.handle(socket));
    server.on('error', () => {}); // accept errors (EMFILE) must not crash the process
    return epmd;
  }

  /** The registered nodes. */
  nodes(): RegisteredNode[] {
    return [...this.registered.values()].map((r) => r.node);
  }

  /** The registered node with this name part, if any. */
  lookup(name: string): RegisteredNode | undefined {
    return this.registered.get(name)?.node;
  }

  /** Calls `fn` for each registration; returns a function that removes the listener. */
  onRegister(fn: Listener): () => void {
    this.registerListeners.add(fn);
    return () => this.registerListeners.delete(fn);
  }

  /** Calls `fn` for each unregistration; returns a function that removes the listener. */
  onUnregister(fn: Listener): () => void {
    this.unregisterListeners.add(fn);
    return () => this.unregisterListeners.delete(fn);
  }

  /** Resolves when a node with this name part is registered (at once if it is already). */
  waitForNode(name: string, timeout = 30_000): Promise<RegisteredNode> {
    const now = this.lookup(name);
    if (now !== undefined) return Promise.resolve(now);
    return this.waitFor(this.registerListeners, name, timeout, 'register');
  }

  /** Resolves when no node with this name part is registered. */
  async waitForUnregister(name: string, timeout = 30_000): Promise<void> {
    if (this.lookup(name) !== undefined) await this.waitFor(this.unregisterListeners, name, timeout, 'unregister');
  }

  private waitFor(listeners: Set<Listener>, name: string, timeout: number, what: string): Promise<RegisteredNode> {
    return new Promise((resolve, reject) => {
      const listener: Listener = (node) => {
        if (node.name !== name) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(node);
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new DistError('epmd_timeout', `${name} did not ${what} within ${timeout} ms`));
      }, timeout);
      listeners.add(listener);
    });
  }

  /** Stops listening and closes every connection (which unregisters every node). */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closing;
  }

  private handle(socket: Socket): void {
    this.sockets.add(socket);
    let buf: Buffer = Buffer.alloc(0);
    let handled = false;
    socket.setTimeout(this.requestTimeout, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const [name, r] of this.registered) {
        if (r.socket === socket) {
          this.registered.delete(name);
          for (const fn of this.unregisterListeners) fn(r.node);
        }
      }
    });
    socket.on('data', (chunk: Buffer) => {
      if (handled) return; // a registered node sends nothing more; ignore
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (len === 0 || buf.length > 2 + len) {
        socket.destroy(); // empty request, or bytes beyond the one request: not an EPMD client
        return;
      }
      if (buf.length < 2 + len) return;
      handled = true;
      socket.setTimeout(0);
      try {
        this.request(socket, buf.subarray(2));
      } catch {
        socket.destroy();
      }
    });
  }

  private request(socket: Socket, body: Buffer): void {
    const r = new ByteReader(body, 'epmd_protocol');
    const tag = r.u8('tag');
    switch (tag) {
      case EPMD.ALIVE2_REQ: {
        const info = decodeAlive2Req(r);
        if (this.registered.has(info.name) || this.registered.size >= this.maxNodes) {
          socket.end(encodeAlive2XResp(1, 0));
          return;
        }
        const node: RegisteredNode = { ...info, creation: randomInt(1, 0x1_0000_0000) };
        this.registered.set(info.name, { node, socket });
        socket.write(encodeAlive2XResp(0, node.creation));
        for (const fn of this.registerListeners) fn(node);
        return;
      }
      case EPMD.PORT_PLEASE2_REQ:
        socket.end(encodePort2Resp(this.lookup(decodePortPlease2Req(r))));
        return;
      case EPMD.NAMES_REQ:
        socket.end(encodeNamesResp(this.port, this.nodes()));
        return;
      case EPMD.KILL_REQ: {
        const kill = this.onKill;
        if (kill === undefined) break;
        const ok = this.registered.size === 0;
        socket.end(ok ? 'OK' : 'NO', () => {
          if (ok) kill();
        });
        return;
      }
      default:
        break;
    }
    socket.destroy();
  }
}
