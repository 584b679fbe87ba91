/**
 * The Raft behavior: a Server process that runs the Raft core for one peer,
 * talking to the other peers' servers (`{name, node}`) over distribution,
 * persisting through a {@link RaftStore} before sending what depends on it,
 * and applying committed entries to the user's state machine in order.
 *
 * The user's part is a {@link RaftBehavior}: `handleApply` for each committed
 * `append(key, value)`, `handleRead` for linearizable reads, `snapshot` and
 * `restore`, and the `handleLeader` / `handleQuorum` notifications of ergo's
 * Raft. Clients use {@link RaftClient}.
 *
 * @example
 * ```ts
 * const counter: RaftBehavior<number, number, 'sum', number> = {
 *   init: () => ({ state: 0 }),
 *   handleApply: (_key, value, _serial, sum) => sum + value,
 *   handleRead: (_query, sum) => sum,
 * };
 * await startRaft(node, counter, undefined, { name: 'counter', peers, dir: '/var/lib/counter' });
 * const client = new RaftClient<number, 'sum', number>(node, peers);
 * const serial = await client.append('n', 5);
 * const sum = await client.read('sum');
 * ```
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { isTuple, type Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { From, Process } from '../core/process.js';
import { noreply, ok, type ServerBehavior, startServer, type StartedServer } from '../server/index.js';
import { forwardReply } from '../server/server.js';
import { AbortedError } from '../core/errors.js';
import { ConfigError } from './core/config.js';
import { RaftCore, type RaftOptions } from './core/raft.js';
import type { ClusterConfig, Entry, Ready } from './core/types.js';
import { type SessionRecord, Sessions } from './sessions.js';
import { FileStore, type StoreCodec } from './storage/file-store.js';
import { MemoryStore } from './storage/memory-store.js';
import { type PersistBatch, persistBatch, persistedMark, type RaftStore } from './storage/store.js';
import { parseWireMessage, peerId, peerOf, type RaftCommand, type RaftFailure, type RaftPeer, type RaftReply, type RaftRequest, type RaftSnapshotData, type WireMessage } from './wire.js';
import { encode, decode } from '../etf/index.js';

type MaybePromise<T> = T | Promise<T>;


/** The members of the cluster as the latest configuration says. */
export interface RaftQuorum {
  readonly voters: readonly RaftPeer[];
  readonly learners: readonly RaftPeer[];
}

/** What `handleApply` returns when the append has a result for its caller (a compare-and-set's outcome, say). */
export class Applied<S> {
  constructor(
    readonly state: S,
    readonly result: unknown,
  ) {}
}

/** The next state and a result for the appender: `return applied(next, swapped)`. */
export function applied<S>(state: S, result: unknown): Applied<S> {
  return new Applied(state, result);
}

/** What `init` returns: the state machine's initial state (before any entry is applied). */
export interface RaftInit<S> {
  readonly state: S;
}

/**
 * The user's replicated state machine. `V` is the appended value type,
 * `Q`/`R` a read's query and result. Callbacks run inside the server process,
 * in log order, identically on every peer; they must be deterministic.
 */
export interface RaftBehavior<S, V, Q = never, R = never, A = undefined> {
  init(args: A): MaybePromise<RaftInit<S>>;
  /**
   * Applies a committed `append(key, value)` at `serial` (its log index);
   * returns the next state, or {@link applied}(state, result) to hand the
   * appender a result (see `RaftClient.appendResult`).
   */
  handleApply(key: string, value: V, serial: number, state: S): S | Applied<S>;
  /** Answers a linearizable read: runs once the state reflects every write committed before the read began. */
  handleRead?(query: Q, state: S): R;
  /** An image of the state for log compaction (default: the state itself; it must be a term). */
  snapshot?(state: S): unknown;
  /** The state from an image made by `snapshot`. */
  restore?(image: unknown): S;
  /** The leader changed (null: none known) in `term`. */
  handleLeader?(leader: RaftPeer | null, term: number, state: S): void;
  /** The membership changed. */
  handleQuorum?(quorum: RaftQuorum, state: S): void;
}

