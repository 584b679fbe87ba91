/**
 * Web and TCP load benchmark: Beamline's Web gateway (handler pools of 1
 * and 8) against a plain `node:http` server running the same handler, and
 * Beamline's TCP echo against a plain `node:net` echo. The load comes from
 * a separate Node process (this file with `--client`): keep-alive
 * `http.Agent` connections, each looping request after request, over
 * loopback, for a fixed time; it reports requests/s and latency
 * percentiles.
 *
 * Run alone: `node build/bench/web.js [--quick]`; `npm run bench` runs it as a part.
 *
 * @example
 * ```ts
 * const results = await runWebBench({ quick: true });
 * // [{ scenario: 'web_rps_pool8', impl: 'beamline', value: 9500, unit: 'req/s' }, ...]
 * ```
 * @module
 */
import { fork } from 'node:child_process';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Node } from '../src/core/node.js';
import { ok } from '../src/server/server.js';
import { json, respond, route, startWeb, type WebHandler } from '../src/web/index.js';
import { startTcp, type TcpHandler } from '../src/tcp/index.js';

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

async function tcpClient(port: number, connections: number, ms: number): Promise<{ rtps: number }> {
  let trips = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let buf = '';
    s.on('connect', () => s.write('ping\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (!buf.endsWith('\n')) return;
      buf = '';
      trips++;
      if (performance.now() < end) s.write('ping\n');
      else s.end();
    });
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  })));
  return { rtps: trips / ((performance.now() - start) / 1000) };
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
  const server = createNetServer((s) => {
    s.setNoDelay(true);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        s.write(`${buf.slice(0, nl)}\n`);
        buf = buf.slice(nl + 1);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return (await runClient<{ rtps: number }>(['tcp', String((server.address() as AddressInfo).port), String(conns), String(ms)])).rtps;
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/**
 * Runs the Web and TCP scenarios; `quick` keeps the whole run under 10 s.
 *
 * @example
 * ```ts
 * for (const r of await runWebBench({ quick: true })) console.log(r.scenario, r.impl, r.value, r.unit);
 * ```
 */
export async function runWebBench(opts: { quick: boolean }): Promise<WebBenchResult[]> {
  const ms = opts.quick ? 1200 : 5000;
  const tcpConns = 8;
  const results: WebBenchResult[] = [];
  const node = new Node({ name: 'webbench@127.0.0.1', logger: () => {} });
  try {
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
    const ours = (await runClient<{ rtps: number }>(['tcp', String(tcp.port), String(tcpConns), String(ms)])).rtps;
    const theirs = await plainTcp(ms, tcpConns);
    const tnotes = `${tcpConns} connections, line echo, one message in flight per connection`;
    results.push(
      { scenario: 'tcp_echo_rtt', impl: 'beamline', value: Math.round(ours), unit: 'round trips/s', notes: tnotes },
      { scenario: 'tcp_echo_rtt', impl: 'node_net', value: Math.round(theirs), unit: 'round trips/s', notes: tnotes },
    );
  } finally {
    await node.stop();
  }
  return results;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

async function clientMain(args: string[]): Promise<void> {
  const [kind, target, conns, ms] = args;
  const out = kind === 'http' ? await httpClient(target as string, Number(conns), Number(ms)) : await tcpClient(Number(target), Number(conns), Number(ms));
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--client');
  if (i >= 0) {
    await clientMain(process.argv.slice(i + 1));
    process.exit(0);
  } else {
    const t0 = performance.now();
    const results = await runWebBench({ quick: process.argv.includes('--quick') });
    for (const r of results) console.log(`${r.scenario.padEnd(16)} ${r.impl.padEnd(10)} ${String(r.value).padStart(9)} ${r.unit}`);
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
