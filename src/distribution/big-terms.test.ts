/**
 * Every term OTP can send crosses the wire, and no message takes a node
 * down: against a real erl node, in both directions, through Servers:
 *
 * - 100,000-deep tuple, list and map, a left-nested iolist of 200,000
 *   appends, the widest integer the peer's OTP makes (1 MB on OTP 25,
 *   4,194,240 bits on OTP 26 and later) and a 200 MB binary round-trip equal, and
 *   `monitor_node` on the erl side sees no `nodedown`;
 * - a reply that cannot be encoded (a function, a cycle) gives the caller,
 *   Erlang or Beamline, an exit with a typed reason at once (not a timeout);
 * - a 110-million-element list from erl is refused with a logged reason
 *   naming the option to raise, and the node answers a ping and a kv call
 *   right after.
 *
 * Skipped with a one-line reason when erl is missing, failing when CI=true.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../core/node.js';
import { CallExitError } from '../core/errors.js';
import { ok, reply, noreply, startServer } from '../server/server.js';
import { atom, tuple, Tuple, type Atom } from '../terms/index.js';
import { termEquals } from '../etf/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { erlOtpRelease, erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { EtfEncodeError, MAX_PORTABLE_BIGINT_BYTES } from '../etf/index.js';
import { eventually, freePort } from '../../test/support.js';

const COOKIE = 'bigtermscookie';

const BIG_MOD = `-module(big_terms).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([make/1, roundtrip/2, unencodable/2, flood/1]).
start() -> gen_server:start({local, big_echo}, ?MODULE, [], []).
init([]) -> {ok, []}.
handle_call(Req, _From, S) -> {reply, Req, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.

make(tuple) -> lists:foldl(fun(_, A) -> {A} end, leaf, lists:seq(1, 100000));
make(list) -> lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 100000));
make(map) -> lists:foldl(fun(_, A) -> #{k => A} end, 0, lists:seq(1, 100000));
make(iolist) -> lists:foldl(fun(_, A) -> [A, <<"chunk">>] end, [], lists:seq(1, 200000));
make(integer) -> 1 bsl INTEGER_BITS;
make(binary) -> binary:copy(<<1, 2, 3, 255>>, 50000000).

%% Sends each term to the Beamline echo Server and compares the reply; watches the connection.
roundtrip(Node, Cases) ->
    monitor_node(Node, true),
    R = [{C, begin T = make(C), gen_server:call({echo, Node}, T, 120000) =:= T end} || C <- Cases],
    Down = receive {nodedown, Node} -> nodedown after 0 -> up end,
    monitor_node(Node, false),
    {R, Down}.

%% Calls a Beamline Server whose reply cannot be encoded: {Millis, ExitReason}.
unencodable(Node, Name) ->
    {T, {'EXIT', {#{code := Code, message := Msg}, {gen_server, call, _}}}} =
        timer:tc(fun() -> catch gen_server:call({Name, Node}, give, 60000) end),
    {T div 1000, binary_to_atom(Code), binary_to_list(Msg)}.

%% 110 million [] in one message (110 MB on the wire), built in a process
%% whose heap is sized for it up front (no garbage collections on the way).
%% Then, on the same connection (so after the flood was handled): a ping and a kv call.
flood(Node) ->
    monitor_node(Node, true),
    {Pid, Ref} = spawn_opt(fun() -> {sink, Node} ! lists:duplicate(110000000, []) end, [monitor, {min_heap_size, 240000000}]),
    receive {'DOWN', Ref, process, Pid, normal} -> ok end,
    Pong = net_adm:ping(Node),
    Kv = gen_server:call({kv, Node}, {get, answer}, 10000),
    Down = receive {nodedown, Node} -> nodedown after 0 -> up end,
    {Pong, Kv, Down}.
`;

describe('terms of any depth and size cross the wire; no message takes the node down', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `big${tag}@127.0.0.1`;
  const TS2 = `big2x${tag}@127.0.0.1`;
  const E = `ebig${tag}@127.0.0.1`;
  let epmdPort = 0;
  let env: NodeJS.ProcessEnv = {};
  const logs: string[] = [];
  // OTP 25 makes integers up to 2^25 bits; OTP 26 and later up to 4,194,240 bits.
  const otp25 = erlSkipReason() === false && erlOtpRelease() < 26;
  const integerBits = otp25 ? 8_000_001 : MAX_PORTABLE_BIGINT_BYTES * 8;
  const limits = otp25 ? { limits: { maxSentBigIntBytes: 4 * 1024 * 1024 } } : {};
  const dir = mkdtempSync(join(tmpdir(), 'beamline-bigterms-'));
  let ts: Node;
  let ts2: Node;
  let erl: ErlNode;

  /** Evaluates an Erlang expression on the erl node; returns the printed result without whitespace. */
  function erlCall(expr: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('erl_call', ['-name', E, '-c', COOKIE, '-e'], { env, timeout: 300_000, cwd: dir, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err === null ? resolve(stdout.replace(/\s+/g, '')) : reject(new Error(`erl_call failed: ${err.message} ${stdout} ${stderr}`)),
      );
      child.stdin?.end(`${expr}\n`);
    });
  }

  before(async () => {
    epmdPort = await freePort();
    env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' };
    ts = await startNode({
      name: TS,
      cookie: COOKIE,
      epmdPort,
      ...limits,
      node: { logger: (level, message) => logs.push(`${level} ${message}`), shutdownTimeout: 200 },
    });
    await startServer<{ call: [unknown, unknown] }, undefined, undefined>(ts, { init: () => ok(undefined), handleCall: (req, _f, s) => reply(req, req, s) }, undefined, {
      name: 'echo',
    });
    await startServer<{ call: [unknown, unknown]; cast: [unknown] }, Map<unknown, unknown>, undefined>(
      ts,
      {
        init: () => ok(new Map<unknown, unknown>([[atom('answer'), 42]])),
        handleCall: (req, _f, s) => reply(req, req instanceof Tuple ? s.get(req.elements[1]) : undefined, s),
        handleCast: (_m, s) => noreply(s),
      },
      undefined,
      { name: 'kv' },
    );
    ts.spawn({ handleMessage() {} }, { name: 'sink' });
    ts2 = await startNode({ name: TS2, cookie: COOKIE, epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    writeFileSync(join(dir, 'big_terms.erl'), BIG_MOD.replace('INTEGER_BITS', String(integerBits - 1)));
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval: `code:add_patha("${dir}"), {ok, _} = compile:file("${dir}/big_terms", [{outdir, "${dir}"}]), {ok, _} = big_terms:start(), io:format("READY~n").`,
    });
    await erl.waitForOutput(/READY/);
  });

  after(async () => {
    await erl?.kill();
    await ts2?.stop();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a Server on `ts` whose every reply cannot be encoded. */
  async function unencodableServer(name: string, make: () => unknown): Promise<void> {
    await startServer<{ call: [unknown, unknown] }, undefined, undefined>(ts, { init: () => ok(undefined), handleCall: (_r, _f, s) => reply(_r, make(), s) }, undefined, {
      name,
    });
  }

  it('Erlang → Beamline → Erlang: 100,000-deep tuple, list and map, a 200,000-append iolist, the widest integer and a 200 MB binary', async () => {
    const out = await erlCall(`big_terms:roundtrip('${TS}', [tuple, list, map, iolist, integer, binary]).`);
    assert.equal(out, '{ok,{[{tuple,true},{list,true},{map,true},{iolist,true},{integer,true},{binary,true}],up}}', out);
    assert.ok(!logs.some((l) => /connection to .* closed/.test(l)), logs.join('\n'));
  });

  it('Beamline → Erlang → Beamline: the same terms, built in JavaScript', async () => {
    const cases: Array<[string, unknown]> = [];
    let t: unknown = atom('leaf');
    for (let i = 0; i < 100_000; i++) t = tuple(t);
    cases.push(['tuple', t]);
    let l: unknown = [];
    for (let i = 0; i < 100_000; i++) l = [l];
    cases.push(['list', l]);
    let m: unknown = 0;
    for (let i = 0; i < 100_000; i++) m = { k: m };
    cases.push(['map', m]);
    let io: unknown = [];
    for (let i = 0; i < 200_000; i++) io = [io, 'chunk'];
    cases.push(['iolist', io]);
    cases.push(['integer', 1n << BigInt(integerBits - 1)]);
    const bin = new Uint8Array(200_000_000);
    for (let i = 0; i < bin.length; i += 4096) bin[i] = (i >>> 12) & 0xff; // not UTF-8: comes back as bytes
    cases.push(['binary', bin]);
    const dist = distributionOf(ts);
    for (const [what, term] of cases) {
      const back = await ts.call({ name: 'big_echo', node: E }, term, { timeout: 120_000 });
      if (what === 'binary') {
        assert.ok(back instanceof Uint8Array && Buffer.compare(back, bin) === 0, what);
      } else {
        assert.ok(termEquals(back, term), what);
      }
      assert.ok(dist.connectedNodes().includes(atom(E)), `still connected after ${what}`);
    }
    const erlSide = await erlCall(`lists:member('${TS}', nodes(hidden)) orelse lists:member('${TS}', nodes()).`);
    assert.equal(erlSide, '{ok,true}');
  });

  it('an integer wider than the peers decode throws EtfEncodeError to its sender, and the connection stays up', async () => {
    const tooWide = 1n << BigInt((otp25 ? 4 * 1024 * 1024 : MAX_PORTABLE_BIGINT_BYTES) * 8);
    await assert.rejects(ts.call({ name: 'big_echo', node: E }, tooWide, { timeout: 60_000 }), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_value');
    assert.ok(distributionOf(ts).connectedNodes().includes(atom(E)), 'still connected');
    assert.equal(await ts.call({ name: 'big_echo', node: E }, atom('after'), { timeout: 60_000 }), atom('after'));
  });

  it('a reply that cannot be encoded gives an Erlang caller an exit with the typed reason at once', async () => {
    await unencodableServer('bad_fun', () => () => 1);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    await unencodableServer('bad_cycle', () => cyclic);
    // {Millis, Code, Message} from the exit {#{'__struct__' => 'Elixir.Beamline.Error', code => ..., message => ...}, {gen_server, call, _}}
    const fun = await erlCall(`big_terms:unencodable('${TS}', bad_fun).`);
    assert.match(fun, /^\{ok,\{\d+,unsupported,"cannotencodeafunction\(unsupported\)"\}\}$/, fun);
    const cycle = await erlCall(`big_terms:unencodable('${TS}', bad_cycle).`);
    assert.match(cycle, /^\{ok,\{\d+,cycle,"listvaluecontainsitself.*\(cycle\)"\}\}$/, cycle);
  });

  it('a reply that cannot be encoded gives a Beamline caller on another node a typed exit, not a timeout', async () => {
    await unencodableServer('bad_fun2', () => Symbol('nope'));
    await assert.rejects(ts2.call({ name: 'bad_fun2', node: TS }, atom('give'), { timeout: 60_000 }), (e: unknown) => {
      assert.ok(e instanceof CallExitError, String(e));
      assert.match(String((e.reason as { message?: unknown }).message), /cannot encode a symbol \(unsupported\)/);
      return true;
    });
  });

  it('110 million [] from erl are refused with a logged reason; the node answers a ping and a kv call right after', async () => {
    assert.equal(await erlCall(`big_terms:flood('${TS}').`), '{ok,{pong,42,up}}');
    await eventually(() => logs.some((l) => /refused a message from ebig.*limits\.maxHeapBytes/.test(l)), 10_000, 'the refusal log line');
    const line = logs.find((l) => /refused a message/.test(l)) ?? '';
    assert.match(line, /^warning /);
    assert.ok(distributionOf(ts).connectedNodes().includes(atom(E) as Atom));
  });
});
