/**
 * Using every core: a local cluster (one node per core, node:cluster
 * processes joined by the distribution) against one node, in the same run.
 *
 * - `cluster_pingpong`: N independent ping-pong pairs (N = cores), round
 *   trips/s in total: all pairs on 1 node vs one pair on each of N nodes. The
 *   ratio N nodes / 1 node is the scaling (target ≥ 0.8 per core).
 * - `inhost_call`: sequential calls from one node of a local cluster to an
 *   `echo` server on another: nodes as worker threads over shared-memory
 *   rings (`hosting: 'threads'`, the figure checked against the targets),
 *   as processes over Unix domain sockets (the run checks the nodes really
 *   connected over rings and sockets), over loopback TCP (`inHost: false`,
 *   what `remote_call` measures), and as worker threads of this process
 *   joined over MessagePorts wrapped as streams (bench/cluster-threads.ts);
 *   next to bare round trips (64 bytes) between
 *   two threads over a MessagePort and between two processes over a Unix
 *   socket and over loopback TCP. CPU time per call of both nodes (and of
 *   node 0) and per bare round trip says what a call costs beyond the
 *   transport's own round trip.
 * - `web_cluster`: req/s of one gateway (`GET /who`, handler pool of 4)
 *   served by N nodes on one shared port vs by 1 node, loaded by wrk where it
 *   is installed (C, one thread: about 4 us of CPU per request) or else by
 *   autocannon (JavaScript, about a core at full load), a separate process
 *   with 32 keep-alive connections; the notes name the one that ran. The
 *   generator's CPU per request gives the most an idle machine of these
 *   cores allows with the generator beside the nodes; the requests each node
 *   served and the connections the cluster's primary handed it (least
 *   connections, ties in turn) are printed for every round.
 *
 * Fairness on a shared, loaded machine: every cluster is started first and
 * stays up; then the configurations being compared are measured in
 * alternating rounds (the order flipped each round), so a burst of load from
 * elsewhere falls on both; each figure is the median of its rounds (the best
 * round's ratio is in the notes too). Ping-pong also counts the CPU time the
 * nodes' processes spent (and calls and Web requests, from the nodes'
 * `stats().cpuMs`): work per CPU-second, 1 node vs N nodes, says whether a
 * node on each core does as much per core as one node does (the scaling the
 * machine would show if it gave each node a whole core), and in-host vs TCP
 * what each call costs the two nodes. The load average is printed with each
 * scenario.
 *
 * Rows: impl `beamline` is the N-node (or in-host) figure, the others are
 * the references measured beside it (the table's "erlang" column stays
 * empty: the peer here is one Beamline node).
 *
 * Run alone: `npx tsc -p . && node build/bench/cores.js [--quick]`.
 * @module
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { freePort } from '../src/raft/testing/free-port.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { rpc, startNode } from '../src/distribution/index.js';
import { startLocalCluster, type LocalCluster } from '../src/cluster/index.js';
import type { Node } from '../src/core/node.js';
import type { BenchResult } from './local.js';
import { startThreadNodes, type ThreadNodes } from './cluster-threads.js';

const COOKIE = 'coresbench';
const START = new URL('./cores-node.js', import.meta.url);

/** What a node's timed run answers: count, wall ms, CPU ms of its process. */
type Measured = [number, number, number];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function load(): string {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** The clusters of a run, started once; `t` is a node of this process that drives them by rpc. */
interface Rig {
  readonly t: Node;
  readonly one: LocalCluster;
  readonly many: LocalCluster;
  /** A 2-node cluster whose nodes reach each other over TCP. */
  readonly tcp: LocalCluster;
  /** A 2-node cluster of worker threads joined over shared-memory rings. */
  readonly ring: LocalCluster;
  /** Two nodes as worker threads of this process joined over MessagePorts (the hosting not taken, measured beside). */
  readonly threads: ThreadNodes;
}

async function startRig(cores: number): Promise<Rig> {
  const epmdPort = await freePort();
  const base = `b${randomInt(1e6)}`;
  const start = async (name: string, size: number, inHost: boolean, hosting: 'processes' | 'threads' = 'processes'): Promise<LocalCluster> =>
    startLocalCluster({ base: `${base}${name}`, cookie: COOKIE, start: START, size, epmdPort, inHost, hosting, args: { webPort: hosting === 'threads' ? 0 : await freePort() } });
  // One at a time: the first one's embedded EPMD serves the others.
  const one = await start('one', 1, true);
  const many = await start('many', cores, true);
  const tcp = await start('tcp', 2, false);
  const ring = await start('ring', 2, true, 'threads');
  const t = await startNode({ name: `t${base}@127.0.0.1`, cookie: COOKIE, epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
  const threads = await startThreadNodes([`${base}th_0@127.0.0.1`, `${base}th_1@127.0.0.1`], COOKIE, epmdPort, START);
  return { t, one, many, tcp, ring, threads };
}

async function stopRig(r: Rig): Promise<void> {
  await r.t.stop();
  await r.threads.stop();
  await r.ring.stop();
  // The cluster that started the embedded EPMD goes last.
  await r.tcp.stop();
  await r.many.stop();
  await r.one.stop();
}

/** Runs `rounds` rounds of every measurement, in an order flipped each round; returns each one's results. */
async function alternate(rounds: number, runs: readonly (() => Promise<number>)[]): Promise<number[][]> {
  const out: number[][] = runs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = runs.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) (out[i] as number[]).push(await (runs[i] as () => Promise<number>)());
  }
  return out;
}

/** One ping-pong round on `cluster`: `pairs` pairs spread evenly; total round trips/s and round trips per CPU-second. */
async function pingPongRound(t: Node, cluster: LocalCluster, pairs: number, ms: number, cpu: number[]): Promise<number> {
  const per = pairs / cluster.names.length;
  const runs = (await Promise.all(cluster.names.map((n) => rpc(t, n, 'bench', 'pingpong', [per, ms], { timeout: ms + 60_000 })))) as Measured[];
  let rate = 0;
  let trips = 0;
  let cpuMs = 0;
  for (const [n, wall, c] of runs) {
    rate += n / (wall / 1000);
    trips += n;
    cpuMs += c;
  }
  cpu.push(trips / (cpuMs / 1000));
  return rate;
}

/** CPU ms used so far by all of `cluster`'s node processes. */
async function clusterCpuMs(cluster: LocalCluster): Promise<number> {
  return (await cluster.stats()).reduce((sum, s) => sum + s.cpuMs, 0);
}

/** Runs `round` (which answers its rate and count) and pushes the count per CPU-second of `cluster`'s nodes to `cpu`. */
async function counted(cluster: LocalCluster, cpu: number[], round: () => Promise<[rate: number, count: number]>): Promise<number> {
  const c0 = await clusterCpuMs(cluster);
  const [rate, count] = await round();
  cpu.push(count / ((await clusterCpuMs(cluster)) - c0) * 1000);
  return rate;
}

/**
 * One round of sequential calls from node 0 to node 1 of `names`: calls/s,
 * calls. With `callerCost`, pushes the CPU µs per call node 0's process spent
 * (nodes that are processes only: a thread's figure is its whole process's).
 */
async function callRound(t: Node, names: readonly string[], ms: number, callerCost?: number[]): Promise<[number, number]> {
  const [a, b] = names as [string, string];
  const [n, wall, cpu] = (await rpc(t, a, 'bench', 'calls', [b, ms], { timeout: ms + 60_000 })) as Measured;
  callerCost?.push((cpu * 1000) / n);
  return [n / (wall / 1000), n];
}

/** CPU ms this process has used, all its threads together. */
function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms a child process has used so far, from /proc (Linux; in clock ticks of 10 ms). */
function childCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Runs `round` (its rate and count) and pushes the CPU µs per operation that `cpuMs` (a clock of CPU ms) counted meanwhile to `cost`. */
async function perOp(cpuMs: () => number | Promise<number>, cost: number[], round: () => Promise<[number, number]>): Promise<number> {
  const c0 = await cpuMs();
  const [rate, count] = await round();
  cost.push((((await cpuMs()) - c0) * 1000) / count);
  return rate;
}

/** Round trips/s between this thread and a worker over a MessagePort, for `ms`; and the round trips. */
async function messagePortRound(w: Worker, ms: number): Promise<[number, number]> {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await new Promise<void>((resolve) => {
    const on = (): void => {
      n++;
      if (performance.now() < end) w.postMessage(n);
      else {
        w.off('message', on);
        resolve();
      }
    };
    w.on('message', on);
    w.postMessage(0);
  });
  return [n / ((performance.now() - t0) / 1000), n];
}

/**
 * A child process that echoes what it reads on a Unix socket (or, with
 * `tcp`, on loopback TCP): the bare in-host round trip between processes.
 */
async function startEcho(tcp = false): Promise<{ socket: Socket; child: ChildProcess; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'bl-echo-'));
  const server = createServer({ noDelay: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  let target: unknown = join(dir, 'echo.sock');
  if (tcp) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  } else await new Promise<void>((resolve) => server.listen(target as string, resolve));
  const child = spawn(process.execPath, ['-e', `const s = require('node:net').connect(${JSON.stringify(target)}); s.setNoDelay(true); s.on('data', (b) => s.write(b));`], { stdio: 'ignore' });
  const socket = await accepted;
  socket.setNoDelay(true);
  return {
    socket,
    child,
    close: () => {
      socket.destroy();
      child.kill();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Round trips/s of a 64-byte message over the socket to the echo process, for `ms`; and the round trips. */
async function echoRound(socket: Socket, ms: number): Promise<[number, number]> {
  const buf = Buffer.alloc(64);
  let n = 0;
  let got = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await new Promise<void>((resolve) => {
    const on = (b: Buffer): void => {
      got += b.length;
      if (got < buf.length) return;
      got -= buf.length;
      n++;
      if (performance.now() < end) socket.write(buf);
      else {
        socket.off('data', on);
        resolve();
      }
    };
    socket.on('data', on);
    socket.write(buf);
  });
  return [n / ((performance.now() - t0) / 1000), n];
}

/** What one load of a URL measured: req/s, requests, CPU ms the load generator used. */
type Load = [rate: number, requests: number, generatorCpuMs: number];

/**
 * Runs `command args` under `sh`, then prints the shell's /proc stat line
 * (whose cutime and cstime are then the command's CPU time): its output
 * without that line, and that CPU time in ms (clock ticks of 10 ms).
 */
function runMeasured(command: string, args: readonly string[]): Promise<[string, number]> {
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', '"$0" "$@"; s=$?; echo; cat /proc/$$/stat; exit $s', command, ...args], { maxBuffer: 8 << 20 }, (err, out) => {
      if (err !== null) return reject(err);
      const at = out.lastIndexOf('\n', out.length - 2);
      const stat = out.slice(at + 1);
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      resolve([out.slice(0, at), (Number(f[13]) + Number(f[14])) * 10]);
    }),
  );
}

