/**
 * A local cluster: N Beamline nodes on this host, named `base_i@host`,
 * joined by the Erlang distribution, each running the application's start
 * function. A node that dies is reported like a node going down and started
 * again under the same name with a new creation, with a supervisor's
 * restart intensity.
 *
 * Two hostings (measured by bench/cluster-hosting.ts and bench/cores.ts,
 * quoted in the README): `processes` (the default), one OS process each
 * (node:cluster workers) joined over Unix domain sockets: isolated from each
 * other's crashes of every kind (an out-of-memory abort or a native crash
 * ends one node, not the host), and node:cluster shares a listening socket
 * between them, so a Web or TCP server started on every node serves one
 * port. `threads`, one worker thread each, joined over shared-memory rings
 * (ring-transport.ts) that an idle node polls before it sleeps: calls
 * between nodes without a system call while they are busy, and a quarter of
 * the memory; but a crash of the process (out of memory, native) ends every
 * node, and each node's listening ports are its own.
 * @module
 */
import cluster from 'node:cluster';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AbortedError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { ensureEpmd, type EpmdHandle } from '../distribution/epmd/index.js';
import { MEMBER_ENV, type FromMember, type InHostConfig, type MemberConfig, type MemberStats, type ToMember } from './protocol.js';
import { RingSwitch } from './ring-transport.js';
import { SharedPorts, type SendConnection } from './shared-port.js';
import { MAX_RING_BYTES, MIN_RING_BYTES } from './shm-ring.js';

export type { MemberStats } from './protocol.js';

/** What a node's start function is told about its place in the cluster. */
export interface ClusterNodeContext {
  /** 0-based index: the node is `${base}_${index}@host`. */
  readonly index: number;
  readonly size: number;
  readonly base: string;
  /** The other nodes it is connected to when the function runs. */
  readonly peers: readonly string[];
  /** `LocalClusterOptions.args`, as the structured clone made it. */
  readonly args: unknown;
}

/**
 * A node's start function: runs in the node's own process once the node is
 * connected to the others. Its promise settling is the node's start; a throw
 * fails the start (and counts toward the restart intensity).
 */
export type ClusterStart = (node: Node, context: ClusterNodeContext) => void | Promise<void>;

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Cancels the start: the nodes started so far are stopped and the start rejects with an `AbortedError`. */
  readonly signal?: AbortSignal;
  /** Node name prefix: nodes are `${base}_0@host` ... */
  readonly base: string;
  readonly cookie: string;
  /**
   * The module (path or `file:` URL) whose export {@link exportName} is a
   * {@link ClusterStart}. A module, not a closure: each node is its own
   * process and imports it.
   */
  readonly start: string | URL;
  /** Default `start`. */
  readonly exportName?: string;
  /** Passed to every start function (must survive a structured clone: terms, not closures). */
  readonly args?: unknown;
  /** Number of nodes; default `os.availableParallelism()`. */
  readonly size?: number;
  /** Host part of the names; default `127.0.0.1`. */
  readonly host?: string;
  /** EPMD port (an embedded EPMD starts in this process when none runs there); default `ERL_EPMD_PORT` or 4369. */
  readonly epmdPort?: number;
  /** Restarts allowed within {@link period} seconds before the cluster gives up (default 3, as a supervisor's intensity). */
  readonly intensity?: number;
  /** Seconds (default 5). */
  readonly period?: number;
  /** Distribution `net_ticktime` in ms (default 60000). */
  readonly netTickTime?: number;
  /** Milliseconds for every node to start at first (default 60000). */
  readonly startTimeout?: number;
  /**
   * Nodes of the cluster reach each other without TCP (default true): over
   * Unix domain sockets (processes) or shared-memory rings (threads); they
   * still listen on TCP for Erlang and other hosts.
   */
  readonly inHost?: boolean;
  /**
   * `processes` (default): each node an OS process (node:cluster worker):
   * crash isolation of every kind, and one listening port shared by every
   * node's Web and TCP servers. `threads`: each node a worker thread of this
   * process, joined over shared-memory rings: faster calls between nodes and
   * less memory, but a crash of the process ends every node, and listening
   * ports are per node (a Web or TCP server on a fixed port starts on one
   * node only).
   */
  readonly hosting?: 'processes' | 'threads';
  /** Threads: bytes of each shared-memory ring, one per direction of each connection (a power of two; default 131072). */
  readonly ringBytes?: number;
  /**
   * Threads: how long (µs) an idle node polls its rings before it sleeps
   * until woken (default 50; 0: never busy-wait). Polling saves the wake-up
   * of a sleeping thread on every message exchange while nodes are busy;
   * timers and I/O wait at most this long (see `setIdleSpin` in
   * src/core/scheduler.ts, which adapts the spin below it).
   */
  readonly maxSpinUs?: number;
}