/** Options of {@link startRaft}. */
export interface RaftStartOptions {
  /** The name the server registers; peers reach it as `{name, node}`. */
  readonly name: string;
  /** The founding members (this one among them). A peer joining later passes `join: true` and is added by `changeMembership`. */
  readonly peers: readonly RaftPeer[];
  /** Start without bootstrapping: wait to be added through a membership change. */
  readonly join?: boolean;
  /** Where to keep the log (a {@link FileStore}); without `dir` or `store` the state is in memory only. */
  readonly dir?: string;
  readonly store?: RaftStore<RaftCommand<unknown>, RaftSnapshotData>;
  /** Milliseconds per Raft tick. Default 50. Heartbeats go every tick; elections after 10..20 ticks. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Take a snapshot every this many applied entries. Default 10000. */
  readonly snapshotEvery?: number;
  /** Voter counts allowed (default ergo's 3..11). */
  readonly voterPolicy?: RaftOptions['voterPolicy'];
  /** Cancels the start (while the log loads or `init` runs): the start rejects with an `AbortedError` and a store it opened is closed. */
  readonly signal?: AbortSignal;
}

const A_RAFT = atom('$raft');
const A_TICK = atom('$raft_tick');
const A_NODEDOWN = atom('nodedown');
const A_FLUSH = atom('$raft_flush');
/** `{'$raft_persisted', Index, Term}`: a background write of the log up to Index completed. */
const A_PERSISTED = atom('$raft_persisted');
/** `{'$raft_store_failed', Message}`: a background write failed; the server stops rather than go on without its disk. */
const A_STORE_FAILED = atom('$raft_store_failed');

/** The server's protocol (what RaftClient sends). */
export type RaftProtocol<V, Q, R> = { call: [RaftRequest<V, Q>, RaftReply<R> | RaftStatusReply]; info: Tuple<[Atom, unknown]> | Atom };

interface PendingAppend {
  readonly from: From<unknown>;
  readonly term: number;
  readonly deadline: number;
}

interface PendingRead<Q> {
  readonly from: From<unknown>;
  readonly query: Q;
  readonly deadline: number;
  /**
   * A read this peer passed on to its leader (it was not leading): when it
   * stops waiting for the leader's confirmation and tells the client to ask
   * again (Date.now() ms). Infinity for a read this peer serves as leader
   * (the core fails those itself when leadership ends).
   */
  readonly retryAt: number;
  index: number;
}

interface Host<S, V, Q, R> {
  readonly self: RaftPeer;
  readonly name: string;
  readonly behavior: RaftBehavior<S, V, Q, R, unknown>;
  readonly core: RaftCore<RaftCommand<V>, RaftSnapshotData>;
  readonly store: RaftStore<RaftCommand<V>, RaftSnapshotData>;
  readonly ownsStore: boolean;
  readonly tickMs: number;
  /** The longest election timeout (ms): how long a follower waits for its leader to confirm a read it passed on. */
  readonly readRetryMs: number;
  /** When the next tick is due (ms, performance.now()): ticks keep a fixed rate, a late timer does not push later ones back. */
  nextTick: number;
  readonly snapshotEvery: number;
  state: S;
  sessions: Sessions<readonly [number, unknown]>;
  applied: number;
  snapshotIndex: number;
  readonly appends: Map<number, PendingAppend[]>;
  readonly reads: Map<string, PendingRead<Q>>;
  readonly changes: Map<number, PendingAppend>;
  readSeq: number;
  flushQueued: boolean;
  /** The last write handed to the store (writes complete in order), while any is in flight. */
  lastWrite: Promise<void> | null;
  writesInFlight: number;
  leader: string | null;
  /** The leader's node while this peer monitors it (a follower learns of its death from the connection). */
  watched: string | null;
  term: number;
  config: ClusterConfig | null;
}

