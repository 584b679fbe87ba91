/**
 * ETF codec benchmark: encode and decode throughput of Beamline's codec
 * next to Erlang's own term_to_binary/binary_to_term on the same terms, in
 * the same run (a compiled Erlang module). Both sides count CPU time
 * (`process.cpuUsage()`, `statistics(runtime)`), so the ratios hold on a
 * shared machine.
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
import { execFile, spawnSync } from 'node:child_process';
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

/**
 * Runs `fn` in growing batches until `ms` of CPU time have passed; returns
 * operations per CPU second. Both sides count CPU time (Erlang:
 * `statistics(runtime)`), so a shared, loaded machine skews neither.
 */
function opsPerSecond(fn: () => number, ms: number): number {
  // Warm-up: a quarter of the budget, run the same way (the JIT has optimized the codec by then; the Erlang side warms up alike).
  timed(fn, ms / 4);
  const { total, elapsed } = timed(fn, ms);
  return total / (elapsed / 1e9);
}

/** Runs `fn` in doubling batches until `ms` of CPU time have passed: how many runs, in how many ns. */
function timed(fn: () => number, ms: number): { total: number; elapsed: number } {
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
  return { total, elapsed };
}

function rows(impl: 'beamline' | 'erlang', id: string, op: 'encode' | 'decode', perSecond: number, bytes: number): EtfBenchResult[] {
  const out: EtfBenchResult[] = [];
  const mbps = (perSecond * bytes) / 1e6;
  if (id === 'small') {
    out.push({ scenario: `etf_${op}`, impl, value: perSecond, unit: 'terms/s' });
    out.push({ scenario: `etf_${op}_small_mbps`, impl, value: mbps, unit: 'MB/s' });
  } else {
    out.push({ scenario: `etf_${op}_${id}`, impl, value: perSecond, unit: 'terms/s' });
    out.push({ scenario: `etf_${op}_${id}_mbps`, impl, value: mbps, unit: 'MB/s' });
  }
  return out;
}

function beamline(quick: boolean): EtfBenchResult[] {
  // The 1 MB integer is what OTP 25 (the erl side here) makes; OTP 26+ peers would refuse it, so the default encoder does too.
  const enc = new Encoder({ maxBigIntBytes: 4 * 1024 * 1024 });
  const dec = new Decoder();
  const out: EtfBenchResult[] = [];
  for (const s of scenarios()) {
    const bytes = enc.encode(s.term);
    const big = s.id !== 'small' && s.id !== 'map1k';
    const ms = quick ? (big ? 100 : 200) : big ? 800 : 1200;
    const e = opsPerSecond(() => enc.encode(s.term).length, ms);
    const d = opsPerSecond(() => (dec.decode(bytes) === undefined ? 0 : 1), ms);
    out.push(...rows('beamline', s.id, 'encode', e, bytes.length), ...rows('beamline', s.id, 'decode', d, bytes.length));
    if (s.id === 'bin1m') {
      const view = new Decoder({ binaries: 'bytes', copyBinaries: false });
      const v = opsPerSecond(() => (view.decode(bytes) === undefined ? 0 : 1), ms);
      out.push({ scenario: 'etf_decode_bin1m_view', impl: 'beamline', value: v, unit: 'terms/s' });
    }
  }
  return out;
}

const ERL_MODULE = `
-module(etf_bench).
-export([main/1]).

enc(_T, 0, Acc) -> Acc;
enc(T, N, Acc) -> enc(T, N - 1, Acc + byte_size(term_to_binary(T))).
dec(_B, 0, Acc) -> Acc;
dec(B, N, Acc) -> dec(B, N - 1, Acc + check(binary_to_term(B))).
check(T) when is_tuple(T); is_map(T); is_binary(T); is_integer(T) -> 1;
check(_) -> 0.

%% CPU time (statistics(runtime), ms), as the Beamline side counts it,
%% after a warm-up of a quarter of the budget run the same way.
rate(F, Ms) ->
    rate(F, Ms div 4, 1, 0, 0),
    rate(F, Ms, 1, 0, 0).
rate(F, Limit, N, Total, Elapsed) when Elapsed < Limit ->
    {T0, _} = statistics(runtime),
    F(N),
    {T1, _} = statistics(runtime),
    rate(F, Limit, min(N * 2, 1 bsl 20), Total + N, Elapsed + (T1 - T0));
rate(_F, _Limit, _N, Total, Elapsed) -> Total / (Elapsed / 1.0e3).

main(Quick) ->
    Small = {'$gen_call', {self(), make_ref()}, {get, <<"key">>}},
    Map = maps:from_list([{list_to_atom("field_" ++ integer_to_list(I)), list_to_binary(io_lib:format("value_~2..0B_~s", [I, lists:duplicate(27, $v)]))} || I <- lists:seq(1, 20)]),
    Bin = list_to_binary([(I * 7919) band 255 || I <- lists:seq(0, (1 bsl 20) - 1)]),
    Deep = lists:foldl(fun(_, A) -> {A} end, leaf, lists:seq(1, 100000)),
    Int = 1 bsl 8000000,
    lists:foreach(fun({Id, T}) ->
        B = term_to_binary(T),
        Big = Id =/= small andalso Id =/= map1k,
        Ms = case {Quick, Big} of {true, true} -> 100; {true, false} -> 200; {false, true} -> 800; {false, false} -> 1200 end,
        E = rate(fun(N) -> enc(T, N, 0) end, Ms),
        D = rate(fun(N) -> dec(B, N, 0) end, Ms),
        io:format("~s ~p ~f ~f~n", [Id, byte_size(B), E, D])
    end, [{small, Small}, {map1k, Map}, {bin1m, Bin}, {deep100k, Deep}, {int1m, Int}]).
`;

function erlang(quick: boolean): Promise<EtfBenchResult[]> {
  if (spawnSync('erl', ['-version'], { stdio: 'ignore' }).error !== undefined) {
    console.error('etf bench: erl not found; Erlang rows skipped');
    return Promise.resolve([]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'beamline-etf-bench-'));
  writeFileSync(join(dir, 'etf_bench.erl'), ERL_MODULE);
  const code = `{ok, etf_bench} = compile:file("etf_bench", [report]), etf_bench:main(${quick}), halt(0).`;
  return new Promise<EtfBenchResult[]>((resolve, reject) => {
    execFile('erl', ['-noshell', '-eval', code], { cwd: dir, env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' }, timeout: 150_000 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      if (err) return reject(new Error(`erl bench failed: ${err.message}\n${stdout}\n${stderr}`));
      const out: EtfBenchResult[] = [];
      for (const line of stdout.split('\n')) {
        const m = /^(small|map1k|bin1m|deep100k|int1m) (\d+) ([\d.]+) ([\d.]+)$/.exec(line.trim());
        if (m === null) continue;
        const [, id, size, e, d] = m as unknown as [string, string, string, string, string];
        out.push(...rows('erlang', id, 'encode', Number(e), Number(size)), ...rows('erlang', id, 'decode', Number(d), Number(size)));
      }
      resolve(out);
    });
  });
}

/**
 * Runs the ETF benchmark: Beamline first, then Erlang on the same terms.
 * About 20 s in full, under 8 s with `quick`.
 */
export async function runEtfBench(opts: { quick: boolean }): Promise<EtfBenchResult[]> {
  const ours = beamline(opts.quick);
  const theirs = await erlang(opts.quick);
  return [...ours, ...theirs];
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
