/**
 * ALTACT_SIG_SEND and priority messages against the real `erl` on PATH (run
 * once per OTP release by .ci/run; see scripts/otp-chroots.sh). On OTP 28+
 * the connection carries DFLAG_ALTACT_SIG: a priority message from Erlang
 * overtakes messages already queued at a Beamline priority alias, one from
 * Beamline overtakes messages queued at an Erlang priority alias, and calls
 * both ways work. On older releases alias sends travel as ALIAS_SEND and
 * still arrive. Skipped with a one-line reason when erl is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { Charlist } from '../etf/charlist.js';
import { noreply, ok, reply, startServer } from '../server/server.js';
import { atom, isTuple, type Pid, type Ref, tuple, type Tuple } from '../terms/index.js';
import { distributionOf, rpc, startNode } from './node-dist.js';
import { DFLAG } from './flags.js';
import { erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { deferred, eventually, freePort } from '../../test/support.js';
import { Inbox } from './testing/inbox.js';

const COOKIE = 'priocookie';

/** Evaluates Erlang source with bindings (so tests pass pids and aliases as terms). */
const EVAL_MOD = `-module(beamline_eval).
-export([run/2]).
run(Code, Bindings) ->
    {ok, Toks, _} = erl_scan:string(Code),
    {ok, Exprs} = erl_parse:parse_exprs(Toks),
    {value, V, _} = erl_eval:exprs(Exprs, maps:from_list(Bindings)),
    V.
`;

/** A minimal Erlang gen_server, so Beamline calls a real one. */
const ESRV_MOD = `-module(beamline_esrv).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).
init([]) -> {ok, []}.
handle_call(Req, _From, S) -> {reply, {echo, Req}, S}.
handle_cast(_, S) -> {noreply, S}.
`;

