/**
 * Observer hub: what the observer's HTTP handlers share. It picks the source
 * of each node (local, Beamline through distribution, Erlang through rpc),
 * checks tokens, and paces the live updates: one ticker for every open event
 * stream, and per tick one computation of each distinct view, whoever asks.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Node } from '../core/node.js';
import { NodeDistribution, rpc, RpcError } from '../distribution/node-dist.js';
import { atom } from '../terms/atom.js';
import { ErlangSource } from './erlang.js';
import { ObserverRequestError } from './errors.js';
import { LocalSource } from './local.js';
import { BeamlineRemoteSource, OBSERVER_RPC_MODULE } from './remote.js';
import { samplerOf } from './sampler.js';
import type { ObserverSource } from './source.js';
import type { NodeKind } from './views.js';

/** A node the observer can show. */
export interface NodeChoice {
  readonly name: string;
  /** Undefined until the observer has looked at it. */
  readonly kind: NodeKind | undefined;
  readonly local: boolean;
}

export class ObserverHub {
  readonly localSource: LocalSource;
  private readonly remotes = new Map<string, ObserverSource>();
  private subscribers = 0;
  private timer: NodeJS.Timeout | undefined;
  private tickWaiters: (() => void)[] = [];
  /** Views computed this tick (or earlier, for views so costly that recomputing them each tick would hog the node). */
  private cache = new Map<string, { value: Promise<unknown>; at: number; cost: number }>();
  private readonly token: Buffer;

  constructor(
    readonly node: Node,
    token: string,
    /** Reads need the token too (the observer listens beyond loopback). */
    readonly tokenForReads: boolean,
    readonly interval: number,
  ) {
    this.token = Buffer.from(token);
    this.localSource = new LocalSource(node);
  }

  /** Throws 401 (no token) or 403 (wrong token) unless `presented` is the token. */
  checkToken(presented: string | undefined): void {
    if (presented === undefined || presented === '') throw new ObserverRequestError(401, 'this needs the observer token: send Authorization: Bearer <token>');
    const p = Buffer.from(presented);
    if (p.length !== this.token.length || !timingSafeEqual(p, this.token)) throw new ObserverRequestError(403, 'wrong observer token');
  }

  private connected(): string[] {
    const d = this.node.distribution;
    return d instanceof NodeDistribution ? d.connectedNodes().map((n) => n.name) : [];
  }

  /** The local node and the connected ones. */
  nodes(): NodeChoice[] {
    const out: NodeChoice[] = [{ name: this.node.name.name, kind: 'beamline', local: true }];
    for (const n of this.connected()) {
      const s = this.remotes.get(n);
      out.push({ name: n, kind: s instanceof ErlangSource ? 'erlang' : s instanceof BeamlineRemoteSource ? 'beamline' : undefined, local: false });
    }
    return out;
  }

  /** The source of `name` (default: the local node). Unknown or unconnected nodes are 404. */
  async source(name: string | null): Promise<ObserverSource> {
    if (name === null || name === '' || name === this.node.name.name) return this.localSource;
    if (!this.connected().includes(name)) throw new ObserverRequestError(404, `${JSON.stringify(name.slice(0, 100))} is not a connected node`);
    let s = this.remotes.get(name);
    if (s === undefined) {
      s = await this.probe(name);
      this.remotes.set(name, s);
    }
    return s;
  }

  /** A Beamline node answers `beamline_observer:overview()`; an Erlang node answers `erlang:system_info(otp_release)`. */
  private async probe(name: string): Promise<ObserverSource> {
    try {
      const r = await rpc(this.node, name, OBSERVER_RPC_MODULE, 'overview', [], { timeout: 5000 });
      if (typeof r === 'string') return new BeamlineRemoteSource(this.node, name);
    } catch (err) {
      if (!(err instanceof RpcError)) throw new ObserverRequestError(502, `${name}: ${(err as Error).message}`);
    }
    try {
      await rpc(this.node, name, 'erlang', 'system_info', [atom('otp_release')], { timeout: 5000 });
      return new ErlangSource(this.node, name);
    } catch (err) {
      throw new ObserverRequestError(502, `${name} is neither an Erlang node nor a Beamline node that exposes the observer: ${(err as Error).message}`);
    }
  }

  /** `compute()` once per tick for `key`, shared by every stream that asks. */
  cached<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (this.subscribers === 0) return compute(); // no ticks: nothing would expire the entry
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit.value as Promise<T>;
    const at = performance.now();
    const value = compute();
    const entry = { value, at, cost: 0 };
    this.cache.set(key, entry);
    value.then(
      () => (entry.cost = performance.now() - at),
      () => this.cache.delete(key),
    );
    return value;
  }

  /** At a tick: forget the views computed before it, except costly ones, kept for 5 times what they cost (the observer takes at most a fifth of the node). */
  private expire(): void {
    const now = performance.now();
    for (const [key, e] of this.cache) if (now - e.at >= e.cost * 5) this.cache.delete(key);
  }

  /** An event stream opened: tick while any is open. */
  subscribe(): void {
    if (this.subscribers++ > 0) return;
    samplerOf(this.node).acquire();
    this.timer = setInterval(() => {
      this.expire();
      const waiters = this.tickWaiters;
      this.tickWaiters = [];
      for (const w of waiters) w();
    }, this.interval).unref();
  }

  unsubscribe(): void {
    if (this.subscribers === 0 || --this.subscribers > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.cache = new Map();
    samplerOf(this.node).release();
    for (const w of this.tickWaiters.splice(0)) w();
  }

  /** Resolves at the next tick. */
  nextTick(): Promise<void> {
    return new Promise((resolve) => this.tickWaiters.push(resolve));
  }
}
