/**
 * Cluster benchmark: how long a new node takes to join a running 2-node
 * Erlang cluster (a, b) until `global` has synced with it, for a Beamline
 * node and for an Erlang node, in the same run. Each join is a fresh node:
 * connect to `a`, then `global:sync()` (Beamline: `globalSync`). The value
 * is the median over the joins, in ms (lower is better).
 *
 * Run alone: `npx tsc -p . && node build/bench/cluster.js [--quick]`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { freePort } from '../src/raft/testing/free-port.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { atom } from '../src/terms/index.js';
import { distributionOf, globalSync, startNode } from '../src/distribution/index.js';
import type { BenchResult } from './local.js';

const COOKIE = 'clusterbench';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs an erl node; resolves with its output once `pattern` appears. */
function erl(name: string, evalExpr: string, env: NodeJS.ProcessEnv, cwd: string, pattern: RegExp): { proc: ChildProcess; ready: Promise<string> } {
  const proc = spawn('erl', ['-name', name, '-setcookie', COOKIE, '-noshell', '-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-eval', evalExpr], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not print ${pattern}: ${out}`)), 60_000);
    const on = (b: Buffer): void => {
      out += b.toString();
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', () => reject(new Error(`${name} exited: ${out}`)));
  });
  ready.catch(() => {});
  return { proc, ready };
}

/**
 * Measures Beamline and Erlang joins.
 *
 * @example
 * ```ts
 * console.table(await runClusterBench({ quick: true }));
 * ```
 */
export async function runClusterBench(opts: { quick: boolean }): Promise<BenchResult[]> {
  const joins = opts.quick ? 3 : 10;
  const tag = randomInt(1e6);
  const epmdPort = await freePort();
  const env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' };
  const dir = mkdtempSync(join(tmpdir(), 'beamline-clusterbench-'));
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
  const procs: ChildProcess[] = [];
  const A = `cba${tag}@127.0.0.1`;
  try {
    await new Promise((r) => setTimeout(r, 300)); // epmd binds its port
    const a = erl(A, 'io:format("ready~n").', env, dir, /ready/);
    procs.push(a.proc);
    await a.ready;
    const b = erl(`cbb${tag}@127.0.0.1`, `pong = net_adm:ping('${A}'), ok = global:sync(), io:format("ready~n").`, env, dir, /ready/);
    procs.push(b.proc);
    await b.ready;

    const beamline: number[] = [];
    for (let i = 0; i < joins; i++) {
      const ts = await startNode({ name: `cbts${i}x${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
      const dist = distributionOf(ts);
      const t0 = performance.now();
      const up = new Promise<void>((resolve) => {
        const stop = dist.monitorNodes((e) => {
          if (e.kind === 'up' && e.node === atom(A)) {
            stop();
            resolve();
          }
        });
      });
      dist.ensureConnected(atom(A));
      await up;
      await globalSync(ts);
      beamline.push(performance.now() - t0);
      await ts.stop();
    }

    const erlang: number[] = [];
    for (let i = 0; i < joins; i++) {
      const c = erl(
        `cbe${i}x${tag}@127.0.0.1`,
        `T0 = erlang:monotonic_time(microsecond), pong = net_adm:ping('${A}'), ok = global:sync(), io:format("JOIN ~p~n", [erlang:monotonic_time(microsecond) - T0]), halt().`,
        env,
        dir,
        /JOIN (\d+)/,
      );
      procs.push(c.proc);
      const line = await c.ready;
      erlang.push(Number(/JOIN (\d+)/.exec(line)?.[1]) / 1000);
    }
    const notes = `median of ${joins} joins of a fresh node to a 2-node Erlang cluster: connect, then global sync`;
    return [
      { scenario: 'cluster_join', impl: 'beamline', value: Math.round(median(beamline) * 10) / 10, unit: 'ms (lower is better)', notes },
      { scenario: 'cluster_join', impl: 'erlang', value: Math.round(median(erlang) * 10) / 10, unit: 'ms (lower is better)', notes },
    ];
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    epmd.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await runClusterBench({ quick: process.argv.includes('--quick') }));
}
