/**
 * ETF codec benchmark: encode and decode throughput of Beamline's codec
 * next to Erlang's own term_to_binary/binary_to_term on the same terms, in
 * the same run (a compiled Erlang module). Both sides count CPU time
 * (`process.cpuUsage()`, `statistics(runtime)`), so the ratios hold on a
 * shared machine, and the two sides take turns: after a warm-up of a quarter
 * window on each, windows of Beamline and of Erlang alternate (five for the
 * small term and the map, three for the big terms) and each side's row is its
 * median window. Noise that comes and goes on the machine falls on both sides
 * alike instead of on whichever side happened to run then.
 *
 * Scenarios: a small gen_server call message
 * `{'$gen_call', {Pid, Ref}, {get, <<"key">>}}`, a ~1 KB map with 20 atom keys
 * and 20 different 36-byte binary values, a 1 MB binary (also decoded as a view under
 * `binaries: 'bytes', copyBinaries: false`), a tuple nested 100,000 deep and
 * a 1 MB integer (`1 bsl 8000000`).
 *
 * Run alone: `npx tsc -p . && node build/bench/etf.js [--quick]`
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { atom, tuple, Pid, Ref } from '../src/terms/index.js';
import { Encoder, Decoder } from '../src/etf/index.js';

/** One measurement. */
export interface EtfBenchResult {
  scenario: string;
  impl: 'beamline' | 'erlang';
  value: number;
  unit: string;
}

interface Scenario {
  id: 'small' | 'map1k' | 'bin1m' | 'deep100k' | 'int1m';
  term: unknown;
}

function scenarios(): Scenario[] {
  const node = atom('nonode@nohost');
  const small = tuple(atom('$gen_call'), tuple(new Pid(node, 85, 0, 0), new Ref(node, 0, [171190, 2350972931, 3952384173])), tuple(atom('get'), 'key'));
  // Twenty different values, `value_01_vvv…` to `value_20_vvv…` (36 characters each, as on the Erlang side), so
  // nothing gains from values being alike. The map is what Beamline's decoder makes of it, as a received map
  // is: built in one step (twenty properties stored one by one put a V8 object in dictionary mode, where
  // Object.keys alone takes 262 ns instead of 21 ns), its values flat strings rather than the rope a
  // template literal makes.
  const literal = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`field_${i + 1}`, `value_${String(i + 1).padStart(2, '0')}_${'v'.repeat(27)}`]));
  const map = new Decoder().decode(new Encoder().encode(literal));
  const bin = new Uint8Array(1 << 20);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) & 0xff; // not valid UTF-8: stays bytes
  let deep: unknown = atom('leaf');
  for (let i = 0; i < 100_000; i++) deep = tuple(deep);
  return [
    { id: 'small', term: small },
    { id: 'map1k', term: map },
    { id: 'bin1m', term: bin },
    { id: 'deep100k', term: deep },
    { id: 'int1m', term: 1n << 8_000_000n },
  ];
}

