/**
 * The partition dispatcher (GenStage.PartitionDispatcher): each event goes
 * to one partition, chosen by `hash`; each partition has at most one
 * consumer, and events for a partition whose consumer has not asked (or is
 * not there yet) wait in that partition's queue. `hash` returns a partition
 * name, or null to discard the event. Partitions are `0..n-1` for an
 * integer count, or any names (atoms, numbers, strings) given as a list,
 * which then need a `hash`.
 *
 * As in GenStage, demand is pooled: the producer cannot tell which
 * partition asked, so uneven partitions queue events in the busy ones; and
 * demand spent on discarded events is not asked again, so consumers whose
 * pending demand stays above their `minDemand` stop asking when many events
 * are discarded. One difference: a discarded event counts against the demand
 * it was produced for (GenStage leaves that demand open, which lets later
 * events overtake events still buffered).
 * @module
 */
import { atom } from '../terms/atom.js';
import { tuple } from '../terms/tuple.js';
import { BeamlineError } from '../core/errors.js';
import { formatReason } from '../core/reasons.js';
import { type Dispatcher, type DispatcherContext, type DispatcherFactory, SubscriptionRefused } from './dispatcher.js';
import { keyword } from './options.js';
import { subKey, tagKey } from './subscription-key.js';
import type { KeywordList, Subscription } from './types.js';

/** A marker in a partition queue: an info message waits here. */
class InfoMark {
  constructor(readonly id: number) {}
}

interface Partition<E> {
  readonly name: unknown;
  sub: Subscription | undefined;
  /** Demand of the consumer, or the queue of events (and info marks) waiting for it. */
  demand: number;
  queue: (E | InfoMark)[] | undefined;
  qhead: number;
}

/** Options of {@link partitionDispatcher}. */
export interface PartitionDispatcherOptions<E> {
  /** A count (partitions `0..n-1`) or the names of the partitions. */
  readonly partitions: number | readonly unknown[];
  /** The partition of an event, or null to discard it. Required when partitions are not integers. Default: a hash of the event modulo the count. */
  readonly hash?: (event: E) => unknown;
}

/** `hash` returned a partition that does not exist: the producer stops, as GenStage's does. */
export class UnknownPartitionError extends BeamlineError {
  override name = 'UnknownPartitionError';
}

const A_BAD_OPTS = atom('bad_opts');

function defaultHash(count: number): (event: unknown) => number {
  return (event) => {
    if (typeof event === 'number' && Number.isInteger(event)) return ((event % count) + count) % count;
    const s = formatReason(event);
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return (h >>> 0) % count;
  };
}

class PartitionDispatcher<E> implements Dispatcher<E> {
  private readonly partitions = new Map<string | number, Partition<E>>();
  private readonly references = new Map<string | number, Partition<E>>();
  private readonly hash: (event: E) => unknown;
  private waiting = 0;
  private pending = 0;
  private infoId = 0;
  private readonly infos = new Map<number, { message: unknown; left: Set<Partition<E>> }>();

  constructor(
    private readonly ctx: DispatcherContext<E>,
    options: PartitionDispatcherOptions<E>,
  ) {
    const names = typeof options.partitions === 'number' ? Array.from({ length: options.partitions }, (_, i) => i) : [...options.partitions];
    if (names.length === 0) throw new RangeError('partitionDispatcher: at least one partition is required');
    if (options.hash === undefined && names.some((n) => typeof n !== 'number'))
      throw new RangeError('partitionDispatcher: partitions that are not integers need a hash');
    for (const name of names) this.partitions.set(tagKey(name), { name, sub: undefined, demand: 0, queue: undefined, qhead: 0 });
    this.hash = options.hash ?? (defaultHash(names.length) as (e: E) => unknown);
  }

  subscribe(options: KeywordList, sub: Subscription): number | SubscriptionRefused {
    const name = keyword(options, 'partition');
    if (name === undefined || name === null)
      return new SubscriptionRefused(tuple(A_BAD_OPTS, 'the :partition option is required when subscribing to a producer with partition dispatcher'));
    const p = this.partitions.get(tagKey(name));
    if (p === undefined)
      return new SubscriptionRefused(tuple(A_BAD_OPTS, `:partition must be one of ${[...this.partitions.values()].map((x) => formatReason(x.name)).join(', ')}, got: ${formatReason(name)}`));
    if (p.sub !== undefined) return new SubscriptionRefused(tuple(A_BAD_OPTS, `the partition ${formatReason(name)} is already taken by ${String(p.sub.elements[0])}`));
    p.sub = sub;
    this.references.set(subKey(sub), p);
    return 0;
  }

