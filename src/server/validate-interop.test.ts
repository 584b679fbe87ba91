/**
 * A server's `validate` schemas against a real Erlang node (the erl on PATH;
 * .ci/run runs it again on OTP 27 and 29): a malformed `gen_server:call`
 * from Erlang gets `{error, {invalid_message, [#{message := Binary, path :=
 * [...]}]}}` at once (no timeout), a malformed cast or plain message is
 * dropped, and the valid ones reach the callbacks. Skipped with a one-line
 * reason when erl is missing (run and failing with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { freePort, quietLogger } from '../../test/support.js';
import { type Atom, atom } from '../terms/atom.js';
import { Charlist } from '../etf/charlist.js';
import { isTagged, Tuple, tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { StandardSchemaV1 } from '../core/standard-schema.js';
import { rpc, startNode } from '../distribution/node-dist.js';
import { getServerState, noreply, ok, reply, type ServerBehavior, startServer } from './server.js';

const COOKIE = 'validatecookie';

/** Runs in one Erlang process, so its messages reach the server in this order. */
const PROBE_MOD = `-module(validate_probe).
-export([run/1]).
run(Node) ->
    Kv = {kv, Node},
    Bad = gen_server:call(Kv, {put, <<"a">>, not_a_number}, 5000),
    BadShape = case Bad of
        {error, {invalid_message, [#{message := M, path := P}]}} when is_binary(M) -> {M, P};
        Other -> {unexpected, Other}
    end,
    Unknown = gen_server:call(Kv, hello, 5000),
    ok = gen_server:call(Kv, {put, <<"a">>, 1}, 5000),
    ok = gen_server:cast(Kv, {incr, 42}),
    ok = gen_server:cast(Kv, {incr, <<"a">>}),
    Kv ! {set, <<"b">>, <<"x">>},
    Kv ! {set, <<"b">>, 7},
    A = gen_server:call(Kv, {get, <<"a">>}, 5000),
    B = gen_server:call(Kv, {get, <<"b">>}, 5000),
    {BadShape, Unknown, A, B}.
`;

type Kv = {
  call: [Tuple<[Atom<'get'>, string]>, number | undefined] | [Tuple<[Atom<'put'>, string, number]>, Atom<'ok'>];
  cast: Tuple<[Atom<'incr'>, string]>;
  info: Tuple<[Atom<'set'>, string, number]>;
};
type State = Record<string, number>;

/** A schema from a check that returns the problem (a message, or a message and a path), or undefined. */
function schema<T>(check: (v: unknown) => string | [string, number[]] | undefined): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (v) => {
        const problem = check(v);
        if (problem === undefined) return { value: v as T };
        const [message, path] = typeof problem === 'string' ? [problem, undefined] : problem;
        return { issues: [{ message, ...(path !== undefined ? { path } : {}) }] };
      },
    },
  };
}

const elements = (v: unknown): unknown[] => (v instanceof Tuple ? v.elements : []);

const kv: ServerBehavior<Kv, State> = {
  validate: {
    call: schema((v) => {
      const e = elements(v);
      if (!(e[0] === atom('get') && e.length === 2) && !(e[0] === atom('put') && e.length === 3)) return 'expected {get, Key} or {put, Key, Number}';
      if (typeof e[1] !== 'string') return 'the key must be a string';
      if (e.length === 3 && typeof e[2] !== 'number') return ['the value must be a number', [2]];
      return undefined;
    }),
    cast: schema((v) => (isTagged(v, 'incr', 2) && typeof v.elements[1] === 'string' ? undefined : 'expected {incr, Key}')),
    info: schema((v) => (isTagged(v, 'set', 3) && typeof v.elements[1] === 'string' && typeof v.elements[2] === 'number' ? undefined : 'expected {set, Key, Number}')),
  },
  init: () => ok({}),
  handleCall(request, _from, s) {
    if (isTagged(request, 'get')) return reply(request, s[request.elements[1]], s);
    return reply(request, atom('ok'), { ...s, [request.elements[1]]: request.elements[2] });
  },
  handleCast: (message, s) => noreply({ ...s, [message.elements[1]]: (s[message.elements[1]] ?? 0) + 1 }),
  handleInfo: (message, s) => (isTagged(message, 'set', 3) ? noreply({ ...s, [message.elements[1] as string]: message.elements[2] as number }) : noreply(s)),
};

describe('Server validate with the erl on PATH', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `tv${tag}@127.0.0.1`;
  const E = `ev${tag}@127.0.0.1`;
  let epmdPort = 0;
  const logs = quietLogger();
  let ts: Node;
  let erl: ErlNode;
  const dir = mkdtempSync(join(tmpdir(), 'beamline-validate-'));

  before(async () => {
    epmdPort = await freePort();
    writeFileSync(join(dir, 'validate_probe.erl'), PROBE_MOD);
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: { logger: logs.log, shutdownTimeout: 200 } });
    await startServer(ts, kv, undefined, { name: 'kv' });
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval: `code:add_patha("${dir}"), {ok, _} = compile:file("${dir}/validate_probe", [{outdir, "${dir}"}]), io:format("READY~n").`,
    });
    await erl.waitForOutput(/READY/);
  });

  after(async () => {
    await erl?.kill();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a malformed call from Erlang is answered {error, {invalid_message, Issues}}; malformed casts and messages are dropped', async () => {
    const result = await rpc(ts, E, 'validate_probe', 'run', [atom(TS)], { timeout: 30_000 });
    assert.deepEqual(
      result,
      tuple(
        // Erlang matched #{message := Binary, path := [2]} (a list of small integers comes back as a Charlist)
        tuple('the value must be a number', new Charlist('\u0002')),
        tuple(atom('error'), tuple(atom('invalid_message'), [{ message: 'expected {get, Key} or {put, Key, Number}', path: [] }])),
        2, // put 1, then the valid incr; the cast {incr, 42} was dropped
        7, // the message {set, b, <<"x">>} was dropped
      ),
    );
    assert.deepEqual(await getServerState(ts, 'kv'), { a: 2, b: 7 });
    for (const kind of ['call', 'call', 'cast', 'info'])
      assert.ok(
        logs.lines.some((l) => l.startsWith(`warning: server refused an invalid ${kind}`)),
        `a warning for the ${kind}:\n${logs.lines.join('\n')}`,
      );
    assert.ok(logs.lines.some((l) => /refused an invalid call from <\d+\.\d+\.\d+>/.test(l)), 'the caller pid is named');
  });
});
