/**
 * The client side of the Raft behavior: finds the leader (following
 * redirects, trying the next peer when one is down), numbers appends so a
 * retry is applied once, and enforces a deadline on every operation that
 * always fires.
 * @module
 */
import type { CallOptions } from '../core/protocol.js';
import { CallTimeoutError } from '../core/errors.js';
import type { RaftStatusReply } from './server.js';
import type { RaftFailure, RaftPeer, RaftReply, RaftRequest } from './wire.js';

/** Anything that can make a call: a Node or a Process. */
export interface RaftCaller {
  call(to: RaftPeer, request: unknown, options?: CallOptions): Promise<unknown>;
}

/** An operation did not complete before its deadline; an append may still commit later (a retry with the same client is applied once). */
export class RaftTimeoutError extends Error {
  override readonly name = 'RaftTimeoutError';
}

/** A request was refused (bad request, a membership change against the rules). */
export class RaftRequestError extends Error {
  override readonly name = 'RaftRequestError';
  constructor(
    readonly reason: RaftFailure,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/** Per-operation options. */
export interface RaftCallOptions {
  /** Milliseconds until the operation fails with RaftTimeoutError. Default: the client's (5000). */
  readonly timeout?: number;
}

function samePeer(a: RaftPeer, b: RaftPeer): boolean {
  return a.name === b.name && a.node === b.node;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A client of a Raft cluster, usable from any node that can reach the peers.
 *
 * @example
 * ```ts
 * const client = new RaftClient<string, string, string | null>(node, peers);
 * const serial = await client.append('greeting', 'hello');
 * const value = await client.read('greeting');
 * ```
 */
export class RaftClient<V, Q = never, R = never> {
  /** This client's id in request ids. */
  readonly id: string;
  private leader: RaftPeer | null = null;
  private rotate = 0;
  private seq = 0;
  private readonly inflight = new Set<number>();
  private readonly timeout: number;

  constructor(
    private readonly caller: RaftCaller,
    private readonly peers: readonly RaftPeer[],
    options: { readonly timeout?: number; readonly id?: string } = {},
  ) {
    if (peers.length === 0) throw new RangeError('a Raft client needs at least one peer');
    this.timeout = options.timeout ?? 5000;
    this.id = options.id ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Appends `value` under `key`; resolves with its serial (log index) once committed and applied on the leader. */
  async append(key: string, value: V, options: RaftCallOptions = {}): Promise<number> {
    return (await this.appendResult(key, value, options)).serial;
  }

  /** Like {@link append}, also resolving with what `handleApply` returned through `applied(state, result)` (else null). */
  async appendResult<T = unknown>(key: string, value: V, options: RaftCallOptions = {}): Promise<{ readonly serial: number; readonly result: T }> {
    const seq = ++this.seq;
    this.inflight.add(seq);
    try {
      const r = await this.request((timeout) => ({ op: 'append', key, value, client: this.id, seq, timeout, ack: Math.min(...this.inflight) }), options);
      return { serial: r.serial, result: r.value as T };
    } finally {
      this.inflight.delete(seq);
    }
  }

  /** A linearizable read: `handleRead(query)` on a state that includes every write committed before this call. */
  async read(query: Q, options: RaftCallOptions = {}): Promise<R> {
    const r = await this.request((timeout) => ({ op: 'read', query, timeout }), options);
    return r.value as R;
  }

  /** Adds a voter or learner, or removes a member, through the log; resolves with the change's serial once committed. */
  async changeMembership(change: 'addVoter' | 'addLearner' | 'remove', peer: RaftPeer, options: RaftCallOptions = {}): Promise<number> {
    return (await this.request((timeout) => ({ op: 'change', change, peer, timeout }), options)).serial;
  }

  /** Asks the leader to hand leadership to `peer`. */
  async transferLeadership(peer: RaftPeer, options: RaftCallOptions = {}): Promise<void> {
    await this.request(() => ({ op: 'transfer', peer }), options);
  }

  /** One peer's view of the cluster. */
  async status(peer: RaftPeer, options: RaftCallOptions = {}): Promise<RaftStatusReply> {
    return (await this.caller.call(peer, { op: 'status' } satisfies RaftRequest<V, Q>, { timeout: options.timeout ?? this.timeout })) as RaftStatusReply;
  }

  private async request(build: (timeout: number) => RaftRequest<V, Q> | (RaftRequest<V, Q> & { ack: number }), options: RaftCallOptions): Promise<{ serial: number; value: unknown }> {
    const deadline = Date.now() + (options.timeout ?? this.timeout);
    let target = this.leader ?? this.peers[this.rotate % this.peers.length]!;
    let redirects = 0;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new RaftTimeoutError(`no answer within ${options.timeout ?? this.timeout} ms`);
      let reply: RaftReply<R>;
      try {
        reply = (await this.caller.call(target, build(remaining), { timeout: remaining })) as RaftReply<R>;
      } catch (e) {
        if (e instanceof CallTimeoutError) throw new RaftTimeoutError(`no answer within ${options.timeout ?? this.timeout} ms`);
        // The peer is down or unreachable: try the next one.
        this.leader = null;
        target = this.peers[++this.rotate % this.peers.length]!;
        await sleep(Math.min(20, Math.max(0, deadline - Date.now())));
        continue;
      }
      if (reply.ok) {
        this.leader = target;
        return { serial: reply.serial, value: reply.value };
      }
      switch (reply.reason) {
        case 'not_leader':
          if (reply.leader !== null && !samePeer(reply.leader, target) && redirects++ < this.peers.length) {
            target = reply.leader;
            this.leader = target;
          } else {
            // No leader known yet (an election is running): wait a little, then ask around.
            redirects = 0;
            this.leader = null;
            target = this.peers[++this.rotate % this.peers.length]!;
            await sleep(Math.min(25, Math.max(0, deadline - Date.now())));
          }
          continue;
        case 'timeout':
          throw new RaftTimeoutError(reply.detail);
        default:
          throw new RaftRequestError(reply.reason, reply.detail);
      }
    }
  }
}
