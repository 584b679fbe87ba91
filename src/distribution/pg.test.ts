/**
 * `pg` scopes: between Beamline nodes, and against real OTP 25 `pg` on erl
 * nodes (membership both ways, cleanup on exit, on leave and on SIGKILL of
 * a Beamline node) and a Phoenix.PubSub-style broadcast with an Elixir node.
 * Interop parts skip with a one-line reason when erl is missing (fail with CI=true).
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Node } from '../core/node.js';
import { atom, Pid, tuple, Tuple } from '../terms/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { PgError, pgDemonitor, pgJoin, pgLeave, pgLocalMembers, pgMembers, pgMonitor, pgMonitorScope, pgWhichGroups, startPgScope } from './pg.js';
import { elixirSkipReason, erlAtom, erlCall, erlSkipReason, startElixir, startErl, startProgram, type ErlNode } from '../../test/erl.js';
import { eventually, eventuallyAsync, Probe, freePort } from '../../test/support.js';

const COOKIE = 'pgcookie';
const quiet = { logger: () => {}, shutdownTimeout: 200 };

describe('pg between Beamline nodes', () => {
  let epmdPort = 0;
  const tag = randomInt(1e6);
  let a: Node;
  let b: Node;
  before(async () => {
    epmdPort = await freePort();
    a = await startNode({ name: `pga${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, published: true, node: quiet });
    b = await startNode({ name: `pgb${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, published: true, node: quiet });
    startPgScope(a);
    startPgScope(b);
    startPgScope(a, 'other');
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('joins, sees remote members after connecting, leaves and cleans up on exit', async () => {
    const wa = a.spawn({ handleMessage() {} });
    await pgJoin(a, atom('g'), [wa, wa]);
    assert.equal(pgLocalMembers(a, atom('g')).length, 2);
    assert.ok(distributionOf(b).ensureConnected(a.name));
    await eventually(() => pgMembers(b, atom('g')).length === 2, 10_000, 'b sees a\'s members');
    assert.ok(pgMembers(b, atom('g')).every((p) => p.equals(wa)));
    assert.deepEqual(pgLocalMembers(b, atom('g')), []);
    // the scope `other` exists on a only: nothing leaks into it
    assert.deepEqual(pgWhichGroups(a, 'other'), []);

    const wb = b.spawn({ handleMessage() {} });
    await pgJoin(b, tuple(atom('room'), 1), wb);
    await eventually(() => pgMembers(a, tuple(atom('room'), 1)).length === 1, 10_000, 'a sees b\'s member under a tuple group');

    assert.equal(await pgLeave(a, atom('g'), wa), 'ok');
    await eventually(() => pgMembers(b, atom('g')).length === 1, 10_000, 'one leave crosses');
    assert.equal(await pgLeave(a, atom('nope'), wa), 'not_joined');

    a.exit(wa, 'kill');
    await eventually(() => pgMembers(b, atom('g')).length === 0, 10_000, 'exit cleans remote view');
    assert.deepEqual(pgWhichGroups(b).filter((g) => g === atom('g')), []);

    b.exit(wb, 'shutdown');
    await eventually(() => pgMembers(a, tuple(atom('room'), 1)).length === 0, 10_000, 'exit on b cleans a');
  });

  it('reports membership changes to pg:monitor subscribers', async () => {
    const watcher = new Probe(a);
    await eventually(() => watcher.proc !== undefined, 5000, 'probe started');
    const sub = await pgMonitor(watcher.proc, atom('watched'));
    assert.deepEqual(sub.members, []);
    const w = b.spawn({ handleMessage() {} });
    await pgJoin(b, atom('watched'), w);
    const m = (await watcher.next()) as Tuple;
    assert.ok(sub.ref.equals(m.elements[0]));
    assert.equal(m.elements[1], atom('join'));
    assert.ok((m.elements[3] as Pid[])[0]?.equals(w));
    b.exit(w, 'kill');
    const m2 = (await watcher.next()) as Tuple;
    assert.equal(m2.elements[1], atom('leave'));
    assert.equal(await pgDemonitor(watcher.proc, sub.ref), true);
    assert.equal(await pgDemonitor(watcher.proc, sub.ref), false);
    // the whole scope
    const all = await pgMonitorScope(watcher.proc);
    const w2 = a.spawn({ handleMessage() {} });
    await pgJoin(a, atom('any_group'), w2);
    const m3 = (await watcher.next()) as Tuple;
    assert.ok(all.ref.equals(m3.elements[0]));
    assert.deepEqual([m3.elements[1], m3.elements[2]], [atom('join'), atom('any_group')]);
    assert.equal(await pgDemonitor(watcher.proc, all.ref), true);
  });

  it('rejects remote pids, unknown scopes and a taken scope name with PgError', async () => {
    const remote = new Pid(b.name, 1, 0, b.creation);
    await assert.rejects(pgJoin(a, atom('g'), remote), (e: unknown) => e instanceof PgError && e.reason === 'nolocal');
    await assert.rejects(pgJoin(a, atom('g'), a.spawn({ handleMessage() {} }), 'missing'), (e: unknown) => e instanceof PgError && e.reason === 'noscope');
    assert.throws(() => startPgScope(a), (e: unknown) => e instanceof PgError);
    assert.deepEqual(pgMembers(a, atom('g'), 'missing'), []);
  });

  it('survives malformed pg messages from the network', async () => {
    const scope = a.whereis('pg');
    assert.ok(scope !== undefined);
    for (const bad of [atom('x'), tuple(atom('join'), 1, 2, 3), tuple(atom('leave'), a.spawn({ handleMessage() {} }), 1, 2), tuple(atom('$gen_cast'), tuple(atom('sync'), 1, 2)), tuple(atom('discover'), 'notapid'), tuple(atom('DOWN'), 1, 2, 3, 4), tuple(atom('$gen_call'), tuple(1, 2), tuple(atom('monitor')))]) {
      b.send(tuple(atom('pg'), a.name), bad);
    }
    const w = a.spawn({ handleMessage() {} });
    await pgJoin(a, atom('after_bad'), w);
    assert.ok(a.isAlive(scope));
    await eventually(() => pgMembers(b, atom('after_bad')).length === 1, 10_000, 'scope still works');
  });
});

describe('pg with real OTP 25 nodes', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `pgts${tag}@127.0.0.1`;
  const E = `pge${tag}@127.0.0.1`;
  let ts: Node;
  let erl: ErlNode;
  const others: ErlNode[] = [];
  const call = (expr: string, node = E): Promise<{ code: number; out: string }> => erlCall({ node, cookie: COOKIE, epmdPort, expr });

  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, published: true, node: quiet });
    startPgScope(ts);
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval: `{ok, _} = pg:start(pg), M = spawn(fun() -> receive stop -> ok end end), register(erl_member, M), ok = pg:join(erl_group, M), io:format("ready~n").`,
    });
    await erl.waitForOutput(/ready/);
    assert.ok(distributionOf(ts).ensureConnected(atom(E)));
  });
  after(async () => {
    for (const o of others) await o.kill();
    await erl?.kill();
    await ts?.stop();
  });

  it('Beamline sees Erlang members and Erlang sees Beamline members', async () => {
    await eventually(() => pgMembers(ts, atom('erl_group')).length === 1, 15_000, 'erl member visible');
    assert.equal(pgMembers(ts, atom('erl_group'))[0]?.node, atom(E));
    const w = ts.spawn({ handleMessage() {} });
    await pgJoin(ts, atom('ts_group'), w);
    const r = await eventuallyAsync(() => call(`[node(P) || P <- pg:get_members(ts_group)].`), (x) => x.out.includes(TS), 15_000, 'erl sees ts member');
    assert.equal(r.out, `{ok,[${erlAtom(TS)}]}`);
    // a message to the member found through pg reaches it
    const probe = new Probe(ts);
    await pgJoin(ts, atom('ts_probe'), probe.pid);
    await eventuallyAsync(() => call(`[P ! {hello, node()} || P <- pg:get_members(ts_probe)], length(pg:get_members(ts_probe)).`), (x) => x.out === '{ok,1}');
    const m = (await probe.next()) as Tuple;
    assert.equal(m.elements[0], atom('hello'));
  });

  it('cleans Erlang\'s view when a Beamline member exits or leaves, and Beamline\'s when an Erlang member exits', async () => {
    const w = ts.spawn({ handleMessage() {} });
    const w2 = ts.spawn({ handleMessage() {} });
    await pgJoin(ts, atom('exit_group'), [w, w2]);
    await eventuallyAsync(() => call('length(pg:get_members(exit_group)).'), (x) => x.out === '{ok,2}');
    ts.exit(w, 'kill');
    await eventuallyAsync(() => call('length(pg:get_members(exit_group)).'), (x) => x.out === '{ok,1}', 15_000, 'exit seen by erl');
    assert.equal(await pgLeave(ts, atom('exit_group'), w2), 'ok');
    await eventuallyAsync(() => call('length(pg:get_members(exit_group)).'), (x) => x.out === '{ok,0}', 15_000, 'leave seen by erl');

    assert.equal((await call('exit(whereis(erl_member), kill).')).out, '{ok,true}');
    await eventually(() => pgMembers(ts, atom('erl_group')).length === 0, 15_000, 'erl member exit seen by ts');
  });

  it('cleans Erlang\'s view when the Beamline node is SIGKILLed', async () => {
    const M = `pgkill${tag}@127.0.0.1`;
    const script = fileURLToPath(new URL('../../test/cluster-member.js', import.meta.url));
    const member = startProgram(process.execPath, [script], M, epmdPort, {
      BEAMLINE_MEMBER: JSON.stringify({ name: M, cookie: COOKIE, epmdPort, pgGroup: 'kill_group', connect: E }),
    });
    others.push(member);
    await member.waitForOutput(/ready/);
    await eventuallyAsync(() => call('[node(P) || P <- pg:get_members(kill_group)].'), (x) => x.out.includes(M), 15_000, 'erl sees the member');
    member.process.kill('SIGKILL');
    await member.exited;
    await eventuallyAsync(() => call('pg:get_members(kill_group).'), (x) => x.out === '{ok,[]}', 15_000, 'erl drops the killed node\'s members');
  });
});

describe('Phoenix.PubSub-style broadcast over pg with Elixir', { skip: elixirSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `pubts${tag}@127.0.0.1`;
  const EX = `pubex${tag}@127.0.0.1`;
  let ts: Node;
  let ex: ErlNode;
  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, published: true, node: quiet });
    startPgScope(ts, 'my_pubsub');
    // Phoenix.PubSub's PG adapter: one pg scope per PubSub, members joined to a topic group,
    // a broadcast sends to every member. Here the Elixir side subscribes and broadcasts.
    const script = `
      {:ok, _} = :pg.start(:my_pubsub)
      sub = spawn(fn -> loop = fn loop -> receive do msg -> IO.puts("GOT #{inspect(msg)}"); loop.(loop) end end; loop.(loop) end)
      :ok = :pg.join(:my_pubsub, "room:lobby", sub)
      IO.puts("ready")
      Enum.reduce_while(Stream.repeatedly(fn -> :ok end), nil, fn _, _ ->
        members = :pg.get_members(:my_pubsub, "room:lobby")
        if Enum.any?(members, &(node(&1) != node())) do
          for pid <- members, do: send(pid, {:broadcast, "room:lobby", "hello from elixir"})
          IO.puts("broadcast")
          {:halt, nil}
        else
          Process.sleep(20); {:cont, nil}
        end
      end)
      Process.sleep(:infinity)
    `;
    ex = startElixir({ name: EX, cookie: COOKIE, epmdPort, script });
    await ex.waitForOutput(/ready/, 60_000);
  });
  after(async () => {
    await ex?.kill();
    await ts?.stop();
  });

  it('delivers broadcasts both ways between an Elixir node and a Beamline node', async () => {
    const sub = new Probe(ts);
    await pgJoin(ts, 'room:lobby', sub.pid, 'my_pubsub');
    assert.ok(distributionOf(ts).ensureConnected(atom(EX)));
    const got = (await sub.next(30_000)) as Tuple;
    assert.deepEqual(got.elements, [atom('broadcast'), 'room:lobby', 'hello from elixir']);
    await eventually(() => pgMembers(ts, 'room:lobby', 'my_pubsub').some((p) => p.node === atom(EX)), 15_000, 'elixir subscriber visible');
    for (const pid of pgMembers(ts, 'room:lobby', 'my_pubsub')) ts.send(pid, tuple(atom('broadcast'), 'room:lobby', 'hello from beamline'));
    await ex.waitForOutput(/GOT \{:broadcast, "room:lobby", "hello from beamline"\}/, 15_000);
  });
});
