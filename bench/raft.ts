/**
 * Raft benchmark: three Beamline Raft peers as OS processes on loopback
 * (file store, fdatasync per write burst), next to a three-member etcd
 * cluster (Debian's etcd-server) when `etcd` is installed, in the same run.
 *
 * Fair by construction: both keep their data under the same temp dir (same
 * disk), etcd with its default durability (fdatasync of its WAL per write
 * burst, no --unsafe-no-fsync); both clients are this process talking to
 * the leader over one kept-alive connection (Beamline: distribution to the
 * leader's Raft server; etcd: its JSON gateway, POST /v3/kv/put); both run
 * the same timeouts: heartbeat 50 ms and election timeout 500 ms (Beamline:
 * tick 50 ms, 10 ticks; each side randomizes its election timeout in
 * [500, 1000) ms), with pre-vote and check-quorum.
 *
 * - `raft_commit`: sequential durable appends (puts) from one client, appends/s.
 * - `raft_commit_64`: 64 appends in flight, appends/s.
 * - `raft_read`: sequential linearizable reads (ReadIndex / etcd's default range), reads/s.
 * - `raft_failover`, `raft_failover_max`: ms from SIGKILL of the leader to the
 *   next successful append, median and max of several failovers (the killed
 *   member restarts and catches up before the next); lower is better.
 *
 * Run alone: `npx tsc -p . && node build/bench/raft.js [--quick]`.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startNode } from '../src/distribution/index.js';
import { RaftClient } from '../src/raft/client.js';
import { freePort } from '../src/raft/testing/free-port.js';
import type { RegisterCommand } from '../src/raft/testing/register-store.js';
import type { RaftPeer } from '../src/raft/wire.js';
import type { BenchResult } from './local.js';

interface Target {
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<unknown>;
}

/** A running three-member cluster. */
interface Cluster {
  readonly impl: string;
  readonly target: Target;
  /** SIGKILLs the leader; ms until the next append succeeds. Then restarts the killed member and waits until it caught up. */
  failover(): Promise<number>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The timeouts both clusters run with. */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

async function rate(seconds: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (Date.now() < end) {
        await op(w * 1_000_000 + done);
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

type Scenario = 'raft_commit' | 'raft_commit_64' | 'raft_read';

const SCENARIOS: readonly { readonly name: Scenario; readonly unit: string; readonly concurrency: number; readonly read: boolean }[] = [
  { name: 'raft_commit', unit: 'appends/s', concurrency: 1, read: false },
  { name: 'raft_commit_64', unit: 'appends/s', concurrency: 64, read: false },
  { name: 'raft_read', unit: 'reads/s', concurrency: 1, read: true },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Rounds of each scenario alternate between the clusters, so a noisy machine slows both alike; the median round counts. */
async function measureInterleaved(clusters: readonly Cluster[], rounds: number, seconds: number): Promise<BenchResult[]> {
  for (const c of clusters) await rate(0.5, 8, (i) => c.target.put(`warm${i % 100}`, 'x'));
  const results: BenchResult[] = [];
  for (const sc of SCENARIOS) {
    const samples = clusters.map((): number[] => []);
    for (let r = 0; r < rounds; r++) {
      for (const [ci, c] of clusters.entries()) {
        const op = sc.read ? (i: number) => c.target.get(`k${i % 1000}`) : (i: number) => c.target.put(`k${i % 1000}`, `v${i}`);
        samples[ci]!.push(await rate(seconds, sc.concurrency, op));
      }
    }
    for (const [ci, c] of clusters.entries()) results.push({ scenario: sc.name, impl: c.impl, value: median(samples[ci]!), unit: sc.unit, notes: `median of ${rounds} rounds` });
  }
  return results;
}

async function until<T>(what: string, ms: number, attempt: () => Promise<T>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (Date.now() > end) throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(20);
    }
  }
}

// ------------------------------------------------------------------ Beamline

async function startBeamline(): Promise<Cluster> {
  const tag = randomInt(1e6);
  const epmdPort = await freePort();
  const home = await startNode({ name: `benchhome${tag}@127.0.0.1`, cookie: 'raftbench', epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
  const peers: RaftPeer[] = [1, 2, 3].map((i) => ({ name: 'reg', node: `bench${i}x${tag}@127.0.0.1` }));
  const dirs = peers.map(() => mkdtempSync(join(tmpdir(), 'raft-bench-')));
  const script = fileURLToPath(new URL('../src/raft/testing/peer-process.js', import.meta.url));
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of procs) p?.kill('SIGKILL');
    await home.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const startPeer = async (i: number): Promise<void> => {
    const args = JSON.stringify({ node: peers[i]!.node, epmdPort, cookie: 'raftbench', peers, dir: dirs[i], snapshotEvery: 10_000, tickMs: HEARTBEAT_MS, electionTicks: ELECTION_MS / HEARTBEAT_MS });
    const child = spawn(process.execPath, [script, args], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs[i] = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (c) => reject(new Error(`peer exited ${String(c)}`)));
    });
  };
  try {
    await Promise.all(peers.map((_, i) => startPeer(i)));
  } catch (e) {
    await stop();
    throw e;
  }
  const client = new RaftClient<RegisterCommand, string, string | null>(home, peers, { timeout: 10_000 });
  return {
    impl: 'beamline',
    target: { put: (k, v) => client.append(k, { op: 'put', value: v }).then(() => undefined), get: (k) => client.read(k) },
    failover: async () => {
      let leader = -1;
      for (let i = 0; i < 3 && leader < 0; i++) if ((await client.status(peers[i]!)).role === 'leader') leader = i;
      const others = new RaftClient<RegisterCommand, string, string | null>(home, peers.filter((_, i) => i !== leader), { timeout: 10_000 });
      await others.append('pre', { op: 'put', value: 'x' });
      const exited = new Promise((r) => procs[leader]!.once('exit', r));
      const t0 = performance.now();
      procs[leader]!.kill('SIGKILL');
      await others.append('post', { op: 'put', value: 'y' });
      const took = performance.now() - t0;
      await exited;
      await startPeer(leader);
      const target = (await others.status(peers[(leader + 1) % 3]!)).commit;
      await until('restarted peer catching up', 30_000, async () => {
        if ((await client.status(peers[leader]!, { timeout: 1000 })).commit < target) throw new Error('behind');
      });
      return took;
    },
    stop,
  };
}

// ---------------------------------------------------------------------- etcd

function etcdBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
}

