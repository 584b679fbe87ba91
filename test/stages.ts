/**
 * Test support for Stage: a counting producer, a recording consumer and a
 * sink the test awaits (events, batches, cancels), shared by the stage unit,
 * property and interop tests.
 * @module
 */
import { noreply } from '../src/server/server.js';
import { consumer, emit, producer } from '../src/stage/results.js';
import type { CancelInfo, ConsumerOptions, ProducerOptions, StageBehavior, Subscription } from '../src/stage/types.js';
import { eventually } from './support.js';

/** What a recording consumer saw. */
export class Sink<E = unknown> {
  readonly events: E[] = [];
  readonly batches: number[] = [];
  readonly cancels: CancelInfo[] = [];
  readonly subscriptions: Subscription[] = [];
  terminated: unknown = undefined;

  /** Waits until `n` events arrived. */
  waitFor(n: number, deadlineMs = 20_000): Promise<void> {
    return eventually(() => this.events.length >= n, deadlineMs, `${n} events (have ${this.events.length})`);
  }
  waitCancels(n: number, deadlineMs = 10_000): Promise<void> {
    return eventually(() => this.cancels.length >= n, deadlineMs, `${n} cancels`);
  }
}

/** A producer of 0, 1, 2, ... up to `limit` (exclusive; default none). */
export function counterProducer(limit = Infinity, options: ProducerOptions<number> = {}): StageBehavior<number, number, never, number> {
  return {
    init: (start) => producer(start, options),
    handleDemand(demand, next) {
      const end = Math.min(next + demand, Math.max(limit, next));
      const out: number[] = [];
      for (let i = next; i < end; i++) out.push(i);
      return emit(out, end);
    },
  };
}

/** A consumer that records into `sink`. */
export function recorder<E>(sink: Sink<E>, options: ConsumerOptions = {}): StageBehavior<null, undefined, E, never> {
  return {
    init: () => consumer(null, options),
    handleSubscribe(_kind, _opts, from, s) {
      sink.subscriptions.push(from);
      return { type: 'automatic', state: s };
    },
    handleEvents(events, _from, s) {
      sink.batches.push(events.length);
      for (const e of events) sink.events.push(e);
      return noreply(s);
    },
    handleCancel(info, _from, s) {
      sink.cancels.push(info);
      return noreply(s);
    },
    terminate(reason) {
      sink.terminated = reason;
    },
  };
}
