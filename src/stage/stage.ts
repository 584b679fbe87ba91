/**
 * Stage: Elixir's GenStage for TypeScript, on top of the Server behavior.
 *
 * A stage is a server whose state holds its subscriptions: as a producer it
 * keeps its consumers, a dispatcher and a buffer; as a consumer it keeps its
 * producers and their pending demand; a producer-consumer is both. Stages
 * talk with GenStage's own messages, so Beamline stages and Elixir stages
 * subscribe to each other across nodes:
 *
 * - consumer → producer: `{'$gen_producer', {ConsumerPid, Tag}, {subscribe, Current, Opts}}`,
 *   `{..., {ask, N}}`, `{..., {cancel, Reason}}`;
 * - producer → consumer: `{'$gen_consumer', {ProducerPid, Tag}, Events}` and
 *   `{..., {cancel, Reason}}`.
 *
 * The consumer monitors the producer and uses the monitor reference as the
 * subscription tag; the producer monitors the consumer.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { Charlist } from '../etf/charlist.js';
import type { Node } from '../core/node.js';
import type { From, Process } from '../core/process.js';
import type { Protocol } from '../core/protocol.js';
import { type ExitReason, formatReason, isCleanExit, noproc } from '../core/reasons.js';
import { forwardReply, forwardStopAndReply, noreply, stop, startServer, StartedServer, type CallResult, type NoReplyResult, type ServerBehavior, type StartOptions } from '../server/server.js';
import { type Batch, splitBatches } from './batches.js';
import { StageBuffer } from './buffer.js';
import { type Dispatcher, type DispatcherContext, type DispatcherSpec, SubscriptionRefused } from './dispatcher.js';
import { demandDispatcher } from './demand-dispatcher.js';
import { asKeywordList, type SubscribeTo, StageOptionsError, targetTerm, toKeywordList, validateBufferSize, validateDemand } from './options.js';
import { tagKey } from './subscription-key.js';
import type {
  BufferKeep,
  CancelInfo,
  CancelMode,
  KeywordList,
  StageAddress,
  StageBehavior,
  StageCallResult,
  StageResult,
  Subscription,
} from './types.js';

const A_GEN_PRODUCER = atom('$gen_producer');
const A_GEN_CONSUMER = atom('$gen_consumer');
const A_SUBSCRIBE = atom('subscribe');
const A_ASK = atom('ask');
const A_CANCEL = atom('cancel');
const A_DOWN = atom('DOWN');
const A_INFO = atom('$info');
const A_DEMAND = atom('$demand');
const A_SUBSCRIBE_REQ = atom('$subscribe');
const A_ESTIMATE = atom('$estimate_buffered_count');
const A_OK = atom('ok');
const A_ERROR = atom('error');
const A_FORWARD = atom('forward');
const A_ACCUMULATE = atom('accumulate');
const A_BAD_OPTS = atom('bad_opts');
const A_NOT_A_CONSUMER = atom('not_a_consumer');
const A_DUPLICATED = atom('duplicated_subscription');
const A_UNKNOWN_SUB = atom('unknown_subscription');
const A_ALREADY_SUBSCRIBED = atom('already_subscribed');
const A_BAD_RETURN = atom('bad_return_value');

type Kind = 'producer' | 'consumer' | 'producer_consumer';

/** A producer this stage consumes from. */
interface ProducerEntry {
  readonly producer: StageAddress;
  readonly tag: Ref;
  readonly cancel: CancelMode;
  readonly manual: boolean;
  demand: number;
  readonly min: number;
  readonly max: number;
}

/** A consumer of this stage. */
interface ConsumerEntry {
  readonly sub: Subscription;
  readonly monitor: Ref;
}

type PcItem =
  | { readonly kind: 'events'; readonly events: unknown[]; readonly key: string | number; readonly from: Subscription }
  | { readonly kind: 'info'; readonly message: unknown }
  | { readonly kind: 'cancel'; readonly mode: CancelMode; readonly info: CancelInfo; readonly from: Subscription };

type Accumulated = { readonly demand: number } | { readonly events: readonly unknown[] };

/** The stage must stop: with `reason`, replying `reply` to the current call when `hasReply`. */
interface Halt {
  readonly reason: ExitReason;
  readonly hasReply: boolean;
  readonly reply?: unknown;
}

type Step = Halt | undefined;
type MaybeStep = Step | Promise<Step>;

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Events as they arrive: a list, or a string of small integers (STRING_EXT) that is a list too. */
function eventList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof Charlist) return v.codes();
  return undefined;
}

