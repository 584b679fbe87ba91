/**
 * Client functions of stages (GenStage's module functions): subscribe a
 * consumer to a producer (sync or async, or resubscribe), ask for events in
 * manual mode, cancel a subscription, queue info messages behind buffered
 * events, switch a producer's demand mode, and read its buffered count. They
 * send GenStage's own requests, so they work on Elixir stages too.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BeamlineError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { type Address, type Protocol, ServerRef } from '../core/protocol.js';
import { type ExitReason, formatReason, toReason } from '../core/reasons.js';
import { type SubscribeOptions, StageOptionsError, type StageTarget, targetTerm, toKeywordList } from './options.js';
import type { StartedStage } from './stage.js';
import type { DemandMode, Subscription } from './types.js';

const A_GEN_PRODUCER = atom('$gen_producer');
const A_ASK = atom('ask');
const A_CANCEL = atom('cancel');
const A_SUBSCRIBE_REQ = atom('$subscribe');
const A_INFO = atom('$info');
const A_DEMAND = atom('$demand');
const A_ESTIMATE = atom('$estimate_buffered_count');
const A_OK = atom('ok');
const A_ERROR = atom('error');

/** A stage to talk to: a started stage, a pid, a name or `{name, node}`. */
export type StageRef = StageTarget;

/** A consumer stage that accepts events of type `E` (any untyped destination also does). */
export type ConsumerOf<E> = StartedStage<E, unknown, Protocol> | Exclude<StageTarget, ServerRef<Protocol>>;
/** A producer stage whose events are assignable to `E` (any untyped destination also does). */
export type ProducerOf<E> = StartedStage<never, E, Protocol> | Exclude<StageTarget, ServerRef<Protocol>>;

/** A subscription was refused by the consumer: `{error, Reason}` (bad options, not a consumer). */
export class SubscribeError extends BeamlineError {
  override name = 'SubscribeError';
  constructor(readonly reason: unknown) {
    super(`subscribe failed: ${formatReason(reason)}`);
  }
}

function dest(stage: StageTarget): Address {
  if (stage instanceof ServerRef) return stage.dest;
  return targetTerm(stage);
}

function subscribeRequest(current: Tuple | null, options: SubscribeOptions<never>): Tuple {
  const { to, ...rest } = options;
  if (to === undefined) throw new StageOptionsError('expected :to argument in subscribe');
  return tuple(A_SUBSCRIBE_REQ, current, targetTerm(to), toKeywordList(rest));
}

async function callSubscribe(from: Node | Process, consumer: StageTarget, request: Tuple, timeout: number): Promise<Ref> {
  const r = await from.call(dest(consumer), request, { timeout });
  if (r instanceof Tuple && r.elements[0] === A_OK && r.elements.length === 2) return r.elements[1] as Ref;
  if (r instanceof Tuple && r.elements[0] === A_ERROR) throw new SubscribeError(r.elements[1]);
  throw new SubscribeError(r);
}

/**
 * Asks `consumer` to subscribe to `options.to` and waits until it has sent
 * the subscription (GenStage's `sync_subscribe/3`); resolves with the
 * subscription tag. Rejects with {@link SubscribeError} for bad options. If
 * the producer is not alive, a permanent or transient consumer exits with
 * `noproc` (after replying).
 *
 * @example
 * ```ts
 * const tag = await syncSubscribe(node, consumer, { to: producer, maxDemand: 500, cancel: 'transient' });
 * ```
 */
export function syncSubscribe<E>(from: Node | Process, consumer: ConsumerOf<E>, options: SubscribeOptions<E> & { readonly to: ProducerOf<E> }, timeout = 5000): Promise<Ref> {
  return callSubscribe(from, consumer, subscribeRequest(null, options as SubscribeOptions<never>), timeout);
}

/** Cancels subscription `tag` of `consumer` with `reason`, then subscribes again with `options` (GenStage's `sync_resubscribe/5`). */
export function syncResubscribe<E>(
  from: Node | Process,
  consumer: ConsumerOf<E>,
  tag: unknown,
  reason: ExitReason,
  options: SubscribeOptions<E> & { readonly to: ProducerOf<E> },
  timeout = 5000,
): Promise<Ref> {
  return callSubscribe(from, consumer, subscribeRequest(tuple(tag, toReason(reason)), options as SubscribeOptions<never>), timeout);
}

