/**
 * Stage against Elixir's real GenStage: the vendored library is compiled
 * with elixirc into a temp directory, an Elixir node runs on a private EPMD
 * port on loopback, and stages on both sides subscribe to each other.
 * Every test counts exactly: no loss, no duplicate, order per subscription,
 * never more than asked (a Beamline consumer logs "events in excess"
 * otherwise; an Elixir consumer logs it on its node's output). Skipped with
 * a one-line reason without elixir, failing instead when CI=true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomInt } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Sink, counterProducer, recorder } from '../../test/stages.js';
import { eventually, freePort } from '../../test/support.js';
import { compileStages, elixirSkipReason, evalElixir, startElixirStageNode, type CompiledStages } from '../../test/elixir-stage.js';
import type { ErlNode } from '../../test/erl.js';
import { Inbox } from '../distribution/testing/inbox.js';
import { startNode } from '../distribution/node-dist.js';
import { atom } from '../terms/atom.js';
import { Charlist } from '../etf/charlist.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import { noconnection, normal } from '../core/reasons.js';
import { noreply, stopServer } from '../server/server.js';
import { broadcastDispatcher, startConsumerSupervisor, stageStream, cancel, cancelConsumer, emit, partitionDispatcher, remoteSelector, setDemand, producer, producerConsumer, startStage, syncResubscribe, syncSubscribe, type CancelMode, type StageBehavior, type Subscription } from './index.js';

const COOKIE = 'stagecookie';

describe('Stage interop with Elixir GenStage', { skip: elixirSkipReason() }, () => {
  const tag = randomInt(1e6);
  const E = `gs${tag}@127.0.0.1`;
  let epmdPort = 0;
  const logs: string[] = [];
  let ts: Node;
  let ex: ErlNode;
  let compiled: CompiledStages;
  let inbox: Inbox;

  const ev = (code: string, binding: Record<string, unknown> = {}): Promise<unknown> => evalElixir(ts, E, code, binding);
  /** Starts an Elixir producer of `limit` events of `kind`. */
  const exProducer = async (limit: number, kind = 'int', opts = '[]'): Promise<Pid> =>
    (await ev(`{:ok, p} = GenStage.start(BT.Producer, {${limit}, :${kind}, ${opts}}); p`)) as Pid;
  /** Starts an Elixir consumer reporting to the inbox, subscribed to `to` with `opts` (Elixir keyword source). */
  const exConsumer = async (to: unknown, opts: string): Promise<Pid> =>
    (await ev(`{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, [to: to] ++ ${opts}); c`, { sink: inbox.pid, to })) as Pid;
  /** Events an Elixir consumer reported, until `n` arrived. */
  const collect = async (consumer: Pid, n: number): Promise<unknown[]> => {
    const out: unknown[] = [];
    while (out.length < n) {
      const m = await inbox.waitFor<Tuple>((x) => x instanceof Tuple && x.elements[0] === atom('events') && consumer.equals(x.elements[1]), `events (${out.length}/${n})`);
      const list = m.elements[2];
      out.push(...(Array.isArray(list) ? list : (list as { codes(): number[] }).codes()));
    }
    return out;
  };
  const exAlive = async (pid: Pid): Promise<boolean> => (await ev('Process.alive?(p)', { p: pid })) === true;
  const noExcess = (): void => {
    assert.ok(!logs.some((l) => /in excess/.test(l)), logs.filter((l) => /in excess/.test(l)).join('\n'));
    assert.ok(!/in excess/.test(ex.output()), ex.output());
  };

  before(async () => {
    epmdPort = await freePort();
    compiled = await compileStages();
    ts = await startNode({ name: `ts${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: (l, m) => logs.push(`${l}: ${m}`), shutdownTimeout: 500 } });
    ex = await startElixirStageNode({ name: E, cookie: COOKIE, epmdPort, ebin: compiled.ebin });
    inbox = new Inbox(ts);
  });

  after(async () => {
    await ex?.kill();
    await ts?.stop();
    compiled?.cleanup();
  });

  test('Elixir producer -> Beamline consumer: 100,000 events, default options, exact and in order', async () => {
    const p = await exProducer(100_000);
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    await syncSubscribe(ts, c, { to: p });
    await sink.waitFor(100_000, 60_000);
    assert.equal(sink.events.length, 100_000);
    for (let i = 0; i < 100_000; i++) if (sink.events[i] !== i) assert.fail(`event ${i} is ${sink.events[i]}`);
    assert.ok(sink.batches.every((b) => b <= 500));
    noExcess();
  });

  test('Beamline producer -> Elixir consumer: 100,000 events, default options, exact and in order', async () => {
    const p = await startStage(ts, counterProducer(100_000), 0);
    const c = await exConsumer(p.pid, '[]');
    const got = await collect(c, 100_000);
    assert.equal(got.length, 100_000);
    for (let i = 0; i < 100_000; i++) if (got[i] !== i) assert.fail(`event ${i} is ${String(got[i])}`);
    noExcess();
  });

  for (const kind of ['small', 'big', 'bin', 'tuple', 'map'] as const) {
    test(`Elixir producer -> Beamline consumer by {name, node}, min 300 / max 2000, ${kind} events`, async () => {
      const p = await exProducer(5000, kind);
      const name = `p_${kind}_${tag}`;
      await ev(`Process.register(p, :"${name}")`, { p });
      const sink = new Sink<unknown>();
      const c = await startStage(ts, recorder(sink), undefined);
      await syncSubscribe(ts, c, { to: { name, node: E }, minDemand: 300, maxDemand: 2000 });
      await sink.waitFor(5000, 30_000);
      assert.equal(sink.events.length, 5000);
      assert.ok(sink.batches.every((b) => b <= 1700));
      const expected = (i: number): unknown =>
        kind === 'small' ? i % 200 : kind === 'big' ? BigInt(i) + 1_180_591_620_717_411_303_424n : kind === 'bin' ? `e${i}` : kind === 'tuple' ? tuple(atom('e'), i, i < 256 ? new Charlist(String.fromCharCode(i)) : [i]) : { i, s: 'x' };
      for (const i of [0, 1, 199, 200, 4999]) assert.deepEqual(sink.events[i], expected(i));
      noExcess();
    });
  }

  test('Beamline producer -> Elixir consumer, min 300 / max 2000, varied event types echoed back', async () => {
    const make = (i: number): unknown => [i % 200, BigInt(i) << 70n, `s${i}`, tuple(atom('t'), i), { k: i }][i % 5];
    const prod: StageBehavior<number, undefined, never, unknown> = {
      init: () => producer(0),
      handleDemand: (d, n) => {
        const end = Math.min(n + d, 5000);
        const out: unknown[] = [];
        for (let i = n; i < end; i++) out.push(make(i));
        return emit(out, end);
      },
    };
    const p = await startStage(ts, prod, undefined);
    const c = await exConsumer(p.pid, '[min_demand: 300, max_demand: 2000]');
    const got = await collect(c, 5000);
    assert.equal(got.length, 5000);
    for (const i of [0, 1, 2, 3, 4, 2500, 4999]) assert.deepEqual(got[i], make(i));
    noExcess();
  });

  test('an Elixir producer that emits one event per tick (events without demand are buffered)', async () => {
    const p = (await ev('{:ok, p} = GenStage.start(BT.Ticker, 50); p')) as Pid;
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    await syncSubscribe(ts, c, { to: p, maxDemand: 5, minDemand: 2 });
    await sink.waitFor(50);
    assert.deepEqual(sink.events, Array.from({ length: 50 }, (_, i) => i));
  });

  test('Elixir sync_subscribe on a Beamline consumer (the $subscribe call)', async () => {
    const p = await exProducer(1000);
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    const r = (await ev('GenStage.sync_subscribe(c, to: p, max_demand: 300)', { c: c.pid, p })) as Tuple;
    assert.equal(r.elements[0], atom('ok'));
    assert.ok(r.elements[1] instanceof Ref);
    await sink.waitFor(1000);
    const bad = (await ev('GenStage.sync_subscribe(c, to: p, max_demand: 0)', { c: c.pid, p })) as Tuple;
    assert.equal(bad.elements[0], atom('error'));
    assert.equal((bad.elements[1] as Tuple).elements[0], atom('bad_opts'));
  });

  test('Elixir -> Beamline producer-consumer -> Elixir', async () => {
    const p = await exProducer(20_000);
    const doubler: StageBehavior<null, undefined, number, number> = {
      init: () => producerConsumer(null),
      handleEvents: (events, _f, s) => emit(events.map((e) => e * 3), s),
    };
    const pc = await startStage(ts, doubler, undefined);
    const c = await exConsumer(pc.pid, '[max_demand: 400]');
    await syncSubscribe(ts, pc, { to: p, maxDemand: 700 });
    const got = await collect(c, 20_000);
    for (let i = 0; i < 20_000; i++) if (got[i] !== i * 3) assert.fail(`event ${i} is ${String(got[i])}`);
    noExcess();
  });

  test('Beamline -> Elixir producer-consumer -> Beamline', async () => {
    const p = await startStage(ts, counterProducer(20_000), 0);
    const pc = (await ev('{:ok, pc} = GenStage.start(BT.Doubler, subscribe_to: [{p, max_demand: 600}]); pc', { p: p.pid })) as Pid;
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    await syncSubscribe(ts, c, { to: pc, maxDemand: 300 });
    await sink.waitFor(20_000, 30_000);
    for (let i = 0; i < 20_000; i++) if (sink.events[i] !== i * 2) assert.fail(`event ${i} is ${sink.events[i]}`);
    noExcess();
  });

  const modes: readonly [CancelMode, string, boolean][] = [
    ['permanent', ':normal', true],
    ['transient', ':normal', false],
    ['transient', '{:shutdown, :x}', false],
    ['transient', ':oops', true],
    ['temporary', ':oops', false],
  ];
  for (const [mode, reason, exits] of modes) {
    test(`Elixir producer stops with ${reason}: Beamline consumer (${mode}) ${exits ? 'exits' : 'stays'}`, async () => {
      const p = await exProducer(10);
      const sink = new Sink<number>();
      const c = await startStage(ts, recorder(sink), undefined);
      await syncSubscribe(ts, c, { to: p, cancel: mode });
      await sink.waitFor(10);
      const exit = ts.waitExit(c.pid);
      await ev(`send(p, {:stop, ${reason}})`, { p });
      await sink.waitCancels(1);
      assert.equal(sink.cancels[0]?.kind, 'down');
      if (exits) assert.equal(String(await exit), String(sink.cancels[0]?.reason));
      else {
        await new Promise((r) => setImmediate(r));
        assert.ok(ts.isAlive(c.pid));
      }
    });

    test(`Beamline producer stops with ${reason}: Elixir consumer (${mode}) ${exits ? 'exits' : 'stays'}`, async () => {
      const p = await startStage(ts, counterProducer(10), 0);
      const c = await exConsumer(p.pid, `[cancel: :${mode}]`);
      await collect(c, 10);
      const r = (await ev(`Code.eval_string("${reason.replace(/"/g, '\\"')}") |> elem(0)`)) as unknown;
      await stopServer(ts, p, r);
      const cancelled = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('cancelled') && c.equals(m.elements[1]));
      assert.equal(cancelled.elements[2], atom('down'));
      if (exits) {
        const t = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('terminated') && c.equals(m.elements[1]));
        assert.equal(String(t.elements[2]), String(r));
      } else assert.ok(await exAlive(c));
    });
  }

  test('a Beamline consumer cancels with an atom reason; the Elixir producer confirms and lives', async () => {
    const p = await exProducer(1_000_000);
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    await syncSubscribe(ts, c, { to: p, cancel: 'temporary', maxDemand: 10 });
    await sink.waitFor(10);
    // cancel() is sent by the consumer's own process: a consumer that cancels on a message.
    const sink2 = new Sink<number>();
    const base = recorder(sink2);
    const selfCancel: StageBehavior<null, undefined, number, never> = {
      ...base,
      handleInfo: (m, s, ctx) => {
        if (m === atom('go')) cancel(ctx, sink2.subscriptions[0] as Subscription, atom('enough'));
        return noreply(s);
      },
    };
    const c2 = await startStage(ts, selfCancel, undefined);
    await syncSubscribe(ts, c2, { to: p, cancel: 'temporary', maxDemand: 10 });
    await sink2.waitFor(10);
    ts.send(c2.pid, atom('go'));
    await sink2.waitCancels(1);
    assert.deepEqual(sink2.cancels[0], { kind: 'cancel', reason: atom('enough') });
    assert.ok(await exAlive(p));
    const subs = (await ev('GenStage.call(p, :subs)', { p })) as unknown[];
    assert.equal(subs.length, 1, 'only the first consumer is left');
  });

  test('an Elixir consumer cancels a Beamline producer subscription; each side cancels the other', async () => {
    const consumers: Subscription[] = [];
    const prod: StageBehavior<number, number, never, number> = {
      ...counterProducer(),
      handleSubscribe: (_k, _o, from, s) => (consumers.push(from), { type: 'automatic', state: s }),
      handleInfo: (m, s, ctx) => {
        if (m === atom('kick')) cancelConsumer(ctx, consumers[consumers.length - 1] as Subscription, atom('kicked'));
        return noreply(s);
      },
      handleCancel: (info, _from, s) => {
        ts.send(inbox.pid, tuple(atom('producer_cancel'), atom(info.kind), info.reason));
        return noreply(s);
      },
    };
    const p = await startStage(ts, prod, 0);
    // Elixir consumer cancels (GenStage.cancel with the tag from sync_subscribe).
    const c = (await ev('{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, ref} = GenStage.sync_subscribe(c, to: p, cancel: :temporary, max_demand: 10); Process.put(:ref, ref); c', { sink: inbox.pid, p: p.pid })) as Pid;
    await collect(c, 10);
    await ev('GenStage.cancel({p, Process.get(:ref)}, :bye)', { p: p.pid });
    const pc1 = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('producer_cancel'));
    assert.deepEqual(pc1.elements.slice(1), [atom('cancel'), atom('bye')]);
    const cc1 = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('cancelled') && c.equals(m.elements[1]));
    assert.deepEqual(cc1.elements.slice(2), [atom('cancel'), atom('bye')]);
    // The Beamline producer cancels a (permanent) Elixir consumer: it exits with the reason.
    const c2 = await exConsumer(p.pid, '[max_demand: 10]');
    await collect(c2, 10);
    ts.send(p.pid, atom('kick'));
    const t = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('terminated') && c2.equals(m.elements[1]));
    assert.equal(t.elements[2], atom('kicked'));
    // The Elixir producer cancels a Beamline consumer.
    const ep = await exProducer(1_000_000);
    const sink = new Sink<number>();
    const bc = await startStage(ts, recorder(sink), undefined);
    const exit = ts.waitExit(bc.pid);
    await syncSubscribe(ts, bc, { to: ep, maxDemand: 10 });
    await sink.waitFor(10);
    await ev('send(p, {:kick, :go_away})', { p: ep });
    assert.equal(await exit, atom('go_away'));
    assert.deepEqual(sink.cancels[0], { kind: 'cancel', reason: atom('go_away') });
    assert.ok(await exAlive(ep));
  });

  test('crashes: Elixir producer crash stops a permanent Beamline consumer; a Beamline consumer crash leaves the Elixir producer running', async () => {
    const p = await exProducer(1_000_000);
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    const exit = ts.waitExit(c.pid);
    await syncSubscribe(ts, c, { to: p, maxDemand: 10 });
    await sink.waitFor(10);
    await ev('send(p, :raise)', { p });
    const reason = await exit;
    assert.ok(reason instanceof Tuple, String(reason));
    assert.equal(sink.cancels[0]?.kind, 'down');
    // A crashing Beamline consumer.
    const p2 = await exProducer(1_000_000);
    const crasher: StageBehavior<null, undefined, number, never> = {
      init: () => ({ type: 'consumer', state: null, options: {} }),
      handleEvents: () => {
        throw new Error('consumer crash');
      },
    };
    const c2 = await startStage(ts, crasher, undefined);
    const exit2 = ts.waitExit(c2.pid);
    await syncSubscribe(ts, c2, { to: p2, maxDemand: 10 });
    assert.ok((await exit2) instanceof Error);
    const subs = async (): Promise<number> => ((await ev('GenStage.call(p, :subs)', { p: p2 })) as unknown[]).length;
    for (let i = 0; i < 200 && (await subs()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await subs(), 0);
    assert.ok(await exAlive(p2));
  });

  test('crashes: Beamline producer crash stops a permanent Elixir consumer; an Elixir consumer crash leaves the Beamline producer running', async () => {
    const cancels: unknown[] = [];
    const prod: StageBehavior<number, number, never, unknown> = {
      ...(counterProducer() as unknown as StageBehavior<number, number, never, unknown>),
      handleInfo: (m, s) => {
        if (m === atom('crash')) throw new Error('producer crash');
        if (m === atom('poison')) return emit([atom('crash')], s);
        return noreply(s);
      },
      handleCancel: (info, _f, s) => (cancels.push(info), noreply(s)),
    };
    const p = await startStage(ts, prod, 0);
    const c = await exConsumer(p.pid, '[max_demand: 10]');
    await collect(c, 10);
    ts.send(p.pid, atom('crash'));
    const t = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('terminated') && c.equals(m.elements[1]));
    assert.ok(t.elements[2] !== normal);
    // An Elixir consumer that crashes on the event :crash.
    const p2 = await startStage(ts, { ...prod, handleDemand: (_d: number, s: number) => noreply(s) }, 0);
    const c2 = await exConsumer(p2.pid, '[max_demand: 10]');
    ts.send(p2.pid, atom('poison'));
    await eventually(() => cancels.length > 0, 10_000, 'producer saw the consumer go down');
    assert.equal((cancels[0] as { kind: string }).kind, 'down');
    assert.ok(ts.isAlive(p2.pid));
    assert.equal(await exAlive(c2), false);
  });

  test('resubscribe to an Elixir producer', async () => {
    const p = await exProducer(1_000_000);
    const sink = new Sink<number>();
    const c = await startStage(ts, recorder(sink), undefined);
    const t1 = await syncSubscribe(ts, c, { to: p, maxDemand: 10, cancel: 'temporary' });
    await sink.waitFor(10);
    await syncResubscribe(ts, c, t1, atom('again'), { to: p, maxDemand: 20 });
    await sink.waitCancels(1);
    assert.deepEqual(sink.cancels[0], { kind: 'cancel', reason: atom('again') });
    const n = sink.events.length;
    await sink.waitFor(n + 40);
    assert.equal(((await ev('GenStage.call(p, :subs)', { p })) as unknown[]).length, 1);
    // No event twice across the two subscriptions.
    assert.equal(new Set(sink.events).size, sink.events.length);
  });

  test('node killed (SIGKILL): consumers see noconnection; permanent and transient exit, temporary stays; producers carry on', async () => {
    const K = `gk${tag}@127.0.0.1`;
    const victim = await startElixirStageNode({ name: K, cookie: COOKIE, epmdPort, ebin: compiled.ebin });
    try {
      const evK = (code: string, binding: Record<string, unknown> = {}): Promise<unknown> => evalElixir(ts, K, code, binding);
      const results: { mode: CancelMode; sink: Sink<number>; pid: Pid; exit: Promise<unknown> }[] = [];
      for (const mode of ['permanent', 'transient', 'temporary'] as const) {
        const p = (await evK('{:ok, p} = GenStage.start(BT.Producer, {1_000_000, :int, []}); p')) as Pid;
        const sink = new Sink<number>();
        const c = await startStage(ts, recorder(sink), undefined);
        await syncSubscribe(ts, c, { to: p, cancel: mode, maxDemand: 10 });
        await sink.waitFor(10);
        results.push({ mode, sink, pid: c.pid, exit: ts.waitExit(c.pid) });
      }
      const cancels: unknown[] = [];
      const bp = await startStage(ts, { ...counterProducer(), handleCancel: (i, _f, s) => (cancels.push(i), noreply(s)) }, 0);
      const kc = (await evK('{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, to: p, max_demand: 10); c', { sink: inbox.pid, p: bp.pid })) as Pid;
      await inbox.waitFor((m) => m instanceof Tuple && m.elements[0] === atom('events') && kc.equals(m.elements[1]));
      victim.process.kill('SIGKILL');
      for (const r of results) {
        await r.sink.waitCancels(1, 30_000);
        assert.deepEqual(r.sink.cancels[0], { kind: 'down', reason: noconnection });
        if (r.mode === 'temporary') assert.ok(ts.isAlive(r.pid));
        else assert.equal(await r.exit, noconnection);
      }
      await eventually(() => cancels.length === 1, 30_000, 'producer saw its consumer go');
      assert.deepEqual(cancels[0], { kind: 'down', reason: noconnection });
      assert.ok(ts.isAlive(bp.pid));
    } finally {
      await victim.kill();
    }
  });

  describe('Broadcast and Partition dispatchers', () => {
    const N = 3000;
    const all = Array.from({ length: N }, (_, i) => i);

    test('Beamline broadcast producer with a selector -> Elixir consumers', async () => {
      const p = await startStage(
        ts,
        counterProducer(N, { demand: 'accumulate', dispatcher: broadcastDispatcher<number>({ selectors: { 'Elixir.BT.even?': (n) => n % 2 === 0 } }) }),
        0,
      );
      const cAll = await exConsumer(p.pid, '[max_demand: 100]');
      const cEven = (await ev('{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, to: to, max_demand: 300, selector: &BT.even?/1); c', { sink: inbox.pid, to: p.pid })) as Pid;
      // An Elixir closure cannot run here: that subscription is refused with a reason, the producer lives.
      const cBad = (await ev('{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, to: to, cancel: :temporary, selector: fn _ -> true end); c', { sink: inbox.pid, to: p.pid })) as Pid;
      const refused = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('cancelled') && cBad.equals(m.elements[1]));
      assert.equal(((refused.elements[3] as Tuple).elements[0]), atom('bad_opts'));
      setDemand(ts, p, 'forward');
      assert.deepEqual(await collect(cAll, N), all);
      assert.deepEqual(await collect(cEven, N / 2), all.filter((n) => n % 2 === 0));
      noExcess();
    });

    test('Elixir broadcast producer with a selector -> Beamline consumers', async () => {
      const p = await exProducer(N, 'int', '[dispatcher: GenStage.BroadcastDispatcher, demand: :accumulate]');
      const sAll = new Sink<number>();
      const sEven = new Sink<number>();
      const cAll = await startStage(ts, recorder(sAll), undefined);
      const cEven = await startStage(ts, recorder(sEven), undefined);
      await syncSubscribe(ts, cAll, { to: p, maxDemand: 100 });
      await syncSubscribe(ts, cEven, { to: p, maxDemand: 300, selector: remoteSelector('Elixir.BT', 'even?') });
      await ev('GenStage.demand(p, :forward)', { p });
      await sAll.waitFor(N);
      await sEven.waitFor(N / 2);
      assert.deepEqual(sAll.events, all);
      assert.deepEqual(sEven.events, all.filter((n) => n % 2 === 0));
      // A second subscription of the same process is refused with already_subscribed (and the consumer stays).
      await syncSubscribe(ts, cAll, { to: p });
      await sAll.waitCancels(1);
      assert.deepEqual(sAll.cancels[0], { kind: 'cancel', reason: atom('already_subscribed') });
      assert.ok(ts.isAlive(cAll.pid));
      noExcess();
    });

    // A discarded event uses up demand that no consumer sees again: in GenStage (and Beamline, alike) the
    // flow stalls once the discards exceed what the consumers leave pending (min demand). Discard 30 of 3000.
    test('Beamline partition producer (named partitions, a discarding hash) -> Elixir consumers', async () => {
      const hash = (n: number): unknown => (n % 100 === 0 ? null : atom(n % 2 === 0 ? 'even' : 'odd'));
      const p = await startStage(ts, counterProducer(N, { demand: 'accumulate', dispatcher: partitionDispatcher<number>({ partitions: [atom('odd'), atom('even')], hash }) }), 0);
      const cOdd = await exConsumer(p.pid, '[partition: :odd, max_demand: 50]');
      const cEven = await exConsumer(p.pid, '[partition: :even, max_demand: 70]');
      setDemand(ts, p, 'forward');
      const odd = all.filter((n) => n % 100 !== 0 && n % 2 === 1);
      const even = all.filter((n) => n % 100 !== 0 && n % 2 === 0);
      assert.deepEqual(await collect(cOdd, odd.length), odd);
      assert.deepEqual(await collect(cEven, even.length), even);
      noExcess();
    });

    test('Elixir partition producer (named partitions, a discarding hash) -> Beamline consumers', async () => {
      const p = await exProducer(N, 'int', '[dispatcher: {GenStage.PartitionDispatcher, partitions: [:odd, :even], hash: &BT.parity/1}, demand: :accumulate]');
      const sOdd = new Sink<number>();
      const sEven = new Sink<number>();
      const cOdd = await startStage(ts, recorder(sOdd), undefined);
      const cEven = await startStage(ts, recorder(sEven), undefined);
      await syncSubscribe(ts, cOdd, { to: p, partition: atom('odd'), maxDemand: 50 });
      await syncSubscribe(ts, cEven, { to: p, partition: atom('even'), maxDemand: 70 });
      await ev('GenStage.demand(p, :forward)', { p });
      const odd = all.filter((n) => n % 100 !== 0 && n % 2 === 1);
      const even = all.filter((n) => n % 100 !== 0 && n % 2 === 0);
      await sOdd.waitFor(odd.length);
      await sEven.waitFor(even.length);
      assert.deepEqual(sOdd.events, odd);
      assert.deepEqual(sEven.events, even);
      noExcess();
    });
  });

  test('an Elixir consumer subscribes to a Beamline producer by {name, node}; a Beamline stream reads an Elixir producer', async () => {
    await startStage(ts, counterProducer(2000), 0, { name: `bp${tag}` });
    const c = (await ev(`{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, to: {:"bp${tag}", :"ts${tag}@127.0.0.1"}, max_demand: 300); c`, { sink: inbox.pid })) as Pid;
    const got = await collect(c, 2000);
    assert.deepEqual(got, Array.from({ length: 2000 }, (_, i) => i));
    const p = await exProducer(777);
    const streamed: number[] = [];
    for await (const n of stageStream<number>(ts, [{ to: p, maxDemand: 100 }])) {
      streamed.push(n);
      if (streamed.length === 777) break; // cancels the subscription on the Elixir producer
    }
    assert.deepEqual(streamed, Array.from({ length: 777 }, (_, i) => i));
    const subs = async (): Promise<number> => ((await ev('GenStage.call(p, :subs)', { p })) as unknown[]).length;
    for (let i = 0; i < 500 && (await subs()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await subs(), 0);
  });

  test('a ConsumerSupervisor on an Elixir producer: a child per event, bounded by maxDemand', async () => {
    const p = await exProducer(200);
    const done: number[] = [];
    let alive = 0;
    let peak = 0;
    const sup = await startConsumerSupervisor<number>(ts, {
      start: (e, ctx) => {
        alive++;
        peak = Math.max(peak, alive);
        return ctx.spawnLink({
          init: (proc) => {
            setImmediate(() => proc.send(proc.self, atom('go')));
          },
          handleMessage: (_m, proc) => {
            done.push(e);
            alive--;
            proc.exit(normal);
          },
        });
      },
      subscribeTo: [{ to: p, maxDemand: 8 }],
    });
    await eventually(() => done.length === 200, 30_000, 'all jobs');
    assert.deepEqual([...done].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
    assert.ok(peak <= 8, `peak ${peak}`);
    assert.ok(ts.isAlive(sup.pid));
    noExcess();
  });

  test('a Beamline node killed (SIGKILL) under Elixir consumers: permanent and transient exit with noconnection, temporary stays', async () => {
    const peerName = `bk${tag}@127.0.0.1`;
    const script = fileURLToPath(new URL('../../test/stage-peer.js', import.meta.url));
    const child = spawn(process.execPath, [script, peerName, COOKIE, String(epmdPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (b: Buffer) => (b.toString().includes('READY') ? resolve() : undefined));
        child.once('exit', () => reject(new Error('peer exited')));
      });
      const consumers: [CancelMode, Pid][] = [];
      for (const mode of ['permanent', 'transient', 'temporary'] as const) {
        const c = (await ev(`{:ok, c} = GenStage.start(BT.Consumer, {sink, []}); {:ok, _} = GenStage.sync_subscribe(c, to: {:peer_producer, :"${peerName}"}, cancel: :${mode}, max_demand: 10); c`, { sink: inbox.pid })) as Pid;
        await inbox.waitFor((m) => m instanceof Tuple && m.elements[0] === atom('events') && c.equals(m.elements[1]));
        consumers.push([mode, c]);
      }
      child.kill('SIGKILL');
      for (const [mode, c] of consumers) {
        const cancelled = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('cancelled') && c.equals(m.elements[1]), 'cancel', 30_000);
        assert.deepEqual(cancelled.elements.slice(2), [atom('down'), noconnection]);
        if (mode === 'temporary') assert.ok(await exAlive(c));
        else {
          const t = await inbox.waitFor<Tuple>((m) => m instanceof Tuple && m.elements[0] === atom('terminated') && c.equals(m.elements[1]));
          assert.equal(t.elements[2], noconnection);
        }
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  test("Elixir's ConsumerSupervisor on a Beamline producer: a child per event, never more than asked", async () => {
    const p = await startStage(ts, counterProducer(300), 0);
    await ev('{:ok, _} = BT.Jobs.start(sink, p)', { sink: inbox.pid, p: p.pid });
    const seen: number[] = [];
    while (seen.length < 300) {
      const m = await inbox.waitFor<Tuple>((x) => x instanceof Tuple && x.elements[0] === atom('job'), `job ${seen.length}`);
      seen.push(m.elements[2] as number);
    }
    assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i));
    noExcess();
  });
});
