/**
 * The benchmark report (`npm run bench [-- --quick]`): runs every part
 * (local, etf, distribution, web, cluster), prints one table Beamline | Erlang | ratio with
 * the targets, and writes bench/results.json:
 * an array of `{scenario, impl, value, unit, notes?, otp?, machine: {cpus, cpuModel, node, otp}}`;
 * every Erlang or Elixir row carries `otp`, the OTP version it ran on. The
 * Erlang side is the `erl` first on PATH: `PATH=/var/lib/beamline-otp/otp29/bin:$PATH
 * npm run bench` measures against OTP 29 (see scripts/otp-chroots.sh).
 *
 * Each part runs in its own child process (`node build/bench/run.js --part
 * <name> [--quick]`) with a time budget: a part that hangs, leaves handles
 * open or crashes costs its own rows only. A part whose module is not there
 * yet (bench/distribution.ts, bench/web.ts while colleagues write them) is reported
 * as "skipped: not built yet".
 *
 * Higher is better unless the unit says `lower is better`.
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './local.js';

interface Part {
  readonly name: string;
  /** Module next to this one, imported at run time (it may not exist yet). */
  readonly module: string;
  readonly exportName: string;
  /** Time budget in ms: quick, full. */
  readonly budget: readonly [number, number];
}

const PARTS: readonly Part[] = [
  { name: 'local', module: './local.js', exportName: 'runLocalBench', budget: [18_000, 600_000] },
  { name: 'etf', module: './etf.js', exportName: 'runEtfBench', budget: [60_000, 180_000] },
  { name: 'distribution', module: './distribution.js', exportName: 'runDistributionBench', budget: [25_000, 300_000] },
  { name: 'web', module: './web.js', exportName: 'runWebBench', budget: [90_000, 400_000] },
  { name: 'stage', module: './stage.js', exportName: 'runStageBench', budget: [90_000, 600_000] },
  { name: 'cluster', module: './cluster.js', exportName: 'runClusterBench', budget: [30_000, 120_000] },
  { name: 'saga', module: './saga.js', exportName: 'runSagaBench', budget: [30_000, 180_000] },
  { name: 'raft', module: './raft.js', exportName: 'runRaftBench', budget: [40_000, 180_000] },
  { name: 'cores', module: './cores.js', exportName: 'runCoresBench', budget: [150_000, 400_000] },
];

/** Target ratio Beamline/Erlang per scenario: `min` (at least) or `max` (at most). */
const TARGETS: Readonly<Record<string, { readonly op: '>=' | '<='; readonly ratio: number }>> = {
  local_send: { op: '>=', ratio: 2 },
  local_call: { op: '>=', ratio: 2 },
  remote_send: { op: '>=', ratio: 3 },
  remote_call: { op: '>=', ratio: 1.2 },
  remote_call_8: { op: '>=', ratio: 2 },
  process_bytes: { op: '<=', ratio: 1 },
  spawn_rate: { op: '>=', ratio: 1 },
  stage_throughput: { op: '>=', ratio: 2 },
  stage_remote: { op: '>=', ratio: 1.5 },
};

const RESULTS_LINE = '@@beamline-bench-results@@ ';
/** Exit code of a part child whose module is not built. */
const NOT_BUILT = 3;

// ---------------------------------------------------------------- child mode

/** Runs one part in this process and prints its results as one marked JSON line. */
async function runPartHere(part: Part, quick: boolean): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    // A variable specifier: tsc does not resolve it, so a missing colleague's module is a run-time matter.
    const specifier: string = part.module;
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message?.includes(fileURLToPath(new URL(part.module, import.meta.url))) === true) {
      process.exitCode = NOT_BUILT;
      return;
    }
    throw err;
  }
  const fn = mod[part.exportName];
  if (typeof fn !== 'function') throw new Error(`${part.module} does not export ${part.exportName}()`);
  const results = (await (fn as (o: { quick: boolean }) => Promise<unknown>)({ quick })) as unknown;
  if (!Array.isArray(results)) throw new Error(`${part.exportName}() did not return an array`);
  console.log(RESULTS_LINE + JSON.stringify(results));
  // A part may leave servers or sockets open: the results are out, so end here.
  process.exit(0);
}

// ---------------------------------------------------------------- parent mode

interface PartOutcome {
  readonly part: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly message?: string;
  readonly seconds: number;
}

function isResult(r: unknown): r is BenchResult {
  const o = r as Partial<BenchResult> | null;
  return typeof o === 'object' && o !== null && typeof o.scenario === 'string' && typeof o.impl === 'string' && typeof o.value === 'number' && typeof o.unit === 'string';
}

/** Runs a part in a child process within its budget; relays its other output, indented. */
function runPartChild(part: Part, quick: boolean): Promise<{ outcome: PartOutcome; results: BenchResult[] }> {
  const budget = part.budget[quick ? 0 : 1];
  const args = [fileURLToPath(import.meta.url), '--part', part.name, ...(quick ? ['--quick'] : [])];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { timeout: budget, maxBuffer: 16 << 20 }, (err, stdout) => {
      const seconds = (Date.now() - t0) / 1000;
      const done = (status: PartOutcome['status'], results: BenchResult[], message?: string): void =>
        resolve({ outcome: message === undefined ? { part: part.name, status, seconds } : { part: part.name, status, message, seconds }, results });
      const line = stdout.split('\n').find((l) => l.startsWith(RESULTS_LINE));
      if (err && err.code === NOT_BUILT) return done('skipped', [], 'skipped: not built yet');
      if (err && err.killed === true) return done('failed', [], `killed: over its budget of ${budget / 1000} s`);
      if (err || line === undefined) return done('failed', [], err ? `exited with ${err.code ?? err.signal}` : 'printed no results');
      const parsed = JSON.parse(line.slice(RESULTS_LINE.length)) as unknown[];
      const results = parsed.filter(isResult);
      if (results.length !== parsed.length) console.error(`  [${part.name}] ${parsed.length - results.length} malformed result(s) ignored`);
      done('ok', results);
    });
    // Relay progress as it comes, without the results line.
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        const l = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (!l.startsWith(RESULTS_LINE) && l.trim() !== '') console.log(`  [${part.name}] ${l}`);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') console.error(`  [${part.name}] ${l}`);
    });
  });
}

