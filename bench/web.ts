/**
 * Web and TCP load benchmark: Beamline's Web gateway (handler pools of 1
 * and 8) against a plain `node:http` server running the same handler, and
 * Beamline's TCP echo against a plain `node:net` echo. The load comes from
 * a separate Node process (this file with `--client`): keep-alive
 * `http.Agent` connections, each looping request after request, over
 * loopback, for a fixed time; it reports requests/s and latency
 * percentiles.
 *
 * The `*_kv` scenarios are the path users write: a handler process that
 * makes one call to a local Server and answers with what it got.
 *
 * - `web_kv`: the demo's own `GET /kv/:key` (examples/demo: its routes, its
 *   pool of 4, its `kv` Server) against a bare `node:http` server doing the
 *   same work (a Map lookup and `JSON.stringify`), loaded by `autocannon` in
 *   a separate process, at 1, 32 and 256 connections (`web_kv_c1`,
 *   `web_kv`, `web_kv_c256`; the quick run too: the target applies at all
 *   three). Prints req/s, the ratio to node:http and both p99s.
 * - `tcp_kv`: the demo's TCP line protocol (`GET key` -> `VALUE json`, one
 *   `kv` call per line, pool of 4) against a bare `node:net` server doing
 *   the same, 32 connections (full run: 1, 32 and 256), one request in flight per connection.
 *
 * Each kv row set has the rate of both sides, the ratio, both p99s and both
 * servers' CPU time per request (`*_cpu`, from `process.cpuUsage` around the
 * measured run: the figure that moves least with the load of a shared machine).
 * `tcp_kv` adds two diagnostics of the server process: scavenges per 10k
 * requests (`tcp_kv_gc`) and bytes allocated per request (`tcp_kv_bytes`,
 * from V8's GC profiler: the used heap's growth between collections).
 *
 * Run alone: `node build/bench/web.js [--quick] [--only=web_kv|--only=tcp_kv]` (`--only` runs that kv
 * scenario alone); `npm run bench` runs it as a part.
 *
 * @example
 * ```ts
 * const results = await runWebBench({ quick: true });
 * // [{ scenario: 'web_rps_pool8', impl: 'beamline', value: 9500, unit: 'req/s' }, ...]
 * ```
 * @module
 */
import { execFile, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants as perfConstants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { Node } from '../src/core/node.js';
import { ok } from '../src/server/server.js';
import { json, respond, route, startWeb, type WebHandler } from '../src/web/index.js';
import { startTcp, type TcpHandler } from '../src/tcp/index.js';
import { startServer } from '../src/server/server.js';
import { atom, tuple } from '../src/terms/index.js';
import { kvServer } from '../examples/demo/kv.js';
import { demoRoutes } from '../examples/demo/http.js';
import { KV_LINES, kvLineProtocol } from '../examples/demo/tcp.js';

/** A part of the run that `--only=<part>` (or `runWebBench`'s `only`) runs alone. */
export type WebBenchPart = 'web_kv' | 'tcp_kv';

/** One measured value. */
export interface WebBenchResult {
  scenario: string;
  impl: string;
  value: number;
  unit: string;
  notes?: string;
}

interface HttpLoad {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** CPU microseconds (user + system) this process spent per request while serving the measured run. */
  cpuPerRequest?: number;
}

const CONNECTIONS = 32;

/** The same work on both sides: parse the id and answer a small JSON document. */
function answer(id: string): { id: string; ok: boolean; at: number } {
  return { id, ok: true, at: id.length };
}

const handler: WebHandler<undefined> = {
  init: () => ok(undefined),
  handleRequest: (req, s) => respond(json(answer(req.params['id'] ?? '')), s),
};

const tcpEcho: TcpHandler<undefined> = {
  init: () => ok(undefined),
  handleData: (conn, line, s) => (conn.send(line), s),
};

// ------------------------------------------------------------------ client side (a separate process)

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function httpClient(url: string, connections: number, ms: number): Promise<HttpLoad> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(`${url}/item/${i}`, { agent }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  // Warm-up, then the measured window.
  const warmEnd = performance.now() + Math.min(300, ms / 4);
  await Promise.all(Array.from({ length: connections }, async (_, c) => {
    while (performance.now() < warmEnd) await one(c);
  }));
  latencies.length = 0;
  errors = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(Array.from({ length: connections }, async (_, c) => {
    let i = c;
    while (performance.now() < end) await one(i++);
  }));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { rps: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), requests: latencies.length, errors };
}

