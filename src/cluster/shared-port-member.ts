/**
 * A node's side of the ports a local cluster of processes shares: the
 * {@link ListenProvider} a member installs, so that a Web or TCP server
 * started on it serves the cluster's port. The server listens privately (a
 * Unix socket of its own, so that it is a listening server in every way:
 * timeouts, connection tracking, close), asks the primary to share the
 * port, and takes each connection the primary hands it over the IPC channel
 * (`server.emit('connection', socket)`), acknowledging it; the primary
 * counts the ones open (a `conn-closed` when one ends) to hand the next to
 * the node with the fewest. A server closed (a gateway stopping, a drain)
 * tells the primary; a connection handed meanwhile finds it not listening
 * and goes back to the primary, which gives it to another node.
 * @module
 */
import { rmSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn, type ListenProvider, type ListenSpec } from '../core/listen.js';
import type { FromMember, ToMember } from './protocol.js';

/** A Unix socket path no other process uses: the abstract namespace on Linux (nothing on disk), a file elsewhere. */
function privatePath(n: number): string {
  const name = `beamline-${process.pid}-${n}.sock`;
  if (process.platform === 'linux') return `\0${name}`;
  const path = join(tmpdir(), name);
  rmSync(path, { force: true });
  return path;
}

/** What the primary answered a `listen`. */
type ListenReply = Extract<ToMember, { type: 'listened' }>;

/** The member's shared ports: `provider` to install, `handle` for the primary's messages (with the handle sent beside). */
export interface MemberSharedPorts {
  readonly provider: ListenProvider;
  /** Handles the primary's `listened` and `conn` messages; false for any other message. */
  handle(m: ToMember, socket: unknown): boolean;
}

/** The shared-port side of a member whose channel to the primary is `send`. */
export function memberSharedPorts(send: (m: FromMember) => void): MemberSharedPorts {
  const servers = new Map<string, { server: Server; open: number }>();
  const waiting = new Map<number, (reply: ListenReply) => void>();
  // Per host, the indexes of this node's open servers on port 0: the n-th of every node shares one port (as node:cluster does).
  const indexes = new Map<string, Set<number>>();
  let nextId = 1;

  const provider: ListenProvider = async (server: Server, spec: ListenSpec): Promise<AddressInfo> => {
    const id = nextId++;
    // A fixed port is one port; on port 0, the lowest index free on this node (a server started again takes its place back).
    let index = 0;
    let used: Set<number> | undefined;
    if (spec.port === 0) {
      used = indexes.get(spec.host) ?? new Set<number>();
      indexes.set(spec.host, used);
      while (used.has(index)) index++;
      used.add(index);
    }
    const release = (): void => void used?.delete(index);
    try {
      // exclusive: a node:cluster worker would otherwise ask its primary to share this path.
      await listenOn(server, { path: privatePath(id), exclusive: true });
    } catch (err) {
      release();
      throw err;
    }
    const reply = await new Promise<ListenReply>((resolve) => {
      waiting.set(id, resolve);
      send({ type: 'listen', id, host: spec.host, port: spec.port, index });
    });
    if (reply.error !== undefined) {
      release();
      server.close();
      throw Object.assign(new Error(`listen ${reply.error.code} ${spec.host}:${spec.port}: ${reply.error.message}`), { code: reply.error.code });
    }
    const { key, address } = reply;
    const entry = { server, open: 0 };
    servers.set(key, entry);
    // Closed (a gateway stopping): no more connections. One already on its way finds it not listening and is given back.
    server.once('close', () => {
      release();
      if (servers.get(key) !== entry) return;
      servers.delete(key);
      send({ type: 'unlisten', key });
    });
    return address;
  };

  const handle = (m: ToMember, socket: unknown): boolean => {
    if (m.type === 'listened') {
      const resolve = waiting.get(m.id);
      waiting.delete(m.id);
      resolve?.(m);
      return true;
    }
    if (m.type !== 'conn') return false;
    const entry = servers.get(m.key);
    const s = socket as Socket | undefined;
    if (entry === undefined || s === undefined || !entry.server.listening) {
      s?.destroy();
      send({ type: 'conn-ack', seq: m.seq, accepted: false });
      return true;
    }
    send({ type: 'conn-ack', seq: m.seq, accepted: true });
    const { server } = entry;
    // As net.Server does for a connection over its limit: close it.
    if (server.maxConnections > 0 && entry.open >= server.maxConnections) {
      s.destroy();
      send({ type: 'conn-closed', key: m.key });
      return true;
    }
    // What net.Server does to a connection it accepts itself (an HTTP server's noDelay is on by default).
    const options = server as Server & { noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number; pauseOnConnect?: boolean };
    if (options.noDelay === true) s.setNoDelay(true);
    if (options.keepAlive === true) s.setKeepAlive(true, (options.keepAliveInitialDelay ?? 0) * 1000);
    if (options.pauseOnConnect === true) s.pause();
    entry.open++;
    s.once('close', () => {
      entry.open--;
      send({ type: 'conn-closed', key: m.key });
    });
    server.emit('connection', s);
    return true;
  };

  return { provider, handle };
}