function otpVersion(): string | null {
  const r = spawnSync(
    'erl',
    ['-noshell', '-eval', 'R = erlang:system_info(otp_release), F = filename:join([code:root_dir(), "releases", R, "OTP_VERSION"]), V = case file:read_file(F) of {ok, B} -> string:trim(B); _ -> R end, io:format("~s", [V]), halt().'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
}

function formatValue(r: BenchResult | undefined): string {
  if (r === undefined) return '-';
  const v = r.value;
  const text = v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toPrecision(3);
  return `${text} ${r.unit.replace(' (lower is better)', '')}`;
}

function table(results: readonly BenchResult[], otp: string | null): string {
  const byScenario = new Map<string, Map<string, BenchResult>>();
  const others = new Set<string>();
  for (const r of results) {
    let row = byScenario.get(r.scenario);
    if (row === undefined) byScenario.set(r.scenario, (row = new Map()));
    row.set(r.impl, r);
    if (r.impl !== 'beamline' && r.impl !== 'erlang') others.add(r.impl);
  }
  const header = ['scenario', 'beamline', otp === null ? 'erlang' : `erlang (OTP ${otp})`, 'ratio', 'target', ...others];
  const rows: string[][] = [];
  for (const [scenario, row] of byScenario) {
    const ours = row.get('beamline');
    const theirs = row.get('erlang');
    const ratio = ours !== undefined && theirs !== undefined && theirs.value !== 0 ? ours.value / theirs.value : undefined;
    const lower = (ours ?? theirs)?.unit.includes('lower is better') === true;
    const target = TARGETS[scenario];
    let targetText = '';
    if (target !== undefined) {
      const met = ratio === undefined ? undefined : target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio;
      targetText = `${target.op} ${target.ratio}x ${met === undefined ? '(no ratio)' : met ? 'MET' : 'not met'}`;
    }
    const ratioText = ratio === undefined ? '-' : `${ratio.toFixed(2)}x${lower ? ' (lower is better)' : ''}`;
    rows.push([scenario, formatValue(ours), formatValue(theirs), ratioText, targetText, ...[...others].map((o) => formatValue(row.get(o)))]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const partIndex = process.argv.indexOf('--part');
  if (partIndex >= 0) {
    const name = process.argv[partIndex + 1];
    const part = PARTS.find((p) => p.name === name);
    if (part === undefined) throw new Error(`unknown part ${String(name)}; parts: ${PARTS.map((p) => p.name).join(', ')}`);
    await runPartHere(part, quick);
    return;
  }
  const only = process.argv.flatMap((a) => (a.startsWith('--only=') ? a.slice(7).split(',') : []));
  const t0 = Date.now();
  const otp = otpVersion();
  const cpuList = cpus();
  const machine = { cpus: cpuList.length, cpuModel: cpuList[0]?.model.trim() ?? 'unknown', node: process.version, otp };
  console.log(`Beamline benchmarks${quick ? ' (quick)' : ''}: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, OTP ${otp ?? 'not installed: Erlang rows skipped'}`);
  const results: BenchResult[] = [];
  const outcomes: PartOutcome[] = [];
  for (const part of PARTS) {
    if (only.length > 0 && !only.includes(part.name)) continue;
    console.log(`\n== ${part.name} (budget ${part.budget[quick ? 0 : 1] / 1000} s)`);
    const { outcome, results: rs } = await runPartChild(part, quick);
    results.push(...rs);
    outcomes.push(outcome);
    console.log(`  ${outcome.status === 'ok' ? `${rs.length} results` : outcome.message} in ${outcome.seconds.toFixed(1)} s`);
  }
  console.log(`\n${table(results, otp)}`);
  // Notes, once per scenario when every implementation has the same.
  const notes = new Map<string, Map<string, string[]>>();
  for (const r of results) {
    if (r.notes === undefined) continue;
    let byNote = notes.get(r.scenario);
    if (byNote === undefined) notes.set(r.scenario, (byNote = new Map()));
    byNote.set(r.notes, [...(byNote.get(r.notes) ?? []), r.impl]);
  }
  if (notes.size > 0) console.log('\nNotes:');
  for (const [scenario, byNote] of notes)
    for (const [note, impls] of byNote) console.log(`  ${scenario}${byNote.size > 1 ? ` (${impls.join(', ')})` : ''}: ${note}`);
  for (const o of outcomes) if (o.status !== 'ok') console.log(`  part ${o.part}: ${o.message}`);
  const file = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
  // The file is the array of rows the issue asks for; each row also carries the machine it was measured on.
  const onOtp = (r: BenchResult): boolean => otp !== null && (r.impl === 'erlang' || r.impl === 'elixir');
  writeFileSync(file, `${JSON.stringify(results.map((r) => ({ ...r, ...(onOtp(r) ? { otp } : {}), machine })), null, 2)}\n`);
  console.log(`\nWrote ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s total.`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