/** An HTTP load generator: 32 keep-alive connections to `url` for `seconds` (whole seconds for wrk). */
interface Loader {
  readonly name: 'wrk' | 'autocannon';
  run(url: string, seconds: number): Promise<Load>;
}

/** wrk (C, one thread: a fraction of a core) where installed, else autocannon (JavaScript, about a core at full load). */
function loader(): Loader {
  let wrk = false;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    wrk = true;
  } catch (err) {
    // wrk --version exits 1 after printing its version: installed all the same.
    wrk = (err as { status?: number | null }).status === 1;
  }
  if (wrk)
    return {
      name: 'wrk',
      run: async (url, seconds) => {
        const [out, cpu] = await runMeasured('wrk', ['-t1', '-c32', `-d${Math.max(1, Math.round(seconds))}s`, url]);
        const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
        if (m === null || /Non-2xx/.test(out)) throw new Error(`wrk: ${out}`);
        const total = Number(m[1]);
        return [total / (Number(m[2]) / (m[3] === 'ms' ? 1000 : 1)), total, cpu];
      },
    };
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  return {
    name: 'autocannon',
    run: async (url, seconds) => {
      const [out, cpu] = await runMeasured(process.execPath, [bin, '-j', '-n', '-c', '32', '-d', String(seconds), url]);
      const r = JSON.parse(out) as { requests: { total: number }; duration: number; non2xx: number };
      if (r.non2xx > 0) throw new Error(`autocannon: ${r.non2xx} responses were not 2xx`);
      return [r.requests.total / r.duration, r.requests.total, cpu];
    },
  };
}