function demandValue(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function isSubscription(v: unknown): v is Tuple<[Pid | Tuple<[Atom, Atom]>, unknown]> {
  if (!(v instanceof Tuple) || v.elements.length !== 2) return false;
  const p = v.elements[0];
  return p instanceof Pid || (p instanceof Tuple && p.elements.length === 2 && p.elements[0] instanceof Atom && p.elements[1] instanceof Atom);
}

/** The state of a running stage: the user's state and the subscriptions. */
class StageEngine<S, In, Out> {
  s!: S;
  kind: Kind = 'consumer';
  ctx!: Process;
  readonly producers = new Map<string | number, ProducerEntry>();
  readonly consumers = new Map<string | number, ConsumerEntry>();
  readonly monitors = new Map<string | number, string | number>();
  buffer: StageBuffer<Out> | undefined;
  dispatcher: Dispatcher<Out> | undefined;
  /** Producer in accumulate mode: demand and events held, oldest first; undefined in forward mode. */
  accumulated: Accumulated[] | undefined;
  /** Producer-consumer: events, infos and cancels waiting for downstream demand. */
  readonly pcQueue: PcItem[] = [];
  pcHead = 0;
  pcDemand = 0;

  constructor(readonly impl: StageBehavior<S, never, In, Out, Protocol>) {}

  get isProducer(): boolean {
    return this.kind !== 'consumer';
  }

  // ------------------------------------------------------------ init

  async init(kindResult: Awaited<ReturnType<StageBehavior<S, never, In, Out, Protocol>['init']>>, ctx: Process): Promise<Step> {
    this.ctx = ctx;
    switch (kindResult.type) {
      case 'producer': {
        const o = kindResult.options;
        this.kind = 'producer';
        this.s = kindResult.state;
        this.setupProducer(validateBufferSize(o.bufferSize, 10_000), keepOf(o.bufferKeep), o.dispatcher);
        if (o.demand !== undefined && o.demand !== 'forward' && o.demand !== 'accumulate')
          throw new StageOptionsError(`expected :demand to be one of [:accumulate, :forward], got: ${String(o.demand)}`);
        if (o.demand === 'accumulate') this.accumulated = [];
        return undefined;
      }
      case 'producer_consumer': {
        const o = kindResult.options;
        this.kind = 'producer_consumer';
        this.s = kindResult.state;
        this.setupProducer(validateBufferSize(o.bufferSize, Infinity), keepOf(o.bufferKeep), o.dispatcher);
        return this.initSubscribe(o.subscribeTo ?? []);
      }
      case 'consumer':
        this.kind = 'consumer';
        this.s = kindResult.state;
        return this.initSubscribe(kindResult.options.subscribeTo ?? []);
      default:
        return { reason: tuple(A_BAD_RETURN, kindResult), hasReply: false };
    }
  }

  private setupProducer(size: number, keep: BufferKeep, spec: DispatcherSpec<Out> | undefined): void {
    this.buffer = new StageBuffer<Out>(size, keep);
    const ctx = this.ctx;
    const self = ctx.self;
    const dctx: DispatcherContext<Out> = {
      sendEvents: (sub, events) => ctx.send(sub.elements[0], tuple(A_GEN_CONSUMER, tuple(self, sub.elements[1]), events)),
      sendInfo: (message) => ctx.send(self, message),
      askSelf: (sub, n) => ctx.send(self, tuple(A_GEN_PRODUCER, sub, tuple(A_ASK, n))),
      log: (level, message) => ctx.node.log(level, `stage ${self.describe()}: ${message}`),
    };
    this.dispatcher = (spec ?? demandDispatcher<Out>())(dctx);
  }

  private async initSubscribe(list: readonly SubscribeTo[]): Promise<Step> {
    for (const entry of list) {
      const { to, opts } = splitSubscribeTo(entry);
      const r = await this.consumerSubscribe(null, targetTerm(to), opts);
      if (r.halt !== undefined) return r.halt;
      if (r.reply instanceof Tuple && r.reply.elements[0] === A_ERROR) return { reason: r.reply.elements[1], hasReply: false };
    }
    return undefined;
  }

  // ------------------------------------------------------------ user results

  /** Applies a noreply/stop result: new state, events dispatched. */
  private apply(result: StageResult<Out, S> | StageCallResult<unknown, Out, S>, callback: string): Step {
    switch (result?.type) {
      case 'noreply':
      case 'reply': {
        this.s = result.state;
        const ev = result.events;
        if (ev !== undefined) {
          if (!Array.isArray(ev)) return { reason: tuple(A_BAD_RETURN, result), hasReply: false };
          if (ev.length > 0) return this.dispatchEvents(ev as readonly Out[], ev.length);
        }
        return undefined;
      }
      case 'stop':
        if (result.state !== undefined) this.s = result.state;
        return 'reply' in result ? { reason: result.reason, hasReply: true, reply: result.reply } : { reason: result.reason, hasReply: false };
      default:
        this.ctx.node.log('error', `stage ${this.ctx.self.describe()}: ${callback} returned ${formatReason(result)}`);
        return { reason: tuple(A_BAD_RETURN, result), hasReply: false };
    }
  }

  private async callback<R>(r: R | Promise<R>): Promise<R> {
    return isThenable(r) ? await r : r;
  }

  /** Applies a callback's result now when it is synchronous, else when it settles. */
  private settle<R extends StageResult<Out, S> | StageCallResult<unknown, Out, S>>(r: R | Promise<R>, callback: string): MaybeStep {
    return isThenable(r) ? r.then((v) => this.apply(v, callback)) : this.apply(r, callback);
  }

  // ------------------------------------------------------------ messages

  onInfo(msg: unknown): MaybeStep {
    if (msg instanceof Tuple) {
      const e = msg.elements;
      const tag = e[0];
      if (tag === A_GEN_PRODUCER && e.length === 3 && isSubscription(e[1])) return this.onProducerMessage(msg, e[1], e[2]);
      if (tag === A_GEN_CONSUMER && e.length === 3 && isSubscription(e[1])) return this.onConsumerMessage(msg, e[1], e[2]);
      if (tag === A_DOWN && e.length === 5 && e[1] instanceof Ref) {
        // Signals between two processes arrive in send order, so events or a cancel the other side sent before
        // it exited have already been handled when its DOWN arrives.
        const key = tagKey(e[1]);
        if (this.producers.has(key)) return this.consumerCancel(key, 'down', e[4]);
        const consumerKey = this.monitors.get(key);
        if (consumerKey !== undefined) return this.producerCancel(consumerKey, 'down', e[4]);
      }
    }
    return this.userInfo(msg);
  }

  userInfo(msg: unknown): MaybeStep {
    const h = this.impl.handleInfo;
    if (h === undefined) {
      this.ctx.node.log('warning', `stage ${this.ctx.self.describe()} received an unexpected message: ${formatReason(msg)}`);
      return undefined;
    }
    return this.settle(h.call(this.impl, msg, this.s, this.ctx), 'handleInfo');
  }

  private onProducerMessage(msg: Tuple, from: Subscription, body: unknown): MaybeStep {
    if (!this.isProducer) {
      this.ctx.node.log('error', `GenStage consumer ${this.ctx.self.describe()} received $gen_producer message: ${formatReason(msg)}`);
      return undefined;
    }
    if (!(body instanceof Tuple)) return this.userInfo(msg);
    const b = body.elements;
    const consumerPid = from.elements[0];
    const key = tagKey(from.elements[1]);
    if (b[0] === A_SUBSCRIBE && b.length === 3) return this.onSubscribe(from, key, consumerPid, b[1], b[2]);
    if (b[0] === A_ASK && b.length === 2) {
      const n = demandValue(b[1]);
      if (n === undefined) return this.userInfo(msg);
      const entry = this.consumers.get(key);
      if (entry === undefined) {
        this.ctx.send(consumerPid, tuple(A_GEN_CONSUMER, tuple(this.ctx.self, from.elements[1]), tuple(A_CANCEL, A_UNKNOWN_SUB)));
        return undefined;
      }
      if (n < 0) {
        this.ctx.node.log('warning', `stage ${this.ctx.self.describe()} ignored a negative demand ${n} from ${formatReason(from)}`);
        return undefined;
      }
      return this.dispatcherResult((this.dispatcher as Dispatcher<Out>).ask(n, entry.sub));
    }
    if (b[0] === A_CANCEL && b.length === 2) return this.producerCancel(key, 'cancel', b[1]);
    return this.userInfo(msg);
  }

  private async onSubscribe(from: Subscription, key: string | number, consumerPid: StageAddress, current: unknown, rawOpts: unknown): Promise<Step> {
    {
      if (this.consumers.has(key)) {
        this.ctx.node.log('error', `GenStage producer ${this.ctx.self.describe()} received duplicated subscription from: ${formatReason(from)}`);
        this.ctx.send(consumerPid, tuple(A_GEN_CONSUMER, tuple(this.ctx.self, from.elements[1]), tuple(A_CANCEL, A_DUPLICATED)));
        return undefined;
      }
      if (current instanceof Tuple && current.elements.length === 2) {
        const halt = await this.producerCancel(tagKey(current.elements[0]), 'cancel', current.elements[1]);
        if (halt !== undefined) return halt;
      }
      if (!(consumerPid instanceof Pid)) return undefined;
      const monitor = this.ctx.monitor(consumerPid);
      this.monitors.set(tagKey(monitor), key);
      this.consumers.set(key, { sub: from, monitor });
      return this.producerSubscribe(asKeywordList(rawOpts), from, key);
    }
  }

  private onConsumerMessage(msg: Tuple, from: Subscription, body: unknown): MaybeStep {
    if (this.kind === 'producer') {
      this.ctx.node.log('error', `GenStage producer ${this.ctx.self.describe()} received $gen_consumer message: ${formatReason(msg)}`);
      return undefined;
    }
    if (body instanceof Tuple) {
      if (body.elements[0] === A_CANCEL && body.elements.length === 2) return this.consumerCancel(tagKey(from.elements[1]), 'cancel', body.elements[1]);
      return this.userInfo(msg);
    }
    const events = eventList(body);
    if (events === undefined) return this.userInfo(msg);
    const key = tagKey(from.elements[1]);
    const entry = this.producers.get(key);
    if (entry === undefined) {
      this.ctx.send(from.elements[0], tuple(A_GEN_PRODUCER, tuple(this.ctx.self, from.elements[1]), tuple(A_CANCEL, A_UNKNOWN_SUB)));
      return undefined;
    }
    if (this.kind === 'producer_consumer') {
      this.pcQueue.push({ kind: 'events', events, key, from });
      return this.takePcEvents();
    }
    return this.consumeEvents(events, from, entry);
  }

  /** Splits into batches (automatic demand) and runs `handleEvents` on each, asking as GenStage does. */
  private consumeEvents(events: unknown[], from: Subscription, entry: ProducerEntry | undefined): MaybeStep {
    if (events.length === 0) return undefined;
    const h = this.impl.handleEvents;
    if (h === undefined) return this.missing('handleEvents');
    if (entry === undefined || entry.manual) return this.settle(h.call(this.impl, events as In[], from, this.s, this.ctx), 'handleEvents');
    const split = splitBatches(events, entry.min, entry.max, entry.demand);
    entry.demand = split.demand;
    if (split.excess > 0)
      this.ctx.node.log('error', `GenStage consumer ${this.ctx.self.describe()} has received ${split.excess} events in excess from: ${formatReason(from)}`);
    return this.runBatches(split.batches, 0, from, entry, h);
  }

  /** Handles batches from `i` on: synchronously while `handleEvents` is, continuing when it settles otherwise. */
  private runBatches(batches: Batch<unknown>[], i: number, from: Subscription, entry: ProducerEntry, h: NonNullable<StageBehavior<S, never, In, Out, Protocol>['handleEvents']>): MaybeStep {
    for (; i < batches.length; i++) {
      const [batch, ask] = batches[i] as Batch<unknown>;
      const r = h.call(this.impl, batch as In[], from, this.s, this.ctx);
      if (isThenable(r)) {
        const next = i + 1;
        return r.then((v) => {
          const halt = this.apply(v, 'handleEvents');
          if (halt !== undefined) return halt;
          if (ask > 0) this.ctx.send(from.elements[0], tuple(A_GEN_PRODUCER, tuple(this.ctx.self, entry.tag), tuple(A_ASK, ask)));
          return this.runBatches(batches, next, from, entry, h);
        });
      }
      const halt = this.apply(r, 'handleEvents');
      if (halt !== undefined) return halt;
      if (ask > 0) this.ctx.send(from.elements[0], tuple(A_GEN_PRODUCER, tuple(this.ctx.self, entry.tag), tuple(A_ASK, ask)));
    }
    return undefined;
  }

  private missing(name: string): Halt {
    return { reason: new TypeError(`stage ${this.ctx.self.describe()} has no ${name}`), hasReply: false };
  }

  // ------------------------------------------------------------ producer side

  private async producerSubscribe(opts: KeywordList, from: Subscription, key: string | number): Promise<Step> {
    const hs = this.impl.handleSubscribe;
    if (hs !== undefined) {
      const r = await this.callback(hs.call(this.impl, 'consumer', opts, from, this.s, this.ctx));
      if (r?.type === 'stop') return this.apply(r, 'handleSubscribe');
      if (r?.type !== 'automatic') return { reason: tuple(A_BAD_RETURN, r), hasReply: false };
      this.s = r.state;
    }
    let demand: number | SubscriptionRefused;
    try {
      demand = (this.dispatcher as Dispatcher<Out>).subscribe(opts, from);
    } catch (err) {
      // A dispatcher that throws on bad options refuses the subscription instead of taking the producer down.
      demand = new SubscriptionRefused(tuple(A_BAD_OPTS, err instanceof Error ? err.message : formatReason(err)));
    }
    if (demand instanceof SubscriptionRefused) return this.producerCancel(key, 'cancel', demand.reason);
    return this.dispatcherResult(demand);
  }

  async producerCancel(key: string | number, kind: 'cancel' | 'down', reason: ExitReason): Promise<Step> {
    const entry = this.consumers.get(key);
    if (entry === undefined) return undefined;
    this.consumers.delete(key);
    this.monitors.delete(tagKey(entry.monitor));
    this.ctx.demonitor(entry.monitor, { flush: true });
    this.ctx.send(entry.sub.elements[0], tuple(A_GEN_CONSUMER, tuple(this.ctx.self, entry.sub.elements[1]), tuple(A_CANCEL, reason)));
    const hc = this.impl.handleCancel;
    if (hc !== undefined) {
      const halt = this.apply(await this.callback(hc.call(this.impl, { kind, reason }, entry.sub, this.s, this.ctx)), 'handleCancel');
      if (halt !== undefined) return halt;
    }
    return this.dispatcherResult((this.dispatcher as Dispatcher<Out>).cancel(entry.sub));
  }

  private dispatcherResult(counter: number): MaybeStep {
    if (this.kind === 'producer_consumer') {
      this.pcDemand += counter;
      this.takeFromBuffer(this.pcDemand);
      return this.pcHead < this.pcQueue.length ? this.takePcEvents() : undefined;
    }
    return this.takeFromBufferOrHandleDemand(counter);
  }

  private takeFromBufferOrHandleDemand(counter: number): MaybeStep {
    const left = this.takeFromBuffer(counter);
    if (left === 0) return undefined;
    if (this.accumulated !== undefined) {
      this.accumulated.push({ demand: left });
      return undefined;
    }
    const hd = this.impl.handleDemand;
    if (hd === undefined) return this.missing('handleDemand');
    return this.settle(hd.call(this.impl, left, this.s, this.ctx), 'handleDemand');
  }

  /** Sends buffered events for `counter` of demand; returns the demand left. */
  private takeFromBuffer(counter: number): number {
    const buffer = this.buffer as StageBuffer<Out>;
    let left = counter;
    for (;;) {
      const taken = buffer.take(left);
      if (taken === undefined) return left;
      left -= taken.events.length;
      this.dispatchEvents(taken.events, taken.events.length);
      for (const m of taken.infos) (this.dispatcher as Dispatcher<Out>).info(m);
    }
  }

  dispatchEvents(events: readonly Out[], length: number): Step {
    if (length === 0) return undefined;
    if (this.kind === 'consumer') {
      this.ctx.node.log('error', `GenStage consumer ${this.ctx.self.describe()} cannot dispatch events (an empty list must be returned): ${formatReason(events)}`);
      return undefined;
    }
    if (this.accumulated !== undefined) {
      this.accumulated.push({ events });
      return undefined;
    }
    const rest = (this.dispatcher as Dispatcher<Out>).dispatch(events, length);
    if (this.kind === 'producer_consumer') this.pcDemand = Math.max(this.pcDemand - (length - rest.length), 0);
    if (rest.length > 0) this.bufferEvents(rest);
    return undefined;
  }

  private bufferEvents(events: readonly Out[]): void {
    const { discarded, infos } = (this.buffer as StageBuffer<Out>).store(events);
    if (discarded > 0) {
      const f = this.impl.formatDiscarded;
      if (f === undefined || f.call(this.impl, discarded, this.s))
        this.ctx.node.log('warning', `GenStage producer ${this.ctx.self.describe()} has discarded ${discarded} events from buffer`);
    }
    for (const m of infos) (this.dispatcher as Dispatcher<Out>).info(m);
  }

  bufferOrDispatchInfo(message: unknown): void {
    if (!(this.buffer as StageBuffer<Out>).storeInfo(message)) (this.dispatcher as Dispatcher<Out>).info(message);
  }

  producerInfo(message: unknown): void {
    if (this.kind === 'consumer') this.ctx.send(this.ctx.self, message);
    else if (this.kind === 'producer_consumer' && this.pcHead < this.pcQueue.length) this.pcQueue.push({ kind: 'info', message });
    else this.bufferOrDispatchInfo(message);
  }

  async setDemandMode(mode: unknown): Promise<Step> {
    if (this.kind === 'producer_consumer' && mode === A_FORWARD) return undefined;
    if (this.kind !== 'producer') {
      this.ctx.node.log('error', `Demand mode can only be set for producers, GenStage ${this.ctx.self.describe()} is a ${this.kind}`);
      return undefined;
    }
    if (mode === A_ACCUMULATE) {
      this.accumulated ??= [];
      return undefined;
    }
    if (mode !== A_FORWARD) return undefined;
    const held = this.accumulated;
    this.accumulated = undefined;
    if (held === undefined) return undefined;
    for (const item of held) {
      const halt = 'demand' in item ? await this.takeFromBufferOrHandleDemand(item.demand) : await this.dispatchEvents(item.events as readonly Out[], item.events.length);
      if (halt !== undefined) return halt;
    }
    return undefined;
  }

  // ------------------------------------------------------------ consumer side

  /** GenStage's consumer_subscribe: validates, monitors the producer, sends subscribe and the first ask. */
  async consumerSubscribe(current: unknown, to: unknown, rawOpts: unknown): Promise<{ reply: unknown; halt?: Halt }> {
    if (this.kind === 'producer') {
      this.ctx.node.log('error', `GenStage producer ${this.ctx.self.describe()} cannot be subscribed to another stage: ${formatReason(to)}`);
      return { reply: tuple(A_ERROR, A_NOT_A_CONSUMER) };
    }
    const opts = asKeywordList(rawOpts);
    let settings;
    try {
      settings = validateDemand(opts);
    } catch (err) {
      const message = (err as Error).message;
      this.ctx.node.log('error', `GenStage consumer ${this.ctx.self.describe()} subscribe received invalid option: ${message}`);
      return { reply: tuple(A_ERROR, tuple(A_BAD_OPTS, message)) };
    }
    const producer = this.whereis(to);
    if (producer === undefined) {
      const ref = this.ctx.makeRef();
      if (settings.cancel === 'temporary') return { reply: tuple(A_OK, ref) };
      this.ctx.node.log('error', `GenStage consumer ${this.ctx.self.describe()} was not able to subscribe to the process ${formatReason(to)} because that process is not alive`);
      return { reply: tuple(A_OK, ref), halt: { reason: noproc, hasReply: true, reply: tuple(A_OK, ref) } };
    }
    const tag = this.ctx.monitor(producer);
    const sub = tuple(producer, tag) as Subscription;
    this.ctx.send(producer, tuple(A_GEN_PRODUCER, tuple(this.ctx.self, tag), tuple(A_SUBSCRIBE, current ?? null, opts)));
    let manualMode = false;
    const hs = this.impl.handleSubscribe;
    if (hs !== undefined) {
      const r = await this.callback(hs.call(this.impl, 'producer', opts, sub, this.s, this.ctx));
      if (r?.type === 'stop') {
        const halt = (this.apply(r, 'handleSubscribe')) as Halt;
        return { reply: tuple(A_OK, tag), halt };
      }
      if (r?.type !== 'automatic' && r?.type !== 'manual') return { reply: tuple(A_OK, tag), halt: { reason: tuple(A_BAD_RETURN, r), hasReply: false } };
      this.s = r.state;
      manualMode = r.type === 'manual';
    }
    if (!manualMode) this.ctx.send(producer, tuple(A_GEN_PRODUCER, tuple(this.ctx.self, tag), tuple(A_ASK, settings.max)));
    this.producers.set(tagKey(tag), { producer, tag, cancel: settings.cancel, manual: manualMode, demand: settings.max, min: settings.min, max: settings.max });
    return { reply: tuple(A_OK, tag) };
  }

  /** GenServer.whereis: a pid as is, a local name resolved, `{Name, Node}` resolved when local, else kept. */
  private whereis(to: unknown): StageAddress | undefined {
    if (to instanceof Pid) return to;
    const node = this.ctx.node;
    if (to instanceof Atom) return node.whereis(to);
    if (typeof to === 'string') return node.whereis(to);
    if (to instanceof Tuple && to.elements.length === 2 && to.elements[0] instanceof Atom && to.elements[1] instanceof Atom) {
      if (to.elements[1].name === node.name) return node.whereis(to.elements[0]);
      return to as Tuple<[Atom, Atom]>;
    }
    return undefined;
  }

  async consumerCancel(key: string | number, kind: 'cancel' | 'down', reason: ExitReason): Promise<Step> {
    const entry = this.producers.get(key);
    if (entry === undefined) return undefined;
    this.producers.delete(key);
    this.ctx.demonitor(entry.tag, { flush: true });
    const from = tuple(entry.producer, entry.tag) as Subscription;
    if (this.kind === 'producer_consumer' && this.pcHead < this.pcQueue.length) {
      this.pcQueue.push({ kind: 'cancel', mode: entry.cancel, info: { kind, reason }, from });
      return undefined;
    }
    return this.invokeCancel(entry.cancel, { kind, reason }, from);
  }

  private async invokeCancel(mode: CancelMode, info: CancelInfo, from: Subscription): Promise<Step> {
    const hc = this.impl.handleCancel;
    if (hc !== undefined) {
      const halt = this.apply(await this.callback(hc.call(this.impl, info, from, this.s, this.ctx)), 'handleCancel');
      if (halt !== undefined) return halt;
    }
    const reason = info.reason;
    if (mode === 'permanent' || (mode === 'transient' && !isCleanExit(reason))) {
      if (reason === A_ALREADY_SUBSCRIBED) return undefined;
      this.ctx.node.log('info', `GenStage consumer ${this.ctx.self.describe()} is stopping after receiving cancel from producer ${formatReason(from.elements[0])} with reason: ${formatReason(reason)}`);
      return { reason, hasReply: false };
    }
    return undefined;
  }

  private async takePcEvents(): Promise<Step> {
    while (this.pcDemand > 0 && this.pcHead < this.pcQueue.length) {
      const item = this.pcQueue[this.pcHead] as PcItem;
      this.pcQueue[this.pcHead++] = undefined as unknown as PcItem;
      if (this.pcHead === this.pcQueue.length) {
        this.pcQueue.length = 0;
        this.pcHead = 0;
      }
      let halt: Step;
      if (item.kind === 'info') this.bufferOrDispatchInfo(item.message);
      else if (item.kind === 'cancel') halt = await this.invokeCancel(item.mode, item.info, item.from);
      else halt = await this.consumeEvents(item.events, item.from, this.producers.get(item.key));
      if (halt !== undefined) return halt;
    }
    return undefined;
  }

  // ------------------------------------------------------------ calls and casts

  async onCall(request: unknown, from: From): Promise<{ step: Step; replied: boolean; reply?: unknown }> {
    if (request instanceof Tuple) {
      const e = request.elements;
      if (e[0] === A_INFO && e.length === 2) {
        this.producerInfo(e[1]);
        return { step: undefined, replied: true, reply: A_OK };
      }
      if (e[0] === A_SUBSCRIBE_REQ && e.length === 4) {
        const r = await this.consumerSubscribe(e[1], e[2], e[3]);
        return { step: r.halt, replied: true, reply: r.reply };
      }
    } else if (request === A_DEMAND) {
      return { step: undefined, replied: true, reply: this.accumulated === undefined ? A_FORWARD : A_ACCUMULATE };
    } else if (request === A_ESTIMATE) {
      if (this.kind === 'consumer') {
        this.ctx.node.log('error', `Buffered count can only be requested for producers, GenStage ${this.ctx.self.describe()} is a consumer`);
        return { step: undefined, replied: true, reply: 0 };
      }
      return { step: undefined, replied: true, reply: (this.buffer as StageBuffer<Out>).length };
    }
    const hc = this.impl.handleCall;
    if (hc === undefined) return { step: this.missing('handleCall'), replied: false };
    const r = await this.callback(hc.call(this.impl, request as never, from as never, this.s, this.ctx));
    if (r?.type === 'reply') {
      // Events are dispatched before the reply goes out, as GenStage does.
      const step = this.apply(r, 'handleCall');
      return { step, replied: true, reply: r.reply };
    }
    return { step: this.apply(r, 'handleCall'), replied: false };
  }

  async onCast(message: unknown): Promise<Step> {
    if (message instanceof Tuple) {
      const e = message.elements;
      if (e[0] === A_INFO && e.length === 2) {
        this.producerInfo(e[1]);
        return undefined;
      }
      if (e[0] === A_DEMAND && e.length === 2) return this.setDemandMode(e[1]);
      if (e[0] === A_SUBSCRIBE_REQ && e.length === 4) return (await this.consumerSubscribe(e[1], e[2], e[3])).halt;
    }
    const hc = this.impl.handleCast;
    if (hc === undefined) return this.missing('handleCast');
    return this.apply(await this.callback(hc.call(this.impl, message as never, this.s, this.ctx)), 'handleCast');
  }
}

function keepOf(k: BufferKeep | undefined): BufferKeep {
  if (k === undefined) return 'last';
  if (k !== 'first' && k !== 'last') throw new StageOptionsError(`expected :buffer_keep to be one of [:first, :last], got: ${String(k)}`);
  return k;
}

function splitSubscribeTo(entry: SubscribeTo): { to: Parameters<typeof targetTerm>[0]; opts: KeywordList } {
  if (entry !== null && typeof entry === 'object' && 'to' in entry && !(entry instanceof Tuple)) {
    const { to, ...rest } = entry;
    return { to, opts: toKeywordList(rest) };
  }
  return { to: entry as Parameters<typeof targetTerm>[0], opts: [] };
}

type Engine = StageEngine<unknown, unknown, unknown>;

function halted(engine: Engine, step: Step): NoReplyResult<Engine> {
  return step === undefined ? noreply(engine) : stop(step.reason, engine);
}

/** The Server behavior that runs a stage. */
function stageServer<S, A, In, Out, P extends Protocol>(impl: StageBehavior<S, A, In, Out, P>): ServerBehavior<Protocol, Engine, A> {
  return {
    behavior: impl.behavior ?? 'stage',
    async init(args, ctx) {
      const engine = new StageEngine(impl as unknown as StageBehavior<unknown, never, unknown, unknown, Protocol>) as Engine;
      const r = await (impl.init(args, ctx) as unknown as Promise<Parameters<Engine['init']>[0]>);
      if (r?.type === 'ignore') return r;
      if (r?.type === 'stop') return stop(r.reason);
      const step = await engine.init(r, ctx);
      if (step !== undefined) return stop(step.reason);
      return { type: 'ok', state: engine };
    },
    async handleCall(request, from, engine): Promise<CallResult<Engine>> {
      const r = await engine.onCall(request, from);
      if (r.step !== undefined)
        return r.step.hasReply ? forwardStopAndReply(r.step.reason, r.step.reply, engine) : r.replied ? forwardStopAndReply(r.step.reason, r.reply, engine) : stop(r.step.reason, engine);
      return r.replied ? forwardReply(r.reply, engine) : noreply(engine);
    },
    async handleCast(message, engine) {
      return halted(engine, await engine.onCast(message));
    },
    handleInfo(message, engine) {
      const step = engine.onInfo(message);
      return isThenable(step) ? step.then((st) => halted(engine, st)) : halted(engine, step);
    },
    async terminate(reason, engine, ctx) {
      const t = impl.terminate;
      if (t !== undefined && engine instanceof StageEngine) await t.call(impl, reason, engine.s as S, ctx);
    },
  };
}

/**
 * A started stage: a typed reference (its protocol `P`) that knows its pid,
 * the events it consumes (`In`) and produces (`Out`).
 */
export class StartedStage<In = unknown, Out = unknown, P extends Protocol = Protocol> extends StartedServer<P> {
  declare readonly __stageIn?: (event: In) => void;
  declare readonly __stageOut?: () => Out;
}

/**
 * Starts a stage and waits for its `init`, like {@link startServer}: rejects
 * with InitFailedError (a bad option, a `subscribeTo` producer that is not
 * alive, or `stop` from `init`) or InitIgnoredError.
 *
 * @example
 * ```ts
 * const prod = await startStage(node, counterBehavior, 0, { name: 'numbers' });
 * const cons = await startStage(node, printerBehavior, undefined);
 * await syncSubscribe(node, cons, { to: prod, maxDemand: 10 });
 * ```
 */
export async function startStage<S, A, In, Out, P extends Protocol>(
  starter: Node | Process,
  behavior: StageBehavior<S, A, In, Out, P>,
  args: A,
  options: StartOptions = {},
): Promise<StartedStage<In, Out, P>> {
  const started = await startServer(starter, stageServer(behavior), args, options);
  return new StartedStage<In, Out, P>(started.pid);
}
