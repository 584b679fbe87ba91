/**
 * Property tests (fast-check) over random interleavings of subscribe, ask,
 * emit and cancel, for every dispatcher, driven the way a producer drives
 * them (dispatch, buffer what is left, take from the buffer on new demand,
 * self-asks handled after each step):
 * - no subscription ever receives more than it asked;
 * - Demand and Partition deliver each event at most once, in order per
 *   subscription, and lose none that is not in a buffer (Partition: nor
 *   dropped with the queue of a cancelled partition, nor discarded by hash);
 * - Broadcast delivers to each consumer a run of the emitted sequence, minus
 *   what its selector rejects;
 * - the buffer never exceeds its size and keeps the first or the last events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { atom } from '../terms/atom.js';
import { tuple } from '../terms/tuple.js';
import { Pid } from '../terms/identifiers.js';
import { StageBuffer } from './buffer.js';
import { type DispatcherContext, type DispatcherFactory, SubscriptionRefused } from './dispatcher.js';
import { demandDispatcher } from './demand-dispatcher.js';
import { broadcastDispatcher } from './broadcast-dispatcher.js';
import { partitionDispatcher } from './partition-dispatcher.js';
import { subKey } from './subscription-key.js';
import type { KeywordList, Subscription } from './types.js';

type Cmd =
  | { readonly t: 'sub'; readonly i: number }
  | { readonly t: 'ask'; readonly i: number; readonly n: number }
  | { readonly t: 'emit'; readonly k: number }
  | { readonly t: 'cancel'; readonly i: number };

const CONSUMERS = 4;
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant('sub' as const), i: fc.nat(CONSUMERS - 1) }),
  fc.record({ t: fc.constant('ask' as const), i: fc.nat(CONSUMERS - 1), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ t: fc.constant('emit' as const), k: fc.integer({ min: 1, max: 25 }) }),
  fc.record({ t: fc.constant('cancel' as const), i: fc.nat(CONSUMERS - 1) }),
);

interface Sub {
  readonly sub: Subscription;
  readonly consumer: number;
  asked: number;
  readonly got: number[];
  active: boolean;
}

/** Drives a dispatcher as a producer does, recording what each subscription receives. */
class Harness {
  readonly subs: Sub[] = [];
  readonly current = new Map<number, Sub>();
  readonly byKey = new Map<string | number, Sub>();
  readonly buffer: StageBuffer<number>;
  readonly dispatcher;
  private readonly selfAsks: [Subscription, number][] = [];
  emitted = 0;
  droppedByCancel = 0;
  bufferDiscarded = 0;
  private tag = 0;

  constructor(
    factory: DispatcherFactory<number>,
    readonly options: (consumer: number) => KeywordList,
    bufferSize = Infinity,
    keep: 'first' | 'last' = 'last',
    readonly countCancelDrops = false,
  ) {
    this.buffer = new StageBuffer<number>(bufferSize, keep);
    const ctx: DispatcherContext<number> = {
      sendEvents: (sub, events) => {
        assert.ok(events.length > 0, 'never an empty batch');
        const s = this.byKey.get(subKey(sub));
        assert.ok(s !== undefined && s.active, 'events only to live subscriptions');
        s.got.push(...events);
        assert.ok(s.got.length <= s.asked, `subscription got ${s.got.length} events, asked ${s.asked}`);
      },
      sendInfo: () => {},
      askSelf: (sub, n) => this.selfAsks.push([sub, n]),
      log: () => {},
    };
    this.dispatcher = factory(ctx);
  }

  run(c: Cmd): void {
    switch (c.t) {
      case 'sub': {
        if (this.current.has(c.i)) return;
        const sub = tuple(new Pid(atom('p@h'), c.i, 0, 1), ++this.tag) as Subscription;
        const r = this.dispatcher.subscribe(this.options(c.i), sub);
        if (r instanceof SubscriptionRefused) return;
        const s: Sub = { sub, consumer: c.i, asked: 0, got: [], active: true };
        this.subs.push(s);
        this.current.set(c.i, s);
        this.byKey.set(subKey(sub), s);
        this.demand(r);
        break;
      }
      case 'ask': {
        const s = this.current.get(c.i);
        if (s === undefined) return;
        s.asked += c.n;
        this.demand(this.dispatcher.ask(c.n, s.sub));
        break;
      }
      case 'emit': {
        const events = Array.from({ length: c.k }, (_, j) => this.emitted + j);
        this.emitted += c.k;
        this.dispatch(events);
        break;
      }
      case 'cancel': {
        const s = this.current.get(c.i);
        if (s === undefined) return;
        this.current.delete(c.i);
        s.active = false;
        const r = this.dispatcher.cancel(s.sub);
        if (this.countCancelDrops) this.droppedByCancel += r;
        this.demand(r);
        break;
      }
    }
    while (this.selfAsks.length > 0) {
      const [sub, n] = this.selfAsks.shift() as [Subscription, number];
      const s = this.byKey.get(subKey(sub));
      if (s?.active === true) {
        s.asked += n;
        this.demand(this.dispatcher.ask(n, sub));
      }
    }
    assert.ok(this.buffer.length <= this.buffer.size);
  }

  private dispatch(events: readonly number[]): void {
    const rest = this.dispatcher.dispatch(events, events.length);
    if (rest.length > 0) this.bufferDiscarded += this.buffer.store(rest).discarded;
  }

