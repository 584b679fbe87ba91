/**
 * Node-level distribution: the {@link Distribution} a Beamline node uses to
 * join Erlang/Elixir clusters and other Beamline nodes.
 *
 * {@link startNode} registers with EPMD (starting an embedded EPMD when none
 * listens on the port), listens for connections (TCP or TLS), creates the
 * {@link Node} with the creation EPMD issued and attaches a
 * {@link NodeDistribution}, which then:
 *
 * - connects on first use: a send, call, link or monitor to a process on
 *   another node opens the connection (EPMD lookup, handshake); signals are
 *   queued while the handshake runs and flushed in order;
 * - keeps one connection per node, settling simultaneous connects as
 *   `net_kernel` does (the greater name keeps its outgoing connection);
 * - ticks and watches liveness (through {@link DistConnection});
 * - speaks every Tier 0 and Tier 1 control message, including the UNLINK_ID
 *   link protocol, the PAYLOAD variants, aliases and SPAWN_REQUEST (erpc
 *   emulation and Beamline remote spawns); *_TT variants are accepted with
 *   their trace token ignored; GROUP_LEADER is ignored; an unknown or
 *   malformed control message closes that connection with a logged reason;
 * - on connection loss, fires links and monitors through it with
 *   `noconnection` and node monitors with `nodedown`.
 *
 * Nodes are published by default and run `global` (see `global.ts`), so
 * they appear in `nodes()` of Erlang peers and take part in global's name
 * registration and sync. `published: false` makes a hidden node (only in
 * `nodes(hidden)`, no `global`).
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'ts@127.0.0.1', cookie: 'secret' });
 * exposeRpc(node, 'math', { add: (a: number, b: number) => a + b });
 * // erl> rpc:call('ts@127.0.0.1', math, add, [1, 2]).   %% 3
 * const reply = await node.call({ name: 'my_server', node: 'erl@127.0.0.1' }, 'ping');
 * await node.stop();
 * ```
 * @module
 */
import { Socket } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { Distribution } from '../core/distribution.js';
import { AbortedError, BeamlineError, CallAbortedError, CallError, CallTimeoutError } from '../core/errors.js';
import { Node, type NodeOptions } from '../core/node.js';
import type { ProcessHandler } from '../core/process.js';
import { formatReason, noconnection, type ExitReason } from '../core/reasons.js';
import { Charlist } from '../etf/charlist.js';
import { Decoder } from '../etf/decoder.js';
import { Encoder } from '../etf/encoder.js';
import { EtfEncodeError } from '../etf/errors.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { aliasSendControl, altactSignalIn } from './altact.js';
import { ALTACT_FLAG, ControlReader, OP, SPAWN_FLAG } from './control.js';
import { defaultEpmdPort, ensureEpmd, lookupNode, registerNode, type EpmdHandle, type EpmdRegistration } from './epmd/index.js';
import { DistError } from './errors.js';
import { DEFAULT_FLAGS, DFLAG } from './flags.js';
import { decodeFrameTerms, decodeMessageAt } from './frame-terms.js';
import { callReplyAt, ControlDecoder } from './control-codec.js';
import { DEFAULT_BATCH_BYTES, DEFAULT_MAX_FRAME_SIZE, DistConnection, type DistFrame, type DistLimits } from './framing.js';
import { NodeEvents, nodesOf, type NodeEventListener, type NodeKind } from './node-events.js';
import { connectProblem, nameDomainOf, ownNameProblem, splitNodeName, type NameDomain } from './node-names.js';
import { acceptHandshake, initiateHandshake, simultaneousStatus, type HandshakeResult, type HandshakeStatus, type PeerInfo } from './handshake.js';
import { startGlobal } from './global.js';
import { RpcRegistry, erpcReason, netKernelHandler, rexHandler, type RpcModule } from './rpc.js';
import { SocketSpin } from './socket-spin.js';
import { setIdleSpin } from '../core/scheduler.js';
import { connectTransport, createSelfSignedCertificate, listenTransport, loadTlsFiles, type TlsCredentials, type TransportServer } from './transport.js';

/** TLS for distribution: PEM credentials, PEM files, or a throwaway self-signed certificate (tests only). */
export type DistTlsOptions =
  | (TlsCredentials & { readonly verifyPeer?: boolean })
  | { readonly certFile: string; readonly keyFile: string; readonly caFile?: string; readonly verifyPeer?: boolean }
  | { readonly selfSigned: true };

/** Options of {@link startNode}: the node's options (`logger`, `scheduler`, `shutdownTimeout`, as in `new Node(...)`) and the distribution's. */
export interface StartNodeOptions extends Omit<NodeOptions, 'name' | 'creation'> {
  /**
   * `name@host`; connections to `x@host` go to EPMD at `host`. A host
   * without dots (`ts@myhost`) makes a short name, like `erl -sname`.
   */
  readonly name: string;
  /**
   * Short or long names (default: long when the host has a dot or is an IP
   * address). As in OTP, a node connects only to nodes of its own kind.
   */
  readonly nameDomain?: NameDomain;
  /** The shared secret (Erlang's cookie). */
  readonly cookie: string;
  /** EPMD port; default `ERL_EPMD_PORT` or 4369. */
  readonly epmdPort?: number;
  /** Where our EPMD is (and the embedded one listens); default `127.0.0.1`. */
  readonly epmdHost?: string;
  /** Start an embedded EPMD when none listens on the port (default true). */
  readonly embeddedEpmd?: boolean;
  /** Listen address of the distribution port; default `127.0.0.1`, any free port. */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** TLS distribution (every node of the cluster must use it). */
  readonly tls?: DistTlsOptions;
  /** Appear in `nodes()` of Erlang peers (default true). A hidden node appears only in `nodes(hidden)`. */
  readonly published?: boolean;
  /** Run `global`'s name server (default: when published), so `global:sync()` and global names work with Erlang peers. */
  readonly global?: boolean;
  /** Tick when idle for this many ms; default `netTickTime / 4` (OTP's `net_tickintensity` of 4). */
  readonly tickInterval?: number;
  /**
   * Erlang's `net_ticktime` in ms: drop a connection silent this long
   * (default 60000). Use the same value as the Erlang nodes of the cluster
   * (`-kernel net_ticktime Seconds`), so both ends tick often enough for the other.
   */
  readonly netTickTime?: number;
  /** Handshake deadline in ms; default 7000. */
  readonly handshakeTimeout?: number;
  /** Largest single (unfragmented) frame; default 128 MiB. A longer one is refused on its own and logged. */
  readonly maxFrameSize?: number;
  /** Limits of incoming messages; the defaults accept what OTP nodes accept (see {@link DistLimits}). */
  readonly limits?: DistLimits;
  /** Close a connection whose unsent bytes exceed this; default 256 MiB. */
  readonly maxBufferedBytes?: number;
  /** Close a connection that stays congested (peer not reading) this many ms; default `netTickTime`. */
  readonly stallTimeout?: number;
  /** Cancels the start between its steps (EPMD, listen, register): what was set up is closed and it rejects with AbortedError. */
  readonly signal?: AbortSignal;
  /**
   * Busy-wait, in µs, after distribution traffic (default 500; 0: never).
   * After it writes frames to a socket connection (TCP, TLS, Unix domain), a
   * node with nothing to run keeps its thread turning the event loop (polling
   * for I/O without blocking) for up to this long before it sleeps, as BEAM's
   * schedulers busy-wait before they sleep (`+sbwt`): a reply that comes
   * within it costs no wake-up of an idle core. It costs up to this much CPU
   * per idle stretch, and none once a node is idle. The thread keeps a
   * moving average of how often a spin ended with bytes found; below 3 in 4
   * (a loaded machine, where the peer waits for a core) it stops spinning,
   * spinning one idle stretch in 32 to notice when it pays again. The
   * setting is the thread's (every node and in-host ring of this thread
   * shares it; the last given wins); absent, the thread's setting is left as it is.
   *
   * @example
   * ```ts
   * // Never busy-wait: an idle node parks at once (saves CPU on a shared machine, costs latency).
   * const node = await startNode({ name: 'ts@127.0.0.1', cookie: 'secret', maxSpinUs: 0 });
   * ```
   */
  readonly maxSpinUs?: number;
  /**
   * Bytes after which the frames a connection gathered in one event-loop
   * turn are written at once, the rest of the turn's frames in one write at
   * its end (see `DistConnectionOptions.batchBytes`); default
   * {@link DEFAULT_BATCH_BYTES} (800), `Infinity`: one write per turn. The
   * early write lets the peer start on a burst while this node produces the
   * rest (8 concurrent callers: about 1.3x the calls per second); a node
   * whose peers pay per burst they receive, as Raft members that sync their
   * log once per burst, does better with whole bursts (`Infinity`: a Raft
   * leader with 64 appends in flight measured about 10% more appends/s).
   *
   * @example
   * ```ts
   * const node = await startNode({ name: 'raft1@127.0.0.1', cookie: 'secret', batchBytes: Infinity });
   * ```
   */
  readonly batchBytes?: number;
  /** @deprecated The node options as a group; give them at the top level (`startNode({ name, cookie, logger })`), which wins. */
  readonly node?: Omit<NodeOptions, 'name' | 'creation'>;
}