/** ETF inside JSON for the file store: any term can be appended. */
const etfCodec: StoreCodec<RaftCommand<unknown>, RaftSnapshotData> = {
  encodeCommand: (c) => ({ key: c.key, value: Buffer.from(encode(c.value)).toString('base64') }),
  decodeCommand: (v) => {
    const o = v as { key: string; value: string };
    return { key: o.key, value: decode(Buffer.from(o.value, 'base64')) };
  },
  encodeSnapshot: (s) => Buffer.from(encode(s)).toString('base64'),
  decodeSnapshot: (v) => decode(Buffer.from(v as string, 'base64')) as RaftSnapshotData,
};

function failure<R>(reason: RaftFailure, leader: string | null, detail: string): RaftReply<R> {
  return { ok: false, reason, leader: leader === null ? null : peerOf(leader), detail };
}

/**
 * Starts one Raft peer as a Server registered under `options.name`. Resolves
 * once the stored state is loaded and the peer runs.
 */
export async function startRaft<S, V, Q = never, R = never, A = undefined>(
  node: Node,
  behavior: RaftBehavior<S, V, Q, R, A>,
  args: A,
  options: RaftStartOptions,
): Promise<StartedServer<RaftProtocol<V, Q, R>>> {
  const self: RaftPeer = { name: options.name, node: node.name.name };
  if (!options.join && !options.peers.some((p) => p.name === self.name && p.node === self.node)) {
    throw new ConfigError(`peers must include this peer ${self.name} on ${self.node}`);
  }
  const signal = options.signal;
  const aborted = (): boolean => signal?.aborted === true;
  if (aborted()) throw new AbortedError('raft start aborted', signal?.reason);
  const ownsStore = options.store === undefined;
  const store = (options.store ??
    (options.dir !== undefined ? await FileStore.open({ dir: options.dir, codec: etfCodec }) : new MemoryStore())) as RaftStore<RaftCommand<V>, RaftSnapshotData>;
  const closeOwned = async (): Promise<void> => {
    if (ownsStore) await store.close();
  };
  const persisted = await store.load().catch(async (err: unknown) => {
    await closeOwned();
    throw err;
  });
  if (aborted()) {
    await closeOwned();
    throw new AbortedError('raft start aborted', signal?.reason);
  }
  const bootstrap = options.join === true ? null : { voters: options.peers.map(peerId), learners: [] };
  const core = new RaftCore<RaftCommand<V>, RaftSnapshotData>(
    {
      id: peerId(self),
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: 1,
      asyncStorage: true,
      ...(options.voterPolicy === undefined ? {} : { voterPolicy: options.voterPolicy }),
    },
    persisted,
    bootstrap,
  );
  const tickMs = options.tickMs ?? 50;
  const server: ServerBehavior<RaftProtocol<V, Q, R>, Host<S, V, Q, R>, undefined> = {
    behavior: 'raft',
    init: async (_a, ctx) => {
      const init = await behavior.init(args);
      const host: Host<S, V, Q, R> = {
        self,
        name: options.name,
        behavior: behavior as RaftBehavior<S, V, Q, R, unknown>,
        core,
        store,
        ownsStore,
        tickMs,
        readRetryMs: 2 * (options.electionTicks ?? 10) * tickMs,
        nextTick: performance.now() + tickMs,
        snapshotEvery: options.snapshotEvery ?? 10_000,
        state: init.state,
        sessions: new Sessions(),
        applied: 0,
        snapshotIndex: persisted?.snapshot?.index ?? 0,
        appends: new Map(),
        reads: new Map(),
        changes: new Map(),
        readSeq: 0,
        flushQueued: false,
        lastWrite: null,
        writesInFlight: 0,
        leader: null,
        watched: null,
        term: 0,
        config: null,
      };
      ctx.sendAfter(ctx.self, A_TICK, tickMs);
      queueFlush(host, ctx);
      return ok(host);
    },
    handleCall: async (request, from, host, ctx) => {
      const r = handleRequest(host, request as RaftRequest<V, Q>, from as From, ctx);
      await flushSoon(host, ctx);
      return r === null ? noreply(host) : forwardReply(r, host);
    },
    handleInfo: async (message, host, ctx) => {
      if (message === A_TICK) {
        // Like a ticker: every tick that fell due runs (timers fire late on a busy machine; a
        // re-armed timeout would stretch every election timeout by the lateness of each tick).
        const now = performance.now();
        for (let n = 0; host.nextTick <= now && n < 10; n++) {
          host.core.tick();
          host.nextTick += host.tickMs;
        }
        if (host.nextTick <= now) host.nextTick = now + host.tickMs; // stalled for long: skip the backlog
        expire(host, ctx);
        ctx.sendAfter(ctx.self, A_TICK, Math.max(1, Math.ceil(host.nextTick - now)));
        queueFlush(host, ctx);
      } else if (message === A_FLUSH) {
        host.flushQueued = false;
        await flush(host, ctx);
      } else if (isTuple(message, 3) && message.elements[0] === A_PERSISTED) {
        host.core.persisted(message.elements[1] as number, message.elements[2] as number);
        await flushSoon(host, ctx);
      } else if (isTuple(message, 2) && message.elements[0] === A_NODEDOWN) {
        const node = message.elements[1];
        leaderNodeDown(host, node instanceof Atom ? node.name : String(node));
        await flushSoon(host, ctx);
      } else if (isTuple(message, 2) && message.elements[0] === A_STORE_FAILED) {
        throw new Error(`raft ${host.name}: the store failed: ${String(message.elements[1])}`);
      } else if (isTuple(message, 2) && message.elements[0] === A_RAFT) {
        const m = parseWireMessage<V>(message.elements[1]);
        if (m !== null) {
          host.core.step(m);
          await flushSoon(host, ctx);
        } else ctx.node.log('warning', `raft ${host.name}: dropped a malformed message`);
      }
      return noreply(host);
    },
    terminate: async (_reason, host) => {
      if (host.ownsStore) await host.store.close();
    },
  };
  try {
    return await startServer(node, server, undefined, { name: options.name, ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    // init failed or the start was aborted: terminate does not run, so the store this start opened is closed here.
    await closeOwned();
    throw err;
  }
}

/**
 * Flushes now when no other message waits (lowest latency), else queues a
 * flush behind the waiting messages so that one write burst covers them all.
 */
function flushSoon<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): Promise<void> | undefined {
  if (host.flushQueued || !host.core.hasReady()) return undefined;
  if (ctx.messageQueueLength === 0) return flush(host, ctx);
  queueFlush(host, ctx);
  return undefined;
}

function queueFlush<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): void {
  if (host.flushQueued || !host.core.hasReady()) return;
  host.flushQueued = true;
  ctx.send(ctx.self, A_FLUSH);
}