/** CPU time of this process in ns (user + system): what the codec costs, not how busy the machine is. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Runs `fn` in doubling batches until `ms` of CPU time have passed: operations per CPU second. */
function rate(fn: () => number, ms: number): number {
  let sink = 0;
  let n = 1;
  let elapsed = 0;
  let total = 0;
  const deadline = ms * 1e6;
  while (elapsed < deadline) {
    const t0 = cpuNs();
    for (let i = 0; i < n; i++) sink += fn();
    elapsed += cpuNs() - t0;
    total += n;
    if (n < 1 << 20) n *= 2;
  }
  if (sink === -1) console.log(sink);
  return total / (elapsed / 1e9);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function rows(impl: 'beamline' | 'erlang', id: string, op: 'encode' | 'decode', perSecond: number, bytes: number): EtfBenchResult[] {
  const out: EtfBenchResult[] = [];
  const mbps = (perSecond * bytes) / 1e6;
  const name = id === 'small' ? `etf_${op}` : `etf_${op}_${id}`;
  const mbpsName = id === 'small' ? `etf_${op}_small_mbps` : `etf_${op}_${id}_mbps`;
  out.push({ scenario: name, impl, value: perSecond, unit: 'terms/s' });
  out.push({ scenario: mbpsName, impl, value: mbps, unit: 'MB/s' });
  return out;
}

const ERL_MODULE = `
-module(etf_bench).
-export([main/0]).

enc(_T, 0, Acc) -> Acc;
enc(T, N, Acc) -> enc(T, N - 1, Acc + byte_size(term_to_binary(T))).
dec(_B, 0, Acc) -> Acc;
dec(B, N, Acc) -> dec(B, N - 1, Acc + check(binary_to_term(B))).
check(T) when is_tuple(T); is_map(T); is_binary(T); is_integer(T) -> 1;
check(_) -> 0.

%% Runs F in doubling batches until Ms of CPU time (statistics(runtime), as the
%% Beamline side counts it) have passed: operations per CPU second.
rate(F, Limit, N, Total, Elapsed) when Elapsed < Limit ->
    {T0, _} = statistics(runtime),
    F(N),
    {T1, _} = statistics(runtime),
    rate(F, Limit, min(N * 2, 1 bsl 20), Total + N, Elapsed + (T1 - T0));
rate(_F, _Limit, _N, Total, Elapsed) -> Total / (Elapsed / 1.0e3).

%% Serves "Id Op Ms" lines from the Beamline side: one measured window each, so
%% the two sides' windows alternate in time.
main() ->
    Small = {'$gen_call', {self(), make_ref()}, {get, <<"key">>}},
    Map = maps:from_list([{list_to_atom("field_" ++ integer_to_list(I)), list_to_binary(io_lib:format("value_~2..0B_~s", [I, lists:duplicate(27, $v)]))} || I <- lists:seq(1, 20)]),
    Bin = list_to_binary([(I * 7919) band 255 || I <- lists:seq(0, (1 bsl 20) - 1)]),
    Deep = lists:foldl(fun(_, A) -> {A} end, leaf, lists:seq(1, 100000)),
    %% OTP 26 and later refuse integers over 4,194,240 bits: no int1m row from them.
    Int = try 1 bsl list_to_integer("8000000") catch error:system_limit -> none end,
    Terms = #{small => Small, map1k => Map, bin1m => Bin, deep100k => Deep, int1m => Int},
    io:format("ready~n"),
    loop(Terms, #{}).

loop(Terms, Bins) ->
    case io:get_line('') of
        Line when is_list(Line) ->
            [IdS, Op, MsS] = string:lexemes(string:trim(Line), " "),
            Id = list_to_atom(IdS),
            case maps:get(Id, Terms) of
                none -> io:format("~s ~s skip~n", [IdS, Op]), loop(Terms, Bins);
                T -> window(Terms, Bins, IdS, Id, Op, MsS, T)
            end;
        _ -> halt(0)
    end.

window(Terms, Bins, IdS, Id, Op, MsS, T) ->
    B = case Bins of #{Id := Known} -> Known; _ -> term_to_binary(T) end,
    F = case Op of
        "encode" -> fun(N) -> enc(T, N, 0) end;
        "decode" -> fun(N) -> dec(B, N, 0) end
    end,
    R = rate(F, list_to_integer(MsS), 1, 0, 0),
    io:format("~s ~s ~p ~f~n", [IdS, Op, byte_size(B), R]),
    loop(Terms, Bins#{Id => B}).
`;

/** The Erlang side: an `erl` serving one measured window per request (see ERL_MODULE). */
interface ErlangSide {
  /** Operations per CPU second of `op` on scenario `id` over `ms` of CPU time, and the term's size; undefined when this OTP cannot make the term. */
  measure(id: string, op: 'encode' | 'decode', ms: number): Promise<{ rate: number; bytes: number } | undefined>;
  close(): void;
}

async function startErlang(): Promise<ErlangSide | undefined> {
  if (spawnSync('erl', ['-version'], { stdio: 'ignore' }).error !== undefined) {
    console.error('etf bench: erl not found; Erlang rows skipped');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'beamline-etf-bench-'));
  writeFileSync(join(dir, 'etf_bench.erl'), ERL_MODULE);
  const code = `{ok, etf_bench} = compile:file("etf_bench", [report]), etf_bench:main().`;
  // Schedulers that sleep at once when idle (no busy wait): between its windows the erl waits for the next request
  // without spinning on a core the Beamline side is measuring on (and spinning would count in its own runtime too).
  const child = spawn('erl', ['+sbwt', 'none', '+sbwtdcpu', 'none', '+sbwtdio', 'none', '-noshell', '-eval', code], { cwd: dir, env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let pending = '';
  let ended = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let i: number;
    while ((i = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, i).trim());
      pending = pending.slice(i + 1);
    }
    if (waiting !== undefined && lines.length > 0) {
      const w = waiting;
      waiting = undefined;
      w(lines.shift());
    }
  });
  const end = (): void => {
    ended = true;
    rmSync(dir, { recursive: true, force: true });
    if (waiting !== undefined) waiting(undefined);
  };
  child.on('exit', end);
  child.on('error', end);
  const next = (): Promise<string | undefined> => {
    if (lines.length > 0) return Promise.resolve(lines.shift());
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (waiting = resolve));
  };
  // Lines before `ready` are the compiler's (warnings of a newer OTP).
  const before: string[] = [];
  for (;;) {
    const line = await next();
    if (line === 'ready') break;
    if (line === undefined) throw new Error(`erl bench did not start: ${before.join('\n')}`);
    before.push(line);
  }
  return {
    async measure(id, op, ms) {
      child.stdin.write(`${id} ${op} ${Math.round(ms)}\n`);
      const line = await next();
      if (line === `${id} ${op} skip`) return undefined;
      const m = line === undefined ? null : /^(\w+) (\w+) (\d+) ([\d.]+)$/.exec(line);
      if (m === null) throw new Error(`erl bench: unexpected reply ${line ?? '(exited)'}`);
      return { rate: Number(m[4]), bytes: Number(m[3]) };
    },
    close() {
      child.stdin.end();
    },
  };
}