/** Options of {@link remoteSpawn}. */
export interface RemoteSpawnOptions {
  /** Milliseconds to wait for the remote node's answer; default 5000. */
  readonly timeout?: number;
  /** Stops waiting: rejects with AbortedError (a process the remote node spawns anyway is left running). */
  readonly signal?: AbortSignal;
}

/** Options of {@link NodeDistribution.rpc}. */
export interface RpcOptions {
  /** Milliseconds; default 5000. */
  readonly timeout?: number;
  /** Cancels the rpc: it rejects with CallAbortedError and a late answer is discarded. */
  readonly signal?: AbortSignal;
}

/**
 * A remote call failed, as `rpc:call` reports it: `badrpc` is the term
 * `{badrpc, Reason}` and `reason` its Reason: what the remote rex answered
 * (`{'EXIT', ...}`, `undef`...), or, when the call itself failed, `nodedown`,
 * `timeout` or `{'EXIT', Reason}` with the call error as `cause`.
 */
export class RpcError extends BeamlineError {
  override name = 'RpcError';
  override readonly code = 'badrpc';
  /** `{badrpc, Reason}`, as `rpc:call` would return it. */
  readonly badrpc: Tuple<[Atom<'badrpc'>, unknown]>;
  constructor(
    readonly reason: unknown,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.badrpc = tuple(atom('badrpc'), reason);
  }
}