/**
 * One write burst: hand the write to the store, send, then apply and answer.
 *
 * A leader's appends go out at once, while its own write runs, and the leader
 * goes on handling messages: the core counts the leader's entries toward a
 * commit only once the write is reported persisted (`$raft_persisted`), so
 * an entry commits when a majority has it on disk, the leader among them or
 * not (Raft thesis 10.2.1). Everything else (acknowledgements, votes)
 * promises durable state: it waits for this write and every earlier one,
 * and meanwhile this process handles nothing else (a follower has nothing
 * else to do: the messages that arrive meanwhile join the next burst).
 */
async function flush<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): Promise<void> {
  while (host.core.hasReady()) {
    const r = host.core.ready();
    const batch = persistBatch(r);
    const leading = host.core.status().role === 'leader';
    let rest = false;
    for (const m of r.messages) {
      if (leading && (m.type === 'append' || m.type === 'snapshot')) ctx.send(peerOf(m.to), tuple(A_RAFT, m));
      else rest = true;
    }
    if (batch !== null) write(host, batch, ctx, rest);
    if (rest) {
      if (host.lastWrite !== null) await host.lastWrite;
      for (const m of r.messages) if (!leading || (m.type !== 'append' && m.type !== 'snapshot')) ctx.send(peerOf(m.to), tuple(A_RAFT, m));
    }
    apply(host, r, ctx);
    if (host.applied - host.snapshotIndex >= host.snapshotEvery) {
      const image = host.behavior.snapshot === undefined ? host.state : host.behavior.snapshot(host.state);
      host.core.compact(host.applied, { user: image, sessions: host.sessions.toRecords() });
      host.snapshotIndex = host.applied;
    }
  }
  notify(host, ctx);
}

