/**
 * The demand dispatcher (GenStage.DemandDispatcher, the default): each batch
 * of events goes to the consumer with the highest pending demand, as much as
 * it asked for; what no one asked for stays in the producer's buffer.
 * Demand a cancelled consumer had not received counts as already sent to the
 * next askers, exactly as GenStage does, so no event is produced twice.
 * @module
 */
import type { Dispatcher, DispatcherContext, DispatcherFactory } from './dispatcher.js';
import { subKey } from './subscription-key.js';
import type { Subscription } from './types.js';

interface Entry {
  counter: number;
  readonly sub: Subscription;
  readonly key: string | number;
}

/** Options of {@link demandDispatcher}. */
export interface DemandDispatcherOptions {
  /** Shuffle the consumers before the first dispatch (GenStage's `shuffle_demands_on_first_dispatch`). */
  readonly shuffleDemandsOnFirstDispatch?: boolean;
  /** The largest demand expected from one ask; larger asks are logged. Default: the first demand asked. */
  readonly maxDemand?: number;
}

class DemandDispatcher<E> implements Dispatcher<E> {
  /** Sorted by counter, highest first; ties keep arrival order. */
  private demands: Entry[] = [];
  private pending = 0;
  private max: number | undefined;
  private shuffle: boolean;

  constructor(
    private readonly ctx: DispatcherContext<E>,
    options: DemandDispatcherOptions,
  ) {
    this.max = options.maxDemand;
    this.shuffle = options.shuffleDemandsOnFirstDispatch === true;
  }

  subscribe(_options: unknown, sub: Subscription): number {
    this.demands.push({ counter: 0, sub, key: subKey(sub) });
    return 0;
  }

  cancel(sub: Subscription): number {
    const e = this.pop(subKey(sub));
    if (e !== undefined) this.pending += e.counter;
    return 0;
  }

  ask(counter: number, sub: Subscription): number {
    this.max ??= counter;
    if (counter > this.max)
      this.ctx.log('warning', `GenStage producer DemandDispatcher expects a maximum demand of ${this.max}. Using different maximum demands will overload greedy consumers. Got demand for ${counter} events from ${String(sub.elements[0])}`);
    const key = subKey(sub);
    const e = this.pop(key);
    this.add({ counter: (e?.counter ?? 0) + counter, sub: e?.sub ?? sub, key });
    const alreadySent = Math.min(this.pending, counter);
    this.pending -= alreadySent;
    return counter - alreadySent;
  }

  dispatch(events: readonly E[], length: number): readonly E[] {
    if (this.shuffle) {
      this.shuffle = false;
      for (let i = this.demands.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        const t = this.demands[i] as Entry;
        this.demands[i] = this.demands[j] as Entry;
        this.demands[j] = t;
      }
    }
    let rest = events;
    let left = length;
    while (left > 0) {
      const top = this.demands[0];
      if (top === undefined || top.counter === 0) break;
      this.demands.shift();
      if (left <= top.counter) {
        this.ctx.sendEvents(top.sub, rest);
        top.counter -= left;
        left = 0;
        rest = [];
      } else {
        this.ctx.sendEvents(top.sub, rest.slice(0, top.counter));
        rest = rest.slice(top.counter);
        left -= top.counter;
        top.counter = 0;
      }
      this.add(top);
    }
    this.pending = Math.max(this.pending - left, 0);
    return rest;
  }

  info(message: unknown): void {
    this.ctx.sendInfo(message);
  }

  private pop(key: string | number): Entry | undefined {
    const i = this.demands.findIndex((d) => d.key === key);
    if (i < 0) return undefined;
    return this.demands.splice(i, 1)[0];
  }

  /** Inserts before the first entry with a lower counter (GenStage's add_demand). */
  private add(e: Entry): void {
    const d = this.demands;
    let i = 0;
    while (i < d.length && !(e.counter > (d[i] as Entry).counter)) i++;
    d.splice(i, 0, e);
  }
}

/**
 * The demand dispatcher, GenStage's default.
 * @example
 * ```ts
 * init: () => producer(0, { dispatcher: demandDispatcher({ shuffleDemandsOnFirstDispatch: true }) })
 * ```
 */
export function demandDispatcher<E>(options: DemandDispatcherOptions = {}): DispatcherFactory<E> {
  return (ctx) => new DemandDispatcher<E>(ctx, options);
}
