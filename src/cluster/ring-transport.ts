/**
 * The in-host transport of a local cluster whose nodes are worker threads:
 * each connection is a pair of shared-memory rings ({@link RingSocket}),
 * set up through the thread that hosts the nodes (a {@link RingSwitch}).
 * A node announces the TCP port it listens on; a node connecting to a port
 * of the cluster makes the two rings and sends them, through the switch, to
 * the port's node, which accepts them as an incoming socket. The same
 * handshake, frames and control messages as over TCP; each node still
 * listens on TCP for Erlang and for nodes of other hosts, and a connection
 * the port's node declines goes over TCP. When a node's thread dies, the
 * switch closes every ring it had, so its peers see the connection close at
 * once (and `noconnection`), as they would see a socket's.
 * @module
 */
import type { Socket } from 'node:net';
import type { InHostTransport } from '../distribution/transport.js';
import { ByteRing } from './shm-ring.js';
import { RingSocket } from './ring-socket.js';

/** Node → switch. */
export type FromRingNode =
  | { readonly type: 'ring-listen'; readonly tcpPort: number }
  | { readonly type: 'ring-unlisten'; readonly tcpPort: number }
  /** `a` carries connector → acceptor, `b` acceptor → connector. */
  | { readonly type: 'ring-connect'; readonly id: number; readonly tcpPort: number; readonly a: SharedArrayBuffer; readonly b: SharedArrayBuffer }
  | { readonly type: 'ring-accepted'; readonly id: number; readonly ok: boolean };

/** Switch → node. */
export type ToRingNode =
  /** Every TCP port of the cluster's nodes (a connection to one of them goes over rings). */
  | { readonly type: 'ring-ports'; readonly ports: readonly number[] }
  | { readonly type: 'ring-accept'; readonly id: number; readonly tcpPort: number; readonly a: SharedArrayBuffer; readonly b: SharedArrayBuffer }
  | { readonly type: 'ring-connected'; readonly id: number; readonly ok: boolean };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const CONNECT_TIMEOUT_MS = 7000;

/** A node's ring transport: an {@link InHostTransport}, fed the switch's messages through {@link handle}. */
export interface RingTransport extends InHostTransport {
  /** Handles a message from the switch; false when it is not one of the ring transport's. */
  handle(m: { readonly type: string }): boolean;
  /** Connections this node made over rings. */
  readonly connects: number;
}

/** A node's {@link RingTransport}: `send` reaches the switch; rings of `ringBytes` bytes (a power of two) each way. */
export function ringTransport(send: (m: FromRingNode) => void, ringBytes: number): RingTransport {
  ByteRing.create(ringBytes); // checks the size at once
  const ports = new Set<number>();
  const listeners = new Map<number, (s: Socket) => void>();
  const connecting = new Map<number, { resolve: (s: Socket) => void; reject: (e: Error) => void; a: SharedArrayBuffer; b: SharedArrayBuffer }>();
  let nextId = 1;
  let connects = 0;
  return {
    get connects() {
      return connects;
    },
    listen(tcpPort, onSocket) {
      listeners.set(tcpPort, onSocket);
      send({ type: 'ring-listen', tcpPort });
      return Promise.resolve(() => {
        listeners.delete(tcpPort);
        send({ type: 'ring-unlisten', tcpPort });
        return Promise.resolve();
      });
    },
    connect(host, tcpPort) {
      if (!LOOPBACK.has(host) || !ports.has(tcpPort) || listeners.has(tcpPort)) return undefined;
      const a = ByteRing.create(ringBytes).sab;
      const b = ByteRing.create(ringBytes).sab;
      const id = nextId++;
      return new Promise<Socket>((resolve, reject) => {
        connecting.set(id, { resolve, reject, a, b });
        send({ type: 'ring-connect', id, tcpPort, a, b });
        // No answer (a host that stopped relaying): the caller falls back to TCP.
        setTimeout(() => {
          if (connecting.delete(id)) reject(new Error('no answer to an in-host connection'));
        }, CONNECT_TIMEOUT_MS).unref();
      });
    },
    handle(m) {
      const r = m as ToRingNode;
      switch (r.type) {
        case 'ring-ports':
          ports.clear();
          for (const p of r.ports) ports.add(p);
          return true;
        case 'ring-accept': {
          const onSocket = listeners.get(r.tcpPort);
          send({ type: 'ring-accepted', id: r.id, ok: onSocket !== undefined });
          if (onSocket !== undefined) onSocket(new RingSocket(r.a, r.b).asSocket());
          return true;
        }
        case 'ring-connected': {
          const c = connecting.get(r.id);
          if (c === undefined) return true;
          connecting.delete(r.id);
          if (r.ok) {
            connects++;
            c.resolve(new RingSocket(c.b, c.a).asSocket());
          } else c.reject(new Error('the node of that port declined the in-host connection'));
          return true;
        }
        default:
          return false;
      }
    },
  };
}