/** Hands `batch` to the store; its completion comes back as `$raft_persisted` (or `$raft_store_failed`). */
function write<S, V, Q, R>(host: Host<S, V, Q, R>, batch: PersistBatch<RaftCommand<V>, RaftSnapshotData>, ctx: Process, awaited: boolean): void {
  const mark = persistedMark(batch);
  const self = ctx.self;
  host.writesInFlight++;
  const saved = host.store.save(batch, { awaited });
  host.lastWrite = saved;
  saved.then(
    () => {
      if (--host.writesInFlight === 0) host.lastWrite = null;
      if (mark !== null) ctx.send(self, tuple(A_PERSISTED, mark.index, mark.term));
    },
    (e: unknown) => {
      if (--host.writesInFlight === 0) host.lastWrite = null;
      ctx.send(self, tuple(A_STORE_FAILED, e instanceof Error ? e.message : String(e)));
    },
  );
}

function apply<S, V, Q, R>(host: Host<S, V, Q, R>, r: Ready<RaftCommand<V>, RaftSnapshotData>, ctx: Process): void {
  if (r.restore !== null) {
    const image = r.restore.data.user;
    host.state = host.behavior.restore === undefined ? (image as S) : host.behavior.restore(image);
    host.sessions = Sessions.fromRecords(r.restore.data.sessions as SessionRecord<readonly [number, unknown]>[]);
    host.applied = r.restore.index;
    host.snapshotIndex = r.restore.index;
  }
  for (const e of r.committed) applyEntry(host, e, ctx);
  for (const ctxId of r.failedReads) {
    const p = host.reads.get(ctxId);
    if (p === undefined) continue;
    host.reads.delete(ctxId);
    ctx.reply(p.from, failure<R>('not_leader', host.core.status().leader, 'no leader could confirm the read'));
  }
  for (const rs of r.readStates) {
    const p = host.reads.get(rs.ctx);
    if (p !== undefined) p.index = rs.index;
  }
  serveReads(host, ctx);
  // Appends whose leadership ended cannot be known to commit here: the client retries (same request id).
  if (host.core.status().role !== 'leader' && (host.appends.size > 0 || host.changes.size > 0)) {
    const leader = host.core.status().leader;
    for (const list of host.appends.values()) for (const p of list) ctx.reply(p.from, failure<R>('not_leader', leader, 'leadership changed'));
    for (const p of host.changes.values()) ctx.reply(p.from, failure<R>('not_leader', leader, 'leadership changed'));
    host.appends.clear();
    host.changes.clear();
  }
}

function applyEntry<S, V, Q, R>(host: Host<S, V, Q, R>, e: Entry<RaftCommand<V>>, ctx: Process): void {
  host.applied = e.index;
  let serial = e.index;
  let result: unknown = null;
  if (e.kind === 'command') {
    const done = e.request === undefined ? null : host.sessions.applied(e.request);
    if (done !== null) [serial, result] = done.result ?? [e.index, null];
    else {
      try {
        const next = host.behavior.handleApply(e.command.key, e.command.value, e.index, host.state);
        if (next instanceof Applied) {
          host.state = next.state as S;
          result = next.result;
        } else host.state = next;
      } catch (err) {
        // The same entry fails the same way everywhere: log it and go on, like a rejected command.
        ctx.node.log('error', `raft ${host.name}: handleApply failed at ${e.index}: ${(err as Error).message}`);
      }
      if (e.request !== undefined) host.sessions.record(e.request, [e.index, result]);
    }
  }
  const waiting = host.appends.get(e.index);
  if (waiting !== undefined) {
    host.appends.delete(e.index);
    for (const p of waiting) {
      if (p.term === e.term) ctx.reply(p.from, { ok: true, serial, value: result } as RaftReply<R>);
      else ctx.reply(p.from, failure<R>('not_leader', host.core.status().leader, 'the entry was overwritten by a new leader'));
    }
  }
  const change = host.changes.get(e.index);
  if (change !== undefined) {
    host.changes.delete(e.index);
    ctx.reply(change.from, change.term === e.term ? ({ ok: true, serial: e.index, value: null } satisfies RaftReply<R>) : failure<R>('not_leader', null, 'overwritten'));
  }
}

