/**
 * Stage benchmark: events/s through producer → consumer, Beamline's Stage
 * next to Elixir's GenStage 1.3.2 (compiled from ../shared/vendor with
 * elixirc in the same run), same events (integers 0..N-1), same options
 * (max_demand 1000, default min_demand), same counts.
 *
 * - `stage_throughput`: producer and consumer on one node.
 * - `stage_remote`: producer on one node, consumer on another, over the
 *   distribution (two OS processes on each side).
 *
 * Each measurement runs a warm-up of a tenth of N, then 2 (quick) or 3 runs
 * and keeps the best. The Elixir rows are reported as impl `erlang` (the
 * peer column) with a note saying it is GenStage.
 *
 * Run alone: `npx tsc -p . && node build/bench/stage.js [--quick]`
 * @module
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { freePort } from '../src/raft/testing/free-port.js';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Node } from '../src/core/node.js';
import { startNode } from '../src/distribution/node-dist.js';
import { noreply } from '../src/server/server.js';
import { consumer } from '../src/stage/results.js';
import { startStage } from '../src/stage/stage.js';
import { syncSubscribe } from '../src/stage/api.js';
import type { StageBehavior } from '../src/stage/types.js';
import { atom } from '../src/terms/atom.js';
import { Pid } from '../src/terms/identifiers.js';
import { Tuple, tuple } from '../src/terms/tuple.js';
import { Inbox } from '../src/distribution/testing/inbox.js';
import type { StageTarget } from '../src/stage/options.js';
import { counterProducer } from '../test/stages.js';
import { compileStages, evalElixir, startElixirStageNode } from '../test/elixir-stage.js';
import type { BenchResult } from './local.js';

const MAX_DEMAND = 1000;
const COOKIE = 'stagebench';

function counts(quick: boolean): { local: number; remote: number; runs: number } {
  return quick ? { local: 3_000_000, remote: 600_000, runs: 2 } : { local: 10_000_000, remote: 3_000_000, runs: 3 };
}

/** A consumer that resolves `done` once it has seen `n` events. */
function counter(n: number, done: () => void): StageBehavior<number, undefined, number, never> {
  return {
    init: () => consumer(0),
    handleEvents(events, _from, c) {
      const total = c + events.length;
      if (total >= n) done();
      return noreply(total);
    },
  };
}

/** Events/s of one run: subscribe a counting consumer on `node` to `producer` and wait for `n` events. */
async function oneRun(node: Node, producer: StageTarget, n: number): Promise<number> {
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const c = await startStage(node, counter(n, done), undefined);
  const t0 = performance.now();
  await syncSubscribe(node, c.pid, { to: producer as Pid, maxDemand: MAX_DEMAND, cancel: "temporary" });
  await finished;
  const t1 = performance.now();
  node.exit(c.pid, atom('kill'));
  return (n * 1000) / (t1 - t0);
}

/** Warm-up (a tenth of N) then `runs` measured runs; the best. `start(size)` gives a fresh producer. */
async function best(node: Node, n: number, runs: number, start: (size: number) => Promise<Pid>): Promise<number> {
  let top = 0;
  for (let r = -1; r < runs; r++) {
    const size = r < 0 ? Math.floor(n / 10) : n;
    const p = await start(size);
    const v = await oneRun(node, p, size);
    if (r >= 0) top = Math.max(top, v);
  }
  return top;
}

async function beamlineLocal(n: number, runs: number): Promise<number> {
  const node = new Node({ name: 'stagebench@127.0.0.1', logger: () => {} });
  try {
    return await best(node, n, runs, async (size) => (await startStage(node, counterProducer(size), 0)).pid);
  } finally {
    await node.stop();
  }
}

/** Peer mode: a Beamline node whose `bench_factory` starts a producer of N events on `{start, N, ReplyTo}`. */
async function peer(name: string, epmdPort: number): Promise<void> {
  const node = await startNode({ name, cookie: COOKIE, epmdPort, node: { logger: () => {} } });
  node.spawn(
    {
      handleMessage: async (m, proc) => {
        if (!(m instanceof Tuple)) return;
        const p = await startStage(node, counterProducer(m.elements[1] as number), 0);
        proc.send(m.elements[2] as Pid, p.pid);
      },
    },
    { name: 'bench_factory' },
  );
  console.log('READY');
}

