/**
 * Node-level distribution against real Erlang/OTP and Elixir: one
 * long-lived erl node (with a tiny gen_server module compiled into a temp
 * directory), driven with `erl_call`; the Beamline node owns the embedded
 * EPMD on a private port and the erl nodes register with it. Skipped with a
 * one-line reason when erl is missing, failing instead when CI=true.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../core/node.js';
import { CallExitError } from '../core/errors.js';
import { Charlist } from '../etf/charlist.js';
import { ok, reply, noreply, startServer } from '../server/server.js';
import { atom, Pid, Tuple, tuple, isTuple } from '../terms/index.js';
import { distributionOf, exposeRpc, rpc, startNode } from './node-dist.js';
import { ErlangThrow } from './rpc.js';
import { erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { freePort } from '../../test/support.js';
import { Inbox } from './testing/inbox.js';

const COOKIE = 'erlnodecookie';
const DIST = ['-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}'];

function elixirSkipReason(): string | false {
  if (erlSkipReason() !== false) return erlSkipReason();
  const ok = spawnSync('elixir', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  if (ok || process.env['CI'] === 'true') return false;
  return 'elixir not found on PATH';
}

const ECHO_SRV = `-module(echo_srv).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
start() -> gen_server:start({local, echo_srv}, ?MODULE, [], []).
init([]) -> {ok, []}.
handle_call(Req, _From, S) -> {reply, {echo, Req}, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.
`;

describe('Beamline node with real erl and elixir nodes', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `ts${tag}@127.0.0.1`;
  const E = `e${tag}@127.0.0.1`;
  let epmdPort = 0; // set in before(): a port no EPMD listens on yet, so this node starts the embedded one
  const env: NodeJS.ProcessEnv = { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' };
  let ts: Node;
  let erl: ErlNode;
  let collector: Inbox;
  const extra: ErlNode[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'beamline-erlmod-'));

  /** Evaluates Erlang expressions on the erl node with erl_call (about 0.03 s). */
  function erlCall(expr: string, node = E, cookie = COOKIE): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      const child = execFile('erl_call', ['-name', node, '-c', cookie, '-e'], { env, timeout: 30_000, cwd: dir }, (err, stdout, stderr) =>
        // whitespace removed: erl_call pretty-prints terms with spaces
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: (stdout + stderr).replace(/\s+/g, '') }),
      );
      child.stdin?.end(`${expr}\n`);
    });
  }

  before(async () => {
    epmdPort = await freePort();
    env['ERL_EPMD_PORT'] = String(epmdPort);
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    await startServer<{ call: [unknown, number]; cast: [unknown] }, number, undefined>(
      ts,
      {
        init: () => ok(0),
        handleCall: (req, _from, s) => {
          if (isTuple(req, 2) && req.elements[0] === atom('add')) return reply(req, s + (req.elements[1] as number), s + (req.elements[1] as number));
          return reply(req, s, s);
        },
        handleCast: (msg, s) => (isTuple(msg, 2) ? noreply(s + (msg.elements[1] as number)) : noreply(s)),
      },
      undefined,
      { name: 'counter' },
    );
    collector = new Inbox(ts, { name: 'collector' });
    const victim = ts.spawn({ handleMessage: (m, p) => p.exit(m) }, { name: 'tsvictim' });
    exposeRpc(ts, 'test', {
      counter_pid: () => ts.whereis('counter'),
      victim_pid: () => victim,
    });
    exposeRpc(ts, 'calc', {
      add: (x: number, y: number) => x + y,
      boom: () => {
        throw new Error('kaboom');
      },
      toss: () => {
        throw new ErlangThrow(atom('tossed'));
      },
      note: (x: unknown) => ts.send('collector', tuple(atom('noted'), x)),
    });
    writeFileSync(join(dir, 'echo_srv.erl'), ECHO_SRV);
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval: `code:add_patha("${dir}"), {ok, _} = compile:file("${dir}/echo_srv", [{outdir, "${dir}"}]), {ok, _} = echo_srv:start(), io:format("READY~n").`,
    });
    await erl.waitForOutput(/READY/);
  });

  after(async () => {
    for (const n of extra) await n.kill();
    await erl?.kill();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Erlang finds the Beamline node through the embedded EPMD and pings it', async () => {
    assert.ok(distributionOf(ts).epmdEmbedded);
    const r = await erlCall(`net_adm:ping('${TS}').`);
    assert.match(r.out, /\{ok,\s*pong\}/);
  });

  it('an Erlang process calls and casts a Beamline server by name and by pid', async () => {
    const r = await erlCall(
      `gen_server:cast({counter, '${TS}'}, {add, 5}), R1 = gen_server:call({counter, '${TS}'}, get), P = rpc:call('${TS}', test, counter_pid, []), R2 = gen_server:call(P, {add, 1}), gen_server:cast(P, {add, 10}), R3 = gen_server:call(P, get), {R1, R2, R3, catch gen_server:call({nobody, '${TS}'}, x, 2000)}.`,
    );
    assert.match(r.out, /\{ok,\s*\{5,6,16,\s*\{'EXIT',\{noproc,/);
  });

  it("Elixir's GenServer.call reaches a Beamline server", { skip: elixirSkipReason() }, async () => {
    const out = await new Promise<string>((resolve) => {
      execFile(
        'elixir',
        ['--name', `x${tag}@127.0.0.1`, '--cookie', COOKIE, '--erl', DIST.join(' '), '-e', `IO.inspect GenServer.call({:counter, :"${TS}"}, {:add, 100})`],
        { env, timeout: 60_000, cwd: dir },
        (err, stdout, stderr) => resolve(`${stdout}${stderr}${err === null ? '' : String(err)}`),
      );
    });
    assert.match(out, /^\d+$/m, out);
  });

  it('a Beamline process calls an Erlang gen_server, and rpc into Erlang works', async () => {
    assert.deepEqual(await ts.call({ name: 'echo_srv', node: E }, atom('hi')), tuple(atom('echo'), atom('hi')));
    const rel = await rpc(ts, E, 'erlang', 'system_info', [atom('otp_release')]);
    assert.ok(rel instanceof Charlist && /^\d+$/.test(rel.value), String(rel));
    await assert.rejects(ts.call({ name: 'nobody', node: E }, 'x'), (e) => e instanceof CallExitError && e.reason === atom('noproc'));
  });

  it('rpc:call and erpc:call into Beamline return values and Erlang error shapes; rpc:cast; funs refused', async () => {
    const r = await erlCall(
      `F = fun(M, Fn, A) -> try erpc:call('${TS}', M, Fn, A) of V -> {ok, V} catch C:R:S -> {C, R, S} end end, ` +
        `{F(calc, add, [1, 2]), F(calc, nope, [1]), F(calc, toss, []), element(1, F(calc, boom, [])), rpc:call('${TS}', calc, add, [40, 2]), ` +
        `rpc:call('${TS}', erlang, node, []), rpc:cast('${TS}', calc, note, [hello]), ` +
        `begin SR = spawn_request('${TS}', fun() -> ok end, [monitor]), receive {spawn_reply, SR, error, Why} -> {refused, Why} after 5000 -> timeout end end}.`,
    );
    assert.match(r.out, /\{ok,\s*3\}/, r.out);
    // erpc:call raises error({exception, Reason, Stack}) for a remote error, as with Erlang nodes
    assert.match(r.out, /\{error,\{exception,undef,\[\{calc,nope,"\\x1",\[\]\}\]\}/, r.out);
    assert.match(r.out, /\{throw,tossed,/, r.out);
    assert.match(r.out, /,error,42,'ts\d+@127.0.0.1',true,\{refused,notsup\}\}/, r.out);
    await collector.waitFor((m) => isTuple(m, 2) && m.elements[0] === atom('noted') && m.elements[1] === atom('hello'), 'rpc:cast');
  });

  it('old rex clients (erl_call -a) call exposed functions', async () => {
    const r = await new Promise<string>((resolve) =>
      execFile('erl_call', ['-name', TS, '-c', COOKIE, '-a', 'calc add [20,22]'], { env, timeout: 30_000 }, (_e, so, se) => resolve(so + se)),
    );
    assert.equal(r.trim(), '42');
  });

  it('links and monitors in both directions deliver the right reasons', async () => {
    // Beamline -> Erlang
    await erlCall(`register(victim1, spawn(fun() -> receive {die, R} -> exit(R) end end)), ok.`);
    const victim = (await rpc(ts, E, 'erlang', 'whereis', [atom('victim1')])) as Pid;
    assert.ok(victim instanceof Pid);
    const inbox = new Inbox(ts);
    ts.spawn(
      {
        init: (p) => {
          p.link(victim);
          p.monitor(victim);
          p.send(victim, tuple(atom('die'), tuple(atom('boom'), 1)));
        },
        handleMessage: (m, p) => p.send(inbox.pid, m),
      },
      { trapExit: true },
    );
    const exit = await inbox.waitFor<Tuple>((m) => isTuple(m, 3) && m.elements[0] === atom('EXIT'), 'EXIT from erl');
    assert.deepEqual(exit.elements[2], tuple(atom('boom'), 1));
    const down = await inbox.waitFor<Tuple>((m) => isTuple(m, 5) && m.elements[0] === atom('DOWN'), 'DOWN from erl');
    assert.deepEqual(down.elements[4], tuple(atom('boom'), 1));
    // Erlang -> Beamline
    await erlCall(
      `spawn(fun() -> process_flag(trap_exit, true), P = rpc:call('${TS}', test, victim_pid, []), link(P), M = monitor(process, P), ` +
        `{collector, '${TS}'} ! linked, receive {'EXIT', P, R1} -> receive {'DOWN', M, process, P, R2} -> {collector, '${TS}'} ! {got, R1, R2} end end end), ok.`,
    );
    await collector.waitFor((m) => m === atom('linked'), 'linked');
    ts.send('tsvictim', tuple(atom('custom'), 7));
    const got = await collector.waitFor<Tuple>((m) => isTuple(m, 3) && m.elements[0] === atom('got'), 'erl got EXIT and DOWN');
    assert.deepEqual(got.elements[1], tuple(atom('custom'), 7));
    assert.deepEqual(got.elements[2], tuple(atom('custom'), 7));
  });

  it('links and monitors fire noconnection when the Erlang node is killed with SIGKILL', async () => {
    const K = `k${tag}@127.0.0.1`;
    const k = startErl({ name: K, cookie: COOKIE, epmdPort, eval: `register(victim, spawn(fun() -> receive _ -> ok end end)), io:format("READY~n").` });
    extra.push(k);
    await k.waitForOutput(/READY/);
    const victim = (await rpc(ts, K, 'erlang', 'whereis', [atom('victim')])) as Pid;
    const inbox = new Inbox(ts);
    ts.spawn(
      {
        init: (p) => {
          p.link(victim);
          p.monitor(victim);
          p.monitorNode(K);
          p.send(inbox.pid, 'ready');
        },
        handleMessage: (m, p) => p.send(inbox.pid, m),
      },
      { trapExit: true },
    );
    await inbox.waitFor((m) => m === 'ready');
    await rpc(ts, K, 'erlang', 'node', []); // the link and monitor have reached K
    k.process.kill('SIGKILL');
    await inbox.waitFor((m) => isTuple(m, 3) && m.elements[0] === atom('EXIT') && m.elements[2] === atom('noconnection'), 'EXIT noconnection');
    await inbox.waitFor((m) => isTuple(m, 5) && m.elements[0] === atom('DOWN') && m.elements[4] === atom('noconnection'), 'DOWN noconnection');
    await inbox.waitFor((m) => isTuple(m, 2) && m.elements[0] === atom('nodedown'), 'nodedown');
  });

  it('a 10 MB binary crosses in both directions', async () => {
    await erlCall(`register(echo, spawn(fun L() -> receive {From, B} -> From ! {size, byte_size(B), B}, L() end end)), ok.`);
    const data = randomBytes(10 * 1024 * 1024);
    const inbox = new Inbox(ts);
    ts.send({ name: 'echo', node: E }, tuple(inbox.pid, data));
    const got = await inbox.waitFor<Tuple>((m) => isTuple(m, 3) && m.elements[0] === atom('size'), '10 MB echo', 60_000);
    assert.equal(got.elements[1], data.length);
    const back = got.elements[2] as Uint8Array;
    assert.ok(Buffer.from(back.buffer, back.byteOffset, back.length).equals(data));
  });

  it('a wrong cookie is refused on both sides', async () => {
    const bad = await startNode({ name: `bad${tag}@127.0.0.1`, cookie: 'wrong', epmdPort, node: { logger: () => {} } });
    try {
      await assert.rejects(bad.call({ name: 'echo_srv', node: E }, 'x', { timeout: 10_000 }), (e) => e instanceof CallExitError && isTuple(e.reason, 2) && e.reason.elements[0] === atom('nodedown') && e.reason.elements[1] === atom(E)); // OTP's gen:call reason
    } finally {
      await bad.stop();
    }
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile('erl_call', ['-name', TS, '-c', 'wrong', '-a', 'erlang node []'], { env, timeout: 30_000 }, (e, so, se) =>
        resolve({ code: e === null ? 0 : 1, out: so + se }),
      ),
    );
    assert.notEqual(r.code, 0, r.out);
    // The Beamline node still works for everyone else.
    assert.match((await erlCall(`net_adm:ping('${TS}').`)).out, /pong/);
  });
});