function serveReads<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): void {
  for (const [id, p] of host.reads) {
    if (p.index < 0 || host.applied < p.index) continue;
    host.reads.delete(id);
    if (host.behavior.handleRead === undefined) {
      ctx.reply(p.from, failure<R>('bad_request', null, 'this Raft behavior has no handleRead'));
      continue;
    }
    try {
      ctx.reply(p.from, { ok: true, serial: p.index, value: host.behavior.handleRead(p.query, host.state) } satisfies RaftReply<R>);
    } catch (err) {
      ctx.reply(p.from, failure<R>('bad_request', null, `handleRead failed: ${(err as Error).message}`));
    }
  }
}

/**
 * The leader's node went down (its connection closed): the followers
 * campaign at once instead of after an election timeout, the first voter in
 * id order after one tick, the next after three, and so on.
 */
function leaderNodeDown<S, V, Q, R>(host: Host<S, V, Q, R>, node: string): void {
  const leader = host.core.status().leader;
  if (leader === null || peerOf(leader).node !== node) return;
  const rest = host.core.status().config.voters.filter((v) => v !== leader).sort();
  const rank = rest.indexOf(peerId(host.self));
  if (rank >= 0) host.core.leaderUnreachable(leader, 1 + 2 * rank);
}

function notify<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): void {
  const s = host.core.status();
  if (s.leader !== host.leader || s.term !== host.term) {
    const changed = s.leader !== host.leader;
    host.leader = s.leader;
    host.term = s.term;
    const node = s.leader === null ? null : peerOf(s.leader).node;
    const watch = node !== null && node !== host.self.node ? node : null;
    if (watch !== host.watched) {
      if (host.watched !== null) ctx.demonitorNode(host.watched);
      if (watch !== null) ctx.monitorNode(watch);
      host.watched = watch;
    }
    if (changed) host.behavior.handleLeader?.(s.leader === null ? null : peerOf(s.leader), s.term, host.state);
  }
  if (host.config !== s.config) {
    host.config = s.config;
    host.behavior.handleQuorum?.({ voters: s.config.voters.map(peerOf), learners: s.config.learners.map(peerOf) }, host.state);
  }
}

function expire<S, V, Q, R>(host: Host<S, V, Q, R>, ctx: Process): void {
  const now = Date.now();
  for (const [index, list] of host.appends) {
    const live = list.filter((p) => {
      if (p.deadline > now) return true;
      ctx.reply(p.from, failure<R>('timeout', host.core.status().leader, 'not committed in time'));
      return false;
    });
    if (live.length === 0) host.appends.delete(index);
    else host.appends.set(index, live);
  }
  for (const [index, p] of host.changes) {
    if (p.deadline > now) continue;
    host.changes.delete(index);
    ctx.reply(p.from, failure<R>('timeout', host.core.status().leader, 'membership change not committed in time'));
  }
  for (const [id, p] of host.reads) {
    if (p.deadline <= now) {
      host.reads.delete(id);
      ctx.reply(p.from, failure<R>('timeout', host.core.status().leader, 'read not confirmed in time'));
    } else if (p.index === -1 && p.retryAt <= now) {
      // This peer passed the read to its leader and no answer came within an election timeout (the
      // request or the answer was lost: the leader died or was cut off; this peer may even lead now):
      // the client asks again instead of waiting out its whole deadline. A read is safe to retry.
      host.reads.delete(id);
      ctx.reply(p.from, failure<R>('not_leader', host.core.status().leader, 'the leader did not confirm the read'));
    }
  }
}

