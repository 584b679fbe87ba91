/**
 * The README's value table, row by row, through a real Erlang echo
 * gen_server over distribution, with the `erl` on PATH (OTP 25 here, OTP 27
 * and 29 from scripts/otp-chroots.sh). Each value must come back as the table
 * says, including the empty Uint8Array, empty string, list and map and the
 * widest integer that release accepts, and no value may cost the connection:
 * the Erlang server watches the Beamline node with `monitor_node` and must see
 * no `nodedown`. Skipped with a one-line reason when erl is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../core/node.js';
import {
  BitString,
  Charlist,
  charlist,
  ErlMap,
  EtfEncodeError,
  ExportFun,
  Float,
  float,
  Fun,
  MAX_PORTABLE_BIGINT_BYTES,
  NativeRecord,
  registerType,
  termEquals,
} from '../etf/index.js';
import { atom, Atom, ImproperList, Pid, Port, Ref, Tuple, tuple } from '../terms/index.js';
import { rpc, startNode } from './node-dist.js';
import { erlOtpRelease, erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { freePort } from '../../test/support.js';

const COOKIE = 'matrixcookie';

/** The echo: replies with the request; watches a node with monitor_node and reports its nodedowns. */
const VECHO_MOD = `-module(beamline_vecho).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, closure/0]).
init([]) -> {ok, []}.
handle_call({'$beamline_watch', Node}, _From, S) -> {reply, monitor_node(Node, true), S};
handle_call('$beamline_downs', _From, S) -> {reply, S, S};
handle_call(Req, _From, S) -> {reply, Req, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info({nodedown, N}, S) -> {noreply, [N | S]};
handle_info(_, S) -> {noreply, S}.
closure() -> Y = 41, fun(X) -> X + Y end.
`;

/** A class registered as the struct %Beamline.MatrixPoint{}. */
class MatrixPoint {
  constructor(
    public x: number,
    public y: number,
  ) {}
}
registerType('Beamline.MatrixPoint', MatrixPoint);

/** One row: what is sent and how its echo must look. */
interface Row {
  readonly what: string;
  readonly value: () => unknown;
  /** Asserts the echo; default: termEquals with the value sent. */
  readonly check?: (back: unknown, sent: unknown) => void;
}

const same = (back: unknown, sent: unknown): void => assert.ok(termEquals(back, sent), `expected ${String(sent)}, got ${String(back)}`);