/** Like {@link syncSubscribe} without waiting (GenStage's `async_subscribe/2`). */
export function asyncSubscribe<E>(from: Node | Process, consumer: ConsumerOf<E>, options: SubscribeOptions<E> & { readonly to: ProducerOf<E> }): void {
  from.cast(dest(consumer), subscribeRequest(null, options as SubscribeOptions<never>));
}

/** Like {@link syncResubscribe} without waiting. */
export function asyncResubscribe<E>(from: Node | Process, consumer: ConsumerOf<E>, tag: unknown, reason: ExitReason, options: SubscribeOptions<E> & { readonly to: ProducerOf<E> }): void {
  from.cast(dest(consumer), subscribeRequest(tuple(tag, toReason(reason)), options as SubscribeOptions<never>));
}

/**
 * Asks the producer of `subscription` for `demand` more events, from the
 * consumer `self` (its process, as callbacks receive it). For subscriptions
 * in manual mode; 0 does nothing.
 */
export function ask(self: Process, subscription: Subscription, demand: number): void {
  if (demand === 0) return;
  if (!Number.isSafeInteger(demand) || demand < 0) throw new RangeError(`ask: demand must be a non-negative integer, got ${String(demand)}`);
  self.send(subscription.elements[0] as Address, tuple(A_GEN_PRODUCER, tuple(self.self, subscription.elements[1]), tuple(A_ASK, demand)));
}

/**
 * Cancels `subscription` with `reason` (GenStage's `cancel/3`): sends
 * `{'$gen_producer', {Self, Tag}, {cancel, Reason}}` to the producer, which
 * confirms with a cancel to the consumer; the consumer then reacts as its
 * `cancel` mode says. Call it from the consumer with the `{ProducerPid, Tag}`
 * it got in `handleEvents` / `handleSubscribe`.
 */
export function cancel(self: Process, subscription: Subscription, reason: ExitReason): void {
  const to = subscription.elements[0] as Address;
  self.send(to, tuple(A_GEN_PRODUCER, tuple(self.self, subscription.elements[1]), tuple(A_CANCEL, toReason(reason))));
}

/**
 * A producer cancels one of its consumers: `consumer` is the
 * `{ConsumerPid, Tag}` it got in `handleSubscribe`. The cancel goes through
 * the producer's own mailbox, exactly as GenStage's
 * `GenStage.cancel({self(), tag}, reason)` from inside a producer.
 */
export function cancelConsumer(self: Process, consumer: Subscription, reason: ExitReason): void {
  self.send(self.self, tuple(A_GEN_PRODUCER, tuple(self.self, consumer.elements[1]), tuple(A_CANCEL, toReason(reason))));
}

/** Queues `message` behind the events a producer has buffered; it reaches `handleInfo` after them. Waits for the stage to take it. */
export async function syncInfo(from: Node | Process, stage: StageTarget, message: unknown, timeout = 5000): Promise<void> {
  await from.call(dest(stage), tuple(A_INFO, message), { timeout });
}

/** {@link syncInfo} without waiting. */
export function asyncInfo(from: Node | Process, stage: StageTarget, message: unknown): void {
  from.cast(dest(stage), tuple(A_INFO, message));
}

/** Sets a producer's demand mode (GenStage's `demand/2`). */
export function setDemand(from: Node | Process, stage: StageTarget, mode: DemandMode): void {
  if (mode !== 'forward' && mode !== 'accumulate') throw new RangeError(`demand mode must be 'forward' or 'accumulate', got ${String(mode)}`);
  from.cast(dest(stage), tuple(A_DEMAND, atom(mode)));
}

/** A producer's demand mode (GenStage's `demand/1`). */
export async function getDemand(from: Node | Process, stage: StageTarget, timeout = 5000): Promise<DemandMode> {
  const r = await from.call(dest(stage), A_DEMAND, { timeout });
  return r instanceof Atom && r.name === 'accumulate' ? 'accumulate' : 'forward';
}

/** The number of events a producer holds in its buffer (GenStage's `estimate_buffered_count/2`). */
export async function estimateBufferedCount(from: Node | Process, stage: StageTarget, timeout = 5000): Promise<number> {
  return (await from.call(dest(stage), A_ESTIMATE, { timeout })) as number;
}

/** The pid of a subscription's other side, when it is a pid (not a remote name). */
export function subscriptionPid(subscription: Subscription): Pid | undefined {
  const p = subscription.elements[0];
  return p instanceof Pid ? p : undefined;
}