/** One node of a local cluster, as {@link LocalCluster.members} lists it. */
export interface ClusterMember {
  readonly name: string;
  readonly index: number;
  /** OS process id of its current incarnation (this process's for a thread). */
  readonly osPid: number | undefined;
  /** Thread id of its current incarnation (hosting `threads`); undefined for a process. */
  readonly threadId: number | undefined;
  /** Creation of its current incarnation (0 before it registered). */
  readonly creation: number;
  readonly state: 'starting' | 'up' | 'down';
  /** How many times it was restarted. */
  readonly restarts: number;
  /**
   * Connections of the cluster's shared ports handed to its current
   * incarnation, and those of them still open (processes; 0 for threads,
   * whose ports are their own).
   */
  readonly connections: { readonly taken: number; readonly open: number };
}

/** A node's observable state (see {@link LocalCluster.stats}). */
export interface ClusterNodeStats extends MemberStats {
  readonly name: string;
  readonly osPid: number;
  readonly creation: number;
}

/** A node event of a local cluster. */
export type ClusterEvent =
  | { readonly kind: 'up'; readonly node: string; readonly creation: number; readonly osPid: number }
  | { readonly kind: 'down'; readonly node: string; readonly creation: number; readonly reason: string }
  | { readonly kind: 'shutdown'; readonly reason: 'reached_max_restart_intensity' | 'stopped' };

/** A running node's process or thread, as the cluster drives it. */
interface MemberHost {
  readonly osPid: number | undefined;
  readonly threadId: number | undefined;
  send(m: ToMember): void;
  /** Sends a connection of a shared port (processes only: a socket crosses to another process over IPC). */
  readonly sendConnection: SendConnection | undefined;
  /** Ends it as a crash would (a signal to a process; a thread is terminated). */
  kill(signal: NodeJS.Signals): boolean;
  /** Ends it at once, whatever state it is in. */
  forceStop(): void;
  readonly dead: boolean;
  /** Resolves when it has exited. */
  readonly exited: Promise<void>;
}

interface HostEvents {
  message(m: FromMember): void;
  exit(reason: string): void;
}

/** A node as a node:cluster worker process. */
function forkProcess(config: MemberConfig, on: HostEvents): MemberHost {
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./member.js', import.meta.url)), args: [], serialization: 'advanced' });
  const worker = cluster.fork({ [MEMBER_ENV]: JSON.stringify(config) });
  let dead = false;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code, signal) => {
      dead = true;
      resolve();
      on.exit(signal ?? `exit code ${code}`);
    }),
  );
  worker.on('message', (m: FromMember) => on.message(m));
  worker.on('error', () => {});
  return {
    get osPid() {
      return worker.process.pid;
    },
    threadId: undefined,
    send: (m) => {
      if (worker.isConnected()) worker.send(m);
    },
    sendConnection: (m, socket, done) => {
      if (!worker.isConnected()) return done(false);
      try {
        // keepOpen: the primary closes its copy once the member says it took it (or gives it to another member).
        worker.send(m, socket, { keepOpen: true }, (err) => done(err === null || err === undefined));
      } catch {
        done(false);
      }
    },
    kill: (signal) => worker.process.kill(signal),
    forceStop: () => void worker.process.kill('SIGKILL'),
    get dead() {
      return dead;
    },
    exited,
  };
}

/** A node as a worker thread of this process. */
function startThread(config: MemberConfig, on: HostEvents): MemberHost {
  const worker = new ThreadWorker(new URL('./member.js', import.meta.url), { workerData: { [MEMBER_ENV]: JSON.stringify(config) } });
  let dead = false;
  let terminated = false;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      dead = true;
      resolve();
      on.exit(terminated ? 'terminated' : `exit code ${code}`);
    }),
  );
  worker.on('message', (m: FromMember) => on.message(m));
  // An uncaught error ends the thread: its 'exit' (code 1) reports it.
  worker.on('error', () => {});
  const terminate = (): boolean => {
    if (dead) return false;
    terminated = true;
    void worker.terminate();
    return true;
  };
  return {
    osPid: process.pid,
    threadId: worker.threadId,
    send: (m) => {
      if (!dead) worker.postMessage(m);
    },
    sendConnection: undefined,
    kill: terminate,
    forceStop: () => void terminate(),
    get dead() {
      return dead;
    },
    exited,
  };
}