/** A remote spawn was refused (`reason` is the error atom) or failed; `cause` is the connection error behind a `noconnection`. */
export class RemoteSpawnError extends BeamlineError {
  override name = 'RemoteSpawnError';
  override readonly code = 'remote_spawn_failed';
  constructor(
    readonly reason: unknown,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Makes the process of a remote spawn request: returns a process handler (spawned
 * here) or the pid of a process it started itself (for example a Server).
 */
export type SpawnableFactory = (args: unknown[], node: Node) => ProcessHandler | Pid | Promise<Pid>;

type Ctl = (flags: bigint) => unknown;

/** One connection (or connection attempt) to a node. */
class Peer {
  conn: DistConnection | undefined;
  /** Signals waiting for the handshake: control builders and encoded messages. */
  queue: [Ctl, Buffer | undefined, ((flags: bigint) => boolean) | undefined][] = [];
  /** Bytes of the encoded messages in `queue`. */
  queuedBytes = 0;
  outgoing = false;
  incoming = false;
  dead = false;
  waitTimer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  closeNote: string | undefined;
  /** Set once the connection is installed: a visible (published both ways) or hidden connection. */
  visible: boolean | undefined;
  /** Flags of the installed connection, as booleans for the hot paths: SEND_SENDER, ALTACT_SIG. */
  sendSender = false;
  altact = false;
  constructor(readonly name: Atom) {}
}

interface PendingSpawn {
  readonly node: Atom;
  readonly resolve: (pid: Pid) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const A_EMPTY = atom('');
const A_ALIAS = atom('alias');
const A_ERPC = atom('erpc');
const A_EXECUTE_CALL = atom('execute_call');
const A_EXECUTE_CAST = atom('execute_cast');
const A_BEAMLINE = atom('beamline');
const A_SPAWN_REGISTERED = atom('spawn_registered');
const A_MONITOR = atom('monitor');
const A_LINK = atom('link');
const A_NOTSUP = atom('notsup');
const A_UNDEF = atom('undef');
const A_BADARG = atom('badarg');
const A_CALL = atom('call');
const A_USER = atom('user');
const A_BADRPC = atom('badrpc');
const A_REX = atom('rex');

function validNodeName(n: Atom): boolean {
  return splitNodeName(n.name) !== undefined;
}

/** Settings of a {@link NodeDistribution}, resolved from {@link StartNodeOptions}. */
interface Settings {
  readonly name: string;
  readonly cookie: string;
  readonly nameDomain: NameDomain;
  readonly flags: bigint;
  readonly epmdPort: number;
  readonly clientTls: ConnectionOptions | undefined;
  readonly tickInterval: number;
  readonly netTickTime: number;
  readonly handshakeTimeout: number;
  readonly maxFrameSize: number;
  readonly limits: DistLimits;
  readonly maxBufferedBytes: number;
  readonly stallTimeout: number;
  readonly batchBytes: number;
}

/**
 * The distribution of one node (see the module documentation). Get it with
 * {@link distributionOf}; most code uses the free functions
 * ({@link exposeRpc}, {@link rpc}, {@link registerSpawnable}, {@link remoteSpawn}).
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'a@127.0.0.1', cookie: 'c' });
 * const dist = distributionOf(node);
 * console.log(dist.connectedNodes(), dist.listenPort);
 * ```
 */
export class NodeDistribution implements Distribution {
  private node!: Node;
  private registry!: RpcRegistry;
  private readonly peers = new Map<Atom, Peer>();
  private readonly encoder: Encoder;
  private decoder = new Decoder();
  /** Reads incoming control tuples on the fast path, and checks their elements. Frames are handled one at a time. */
  private readonly controlDecoder = new ControlDecoder();
  private readonly controlReader = new ControlReader();
  private readonly spawnables = new Map<string, SpawnableFactory>();
  private readonly pendingSpawns = new Map<string, PendingSpawn>();
  private readonly unlinkIds = new Map<string, bigint>();
  private readonly incomingSockets = new Set<Socket>();
  private nextUnlinkId = 1n;
  private stopping: Promise<void> | undefined;
  private readonly events = new NodeEvents();
  /** @internal The idle spin of this node's socket connections (registered while one is up). */
  readonly spin = new SocketSpin();

  /** @internal Use {@link startNode}. */
  constructor(
    private readonly settings: Settings,
    private readonly listener: TransportServer,
    private readonly registration: EpmdRegistration,
    private readonly epmd: EpmdHandle | undefined,
    private readonly serverTls: TlsOptions | undefined,
  ) {
    const maxBigIntBytes = settings.limits.maxSentBigIntBytes;
    this.encoder = new Encoder(maxBigIntBytes === undefined ? {} : { maxBigIntBytes });
  }

  /** Functions exposed to `rpc:call`/`erpc:call`. */
  get rpcRegistry(): RpcRegistry {
    return this.registry;
  }

  /** The distribution listen port. */
  get listenPort(): number {
    return this.listener.port;
  }

  /** True when the listener uses TLS. */
  get tls(): boolean {
    return this.serverTls !== undefined;
  }

  /** The port of the EPMD this node registered with. */
  get epmdPort(): number {
    return this.settings.epmdPort;
  }

  /** The EPMD in use: embedded (we started it) or external. */
  get epmdEmbedded(): boolean {
    return this.epmd?.embedded === true;
  }

  /** @internal */
  bind(node: Node, registry: RpcRegistry): void {
    this.decoder = new Decoder(this.settings.limits);
    this.node = node;
    this.registry = registry;
  }

  // --------------------------------------------------------------- connections

  /** @internal An accepted socket: run the acceptor handshake. */
  accept(socket: Socket): void {
    if (this.stopping !== undefined || this.node === undefined) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    this.incomingSockets.add(socket);
    let peer: Peer | undefined;
    acceptHandshake(socket, {
      name: this.settings.name,
      cookie: this.settings.cookie,
      creation: this.node.creation,
      flags: this.settings.flags,
      timeout: this.settings.handshakeTimeout,
      packetHeader: this.serverTls === undefined ? 2 : 4,
      decide: (info) => {
        const r = this.decide(info);
        peer = r.peer;
        return r.status;
      },
    }).then(
      (hs) => {
        this.incomingSockets.delete(socket);
        const p = peer ?? this.peers.get(atom(hs.peerName));
        if (p === undefined || p.dead) {
          // replaced meanwhile ('alive' confirmed on a peer that died): start fresh
          const fresh = new Peer(atom(hs.peerName));
          this.peers.set(fresh.name, fresh);
          this.install(fresh, hs);
          return;
        }
        p.incoming = false;
        this.install(p, hs);
      },
      (err: unknown) => {
        this.incomingSockets.delete(socket);
        const e = err as DistError;
        // 'nok' and a declined 'alive' are the two ends of a simultaneous connect, not faults.
        if (e.code !== 'nok' && e.code !== 'alive') this.node.log('warning', `distribution: refused incoming connection: ${e.message}`);
        if (peer !== undefined) {
          peer.incoming = false;
          if (peer.conn === undefined && !peer.outgoing && peer.waitTimer === undefined) this.teardown(peer);
        }
      },
    );
  }

  private decide(info: PeerInfo): { status: HandshakeStatus; peer: Peer | undefined } {
    const name = atom(info.name);
    if (this.stopping !== undefined || !validNodeName(name) || name === this.node.name) return { status: 'not_allowed', peer: undefined };
    let p = this.peers.get(name);
    if (p === undefined) {
      p = new Peer(name);
      p.incoming = true;
      this.peers.set(name, p);
      return { status: 'ok', peer: p };
    }
    // The peer confirms 'alive' when it is a new incarnation: install() then replaces the old connection.
    if (p.conn !== undefined) return { status: 'alive', peer: undefined };
    if (p.incoming) return { status: 'nok', peer: undefined };
    if (p.outgoing) {
      const s = simultaneousStatus(this.settings.name, info.name);
      if (s === 'ok_simultaneous') p.incoming = true;
      return { status: s, peer: s === 'ok_simultaneous' ? p : undefined };
    }
    p.incoming = true;
    return { status: 'ok', peer: p };
  }

  /** The peer for `node`, starting a connection when there is none. Undefined when the node cannot be reached. */
  private peerFor(node: Atom): Peer | undefined {
    const p = this.peers.get(node);
    if (p !== undefined) {
      // Lost a simultaneous connect and waiting for the peer's connection, which may never come (the
      // peer died or gave up meanwhile): a new signal tries again, as OTP's next send would auto-connect.
      if (p.conn === undefined && !p.outgoing && !p.incoming && p.waitTimer !== undefined && this.stopping === undefined) this.connect(p);
      return p;
    }
    if (this.stopping !== undefined || this.node === undefined || node === this.node.name || !validNodeName(node)) return undefined;
    const problem = connectProblem(node.name, this.settings.nameDomain);
    if (problem !== undefined) {
      this.node.log('error', `distribution: will not connect to ${node.name}: ${problem}`);
      return undefined;
    }
    const fresh = new Peer(node);
    this.peers.set(node, fresh);
    this.connect(fresh);
    return fresh;
  }

  private connect(p: Peer): void {
    p.outgoing = true;
    const name = p.name.name;
    const at = name.indexOf('@');
    const host = name.slice(at + 1);
    const short = name.slice(0, at);
    void (async (): Promise<HandshakeResult> => {
      const info = await lookupNode({ host, port: this.settings.epmdPort, name: short, timeout: this.settings.handshakeTimeout });
      if (info === undefined) throw new DistError('epmd_refused', `${name} is not registered with EPMD at ${host}:${this.settings.epmdPort}`);
      if (p.dead || p.conn !== undefined) throw new DistError('nok', 'connection already settled');
      const socket = await connectTransport({
        host,
        port: info.port,
        timeout: this.settings.handshakeTimeout,
        ...(this.settings.clientTls === undefined
          ? {}
          : { tls: /^[\d.]+$|:/.test(host) ? this.settings.clientTls : { ...this.settings.clientTls, servername: host } }),
      });
      socket.on('error', () => {});
      if (p.dead || p.conn !== undefined) {
        socket.destroy();
        throw new DistError('nok', 'connection already settled');
      }
      return initiateHandshake(socket, {
        name: this.settings.name,
        cookie: this.settings.cookie,
        creation: this.node.creation,
        flags: this.settings.flags,
        timeout: this.settings.handshakeTimeout,
        packetHeader: this.settings.clientTls === undefined ? 2 : 4,
        peerName: name,
        // As net_kernel's is_pending: replace the peer's live connection only when
        // this attempt is still ours to make. When a connection from the peer is
        // being accepted or is up already (a simultaneous connect that settled the
        // other way), the peer's connection is that one: answering true would make
        // it tear down the good connection for one we then drop.
        onAlive: () => !p.dead && p.conn === undefined && !p.incoming && this.peers.get(p.name) === p,
      });
    })().then(
      (hs) => {
        p.outgoing = false;
        if (p.dead || p.conn !== undefined || this.peers.get(p.name) !== p) {
          hs.socket.destroy();
          return;
        }
        this.install(p, hs);
      },
      (err: unknown) => {
        p.outgoing = false;
        if (p.dead || p.conn !== undefined) return;
        const e = err instanceof DistError ? err : new DistError('socket_error', String(err));
        if (e.code === 'nok' || (e.code === 'alive' && p.incoming)) {
          // Simultaneous connect lost by us: the peer's incoming connection wins. Wait for it
          // (from this answer on: a retry that got 'nok' again restarts the wait).
          if (!p.incoming) {
            if (p.waitTimer !== undefined) clearTimeout(p.waitTimer);
            p.waitTimer = setTimeout(() => {
              p.waitTimer = undefined;
              if (p.conn === undefined && !p.incoming && !p.outgoing) this.teardown(p);
            }, this.settings.handshakeTimeout);
          }
          return;
        }
        this.node.log('warning', `distribution: cannot connect to ${p.name.name}: ${e.message}`);
        if (!p.incoming) this.teardown(p, e);
      },
    );
  }

  private install(p: Peer, hs: HandshakeResult): void {
    if (this.stopping !== undefined) {
      hs.socket.destroy();
      return;
    }
    if (p.conn !== undefined) {
      // 'alive' confirmed: the peer restarted; the old connection is dead.
      const old = p;
      old.closeNote = 'replaced by a new connection from a new incarnation';
      const oldConn = old.conn;
      this.teardown(old);
      oldConn?.close();
      p = new Peer(old.name);
      this.peers.set(p.name, p);
    }
    if (p.waitTimer !== undefined) {
      clearTimeout(p.waitTimer);
      p.waitTimer = undefined;
    }
    const peer = p;
    const conn = new DistConnection(hs, {
      tickInterval: this.settings.tickInterval,
      netTickTime: this.settings.netTickTime,
      maxFrameSize: this.settings.maxFrameSize,
      batchBytes: this.settings.batchBytes,
      ...this.settings.limits,
      onFrame: (frame) => this.onFrame(peer, frame),
      reuseFrames: true,
      onRefuse: (reason) => this.node.log('warning', `distribution: refused a message from ${peer.name.name}, the connection stays up: ${reason.message}`),
      onClose: (reason) => this.onClose(peer, conn, reason),
      onBackpressure: (congested) => this.onBackpressure(peer, congested),
      // Sockets (TCP, TLS, Unix domain) spin; in-host rings (a Socket-shaped shim) have their own poller.
      ...(hs.socket instanceof Socket ? { spin: this.spin } : {}),
    });
    if (!conn.isOpen) {
      // closed while reading the bytes that came with the handshake
      this.teardown(peer);
      return;
    }
    peer.conn = conn;
    peer.sendSender = (conn.flags & DFLAG.SEND_SENDER) !== 0n;
    peer.altact = (conn.flags & DFLAG.ALTACT_SIG) !== 0n;
    const queue = peer.queue;
    peer.queue = [];
    peer.queuedBytes = 0;
    for (const [ctl, msg, withMsg] of queue) this.write(peer, conn, ctl(conn.flags), withMsg === undefined || withMsg(conn.flags) ? msg : undefined);
    this.node.remote.nodeUp(peer.name);
    peer.visible = (this.settings.flags & DFLAG.PUBLISHED) !== 0n && (hs.peerFlags & DFLAG.PUBLISHED) !== 0n;
    this.events.emit({ kind: 'up', node: peer.name, visible: peer.visible }, (m) => this.node.log('warning', m));
  }

  private onClose(p: Peer, conn: DistConnection, reason: DistError): void {
    if (p.conn !== conn || p.dead) return;
    if (p.closeNote !== undefined) this.node.log('warning', `distribution: closed connection to ${p.name.name}: ${p.closeNote}`);
    else if (reason.code !== 'closed_locally' || this.stopping === undefined)
      this.node.log(reason.code === 'connection_closed' ? 'info' : 'warning', `distribution: connection to ${p.name.name} closed: ${reason.message}`);
    this.teardown(p, reason);
  }

  private onBackpressure(p: Peer, congested: boolean): void {
    if (!congested) {
      if (p.stallTimer !== undefined) clearTimeout(p.stallTimer);
      p.stallTimer = undefined;
      return;
    }
    if (p.stallTimer !== undefined) return;
    p.stallTimer = setTimeout(() => {
      p.stallTimer = undefined;
      if (p.conn?.congested === true) this.closePeer(p, `peer stopped reading (${p.conn.bufferedBytes} bytes unsent for ${this.settings.stallTimeout} ms)`);
    }, this.settings.stallTimeout);
  }

  private closePeer(p: Peer, note: string): void {
    const conn = p.conn;
    if (conn === undefined) return;
    p.closeNote = note;
    conn.close();
  }

  /**
   * Holds a signal while the handshake runs. The queue is bounded like a
   * connection's unsent bytes: past `maxBufferedBytes` the connection attempt
   * is given up (logged), and links and monitors through it fire `noconnection`.
   */
  private enqueue(p: Peer, ctl: Ctl, msg: Buffer | undefined, withMsg: ((flags: bigint) => boolean) | undefined): void {
    p.queue.push([ctl, msg, withMsg]);
    p.queuedBytes += 64 + (msg?.length ?? 0);
    if (p.queuedBytes > this.settings.maxBufferedBytes) {
      this.node.log('warning', `distribution: gave up connecting to ${p.name.name}: ${p.queuedBytes} bytes queued before the handshake completed`);
      this.teardown(p);
    }
  }

  /** Forgets a peer: drops its queue, fails its spawn requests, fires `noconnection`/`nodedown`. */
  private teardown(p: Peer, cause?: Error): void {
    if (p.dead) return;
    p.dead = true;
    if (this.peers.get(p.name) === p) this.peers.delete(p.name);
    if (p.waitTimer !== undefined) clearTimeout(p.waitTimer);
    if (p.stallTimer !== undefined) clearTimeout(p.stallTimer);
    p.queue = [];
    p.queuedBytes = 0;
    const prefix = `${p.name.name}|`;
    for (const k of [...this.unlinkIds.keys()]) if (k.includes(prefix)) this.unlinkIds.delete(k);
    for (const [k, s] of [...this.pendingSpawns]) {
      if (s.node === p.name) {
        this.pendingSpawns.delete(k);
        clearTimeout(s.timer);
        s.reject(new RemoteSpawnError(noconnection, `remote spawn on ${p.name.name}: noconnection`, cause === undefined ? undefined : { cause }));
      }
    }
    if (this.node !== undefined) this.node.remote.nodeDown(p.name, noconnection, cause);
    if (p.visible !== undefined && this.node !== undefined) {
      this.events.emit({ kind: 'down', node: p.name, visible: p.visible }, (m) => this.node.log('warning', m));
    }
  }

  // --------------------------------------------------------------- sending

  private write(p: Peer, conn: DistConnection, control: unknown, msg: Buffer | undefined): void {
    let c: Buffer;
    try {
      c = this.encoder.encode(control).subarray(1);
    } catch (err) {
      this.node.log('error', `distribution: cannot encode a control message for ${p.name.name}: ${String(err)}`);
      return;
    }
    if (!conn.sendMessage(c, msg) && conn.bufferedBytes > this.settings.maxBufferedBytes) {
      this.closePeer(p, `peer is not reading: ${conn.bufferedBytes} bytes unsent`);
    }
  }

  /**
   * Fault hook for nemesis tests, off (undefined) by default: while it
   * returns true for a node, every message and signal sent there is dropped,
   * as a network partition would (the connection itself stays up).
   */
  dropOutgoing: ((node: Atom) => boolean) | undefined = undefined;

  /** Sends a control message (built for the connection's flags) and an optional message term. */
  private out(node: Atom, ctl: Ctl, ...message: [] | [unknown]): void {
    if (this.dropOutgoing?.(node) === true) return;
    const p = this.peerFor(node);
    if (p === undefined) return;
    const live = p.conn;
    if (live !== undefined && live.isOpen) {
      // Hot path: encode straight into the connection's batch.
      try {
        if (live.sendTerms(this.encoder, ctl(live.flags), message.length === 1, message[0])) {
          if (live.bufferedBytes > this.settings.maxBufferedBytes) this.closePeer(p, `peer is not reading: ${live.bufferedBytes} bytes unsent`);
          return;
        }
      } catch (err) {
        // A message with no Erlang term: the sending process gets the error (a Server crashes with it, so its caller learns at once).
        if (err instanceof EtfEncodeError) throw err;
        this.node.log('error', `distribution: cannot send to ${node.name}: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
    }
    let msg: Buffer | undefined;
    if (message.length === 1) msg = this.encoder.encode(message[0]).subarray(1); // throws EtfEncodeError to the sender
    const conn = p.conn;
    if (conn !== undefined) this.write(p, conn, ctl(conn.flags), msg);
    else this.enqueue(p, ctl, msg, undefined);
  }

  /**
   * The hot path of {@link NodeDistribution.out}, for control tuples
   * `{Op, E1[, E2[, E3]]}` given by their elements (`arity` 2 to 4): on a
   * live connection they are written straight into its batch, with no Tuple
   * and no closure; otherwise `out` builds the tuple and sends or queues it.
   */
  private signal(node: Atom, arity: number, op: number, e1: unknown, e2: unknown, e3: unknown, hasMessage: boolean, message: unknown): void {
    this.signalVia(this.peers.get(node), node, arity, op, e1, e2, e3, hasMessage, message);
  }

  /** {@link NodeDistribution.signal} with the peer of `node` already looked up. */
  private signalVia(p: Peer | undefined, node: Atom, arity: number, op: number, e1: unknown, e2: unknown, e3: unknown, hasMessage: boolean, message: unknown): void {
    const live = p?.conn;
    if (p !== undefined && live !== undefined && live.isOpen && live.atomCacheHeaders && this.dropOutgoing === undefined) {
      try {
        live.sendControl(this.encoder, arity, op, e1, e2, e3, hasMessage, message);
      } catch (err) {
        // A message with no Erlang term: the sending process gets the error (a Server crashes with it, so its caller learns at once).
        if (err instanceof EtfEncodeError) throw err;
        this.node.log('error', `distribution: cannot send to ${node.name}: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      if (live.bufferedBytes > this.settings.maxBufferedBytes) this.closePeer(p, `peer is not reading: ${live.bufferedBytes} bytes unsent`);
      return;
    }
    const ctl: Ctl = () => (arity === 2 ? tuple(op, e1) : arity === 3 ? tuple(op, e1, e2) : tuple(op, e1, e2, e3));
    if (hasMessage) this.out(node, ctl, message);
    else this.out(node, ctl);
  }

  send(from: Pid | undefined, to: Pid, message: unknown): void {
    const p = this.peers.get(to.node);
    if (p?.conn !== undefined) {
      if (from !== undefined && p.sendSender) this.signalVia(p, to.node, 3, OP.SEND_SENDER, from, to, undefined, true, message);
      else this.signalVia(p, to.node, 3, OP.SEND, A_EMPTY, to, undefined, true, message);
      return;
    }
    this.out(
      to.node,
      (f) => (from !== undefined && (f & DFLAG.SEND_SENDER) !== 0n ? tuple(OP.SEND_SENDER, from, to) : tuple(OP.SEND, A_EMPTY, to)),
      message,
    );
  }

  sendToName(from: Pid, name: Atom, node: Atom, message: unknown): void {
    // REG_SEND on every release, as OTP sends it (ALTACT_SIG_SEND with NAME only for priority sends, which a name never takes).
    // Tried on OTP 29.1: {37, 8, From, Name} arrives in one frame (60 KB), but fragmented (70 KB, 200 KB, 10 MB; fragments of 64 KiB) OTP closes
    // the connection without a log line, where a fragmented ALTACT_SIG_SEND to an alias arrives: so names stay REG_SEND.
    this.signal(node, 4, OP.REG_SEND, from, A_EMPTY, name, true, message);
  }

  sendToAlias(from: Pid, alias: Ref, message: unknown, priority = false): void {
    const p = this.peers.get(alias.node);
    if (p?.conn !== undefined && p.altact) {
      this.signalVia(p, alias.node, 4, OP.ALTACT_SIG_SEND, priority ? ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO : ALTACT_FLAG.ALIAS, from, alias, true, message);
      return;
    }
    this.out(alias.node, (f) => aliasSendControl(f, from, alias, priority), message);
  }

  link(from: Pid, to: Pid): void {
    this.unlinkIds.delete(linkKey(from, to));
    this.out(to.node, () => tuple(OP.LINK, from, to));
  }

  unlink(from: Pid, to: Pid): void {
    const id = this.nextUnlinkId++;
    this.unlinkIds.set(linkKey(from, to), id);
    this.out(to.node, (f) => ((f & DFLAG.UNLINK_ID) !== 0n ? tuple(OP.UNLINK_ID, id, from, to) : tuple(OP.UNLINK, from, to)));
  }

  exitLink(from: Pid, to: Pid, reason: ExitReason): void {
    this.exitSignal(from, to, reason, OP.EXIT, OP.PAYLOAD_EXIT);
  }

  exit2(from: Pid, to: Pid, reason: ExitReason): void {
    this.exitSignal(from, to, reason, OP.EXIT2, OP.PAYLOAD_EXIT2);
  }

  private exitSignal(from: Pid, to: Pid, reason: ExitReason, op: number, payloadOp: number): void {
    if (op === OP.EXIT && !this.peers.has(to.node)) return; // no connection: the link is already gone on the other side
    const r = typeof reason === 'string' ? atom(reason) : reason;
    this.sendWithReason(to.node, r, (f, payload) => (payload ? tuple(payloadOp, from, to) : tuple(op, from, to, r)));
  }

  /**
   * Sends a signal carrying an exit reason: the reason goes as the message
   * term when the peer has EXIT_PAYLOAD, else inside the control tuple.
   * An unencodable reason is replaced by `unencodable_reason`.
   */
  private sendWithReason(node: Atom, reason: unknown, build: (flags: bigint, payload: boolean) => unknown): void {
    if (this.dropOutgoing?.(node) === true) return;
    let encoded: Buffer;
    let r = reason;
    try {
      encoded = this.encoder.encode(r).subarray(1);
    } catch {
      r = atom('unencodable_reason');
      encoded = this.encoder.encode(r).subarray(1);
    }
    const p = this.peerFor(node);
    if (p === undefined) return;
    const payload = (f: bigint): boolean => (f & DFLAG.EXIT_PAYLOAD) !== 0n;
    const ctl: Ctl = (f) => build(f, payload(f));
    const conn = p.conn;
    if (conn !== undefined) this.write(p, conn, ctl(conn.flags), payload(conn.flags) ? encoded : undefined);
    else this.enqueue(p, ctl, encoded, payload);
  }

  monitor(from: Pid, target: Pid | Atom, node: Atom, ref: Ref): void {
    this.signal(node, 4, OP.MONITOR_P, from, target, ref, false, undefined);
  }

  demonitor(from: Pid, target: Pid | Atom, node: Atom, ref: Ref): void {
    if (!this.peers.has(node)) return;
    this.signal(node, 4, OP.DEMONITOR_P, from, target, ref, false, undefined);
  }

  monitorExit(target: Pid | Atom, watcher: Pid, ref: Ref, reason: ExitReason): void {
    if (!this.peers.has(watcher.node)) return;
    const r = typeof reason === 'string' ? atom(reason) : reason;
    this.sendWithReason(watcher.node, r, (_f, payload) =>
      payload ? tuple(OP.PAYLOAD_MONITOR_P_EXIT, target, watcher, ref) : tuple(OP.MONITOR_P_EXIT, target, watcher, ref, r),
    );
  }

  ensureConnected(node: Atom): boolean {
    return this.peerFor(node) !== undefined;
  }

  /** Each open connection: its node, bytes and frames (messages and signals) in and out, and whether it is TLS. */
  connectionStats(): { node: Atom; bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number; tls: boolean }[] {
    const out = [];
    for (const p of this.peers.values()) {
      const c = p.conn;
      if (c !== undefined && c.isOpen) out.push({ node: p.name, bytesIn: c.bytesIn, bytesOut: c.bytesOut, messagesIn: c.framesIn, messagesOut: c.framesOut, tls: this.tls });
    }
    return out;
  }

  connectedNodes(): Atom[] {
    const out: Atom[] = [];
    for (const p of this.peers.values()) if (p.conn !== undefined) out.push(p.name);
    return out;
  }

  /**
   * The capability flags in effect on the connection to `node` (both sides'
   * offers intersected; see {@link DFLAG}), or undefined when not connected.
   * @example
   * const f = distributionOf(node).connectionFlags('erl@host');
   * const altact = f !== undefined && (f & DFLAG.ALTACT_SIG) !== 0n; // OTP 28+
   */
  connectionFlags(node: string | Atom): bigint | undefined {
    const p = this.peers.get(typeof node === 'string' ? atom(node) : node);
    return p?.conn?.flags;
  }

  /**
   * Connected nodes as `erlang:nodes/1` lists them: `visible` (default, the
   * `nodes()` of Erlang), `hidden`, or `connected` (both).
   */
  nodes(kind: NodeKind = 'visible'): Atom[] {
    const out: Atom[] = [];
    for (const p of this.peers.values()) {
      if (p.conn === undefined || p.visible === undefined) continue;
      if (kind === 'connected' || p.visible === (kind === 'visible')) out.push(p.name);
    }
    return out;
  }

  /** Short or long names (`net_kernel:longnames/0` is `nameDomain === 'longnames'`). */
  get nameDomain(): NameDomain {
    return this.settings.nameDomain;
  }

  /** Erlang's `net_ticktime` of this node, in ms (`net_kernel:get_net_ticktime/0` × 1000). */
  get netTickTime(): number {
    return this.settings.netTickTime;
  }

  /** True when this node is published (appears in its peers' `nodes()`). */
  get published(): boolean {
    return (this.settings.flags & DFLAG.PUBLISHED) !== 0n;
  }

  /**
   * Calls `listener` on every connection that comes up or goes down, like
   * `net_kernel:monitor_nodes(true, [{node_type, all}])`. Returns the
   * function that stops it.
   */
  monitorNodes(listener: NodeEventListener): () => void {
    return this.events.subscribe(listener);
  }

  /** Closes the connection to `node` (like `erlang:disconnect_node/1`). Returns false when not connected. */
  disconnect(node: string | Atom): boolean {
    const p = this.peers.get(typeof node === 'string' ? atom(node) : node);
    if (p === undefined) return false;
    if (p.conn !== undefined) p.conn.close();
    else this.teardown(p);
    return true;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    for (const s of this.pendingSpawns.values()) {
      clearTimeout(s.timer);
      s.reject(new RemoteSpawnError(atom('shutdown'), 'node stopped'));
    }
    this.pendingSpawns.clear();
    for (const s of this.incomingSockets) s.destroy();
    const ends: Promise<void>[] = [];
    for (const p of [...this.peers.values()]) {
      const conn = p.conn;
      p.dead = true;
      if (p.waitTimer !== undefined) clearTimeout(p.waitTimer);
      if (p.stallTimer !== undefined) clearTimeout(p.stallTimer);
      if (conn !== undefined) {
        // Let the last exit signals leave, but do not wait for a peer that stopped reading.
        ends.push(
          Promise.race([conn.end(), new Promise<void>((r) => setTimeout(r, 1000).unref())]).then(() => conn.close()),
        );
      }
    }
    this.peers.clear();
    await Promise.all(ends);
    await this.listener.close();
    await this.registration.close();
    await this.epmd?.close();
  }

  // --------------------------------------------------------------- receiving

  private onFrame(p: Peer, frame: DistFrame): void {
    const c = this.controlReader;
    let message: unknown;
    // The fast path: a control tuple of small integers, atoms, pids and refs is read straight from the bytes.
    const arity = frame.kind === 'header' ? this.controlDecoder.read(frame.payload, frame.controlOffset, frame.atoms) : -1;
    if (arity > 0 && typeof this.controlDecoder.elements[0] === 'number') {
      const cd = this.controlDecoder;
      const end = cd.end;
      const payload = frame.payload;
      if (end < payload.length && this.replyIn(cd, arity, frame)) return;
      message = end < payload.length ? decodeMessageAt(frame, end, this.decoder) : undefined;
      c.ofElements(cd.elements, arity);
    } else {
      const terms = decodeFrameTerms(frame, this.decoder);
      const control = terms.control;
      if (!(control instanceof Tuple) || control.elements.length === 0 || typeof control.elements[0] !== 'number') {
        throw new DistError('frame_protocol', 'control message is not a tuple with an opcode');
      }
      message = terms.message;
      c.of(control);
    }
    const remote = this.node.remote;
    const op = c.any(0);
    switch (op) {
      case OP.SEND:
      case OP.SEND_TT:
        remote.send(c.arity(3).pid(2), message);
        return;
      case OP.SEND_SENDER:
      case OP.SEND_SENDER_TT:
        remote.send(c.arity(3).pid(2), message);
        return;
      case OP.REG_SEND:
      case OP.REG_SEND_TT:
        c.arity(4);
        remote.sendToName(c.pid(1), c.atom(3), message);
        return;
      case OP.ALIAS_SEND:
      case OP.ALIAS_SEND_TT:
        c.arity(3).pid(1);
        remote.sendToAlias(c.ref(2), message);
        return;
      case OP.ALTACT_SIG_SEND:
        altactSignalIn(c, message, remote);
        return;
      case OP.LINK:
        c.arity(3);
        this.unlinkIds.delete(linkKey(c.pid(2), c.pid(1)));
        remote.link(c.pid(1), c.pid(2));
        return;
      case OP.UNLINK:
        c.arity(3);
        remote.unlink(c.pid(1), c.pid(2));
        return;
      case OP.UNLINK_ID: {
        c.arity(4);
        const id = c.int(1);
        const from = c.pid(2);
        const to = c.pid(3);
        remote.unlink(from, to);
        // The ack goes before any other signal from `to` to `from`.
        this.out(p.name, () => tuple(OP.UNLINK_ID_ACK, id, to, from));
        return;
      }
      case OP.UNLINK_ID_ACK: {
        c.arity(4);
        const key = linkKey(c.pid(3), c.pid(2));
        const id = c.int(1);
        if (this.unlinkIds.get(key) === BigInt(id)) this.unlinkIds.delete(key);
        return;
      }
      case OP.EXIT:
        c.arity(4);
        this.exitIn(c.pid(1), c.pid(2), c.any(3), true);
        return;
      case OP.EXIT_TT:
        c.arity(5);
        this.exitIn(c.pid(1), c.pid(2), c.any(4), true);
        return;
      case OP.PAYLOAD_EXIT:
      case OP.PAYLOAD_EXIT_TT:
        c.arity(3);
        this.exitIn(c.pid(1), c.pid(2), message, true);
        return;
      case OP.EXIT2:
        c.arity(4);
        this.exitIn(c.pid(1), c.pid(2), c.any(3), false);
        return;
      case OP.EXIT2_TT:
        c.arity(5);
        this.exitIn(c.pid(1), c.pid(2), c.any(4), false);
        return;
      case OP.PAYLOAD_EXIT2:
      case OP.PAYLOAD_EXIT2_TT:
        c.arity(3);
        this.exitIn(c.pid(1), c.pid(2), message, false);
        return;
      case OP.MONITOR_P:
        c.arity(4);
        remote.monitor(c.pid(1), c.pidOrAtom(2), c.ref(3));
        return;
      case OP.DEMONITOR_P:
        c.arity(4);
        remote.demonitor(c.pid(1), c.pidOrAtom(2), c.ref(3));
        return;
      case OP.MONITOR_P_EXIT:
        c.arity(5);
        remote.monitorExit(c.pidOrAtom(1), c.pid(2), c.ref(3), c.any(4));
        return;
      case OP.PAYLOAD_MONITOR_P_EXIT:
        c.arity(4);
        remote.monitorExit(c.pidOrAtom(1), c.pid(2), c.ref(3), message);
        return;
      case OP.GROUP_LEADER:
        return;
      case OP.SPAWN_REQUEST:
      case OP.SPAWN_REQUEST_TT:
        c.arity(6);
        this.spawnRequest(p, c.ref(1), c.pid(2), c.any(4), c.any(5), message);
        return;
      case OP.SPAWN_REPLY:
      case OP.SPAWN_REPLY_TT:
        c.arity(5);
        this.spawnReply(c.ref(1), c.any(4));
        return;
      default:
        throw new DistError('frame_protocol', `unknown control message opcode ${String(op)}`);
    }
  }

  /**
   * A call reply on the fast path: an alias send (ALTACT_SIG_SEND with only
   * ALIAS set, or ALIAS_SEND) of `{[alias | Alias], Reply}` to that same
   * Alias: only Reply is decoded, and goes to the waiting call. False for
   * anything else (then the frame is read as usual).
   */
  private replyIn(cd: ControlDecoder, arity: number, frame: DistFrame): boolean {
    const el = cd.elements;
    const op = el[0];
    let alias: unknown;
    if (op === OP.ALTACT_SIG_SEND && arity === 4 && el[1] === ALTACT_FLAG.ALIAS && el[2] instanceof Pid) alias = el[3];
    else if (op === OP.ALIAS_SEND && arity === 3 && el[1] instanceof Pid) alias = el[2];
    else return false;
    if (!(alias instanceof Ref) || cd.refEnd !== cd.end) return false;
    const at = callReplyAt(frame.payload, cd.end, frame.atoms, A_ALIAS, cd.refStart, cd.refEnd);
    if (at < 0) return false;
    this.node.remote.replyToAlias(alias, decodeMessageAt(frame, at, this.decoder));
    return true;
  }

  private exitIn(from: Pid, to: Pid, reason: unknown, viaLink: boolean): void {
    if (viaLink) {
      // Link protocol: an exit for a link we are unlinking is ignored (the core has dropped the link already).
      if (this.unlinkIds.has(linkKey(to, from))) return;
      this.node.remote.exitLink(from, to, reason);
    } else this.node.remote.exit2(from, to, reason);
  }

  // --------------------------------------------------------------- spawn

  private spawnReplyTo(p: Peer, reqId: Ref, to: Pid, flags: number, result: unknown): void {
    this.out(p.name, () => tuple(OP.SPAWN_REPLY, reqId, to, flags, result));
  }

  private spawnRequest(p: Peer, reqId: Ref, from: Pid, mfa: unknown, opts: unknown, args: unknown): void {
    const optList = Array.isArray(opts) ? (opts as unknown[]) : [];
    const wantMonitor = optList.some((o) => o === A_MONITOR || (o instanceof Tuple && o.elements[0] === A_MONITOR));
    const wantLink = optList.includes(A_LINK);
    const flags = (wantLink ? SPAWN_FLAG.LINK : 0) | (wantMonitor ? SPAWN_FLAG.MONITOR : 0);
    const argList = Array.isArray(args) ? (args as unknown[]) : args instanceof Charlist ? args.codes() : undefined;
    const m = mfa instanceof Tuple ? mfa.elements[0] : undefined;
    const f = mfa instanceof Tuple ? mfa.elements[1] : undefined;
    const started = (pid: Pid): void => {
      this.spawnReplyTo(p, reqId, from, flags, pid);
      if (wantMonitor) this.node.remote.monitor(from, pid, reqId);
      if (wantLink) this.node.remote.link(from, pid);
    };
    const refuse = (reason: Atom): void => this.spawnReplyTo(p, reqId, from, 0, reason);
    if (this.stopping !== undefined || !this.node.alive) return refuse(atom('notalive'));
    const registry = this.rpcRegistry;
    try {
      if (m === A_ERPC && f === A_EXECUTE_CALL && argList?.length === 4) {
        const [resRef, mod, fn, fnArgs] = argList;
        started(
          this.node.spawn({
            init: async (proc) => {
              const outcome = await registry.invoke(mod, fn, fnArgs, proc.self);
              proc.exit(erpcReason(resRef, outcome));
            },
            handleMessage() {},
          }),
        );
        return;
      }
      if (m === A_ERPC && f === A_EXECUTE_CAST && argList?.length === 3) {
        const [mod, fn, fnArgs] = argList;
        const node = this.node;
        started(
          node.spawn({
            init: async (proc) => {
              const o = await registry.invoke(mod, fn, fnArgs, proc.self);
              if (o.kind === 'error') node.log('warning', `rpc cast ${String(mod)}:${String(fn)} failed: ${String(o.reason)}`);
              proc.exit('normal');
            },
            handleMessage() {},
          }),
        );
        return;
      }
      if (m === A_BEAMLINE && f === A_SPAWN_REGISTERED && argList?.length === 2) {
        const [name, spawnArgs] = argList;
        const key = name instanceof Atom ? name.name : typeof name === 'string' ? name : undefined;
        const factory = key === undefined ? undefined : this.spawnables.get(key);
        if (factory === undefined) return refuse(A_UNDEF);
        const made = factory(Array.isArray(spawnArgs) ? (spawnArgs as unknown[]) : [spawnArgs], this.node);
        if (made instanceof Pid) return started(made);
        if (made instanceof Promise) {
          made.then(
            (pid) => (p.dead ? undefined : started(pid)),
            (err: unknown) => {
              this.node.log('warning', `remote spawn of ${key ?? '?'} failed: ${String(err)}`);
              refuse(A_BADARG);
            },
          );
          return;
        }
        return started(this.node.spawn(made));
      }
    } catch (err) {
      this.node.log('warning', `spawn request from ${from.describe()} failed: ${String(err)}`);
      return refuse(A_BADARG);
    }
    // Funs (erlang:apply with a NEW_FUN_EXT) and arbitrary MFAs cannot run here.
    refuse(A_NOTSUP);
  }

  private spawnReply(reqId: Ref, result: unknown): void {
    const key = this.node._refKey(reqId);
    const s = this.pendingSpawns.get(String(key));
    if (s === undefined) return;
    this.pendingSpawns.delete(String(key));
    clearTimeout(s.timer);
    if (result instanceof Pid) s.resolve(result);
    else s.reject(new RemoteSpawnError(result, `remote spawn refused by ${s.node.name}: ${String(result)}`));
  }

  // --------------------------------------------------------------- public extras

  /** Registers a factory that remote Beamline nodes can spawn with {@link remoteSpawn}. */
  registerSpawnable(name: string, factory: SpawnableFactory): void {
    this.spawnables.set(name, factory);
  }

  /** Spawns `name` (registered there with {@link registerSpawnable}) on `node`; resolves with the new pid. */
  remoteSpawn(node: string | Atom, name: string, args: unknown[] = [], options: RemoteSpawnOptions = {}): Promise<Pid> {
    const target = typeof node === 'string' ? atom(node) : node;
    const signal = options.signal;
    return new Promise<Pid>((resolveSpawn, rejectSpawn) => {
      if (signal?.aborted === true) return rejectSpawn(new AbortedError(`remote spawn on ${target.name} aborted`, signal.reason));
      let onAbort: (() => void) | undefined;
      const detach = (): void => {
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      };
      const resolve = (pid: Pid): void => {
        detach();
        resolveSpawn(pid);
      };
      const reject = (err: Error): void => {
        detach();
        rejectSpawn(err);
      };
      if (this.stopping !== undefined) return reject(new RemoteSpawnError(atom('notalive'), 'node is stopping'));
      if (!this.ensureConnected(target)) return reject(new RemoteSpawnError(noconnection, `cannot reach ${target.name}`));
      const reqId = this.node.makeRef();
      const key = String(this.node._refKey(reqId));
      const timeout = options.timeout ?? 5000;
      const timer = setTimeout(() => {
        this.pendingSpawns.delete(key);
        reject(new RemoteSpawnError(atom('timeout'), `remote spawn on ${target.name} timed out after ${timeout} ms`));
      }, timeout);
      this.pendingSpawns.set(key, { node: target, resolve, reject, timer });
      if (signal !== undefined) {
        onAbort = () => {
          if (!this.pendingSpawns.delete(key)) return;
          clearTimeout(timer);
          reject(new AbortedError(`remote spawn on ${target.name} aborted`, signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const me = new Pid(this.node.name, 0, 0, this.node.creation);
      this.out(target, () => tuple(OP.SPAWN_REQUEST, reqId, me, me, tuple(A_BEAMLINE, A_SPAWN_REGISTERED, 2), []), [atom(name), args]);
    });
  }

  /**
   * Calls `module:fn(...args)` on `node` through its `rex` server
   * (`gen_server:call({rex, Node}, {call, M, F, A, user})`). Every failure
   * is an {@link RpcError} carrying the `{badrpc, Reason}` term, as
   * `rpc:call` returns it: the remote answer, or `nodedown`, `timeout`,
   * `{'EXIT', Reason}` when the call failed (the call error is the `cause`,
   * and its own `cause` the connection error). `signal` aborts with
   * CallAbortedError.
   */
  async rpc(node: string | Atom, module: string, fn: string, args: unknown[] = [], options: RpcOptions = {}): Promise<unknown> {
    const target = typeof node === 'string' ? atom(node) : node;
    const what = `rpc ${module}:${fn}/${args.length} on ${target.name}`;
    const result = await this.node
      .call(tuple(A_REX, target), tuple(A_CALL, atom(module), atom(fn), args, A_USER), {
        timeout: options.timeout ?? 5000,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
      .catch((err: unknown) => {
        throw badRpcOf(err, what);
      });
    if (result instanceof Tuple && result.elements.length === 2 && result.elements[0] === A_BADRPC) {
      throw new RpcError(result.elements[1], `${what}: badrpc ${formatReason(result.elements[1])}`);
    }
    return result;
  }
}

const A_TIMEOUT_RPC = atom('timeout');
const A_NODEDOWN_RPC = atom('nodedown');

/** A failed rpc call as `rpc:call` reports it: `{badrpc, nodedown | timeout | {'EXIT', R}}`; an abort stays a CallAbortedError. */
function badRpcOf(err: unknown, what: string): Error {
  if (err instanceof CallAbortedError || !(err instanceof CallError)) return err instanceof Error ? err : new Error(String(err));
  const r = err.reason;
  const reason =
    err instanceof CallTimeoutError ? A_TIMEOUT_RPC : r instanceof Tuple && r.elements[0] === A_NODEDOWN_RPC ? A_NODEDOWN_RPC : tuple(atom('EXIT'), r);
  return new RpcError(reason, `${what}: badrpc ${formatReason(reason)}`, { cause: err });
}
function linkKey(local: Pid, remote: Pid): string {
  return `${local.node.name}|${local.id}|${local.serial}|${local.creation}>${remote.node.name}|${remote.id}|${remote.serial}|${remote.creation}`;
}

async function resolveTls(tls: DistTlsOptions | undefined): Promise<{ server: TlsOptions; client: ConnectionOptions } | undefined> {
  if (tls === undefined) return undefined;
  let creds: TlsCredentials;
  let verify: boolean;
  if ('selfSigned' in tls) {
    creds = await createSelfSignedCertificate();
    verify = false;
  } else if ('certFile' in tls) {
    creds = await loadTlsFiles(tls.caFile === undefined ? { certFile: tls.certFile, keyFile: tls.keyFile } : { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile });
    verify = tls.verifyPeer ?? creds.ca !== undefined;
  } else {
    creds = tls;
    verify = tls.verifyPeer ?? creds.ca !== undefined;
  }
  const base = { cert: creds.cert, key: creds.key, ...(creds.ca === undefined ? {} : { ca: creds.ca }) };
  return {
    server: { ...base, requestCert: verify, rejectUnauthorized: verify },
    client: { ...base, rejectUnauthorized: verify, checkServerIdentity: () => undefined },
  };
}

/**
 * Starts a distributed node: EPMD (embedded when none runs on the port),
 * the listener, the EPMD registration (which gives the creation), the
 * {@link Node}, its {@link NodeDistribution}, the `net_kernel` and `rex`
 * processes that Erlang expects and, for a published node, `global`'s
 * name server (see `startGlobal`). Stop it with `node.stop()`.
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'ts@127.0.0.1', cookie: 'secret' });
 * node.send({ name: 'shell', node: 'erl@127.0.0.1' }, 'hello');
 * await node.stop();
 * ```
 */
export async function startNode(options: StartNodeOptions): Promise<Node> {
  const { name, cookie } = options;
  const nameDomain = options.nameDomain ?? nameDomainOf(name);
  const problem = ownNameProblem(name, nameDomain);
  if (problem !== undefined) throw new RangeError(problem);
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  if (!(batchBytes >= 1)) throw new RangeError(`batchBytes must be at least 1 (Infinity: one write per turn), got ${batchBytes}`);
  if (options.maxSpinUs !== undefined) setIdleSpin({ maxSpinUs: options.maxSpinUs });
  const at = name.indexOf('@');
  const signal = options.signal;
  const checkAbort = (): void => {
    if (signal?.aborted === true) throw new AbortedError(`startNode ${name} aborted`, signal.reason);
  };
  checkAbort();
  const epmdHost = options.epmdHost ?? '127.0.0.1';
  const epmd = options.embeddedEpmd === false ? undefined : await ensureEpmd({ host: epmdHost, ...(options.epmdPort === undefined ? {} : { port: options.epmdPort }) });
  const epmdPort = epmd?.port ?? options.epmdPort ?? defaultEpmdPort();
  const cleanups: (() => Promise<void>)[] = [];
  if (epmd !== undefined) cleanups.push(() => epmd.close());
  try {
    checkAbort();
    const tls = await resolveTls(options.tls);
    checkAbort();
    let dist: NodeDistribution | undefined;
    const early: Socket[] = [];
    const listener = await listenTransport(
      { host: options.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? 0, ...(tls === undefined ? {} : { tls: tls.server }) },
      (s) => (dist === undefined ? early.push(s) : dist.accept(s)),
    );
    cleanups.push(() => listener.close());
    checkAbort();
    const published = options.published !== false;
    const registration = await registerNode({
      host: epmdHost,
      port: epmdPort,
      name: name.slice(0, at),
      nodePort: listener.port,
      hidden: !published,
    });
    cleanups.push(() => registration.close());
    checkAbort();
    const netTickTime = options.netTickTime ?? 60_000;
    dist = new NodeDistribution(
      {
        name,
        cookie,
        nameDomain,
        flags: published ? DEFAULT_FLAGS | DFLAG.PUBLISHED : DEFAULT_FLAGS,
        epmdPort,
        clientTls: tls?.client,
        tickInterval: options.tickInterval ?? netTickTime / 4,
        netTickTime,
        handshakeTimeout: options.handshakeTimeout ?? 7000,
        maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
        limits: options.limits ?? {},
        maxBufferedBytes: options.maxBufferedBytes ?? 256 * 1024 * 1024,
        stallTimeout: options.stallTimeout ?? netTickTime,
        batchBytes,
      },
      listener,
      registration,
      epmd,
      tls?.server,
    );
    const node = new Node({ ...(options.node ?? {}), ...nodeOptionsOf(options), name, creation: registration.creation });
    const registry = new RpcRegistry(node, (arg) => {
      try {
        return nodesOf(arg, node.name, (k) => dist?.nodes(k) ?? []);
      } catch {
        throw A_BADARG; // erlang:nodes/1's error for a bad argument
      }
    });
    dist.bind(node, registry);
    node.attachDistribution(dist);
    node.spawn(netKernelHandler(), { name: 'net_kernel' });
    node.spawn(rexHandler(registry), { name: 'rex' });
    if (options.global ?? published) startGlobal(node);
    for (const s of early.splice(0)) dist.accept(s);
    return node;
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw err;
  }
}

/** The node options given at the top level of {@link StartNodeOptions}. */
function nodeOptionsOf(o: StartNodeOptions): Omit<NodeOptions, 'name' | 'creation'> {
  return {
    ...(o.logger === undefined ? {} : { logger: o.logger }),
    ...(o.scheduler === undefined ? {} : { scheduler: o.scheduler }),
    ...(o.shutdownTimeout === undefined ? {} : { shutdownTimeout: o.shutdownTimeout }),
  };
}

/**
 * The {@link NodeDistribution} of a node started with {@link startNode}.
 * Throws when the node has another distribution or none.
 *
 * @example
 * ```ts
 * distributionOf(node).connectedNodes();
 * ```
 */
export function distributionOf(node: Node): NodeDistribution {
  const d = node.distribution;
  if (!(d instanceof NodeDistribution)) throw new TypeError(`node ${node.name.name} was not started with startNode`);
  return d;
}

/**
 * Exposes functions to `rpc:call`/`erpc:call`/`rpc:cast` from Erlang and
 * to {@link rpc} from Beamline, under the module name `module`.
 *
 * @example
 * ```ts
 * exposeRpc(node, 'math', { add: (a: number, b: number) => a + b, slow: async () => 'done' });
 * // erl> erpc:call('ts@127.0.0.1', math, add, [1, 2]).   %% 3
 * ```
 */
export function exposeRpc(node: Node, module: string, fns: RpcModule): void {
  distributionOf(node).rpcRegistry.expose(module, fns);
}

/**
 * Calls `module:fn(...args)` on a remote node (Erlang or Beamline) through
 * its `rex` server. See {@link NodeDistribution.rpc}.
 *
 * @example
 * ```ts
 * const release = await rpc(node, 'erl@127.0.0.1', 'erlang', 'system_info', [atom('otp_release')]);
 * ```
 */
export function rpc(node: Node, remote: string | Atom, module: string, fn: string, args: unknown[] = [], options: RpcOptions = {}): Promise<unknown> {
  return distributionOf(node).rpc(remote, module, fn, args, options);
}

/**
 * Lets other Beamline nodes spawn `name` here with {@link remoteSpawn}.
 *
 * @example
 * ```ts
 * registerSpawnable(node, 'echo', () => ({ handleMessage: (m, p) => p.send((m as Tuple).elements[0] as Pid, m) }));
 * ```
 */
export function registerSpawnable(node: Node, name: string, factory: SpawnableFactory): void {
  distributionOf(node).registerSpawnable(name, factory);
}

/**
 * Spawns a process registered with {@link registerSpawnable} on another
 * Beamline node. Rejects with {@link RemoteSpawnError} (`undef` for an
 * unknown name, `noconnection`, `timeout`).
 *
 * @example
 * ```ts
 * const pid = await remoteSpawn(node, 'b@127.0.0.1', 'echo', []);
 * ```
 */
export function remoteSpawn(node: Node, remote: string | Atom, name: string, args: unknown[] = [], options: RemoteSpawnOptions = {}): Promise<Pid> {
  return distributionOf(node).remoteSpawn(remote, name, args, options);
}

