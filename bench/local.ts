/**
 * Local benchmark: message passing, calls, spawning and process memory on
 * one Beamline node, next to the same scenarios on Erlang/OTP in the same
 * run (bench/erlang/beamline_bench.erl, same message shapes and counts).
 *
 * Scenarios:
 * - `local_send`: one sender sends N `{msg, I}` to one receiver, in chunks of
 *   1,000 (it sends itself `more` between chunks, as an Erlang process is
 *   preempted); the receiver counts to N, then notifies. msgs/s.
 * - `local_pingpong`: `{ping, Pid}` / `pong` between two processes. round trips/s.
 * - `local_call`: one process makes N sequential calls to a counter Server
 *   (default 5 s timeout, as gen_server:call/2). calls/s.
 * - `local_call_8`: 8 caller processes, N/8 calls each, to one Server. calls/s total.
 * - `spawn_rate`: a process spawns N processes; each sends `done` to it and
 *   exits; timed until all N `done`s are in. processes/s.
 * - `process_bytes`: heap growth per idle process with N processes alive
 *   (heapUsed after gc; Erlang: erlang:memory(processes)). Lower is better.
 *
 * Each Beamline scenario runs in a fresh `node` child process (JIT and GC of
 * one do not touch another): `node build/bench/local.js <scenario> <n>`
 * prints one `RESULT {json}` line. Each scenario first runs a tenth of the
 * work as warm-up, then 2 (quick) or 3 measured runs and keeps the best;
 * Erlang does the same.
 *
 * Run alone: `npx tsc -p . && node build/bench/local.js [--quick]`
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Node, type Process, type ProcessHandler } from '../src/core/index.js';
import { ok, reply, startServer, type ServerBehavior } from '../src/server/index.js';
import { Atom, atom, Pid, Tuple, tuple } from '../src/terms/index.js';

/** One measurement, as bench/results.json stores it. */
export interface BenchResult {
  scenario: string;
  impl: string;
  value: number;
  unit: string;
  /** How it was measured when that matters to read the value (counts, caveats). */
  notes?: string;
}

export const LOCAL_SCENARIOS = ['local_send', 'local_pingpong', 'local_call', 'local_call_8', 'spawn_rate', 'process_bytes'] as const;
export type LocalScenario = (typeof LOCAL_SCENARIOS)[number];

/** N per scenario; the same on both sides. */
export function localCounts(quick: boolean): Record<LocalScenario, number> {
  return quick
    ? { local_send: 300_000, local_pingpong: 100_000, local_call: 50_000, local_call_8: 80_000, spawn_rate: 100_000, process_bytes: 100_000 }
    : { local_send: 2_000_000, local_pingpong: 500_000, local_call: 300_000, local_call_8: 400_000, spawn_rate: 500_000, process_bytes: 1_000_000 };
}

const UNITS: Record<LocalScenario, string> = {
  local_send: 'msgs/s',
  local_pingpong: 'round trips/s',
  local_call: 'calls/s',
  local_call_8: 'calls/s',
  spawn_rate: 'processes/s',
  process_bytes: 'bytes/process (lower is better)',
};

const CHUNK = 1000;
const A_GO = atom('go');
const A_MORE = atom('more');
const A_MSG = atom('msg');
const A_PING = atom('ping');
const A_PONG = atom('pong');
const A_GET = atom('get');
const A_DONE = atom('done');

/** A fresh node that reports nothing, and a promise its processes resolve when the work is done. */
function setup(): { node: Node; finished: Promise<void>; done: () => void } {
  const node = new Node({ name: 'bench@127.0.0.1', logger: () => {} });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  return { node, finished, done };
}

/** Starts the work with `go` to `starter`, waits for `finished`, stops the node; returns n per second. */
async function timed(node: Node, starter: Pid, finished: Promise<void>, n: number): Promise<number> {
  const t0 = performance.now();
  node.send(starter, A_GO);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await node.stop();
  return n / seconds;
}

async function localSend(n: number): Promise<number> {
  const { node, finished, done } = setup();
  let count = 0;
  const receiver = node.spawn({
    handleMessage(m) {
      if (m instanceof Tuple && m.elements[0] === A_MSG && ++count === n) done();
    },
  });
  let i = 0;
  const sender = node.spawn({
    handleMessage(_m, p) {
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) p.send(receiver, tuple(A_MSG, i));
      if (i < n) p.send(p.self, A_MORE);
    },
  });
  return timed(node, sender, finished, n);
}