interface TcpLoad {
  rtps: number;
  p99: number;
  /** Replies that were not `expect`. */
  errors: number;
  /** Requests answered in all, warm-up included. */
  all: number;
}

/**
 * `connections` sockets, each sending `line` and waiting for one reply line, for `ms`
 * (after a warm-up of `warmMs` that is not counted).
 */
async function tcpClient(port: number, connections: number, ms: number, line = 'ping', expect = line, warmMs = 0): Promise<TcpLoad> {
  const latencies: number[] = [];
  let errors = 0;
  let all = 0;
  const startAt = performance.now() + warmMs;
  const end = startAt + ms;
  const request = `${line}\n`;
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let buf = '';
    let t0 = 0;
    const send = (): void => {
      t0 = performance.now();
      s.write(request);
    };
    s.on('connect', send);
    s.on('data', (d) => {
      buf += d.toString();
      if (!buf.endsWith('\n')) return;
      const now = performance.now();
      all++;
      if (t0 >= startAt && now < end) {
        if (buf.slice(0, -1) === expect) latencies.push(now - t0);
        else errors++;
      }
      buf = '';
      if (now < end) send();
      else s.end();
    });
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  })));
  const sorted = Float64Array.from(latencies).sort();
  return { rtps: latencies.length / (ms / 1000), p99: percentile(sorted, 99), errors, all };
}

/** Runs autocannon (a separate process) against `url`: a warm-up of 1 s (unless `warm` is false), then the measured run. */
async function autocannon(url: string, connections: number, seconds: number, warm = true): Promise<HttpLoad> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const run = (d: number): Promise<{ requests: { total: number }; duration: number; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number }> =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, [bin, '-j', '-n', '-c', String(connections), '-d', String(d), url], { maxBuffer: 8 << 20 }, (err, out, errOut) => {
        if (err !== null) return reject(new Error(`autocannon failed: ${err.message} ${errOut}`));
        try {
          resolve(JSON.parse(out) as never);
        } catch (e) {
          reject(new Error(`autocannon printed no JSON: ${String(e)} ${out.slice(0, 200)}`));
        }
      }),
    );
  if (warm) await run(1);
  // The server runs in this process: its CPU per request is measured over the measured run.
  const cpu0 = process.cpuUsage();
  const r = await run(seconds);
  const cpu = process.cpuUsage(cpu0);
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.non2xx + r.errors + r.timeouts,
    cpuPerRequest: (cpu.user + cpu.system) / Math.max(1, r.requests.total),
  };
}

// ------------------------------------------------------------------ driver

function runClient<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--client', ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`client exited with ${code}`);
        resolve(JSON.parse(out) as T);
      } catch (err) {
        reject(err);
      }
    });
  });
}

// ------------------------------------------------------------------ the kv scenarios

const KV_KEY = 'greeting';
const KV_VALUE = 'hello from the store';

