/**
 * The ports a local cluster of processes shares, on the primary's side: it
 * listens on each (paused sockets, `pauseOnConnect`) and hands every
 * connection to one of the nodes serving the port, over that node's IPC
 * channel: the one with the fewest connections open, ties taken in turn
 * (least connections: under keep-alive a connection stays where it landed,
 * so this is what spreads the load evenly and deterministically, where
 * node:cluster's round robin hands a burst of connections to whichever
 * worker acknowledged its last one first).
 *
 * A node serves a port once its server asked to (`listen`, see
 * shared-port-member.ts): a node that has not started its server yet gets
 * nothing. A node whose server closed, or that died, gets nothing more; a
 * connection on its way to it comes back and goes to another node. A node
 * that restarts and listens again takes connections again (having none
 * open, it takes the next ones). A port stays open while a node that served
 * it may come back (it died, or is restarting): its connections wait for a
 * node; it closes once every node that served it closed its server (or came
 * back up without it), and when the cluster stops.
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net';
import { listenOn } from '../core/listen.js';
import type { FromMember, SharedAddress, ToMember } from './protocol.js';

/** How the primary reaches a member: sends a connection's socket with a message, `done(false)` when it could not. */
export type SendConnection = (m: ToMember, socket: Socket, done: (sent: boolean) => void) => void;

/** A node serving a port. */
interface Serving {
  readonly member: number;
  readonly send: SendConnection;
  /** Connections handed and not yet closed (or given back). */
  open: number;
}

interface Port {
  readonly key: string;
  readonly host: string;
  readonly server: Server;
  readonly address: SharedAddress;
  /** The nodes serving it, by member index. */
  readonly serving: Map<number, Serving>;
  /** Nodes that served it and have not closed their server (a dead one may come back). */
  readonly claimed: Set<number>;
  /** Connections waiting for a node. */
  readonly queue: Set<Socket>;
  /** The member index chosen last (ties go to the next one). */
  last: number;
}

/** A connection handed to a member, until it says it took it. */
interface InFlight {
  readonly socket: Socket;
  readonly port: Port;
  readonly to: Serving;
}

type ListenRequest = Extract<FromMember, { type: 'listen' }>;
type ListenReply = Extract<ToMember, { type: 'listened' }>;

/** The shared ports of one local cluster (its primary's side). */
export class SharedPorts {
  private readonly ports = new Map<string, Port>();
  private readonly opening = new Map<string, Promise<Port>>();
  private readonly inFlight = new Map<number, InFlight>();
  /** Connections handed to each member (its current incarnation), for the cluster's member list. */
  private readonly taken = new Map<number, number>();
  private seq = 0;
  private stopped = false;

  /** A member's server asks to serve a port: the reply to send back. */
  async listen(member: number, send: SendConnection, m: ListenRequest, alive: () => boolean): Promise<ListenReply> {
    const key = m.port === 0 ? `${m.host}:0:${m.index}` : `${m.host}:${m.port}`;
    let port: Port;
    try {
      port = this.find(key, m.host, m.port) ?? (await this.open(key, m.host, m.port));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { type: 'listened', id: m.id, error: { code: e.code ?? 'EINVAL', message: e.message } };
    }
    // It died while the port opened: it serves nothing (its reply goes nowhere).
    if (!alive()) return { type: 'listened', id: m.id, key: port.key, address: port.address };
    if (port.serving.has(member)) return { type: 'listened', id: m.id, error: { code: 'EADDRINUSE', message: `this node already serves ${m.host}:${m.port}` } };
    port.serving.set(member, { member, send, open: 0 });
    port.claimed.add(member);
    for (const socket of port.queue) {
      port.queue.delete(socket);
      this.dispatch(port, socket);
    }
    return { type: 'listened', id: m.id, key: port.key, address: port.address };
  }

  /** A member's server of `key` closed. */
  unlisten(member: number, key: string): void {
    const port = this.ports.get(key);
    if (port === undefined) return;
    port.serving.delete(member);
    port.claimed.delete(member);
    this.closeIfUnclaimed(port);
  }

  /** A member took (or gave back) the connection `seq`. */
  ack(seq: number, accepted: boolean): void {
    const f = this.inFlight.get(seq);
    if (f === undefined) return;
    this.inFlight.delete(seq);
    if (accepted) {
      // The member has its own descriptor of it now.
      f.socket.destroy();
      return;
    }
    // Its server closed meanwhile: it serves the port no more.
    this.forget(f.to, f.port);
    this.dispatch(f.port, f.socket);
  }

  /** A connection a member took from `key` ended. */
  closed(member: number, key: string): void {
    const s = this.ports.get(key)?.serving.get(member);
    if (s !== undefined && s.open > 0) s.open--;
  }

