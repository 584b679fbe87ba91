/**
 * Stage behavior, local: subscriptions and their options, demand and
 * batching, cancel modes, buffer, accumulate mode, infos, manual demand,
 * producer-consumers, and bad input. The oracle is GenStage's own test suite
 * (../shared/vendor/gen_stage-1.3.2/test).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Probe, eventually, quietLogger } from '../../test/support.js';
import { Sink, counterProducer, recorder } from '../../test/stages.js';
import { atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { Charlist } from '../etf/charlist.js';
import { Node } from '../core/node.js';
import { noproc, normal, shutdownWith } from '../core/reasons.js';
import { InitFailedError, noreply, stop, stopServer } from '../server/server.js';
import {
  ask,
  broadcastDispatcher,
  partitionDispatcher,
  UnknownPartitionError,
  asyncInfo,
  asyncSubscribe,
  cancel,
  cancelConsumer,
  consumer,
  emit,
  estimateBufferedCount,
  getDemand,
  manual,
  producer,
  producerConsumer,
  setDemand,
  startStage,
  SubscribeError,
  syncInfo,
  syncResubscribe,
  syncSubscribe,
  type DispatcherFactory,
  type ProducerOptions,
  type StageBehavior,
  type SubscribeOptions,
  type Subscription,
} from './index.js';
import { splitBatches } from './batches.js';

function newNode(): { node: Node; lines: string[] } {
  const q = quietLogger();
  return { node: new Node({ name: 'stage@127.0.0.1', logger: q.log, shutdownTimeout: 200 }), lines: q.lines };
}

describe('splitBatches (GenStage.Utils.split_batches)', () => {
  test('batches of max - min, asking again when pending demand reaches min', () => {
    const events = Array.from({ length: 10 }, (_, i) => i);
    const r = splitBatches(events, 5, 10, 10);
    assert.deepEqual(r.batches.map(([b, a]) => [b.length, a]), [[5, 5], [5, 5]]);
    assert.equal(r.demand, 10);
    assert.equal(r.excess, 0);
  });
  test('min 0: one batch of max; a partial batch does not ask', () => {
    const r = splitBatches([1, 2, 3], 0, 10, 10);
    assert.deepEqual(r.batches.map(([b, a]) => [b.length, a]), [[3, 0]]);
    assert.equal(r.demand, 7);
  });
  test('excess events are counted, handed over, and do not inflate demand', () => {
    const r = splitBatches([1, 2, 3, 4], 1, 3, 2);
    assert.equal(r.excess, 2);
    assert.deepEqual(r.batches.flatMap(([b]) => b), [1, 2, 3, 4]);
    assert.ok(r.demand <= 3);
  });
});

describe('Stage: producer and consumer', () => {
  test('default options: exact, ordered, never more than max - min per batch', async () => {
    const { node } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    const prod = await startStage(node, counterProducer(10_000), 0);
    const cons = await startStage(node, recorder(sink), undefined);
    const tag = await syncSubscribe(node, cons, { to: prod });
    assert.ok(tag instanceof Ref);
    await sink.waitFor(10_000);
    assert.deepEqual(sink.events, Array.from({ length: 10_000 }, (_, i) => i));
    assert.ok(sink.batches.every((n) => n <= 500), `batches ${sink.batches.slice(0, 5)}`);
  });

  test('explicit min/max above 255 and subscribeTo in init, by name', async () => {
    const { node } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    await startStage(node, counterProducer(5000), 0, { name: 'numbers' });
    await startStage(node, recorder(sink, { subscribeTo: [{ to: 'numbers', minDemand: 300, maxDemand: 1300 }] }), undefined);
    await sink.waitFor(5000);
    assert.equal(sink.events.length, 5000);
    assert.ok(sink.batches.every((n) => n <= 1000));
    assert.deepEqual(sink.events.slice(0, 3), [0, 1, 2]);
  });

  test('options are validated as GenStage does', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(), 0);
    const cons = await startStage(node, recorder(new Sink()), undefined);
    const bad = async (o: Omit<SubscribeOptions<number>, 'to'>, re: RegExp): Promise<void> => {
      await assert.rejects(syncSubscribe(node, cons, { to: prod, ...o }), (e: unknown) => e instanceof SubscribeError && re.test(String(e.message)));
    };
    await bad({ maxDemand: 0 }, /max_demand to be equal to or greater than 1/);
    await bad({ maxDemand: 1.5 }, /max_demand to be an integer/);
    await bad({ maxDemand: 10, minDemand: 10 }, /min_demand to be equal to or less than 9/);
    await bad({ minDemand: -1 }, /min_demand to be equal to or greater than 0/);
    await bad({ cancel: 'sometimes' as 'temporary' }, /cancel to be one of/);
    // A producer is not a consumer.
    await assert.rejects(syncSubscribe(node, prod.pid, { to: prod }), (e: unknown) => e instanceof SubscribeError && e.reason === atom('not_a_consumer'));
    assert.ok(node.isAlive(cons.pid) && node.isAlive(prod.pid));
    // Bad producer options fail init with a clear error.
    await assert.rejects(startStage(node, counterProducer(10, { bufferSize: -1 }), 0), InitFailedError);
    await assert.rejects(startStage(node, counterProducer(10, { bufferKeep: 'middle' as 'first' }), 0), InitFailedError);
  });

  test('subscribing to a dead producer: permanent exits with noproc, temporary carries on', async () => {
    const { node } = newNode();
    await using _n = node;
    const c1 = await startStage(node, recorder(new Sink()), undefined);
    const exit1 = node.waitExit(c1.pid);
    await syncSubscribe(node, c1, { to: 'nobody' });
    assert.equal(await exit1, noproc);
    const c2 = await startStage(node, recorder(new Sink()), undefined);
    await syncSubscribe(node, c2, { to: 'nobody', cancel: 'temporary' });
    assert.ok(node.isAlive(c2.pid));
    await assert.rejects(startStage(node, recorder(new Sink(), { subscribeTo: ['nobody'] }), undefined), InitFailedError);
  });

  for (const [mode, reason, exits] of [
    ['permanent', normal, true],
    ['transient', normal, false],
    ['transient', shutdownWith(atom('x')), false],
    ['transient', atom('oops'), true],
    ['temporary', atom('oops'), false],
  ] as const) {
    test(`cancel mode ${mode}: producer exits with ${String(reason)} -> consumer ${exits ? 'exits' : 'stays'}`, async () => {
      const { node } = newNode();
      await using _n = node;
      const sink = new Sink<number>();
      const prod = await startStage(node, counterProducer(10), 0);
      const cons = await startStage(node, recorder(sink), undefined);
      await syncSubscribe(node, cons, { to: prod, cancel: mode });
      await sink.waitFor(10);
      const consExit = node.waitExit(cons.pid);
      await stopServer(node, prod, reason);
      await sink.waitCancels(1);
      assert.deepEqual(sink.cancels[0], { kind: 'down', reason });
      if (exits) assert.deepEqual(await consExit, reason);
      else {
        await eventually(() => node.processInfo(cons.pid)?.monitors.length === 0, 5000, 'monitor dropped');
        assert.ok(node.isAlive(cons.pid));
      }
    });
  }

  test('consumer cancels with an atom reason: confirmed by the producer; permanent exits, temporary stays', async () => {
    const { node } = newNode();
    await using _n = node;
    const subs: Subscription[] = [];
    let self: import('../core/process.js').Process | undefined;
    const sink = new Sink<number>();
    const base = recorder(sink);
    const canceller: StageBehavior<null, undefined, number, never> = {
      ...base,
      handleSubscribe(kind, opts, from, s, ctx) {
        subs.push(from);
        self = ctx;
        return base.handleSubscribe?.(kind, opts, from, s, ctx) ?? { type: 'automatic', state: s };
      },
      handleInfo(msg, s, ctx) {
        if (msg === atom('cancel_now')) cancel(ctx, subs[subs.length - 1] as Subscription, atom('done'));
        return noreply(s);
      },
    };
    const prod = await startStage(node, counterProducer(), 0);
    const temp = await startStage(node, canceller, undefined);
    await syncSubscribe(node, temp, { to: prod, cancel: 'temporary' });
    await sink.waitFor(1);
    node.send(temp.pid, atom('cancel_now'));
    await sink.waitCancels(1);
    assert.deepEqual(sink.cancels[0], { kind: 'cancel', reason: atom('done') });
    assert.ok(node.isAlive(temp.pid) && node.isAlive(prod.pid));
    void self;
    const perm = await startStage(node, canceller, undefined);
    const exit = node.waitExit(perm.pid);
    await syncSubscribe(node, perm, { to: prod });
    node.send(perm.pid, atom('cancel_now'));
    assert.equal(await exit, atom('done'));
    assert.ok(node.isAlive(prod.pid));
  });

  test('the producer cancels a consumer; an unknown subscription is answered with a cancel', async () => {
    const { node } = newNode();
    await using _n = node;
    const consumers: Subscription[] = [];
    const prod = await startStage(
      node,
      {
        ...counterProducer(),
        handleSubscribe: (_k, _o, from, s) => {
          consumers.push(from);
          return { type: 'automatic', state: s };
        },
        handleInfo: (msg, s, ctx) => {
          if (msg === atom('kick')) cancelConsumer(ctx, consumers[0] as Subscription, atom('kicked'));
          return noreply(s);
        },
      },
      0,
    );
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: prod, cancel: 'temporary' });
    await sink.waitFor(1);
    node.send(prod.pid, atom('kick'));
    await sink.waitCancels(1);
    assert.deepEqual(sink.cancels[0], { kind: 'cancel', reason: atom('kicked') });
    // An ask for a subscription the producer does not know.
    const probe = new Probe(node);
    const tag = node.makeRef();
    node.send(prod.pid, tuple(atom('$gen_producer'), tuple(probe.pid, tag), tuple(atom('ask'), 10)));
    const m = (await probe.next()) as Tuple;
    assert.equal(m.elements[0], atom('$gen_consumer'));
    assert.deepEqual((m.elements[2] as Tuple).elements, [atom('cancel'), atom('unknown_subscription')]);
  });

  test('duplicated subscription is cancelled; excess and string events are handled, never a crash', async () => {
    const { node, lines } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(), 0);
    const probe = new Probe(node);
    const tag = node.makeRef();
    const sub = tuple(atom('$gen_producer'), tuple(probe.pid, tag), tuple(atom('subscribe'), null, []));
    node.send(prod.pid, sub);
    node.send(prod.pid, sub);
    const m = (await probe.next()) as Tuple;
    assert.deepEqual((m.elements[2] as Tuple).elements, [atom('cancel'), atom('duplicated_subscription')]);
    // A fake producer sends more than asked, and a STRING_EXT list.
    const sink = new Sink<unknown>();
    const cons = await startStage(node, recorder(sink), undefined);
    const fake = new Probe(node);
    await syncSubscribe(node, cons, { to: fake.pid, maxDemand: 2, minDemand: 0 });
    const subscribe = (await fake.next()) as Tuple;
    const ftag = ((subscribe.elements[1] as Tuple).elements[1]) as Ref;
    node.send(cons.pid, tuple(atom('$gen_consumer'), tuple(fake.pid, ftag), [1, 2, 3, 4, 5]));
    node.send(cons.pid, tuple(atom('$gen_consumer'), tuple(fake.pid, ftag), new Charlist('\x07\x08')));
    await sink.waitFor(7);
    assert.deepEqual(sink.events, [1, 2, 3, 4, 5, 7, 8]);
    assert.ok(lines.some((l) => /events in excess/.test(l)));
    assert.ok(node.isAlive(cons.pid));
    // Events for an unknown subscription: the consumer tells the producer.
    node.send(cons.pid, tuple(atom('$gen_consumer'), tuple(fake.pid, node.makeRef()), [1]));
    await eventually(() => fake.pending.some((x) => x instanceof Tuple && (x.elements[2] as Tuple).elements[1] === atom('unknown_subscription')));
  });

  test('resubscribe cancels the current subscription and starts a new one', async () => {
    const { node } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    const prod = await startStage(node, counterProducer(), 0);
    const cons = await startStage(node, recorder(sink), undefined);
    const tag1 = await syncSubscribe(node, cons, { to: prod, cancel: 'temporary', maxDemand: 10 });
    await sink.waitFor(10);
    const tag2 = await syncResubscribe(node, cons, tag1, atom('switch'), { to: prod, maxDemand: 20 });
    assert.ok(!tag1.equals(tag2));
    await sink.waitCancels(1);
    assert.deepEqual(sink.cancels[0], { kind: 'cancel', reason: atom('switch') });
    const before = sink.events.length;
    await sink.waitFor(before + 40);
    assert.ok(node.isAlive(cons.pid));
  });
});

describe('Stage: producer buffer, demand modes, infos', () => {
  function pusher(options: ProducerOptions<number> = {}): StageBehavior<null, undefined, never, number, { call: [Tuple, number]; cast: number[] }> {
    return {
      init: () => producer(null, options),
      handleDemand: (_d, s) => noreply(s),
      handleCast: (events, s) => emit(events, s),
      handleCall: (_req, _from, s) => ({ type: 'reply', reply: 0, state: s }),
    };
  }

  test('events without demand are buffered; bufferKeep last discards the oldest and logs the count', async () => {
    const { node, lines } = newNode();
    await using _n = node;
    const prod = await startStage(node, pusher({ bufferSize: 5 }), undefined);
    node.cast(prod, [1, 2, 3]);
    node.cast(prod, [4, 5, 6, 7]);
    assert.equal(await estimateBufferedCount(node, prod), 5);
    assert.ok(lines.some((l) => /discarded 2 events/.test(l)));
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: prod, maxDemand: 3, minDemand: 0 });
    await sink.waitFor(5);
    assert.deepEqual(sink.events, [3, 4, 5, 6, 7]);
  });

  test('bufferKeep first keeps the oldest', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, pusher({ bufferSize: 3, bufferKeep: 'first' }), undefined);
    node.cast(prod, [1, 2, 3, 4, 5]);
    assert.equal(await estimateBufferedCount(node, prod), 3);
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: prod });
    await sink.waitFor(3);
    assert.deepEqual(sink.events, [1, 2, 3]);
  });

  test('infos arrive after the events buffered before them', async () => {
    const { node } = newNode();
    await using _n = node;
    const order: unknown[] = [];
    const prod = await startStage(
      node,
      { ...pusher(), handleInfo: (m, s) => (order.push(m), noreply(s)) },
      undefined,
    );
    node.cast(prod, [1, 2, 3]);
    await syncInfo(node, prod, atom('after3'));
    asyncInfo(node, prod, atom('after3b'));
    node.cast(prod, [4]);
    await syncInfo(node, prod, atom('after4'));
    assert.deepEqual(order, []);
    const sink = new Sink<number>();
    const seen: unknown[] = [];
    const spy: StageBehavior<null, undefined, number, never> = {
      ...recorder(sink),
      handleEvents: (ev, _f, s) => {
        for (const e of ev) sink.events.push(e), seen.push(e);
        return noreply(s);
      },
    };
    const cons = await startStage(node, spy, undefined);
    await syncSubscribe(node, cons, { to: prod, maxDemand: 2, minDemand: 0 });
    await eventually(() => order.length === 3);
    assert.deepEqual(order, [atom('after3'), atom('after3b'), atom('after4')]);
    assert.deepEqual(sink.events, [1, 2, 3, 4]);
    // An info with nothing buffered arrives at once.
    await syncInfo(node, prod, atom('now'));
    await eventually(() => order.length === 4);
  });

  test('accumulate holds demand and events until forward', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(100, { demand: 'accumulate' }), 0);
    assert.equal(await getDemand(node, prod), 'accumulate');
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: prod, maxDemand: 10 });
    await getDemand(node, prod); // the subscription has been handled
    assert.equal(sink.events.length, 0);
    setDemand(node, prod, 'forward');
    await sink.waitFor(100);
    assert.deepEqual(sink.events, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(await getDemand(node, prod), 'forward');
  });

  test('manual demand: only what the consumer asks arrives', async () => {
    const { node } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    let sub: Subscription | undefined;
    const cons = await startStage(
      node,
      {
        ...recorder(sink),
        handleSubscribe: (_k, _o, from, s) => {
          sub = from;
          return manual(s);
        },
        handleInfo: (m, s, ctx) => {
          if (typeof m === 'number') ask(ctx, sub as Subscription, m);
          return noreply(s);
        },
      },
      undefined,
    );
    const prod = await startStage(node, counterProducer(), 0);
    await syncSubscribe(node, cons, { to: prod });
    node.send(cons.pid, 3);
    await sink.waitFor(3);
    node.send(cons.pid, 4);
    await sink.waitFor(7);
    assert.equal(await estimateBufferedCount(node, prod), 0);
    assert.equal(sink.events.length, 7);
    assert.throws(() => ask(undefined as never, sub as Subscription, -1), RangeError);
  });

  test('two consumers share demand: each event once, none beyond demand', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(20_000), 0);
    const a = new Sink<number>();
    const b = new Sink<number>();
    const ca = await startStage(node, recorder(a), undefined);
    const cb = await startStage(node, recorder(b), undefined);
    asyncSubscribe(node, ca, { to: prod, maxDemand: 100 });
    asyncSubscribe(node, cb, { to: prod, maxDemand: 100 });
    await eventually(() => a.events.length + b.events.length === 20_000, 20_000);
    const all = [...a.events, ...b.events].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 20_000 }, (_, i) => i));
    for (const s of [a, b]) for (let i = 1; i < s.events.length; i++) assert.ok((s.events[i] as number) > (s.events[i - 1] as number));
  });
});

describe('Stage: producer-consumer', () => {
  const doubler: StageBehavior<null, undefined, number, number> = {
    init: () => producerConsumer(null),
    handleEvents: (events, _from, s) => emit(events.map((e) => e * 2), s),
  };

  test('producer -> producer-consumer -> consumer: exact and ordered', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(3000), 0);
    const pc = await startStage(node, doubler, undefined);
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: pc, maxDemand: 50 });
    await syncSubscribe(node, pc, { to: prod, maxDemand: 100 });
    await sink.waitFor(3000);
    assert.deepEqual(sink.events, Array.from({ length: 3000 }, (_, i) => i * 2));
  });

  test('a filtering producer-consumer keeps asking upstream', async () => {
    const { node } = newNode();
    await using _n = node;
    const evens: StageBehavior<null, undefined, number, number> = {
      init: () => producerConsumer(null),
      handleEvents: (events, _from, s) => emit(events.filter((e) => e % 2 === 0), s),
    };
    const prod = await startStage(node, counterProducer(1000), 0);
    const pc = await startStage(node, evens, undefined);
    const sink = new Sink<number>();
    const cons = await startStage(node, recorder(sink, { subscribeTo: [{ to: pc, maxDemand: 10 }] }), undefined);
    await syncSubscribe(node, pc, { to: prod, maxDemand: 10 });
    await sink.waitFor(500);
    assert.equal(sink.events.length, 500);
    assert.ok(node.isAlive(cons.pid));
  });

  test('a consumer cannot dispatch events; a stop result stops the stage with its reason', async () => {
    const { node, lines } = newNode();
    await using _n = node;
    const bad: StageBehavior<null, undefined, number, number> = {
      init: () => consumer(null),
      handleEvents: (events, _from, s) => (events.includes(5) ? stop(atom('five'), s) : emit(events, s)),
    };
    const prod = await startStage(node, counterProducer(10), 0);
    const cons = await startStage(node, bad, undefined);
    const exit = node.waitExit(cons.pid);
    await syncSubscribe(node, cons, { to: prod, maxDemand: 2, minDemand: 1 });
    assert.equal(await exit, atom('five'));
    assert.ok(lines.some((l) => /cannot dispatch events/.test(l)));
  });
});

test('a pid from elsewhere is accepted as a target and events carry the producer pid', async () => {
  const { node } = newNode();
  await using _n = node;
  const sink = new Sink<number>();
  const prod = await startStage(node, counterProducer(5), 0);
  const cons = await startStage(node, recorder(sink), undefined);
  await syncSubscribe(node, cons, { to: prod.pid });
  await sink.waitFor(5);
  assert.ok(sink.subscriptions[0]?.elements[0] instanceof Pid);
  assert.ok((sink.subscriptions[0]?.elements[0] as Pid).equals(prod.pid));
});

describe('Stage: broadcast and partition dispatchers, locally', () => {
  test('broadcast: all consumers get every event, selectors filter, a duplicate subscription is refused', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(1000, { demand: 'accumulate', dispatcher: broadcastDispatcher<number>() }), 0);
    const all = new Sink<number>();
    const odd = new Sink<number>();
    const ca = await startStage(node, recorder(all), undefined);
    const co = await startStage(node, recorder(odd), undefined);
    await syncSubscribe(node, ca, { to: prod, maxDemand: 30 });
    await syncSubscribe(node, co, { to: prod, maxDemand: 70, selector: (n: number) => n % 2 === 1 });
    setDemand(node, prod, 'forward');
    await all.waitFor(1000);
    await odd.waitFor(500);
    assert.deepEqual(all.events, Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(odd.events, Array.from({ length: 500 }, (_, i) => 2 * i + 1));
    await syncSubscribe(node, ca, { to: prod });
    await all.waitCancels(1);
    assert.deepEqual(all.cancels[0], { kind: 'cancel', reason: atom('already_subscribed') });
    assert.ok(node.isAlive(ca.pid), 'already_subscribed does not stop a permanent consumer');
    const bad = new Sink<number>();
    const cb = await startStage(node, recorder(bad), undefined);
    await syncSubscribe(node, cb, { to: prod, cancel: 'temporary', extra: [tuple(atom('selector'), 42)] });
    await bad.waitCancels(1);
    assert.equal(((bad.cancels[0]?.reason) as Tuple).elements[0], atom('bad_opts'));
    assert.ok(node.isAlive(prod.pid));
  });

  test('partition: one consumer per partition; missing, unknown and taken partitions are refused; the producer lives', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(900, { demand: 'accumulate', dispatcher: partitionDispatcher<number>({ partitions: 3 }) }), 0);
    const sinks = [new Sink<number>(), new Sink<number>(), new Sink<number>()];
    for (let p = 0; p < 3; p++) {
      const c = await startStage(node, recorder(sinks[p] as Sink<number>), undefined);
      await syncSubscribe(node, c, { to: prod, partition: p, maxDemand: 40 });
    }
    setDemand(node, prod, 'forward');
    for (let p = 0; p < 3; p++) {
      await (sinks[p] as Sink<number>).waitFor(300);
      assert.deepEqual((sinks[p] as Sink<number>).events, Array.from({ length: 300 }, (_, i) => 3 * i + p));
    }
    for (const [o, re] of [[{}, /required/], [{ partition: 7 }, /must be one of/], [{ partition: 1 }, /already taken/]] as const) {
      const s = new Sink<number>();
      const c = await startStage(node, recorder(s), undefined);
      await syncSubscribe(node, c, { to: prod, cancel: 'temporary', ...o });
      await s.waitCancels(1);
      const reason = s.cancels[0]?.reason as Tuple;
      assert.equal(reason.elements[0], atom('bad_opts'));
      assert.match(String(reason.elements[1]), re);
    }
    assert.ok(node.isAlive(prod.pid));
  });

  test('partition: a hash naming an unknown partition stops the producer with a typed error', async () => {
    const { node } = newNode();
    await using _n = node;
    const prod = await startStage(node, counterProducer(10, { dispatcher: partitionDispatcher<number>({ partitions: [atom('a')], hash: () => atom('b') }) }), 0);
    const exit = node.waitExit(prod.pid);
    const c = await startStage(node, recorder(new Sink<number>()), undefined);
    await syncSubscribe(node, c, { to: prod, partition: atom('a'), cancel: 'temporary' });
    const reason = await exit;
    assert.ok(reason instanceof UnknownPartitionError);
    await assert.rejects(startStage(node, counterProducer(10, { dispatcher: partitionDispatcher<number>({ partitions: [atom('a')] }) }), 0), InitFailedError);
  });
});

describe('Stage: several subscriptions and bad input', () => {
  test('one consumer subscribed to two producers gets both streams, each in order', async () => {
    const { node } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    const p1 = await startStage(node, counterProducer(1000), 0);
    const p2 = await startStage(node, counterProducer(101_000), 100_000);
    const cons = await startStage(node, recorder(sink, { subscribeTo: [{ to: p1, maxDemand: 30 }, { to: p2, maxDemand: 70 }] }), undefined);
    await sink.waitFor(2000);
    const a = sink.events.filter((e) => e < 100_000);
    const b = sink.events.filter((e) => e >= 100_000);
    assert.deepEqual(a, Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(b, Array.from({ length: 1000 }, (_, i) => 100_000 + i));
    assert.equal(sink.subscriptions.length, 2);
    assert.ok(node.isAlive(cons.pid));
  });

  test('malformed protocol messages and bad asks never crash a stage', async () => {
    const { node, lines } = newNode();
    await using _n = node;
    const sink = new Sink<number>();
    const prod = await startStage(node, counterProducer(), 0);
    const cons = await startStage(node, recorder(sink), undefined);
    await syncSubscribe(node, cons, { to: prod, maxDemand: 10 });
    await sink.waitFor(10);
    const probe = new Probe(node);
    const bad: unknown[] = [
      tuple(atom('$gen_producer')),
      tuple(atom('$gen_producer'), 'not a from', tuple(atom('ask'), 1)),
      tuple(atom('$gen_producer'), tuple(probe.pid, node.makeRef()), 'garbage'),
      tuple(atom('$gen_producer'), tuple(probe.pid, node.makeRef()), tuple(atom('ask'), 'ten')),
      tuple(atom('$gen_producer'), tuple(probe.pid, (sink.subscriptions[0] as Subscription).elements[1]), tuple(atom('ask'), -5)),
      tuple(atom('$gen_consumer'), tuple(probe.pid, node.makeRef()), tuple(atom('cancel'))),
      tuple(atom('$gen_consumer'), tuple(probe.pid, node.makeRef()), 42),
      tuple(atom('DOWN'), node.makeRef(), atom('process'), probe.pid, atom('normal')),
    ];
    for (const m of bad) {
      node.send(prod.pid, m);
      node.send(cons.pid, m);
    }
    await syncInfo(node, prod, atom('sync'));
    await getDemand(node, prod);
    await eventually(() => lines.some((l) => /received \$gen_producer message/.test(l)));
    assert.ok(node.isAlive(prod.pid) && node.isAlive(cons.pid));
    // The subscription still works.
    const before = sink.events.length;
    await sink.waitFor(before + 10);
  });
});

test('a custom dispatcher (round robin over consumers with demand) plugs into a producer', async () => {
  const { node } = newNode();
  await using _n = node;
  const roundRobin: DispatcherFactory<number> = (ctx) => {
    const subs: { sub: Subscription; key: unknown; demand: number }[] = [];
    let next = 0;
    return {
      subscribe: (_opts, sub) => (subs.push({ sub, key: sub.elements[1], demand: 0 }), 0),
      cancel: (sub) => {
        const i = subs.findIndex((s) => s.key === sub.elements[1]);
        if (i >= 0) subs.splice(i, 1);
        return 0;
      },
      ask: (n, sub) => {
        const s = subs.find((x) => x.key === sub.elements[1]);
        if (s !== undefined) s.demand += n;
        return n;
      },
      dispatch: (events) => {
        let i = 0;
        for (let tries = 0; i < events.length && tries < subs.length * events.length + 1; tries++) {
          const s = subs[next++ % subs.length];
          if (s === undefined || s.demand === 0) continue;
          ctx.sendEvents(s.sub, [events[i++] as number]);
          s.demand--;
        }
        return events.slice(i);
      },
      info: (m) => ctx.sendInfo(m),
    };
  };
  const prod = await startStage(node, counterProducer(600, { demand: 'accumulate', dispatcher: roundRobin }), 0);
  const sinks = [new Sink<number>(), new Sink<number>()];
  for (const s of sinks) await syncSubscribe(node, await startStage(node, recorder(s), undefined), { to: prod, maxDemand: 20 });
  setDemand(node, prod, 'forward');
  await eventually(() => (sinks[0] as Sink<number>).events.length + (sinks[1] as Sink<number>).events.length === 600);
  const all = [...(sinks[0] as Sink<number>).events, ...(sinks[1] as Sink<number>).events].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 600 }, (_, i) => i));
  assert.ok(Math.abs((sinks[0] as Sink<number>).events.length - 300) <= 20);
});

test('demand of any integer size: a bigint ask reaches handleDemand as a number', async () => {
  const { node } = newNode();
  await using _n = node;
  const seen: number[] = [];
  const prod = await startStage(node, { init: () => producer(null), handleDemand: (d: number, s: null) => (seen.push(d), noreply(s)) }, undefined);
  const probe = new Probe(node);
  const tag = node.makeRef();
  node.send(prod.pid, tuple(atom('$gen_producer'), tuple(probe.pid, tag), tuple(atom('subscribe'), null, [])));
  node.send(prod.pid, tuple(atom('$gen_producer'), tuple(probe.pid, tag), tuple(atom('ask'), 2n ** 70n)));
  await eventually(() => seen.length === 1);
  assert.equal(seen[0], 2 ** 70);
});
