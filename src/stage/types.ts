/**
 * Stage types: the callbacks of a stage ({@link StageBehavior}), what they
 * return, and the subscription handle. A stage is Elixir's GenStage: a
 * producer, a consumer or a producer-consumer exchanging events with
 * back-pressure. `In` is the type of the events a stage consumes, `Out` the
 * type of those it produces: returning a wrong event type does not compile.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import type { Tuple } from '../terms/tuple.js';
import type { From, Process } from '../core/process.js';
import type { ExitReason } from '../core/reasons.js';
import type { CastOf, Protocol, ReplyOf, RequestOf } from '../core/protocol.js';
import type { StopResult } from '../server/server.js';
import type { DispatcherSpec } from './dispatcher.js';
import type { SubscribeTo } from './options.js';

/** Where a stage lives: its pid, or `{Name, Node}` when it was subscribed to by a remote name. */
export type StageAddress = Pid | Tuple<[Atom, Atom]>;

/**
 * One subscription as GenStage names it: `{Pid, Tag}`. In a consumer it is
 * `{ProducerPid, Tag}` (pass it to {@link ask} and {@link cancel}); in a
 * producer `{ConsumerPid, Tag}`. The tag is unique per subscription (the
 * consumer's monitor reference).
 */
export type Subscription = Tuple<[StageAddress, unknown]>;

/** GenStage's subscription options as they travel: a keyword list `[{Key, Value}]`. */
export type KeywordList = readonly Tuple<[Atom, unknown]>[];

/** How a consumer reacts when its producer cancels or exits: GenStage's `cancel:` option. */
export type CancelMode = 'permanent' | 'transient' | 'temporary';

/** A producer's `demand:` mode: forward demand to `handleDemand`, or accumulate it (and events) until set to forward. */
export type DemandMode = 'forward' | 'accumulate';

/** Which of its buffered events a full producer keeps. */
export type BufferKeep = 'first' | 'last';

/** Options of a producer (`init` returns `producer(state, options)`). */
export interface ProducerOptions<Out> {
  /** Events kept when there is no demand; default 10,000; `Infinity` for no limit; 0 for none. */
  readonly bufferSize?: number;
  /** Keep the first or the last events when the buffer overflows; default `'last'`. */
  readonly bufferKeep?: BufferKeep;
  /** Default `'forward'`. */
  readonly demand?: DemandMode;
  /** Default: the demand dispatcher. */
  readonly dispatcher?: DispatcherSpec<Out>;
}

/** Options of a consumer (`init` returns `consumer(state, options)`). */
export interface ConsumerOptions {
  /** Producers to subscribe to when the stage starts. */
  readonly subscribeTo?: readonly SubscribeTo[];
}

/** Options of a producer-consumer: a producer's (the buffer has no limit by default) and a consumer's. */
export interface ProducerConsumerOptions<Out> extends ConsumerOptions {
  readonly bufferSize?: number;
  readonly bufferKeep?: BufferKeep;
  readonly dispatcher?: DispatcherSpec<Out>;
}

/** What `init` returns: the stage's kind, state and options; or `ignore()` / `stop(reason)` as a Server. */
export type StageInit<S, Out> =
  | { readonly type: 'producer'; readonly state: S; readonly options: ProducerOptions<Out> }
  | { readonly type: 'consumer'; readonly state: S; readonly options: ConsumerOptions }
  | { readonly type: 'producer_consumer'; readonly state: S; readonly options: ProducerConsumerOptions<Out> }
  | { readonly type: 'ignore' }
  | { readonly type: 'stop'; readonly reason: ExitReason };

/** GenStage's `{:noreply, events, state}`: continue with `state`, dispatching `events`. */
export interface StageNoReply<Out, S> {
  readonly type: 'noreply';
  readonly state: S;
  readonly events?: readonly Out[];
}