/** A bare node:http server doing the demo's GET /kv/:key work: a Map lookup and JSON.stringify. */
async function bareKvHttp(): Promise<{ url: string; close: () => Promise<void> }> {
  const store = new Map<string, unknown>([[KV_KEY, KV_VALUE]]);
  const server = createHttpServer((req, res) => {
    const m = /^\/kv\/([^/?]+)/.exec(req.url ?? '');
    const key = m === null ? undefined : decodeURIComponent(m[1] as string);
    if (req.method !== 'GET' || key === undefined) {
      res.writeHead(404).end();
      return;
    }
    const found = store.get(key);
    res.writeHead(found === undefined ? 404 : 200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(found === undefined ? { error: 'not_found', key } : found));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A bare node:net line server: each line is answered with `answer(line)` and a newline, at once. */
async function bareLineServer(answer: (line: string) => string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createNetServer((s) => {
    s.setNoDelay(true);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        s.write(`${answer(line)}\n`);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A bare node:net server doing the demo's TCP `GET key` work (its regex, a Map lookup, JSON.stringify). */
function bareKvTcp(): Promise<{ port: number; close: () => Promise<void> }> {
  const store = new Map<string, unknown>([[KV_KEY, KV_VALUE]]);
  return bareLineServer((line) => {
    const m = /^(PUT|GET|DEL)\s+(\S+)(?:\s+(.*))?$/.exec(line.replace(/\r$/, ''));
    const found = m === null ? undefined : store.get(m[2] as string);
    return found === undefined ? 'NOT_FOUND' : `VALUE ${JSON.stringify(found)}`;
  });
}

/** One side of a kv scenario, measured. */
interface Served {
  /** Requests per second. */
  rate: number;
  /** Latency p99 in ms. */
  p99: number;
  errors: number;
  /** Server CPU microseconds per request (the server runs in this process). */
  cpuPerRequest: number;
  /** Young-generation collections (scavenges) of this process per 10k requests, where measured. */
  scavengesPer10k?: number;
  /** Bytes this process allocated per request, where measured. */
  bytesPerRequest?: number;
}

/**
 * Bytes this process allocates between {@link AllocationMeter.start} and {@link AllocationMeter.stop}: the
 * growth of the used heap between collections, summed (V8's GC profiler gives the used heap before and after
 * each one). Independent of how often the young generation is collected, so steadier than the scavenge count.
 */
class AllocationMeter {
  private profiler: GCProfiler | undefined;
  private usedAtStart = 0;
  start(): void {
    this.profiler = new GCProfiler();
    this.usedAtStart = getHeapStatistics().used_heap_size;
    this.profiler.start();
  }
  stop(): number {
    const stats = (this.profiler as GCProfiler).stop()?.statistics ?? [];
    const usedAtEnd = getHeapStatistics().used_heap_size;
    this.profiler = undefined;
    let bytes = 0;
    let after = this.usedAtStart;
    for (const gc of stats) {
      bytes += gc.beforeGC.heapStatistics.usedHeapSize - after;
      after = gc.afterGC.heapStatistics.usedHeapSize;
    }
    return bytes + usedAtEnd - after;
  }
}

/**
 * Counts this process's scavenges (young-generation GCs), for the tcp_kv diagnostic row: each one
 * pauses every request in flight, so how often they come per request shows in the p99.
 */
class ScavengeCounter {
  count = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) this.count++;
  });
  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }
  stop(): void {
    this.observer.disconnect();
  }
}

/**
 * `rounds` rounds of both sides, interleaved so that a disturbance of the shared machine does not fall on
 * one side only, and taking turns at going first (Beamline, then bare first, and so on), so that neither side
 * always runs on what the other left (Node's stream code re-optimized after connections closed, garbage to
 * collect); the best round of each side is kept (its p99 and CPU with it). Only the first round warms up.
 */
async function bestOfRounds(rounds: number, ours: (warm: boolean) => Promise<Served>, bare: (warm: boolean) => Promise<Served>): Promise<[Served, Served]> {
  let a: Served | undefined;
  let b: Served | undefined;
  for (let r = 0; r < rounds; r++) {
    const warm = r === 0;
    const first = r % 2 === 0 ? ours : bare;
    const x = await first(warm);
    const y = await (first === ours ? bare : ours)(warm);
    const [o, t] = first === ours ? [x, y] : [y, x];
    if (a === undefined || o.rate > a.rate) a = o;
    if (b === undefined || t.rate > b.rate) b = t;
  }
  return [a as Served, b as Served];
}

/** The rows of one kv scenario: both rates, the ratio, both p99s; the notes carry the CPU per request. */
function kvRows(scenario: string, bareImpl: string, ours: Served, bare: Served, notes: string): WebBenchResult[] {
  return [
    { scenario, impl: 'beamline', value: Math.round(ours.rate), unit: 'req/s', notes: `${notes}; ${ours.errors} errors` },
    { scenario, impl: bareImpl, value: Math.round(bare.rate), unit: 'req/s', notes },
    { scenario: `${scenario}_ratio`, impl: 'beamline', value: round2(ours.rate / bare.rate), unit: `x ${bareImpl} (target >= 0.8)` },
    { scenario: `${scenario}_p99`, impl: 'beamline', value: round2(ours.p99), unit: 'ms (lower is better)' },
    { scenario: `${scenario}_p99`, impl: bareImpl, value: round2(bare.p99), unit: 'ms (lower is better)' },
    // The steadiest figure on a shared machine: what one request costs the server process.
    { scenario: `${scenario}_cpu`, impl: 'beamline', value: round2(ours.cpuPerRequest), unit: 'server CPU us/request (lower is better)' },
    { scenario: `${scenario}_cpu`, impl: bareImpl, value: round2(bare.cpuPerRequest), unit: 'server CPU us/request (lower is better)' },
    ...(ours.scavengesPer10k === undefined || bare.scavengesPer10k === undefined
      ? []
      : [
          { scenario: `${scenario}_gc`, impl: 'beamline', value: round2(ours.scavengesPer10k), unit: 'server scavenges per 10k requests (diagnostic)' },
          { scenario: `${scenario}_gc`, impl: bareImpl, value: round2(bare.scavengesPer10k), unit: 'server scavenges per 10k requests (diagnostic)' },
        ]),
    ...(ours.bytesPerRequest === undefined || bare.bytesPerRequest === undefined
      ? []
      : [
          { scenario: `${scenario}_bytes`, impl: 'beamline', value: Math.round(ours.bytesPerRequest), unit: 'server bytes allocated per request (diagnostic)' },
          { scenario: `${scenario}_bytes`, impl: bareImpl, value: Math.round(bare.bytesPerRequest), unit: 'server bytes allocated per request (diagnostic)' },
        ]),
  ];
}

/**
 * web_kv and tcp_kv: the demo's kv Server, HTTP routes and TCP line protocol on one node,
 * against bare servers doing the same work, in the same run.
 */
async function kvScenarios(node: Node, quick: boolean, only: WebBenchPart | undefined): Promise<WebBenchResult[]> {
  const results: WebBenchResult[] = [];
  await startServer(node, kvServer(), undefined, { name: 'kv' });
  await node.call('kv', tuple(atom('put'), KV_KEY, KV_VALUE));
  const seconds = quick ? 2 : 5;
  const rounds = quick ? 2 : 3;
  const best = `best of ${rounds} interleaved rounds`;
  if (only === undefined || only === 'web_kv') results.push(...(await webKv(node, seconds, rounds, best)));
  if (only === undefined || only === 'tcp_kv') results.push(...(await tcpKv(node, quick, seconds, rounds, best)));
  return results;
}

/** web_kv: the demo's routes against bare node:http, at 1, 32 and 256 connections. */
async function webKv(node: Node, seconds: number, rounds: number, best: string): Promise<WebBenchResult[]> {
  const results: WebBenchResult[] = [];
  const web = await startWeb(node, { routes: demoRoutes() });
  const bare = await bareKvHttp();
  try {
    for (const conns of [1, CONNECTIONS, 256]) {
      const load = async (url: string, warm: boolean): Promise<Served> => {
        const r = await autocannon(`${url}/kv/${KV_KEY}`, conns, seconds, warm);
        return { rate: r.rps, p99: r.p99, errors: r.errors, cpuPerRequest: r.cpuPerRequest ?? Number.NaN };
      };
      const [ours, theirs] = await bestOfRounds(rounds, (w) => load(web.url, w), (w) => load(bare.url, w));
      const notes = `demo GET /kv/:key (pool of 4, one kv call) vs bare node:http (Map lookup + JSON.stringify); autocannon, ${conns} connections, ${seconds} s, ${best}`;
      results.push(...kvRows(conns === CONNECTIONS ? 'web_kv' : `web_kv_c${conns}`, 'node_http', ours, theirs, notes));
    }
  } finally {
    await bare.close();
  }
  return results;
}

/** tcp_kv: the demo's TCP line protocol against bare node:net, at 32 connections (full run: 1, 32 and 256). */
async function tcpKv(node: Node, quick: boolean, seconds: number, rounds: number, best: string): Promise<WebBenchResult[]> {
  const results: WebBenchResult[] = [];
  const tcp = await startTcp(node, { framing: KV_LINES, handler: kvLineProtocol, args: undefined, poolSize: 4, idleTimeout: 300_000 });
  const bareTcp = await bareKvTcp();
  const scavenges = new ScavengeCounter();
  try {
    const expect = `VALUE ${JSON.stringify(KV_VALUE)}`;
    for (const conns of quick ? [CONNECTIONS] : [1, CONNECTIONS, 256]) {
      const load = async (port: number, warm: boolean): Promise<Served> => {
        const cpu0 = process.cpuUsage();
        const gc0 = scavenges.count;
        const meter = new AllocationMeter();
        meter.start();
        const r = await runClient<TcpLoad>(['tcpline', String(port), String(conns), String(seconds * 1000), `GET ${KV_KEY}`, expect, warm ? '1000' : '0']);
        const cpu = process.cpuUsage(cpu0);
        const bytes = meter.stop();
        // GC entries are delivered after the fact: a turn later, the run's are all counted.
        await new Promise((resolve) => setImmediate(resolve));
        const all = Math.max(1, r.all);
        return { rate: r.rtps, p99: r.p99, errors: r.errors, cpuPerRequest: (cpu.user + cpu.system) / all, scavengesPer10k: ((scavenges.count - gc0) * 10_000) / all, bytesPerRequest: bytes / all };
      };
      const [ours, theirs] = await bestOfRounds(rounds, (w) => load(tcp.port, w), (w) => load(bareTcp.port, w));
      const notes = `demo line protocol GET key (pool of 4, one kv call) vs bare node:net; ${conns} connections, one request in flight each, ${seconds} s, ${best}`;
      results.push(...kvRows(conns === CONNECTIONS ? 'tcp_kv' : `tcp_kv_c${conns}`, 'node_net', ours, theirs, notes));
    }
  } finally {
    scavenges.stop();
    await bareTcp.close();
  }
  return results;
}

async function plainHttp(ms: number): Promise<HttpLoad> {
  const server = createHttpServer((req, res) => {
    const m = /^\/item\/([^/?]+)/.exec(req.url ?? '');
    if (m === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer(decodeURIComponent(m[1] as string))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await runClient<HttpLoad>(['http', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, String(CONNECTIONS), String(ms)]);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

async function beamlineHttp(node: Node, poolSize: number, ms: number): Promise<HttpLoad> {
  const web = await startWeb(node, { routes: [route('GET', '/item/:id', handler, { poolSize })] });
  return runClient<HttpLoad>(['http', web.url, String(CONNECTIONS), String(ms)]);
}

async function plainTcp(ms: number, conns: number): Promise<number> {
  const server = await bareLineServer((line) => line);
  try {
    return (await runClient<TcpLoad>(['tcp', String(server.port), String(conns), String(ms)])).rtps;
  } finally {
    await server.close();
  }
}

/**
 * Runs the Web and TCP scenarios; `quick` keeps the whole run under a minute and a half.
 *
 * @example
 * ```ts
 * for (const r of await runWebBench({ quick: true })) console.log(r.scenario, r.impl, r.value, r.unit);
 * ```
 */
export async function runWebBench(opts: { quick: boolean; only?: WebBenchPart }): Promise<WebBenchResult[]> {
  const ms = opts.quick ? 1000 : 5000;
  const tcpConns = 8;
  const results: WebBenchResult[] = [];
  const node = new Node({ name: 'webbench@127.0.0.1', logger: () => {} });
  try {
    if (opts.only !== undefined) return await kvScenarios(node, opts.quick, opts.only);
    const plain = await plainHttp(ms);
    const notes = `${CONNECTIONS} keep-alive connections, client in a separate process, ${ms} ms`;
    for (const pool of [1, 8]) {
      const b = await beamlineHttp(node, pool, ms);
      results.push(
        { scenario: `web_rps_pool${pool}`, impl: 'beamline', value: Math.round(b.rps), unit: 'req/s', notes: `${notes}; ${b.errors} errors` },
        { scenario: `web_rps_pool${pool}`, impl: 'node_http', value: Math.round(plain.rps), unit: 'req/s', notes },
        { scenario: `web_p50_pool${pool}`, impl: 'beamline', value: round2(b.p50), unit: 'ms (lower is better)' },
        { scenario: `web_p50_pool${pool}`, impl: 'node_http', value: round2(plain.p50), unit: 'ms (lower is better)' },
        { scenario: `web_p99_pool${pool}`, impl: 'beamline', value: round2(b.p99), unit: 'ms (lower is better)' },
        { scenario: `web_p99_pool${pool}`, impl: 'node_http', value: round2(plain.p99), unit: 'ms (lower is better)' },
      );
    }
    const tcp = await startTcp(node, { framing: 'line', handler: tcpEcho, args: undefined, poolSize: 4 });
    const ours = (await runClient<TcpLoad>(['tcp', String(tcp.port), String(tcpConns), String(ms)])).rtps;
    const theirs = await plainTcp(ms, tcpConns);
    const tnotes = `${tcpConns} connections, line echo, one message in flight per connection`;
    results.push(
      { scenario: 'tcp_echo_rtt', impl: 'beamline', value: Math.round(ours), unit: 'round trips/s', notes: tnotes },
      { scenario: 'tcp_echo_rtt', impl: 'node_net', value: Math.round(theirs), unit: 'round trips/s', notes: tnotes },
    );
    results.push(...(await kvScenarios(node, opts.quick, undefined)));
  } finally {
    await node.stop();
  }
  return results;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

async function clientMain(args: string[]): Promise<void> {
  const [kind, target, conns, ms, line, expect, warm] = args;
  const out =
    kind === 'http'
      ? await httpClient(target as string, Number(conns), Number(ms))
      : kind === 'tcpline'
        ? await tcpClient(Number(target), Number(conns), Number(ms), line, expect, Number(warm))
        : await tcpClient(Number(target), Number(conns), Number(ms));
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--client');
  if (i >= 0) {
    await clientMain(process.argv.slice(i + 1));
    process.exit(0);
  } else {
    const t0 = performance.now();
    const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
    if (onlyArg !== undefined && onlyArg !== 'web_kv' && onlyArg !== 'tcp_kv') throw new Error(`--only: expected web_kv or tcp_kv, got ${onlyArg}`);
    const results = await runWebBench({ quick: process.argv.includes('--quick'), ...(onlyArg !== undefined ? { only: onlyArg } : {}) });
    for (const r of results) console.log(`${r.scenario.padEnd(16)} ${r.impl.padEnd(10)} ${String(r.value).padStart(9)} ${r.unit}`);
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
