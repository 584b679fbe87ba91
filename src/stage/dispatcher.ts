/**
 * The dispatcher interface: how a producer shares its events among its
 * consumers (GenStage.Dispatcher). A dispatcher is created per producer by a
 * {@link DispatcherFactory}, told about subscriptions, cancellations and
 * demand, and given events to send; it returns the demand to forward to the
 * producer's `handleDemand` and the events it could not send (the producer
 * buffers them).
 *
 * @example A dispatcher that sends everything to the consumer that asked most
 * recently (a sketch; see DemandDispatcher for a complete one):
 * ```ts
 * const lastAsker: DispatcherFactory<unknown> = (ctx) => {
 *   const demand = new Map<unknown, { sub: Subscription; n: number }>();
 *   return {
 *     subscribe: (_opts, sub) => { demand.set(sub.elements[1], { sub, n: 0 }); return 0; },
 *     cancel: (sub) => { demand.delete(sub.elements[1]); return 0; },
 *     ask: (n, sub) => { const d = demand.get(sub.elements[1]); if (d) d.n += n; return n; },
 *     dispatch: (events) => { ... ctx.sendEvents(sub, slice) ...; return leftover; },
 *     info: (msg) => ctx.sendInfo(msg),
 *   };
 * };
 * ```
 * @module
 */
import type { ExitReason } from '../core/reasons.js';
import type { KeywordList, Subscription } from './types.js';

/** What a dispatcher may do: send events to a subscriber, deliver an info message to its own stage, log. */
export interface DispatcherContext<E> {
  /** Sends `{'$gen_consumer', {Self, Tag}, Events}` to the subscriber (events must be non-empty). */
  sendEvents(subscription: Subscription, events: readonly E[]): void;
  /** Delivers `message` to the stage's `handleInfo` (after what is already queued). */
  sendInfo(message: unknown): void;
  /** Feeds `n` of demand for `subscription` back into this dispatcher, as if the consumer had asked (Broadcast uses it for events its selector filtered out). */
  askSelf(subscription: Subscription, n: number): void;
  log(level: 'error' | 'warning' | 'info', message: string): void;
}

/** Returned by `subscribe` to refuse a subscription: the consumer receives a cancel with `reason`. */
export class SubscriptionRefused {
  constructor(readonly reason: ExitReason) {}
}

/** A producer's dispatcher. Every method is called inside the producer's process. */
export interface Dispatcher<E> {
  /** A consumer subscribed with `options`; returns demand to forward (usually 0), or refuses. */
  subscribe(options: KeywordList, subscription: Subscription): number | SubscriptionRefused;
  /** A subscription ended; returns demand to forward. */
  cancel(subscription: Subscription): number;
  /** A consumer asked for `demand` more events; returns demand to forward to `handleDemand`. */
  ask(demand: number, subscription: Subscription): number;
  /** Sends what it can of `events` (`length` of them); returns those left, which the producer buffers. */
  dispatch(events: readonly E[], length: number): readonly E[];
  /** An info message (`syncInfo`/`asyncInfo`) reached the dispatcher: deliver it with `ctx.sendInfo` once earlier events are out. */
  info(message: unknown): void;
}

/** Builds a dispatcher for one producer. */
export type DispatcherFactory<E> = (ctx: DispatcherContext<E>) => Dispatcher<E>;

/** How a producer names its dispatcher: a factory (see `demandDispatcher()`, `broadcastDispatcher()`, `partitionDispatcher()`). */
export type DispatcherSpec<E> = DispatcherFactory<E>;
