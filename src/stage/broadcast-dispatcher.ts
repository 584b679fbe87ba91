/**
 * The broadcast dispatcher (GenStage.BroadcastDispatcher): every event goes
 * to every consumer, and only as fast as the slowest one asks. A consumer may
 * subscribe with a `selector` to receive only some events; events it filters
 * out count as received (their demand is asked again on its behalf). A
 * process may subscribe only once.
 *
 * A selector is a JS function for local consumers. An Elixir consumer sends
 * an Elixir function, which cannot run here: name it `fun Module:function/1`
 * (`&Module.function/1`) and give its TypeScript equivalent in `selectors`;
 * any other remote function refuses the subscription with a clear reason.
 * @module
 */
import { atom } from '../terms/atom.js';
import { tuple } from '../terms/tuple.js';
import { ExportFun } from '../etf/funs.js';
import { type Dispatcher, type DispatcherContext, type DispatcherFactory, SubscriptionRefused } from './dispatcher.js';
import { keyword } from './options.js';
import { subKey, tagKey } from './subscription-key.js';
import type { KeywordList, Subscription } from './types.js';

type Selector<E> = (event: E) => boolean;

interface Entry<E> {
  counter: number;
  readonly sub: Subscription;
  readonly key: string | number;
  readonly selector: Selector<E> | undefined;
}

/** Options of {@link broadcastDispatcher}. */
export interface BroadcastDispatcherOptions<E> {
  /** TypeScript equivalents of Elixir selector functions, by `'Module.function'` (e.g. `'Elixir.MyApp.even?'`). */
  readonly selectors?: Readonly<Record<string, Selector<E>>>;
}

const A_BAD_OPTS = atom('bad_opts');
const A_ALREADY_SUBSCRIBED = atom('already_subscribed');

class BroadcastDispatcher<E> implements Dispatcher<E> {
  private demands: Entry<E>[] = [];
  private waiting = 0;
  private requested = 0;
  /**
   * Events handed back to the producer's buffer (no waiting demand for them) and not yet asked
   * back out: demand that comes must take them out of the buffer first, or events dispatched
   * later would overtake them (a subscriber joining takes the waiting demand back, so events
   * already requested upstream land in the buffer while more are still on their way).
   */
  private buffered = 0;
  private readonly subscribed = new Set<string | number>();

  constructor(
    private readonly ctx: DispatcherContext<E>,
    private readonly options: BroadcastDispatcherOptions<E>,
  ) {}

  subscribe(options: KeywordList, sub: Subscription): number | SubscriptionRefused {
    const raw = keyword(options, 'selector');
    let selector: Selector<E> | undefined;
    if (typeof raw === 'function') selector = raw as Selector<E>;
    else if (raw instanceof ExportFun && raw.arity === 1) {
      selector = this.options.selectors?.[`${raw.module.name}.${raw.function.name}`];
      if (selector === undefined)
        return new SubscriptionRefused(tuple(A_BAD_OPTS, `no TypeScript selector registered for ${raw.module.name}.${raw.function.name}/1`));
    } else if (raw !== undefined && raw !== null) {
      return new SubscriptionRefused(tuple(A_BAD_OPTS, ':selector option must be a unary function (a function from another node must be fun Module:function/1 with a registered TypeScript equivalent)'));
    }
    const pidKey = tagKey(sub.elements[0]);
    if (this.subscribed.has(pidKey)) {
      this.ctx.log('error', `${String(sub.elements[0])} is already registered with this producer. This subscription has been discarded.`);
      return new SubscriptionRefused(A_ALREADY_SUBSCRIBED);
    }
    this.subscribed.add(pidKey);
    this.adjust(-this.waiting);
    this.demands.unshift({ counter: 0, sub, key: subKey(sub), selector });
    this.waiting = 0;
    return 0;
  }

  cancel(sub: Subscription): number {
    this.subscribed.delete(tagKey(sub.elements[0]));
    const key = subKey(sub);
    this.demands = this.demands.filter((d) => d.key !== key);
    if (this.demands.length === 0) {
      this.waiting = 0;
      return 0;
    }
    return this.sync();
  }

  ask(counter: number, sub: Subscription): number {
    const key = subKey(sub);
    const i = this.demands.findIndex((d) => d.key === key);
    if (i >= 0) {
      const [e] = this.demands.splice(i, 1) as [Entry<E>];
      e.counter += counter;
      this.demands.unshift(e);
    } else {
      this.demands.unshift({ counter, sub, key, selector: undefined });
    }
    return this.sync();
  }

  dispatch(events: readonly E[], length: number): readonly E[] {
    // Events arriving fulfil what was requested upstream, whether they go out
    // now or to the producer's buffer (after a new subscriber took the waiting
    // demand back): otherwise that buffer would never be asked for again.
    this.requested = Math.max(0, this.requested - length);
    if (this.waiting === 0) {
      this.buffered += length;
      return events;
    }
    const nowCount = Math.min(length, this.waiting);
    const now = nowCount === length ? events : events.slice(0, nowCount);
    const later = nowCount === length ? [] : events.slice(nowCount);
    this.waiting -= nowCount;
    this.buffered += later.length;
    for (const d of this.demands) {
      if (d.selector === undefined) {
        this.ctx.sendEvents(d.sub, now);
        continue;
      }
      const selected: E[] = [];
      for (const e of now) if (d.selector(e)) selected.push(e);
      const discarded = now.length - selected.length;
      if (discarded > 0) this.ctx.askSelf(d.sub, discarded);
      if (selected.length > 0) this.ctx.sendEvents(d.sub, selected);
    }
    return later;
  }

  info(message: unknown): void {
    this.ctx.sendInfo(message);
  }

  private adjust(min: number): void {
    if (min === 0) return;
    for (const d of this.demands) d.counter -= min;
  }

  /** GenStage's sync_demands: the slowest consumer sets what may be requested upstream. */
  private sync(): number {
    let min = Infinity;
    for (const d of this.demands) if (d.counter < min) min = d.counter;
    min = this.demands.length === 0 ? 0 : Math.max(min, 0);
    this.adjust(min);
    this.waiting += min;
    // The producer takes what this returns from its buffer first: enough to empty it of what it
    // holds up to the waiting demand, whatever is still on its way from upstream.
    const request = Math.max(0, this.waiting - this.requested, Math.min(this.waiting, this.buffered));
    this.buffered -= Math.min(request, this.buffered);
    this.requested += request;
    return request;
  }
}

/**
 * The broadcast dispatcher.
 * @example
 * ```ts
 * init: () => producer(0, { dispatcher: broadcastDispatcher() })
 * // a consumer of even numbers only:
 * await syncSubscribe(node, consumer, { to: producer, selector: (n: number) => n % 2 === 0 });
 * ```
 */
export function broadcastDispatcher<E>(options: BroadcastDispatcherOptions<E> = {}): DispatcherFactory<E> {
  return (ctx) => new BroadcastDispatcher<E>(ctx, options);
}

/** `fun Module:function/1` naming an Elixir selector, to pass as `selector` to an Elixir broadcast producer. */
export function remoteSelector(module: string, fn: string): ExportFun {
  return new ExportFun(atom(module), atom(fn), 1);
}