interface Link {
  readonly a: SharedArrayBuffer;
  readonly b: SharedArrayBuffer;
  readonly ends: readonly [number, number];
}

/**
 * The host side: relays ring connections between the nodes it hosts (each
 * known by a number) and closes the rings of a node that died.
 */
export class RingSwitch {
  private readonly members = new Map<number, (m: ToRingNode) => void>();
  private readonly portOwner = new Map<number, number>();
  private readonly pending = new Map<number, { from: number; to: number; id: number; a: SharedArrayBuffer; b: SharedArrayBuffer }>();
  private links: Link[] = [];
  private nextId = 1;

  /** A node joins: `send` reaches it. */
  attach(member: number, send: (m: ToRingNode) => void): void {
    this.members.set(member, send);
    send({ type: 'ring-ports', ports: [...this.portOwner.keys()] });
  }

  /** Handles a message from `member`; false when it is not one of the ring transport's. */
  handle(member: number, m: { readonly type: string }): boolean {
    const r = m as FromRingNode;
    switch (r.type) {
      case 'ring-listen':
        this.portOwner.set(r.tcpPort, member);
        this.broadcastPorts();
        return true;
      case 'ring-unlisten':
        if (this.portOwner.get(r.tcpPort) === member) {
          this.portOwner.delete(r.tcpPort);
          this.broadcastPorts();
        }
        return true;
      case 'ring-connect': {
        const owner = this.portOwner.get(r.tcpPort);
        const to = owner === undefined ? undefined : this.members.get(owner);
        if (owner === undefined || to === undefined) {
          this.members.get(member)?.({ type: 'ring-connected', id: r.id, ok: false });
          return true;
        }
        const sid = this.nextId++;
        this.pending.set(sid, { from: member, to: owner, id: r.id, a: r.a, b: r.b });
        to({ type: 'ring-accept', id: sid, tcpPort: r.tcpPort, a: r.a, b: r.b });
        return true;
      }
      case 'ring-accepted': {
        const p = this.pending.get(r.id);
        if (p === undefined) return true;
        this.pending.delete(r.id);
        if (r.ok) {
          // Links whose rings are both closed are over: forget them.
          this.links = this.links.filter((l) => !(new ByteRing(l.a).closed && new ByteRing(l.b).closed));
          this.links.push({ a: p.a, b: p.b, ends: [p.from, p.to] });
        }
        this.members.get(p.from)?.({ type: 'ring-connected', id: p.id, ok: r.ok });
        return true;
      }
      default:
        return false;
    }
  }

  /** A node is gone (its thread died or stopped): its ports are forgotten and its rings closed, which its peers see at once. */
  detach(member: number): void {
    this.members.delete(member);
    let changed = false;
    for (const [port, owner] of this.portOwner) {
      if (owner === member) {
        this.portOwner.delete(port);
        changed = true;
      }
    }
    for (const [sid, p] of this.pending) {
      if (p.to === member || p.from === member) {
        this.pending.delete(sid);
        if (p.to === member) this.members.get(p.from)?.({ type: 'ring-connected', id: p.id, ok: false });
      }
    }
    const keep: Link[] = [];
    for (const l of this.links) {
      if (l.ends[0] === member || l.ends[1] === member) {
        new ByteRing(l.a).close();
        new ByteRing(l.b).close();
      } else keep.push(l);
    }
    this.links = keep;
    if (changed) this.broadcastPorts();
  }

  private broadcastPorts(): void {
    const ports = [...this.portOwner.keys()];
    for (const send of this.members.values()) send({ type: 'ring-ports', ports });
  }
}