async function beamlineRemote(n: number, runs: number, epmdPort: number, tag: number): Promise<number> {
  const peerName = `stagep${tag}@127.0.0.1`;
  const node = await startNode({ name: `stagec${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: () => {} } });
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--peer', peerName, String(epmdPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (b: Buffer) => (b.toString().includes('READY') ? resolve() : undefined));
      child.once('exit', () => reject(new Error('stage bench peer exited')));
    });
    const inbox = new Inbox(node);
    return await best(node, n, runs, async (size) => {
      node.send({ name: 'bench_factory', node: peerName }, tuple(atom('start'), size, inbox.pid));
      return inbox.waitFor<Pid>((m) => m instanceof Pid, 'producer pid', 30_000);
    });
  } finally {
    child.kill('SIGKILL');
    await node.stop();
  }
}

/** Elixir GenStage, local and across two Elixir nodes; events/s each (best of `runs` after a warm-up). */
async function elixir(c: ReturnType<typeof counts>, epmdPort: number, tag: number): Promise<{ local: number; remote: number }> {
  const compiled = await compileStages();
  const a = `stagexa${tag}@127.0.0.1`;
  const b = `stagexb${tag}@127.0.0.1`;
  const node = await startNode({ name: `stagexc${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: () => {} } });
  const ea = await startElixirStageNode({ name: a, cookie: COOKIE, epmdPort, ebin: compiled.ebin });
  const eb = await startElixirStageNode({ name: b, cookie: COOKIE, epmdPort, ebin: compiled.ebin });
  try {
    const measure = async (n: number, remote: boolean): Promise<number> => {
      let top = 0;
      for (let r = -1; r < c.runs; r++) {
        const size = r < 0 ? Math.floor(n / 10) : n;
        const code = remote ? `BT.Bench.run(${size}, ${MAX_DEMAND}, :"${b}")` : `BT.Bench.run(${size}, ${MAX_DEMAND})`;
        const v = (await evalElixir(node, a, code, {}, 600_000)) as number;
        if (r >= 0) top = Math.max(top, v);
      }
      return top;
    };
    return { local: await measure(c.local, false), remote: await measure(c.remote, true) };
  } finally {
    await ea.kill();
    await eb.kill();
    await node.stop();
    compiled.cleanup();
  }
}

/** The bench part: Beamline and Elixir GenStage rows for stage_throughput and stage_remote. */
export async function runStageBench(opts: { quick: boolean }): Promise<BenchResult[]> {
  const c = counts(opts.quick);
  const epmdPort = await freePort();
  const tag = randomInt(1e6);
  const rows: BenchResult[] = [];
  const note = `integers, max_demand ${MAX_DEMAND}`;
  rows.push({ scenario: 'stage_throughput', impl: 'beamline', value: Math.round(await beamlineLocal(c.local, c.runs)), unit: 'events/s', notes: `${c.local} events, ${note}` });
  rows.push({ scenario: 'stage_remote', impl: 'beamline', value: Math.round(await beamlineRemote(c.remote, c.runs, epmdPort, tag)), unit: 'events/s', notes: `${c.remote} events, two OS processes, ${note}` });
  try {
    const ex = await elixir(c, epmdPort, tag);
    const peerNote = 'Elixir GenStage 1.3.2 (vendored, elixirc)';
    rows.push({ scenario: 'stage_throughput', impl: 'erlang', value: Math.round(ex.local), unit: 'events/s', notes: `${peerNote}, ${c.local} events, ${note}` });
    rows.push({ scenario: 'stage_remote', impl: 'erlang', value: Math.round(ex.remote), unit: 'events/s', notes: `${peerNote}, ${c.remote} events, two nodes, ${note}` });
  } catch (err) {
    process.stderr.write(`stage bench: Elixir GenStage skipped: ${(err as Error).message.split('\n')[0] ?? ''}\n`);
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args[0] === '--peer') await peer(args[1] as string, Number(args[2]));
  else {
    console.table(await runStageBench({ quick: args.includes('--quick') }));
    process.exit(0);
  }
}