interface Slot {
  readonly name: string;
  readonly index: number;
  worker: MemberHost | undefined;
  creation: number;
  state: 'starting' | 'up' | 'down';
  restarts: number;
  registered: (() => void) | undefined;
  ready: { resolve: () => void; reject: (err: Error) => void } | undefined;
}

/** A started local cluster. Stop it with {@link stop} (or `await using`). */
export class LocalCluster {
  private readonly slots: Slot[];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  private readonly restartTimes: number[] = [];
  private readonly pendingStats = new Map<number, { waiting: number; out: ClusterNodeStats[]; resolve: (s: ClusterNodeStats[]) => void }>();
  private nextStatsId = 1;
  private nextMemberId = 1;
  /** Hosting `threads` with the in-host transport: relays the rings between the nodes. */
  private readonly rings: RingSwitch | undefined;
  /** Hosting `processes`: the ports the nodes' Web and TCP servers share, and how their connections are handed out. */
  private readonly shared = new SharedPorts();
  private stopping: Promise<void> | undefined;
  private resolveClosed!: (reason: 'reached_max_restart_intensity' | 'stopped') => void;
  /** Resolves when the cluster ends: `stopped` by {@link stop}, or after too many restarts. */
  readonly closed = new Promise<'reached_max_restart_intensity' | 'stopped'>((r) => (this.resolveClosed = r));