function handleRequest<S, V, Q, R>(host: Host<S, V, Q, R>, req: RaftRequest<V, Q>, from: From<unknown>, ctx: Process): RaftReply<R> | RaftStatusReply | null {
  if (typeof req !== 'object' || req === null || typeof (req as { op?: unknown }).op !== 'string') return failure<R>('bad_request', null, 'not a Raft request');
  const core = host.core;
  const timeout = 'timeout' in req && typeof req.timeout === 'number' && req.timeout > 0 ? req.timeout : 5000;
  switch (req.op) {
    case 'append': {
      if (typeof req.key !== 'string' || typeof req.client !== 'string' || !Number.isSafeInteger(req.seq)) return failure<R>('bad_request', null, 'append needs a string key, a client id and a seq');
      const ack = Number.isSafeInteger(req.ack) && req.ack <= req.seq ? req.ack : req.seq;
      const r = core.propose({ key: req.key, value: req.value }, { client: req.client, seq: req.seq, ack });
      if (!r.ok) return failure<R>('not_leader', r.leader, r.reason);
      const list = host.appends.get(r.index) ?? [];
      list.push({ from, term: r.term, deadline: Date.now() + timeout });
      host.appends.set(r.index, list);
      return null;
    }
    case 'read': {
      const id = `${host.self.node}/${++host.readSeq}`;
      const now = Date.now();
      const retryAt = core.status().role === 'leader' ? Infinity : now + host.readRetryMs;
      host.reads.set(id, { from, query: req.query, deadline: now + timeout, retryAt, index: -1 });
      core.read(id);
      return null;
    }
    case 'change': {
      if (!['addVoter', 'addLearner', 'remove'].includes(req.change) || typeof req.peer?.name !== 'string' || typeof req.peer?.node !== 'string') {
        return failure<R>('bad_request', null, 'change needs addVoter|addLearner|remove and a peer');
      }
      try {
        const r = core.proposeChange({ type: req.change, peer: peerId(req.peer) });
        if (!r.ok) return failure<R>('not_leader', r.leader, r.reason);
        host.changes.set(r.index, { from, term: r.term, deadline: Date.now() + timeout });
        return null;
      } catch (e) {
        if (e instanceof ConfigError) return failure<R>('refused', core.status().leader, e.message);
        throw e;
      }
    }
    case 'transfer': {
      if (typeof req.peer?.name !== 'string' || typeof req.peer?.node !== 'string') return failure<R>('bad_request', null, 'transfer needs a peer');
      if (core.status().role !== 'leader') return failure<R>('not_leader', core.status().leader, 'not the leader');
      const done = core.transferLeadership(peerId(req.peer));
      return done ? ({ ok: true, serial: core.status().commit, value: null } satisfies RaftReply<R>) : failure<R>('refused', core.status().leader, 'the target is not a voter, or a transfer is running');
    }
    case 'status': {
      const s = core.status();
      return {
        role: s.role,
        term: s.term,
        leader: s.leader === null ? null : peerOf(s.leader),
        commit: s.commit,
        applied: host.applied,
        lastIndex: s.lastIndex,
        voters: s.config.voters.map(peerOf),
        learners: s.config.learners.map(peerOf),
      } satisfies RaftStatusReply;
    }
    default:
      return failure<R>('bad_request', null, `unknown op ${String((req as { op: unknown }).op)}`);
  }
}

/** A peer's status as {@link RaftClient.status} returns it. */
export interface RaftStatusReply {
  readonly role: string;
  readonly term: number;
  readonly leader: RaftPeer | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly voters: readonly RaftPeer[];
  readonly learners: readonly RaftPeer[];
}