async function pingpong(n: number): Promise<number> {
  const { node, finished, done } = setup();
  const ponger = node.spawn({
    handleMessage(m, p) {
      if (m instanceof Tuple && m.elements[0] === A_PING) p.send(m.elements[1] as Pid, A_PONG);
    },
  });
  let k = 0;
  const pinger = node.spawn({
    handleMessage(m, p) {
      if (m === A_PONG && ++k === n) return done();
      p.send(ponger, tuple(A_PING, p.self));
    },
  });
  return timed(node, pinger, finished, n);
}

type CounterProtocol = { call: [Atom<'get'>, number] };
const counter: ServerBehavior<CounterProtocol, number> = {
  init: () => ok(0),
  handleCall: (req, _from, n) => reply(req, n, n + 1),
};

async function calls(callers: number, n: number): Promise<number> {
  const { node, finished, done } = setup();
  const server = await startServer(node, counter, undefined);
  const per = Math.floor(n / callers);
  let left = callers;
  const caller: ProcessHandler = {
    async handleMessage(_m, p) {
      for (let i = 0; i < per; i++) await p.call(server, A_GET as Atom<'get'>);
      if (--left === 0) done();
    },
  };
  const pids = Array.from({ length: callers }, () => node.spawn(caller));
  // Like Erlang's list of `go`s: all callers start together, the clock starts before the first.
  const t0 = performance.now();
  for (const pid of pids) node.send(pid, A_GO);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await node.stop();
  return (per * callers) / seconds;
}

async function spawns(n: number): Promise<number> {
  const { node, finished, done } = setup();
  // One handler for all children, as one Erlang fun's code serves all of them.
  const child: ProcessHandler = {
    init(c: Process) {
      c.send(c.parent as Pid, A_DONE);
      c.stop(); // the idiomatic way to end from init: the process is gone once init returns
    },
    handleMessage() {},
  };
  let got = 0;
  const spawner = node.spawn({
    handleMessage(m, p) {
      if (m === A_GO) for (let i = 0; i < n; i++) p.spawn(child);
      else if (m === A_DONE && ++got === n) done();
    },
  });
  return timed(node, spawner, finished, n);
}

/** `global.gc`, enabled at run time when node was not started with --expose-gc. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function processBytes(n: number): Promise<number> {
  const gc = gcFunction();
  const { node } = setup();
  const idle: ProcessHandler = { handleMessage() {} };
  // Until a sentinel spawned last has run, the scheduler has not yet run every earlier process's init.
  const settle = (): Promise<void> => new Promise<void>((resolve) => node.spawn({ init: (p) => (resolve(), p.exit()), handleMessage() {} }));
  for (let i = 0; i < 1000; i++) node.spawn(idle); // warm-up: tables and code exist before the baseline
  await settle();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  // Chunks of 10,000 so the run queue does not grow to N slots (it would stay that big and count here).
  for (let done = 0; done < n; ) {
    const k = Math.min(10_000, n - done);
    for (let i = 0; i < k; i++) node.spawn(idle);
    done += k;
    await settle();
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const alive = node.processes().length;
  if (alive !== n + 1000) throw new Error(`process_bytes: expected ${n + 1000} processes alive, found ${alive}`);
  await node.stop();
  return (after - before) / n;
}

async function runScenario(id: LocalScenario, n: number): Promise<number> {
  switch (id) {
    case 'local_send':
      return localSend(n);
    case 'local_pingpong':
      return pingpong(n);
    case 'local_call':
      return calls(1, n);
    case 'local_call_8':
      return calls(8, n);
    case 'spawn_rate':
      return spawns(n);
    case 'process_bytes':
      return processBytes(n);
  }
}

/**
 * Runs one scenario in this process: a tenth as warm-up, then `repeats`
 * measured runs, and keeps the best (the machine is shared: the best run is
 * the one least disturbed). process_bytes runs once.
 */
export async function measureHere(id: LocalScenario, n: number, repeats: number): Promise<number> {
  if (id === 'process_bytes') return runScenario(id, n);
  await runScenario(id, Math.max(id === 'local_call_8' ? 8 : 1, Math.floor(n / 10)));
  let best = 0;
  for (let i = 0; i < repeats; i++) best = Math.max(best, await runScenario(id, n));
  return best;
}

/** Measured runs per scenario, on both sides. */
export function localRepeats(quick: boolean): number {
  return quick ? 2 : 3;
}

function notesFor(id: LocalScenario, n: number, repeats: number): string {
  return id === 'process_bytes' ? `${n.toLocaleString('en-US')} idle processes` : `n=${n.toLocaleString('en-US')}, best of ${repeats}`;
}

const RESULT_PREFIX = 'RESULT ';
const here = fileURLToPath(import.meta.url);