  /** @internal Use {@link startLocalCluster}. */
  constructor(
    private readonly options: Required<Omit<LocalClusterOptions, 'start' | 'args' | 'epmdPort' | 'inHost' | 'signal' | 'ringBytes' | 'maxSpinUs'>> & {
      module: string;
      args: unknown;
      inHost: InHostConfig | undefined;
    },
    private readonly epmd: EpmdHandle,
  ) {
    this.rings = options.hosting === 'threads' && options.inHost !== undefined ? new RingSwitch() : undefined;
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      name: `${options.base}_${index}@${options.host}`,
      index,
      worker: undefined,
      creation: 0,
      state: 'down' as const,
      restarts: 0,
      registered: undefined,
      ready: undefined,
    }));
  }

  /** The node names, in index order. */
  get names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** The EPMD port the nodes register with (for an Erlang node to find them). */
  get epmdPort(): number {
    return this.epmd.port;
  }

  /** How the nodes are hosted. */
  get hosting(): 'processes' | 'threads' {
    return this.options.hosting;
  }

  /** Each node: name, OS pid (and thread id), creation, state and restarts. */
  members(): ClusterMember[] {
    return this.slots.map((s) => ({
      name: s.name,
      index: s.index,
      osPid: s.worker?.osPid,
      threadId: s.worker?.threadId,
      creation: s.creation,
      state: s.state,
      restarts: s.restarts,
      connections: this.shared.counts(s.index),
    }));
  }

  /** Calls `listener` on every node up and down and on the cluster's shutdown. Returns the function that stops it. */
  monitor(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Each running node's name, OS pid, creation, event-loop utilization (since
   * the previous call), processes, queued messages, messages delivered (in
   * total and per second since the previous call), distribution messages in
   * and out, CPU time, memory and connections.
   * Nodes that do not answer within `timeout` ms (default 5000) are left out.
   */
  stats(timeout = 5000): Promise<ClusterNodeStats[]> {
    const up = this.slots.filter((s) => s.state === 'up' && s.worker !== undefined);
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      if (up.length === 0) return resolve([]);
      const timer = setTimeout(() => finish(), timeout);
      const finish = (): void => {
        clearTimeout(timer);
        const p = this.pendingStats.get(id);
        this.pendingStats.delete(id);
        resolve((p?.out ?? []).sort((a, b) => a.name.localeCompare(b.name)));
      };
      this.pendingStats.set(id, { waiting: up.length, out: [], resolve: finish });
      for (const s of up) this.tell(s, { type: 'stats', id });
    });
  }

  /**
   * Kills a node, as a crash would: its process by `signal` (default
   * SIGKILL), or its thread terminated (reason `terminated`). It is reported
   * down and restarted.
   */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const s = this.slots.find((x) => x.name === name);
    return s?.worker?.kill(signal) ?? false;
  }

  /** Stops every node (each stops its processes) and the embedded EPMD. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown('stopped');
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** @internal Starts every node, connects them, runs their start functions. */
  async startAll(signal?: AbortSignal): Promise<void> {
    const registered = this.slots.map((s) => new Promise<void>((resolve) => (s.registered = resolve)));
    const ready = this.slots.map((s) => new Promise<void>((resolve, reject) => (s.ready = { resolve, reject })));
    const timer = setTimeout(() => {
      for (const s of this.slots) s.ready?.reject(new Error(`node ${s.name} did not start within ${this.options.startTimeout} ms`));
    }, this.options.startTimeout);
    const onAbort = (): void => {
      for (const s of this.slots) s.ready?.reject(new AbortedError('local cluster start aborted', signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort(); // aborted while EPMD was being ensured
    try {
      for (const s of this.slots) this.fork(s, false);
      await Promise.race([Promise.all(registered), Promise.all(ready)]);
      for (const s of this.slots) this.tell(s, { type: 'connect', peers: this.names.filter((n) => n !== s.name), initiateAll: false });
      await Promise.all(ready);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private emit(e: ClusterEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private tell(s: Slot, m: ToMember): void {
    s.worker?.send(m);
  }

  private fork(s: Slot, restart: boolean): void {
    const o = this.options;
    const config: MemberConfig = {
      name: s.name,
      cookie: o.cookie,
      epmdPort: this.epmd.port,
      index: s.index,
      size: o.size,
      base: o.base,
      module: o.module,
      exportName: o.exportName,
      args: o.args,
      netTickTime: o.netTickTime,
      inHost: o.inHost,
    };
    const id = this.nextMemberId++;
    const rings = this.rings;
    let worker: MemberHost | undefined = undefined;
    const events: HostEvents = {
      message: (m) => {
        if (worker === undefined) return;
        if (rings !== undefined && m.type.startsWith('ring-')) rings.handle(id, m);
        else this.onMessage(s, worker, m, restart);
      },
      exit: (reason) => {
        // Its rings close now: its peers see the connection end at once.
        rings?.detach(id);
        if (worker !== undefined) this.onExit(s, worker, reason);
      },
    };
    worker = o.hosting === 'threads' ? startThread(config, events) : forkProcess(config, events);
    rings?.attach(id, (m) => worker?.send(m));
    s.worker = worker;
    s.state = 'starting';
    s.creation = 0;
  }

  private onMessage(s: Slot, worker: MemberHost, m: FromMember, restart: boolean): void {
    if (s.worker !== worker) return;
    switch (m.type) {
      case 'registered':
        s.creation = m.creation;
        if (restart) {
          const peers = this.slots.filter((x) => x !== s && x.state === 'up').map((x) => x.name);
          this.tell(s, { type: 'connect', peers, initiateAll: true });
        } else s.registered?.();
        return;
      case 'ready':
        this.shared.ready(s.index);
        s.state = 'up';
        s.ready?.resolve();
        s.ready = undefined;
        this.emit({ kind: 'up', node: s.name, creation: s.creation, osPid: worker.osPid ?? 0 });
        return;
      case 'failed':
        s.ready?.reject(new Error(`node ${s.name} failed to start: ${m.message}`));
        return;
      case 'stats': {
        const p = this.pendingStats.get(m.id);
        if (p === undefined) return;
        p.out.push({ ...m.stats, name: s.name, osPid: worker.osPid ?? 0, creation: s.creation });
        if (--p.waiting === 0) p.resolve(p.out);
        return;
      }
      case 'listen': {
        const send = worker.sendConnection;
        if (send === undefined) {
          worker.send({ type: 'listened', id: m.id, error: { code: 'ENOTSUP', message: 'a node that is a thread listens on its own ports' } });
          return;
        }
        void this.shared.listen(s.index, send, m, () => s.worker === worker).then((reply) => worker.send(reply));
        return;
      }
      case 'unlisten':
        this.shared.unlisten(s.index, m.key);
        return;
      case 'conn-ack':
        this.shared.ack(m.seq, m.accepted);
        return;
      case 'conn-closed':
        this.shared.closed(s.index, m.key);
        return;
    }
  }

  private onExit(s: Slot, worker: MemberHost, reason: string): void {
    if (s.worker !== worker) return;
    s.worker = undefined;
    this.shared.gone(s.index);
    const wasStarting = s.state === 'starting';
    s.state = 'down';
    for (const p of this.pendingStats.values()) if (--p.waiting === 0) p.resolve(p.out);
    if (s.ready !== undefined) {
      s.ready.reject(new Error(`node ${s.name} exited while starting (${reason})`));
      s.ready = undefined;
      return;
    }
    if (this.stopping !== undefined) return;
    if (!wasStarting) this.emit({ kind: 'down', node: s.name, creation: s.creation, reason });
    const now = Date.now();
    this.restartTimes.push(now);
    while ((this.restartTimes[0] ?? now) <= now - this.options.period * 1000) this.restartTimes.shift();
    if (this.restartTimes.length > this.options.intensity) {
      this.stopping ??= this.shutdown('reached_max_restart_intensity');
      return;
    }
    s.restarts++;
    this.fork(s, true);
  }

  private async shutdown(reason: 'reached_max_restart_intensity' | 'stopped'): Promise<void> {
    // No new connections from now on; the nodes drain the ones they have as they stop.
    this.shared.close();
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        if (w === undefined || w.dead) return;
        // A node not registered yet has nothing to stop and may not be listening to the primary yet (a stop
        // sent before its handler is installed would be lost): it is ended at once.
        if (s.creation === 0) w.forceStop();
        else w.send({ type: 'stop' });
        const timer = setTimeout(() => w.forceStop(), 10_000);
        await w.exited;
        clearTimeout(timer);
      }),
    );
    await this.epmd.close();
    if (this.options.inHost?.kind === 'unix') rmSync(this.options.inHost.dir, { recursive: true, force: true });
    this.emit({ kind: 'shutdown', reason });
    this.resolveClosed(reason);
  }
}

/**
 * Starts N Beamline nodes on this host (default one per core), each in its
 * own process or thread (`hosting`), named `${base}_${i}@${host}`, connected to each other, each
 * running `start`'s exported {@link ClusterStart}. Resolves when every node
 * has run it; rejects (and stops the others) when one fails to start.
 *
 * @example
 * ```ts
 * // app.ts: export async function start(node: Node) { node.spawn(echo, { name: 'echo' }); }
 * const cluster = await startLocalCluster({ base: 'app', cookie: 'secret', start: new URL('./app.js', import.meta.url) });
 * console.log(cluster.names); // ['app_0@127.0.0.1', 'app_1@127.0.0.1', ...]
 * console.table(await cluster.stats());
 * await cluster.stop();
 * ```
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const hosting = options.hosting ?? 'processes';
  if (hosting !== 'processes' && hosting !== 'threads') throw new RangeError(`hosting must be 'processes' or 'threads', got ${JSON.stringify(hosting)}`);
  if (hosting === 'processes' && !cluster.isPrimary) throw new Error('startLocalCluster runs in a primary process, not in a node of a local cluster');
  const ringBytes = options.ringBytes ?? 131_072;
  if (!Number.isInteger(ringBytes) || ringBytes < MIN_RING_BYTES || ringBytes > MAX_RING_BYTES || (ringBytes & (ringBytes - 1)) !== 0) {
    throw new RangeError(`ringBytes must be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES}, got ${ringBytes}`);
  }
  const maxSpinUs = options.maxSpinUs ?? 50;
  if (!(maxSpinUs >= 0 && maxSpinUs <= 10_000)) throw new RangeError(`maxSpinUs must be between 0 and 10000, got ${maxSpinUs}`);
  if (options.signal?.aborted === true) throw new AbortedError('local cluster start aborted', options.signal.reason);
  const size = options.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(options.base)) throw new RangeError(`base must be a node name prefix (letters, digits, _ and -), got ${JSON.stringify(options.base)}`);
  const module = options.start instanceof URL ? options.start.href : options.start.startsWith('file:') ? options.start : pathToFileURL(options.start).href;
  const epmd = await ensureEpmd(options.epmdPort === undefined ? {} : { port: options.epmdPort });
  const inHost: InHostConfig | undefined =
    options.inHost === false
      ? undefined
      : hosting === 'threads'
        ? { kind: 'ring', ringBytes, maxSpinUs }
        : // Short: a Unix socket path has a length limit of about 100 bytes.
          { kind: 'unix', dir: mkdtempSync(join(tmpdir(), 'bl-')) };
  const c = new LocalCluster(
    {
      base: options.base,
      cookie: options.cookie,
      module,
      exportName: options.exportName ?? 'start',
      args: options.args,
      size,
      host: options.host ?? '127.0.0.1',
      intensity: options.intensity ?? 3,
      period: options.period ?? 5,
      netTickTime: options.netTickTime ?? 60_000,
      startTimeout: options.startTimeout ?? 60_000,
      hosting,
      inHost,
    },
    epmd,
  );
  await c.startAll(options.signal);
  return c;
}