  /** A member died: it serves nothing now; the connections on their way to it go to the others. */
  gone(member: number): void {
    this.taken.delete(member);
    for (const port of this.ports.values()) port.serving.delete(member);
    for (const [seq, f] of this.inFlight) {
      if (f.to.member !== member) continue;
      this.inFlight.delete(seq);
      this.dispatch(f.port, f.socket);
    }
  }

  /** A member (re)started and ran its start function: the ports it did not listen on again are no longer its. */
  ready(member: number): void {
    for (const port of this.ports.values()) {
      if (port.serving.has(member)) continue;
      port.claimed.delete(member);
      this.closeIfUnclaimed(port);
    }
  }

  /** Connections handed to `member` (its current incarnation), and those of them open. */
  counts(member: number): { taken: number; open: number } {
    let open = 0;
    for (const port of this.ports.values()) open += port.serving.get(member)?.open ?? 0;
    return { taken: this.taken.get(member) ?? 0, open };
  }

  /** Connections of port `key` waiting for a node to serve it. */
  queued(key: string): number {
    return this.ports.get(key)?.queue.size ?? 0;
  }

  /** Whether port `key` is open. */
  isOpen(key: string): boolean {
    return this.ports.has(key);
  }

  /** Closes every port; the connections waiting are closed. */
  close(): void {
    this.stopped = true;
    for (const port of [...this.ports.values()]) this.closePort(port);
    for (const f of this.inFlight.values()) f.socket.destroy();
    this.inFlight.clear();
  }

  /** The port `key`; a fixed port also as a port opened on port 0 that got that number. */
  private find(key: string, host: string, port: number): Port | undefined {
    const p = this.ports.get(key);
    if (p !== undefined || port === 0) return p;
    for (const q of this.ports.values()) if (q.host === host && q.address.port === port) return q;
    return undefined;
  }

  private open(key: string, host: string, port: number): Promise<Port> {
    let opening = this.opening.get(key);
    if (opening !== undefined) return opening;
    opening = this.listenPort(key, host, port).finally(() => this.opening.delete(key));
    this.opening.set(key, opening);
    return opening;
  }

  /** Listens on `host:port` for the port `key` (paused sockets: they go to a node). */
  private async listenPort(key: string, host: string, port: number): Promise<Port> {
    if (this.stopped) throw Object.assign(new Error('the cluster is stopping'), { code: 'ECANCELED' });
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    await listenOn(server, { host, port });
    const a = server.address();
    if (a === null || typeof a === 'string') {
      server.close();
      throw new Error(`shared port ${key}: no address`);
    }
    const p: Port = { key, host, server, address: { address: a.address, family: a.family, port: a.port }, serving: new Map(), claimed: new Set(), queue: new Set(), last: -1 };
    server.on('connection', (socket: Socket) => this.dispatch(p, socket));
    // An accept error: the client retries; the port stays open.
    server.on('error', () => {});
    this.ports.set(key, p);
    return p;
  }

  /** Hands `socket` to the serving member with the fewest open connections (ties in turn), or queues it. */
  private dispatch(port: Port, socket: Socket): void {
    if (socket.destroyed) return;
    let best: Serving | undefined;
    let bestRank = Infinity;
    for (const s of port.serving.values()) {
      // Rank: open connections first, then distance after the last chosen (in member index order).
      const after = s.member > port.last ? s.member - port.last : s.member - port.last + 1_000_000;
      const rank = s.open * 2_000_000 + after;
      if (rank < bestRank) {
        bestRank = rank;
        best = s;
      }
    }
    if (best === undefined) {
      if (!port.server.listening) return void socket.destroy();
      port.queue.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => port.queue.delete(socket));
      return;
    }
    const to = best;
    port.last = to.member;
    to.open++;
    this.taken.set(to.member, (this.taken.get(to.member) ?? 0) + 1);
    const seq = ++this.seq;
    this.inFlight.set(seq, { socket, port, to });
    socket.on('error', () => {});
    to.send({ type: 'conn', key: port.key, seq }, socket, (sent) => {
      if (sent || !this.inFlight.has(seq)) return;
      // The channel closed (the member is dying): another member takes it.
      this.inFlight.delete(seq);
      this.forget(to, port);
      this.dispatch(port, socket);
    });
  }

  /** `s` no longer serves `port`: it took nothing of what was counted for it. */
  private forget(s: Serving, port: Port): void {
    if (port.serving.get(s.member) === s) port.serving.delete(s.member);
    this.taken.set(s.member, Math.max(0, (this.taken.get(s.member) ?? 0) - 1));
  }

  private closeIfUnclaimed(port: Port): void {
    if (port.claimed.size === 0) this.closePort(port);
  }

  private closePort(port: Port): void {
    this.ports.delete(port.key);
    port.server.close();
    for (const socket of port.queue) socket.destroy();
    port.queue.clear();
  }
}