/** Runs `node <this file> <id> <n>` and reads its RESULT line. */
function runChild(id: LocalScenario, n: number, repeats: number, timeoutMs: number): Promise<BenchResult> {
  const flags = id === 'process_bytes' ? ['--expose-gc', `--max-old-space-size=${n > 200_000 ? 8192 : 2048}`] : [];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...flags, here, id, String(n), String(repeats)], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${id}: ${err.killed ? `timed out after ${timeoutMs} ms` : err.message}\n${stderr}`));
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (line === undefined) return reject(new Error(`${id}: no result in output\n${stdout}\n${stderr}`));
      const { value } = JSON.parse(line.slice(RESULT_PREFIX.length)) as { value: number };
      resolve({ scenario: id, impl: 'beamline', value, unit: UNITS[id], notes: notesFor(id, n, repeats) });
    });
  });
}

/** Where the Erlang module lives: bench/erlang, next to this file's source (this file runs from build/bench). */
const erlSource = fileURLToPath(new URL('../../bench/erlang/beamline_bench.erl', import.meta.url));

/** True when `erl` and `erlc` can be run. */
export function hasErlang(): boolean {
  return spawnSync('erl', ['-version'], { stdio: 'ignore' }).error === undefined && spawnSync('erlc', ['-help'], { stdio: 'ignore' }).error === undefined;
}

/** Compiles bench/erlang/beamline_bench.erl into a temp dir and runs the scenarios in one `erl`. */
function runErlang(counts: [LocalScenario, number][], repeats: number, timeoutMs: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'beamline-bench-'));
  const compiled = spawnSync('erlc', ['-o', dir, erlSource], { encoding: 'utf8' });
  if (compiled.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return Promise.reject(new Error(`erlc failed: ${compiled.stderr}${compiled.stdout}`));
  }
  const list = counts.map(([id, n]) => `{${id}, ${n}}`).join(', ');
  const code = `beamline_bench:run([${list}], ${repeats}), halt(0).`;
  const args = ['+P', '4000000', '-noshell', '-pa', dir, '-eval', code];
  return new Promise((resolve, reject) => {
    execFile('erl', args, { timeout: timeoutMs, env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      if (err) return reject(new Error(`erl failed: ${err.killed ? `timed out after ${timeoutMs} ms` : err.message}\n${stdout}\n${stderr}`));
      const out: BenchResult[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith(RESULT_PREFIX)) continue;
        const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as { scenario: LocalScenario; value: number; unit: string; n: number };
        out.push({ scenario: r.scenario, impl: 'erlang', value: r.value, unit: r.unit, notes: notesFor(r.scenario, r.n, repeats) });
      }
      resolve(out);
    });
  });
}

/**
 * Runs every local scenario on Beamline (one child process each), then on
 * Erlang when `erl` is installed. A scenario that fails is reported on
 * stderr and left out. About 15 s with `quick` (Beamline and Erlang), a
 * minute or two in full.
 */
export async function runLocalBench(opts: { quick: boolean; only?: readonly LocalScenario[] }): Promise<BenchResult[]> {
  const counts = Object.entries(localCounts(opts.quick)).filter(([id]) => opts.only?.includes(id as LocalScenario) ?? true) as [LocalScenario, number][];
  const timeoutMs = opts.quick ? 20_000 : 120_000;
  const out: BenchResult[] = [];
  for (const [id, n] of counts) {
    try {
      out.push(await runChild(id, n, localRepeats(opts.quick), timeoutMs));
    } catch (err) {
      console.error(`local bench: ${(err as Error).message}`);
    }
  }
  if (!hasErlang()) {
    console.error('local bench: erl not found; Erlang rows skipped');
    return out;
  }
  try {
    out.push(...(await runErlang(counts, localRepeats(opts.quick), opts.quick ? 30_000 : 300_000)));
  } catch (err) {
    console.error(`local bench: ${(err as Error).message}`);
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [id, nText, repeatsText] = process.argv.slice(2);
  if (id !== undefined && (LOCAL_SCENARIOS as readonly string[]).includes(id)) {
    // Child mode: one scenario, one RESULT line.
    const scenario = id as LocalScenario;
    const n = nText === undefined ? localCounts(true)[scenario] : Number(nText);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`bad count ${String(nText)}`);
    const value = await measureHere(scenario, n, repeatsText === undefined ? 1 : Number(repeatsText));
    console.log(`${RESULT_PREFIX}${JSON.stringify({ scenario, value, n })}`);
  } else {
    for (const r of await runLocalBench({ quick: process.argv.includes('--quick') }))
      console.log(`${r.scenario.padEnd(16)} ${r.impl.padEnd(9)} ${r.value.toFixed(1).padStart(14)} ${r.unit}  (${r.notes ?? ''})`);
  }
}
