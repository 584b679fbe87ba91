/**
 * `global`: between Beamline nodes, and a published Beamline node in a
 * 3-node cluster with two real OTP 25 nodes (`global:sync()` returns within
 * 1 s, names registered on either side resolve on the other, an owner's
 * exit releases its name everywhere, a conflict is resolved when partitions
 * meet). Interop parts skip with a one-line reason when erl is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Node } from '../core/node.js';
import type { ProcessHandler } from '../core/process.js';
import { atom, Pid, tuple, Tuple, type Atom } from '../terms/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { GlobalError, globalReRegister, globalRegister, globalRegisteredNames, globalSend, globalServerRef, globalSync, globalUnregister, globalWhereis, startGlobal } from './global.js';
import { comparePids, theBoss } from './global-locker.js';
import { elixirSkipReason, erlAtom, erlCall, erlSkipReason, startElixir, startErl, startProgram, type ErlNode } from '../../test/erl.js';
import { eventually, eventuallyAsync, Probe, freePort } from '../../test/support.js';

const COOKIE = 'globalcookie';
const quiet = { logger: () => {}, shutdownTimeout: 200 };

/** A process answering `{'$gen_call', From, Req}` with `{echo, Req}`. */
const echo: ProcessHandler = {
  handleMessage(msg, proc) {
    if (msg instanceof Tuple && msg.elements[0] === atom('$gen_call')) proc.reply(msg.elements[1] as Tuple<[Pid, unknown]>, tuple(atom('echo'), msg.elements[2]));
  },
};

describe('global helpers', () => {
  it('orders pids as Erlang does (serial, number, node, creation) and picks the greatest node as boss', () => {
    // measured with erl: lists:sort/1 on NEW_PID_EXT pids
    const p = (node: string, id: number, serial: number, creation: number): Pid => new Pid(atom(node), id, serial, creation);
    assert.ok(comparePids(p('zzz@h', 1, 0, 1), p('aaa@h', 1000000, 0, 1)) < 0, 'number before node');
    assert.ok(comparePids(p('aaa@h', 1, 0, 1), p('zzz@h', 1, 0, 1)) < 0, 'node breaks a tie');
    assert.ok(comparePids(p('aaa@h', 1, 0, 1), p('aaa@h', 1, 0, 5)) < 0, 'then creation');
    assert.ok(comparePids(p('zzz@h', 2, 0, 1), p('aaa@h', 1, 1, 1)) < 0, 'serial first');
    assert.equal(comparePids(p('a@h', 7, 0, 1), p('a@h', 7, 0, 1)), 0);
    assert.equal(theBoss([atom('a@h'), atom('c@h'), atom('b@h')]), atom('c@h'));
  });
});