  private demand(n: number): void {
    let left = n;
    for (;;) {
      const t = this.buffer.take(left);
      if (t === undefined) return;
      left -= t.events.length;
      this.dispatch(t.events);
    }
  }

  delivered(): number[] {
    return this.subs.flatMap((s) => s.got);
  }
}

function increasing(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) <= (xs[i - 1] as number)) return false;
  return true;
}

const cmds = fc.array(cmd, { minLength: 1, maxLength: 120 });

describe('dispatcher properties', () => {
  test('Demand: at most once, in order, never beyond demand, nothing lost outside the buffer', () => {
    fc.assert(
      fc.property(cmds, (list) => {
        const h = new Harness(demandDispatcher(), () => []);
        for (const c of list) h.run(c);
        const d = h.delivered();
        assert.equal(new Set(d).size, d.length);
        for (const s of h.subs) assert.ok(increasing(s.got));
        assert.equal(d.length + h.buffer.length, h.emitted);
      }),
      { numRuns: 300 },
    );
  });

  test('Partition: at most once, right partition, in order, nothing lost outside buffers, queues and the hash', () => {
    const P = 3;
    const hash = (e: number): unknown => (e % 7 === 0 ? null : e % P);
    fc.assert(
      fc.property(cmds, (list) => {
        const h = new Harness(partitionDispatcher<number>({ partitions: P, hash }), (i) => [tuple(atom('partition'), i % P)], Infinity, 'last', true);
        for (const c of list) h.run(c);
        // Flush: every partition gets a consumer that asks for everything.
        for (let i = 0; i < CONSUMERS; i++) h.run({ t: 'cancel', i });
        for (let i = 0; i < P; i++) h.run({ t: 'sub', i });
        for (let i = 0; i < P; i++) h.run({ t: 'ask', i, n: 1_000_000 });
        const d = h.delivered();
        assert.equal(new Set(d).size, d.length);
        for (const s of h.subs) {
          assert.ok(increasing(s.got));
          for (const e of s.got) assert.equal(hash(e), s.consumer % P);
        }
        const hashed = Array.from({ length: h.emitted }, (_, e) => e).filter((e) => hash(e) === null).length;
        assert.equal(h.buffer.length, 0);
        assert.equal(d.length + h.droppedByCancel + hashed, h.emitted);
      }),
      { numRuns: 300 },
    );
  });

  test('Broadcast: each consumer gets a run of the emitted sequence minus what its selector rejects, never beyond demand', () => {
    const selectors = [undefined, (e: number) => e % 2 === 0, (e: number) => e % 3 !== 0, undefined];
    fc.assert(
      fc.property(cmds, (list) => {
        const h = new Harness(broadcastDispatcher<number>(), (i) => (selectors[i] === undefined ? [] : [tuple(atom('selector'), selectors[i])]));
        for (const c of list) h.run(c);
        for (const s of h.subs) {
          const sel = selectors[s.consumer] ?? (() => true);
          assert.ok(increasing(s.got));
          for (let k = 1; k < s.got.length; k++)
            for (let e = (s.got[k - 1] as number) + 1; e < (s.got[k] as number); e++) assert.equal(sel(e), false, `consumer ${s.consumer} skipped ${e}`);
          for (const e of s.got) assert.ok(sel(e));
        }
        // Nothing is lost: every emitted event reached each consumer subscribed when it was dispatched, or is buffered.
        const seen = new Set(h.delivered());
        for (let e = 0; e < h.emitted - h.buffer.length; e++)
          if (h.subs.some((s) => s.active && s.got.length > 0 && (s.got[0] as number) <= e && (selectors[s.consumer] ?? (() => true))(e)))
            assert.ok(seen.has(e), `event ${e} reached no one`);
      }),
      {
        numRuns: 300,
        // A subscriber joins, so events already requested upstream go to the buffer; the demand
        // that comes next must take them out before later events go: it once skipped event 1.
        examples: [[[{ t: 'sub', i: 1 }, { t: 'ask', i: 1, n: 13 }, { t: 'sub', i: 3 }, { t: 'emit', k: 2 }, { t: 'ask', i: 3, n: 12 }, { t: 'emit', k: 1 }, { t: 'sub', i: 0 }]]],
      },
    );
  });

  for (const keep of ['first', 'last'] as const) {
    test(`buffer (keep ${keep}) never exceeds its size and keeps the ${keep} events`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 30 }),
          fc.array(fc.oneof(fc.record({ store: fc.integer({ min: 1, max: 40 }) }), fc.record({ take: fc.integer({ min: 1, max: 40 }) })), { maxLength: 60 }),
          (size, ops) => {
            const b = new StageBuffer<number>(size, keep);
            let model: number[] = [];
            let next = 0;
            for (const op of ops) {
              if ('store' in op) {
                const evs = Array.from({ length: op.store }, () => next++);
                const before = model.length;
                if (keep === 'first') model = model.concat(evs.slice(0, Math.max(0, size - model.length)));
                else model = model.concat(evs).slice(Math.max(0, model.length + evs.length - size));
                const r = b.store(evs);
                assert.equal(r.discarded, before + evs.length - model.length);
              } else {
                const t = b.take(op.take);
                const want = model.splice(0, op.take);
                assert.deepEqual(t?.events ?? [], want);
              }
              assert.ok(b.length <= size);
              assert.equal(b.length, model.length);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
