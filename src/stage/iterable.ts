/**
 * TypeScript idioms over stages: {@link fromIterable} turns any iterable or
 * async iterable into a producer that pulls only as much as consumers ask;
 * {@link stageStream} subscribes to producers and gives their events as an
 * async iterable, with back-pressure (the next batch is asked only once the
 * loop has taken the previous one) and cancellation by `break` or an
 * `AbortSignal`.
 * @module
 */
import { atom } from '../terms/atom.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { type ExitReason, formatReason, isCleanExit, normal, shutdown } from '../core/reasons.js';
import { BeamlineError } from '../core/errors.js';
import { noreply, stop, type StartOptions } from '../server/server.js';
import { cancel } from './api.js';
import type { SubscribeTo } from './options.js';
import { consumer, emit, producer } from './results.js';
import { startStage, type StartedStage } from './stage.js';
import { tagKey } from './subscription-key.js';
import type { ProducerOptions, StageBehavior, Subscription } from './types.js';

const A_ITEM = atom('$iterable_item');
const A_DONE = atom('$iterable_done');
const A_FAILED = atom('$iterable_failed');

interface IterState<E> {
  readonly it: Iterator<E> | AsyncIterator<E>;
  readonly sync: boolean;
  pending: number;
  pumping: boolean;
}