describe('every row of the value table round-trips through an Erlang echo', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `vm${tag}@127.0.0.1`;
  const E = `evm${tag}@127.0.0.1`;
  let epmdPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'beamline-matrix-'));
  const release = erlSkipReason() === false ? erlOtpRelease() : 0;
  // OTP 25 decodes integers of up to 524,287 words (4,194,296 bytes: 1 bsl 33554367 is the widest
  // it makes; 4,194,297 bytes is badarg and drops the connection); OTP 26 and later 4,194,240 bits.
  const widestBytes = release < 26 ? 4_194_296 : MAX_PORTABLE_BIGINT_BYTES;
  const limits = release < 26 ? { limits: { maxSentBigIntBytes: widestBytes } } : {};
  let ts: Node;
  let erl: ErlNode;
  let erlPid: Pid;
  let erlPort: Port;
  let erlFun: Fun;
  const ECHO = { name: 'vecho', node: E };

  before(async () => {
    epmdPort = await freePort();
    writeFileSync(join(dir, 'beamline_vecho.erl'), VECHO_MOD);
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, ...limits, node: { logger: () => {}, shutdownTimeout: 200 } });
    erl = startErl({
      name: E,
      cookie: COOKIE,
      epmdPort,
      eval:
        `code:add_patha("${dir}"), {ok, _} = compile:file("${dir}/beamline_vecho", [{outdir, "${dir}"}]), ` +
        `{ok, _} = gen_server:start({local, vecho}, beamline_vecho, [], []), io:format("READY~n").`,
    });
    await erl.waitForOutput(/READY/);
    assert.equal(await ts.call(ECHO, tuple(atom('$beamline_watch'), atom(TS))), true);
    erlPid = (await rpc(ts, E, 'erlang', 'whereis', [atom('vecho')])) as Pid;
    const ports = (await rpc(ts, E, 'erlang', 'ports', [])) as unknown[];
    erlPort = ports[0] as Port;
    erlFun = (await rpc(ts, E, 'beamline_vecho', 'closure', [])) as Fun;
    assert.ok(erlPid instanceof Pid && erlPort instanceof Port && erlFun instanceof Fun);
  });

  after(async () => {
    await erl?.kill();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const widest = (): bigint => (1n << BigInt(widestBytes * 8)) - 1n;
  const rows: Row[] = [
    { what: 'Atom', value: () => atom('ok'), check: (b) => assert.equal(b, atom('ok')) },
    { what: 'Atom (UTF-8)', value: () => atom('héllo_ünïcode'), check: (b) => assert.equal(b, atom('héllo_ünïcode')) },
    { what: 'true / false', value: () => [true, false], check: (b) => assert.deepEqual(b, [true, false]) },
    { what: 'null / undefined', value: () => [null, undefined], check: (b) => assert.deepEqual(b, [null, undefined]) },
    { what: 'safe integers', value: () => [0, 1, -1, 255, 256, -(2 ** 31), 2 ** 31, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER] },
    {
      what: 'other numbers are floats',
      value: () => [1.5, -0.25, 1e300, Number.MIN_VALUE],
      check: (b) => assert.deepEqual(b, [1.5, -0.25, 1e300, Number.MIN_VALUE]),
    },
    {
      what: 'Float: integral stays Float, else number',
      value: () => [float(1), float(2.5)],
      check: (b) => {
        assert.ok(Array.isArray(b));
        assert.ok(b[0] instanceof Float && b[0].value === 1, String(b[0]));
        assert.equal(b[1], 2.5);
      },
    },
    {
      what: 'bigint: beyond ±(2^53−1) stays bigint, else number',
      value: () => [2n ** 64n, -(2n ** 100n), 7n, -(2n ** 53n)],
      check: (b) => assert.deepEqual(b, [2n ** 64n, -(2n ** 100n), 7, -(2n ** 53n)]),
    },
    { what: 'string (UTF-8 binary)', value: () => 'héllo ✓ 😀', check: (b) => assert.equal(b, 'héllo ✓ 😀') },
    {
      what: 'Uint8Array (not UTF-8) stays Uint8Array',
      value: () => new Uint8Array([0xff, 0, 1, 0xc3]),
      check: (b) => {
        assert.ok(b instanceof Uint8Array);
        assert.deepEqual([...b], [0xff, 0, 1, 0xc3]);
      },
    },
    {
      what: 'Uint8Array of valid UTF-8 comes back as string (binaries: auto)',
      value: () => new Uint8Array([0x68, 0x69]),
      check: (b) => assert.equal(b, 'hi'),
    },
    { what: 'empty Uint8Array comes back as the empty string', value: () => new Uint8Array(0), check: (b) => assert.equal(b, '') },
    { what: 'empty string', value: () => '', check: (b) => assert.equal(b, '') },
    {
      what: 'BitString',
      value: () => new BitString(new Uint8Array([0xab, 0xc0]), 3),
      check: (b, s) => {
        assert.ok(b instanceof BitString);
        assert.ok(termEquals(b, s));
      },
    },
    {
      what: 'Charlist (and small-integer lists never become strings)',
      value: () => [charlist('abc'), [104, 105]],
      check: (b) => {
        assert.ok(Array.isArray(b) && b[0] instanceof Charlist);
        assert.equal(b[0].value, 'abc');
        assert.ok(b[1] instanceof Charlist || Array.isArray(b[1]), String(b[1]));
        assert.notEqual(typeof b[1], 'string');
      },
    },
    { what: 'Array (proper list)', value: () => [1, 'two', [atom('three')]] },
    { what: 'empty list', value: () => [], check: (b) => assert.deepEqual(b, []) },
    { what: 'ImproperList', value: () => new ImproperList([1, 2], atom('tail')), check: (b, s) => { assert.ok(b instanceof ImproperList); same(b, s); } },
    {
      what: 'Tuple (empty, small, large)',
      value: () => [tuple(), tuple(atom('a'), 1), tuple(...Array.from({ length: 300 }, (_, i) => i))],
      check: (b, s) => { assert.ok(Array.isArray(b) && b.every((t) => t instanceof Tuple)); same(b, s); },
    },
    { what: 'plain object (atom-keyed map)', value: () => ({ a: 1, b: 'two', c: { d: [] } }), check: (b) => assert.deepEqual(b, { a: 1, b: 'two', c: { d: [] } }) },
    { what: 'empty map', value: () => ({}), check: (b) => assert.deepEqual(b, {}) },
    {
      what: 'Map with simple keys comes back as Map',
      value: () => new Map<unknown, unknown>([[1, 'one'], ['k', atom('v')]]),
      check: (b, s) => { assert.ok(b instanceof Map); same(b, s); },
    },
    {
      what: 'ErlMap with structured keys comes back as ErlMap',
      value: () => new ErlMap<unknown, unknown>([[tuple(1, 2), 'pair'], [[1], 'list']]),
      check: (b, s) => { assert.ok(b instanceof ErlMap); same(b, s); },
    },
    {
      what: 'Pid, Ref, Port (local and from Erlang)',
      value: () => [ts.spawn({ handleMessage() {} }), ts.makeRef(), erlPid, erlPort],
      check: (b, s) => {
        assert.ok(Array.isArray(b) && Array.isArray(s));
        assert.ok(b[0] instanceof Pid && b[1] instanceof Ref && b[2] instanceof Pid && b[3] instanceof Port);
        for (let i = 0; i < 4; i++) assert.ok((b[i] as { equals(o: unknown): boolean }).equals(s[i]), `element ${i}`);
      },
    },
    {
      what: 'ExportFun and Fun (closure made on Erlang)',
      value: () => [new ExportFun(atom('lists'), atom('reverse'), 1), erlFun],
      check: (b, s) => {
        assert.ok(Array.isArray(b) && Array.isArray(s));
        assert.ok(b[0] instanceof ExportFun && b[0].equals(s[0]));
        assert.ok(b[1] instanceof Fun);
        same(b[1], s[1]);
      },
    },
    {
      what: 'Date as %DateTime{}',
      value: () => new Date(Date.UTC(2026, 11, 4, 15, 30, 0, 123)),
      check: (b) => { assert.ok(b instanceof Date); assert.equal(b.getTime(), Date.UTC(2026, 11, 4, 15, 30, 0, 123)); },
    },
    {
      what: 'Error as %Beamline.Error{}',
      value: () => new RangeError('out of range'),
      check: (b) => { assert.ok(b instanceof Error); assert.equal(b.message, 'out of range'); assert.equal(b.name, 'RangeError'); },
    },
    {
      what: 'registered class as %Beamline.MatrixPoint{}',
      value: () => new MatrixPoint(3, -4),
      check: (b) => { assert.ok(b instanceof MatrixPoint); assert.equal(b.x, 3); assert.equal(b.y, -4); },
    },
    {
      what: `the widest integer this OTP accepts, positive and negative`,
      value: () => [widest(), -widest()],
      check: (b) => {
        assert.ok(Array.isArray(b));
        assert.ok(b[0] === widest() && b[1] === -widest(), 'widest integer changed on the way');
      },
    },
  ];

  for (const row of rows) {
    it(`${row.what}`, async () => {
      const sent = row.value();
      const back = await ts.call(ECHO, sent, { timeout: 60_000 });
      (row.check ?? same)(back, sent);
    });
  }

  it('NativeRecord: round-trips on OTP 29+; before, the send throws EtfEncodeError and the connection stays', async () => {
    const rec = new NativeRecord(atom('beamline_vecho'), atom('point'), [atom('x'), atom('y')], [1, atom('two')]);
    if (release >= 29) {
      const back = await ts.call(ECHO, rec, { timeout: 60_000 });
      assert.ok(back instanceof NativeRecord);
      same(back, rec);
    } else {
      await assert.rejects(ts.call(ECHO, rec, { timeout: 60_000 }), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_value' && /NATIVE_RECORDS/.test(e.message));
    }
  });

  it('no value cost the connection: monitor_node on Erlang saw no nodedown', async () => {
    assert.deepEqual(await ts.call(ECHO, atom('$beamline_downs')), []);
    assert.ok(atom(TS) instanceof Atom);
  });
});