describe('global between Beamline nodes', () => {
  let epmdPort = 0;
  const tag = randomInt(1e6);
  let a: Node;
  let b: Node;
  before(async () => {
    epmdPort = await freePort();
    a = await startNode({ name: `gla${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: quiet });
    b = await startNode({ name: `glb${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: quiet });
    assert.ok(distributionOf(a).ensureConnected(b.name));
    await eventually(() => distributionOf(a).nodes().includes(b.name) && distributionOf(b).nodes().includes(a.name), 10_000, 'connected');
    await globalSync(a, 15_000);
    await globalSync(b, 15_000);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('registers on one node and resolves on the other; exit releases it everywhere', async () => {
    const p = a.spawn(echo);
    assert.equal(await globalRegister(a, atom('svc'), p), 'yes');
    assert.ok(globalWhereis(a, atom('svc'))?.equals(p));
    assert.ok(globalWhereis(b, atom('svc'))?.equals(p), 'registered on every node before register returns');
    assert.deepEqual(await b.call(globalWhereis(b, atom('svc')) as Pid, 'hi'), tuple(atom('echo'), 'hi'));
    assert.equal(await globalRegister(b, atom('svc'), b.spawn(echo)), 'no', 'a taken name');
    assert.equal(await globalRegister(a, atom('svc2'), p), 'no', 'a pid has one global name');
    a.exit(p, 'kill');
    await eventually(() => globalWhereis(b, atom('svc')) === undefined, 10_000, 'released on b');
    assert.equal(globalWhereis(a, atom('svc')), undefined);
  });

  it('re-registers a taken name everywhere and gives typed references', async () => {
    type Echo = { call: [string, Tuple<[Atom<'echo'>, string]>] };
    const first = a.spawn(echo);
    const second = b.spawn(echo);
    assert.equal(await globalRegister(a, atom('moving'), first), 'yes');
    assert.equal(await globalReRegister(b, atom('moving'), second), 'yes');
    assert.ok(globalWhereis(a, atom('moving'))?.equals(second));
    const ref = globalServerRef<Echo>(a, atom('moving'));
    assert.ok(ref !== undefined);
    const r: Tuple<[Atom<'echo'>, string]> = await a.call(ref, 'typed');
    assert.deepEqual(r, tuple(atom('echo'), 'typed'));
    // Type tests: tsc fails the build if either line compiles. Never run.
    const typeOnly = async (): Promise<void> => {
      // @ts-expect-error a number is not a request of Echo
      await a.call(ref, 42);
      // @ts-expect-error the reply to a string request is a tuple, not a number
      const wrong: number = await a.call(ref, 'x');
      void wrong;
    };
    void typeOnly;
    assert.equal(globalServerRef(a, atom('nobody')), undefined);
  });

  it('survives malformed global messages from the network', async () => {
    const bad = [
      atom('junk'),
      tuple(atom('$gen_cast'), atom('junk')),
      tuple(atom('$gen_cast'), tuple(atom('init_connect'), 1, 2, 3)),
      tuple(atom('$gen_cast'), tuple(atom('exchange'), b.name, 'notalist', [], 1)),
      tuple(atom('$gen_cast'), tuple(atom('resolved'), b.name, 1, 2, 3, 4, 5)),
      tuple(atom('$gen_cast'), tuple(atom('new_nodes'), b.name, 'x', [], 'y', [])),
      tuple(atom('$gen_cast'), tuple(atom('lock_set'), 1, true, [], 1)),
      tuple(atom('$gen_call'), tuple(b.spawn(echo), atom('t')), tuple(atom('set_lock'), 'notatuple')),
      tuple(atom('init_connect_ack'), 1, 2),
      tuple(atom('cancel_connect'), b.name, 99),
      tuple(atom('DOWN'), 1, 2, 3, 4),
    ];
    for (const m of bad) b.send(tuple(atom('global_name_server'), a.name), m);
    const p = a.spawn(echo);
    assert.equal(await globalRegister(b, atom('after_bad'), p), 'yes');
    assert.ok(globalWhereis(a, atom('after_bad'))?.equals(p));
    assert.equal(await a.call(atom('global_name_server'), atom('get_protocol_version')), 8);
  });

  it('is not started on hidden nodes unless asked, and says so', async () => {
    const h = await startNode({ name: `glh${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, published: false, node: quiet });
    try {
      assert.equal(h.whereis('global_name_server'), undefined);
      assert.equal(globalWhereis(h, atom('svc')), undefined);
      await assert.rejects(globalRegister(h, atom('x'), h.spawn(echo)), (e: unknown) => e instanceof GlobalError && e.reason === 'not_started');
    } finally {
      await h.stop();
    }
  });

  it('unregisters everywhere, sends by name and rejects bad input', async () => {
    const q = b.spawn(echo);
    assert.equal(await globalRegister(b, tuple(atom('tuple'), 'name'), q), 'yes');
    assert.ok(globalWhereis(a, tuple(atom('tuple'), 'name'))?.equals(q));
    assert.ok(globalRegisteredNames(a).length >= 1);
    const probe = new Probe(a);
    globalSend(a, tuple(atom('tuple'), 'name'), tuple(atom('$gen_call'), tuple(probe.pid, atom('t')), 1));
    assert.deepEqual(await probe.next(), tuple(atom('t'), tuple(atom('echo'), 1)));
    await globalUnregister(a, tuple(atom('tuple'), 'name'));
    assert.equal(globalWhereis(b, tuple(atom('tuple'), 'name')), undefined);
    assert.throws(() => globalSend(a, atom('missing'), 1), (e: unknown) => e instanceof GlobalError && e.reason === 'badarg');
    await assert.rejects(globalRegister(a, atom('x'), 'nopid' as unknown as Pid), (e: unknown) => e instanceof GlobalError);
    assert.throws(() => startGlobal(a), (e: unknown) => e instanceof GlobalError);
  });
});

describe('global in a cluster with real OTP 25 nodes', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `glts${tag}@127.0.0.1`;
  const A = `gla${tag}@127.0.0.1`;
  const B = `glb${tag}@127.0.0.1`;
  let ts: Node;
  const erls: ErlNode[] = [];
  const call = (node: string, expr: string): Promise<{ code: number; out: string }> => erlCall({ node, cookie: COOKIE, epmdPort, expr });
  const ECHO = `Echo = fun Loop() -> receive {'$gen_call', From, Req} -> gen:reply(From, {echo, Req}), Loop() end end`;

  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: quiet });
    const a = startErl({ name: A, cookie: COOKIE, epmdPort, eval: `${ECHO}, P = spawn(Echo), register(erl_srv_local, P), yes = global:register_name(erl_srv, P), io:format("ready~n").` });
    erls.push(a);
    await a.waitForOutput(/ready/);
    const b = startErl({ name: B, cookie: COOKIE, epmdPort, eval: `pong = net_adm:ping(${erlAtom(A)}), ok = global:sync(), io:format("ready~n").` });
    erls.push(b);
    await b.waitForOutput(/ready/);
  });
  after(async () => {
    for (const e of erls) await e.kill();
    await ts?.stop();
  });

  // global:sync() returns at all only when this node takes part in global's protocol (it blocks otherwise);
  // how fast it returns is not asserted (a wall-time bound is a flake on a loaded machine).
  it('joins the cluster: global:sync() returns on both Erlang nodes, and the mesh connects through global', async () => {
    assert.ok(distributionOf(ts).ensureConnected(atom(A)));
    await eventually(() => distributionOf(ts).nodes('visible').includes(atom(A)), 10_000, 'connected to a');
    const ra = await call(A, `{T, ok} = timer:tc(global, sync, []), T div 1000.`);
    const ms = Number(/\{ok,(\d+)\}/.exec(ra.out)?.[1] ?? 'NaN');
    assert.ok(Number.isInteger(ms), `global:sync() on a returned ok (${ra.out})`);
    const rb = await call(B, `{T, ok} = timer:tc(global, sync, []), T div 1000.`);
    const msb = Number(/\{ok,(\d+)\}/.exec(rb.out)?.[1] ?? 'NaN');
    assert.ok(Number.isInteger(msb), `global:sync() on b returned ok (${rb.out})`);
    // global connected b to the Beamline node (transitive connect) and everyone sees everyone
    await eventuallyAsync(() => call(B, 'lists:sort(nodes()).'), (r) => r.out.includes(TS), 10_000, 'b connected to ts');
    await globalSync(ts, 10_000);
    assert.deepEqual(distributionOf(ts).nodes('visible').map((n) => n.name).sort(), [A, B].sort());
  });

  it('Erlang names resolve on Beamline, and a call through them works', async () => {
    await eventually(() => globalWhereis(ts, atom('erl_srv')) !== undefined, 10_000, 'erl_srv known');
    const pid = globalWhereis(ts, atom('erl_srv')) as Pid;
    assert.equal(pid.node, atom(A));
    assert.deepEqual(await ts.call(pid, 'hello'), tuple(atom('echo'), 'hello'));
    // a name registered on b after the join also arrives
    assert.equal((await call(B, `${ECHO}, yes = global:register_name(late_srv, spawn(Echo)).`)).out, '{ok,yes}');
    await eventually(() => globalWhereis(ts, atom('late_srv'))?.node === atom(B), 10_000, 'late_srv known');
  });

  it('Beamline names resolve on Erlang: global:whereis_name and gen_server:call({global, Name}, ...)', async () => {
    const p = ts.spawn(echo);
    assert.equal(await globalRegister(ts, atom('ts_srv'), p), 'yes');
    assert.equal((await call(A, `node(global:whereis_name(ts_srv)).`)).out, `{ok,${erlAtom(TS)}}`);
    assert.equal((await call(B, `gen_server:call({global, ts_srv}, ping).`)).out, '{ok,{echo,ping}}');
    // an Erlang registration of a taken name is refused
    assert.equal((await call(B, `global:register_name(ts_srv, self()).`)).out, '{ok,no}');
    // the owner going down releases the name on every node
    ts.exit(p, 'kill');
    await eventuallyAsync(() => call(A, 'global:whereis_name(ts_srv).'), (r) => r.out === '{ok,undefined}', 10_000, 'released on a');
    assert.equal((await call(B, 'global:whereis_name(ts_srv).')).out, '{ok,undefined}');
    // and an Erlang owner going down releases it on Beamline
    assert.equal((await call(A, `exit(whereis(erl_srv_local), kill).`)).out, '{ok,true}');
    await eventually(() => globalWhereis(ts, atom('erl_srv')) === undefined, 10_000, 'erl_srv released on ts');
    // Erlang registers a name from Beamline's registry view and Beamline unregisters it
    const q = ts.spawn(echo);
    assert.equal(await globalRegister(ts, atom('ts_srv2'), q), 'yes');
    await globalUnregister(ts, atom('ts_srv2'));
    assert.equal((await call(A, 'global:whereis_name(ts_srv2).')).out, '{ok,undefined}');
  });

  it('a SIGKILLed Beamline node\'s global names are released on the Erlang nodes', async () => {
    const M = `glkill${tag}@127.0.0.1`;
    const script = fileURLToPath(new URL('../../test/cluster-member.js', import.meta.url));
    const member = startProgram(process.execPath, [script], M, epmdPort, {
      BEAMLINE_MEMBER: JSON.stringify({ name: M, cookie: COOKIE, epmdPort, connect: A, globalName: 'killed_srv' }),
    });
    erls.push(member);
    await member.waitForOutput(/ready/);
    assert.equal((await call(B, 'node(global:whereis_name(killed_srv)).')).out, `{ok,${erlAtom(M)}}`);
    await eventually(() => globalWhereis(ts, atom('killed_srv'))?.node === atom(M), 10_000, 'ts sees it too');
    member.process.kill('SIGKILL');
    await member.exited;
    await eventuallyAsync(() => call(A, 'global:whereis_name(killed_srv).'), (r) => r.out === '{ok,undefined}', 15_000, 'released on a');
    await eventuallyAsync(() => call(B, 'global:whereis_name(killed_srv).'), (r) => r.out === '{ok,undefined}', 15_000, 'released on b');
    await eventually(() => globalWhereis(ts, atom('killed_srv')) === undefined, 15_000, 'released on ts');
  });

  it('honours overlapping-partition prevention: a lost link isolates the Beamline node, which then rejoins', async () => {
    await globalSync(ts, 10_000);
    assert.deepEqual(distributionOf(ts).nodes().map((n) => n.name).sort(), [A, B].sort());
    // b drops its link to ts: b tells a (lost_connection), a asks ts to disconnect (remove_connection)
    assert.equal((await call(B, `erlang:disconnect_node(${erlAtom(TS)}).`)).out, '{ok,true}');
    await eventually(() => distributionOf(ts).nodes().length === 0, 10_000, 'ts isolated');
    // reconnecting heals the cluster: global syncs again and names resolve again
    assert.ok(distributionOf(ts).ensureConnected(atom(A)));
    await eventually(() => distributionOf(ts).nodes().includes(atom(A)), 10_000, 'reconnected to a');
    const r = await call(A, `{T, ok} = timer:tc(global, sync, []), T div 1000.`);
    assert.ok(Number(/\{ok,(\d+)\}/.exec(r.out)?.[1] ?? 'NaN') < 1000, r.out);
    await eventuallyAsync(() => call(B, 'lists:member(' + erlAtom(TS) + ', nodes()).'), (x) => x.out === '{ok,true}', 10_000, 'b reconnected through global');
    await eventually(() => globalWhereis(ts, atom('late_srv'))?.node === atom(B), 10_000, 'names known again');
  });
});

describe('global name conflicts when partitions meet, with OTP 25', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const erls: ErlNode[] = [];
  const nodes: Node[] = [];
  const call = (node: string, expr: string): Promise<{ code: number; out: string }> => erlCall({ node, cookie: COOKIE, epmdPort, expr });
  before(async () => {
    epmdPort = await freePort();
  });
  after(async () => {
    for (const e of erls) await e.kill();
    for (const n of nodes) await n.stop();
  });

  // random_exit_name (the default method) keeps the pid on the node with the smaller name and kills the other.
  for (const [tsFirst, label] of [[true, 'Beamline resolves (its name is smaller)'], [false, 'Erlang resolves (its name is smaller)']] as const) {
    it(`${label}: one owner is killed and every node agrees on the other`, async () => {
      const TS = `${tsFirst ? 'gca' : 'gcz'}${tag}@127.0.0.1`;
      const E = `${tsFirst ? 'gcb' : 'gcy'}${tag}@127.0.0.1`;
      const ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: quiet });
      nodes.push(ts);
      const mine = ts.spawn(echo);
      assert.equal(await globalRegister(ts, atom('dup'), mine), 'yes');
      const e = startErl({ name: E, cookie: COOKIE, epmdPort, eval: `Echo = fun Loop() -> receive {'$gen_call', From, Req} -> gen:reply(From, {echo, Req}), Loop() end end, P = spawn(Echo), register(dup_local, P), yes = global:register_name(dup, P), io:format("ready~n").` });
      erls.push(e);
      await e.waitForOutput(/ready/);
      assert.ok(distributionOf(ts).ensureConnected(atom(E)));
      await eventually(() => distributionOf(ts).nodes().includes(atom(E)), 10_000, 'connected');
      await globalSync(ts, 15_000);
      assert.equal((await call(E, 'global:sync().')).out, '{ok,ok}');
      if (tsFirst) {
        await eventually(() => globalWhereis(ts, atom('dup'))?.equals(mine) === true, 10_000, 'ts keeps its pid');
        assert.equal((await call(E, 'node(global:whereis_name(dup)).')).out, `{ok,${erlAtom(TS)}}`);
        await eventuallyAsync(() => call(E, 'whereis(dup_local).'), (r) => r.out === '{ok,undefined}', 10_000, 'the Erlang owner was killed');
      } else {
        await eventually(() => !ts.isAlive(mine), 10_000, 'the Beamline owner was killed');
        await eventually(() => globalWhereis(ts, atom('dup'))?.node === atom(E), 10_000, 'ts agrees on the Erlang pid');
        assert.equal((await call(E, 'node(global:whereis_name(dup)).')).out, `{ok,${erlAtom(E)}}`);
      }
    });
  }
});

describe('Elixir :global with a Beamline node', { skip: elixirSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `gxts${tag}@127.0.0.1`;
  let ts: Node;
  let ex: ErlNode | undefined;
  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: quiet });
  });
  after(async () => {
    await ex?.kill();
    await ts?.stop();
  });

  it('GenServer.call({:global, name}) reaches a Beamline process, and :global names from Elixir resolve on Beamline', async () => {
    assert.equal(await globalRegister(ts, atom('counter'), ts.spawn(echo)), 'yes');
    ex = startElixir({
      name: `gxex${tag}@127.0.0.1`,
      cookie: COOKIE,
      epmdPort,
      script: `
        true = Node.connect(:"${TS}")
        :ok = :global.sync()
        IO.puts("CALL #{inspect(GenServer.call({:global, :counter}, :hello))}")
        {:ok, agent} = Agent.start(fn -> 0 end)
        :yes = :global.register_name(:elixir_agent, agent)
        IO.puts("registered")
        Process.sleep(:infinity)
      `,
    });
    await ex.waitForOutput(/registered/, 60_000);
    assert.match(ex.output(), /CALL \{:echo, :hello\}/);
    await eventually(() => globalWhereis(ts, atom('elixir_agent')) !== undefined, 10_000, 'elixir name known');
    assert.equal(globalWhereis(ts, atom('elixir_agent'))?.node, atom(`gxex${tag}@127.0.0.1`));
  });
});