/** GenStage's `{:reply, reply, events, state}`. */
export interface StageReply<R, Out, S> {
  readonly type: 'reply';
  readonly reply: R;
  readonly state: S;
  readonly events?: readonly Out[];
}

/** What `handleDemand`, `handleEvents`, `handleCancel`, `handleCast` and `handleInfo` return. */
export type StageResult<Out, S> = StageNoReply<Out, S> | StopResult<S, never>;

/** What `handleCall` returns. */
export type StageCallResult<R, Out, S> = StageReply<R, Out, S> | StageNoReply<Out, S> | StopResult<S, R>;

/** What `handleSubscribe` returns: automatic demand (GenStage's default), manual demand (use {@link ask}), or stop. */
export type SubscribeResult<S> =
  | { readonly type: 'automatic'; readonly state: S }
  | { readonly type: 'manual'; readonly state: S }
  | StopResult<S, never>;

/** Why a subscription ended, as `handleCancel` receives it: a cancel message, or the other side went down. */
export interface CancelInfo {
  readonly kind: 'cancel' | 'down';
  readonly reason: ExitReason;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The callbacks of a stage with state `S`, started with `A`, consuming `In`
 * and producing `Out`, answering calls and casts of protocol `P`. Only
 * `init` is required; a producer needs `handleDemand`, a consumer or
 * producer-consumer `handleEvents`. Callbacks may be async: the stage
 * handles nothing else until they settle. `ctx` is the stage's process.
 *
 * @example
 * ```ts
 * const counter: StageBehavior<number, number, never, number> = {
 *   init: (start) => producer(start),
 *   handleDemand: (demand, n) => emit(Array.from({ length: demand }, (_, i) => n + i), n + demand),
 * };
 * const printer: StageBehavior<null, undefined, number, never> = {
 *   init: () => consumer(null),
 *   handleEvents: (events, _from, s) => { console.log(events); return noreply(s); },
 * };
 * ```
 */
export interface StageBehavior<S, A = undefined, In = never, Out = never, P extends Protocol = Protocol> {
  /** Type-only: carries the protocol so `startStage` infers it. Never set. */
  readonly __protocol?: P;
  /** A name for process info; default `'stage'`. */
  readonly behavior?: string;
  init(args: A, ctx: Process): MaybePromise<StageInit<S, Out>>;
  /** Producers: consumers asked for `demand` more events. */
  handleDemand?(demand: number, state: S, ctx: Process): MaybePromise<StageResult<Out, S>>;
  /** Consumers and producer-consumers: events from the subscription `from` (never more than asked). */
  handleEvents?(events: In[], from: Subscription, state: S, ctx: Process): MaybePromise<StageResult<Out, S>>;
  /**
   * A subscription starts. `kind` is the other side: `'consumer'` when this
   * stage is the producer, `'producer'` when this stage is the consumer.
   * Default: automatic demand.
   */
  handleSubscribe?(kind: 'producer' | 'consumer', options: KeywordList, from: Subscription, state: S, ctx: Process): MaybePromise<SubscribeResult<S>>;
  /** A subscription ended (cancelled, or the other side exited). */
  handleCancel?(cancel: CancelInfo, from: Subscription, state: S, ctx: Process): MaybePromise<StageResult<Out, S>>;
  handleCall?(request: RequestOf<P>, from: From<ReplyOf<P>>, state: S, ctx: Process): MaybePromise<StageCallResult<ReplyOf<P>, Out, S>>;
  handleCast?(message: CastOf<P>, state: S, ctx: Process): MaybePromise<StageResult<Out, S>>;
  /** Any other message, and the messages of `syncInfo`/`asyncInfo` once the events buffered before them are gone. */
  handleInfo?(message: unknown, state: S, ctx: Process): MaybePromise<StageResult<Out, S>>;
  terminate?(reason: ExitReason, state: S, ctx: Process): MaybePromise<void>;
  /** Producers: `count` events were discarded from a full buffer; return false to skip the warning log. */
  formatDiscarded?(count: number, state: S): boolean;
}