  cancel(sub: Subscription): number {
    const key = subKey(sub);
    const p = this.references.get(key);
    if (p === undefined) return 0;
    this.references.delete(key);
    p.sub = undefined;
    if (p.queue === undefined) {
      this.pending += p.demand;
      p.demand = 0;
      return 0;
    }
    let length = 0;
    for (let i = p.qhead; i < p.queue.length; i++) {
      const x = p.queue[i] as E | InfoMark;
      if (x instanceof InfoMark) this.infoPassed(x.id, p);
      else length++;
    }
    p.queue = undefined;
    p.qhead = 0;
    p.demand = 0;
    this.waiting += length;
    return length;
  }

  ask(counter: number, sub: Subscription): number {
    const p = this.references.get(subKey(sub));
    if (p === undefined) return 0;
    if (p.queue === undefined) p.demand += counter;
    else this.sendFromQueue(p, counter);
    const alreadySent = Math.min(this.pending, counter);
    const demand = counter - alreadySent;
    this.pending -= alreadySent;
    this.waiting += demand;
    return demand;
  }

  private sendFromQueue(p: Partition<E>, counter: number): void {
    const q = p.queue as (E | InfoMark)[];
    let left = counter;
    let batch: E[] = [];
    while (left > 0 && p.qhead < q.length) {
      const x = q[p.qhead++] as E | InfoMark;
      if (x instanceof InfoMark) {
        if (batch.length > 0) this.ctx.sendEvents(p.sub as Subscription, batch);
        batch = [];
        this.infoPassed(x.id, p);
      } else {
        batch.push(x);
        left--;
      }
    }
    // Info marks right behind the events sent are due too.
    while (p.qhead < q.length && q[p.qhead] instanceof InfoMark) this.infoPassed((q[p.qhead++] as InfoMark).id, p);
    if (batch.length > 0) this.ctx.sendEvents(p.sub as Subscription, batch);
    if (p.qhead >= q.length) {
      p.queue = undefined;
      p.qhead = 0;
      p.demand = left;
    }
  }

  dispatch(events: readonly E[], length: number): readonly E[] {
    const per = new Map<Partition<E>, E[]>();
    let i = 0;
    for (; i < length && this.waiting > 0; i++) {
      const event = events[i] as E;
      const name = this.hash(event);
      // Unlike GenStage, a discarded event uses up the demand it was produced for: otherwise the
      // dispatcher would take later events ahead of those still in the producer's buffer.
      this.waiting--;
      if (name === null || name === undefined) continue;
      const p = this.partitions.get(tagKey(name));
      if (p === undefined)
        throw new UnknownPartitionError(`unknown partition ${formatReason(name)} computed for event ${formatReason(event)}; the known partitions are ${[...this.partitions.values()].map((x) => formatReason(x.name)).join(', ')}`);
      let list = per.get(p);
      if (list === undefined) per.set(p, (list = []));
      list.push(event);
    }
    for (const [p, list] of per) {
      if (p.queue === undefined) {
        const now = Math.min(p.demand, list.length);
        if (now > 0) this.ctx.sendEvents(p.sub as Subscription, now === list.length ? list : list.slice(0, now));
        p.demand -= now;
        if (now < list.length) {
          p.queue = list.slice(now);
          p.qhead = 0;
        }
      } else {
        for (const e of list) p.queue.push(e);
      }
    }
    return i === length ? [] : events.slice(i);
  }

  info(message: unknown): void {
    const left = new Set<Partition<E>>();
    const id = ++this.infoId;
    for (const p of this.partitions.values()) {
      if (p.queue !== undefined) {
        p.queue.push(new InfoMark(id));
        left.add(p);
      }
    }
    if (left.size === 0) this.ctx.sendInfo(message);
    else this.infos.set(id, { message, left });
  }

  private infoPassed(id: number, p: Partition<E>): void {
    const i = this.infos.get(id);
    if (i === undefined) return;
    i.left.delete(p);
    if (i.left.size === 0) {
      this.infos.delete(id);
      this.ctx.sendInfo(i.message);
    }
  }
}

/**
 * The partition dispatcher.
 * @example
 * ```ts
 * init: () => producer(0, { dispatcher: partitionDispatcher({ partitions: [atom('odd'), atom('even')], hash: (n: number) => atom(n % 2 ? 'odd' : 'even') }) })
 * await syncSubscribe(node, oddConsumer, { to: producer, partition: atom('odd') });
 * ```
 */
export function partitionDispatcher<E>(options: PartitionDispatcherOptions<E>): DispatcherFactory<E> {
  return (ctx) => new PartitionDispatcher<E>(ctx, options);
}