/** Options of {@link fromIterable}. */
export interface FromIterableOptions<E> extends StartOptions {
  /** Producer options (buffer, dispatcher...). */
  readonly producer?: ProducerOptions<E>;
  /** Stops the producer (with `shutdown`) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Starts a producer that emits the values of `source` on demand and stops
 * with `normal` when the source ends (GenStage's `from_enumerable`). A
 * source that throws stops the producer with the error.
 *
 * @example
 * ```ts
 * async function* lines() { yield 'a'; yield 'b'; }
 * const prod = await fromIterable(node, lines());
 * for await (const line of stageStream<string>(node, [prod])) console.log(line);
 * ```
 */
export async function fromIterable<E>(starter: Node | Process, source: Iterable<E> | AsyncIterable<E>, options: FromIterableOptions<E> = {}): Promise<StartedStage<never, E>> {
  const { producer: producerOptions = {}, signal, ...start } = options;
  const sync = Symbol.iterator in source && !(Symbol.asyncIterator in source);
  const behavior: StageBehavior<IterState<E>, undefined, never, E> = {
    behavior: 'stage_iterable',
    init: () => {
      const it = sync ? (source as Iterable<E>)[Symbol.iterator]() : (source as AsyncIterable<E>)[Symbol.asyncIterator]();
      return producer({ it, sync, pending: 0, pumping: false }, producerOptions);
    },
    handleDemand(demand, s, ctx) {
      if (s.sync) {
        const out: E[] = [];
        const it = s.it as Iterator<E>;
        for (let i = 0; i < demand; i++) {
          const r = it.next();
          if (r.done === true) {
            ctx.send(ctx.self, A_DONE);
            break;
          }
          out.push(r.value);
        }
        return emit(out, s);
      }
      s.pending += demand;
      if (!s.pumping) pump(s, ctx);
      return noreply(s);
    },
    handleInfo(message, s, ctx) {
      if (message instanceof Tuple && message.elements[0] === A_ITEM) {
        s.pending--;
        if (s.pending > 0) pump(s, ctx);
        return emit([message.elements[1] as E], s);
      }
      if (message === A_DONE) return stop(normal, s);
      if (message instanceof Tuple && message.elements[0] === A_FAILED) return stop(message.elements[1], s);
      return noreply(s);
    },
    terminate(_reason, s) {
      void s.it.return?.();
    },
  };
  const stage = await startStage(starter, behavior, undefined, start);
  if (signal !== undefined) {
    const node = 'self' in starter ? starter.node : starter;
    const onAbort = (): void => node.exit(stage.pid, shutdown);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return stage;
}

/** Pulls one value of an async iterator and sends it to the producer. */
function pump<E>(s: IterState<E>, ctx: Process): void {
  s.pumping = true;
  const self = ctx.self;
  const node = ctx.node;
  (s.it as AsyncIterator<E>).next().then(
    (r) => {
      s.pumping = false;
      node.send(self, r.done === true ? A_DONE : tuple(A_ITEM, r.value));
    },
    (err: unknown) => {
      s.pumping = false;
      node.send(self, tuple(A_FAILED, err));
    },
  );
}

/** The producers of a {@link stageStream} went away with a reason that is not clean. */
export class StreamError extends BeamlineError {
  override name = 'StreamError';
  constructor(readonly reason: ExitReason) {
    super(`stage stream ended: ${formatReason(reason)}`);
  }
}

/** Options of {@link stageStream}. */
export interface StreamOptions {
  /** Cancels the subscriptions and ends the iteration. */
  readonly signal?: AbortSignal;
}

interface Waiter<E> {
  resolve(r: IteratorResult<E>): void;
  reject(e: unknown): void;
}

/**
 * Subscribes to `producers` (targets, or subscription options with `to`)
 * and yields their events. The consumer behind it asks for the next batch
 * only when the loop has taken the current one. The iteration ends when
 * every producer has gone with a clean reason (`normal`, `shutdown`), and
 * throws {@link StreamError} otherwise; `break`, `return()` or the signal
 * cancel the subscriptions.
 *
 * @example
 * ```ts
 * for await (const n of stageStream<number>(node, [{ to: producer, maxDemand: 100 }])) {
 *   if (n > 10) break; // cancels the subscription
 * }
 * ```
 */
export function stageStream<E>(from: Node | Process, producers: readonly SubscribeTo[], options: StreamOptions = {}): AsyncIterableIterator<E> {
  const node = 'self' in from ? from.node : from;
  const queue: E[] = [];
  let qhead = 0;
  const waiters: Waiter<E>[] = [];
  let drained: (() => void) | undefined;
  let finished: { error?: unknown } | undefined;
  /** Every producer left cleanly: end once the queue is drained. */
  let ending = false;
  let stage: Promise<StartedStage<E, never>> | undefined;
  let proc: Process | undefined;
  const subs: Subscription[] = [];

  const settle = (): void => {
    while (waiters.length > 0) {
      if (qhead < queue.length) {
        const v = queue[qhead++] as E;
        if (qhead === queue.length) {
          queue.length = 0;
          qhead = 0;
          const d = drained;
          drained = undefined;
          d?.();
        }
        (waiters.shift() as Waiter<E>).resolve({ value: v, done: false });
      } else if (finished === undefined && ending) {
        finish();
        return;
      } else if (finished !== undefined) {
        const w = waiters.shift() as Waiter<E>;
        if (finished.error !== undefined) w.reject(finished.error);
        else w.resolve({ value: undefined, done: true });
      } else break;
    }
  };
  const finish = (error?: unknown): void => {
    if (finished !== undefined) return;
    finished = error === undefined ? {} : { error };
    const d = drained;
    drained = undefined;
    d?.();
    settle();
  };

  const behavior: StageBehavior<number, undefined, E, never> = {
    behavior: 'stage_stream',
    init: (_a, ctx) => {
      proc = ctx;
      return consumer(0, { subscribeTo: producers.map((p) => (p !== null && typeof p === 'object' && 'to' in p ? { ...p, cancel: 'temporary' as const } : { to: p, cancel: 'temporary' as const })) });
    },
    handleSubscribe: (_kind, _opts, sub, live) => {
      subs.push(sub);
      return { type: 'automatic', state: live + 1 };
    },
    handleEvents(events, _from, live) {
      if (finished !== undefined) return noreply(live);
      for (const e of events) queue.push(e);
      settle();
      if (qhead >= queue.length) return noreply(live);
      // Back-pressure: hold the consumer (and so its next ask) until the loop has taken this batch.
      return new Promise((resolve) => {
        drained = () => resolve(noreply(live));
      });
    },
    handleCancel(info, from, live) {
      const i = subs.findIndex((s) => tagKey(s.elements[1]) === tagKey(from.elements[1]));
      if (i >= 0) subs.splice(i, 1);
      const left = live - 1;
      if (!isCleanExit(info.reason)) {
        finish(new StreamError(info.reason));
        return stop(normal, left);
      }
      if (left <= 0) {
        // Events already queued are still yielded; then the iteration ends.
        ending = true;
        settle();
        return stop(normal, left);
      }
      return noreply(left);
    },
  };

  const close = async (): Promise<void> => {
    if (stage === undefined) {
      finish();
      return;
    }
    const s = await stage.catch(() => undefined);
    if (finished === undefined || proc?.alive === true) {
      finish();
      const p = proc;
      if (p !== undefined && p.alive && s !== undefined) {
        for (const sub of subs.splice(0)) cancel(p, sub, normal);
        node.exit(s.pid, shutdown);
      }
    }
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  const iterator: AsyncIterableIterator<E> = {
    next(): Promise<IteratorResult<E>> {
      if (options.signal?.aborted === true) void close();
      if (stage === undefined && finished === undefined) {
        stage = startStage(from, behavior, undefined);
        stage.catch((err: unknown) => finish(err));
      }
      return new Promise((resolve, reject) => {
        waiters.push({ resolve, reject });
        settle();
      });
    },
    async return(): Promise<IteratorResult<E>> {
      await close();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return iterator;
}
