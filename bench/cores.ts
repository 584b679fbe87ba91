/**
 * Using every core: a local cluster (one node per core, node:cluster
 * processes joined by the distribution) against one node, in the same run.
 *
 * - `cluster_pingpong`: N independent ping-pong pairs (N = cores), round
 *   trips/s in total: all pairs on 1 node vs one pair on each of N nodes. The
 *   ratio N nodes / 1 node is the scaling (target ≥ 0.8 per core).
 * - `inhost_call`: sequential calls from one node of a local cluster to an
 *   `echo` server on another, over the in-host transport (Unix domain
 *   sockets) and over loopback TCP (`inHost: false`, what `remote_call`
 *   measures), next to a bare round trip between two threads over a
 *   MessagePort.
 * - `web_cluster`: req/s of one gateway (`GET /who`, handler pool of 4)
 *   served by N nodes on one shared port vs by 1 node, loaded by autocannon
 *   (a separate process, 32 keep-alive connections). On a 2-core machine
 *   autocannon takes a core's share too.
 *
 * Rows: impl `beamline` is the N-node figure, `1 node` the single node (the
 * table's "erlang" column stays empty: the peer here is one Beamline node).
 *
 * Run alone: `npx tsc -p . && node build/bench/cores.js [--quick]`.
 * @module
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { rpc, startNode } from '../src/distribution/index.js';
import { startLocalCluster, type LocalCluster } from '../src/cluster/index.js';
import type { Node } from '../src/core/node.js';
import type { BenchResult } from './local.js';

const COOKIE = 'coresbench';
const START = new URL('./cores-node.js', import.meta.url);

async function withCluster<T>(size: number, run: (cluster: LocalCluster, t: Node) => Promise<T>, inHost = true): Promise<T> {
  const epmdPort = 20_000 + randomInt(20_000);
  const base = `b${randomInt(1e6)}`;
  const cluster = await startLocalCluster({ base, cookie: COOKIE, start: START, size, epmdPort, inHost });
  const t = await startNode({ name: `t${base}@127.0.0.1`, cookie: COOKIE, epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
  try {
    return await run(cluster, t);
  } finally {
    await t.stop();
    await cluster.stop();
  }
}

/** Total round trips/s of `pairs` ping-pong pairs spread evenly over the cluster's nodes. */
async function pingPongRate(size: number, pairs: number, ms: number): Promise<number> {
  return withCluster(size, async (cluster, t) => {
    const per = pairs / size;
    await Promise.all(cluster.names.map((n) => rpc(t, n, 'bench', 'pingpong', [per, 300], { timeout: 60_000 }))); // warm-up
    const counts = await Promise.all(cluster.names.map((n) => rpc(t, n, 'bench', 'pingpong', [per, ms], { timeout: ms + 60_000 })));
    return (counts as number[]).reduce((a, b) => a + b, 0) / (ms / 1000);
  });
}

/** Calls/s from node 0 to node 1 of a 2-node cluster, over the in-host transport or TCP. */
async function inHostCallRate(ms: number, inHost: boolean): Promise<number> {
  return withCluster(
    2,
    async (cluster, t) => {
      const [a, b] = cluster.names as [string, string];
      await rpc(t, a, 'bench', 'calls', [b, 300], { timeout: 60_000 });
      return ((await rpc(t, a, 'bench', 'calls', [b, ms], { timeout: ms + 60_000 })) as number) / (ms / 1000);
    },
    inHost,
  );
}

/** Round trips/s between this thread and a worker over a MessagePort. */
async function messagePortRate(ms: number): Promise<number> {
  const w = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`, { eval: true });
  await new Promise((r) => w.once('online', r));
  let n = 0;
  const end = performance.now() + ms;
  await new Promise<void>((resolve) => {
    w.on('message', () => {
      n++;
      if (performance.now() < end) w.postMessage(n);
      else resolve();
    });
    w.postMessage(0);
  });
  await w.terminate();
  return n / (ms / 1000);
}

function autocannonRps(url: string, seconds: number): Promise<number> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [bin, '-j', '-n', '-c', '32', '-d', String(seconds), url], { maxBuffer: 8 << 20 }, (err, out) => {
      if (err !== null) return reject(err);
      const r = JSON.parse(out) as { requests: { total: number }; duration: number; non2xx: number };
      resolve(r.requests.total / r.duration);
    }),
  );
}

async function webRate(size: number, seconds: number): Promise<number> {
  return withCluster(size, async (cluster, t) => {
    const port = (await rpc(t, cluster.names[0] as string, 'web', 'port', [])) as number;
    await autocannonRps(`http://127.0.0.1:${port}/who`, 1);
    return autocannonRps(`http://127.0.0.1:${port}/who`, seconds);
  });
}

/**
 * Runs the three scenarios.
 *
 * @example
 * ```ts
 * console.table(await runCoresBench({ quick: true }));
 * ```
 */
export async function runCoresBench({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const cores = Math.max(2, availableParallelism());
  const ms = quick ? 1500 : 5000;
  const out: BenchResult[] = [];
  const one = await pingPongRate(1, cores, ms);
  const many = await pingPongRate(cores, cores, ms);
  const scaling = `${cores} pairs; ${cores} nodes / 1 node = ${(many / one).toFixed(2)}x (${(many / one / cores).toFixed(2)} per core, target >= 0.8)`;
  out.push({ scenario: 'cluster_pingpong', impl: 'beamline', value: many, unit: 'round trips/s', notes: scaling });
  out.push({ scenario: 'cluster_pingpong', impl: '1 node', value: one, unit: 'round trips/s', notes: scaling });
  console.log(`cluster_pingpong: 1 node ${Math.round(one)}/s, ${cores} nodes ${Math.round(many)}/s (${(many / one).toFixed(2)}x)`);

  const call = await inHostCallRate(ms, true);
  const tcp = await inHostCallRate(ms, false);
  const port = await messagePortRate(ms);
  const callNote = `sequential calls node 0 -> node 1: in-host transport (Unix socket) ${(call / tcp).toFixed(2)}x the same over loopback TCP (target >= 3x), ${(call / port).toFixed(2)}x a bare MessagePort round trip between threads (target >= 0.8x)`;
  out.push({ scenario: 'inhost_call', impl: 'beamline', value: call, unit: 'calls/s', notes: callNote });
  out.push({ scenario: 'inhost_call', impl: 'tcp', value: tcp, unit: 'calls/s', notes: callNote });
  out.push({ scenario: 'inhost_call', impl: 'messageport', value: port, unit: 'calls/s', notes: callNote });
  console.log(`inhost_call: in-host ${Math.round(call)} calls/s, TCP ${Math.round(tcp)} calls/s, MessagePort round trip ${Math.round(port)}/s`);

  const seconds = quick ? 3 : 10;
  const webOne = await webRate(1, seconds);
  const webMany = await webRate(cores, seconds);
  const webNote = `GET /who, 32 connections, autocannon on the same host; ${cores} nodes / 1 node = ${(webMany / webOne).toFixed(2)}x (target >= 1.6x on 2 cores)`;
  out.push({ scenario: 'web_cluster', impl: 'beamline', value: webMany, unit: 'req/s', notes: webNote });
  out.push({ scenario: 'web_cluster', impl: '1 node', value: webOne, unit: 'req/s', notes: webNote });
  console.log(`web_cluster: 1 node ${Math.round(webOne)} req/s, ${cores} nodes ${Math.round(webMany)} req/s (${(webMany / webOne).toFixed(2)}x)`);
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await runCoresBench({ quick: process.argv.includes('--quick') }));
  process.exit(0);
}
