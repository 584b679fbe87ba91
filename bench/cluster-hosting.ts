/**
 * What a local cluster's two hostings (child processes, worker threads)
 * cost: measures, for each, the memory one more idle Node.js context costs (RSS
 * of the whole host, before and after), the start time, and a message round
 * trip (MessagePort for a worker, the IPC channel for a child process); and
 * the round trip of a shared-memory transport between threads (a
 * SharedArrayBuffer woken by `Atomics.notify` / `Atomics.waitAsync`, as a
 * node's event loop would have to wait), the other in-host transport the
 * issue allowed. The numbers are quoted in the README ("Using every core").
 *
 * Run: `npx tsc -p . && node build/bench/cluster-hosting.js`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const ECHO_WORKER = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`;
const ECHO_CHILD = `process.on('message', (m) => process.send(m));`;
const COUNT = 4;
const TRIPS = 20_000;

interface Hosting {
  readonly kind: string;
  readonly startMs: number;
  readonly rssPerNodeMiB: number;
  readonly roundTripsPerSec: number;
}

async function roundTrips(send: (m: number) => void, on: (f: (m: number) => void) => void): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    on(() => (++n === TRIPS ? resolve() : send(n)));
    send(0);
  });
  return TRIPS / ((performance.now() - t0) / 1000);
}

/** Measures worker threads; RSS is the whole process's (workers share it). */
async function workers(): Promise<Hosting> {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const ws = await Promise.all(
    Array.from({ length: COUNT }, () => new Promise<Worker>((resolve) => {
      const w = new Worker(ECHO_WORKER, { eval: true });
      w.once('online', () => resolve(w));
    })),
  );
  const startMs = (performance.now() - t0) / COUNT;
  const w = ws[0] as Worker;
  const rate = await roundTrips((m) => w.postMessage(m), (f) => w.on('message', f));
  const rss = (process.memoryUsage().rss - rss0) / COUNT / 2 ** 20;
  await Promise.all(ws.map((x) => x.terminate()));
  return { kind: 'worker thread', startMs, rssPerNodeMiB: rss, roundTripsPerSec: rate };
}

/** Measures child processes; RSS read from /proc of each child. */
async function children(): Promise<Hosting> {
  const t0 = performance.now();
  const cs = await Promise.all(
    Array.from({ length: COUNT }, () => new Promise<ChildProcess>((resolve) => {
      const c = spawn(process.execPath, ['-e', ECHO_CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      c.once('spawn', () => {
        c.once('message', () => resolve(c));
        c.send(0);
      });
    })),
  );
  const startMs = (performance.now() - t0) / COUNT;
  const { readFileSync } = await import('node:fs');
  const rssKiB = cs.map((c) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'))?.[1] ?? NaN));
  const c = cs[0] as ChildProcess;
  const rate = await roundTrips((m) => c.send(m), (f) => c.on('message', f as (m: unknown) => void));
  for (const x of cs) x.kill();
  return { kind: 'child process', startMs, rssPerNodeMiB: rssKiB.reduce((a, b) => a + b, 0) / COUNT / 1024, roundTripsPerSec: rate };
}

const SAB_ECHO = `
const { workerData } = require('node:worker_threads');
const a = new Int32Array(workerData);
setInterval(() => {}, 1 << 30); // a pending waitAsync does not keep a thread alive
let seen = 0;
function loop() {
  const r = Atomics.waitAsync(a, 0, seen);
  const answer = () => { seen = Atomics.load(a, 0); Atomics.store(a, 1, seen); Atomics.notify(a, 1); loop(); };
  if (r.async) r.value.then(answer); else answer();
}
loop();`;

/** `Atomics.waitAsync` (Node 16+; not in this project's TypeScript lib). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** Round trips/s through a SharedArrayBuffer between this thread and a worker, each side woken by Atomics.waitAsync. */
async function sharedMemory(): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const a = new Int32Array(sab);
  const w = new Worker(SAB_ECHO, { eval: true, workerData: sab });
  const keep = setInterval(() => {}, 1 << 30);
  await new Promise((r) => w.once('online', r));
  const t0 = performance.now();
  for (let n = 1; n <= TRIPS; n++) {
    Atomics.store(a, 0, n);
    Atomics.notify(a, 0);
    const r = waitAsync(a, 1, n - 1);
    if (r.async) await r.value;
  }
  const rate = TRIPS / ((performance.now() - t0) / 1000);
  clearInterval(keep);
  await w.terminate();
  return rate;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const h of [await workers(), await children()]) {
    console.log(`${h.kind.padEnd(14)} start ${h.startMs.toFixed(1)} ms/node, memory ${h.rssPerNodeMiB.toFixed(1)} MiB/node (idle), ${Math.round(h.roundTripsPerSec)} round trips/s`);
  }
  console.log(`shared memory  ${Math.round(await sharedMemory())} round trips/s between threads (SharedArrayBuffer, Atomics.waitAsync)`);
}