const agent = new Agent({ keepAlive: true, maxSockets: 128 });

function post(port: number, path: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`etcd ${path}: ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text) as Record<string, unknown>);
      });
    });
    req.on('timeout', () => req.destroy(new Error('etcd request timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function startEtcd(bin: string): Promise<Cluster> {
  const members: { name: string; client: number; peer: number; dir: string }[] = [];
  for (const i of [0, 1, 2]) members.push({ name: `e${i}`, client: await freePort(), peer: await freePort(), dir: mkdtempSync(join(tmpdir(), 'etcd-bench-')) });
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const spawnMember = (m: (typeof members)[number]): ChildProcess =>
    spawn(
      bin,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dir}`,
        `--listen-client-urls=http://127.0.0.1:${m.client}`,
        `--advertise-client-urls=http://127.0.0.1:${m.client}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=bench',
        `--heartbeat-interval=${HEARTBEAT_MS}`,
        `--election-timeout=${ELECTION_MS}`,
        '--log-level=error',
        '--pre-vote=true',
      ],
      { stdio: 'ignore' },
    );
  const procs = members.map(spawnMember);
  const stop = (): Promise<void> => {
    for (const p of procs) p.kill('SIGKILL');
    agent.destroy();
    for (const m of members) rmSync(m.dir, { recursive: true, force: true });
    return Promise.resolve();
  };
  const leaderOf = async (among: typeof members): Promise<(typeof members)[number]> => {
    for (const m of among) {
      const s = await post(m.client, '/v3/maintenance/status', {}).catch(() => null);
      const header = s?.['header'] as { member_id?: string } | undefined;
      if (s !== null && header?.member_id !== undefined && header.member_id === s['leader']) return m;
    }
    throw new Error('no etcd leader yet');
  };
  let leader: (typeof members)[number];
  try {
    leader = await until('etcd leader', 30_000, () => leaderOf(members));
  } catch (e) {
    await stop();
    throw e;
  }
  const target: Target = {
    put: async (k, v) => void (await post(leader.client, '/v3/kv/put', { key: b64(k), value: b64(v) })),
    get: (k) => post(leader.client, '/v3/kv/range', { key: b64(k) }),
  };
  return {
    impl: 'etcd',
    target,
    failover: async () => {
      const dead = leader;
      const others = members.filter((m) => m !== dead);
      const i = members.indexOf(dead);
      await target.put('pre', 'x');
      const exited = new Promise((r) => procs[i]!.once('exit', r));
      const t0 = performance.now();
      procs[i]!.kill('SIGKILL');
      await until('etcd failover', 30_000, async () => {
        leader = await leaderOf(others);
        await target.put('post', 'y');
      });
      const took = performance.now() - t0;
      await exited;
      procs[i] = spawnMember(dead);
      const raftIndex = async (m: (typeof members)[number]): Promise<number> => Number((await post(m.client, '/v3/maintenance/status', {}))['raftIndex']);
      const goal = await raftIndex(leader);
      await until('restarted etcd member catching up', 30_000, async () => {
        if ((await raftIndex(dead)) < goal) throw new Error('behind');
      });
      return took;
    },
    stop,
  };
}

/** Both clusters side by side (rounds interleaved), the ratios in the notes. */
export async function runRaftBench(options: { quick: boolean }): Promise<BenchResult[]> {
  const [rounds, seconds] = options.quick ? [3, 1] : [7, 2];
  const bin = etcdBinary();
  const clusters: Cluster[] = [await startBeamline()];
  try {
    if (bin !== null) clusters.push(await startEtcd(bin));
    const results = await measureInterleaved(clusters, rounds, seconds);
    // Failovers alternate between the clusters too; each side reports its median and its worst.
    const notes = {
      beamline: `tick ${HEARTBEAT_MS} ms, election ${ELECTION_MS / HEARTBEAT_MS} ticks (${ELECTION_MS}..${2 * ELECTION_MS} ms), pre-vote, check-quorum`,
      etcd: `--heartbeat-interval=${HEARTBEAT_MS} --election-timeout=${ELECTION_MS} (${ELECTION_MS}..${2 * ELECTION_MS} ms), pre-vote, check-quorum`,
    } as const;
    const failovers = clusters.map((): number[] => []);
    for (let r = 0; r < (options.quick ? 3 : 7); r++) for (const [ci, c] of clusters.entries()) failovers[ci]!.push(await c.failover());
    for (const [ci, c] of clusters.entries()) {
      const xs = failovers[ci]!;
      const note = `${notes[c.impl as keyof typeof notes]}; ${xs.length} failovers: ${xs.map((x) => Math.round(x)).join(', ')} ms`;
      results.push({ scenario: 'raft_failover', impl: c.impl, value: median(xs), unit: 'ms (lower is better)', notes: `median; ${note}` });
      results.push({ scenario: 'raft_failover_max', impl: c.impl, value: Math.max(...xs), unit: 'ms (lower is better)', notes: 'max of the same failovers' });
    }
    for (const r of results) {
      if (r.impl !== 'beamline') continue;
      const t = results.find((x) => x.scenario === r.scenario && x.impl === 'etcd');
      const note = t === undefined ? 'etcd not installed: no ratio' : `vs etcd ${(r.value / t.value).toFixed(2)}x`;
      r.notes = r.notes === undefined ? note : `${r.notes}; ${note}`;
    }
    return results;
  } finally {
    for (const c of clusters) await c.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await runRaftBench({ quick: process.argv.includes('--quick') });
  for (const r of results) console.log(`${r.scenario.padEnd(16)} ${r.impl.padEnd(9)} ${Math.round(r.value).toLocaleString('en-US').padStart(9)} ${r.unit}${r.notes === undefined ? '' : `  (${r.notes})`}`);
  process.exit(0);
}