/**
 * Runs the ETF benchmark. Each measurement alternates between the two sides:
 * a warm-up of a quarter window on each, then `rounds` windows of Beamline and
 * Erlang in turn, and each side's median window is its row. Machine noise that
 * comes and goes (other work on the cores, frequency) lands on both sides alike.
 */
async function measureBoth(erl: ErlangSide | undefined, id: string, op: 'encode' | 'decode', fn: () => number, ms: number, rounds: number): Promise<{ ours: number; theirs: number | undefined; bytes: number }> {
  rate(fn, ms / 4);
  if (erl !== undefined) await erl.measure(id, op, ms / 4);
  const ours: number[] = [];
  const theirs: number[] = [];
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    ours.push(rate(fn, ms));
    const t = await erl?.measure(id, op, ms);
    if (t !== undefined) {
      theirs.push(t.rate);
      bytes = t.bytes;
    }
  }
  return { ours: median(ours), theirs: theirs.length === 0 ? undefined : median(theirs), bytes };
}

/**
 * Runs the ETF benchmark, Beamline and Erlang in alternating windows (see `measureBoth`).
 * About 40 s in full, about 12 s with `quick`.
 */
export async function runEtfBench(opts: { quick: boolean }): Promise<EtfBenchResult[]> {
  const quick = opts.quick;
  const erl = await startErlang();
  // The 1 MB integer is what OTP 25 (the erl side here) makes; OTP 26+ peers would refuse it, so the default encoder does too.
  const enc = new Encoder({ maxBigIntBytes: 4 * 1024 * 1024 });
  const dec = new Decoder();
  const out: EtfBenchResult[] = [];
  try {
    for (const s of scenarios()) {
      const bytes = enc.encode(s.term);
      const big = s.id !== 'small' && s.id !== 'map1k';
      // Windows of CPU time, each side's row the median of its windows (Erlang's clock counts milliseconds: windows of 100 ms or more).
      const ms = quick ? 100 : big ? 250 : 240;
      const rounds = big ? 3 : 5;
      const e = await measureBoth(erl, s.id, 'encode', () => enc.encode(s.term).length, ms, rounds);
      const d = await measureBoth(erl, s.id, 'decode', () => (dec.decode(bytes) === undefined ? 0 : 1), ms, rounds);
      out.push(...rows('beamline', s.id, 'encode', e.ours, bytes.length), ...rows('beamline', s.id, 'decode', d.ours, bytes.length));
      if (e.theirs !== undefined && d.theirs !== undefined) out.push(...rows('erlang', s.id, 'encode', e.theirs, e.bytes), ...rows('erlang', s.id, 'decode', d.theirs, d.bytes));
      if (s.id === 'bin1m') {
        const view = new Decoder({ binaries: 'bytes', copyBinaries: false });
        rate(() => (view.decode(bytes) === undefined ? 0 : 1), ms / 4);
        const v = median(Array.from({ length: rounds }, () => rate(() => (view.decode(bytes) === undefined ? 0 : 1), ms)));
        out.push({ scenario: 'etf_decode_bin1m_view', impl: 'beamline', value: v, unit: 'terms/s' });
      }
    }
  } finally {
    erl?.close();
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await runEtfBench({ quick: process.argv.includes('--quick') });
  const byScenario = new Map<string, { beamline?: EtfBenchResult; erlang?: EtfBenchResult }>();
  for (const r of results) {
    const e = byScenario.get(r.scenario) ?? {};
    e[r.impl] = r;
    byScenario.set(r.scenario, e);
  }
  const fmt = (r: EtfBenchResult | undefined) => (r === undefined ? '-' : `${r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(1)} ${r.unit}`);
  console.log('| scenario | beamline | erlang | ratio |');
  console.log('|---|---|---|---|');
  for (const [scenario, e] of byScenario) {
    const ratio = e.beamline !== undefined && e.erlang !== undefined ? (e.beamline.value / e.erlang.value).toFixed(2) : '-';
    console.log(`| ${scenario} | ${fmt(e.beamline)} | ${fmt(e.erlang)} | ${ratio} |`);
  }
}
