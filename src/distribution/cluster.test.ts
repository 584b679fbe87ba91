/**
 * What a cluster needs of `net_kernel` and EPMD, against real OTP 25 nodes:
 * `nodes()` versus `nodes(hidden)` on both sides, `net_ticktime` agreement
 * (ticks keep an idle connection up; a silent peer is dropped after the
 * tick time), and reconnecting after a peer restarts (new creation, old
 * pids dead). Skips with a one-line reason when erl is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Node } from '../core/node.js';
import { atom, Pid, Tuple, tuple } from '../terms/index.js';
import { distributionOf, rpc, startNode } from './node-dist.js';
import { nodesOf } from './node-events.js';
import { erlAtom, erlCall, erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { eventually, eventuallyAsync, Probe, freePort } from '../../test/support.js';

const COOKIE = 'clustercookie';
const quiet = { logger: () => {}, shutdownTimeout: 200 };

describe('erlang:nodes/1 arguments', () => {
  it('answers visible, hidden, connected, this, known and lists of them; rejects others', () => {
    const self = atom('me@h');
    const list = (k: string): ReturnType<typeof atom>[] => (k === 'visible' ? [atom('v@h')] : k === 'hidden' ? [atom('h@h')] : [atom('v@h'), atom('h@h')]);
    assert.deepEqual(nodesOf(undefined, self, list), [atom('v@h')]);
    assert.deepEqual(nodesOf(atom('hidden'), self, list), [atom('h@h')]);
    assert.deepEqual(nodesOf([atom('visible'), atom('this')], self, list), [atom('v@h'), self]);
    assert.deepEqual(nodesOf(atom('known'), self, list), [self, atom('v@h'), atom('h@h')]);
    assert.deepEqual(nodesOf(atom('connected'), self, list), [atom('v@h'), atom('h@h')]);
    assert.throws(() => nodesOf(atom('bogus'), self, list), TypeError);
    assert.throws(() => nodesOf(3, self, list), TypeError);
  });
});

describe('net_kernel details with real OTP 25 nodes', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const P = `clp${tag}@127.0.0.1`;
  const H = `clh${tag}@127.0.0.1`;
  const E = `cle${tag}@127.0.0.1`;
  let pub: Node;
  let hid: Node;
  let erl: ErlNode;
  const extra: ErlNode[] = [];
  const call = (expr: string, node = E): Promise<{ code: number; out: string }> => erlCall({ node, cookie: COOKIE, epmdPort, expr });
  const ECHO = `Echo = fun Loop() -> receive {'$gen_call', From, Req} -> gen:reply(From, {echo, Req}), Loop() end end`;

  before(async () => {
    epmdPort = await freePort();
    pub = await startNode({ name: P, cookie: COOKIE, epmdPort, node: quiet });
    hid = await startNode({ name: H, cookie: COOKIE, epmdPort, published: false, node: quiet });
    erl = startErl({ name: E, cookie: COOKIE, epmdPort, eval: `${ECHO}, register(echo, spawn(Echo)), io:format("ready~n").` });
    await erl.waitForOutput(/ready/);
  });
  after(async () => {
    for (const e of extra) await e.kill();
    await erl?.kill();
    await hid?.stop();
    await pub?.stop();
  });

  it('nodes() lists published nodes and nodes(hidden) hidden ones, on both sides', async () => {
    assert.ok(distributionOf(pub).ensureConnected(atom(E)));
    assert.ok(distributionOf(hid).ensureConnected(atom(E)));
    await eventually(() => distributionOf(pub).nodes().includes(atom(E)) && distributionOf(hid).nodes('hidden').includes(atom(E)), 10_000, 'connected');
    assert.deepEqual(distributionOf(hid).nodes('visible'), [], 'a hidden node has only hidden connections');
    assert.deepEqual(distributionOf(pub).nodes('hidden'), []);
    assert.equal((await call('nodes().')).out, `{ok,[${erlAtom(P)}]}`);
    assert.equal((await call('nodes(hidden).')).out.includes(erlAtom(H)), true);
    assert.equal((await call('lists:member(' + erlAtom(H) + ', nodes()).')).out, '{ok,false}');
    // erlang:nodes/0,1 answered by the Beamline nodes themselves
    assert.equal((await call(`rpc:call(${erlAtom(P)}, erlang, nodes, []).`)).out, `{ok,[${erlAtom(E)}]}`);
    assert.equal((await call(`rpc:call(${erlAtom(H)}, erlang, nodes, []).`)).out, '{ok,[]}');
    assert.equal((await call(`rpc:call(${erlAtom(H)}, erlang, nodes, [hidden]).`)).out, `{ok,[${erlAtom(E)}]}`);
    assert.match((await call(`rpc:call(${erlAtom(P)}, erlang, nodes, [bogus]).`)).out, /badrpc.*badarg/);
  });

  it('reconnects after the Erlang peer restarts: new creation, old pids dead', async () => {
    const before = (await pub.call({ name: 'echo', node: E }, 'first')) as Tuple;
    assert.deepEqual(before, tuple(atom('echo'), 'first'));
    const oldPid = (await rpc(pub, E, 'erlang', 'whereis', [atom('echo')])) as Pid;
    const oldCreation = Number(/\{ok,(\d+)\}/.exec((await call('erlang:system_info(creation).')).out)?.[1]);
    assert.equal(oldPid.creation, oldCreation);
    erl.process.kill('SIGKILL');
    await erl.exited;
    await eventually(() => !distributionOf(pub).nodes().includes(atom(E)), 10_000, 'nodedown after SIGKILL');
    erl = startErl({ name: E, cookie: COOKIE, epmdPort, eval: `${ECHO}, register(echo, spawn(Echo)), io:format("ready~n").` });
    await erl.waitForOutput(/ready/);
    // the name reaches the new incarnation
    assert.deepEqual(await pub.call({ name: 'echo', node: E }, 'second'), tuple(atom('echo'), 'second'));
    const newPid = (await rpc(pub, E, 'erlang', 'whereis', [atom('echo')])) as Pid;
    assert.notEqual(newPid.creation, oldPid.creation, 'a restarted node has a new creation');
    // a pid of the old incarnation is dead: a monitor gets DOWN at once
    const probe = new Probe(pub);
    await eventually(() => probe.proc !== undefined, 5000, 'probe');
    const ref = probe.proc.monitor(oldPid);
    const down = (await probe.next()) as Tuple;
    assert.equal(down.elements[0], atom('DOWN'));
    assert.ok(ref.equals(down.elements[1]));
    assert.equal(down.elements[4], atom('noproc'));
  });

  it('after a Beamline node restarts, Erlang sees its old pids as dead and reaches the new one', async () => {
    const name = `clr${tag}@127.0.0.1`;
    let r1 = await startNode({ name, cookie: COOKIE, epmdPort, node: quiet });
    const p1 = r1.spawn({ handleMessage() {} });
    r1.register('keeper', p1);
    assert.equal((await call(`is_pid(rpc:call(${erlAtom(name)}, erlang, whereis, [keeper])).`)).out, '{ok,false}', 'whereis is not exposed');
    // Erlang keeps a pid of the first incarnation
    assert.equal((await call(`{keeper, ${erlAtom(name)}} ! {hello, self()}, ok.`)).out, '{ok,ok}');
    const creation1 = r1.creation;
    await r1.stop();
    await eventuallyAsync(() => call('nodes().'), (r) => !r.out.includes(name), 10_000, 'erl saw it go');
    r1 = await startNode({ name, cookie: COOKIE, epmdPort, node: quiet });
    try {
      assert.notEqual(r1.creation, creation1);
      const old = `binary_to_term(<<131,88,119,${name.length},"${name}",${p1.id}:32,${p1.serial}:32,${creation1}:32>>)`;
      const r = await call(`Old = ${old}, Ref = erlang:monitor(process, Old), receive {'DOWN', Ref, process, _, Reason} -> Reason after 5000 -> timeout end.`);
      assert.equal(r.out, '{ok,noproc}');
      assert.equal((await call(`net_adm:ping(${erlAtom(name)}).`)).out, '{ok,pong}');
    } finally {
      await r1.stop();
    }
  });

  it('agrees on net_ticktime: ticks keep an idle link up, a silent peer is dropped after the tick time', async () => {
    const T = `clt${tag}@127.0.0.1`;
    const tick = await startNode({ name: T, cookie: COOKIE, epmdPort, netTickTime: 4000, node: quiet });
    try {
      assert.equal(distributionOf(tick).netTickTime, 4000);
      const ET = `clet${tag}@127.0.0.1`;
      const et = startErl({ name: ET, cookie: COOKIE, epmdPort, args: ['-kernel', 'net_ticktime', '4'], eval: 'io:format("ready~n").' });
      extra.push(et);
      await et.waitForOutput(/ready/);
      assert.equal((await call('net_kernel:get_net_ticktime().', ET)).out, '{ok,4}');
      assert.ok(distributionOf(tick).ensureConnected(atom(ET)));
      await eventually(() => distributionOf(tick).nodes().includes(atom(ET)), 10_000, 'connected');
      // Idle for two tick times: both sides tick, nobody drops the link.
      // (Waiting is the point of this check: it proves nothing breaks while nothing happens.)
      await new Promise((r) => setTimeout(r, 8000));
      assert.ok(distributionOf(tick).nodes().includes(atom(ET)), 'Beamline kept the idle link');
      assert.match((await call('nodes().', ET)).out, new RegExp(T.replace(/\./g, '\\.')), 'Erlang kept the idle link');
      // A peer that stops answering (SIGSTOP) is dropped after about the tick time.
      const stoppedAt = Date.now();
      et.process.kill('SIGSTOP');
      try {
        await eventually(() => !distributionOf(tick).nodes().includes(atom(ET)), 15_000, 'silent peer dropped');
      } finally {
        et.process.kill('SIGCONT');
      }
      const took = Date.now() - stoppedAt;
      assert.ok(took >= 3000 && took < 12_000, `dropped after ${took} ms`);
    } finally {
      await tick.stop();
    }
  });
});