async function webPort(t: Node, cluster: LocalCluster): Promise<number> {
  return (await rpc(t, cluster.names[0] as string, 'web', 'port', [])) as number;
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
  // Many short rounds: a median over them shrugs off a burst of load from elsewhere.
  const rounds = quick ? 5 : 9;
  const ms = quick ? 600 : 2000;
  const out: BenchResult[] = [];
  const rig = await startRig(cores);
  const { t } = rig;
  const worker = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`, { eval: true });
  const online = new Promise((r) => worker.once('online', r));
  const echo = await startEcho();
  const tcpEcho = await startEcho(true);
  try {
    await online;

    // cluster_pingpong
    const cpuOne: number[] = [];
    const cpuMany: number[] = [];
    const discard: number[] = [];
    await pingPongRound(t, rig.one, cores, 300, discard); // warm-up
    await pingPongRound(t, rig.many, cores, 300, discard);
    const loadPing = load();
    const [one, many] = (await alternate(rounds, [
      () => pingPongRound(t, rig.one, cores, ms, cpuOne),
      () => pingPongRound(t, rig.many, cores, ms, cpuMany),
    ])) as [number[], number[]];
    const best = Math.max(...many.map((m, i) => m / (one[i] as number)));
    const perCpu = median(cpuMany) / median(cpuOne);
    const pingNote =
      `${cores} pairs, ${rounds} alternating rounds of ${ms} ms, medians; ${cores} nodes / 1 node = ${(median(many) / median(one)).toFixed(2)}x wall clock ` +
      `(${(median(many) / median(one) / cores).toFixed(2)} per core, target >= 0.8; best round ${best.toFixed(2)}x); ` +
      `per CPU-second of the nodes' processes: 1 node ${fmt(median(cpuOne))}, ${cores} nodes ${fmt(median(cpuMany))} round trips, ${perCpu.toFixed(2)} per core ` +
      `(${(perCpu * cores).toFixed(2)}x with a core per node); load average ${loadPing}`;
    out.push({ scenario: 'cluster_pingpong', impl: 'beamline', value: median(many), unit: 'round trips/s', notes: pingNote });
    out.push({ scenario: 'cluster_pingpong', impl: '1 node', value: median(one), unit: 'round trips/s', notes: pingNote });
    console.log(`cluster_pingpong: 1 node ${fmt(median(one))}/s, ${cores} nodes ${fmt(median(many))}/s (${(median(many) / median(one)).toFixed(2)}x; rounds 1 node ${one.map(fmt).join(', ')}; ${cores} nodes ${many.map(fmt).join(', ')}); per CPU-second 1 node ${fmt(median(cpuOne))}, ${cores} nodes ${fmt(median(cpuMany))} (${perCpu.toFixed(2)} per core); load ${loadPing}`);

    // inhost_call
    // Warm-up: a second each, so the distribution's paths are optimized in both nodes before the rounds.
    const { threads } = rig;
    await callRound(t, rig.ring.names, 1000);
    await callRound(t, rig.many.names, 1000);
    await callRound(t, rig.tcp.names, 1000);
    await callRound(t, threads.names, 1000);
    await messagePortRound(worker, 500);
    await echoRound(echo.socket, 500);
    await echoRound(tcpEcho.socket, 500);
    const loadCall = load();
    // CPU µs per call of both nodes (and of node 0 alone), per bare round trip of both sides.
    const cost = {
      ring: [] as number[], ring0: [] as number[], inHost: [] as number[], inHost0: [] as number[], tcp: [] as number[], tcp0: [] as number[],
      threads: [] as number[], port: [] as number[], unix: [] as number[], bareTcp: [] as number[],
    };
    const echoPid = echo.child.pid as number;
    const tcpEchoPid = tcpEcho.child.pid as number;
    const [ring, call, tcp, thr, port, unix, bareTcp] = (await alternate(rounds, [
      // Thread nodes: each node's CPU is its own thread's (from /proc), not the process's.
      () => perOp(() => clusterCpuMs(rig.ring), cost.ring, () => callRound(t, rig.ring.names, ms, cost.ring0)),
      () => perOp(() => clusterCpuMs(rig.many), cost.inHost, () => callRound(t, rig.many.names, ms, cost.inHost0)),
      () => perOp(() => clusterCpuMs(rig.tcp), cost.tcp, () => callRound(t, rig.tcp.names, ms, cost.tcp0)),
      // Both MessagePort thread nodes are in this process: its CPU time (this thread only waits on the rpc meanwhile).
      () => perOp(ownCpuMs, cost.threads, () => callRound(t, threads.names, ms)),
      () => perOp(ownCpuMs, cost.port, () => messagePortRound(worker, ms)),
      () => perOp(() => ownCpuMs() + childCpuMs(echoPid), cost.unix, () => echoRound(echo.socket, ms)),
      () => perOp(() => ownCpuMs() + childCpuMs(tcpEchoPid), cost.bareTcp, () => echoRound(tcpEcho.socket, ms)),
    ])) as [number[], number[], number[], number[], number[], number[], number[]];
    // Each figure is its transport's only if the nodes really connected over it (rings, Unix sockets, TCP).
    const inHostConnects = async (cluster: LocalCluster): Promise<number> => (await cluster.stats()).reduce((sum, x) => sum + x.inHostConnects, 0);
    if ((await inHostConnects(rig.ring)) === 0 || (await inHostConnects(rig.many)) === 0 || (await inHostConnects(rig.tcp)) !== 0) {
      throw new Error('inhost_call: the threads cluster is not connected over rings, or the processes one over Unix sockets, or the TCP one is not over TCP');
    }
    const c = median(ring);
    const us = (xs: readonly number[]): string => median(xs).toFixed(1);
    const callNote =
      `sequential calls node 0 -> node 1, ${rounds} alternating rounds of ${ms} ms, medians: nodes as threads over shared-memory rings ${(c / median(tcp)).toFixed(2)}x ` +
      `the same over loopback TCP (target >= 3x), ${(c / median(port)).toFixed(2)}x a bare MessagePort round trip between threads (target >= 0.8x); ` +
      `nodes as processes over Unix sockets ${fmt(median(call))} calls/s (${(median(call) / median(tcp)).toFixed(2)}x TCP), as threads over MessagePorts (bench/cluster-threads.ts) ${fmt(median(thr))} calls/s; ` +
      `CPU per call, both nodes: rings ${us(cost.ring)} us (node 0 ${us(cost.ring0)}), Unix ${us(cost.inHost)} us (node 0 ${us(cost.inHost0)}), TCP ${us(cost.tcp)} us (node 0 ${us(cost.tcp0)}), MessagePort threads ${us(cost.threads)} us; ` +
      `per bare round trip, both sides: MessagePort ${us(cost.port)} us, Unix socket ${us(cost.unix)} us (${fmt(median(unix))}/s), TCP ${us(cost.bareTcp)} us (${fmt(median(bareTcp))}/s); ` +
      `an idle ring node polls up to 50 us before it sleeps (its CPU counts here); load average ${loadCall}`;
    out.push({ scenario: 'inhost_call', impl: 'beamline', value: c, unit: 'calls/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'tcp', value: median(tcp), unit: 'calls/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'messageport', value: median(port), unit: 'round trips/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'processes (unix)', value: median(call), unit: 'calls/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'threads (messageport)', value: median(thr), unit: 'calls/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'unix socket', value: median(unix), unit: 'round trips/s', notes: callNote });
    out.push({ scenario: 'inhost_call', impl: 'tcp socket', value: median(bareTcp), unit: 'round trips/s', notes: callNote });
    console.log(
      `inhost_call: threads over rings ${fmt(c)} calls/s (${(c / median(tcp)).toFixed(2)}x TCP, ${(c / median(port)).toFixed(2)}x bare MessagePort), processes over Unix ${fmt(median(call))}, TCP ${fmt(median(tcp))}, threads over MessagePorts ${fmt(median(thr))}; ` +
        `bare round trips MessagePort ${fmt(median(port))}/s, Unix socket ${fmt(median(unix))}/s, TCP ${fmt(median(bareTcp))}/s; ` +
        `CPU us per call rings ${us(cost.ring)} (node 0 ${us(cost.ring0)}), Unix ${us(cost.inHost)} (node 0 ${us(cost.inHost0)}), TCP ${us(cost.tcp)} (node 0 ${us(cost.tcp0)}), MessagePort threads ${us(cost.threads)}, bare MessagePort ${us(cost.port)}, Unix ${us(cost.unix)}, TCP ${us(cost.bareTcp)}; ` +
        `rounds rings ${ring.map(fmt).join(', ')}; Unix ${call.map(fmt).join(', ')}; TCP ${tcp.map(fmt).join(', ')}; load ${loadCall}`,
    );

    // web_cluster
    const generator = loader();
    const seconds = quick ? 2 : 5;
    const portOne = await webPort(t, rig.one);
    const portMany = await webPort(t, rig.many);
    if (portOne === portMany) throw new Error(`the 1-node and ${cores}-node gateways share port ${portOne}`);
    const urlOne = `http://127.0.0.1:${portOne}/who`;
    const urlMany = `http://127.0.0.1:${portMany}/who`;
    await generator.run(urlOne, 2); // warm-up
    await generator.run(urlMany, 2);
    const loadWeb = load();
    const cpuWebOne: number[] = [];
    const cpuWebMany: number[] = [];
    // CPU µs per request of the load generator.
    const gen: number[] = [];
    const loaded = async (url: string): Promise<[number, number]> => {
      const [rate, n, cpu] = await generator.run(url, seconds);
      gen.push((cpu * 1000) / n);
      return [rate, n];
    };
    // Per node: requests served (from the nodes) and connections the shared port handed it (from the primary), per round.
    const served = async (): Promise<[number, number][]> => {
      const requests = await Promise.all(rig.many.names.map(async (n) => (await rpc(t, n, 'web', 'served', [])) as number));
      const members = rig.many.members();
      return requests.map((r, i) => [r, members[i]?.connections.taken ?? 0]);
    };
    const splits: string[] = [];
    const splitRound = async (round: () => Promise<number>): Promise<number> => {
      const before = await served();
      const rate = await round();
      const by = (await served()).map(([x, c], i) => [x - (before[i] as [number, number])[0], c - (before[i] as [number, number])[1]] as const);
      const all = by.reduce((x, y) => x + y[0], 0);
      splits.push(`${by.map(([x]) => `${Math.round((100 * x) / all)}%`).join('/')} (${by.map(([, c]) => c).join('/')} conns)`);
      return rate;
    };
    const [webOne, webMany] = (await alternate(rounds, [
      () => counted(rig.one, cpuWebOne, () => loaded(urlOne)),
      () => splitRound(() => counted(rig.many, cpuWebMany, () => loaded(urlMany))),
    ])) as [number[], number[]];
    const split = `the requests (connections) per round ${splits.join(', ')}`;
    const webBest = Math.max(...webMany.map((m, i) => m / (webOne[i] as number)));
    const webPerCpu = median(cpuWebMany) / median(cpuWebOne);
    // The most an idle machine of `cores` cores gives, the generator beside the nodes: each node at most a
    // core, all of them and the generator together at most every core (CPU µs per request, measured above).
    const g = median(gen);
    const n1 = 1e6 / median(cpuWebOne);
    const nN = 1e6 / median(cpuWebMany);
    const ceiling = Math.min(cores * (1e6 / nN), (cores * 1e6) / (nN + g)) / Math.min(1e6 / n1, (cores * 1e6) / (n1 + g));
    const webNote =
      `GET /who, 32 keep-alive connections, ${generator.name} on the same host, ${rounds} alternating rounds of ${seconds} s, medians; ${cores} nodes / 1 node = ` +
      `${(median(webMany) / median(webOne)).toFixed(2)}x wall clock (target >= 1.6x on 2 cores; best round ${webBest.toFixed(2)}x); ` +
      `requests per CPU-second of the nodes: 1 node ${fmt(median(cpuWebOne))}, ${cores} nodes ${fmt(median(cpuWebMany))}, ${webPerCpu.toFixed(2)} per core ` +
      `(${(webPerCpu * cores).toFixed(2)}x with a core per node); the ${cores} nodes served ${split}; CPU per request: nodes ${n1.toFixed(1)} us (1 node) / ${nN.toFixed(1)} us (${cores} nodes), ${generator.name} ${g.toFixed(1)} us, ` +
      `so an idle ${cores}-core machine running ${generator.name} beside the nodes allows at most ${ceiling.toFixed(2)}x; load average ${loadWeb}`;
    out.push({ scenario: 'web_cluster', impl: 'beamline', value: median(webMany), unit: 'req/s', notes: webNote });
    out.push({ scenario: 'web_cluster', impl: '1 node', value: median(webOne), unit: 'req/s', notes: webNote });
    console.log(
      `web_cluster (${generator.name}): 1 node ${fmt(median(webOne))} req/s, ${cores} nodes ${fmt(median(webMany))} req/s (${(median(webMany) / median(webOne)).toFixed(2)}x; ` +
        `rounds ${webOne.map(fmt).join(', ')} vs ${webMany.map(fmt).join(', ')}); per CPU-second 1 node ${fmt(median(cpuWebOne))}, ${cores} nodes ${fmt(median(cpuWebMany))}; ` +
        `split ${split}; ${generator.name} ${g.toFixed(1)} us CPU per request; idle-machine ceiling ${ceiling.toFixed(2)}x; load ${loadWeb}`,
    );
    return out;
  } finally {
    echo.close();
    tcpEcho.close();
    await worker.terminate();
    await stopRig(rig);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await runCoresBench({ quick: process.argv.includes('--quick') }));
  process.exit(0);
}