describe('ALTACT_SIG_SEND and priority messages with the erl on PATH', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `tp${tag}@127.0.0.1`;
  const E = `ep${tag}@127.0.0.1`;
  let epmdPort = 0;
  let ts: Node;
  let erl: ErlNode;
  let release = 0;
  const dir = mkdtempSync(join(tmpdir(), 'beamline-prio-'));

  before(async () => {
    epmdPort = await freePort();
    writeFileSync(join(dir, 'beamline_eval.erl'), EVAL_MOD);
    writeFileSync(join(dir, 'beamline_esrv.erl'), ESRV_MOD);
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    await startServer<{ call: [unknown, unknown] }, number, undefined>(ts, { init: () => ok(0), handleCall: (req, _f, s) => reply(req, tuple(atom('got'), req), s), handleCast: (_m, s) => noreply(s) }, undefined, { name: 'bsrv' });
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval:
        `code:add_patha("${dir}"), {ok, _} = compile:file("${dir}/beamline_eval", [{outdir, "${dir}"}]), ` +
        `{ok, _} = compile:file("${dir}/beamline_esrv", [{outdir, "${dir}"}]), {ok, _} = gen_server:start({local, esrv}, beamline_esrv, [], []), ` +
        `register(echo, spawn(fun L() -> receive {From, M} -> From ! M, L() end end)), io:format("READY~n").`,
    });
    await erl.waitForOutput(/READY/);
    const rel = await rpc(ts, E, 'erlang', 'system_info', [atom('otp_release')]);
    assert.ok(rel instanceof Charlist);
    release = Number(rel.value);
  });

  after(async () => {
    await erl?.kill();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the connection carries DFLAG_ALTACT_SIG exactly when the peer is OTP 28 or later', () => {
    const flags = distributionOf(ts).connectionFlags(E);
    assert.ok(flags !== undefined);
    assert.equal((flags & DFLAG.ALTACT_SIG) !== 0n, release >= 28, `OTP ${release}`);
  });

  it('alias and name sends reach Erlang (alias: ALTACT_SIG_SEND on 28+, ALIAS_SEND before; name: REG_SEND)', async () => {
    const inbox = new Inbox(ts);
    // Erlang makes an alias and sends it back; Beamline sends to it by alias and by name.
    ts.send({ name: 'echo', node: E }, tuple(inbox.pid, atom('hello')));
    await inbox.waitFor((m) => m === atom('hello'), 'name send round trip');
    const inbox2 = new Inbox(ts, { name: `via_${tag}` });
    const alias = (await evalErl(
      `Parent = self(), spawn(fun() -> A = alias(), Parent ! {alias, A}, receive M -> Me ! {via_alias, M} end end), receive {alias, A} -> A end.`,
      { Me: tuple(atom(`via_${tag}`), atom(TS)) },
    )) as Ref;
    ts.send(alias, atom('ping'));
    const got = await inbox2.waitFor<Tuple>((m) => isTuple(m, 2) && m.elements[0] === atom('via_alias'), 'alias send');
    assert.equal(got.elements[1], atom('ping'));
  });

  it('calls both ways: gen_server:call from Erlang to a Beamline server, ts.call to an Erlang server', async () => {
    const r = await evalErl(`gen_server:call({bsrv, '${TS}'}, hello).`);
    assert.deepEqual(r, tuple(atom('got'), atom('hello')));
    // the Erlang server replies to the call's alias: ALTACT_SIG_SEND on OTP 28+
    assert.deepEqual(await ts.call({ name: 'esrv', node: E }, atom('hi')), tuple(atom('echo'), atom('hi')));
  });

  it('a priority message from Erlang overtakes messages already queued at a Beamline priority alias (OTP 28+)', async () => {
    if (release < 28) {
      // erlang:send/3 has no priority option before OTP 28: it is badarg there.
      const r = await evalErl(`catch erlang:send(self(), x, [priority]).`);
      assert.ok(isTuple(r, 2) && r.elements[0] === atom('EXIT'), String(r));
      return;
    }
    const gate = deferred();
    const seen: unknown[] = [];
    let proc: Process | undefined;
    const pid = ts.spawn({
      init: (p) => {
        proc = p;
      },
      async handleMessage(m) {
        if (m === 'hold') return gate.promise;
        seen.push(m);
      },
    });
    ts.send(pid, 'hold');
    await eventually(() => proc !== undefined);
    const prio = (proc as Process).alias({ priority: true });
    await evalErl(`P ! o1, P ! o2, A ! o3, erlang:send(A, p1, [priority]), erlang:send(A, p2, [priority]), P ! o4, ok.`, { P: pid, A: prio });
    await eventually(() => ts.processInfo(pid)?.messageQueueLength === 6, 20_000, 'six messages queued');
    gate.resolve();
    await eventually(() => seen.length === 6, 20_000, 'six messages handled');
    assert.deepEqual(seen, [atom('p1'), atom('p2'), atom('o1'), atom('o2'), atom('o3'), atom('o4')]);
  });

  it('a priority message from Beamline overtakes messages queued at an Erlang priority alias (OTP 28+)', async () => {
    const inbox = new Inbox(ts, { name: `prio_out_${tag}` });
    const opts = release >= 28 ? '[priority]' : '[]';
    await evalErl(
      `spawn(fun() -> A = alias(${opts}), Me ! {ready, self(), A}, ` +
        `receive go -> {messages, Ms} = process_info(self(), messages), Me ! {order, Ms} end end), ok.`,
      { Me: tuple(atom(`prio_out_${tag}`), atom(TS)) },
    );
    const ready = await inbox.waitFor<Tuple>((m) => isTuple(m, 3) && m.elements[0] === atom('ready'), 'ready');
    const epid = ready.elements[1] as Pid;
    const alias = ready.elements[2] as Ref;
    ts.spawn({
      init: (p) => {
        p.send(epid, atom('o1'));
        p.send(alias, atom('o2'));
        p.sendPriority(alias, atom('p1'));
        p.sendPriority(alias, atom('p2'));
        p.send(epid, atom('go')); // 'go' is received selectively, the rest stays queued
        p.exit('normal');
      },
      handleMessage: () => {},
    });
    const order = await inbox.waitFor<Tuple>((m) => isTuple(m, 2) && m.elements[0] === atom('order'), 'order');
    const expected = release >= 28 ? ['p1', 'p2', 'o1', 'o2'] : ['o1', 'o2', 'p1', 'p2'];
    assert.deepEqual(order.elements[1], expected.map((n) => atom(n)));
  });

  it('name sends (REG_SEND on every release) and alias sends (ALTACT_SIG_SEND on 28+), small and 10 MB, reach Erlang', async () => {
    const inbox = new Inbox(ts, { name: `named_${tag}` });
    await evalErl(
      `register(sizer_${tag}, spawn(fun L() -> receive {From, B} -> From ! {size, byte_size(B), binary:last(B)}, L() end end)), ok.`,
    );
    // 10 MB to an alias: fragmented ALTACT_SIG_SEND on OTP 28+, ALIAS_SEND before
    const ainbox = new Inbox(ts, { name: `alias_big_${tag}` });
    const al = (await evalErl(
      `Parent = self(), spawn(fun() -> A = alias(), Parent ! {alias, A}, receive {From, B} -> From ! {asize, byte_size(B)} end end), receive {alias, A} -> A end.`,
    )) as Ref;
    ts.send(al, tuple(ainbox.pid, new Uint8Array(10 * 1024 * 1024)));
    const ag = await ainbox.waitFor<Tuple>((m) => isTuple(m, 2) && m.elements[0] === atom('asize'), '10 MB alias send', 60_000);
    assert.equal(ag.elements[1], 10 * 1024 * 1024);
    const big = new Uint8Array(10 * 1024 * 1024).fill(7);
    big[big.length - 1] = 42;
    for (const [payload, last] of [[new Uint8Array([1, 2, 3]), 3], [big, 42]] as const) {
      ts.send({ name: `sizer_${tag}`, node: E }, tuple(inbox.pid, payload));
      const got = await inbox.waitFor<Tuple>((m) => isTuple(m, 3) && m.elements[0] === atom('size'), `reply to a ${payload.length}-byte name send`, 60_000);
      assert.deepEqual(got.elements.slice(1), [payload.length, last]);
    }
    // a name nobody registered: dropped by the peer, the connection stays
    ts.send({ name: `nobody_${tag}`, node: E }, atom('lost'));
    assert.deepEqual(await evalErl(`ok.`), atom('ok'));
  });

  /** Evaluates Erlang expressions on the erl node with these bindings (variable name to term) and returns the value. */
  function evalErl(code: string, bindings: Record<string, unknown> = {}): Promise<unknown> {
    const list = Object.entries(bindings).map(([k, v]) => tuple(atom(k), v));
    return rpc(ts, E, 'beamline_eval', 'run', [new Charlist(code), list]);
  }
});
