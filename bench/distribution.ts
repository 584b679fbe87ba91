/**
 * Distribution benchmark: Beamline-to-Beamline next to Erlang-to-Erlang in
 * the same run. Each pair is two OS processes (two Node.js child processes,
 * two erl nodes) on loopback with a private EPMD port.
 *
 * - `remote_send`: one sender sends N messages to a registered process on
 *   the other node; the receiver counts them and acknowledges the last
 *   (msgs/s, measured from the first send to the ack).
 * - `remote_call`: sequential gen_server-style calls (calls/s).
 * - `remote_call_8`: 8 concurrent callers (calls/s).
 * - `tcp_pingpong`: the wire's limit for `remote_call`: the same two Node.js
 *   processes exchange length-prefixed byte messages over a plain `node:net`
 *   socket, sequentially, each the size of a call's request frame and reply
 *   frame (round trips/s). `remote_call` / `tcp_pingpong` is printed as
 *   `remote_call_vs_wire`. No Beamline work runs meanwhile, so no idle spin.
 * - `tcp_pingpong_spin`: the same bare ping-pong where both ends, after each
 *   write, busy-wait as a Beamline node does after distribution traffic
 *   (a `setImmediate` loop, polling I/O without blocking, until nothing has
 *   come for the nodes' `maxSpinUs`; see `socket-spin.ts`): what the spin
 *   itself buys, without Beamline. `remote_call` / `tcp_pingpong_spin` is
 *   printed as `remote_call_vs_wire_spin`.
 *
 * Both Beamline nodes run with the default idle spin; `BEAMLINE_BENCH_SPIN_US=N`
 * gives both `maxSpinUs: N` (0: no spin), for `tcp_pingpong_spin` too.
 *
 * Run alone: `npx tsc -p . && node build/bench/distribution.js [--quick] [--no-erlang] [--scenario=remote_call,remote_call_8]`
 * (the child role: `node build/bench/distribution.js --peer receiver|sender ...`).
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { freePort } from '../src/raft/testing/free-port.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { atom, tuple, isTuple, ImproperList, Pid, Ref, type Tuple } from '../src/terms/index.js';
import { startNode } from '../src/distribution/index.js';
import { Encoder } from '../src/etf/encoder.js';
import { EtfWriter } from '../src/etf/writer.js';
import { AtomCacheWriter } from '../src/distribution/atom-cache.js';
import { idleSpinState } from '../src/core/scheduler.js';

/** One measurement. */
export interface DistBenchResult {
  scenario: string;
  impl: 'beamline' | 'erlang' | 'node_net';
  value: number;
  unit: string;
  notes?: string;
}

interface Counts {
  send: number;
  call: number;
  call8: number;
  /** Measured rounds; the best is kept. */
  rounds: number;
  /** Only these scenarios (`--scenario=a,b`, for profiling one alone); default all. */
  only?: string[];
}

/** One measured scenario on the Beamline pair. */
interface Measured {
  /** Operations per second. */
  rate: number;
  /** CPU microseconds per operation: the sending node (user + system). */
  cpuSelf: number;
  /** The same on the receiving node. */
  cpuPeer: number;
}

interface BeamlinePairResult {
  remote_send?: Measured;
  remote_call?: Measured;
  remote_call_8?: Measured;
  tcp_pingpong?: Measured;
  tcp_pingpong_spin?: Measured;
  /** The nodes' idle spin (µs), also the bare ping-pong's. */
  spinUs: number;
  sizes: { request: number; reply: number };
}

const COOKIE = 'benchcookie';

/** `BEAMLINE_BENCH_SPIN_US`: both nodes' `maxSpinUs`; absent, the default. */
function spinOption(): { maxSpinUs?: number } {
  const v = process.env['BEAMLINE_BENCH_SPIN_US'];
  return v === undefined || v === '' ? {} : { maxSpinUs: Number(v) };
}

function counts(quick: boolean): Counts {
  return quick ? { send: 100_000, call: 5_000, call8: 20_000, rounds: 2 } : { send: 1_000_000, call: 50_000, call8: 200_000, rounds: 3 };
}

/**
 * `BEAMLINE_BENCH_HEAP=<dir>`: samples this node's allocations (objects collected since included, one sample
 * per 4 KB on average) until the returned function runs, which writes `<dir>/<role>.heapprofile` (open it in
 * Chrome DevTools, or sum `selfSize` by function). Without the variable, nothing is sampled.
 */
async function heapSampling(role: string): Promise<() => Promise<void>> {
  const dir = process.env['BEAMLINE_BENCH_HEAP'];
  if (dir === undefined || dir === '') return async () => {};
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(join(dir, `${role}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Child role: the receiving node (a sink and an echo server). */
async function receiver(name: string, epmdPort: number): Promise<void> {
  const heap = await heapSampling('receiver');
  const node = await startNode({ name, cookie: COOKIE, epmdPort, ...spinOption() });
  let count = 0;
  node.spawn(
    {
      handleMessage: (m, p) => {
        count++;
        if (isTuple(m, 3) && m.elements[0] === atom('last')) {
          p.send(m.elements[1] as Pid, tuple(atom('ack'), count));
          count = 0;
        }
      },
    },
    { name: 'sink' },
  );
  node.spawn(
    {
      handleMessage: (m, p) => {
        if (isTuple(m, 3)) p.reply(m.elements[1] as Tuple<[Pid, unknown]>, m.elements[2]);
      },
    },
    { name: 'echo' },
  );
  node.spawn(
    {
      handleMessage: (m, p) => {
        // The CPU this node has used (user + system, microseconds), for the CPU-per-operation columns.
        if (isTuple(m, 3)) {
          const u = process.cpuUsage();
          p.reply(m.elements[1] as Tuple<[Pid, unknown]>, u.user + u.system);
        }
      },
    },
    { name: 'stats' },
  );
  const wire = await pingpongServer();
  process.stdout.write(`READY ${wire}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void heap().then(() => node.stop()).then(() => process.exit(0)));
}

/**
 * The bytes of one sequential call on the wire, as Beamline sends them today:
 * the REG_SEND frame of `{'$gen_call', {Pid, [alias | Ref]}, I}` and the
 * ALIAS_SEND frame of its reply (u32 length included), in the steady state of
 * the outgoing atom cache (every atom already sent once: 2-byte refs).
 */
function callFrameSizes(self: string, peer: string): { request: number; reply: number } {
  const frame = (control: unknown, message: unknown): number => {
    const cache = new AtomCacheWriter();
    const e = new Encoder({ atomCacheIndex: cache.index });
    let size = 0;
    for (let i = 0; i < 2; i++) {
      const w = new EtfWriter(256);
      cache.begin();
      e.writeTerm(w, control);
      e.writeTerm(w, message);
      const head = new EtfWriter(64);
      cache.writeHeader(head);
      size = 4 + 2 + head.length + w.length;
    }
    return size;
  };
  const pid = new Pid(atom(self), 1, 0, 1);
  const ref = new Ref(atom(self), 1, [1, 2, 3]);
  const tag = new ImproperList([atom('alias')], ref);
  return {
    request: frame(tuple(6, pid, atom(''), atom('echo')), tuple(atom('$gen_call'), tuple(pid, tag), 12345)),
    reply: frame(tuple(33, new Pid(atom(peer), 1, 0, 1), ref), tuple(tag, 12345)),
  };
}

/**
 * The bare busy-wait of `tcp_pingpong_spin`, as a Beamline node spins after distribution traffic
 * (without its adaptive back-off): `busy()` after a write or a read starts (or extends) a loop of
 * immediates, each letting the event loop poll for I/O without blocking, that ends once nothing has
 * happened for `spinUs`. With `spinUs` 0, nothing.
 */
function bareSpin(spinUs: number): () => void {
  const spinMs = spinUs / 1000;
  let lastBusy = 0;
  let spinning = false;
  const step = (): void => {
    if (performance.now() - lastBusy >= spinMs) spinning = false;
    else setImmediate(step);
  };
  return () => {
    lastBusy = performance.now();
    if (spinning || spinUs === 0) return;
    spinning = true;
    setImmediate(step);
  };
}

/**
 * Receiver side of `tcp_pingpong`: each connection first sends `u32 request, u32 reply, u32 spinUs`;
 * then every whole request of that size is answered with a reply of that size, followed by a spin
 * of `spinUs` (see {@link bareSpin}). Returns the port.
 */
async function pingpongServer(): Promise<number> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    let requestSize = 0;
    let reply: Buffer | undefined;
    let have = 0;
    let busy = (): void => {};
    s.on('data', (chunk: Buffer) => {
      let at = 0;
      if (reply === undefined) {
        requestSize = chunk.readUInt32BE(0);
        reply = Buffer.alloc(chunk.readUInt32BE(4), 7);
        busy = bareSpin(chunk.readUInt32BE(8));
        at = 12;
      }
      have += chunk.length - at;
      while (have >= requestSize) {
        have -= requestSize;
        s.write(reply);
      }
      busy();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** Sender side of `tcp_pingpong`: one connection, both ends spinning `spinUs` after each write; `run(n)` makes `n` sequential round trips. */
async function openPingpong(port: number, sizes: { request: number; reply: number }, spinUs: number): Promise<{ run: (n: number) => Promise<void>; close: () => void }> {
  const s: Socket = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const head = Buffer.alloc(12);
  head.writeUInt32BE(sizes.request, 0);
  head.writeUInt32BE(sizes.reply, 4);
  head.writeUInt32BE(spinUs, 8);
  s.write(head);
  const busy = bareSpin(spinUs);
  const request = Buffer.alloc(sizes.request, 5);
  const run = (count: number): Promise<void> =>
    new Promise((resolve) => {
      let left = count;
      let have = 0;
      const onData = (chunk: Buffer): void => {
        have += chunk.length;
        while (have >= sizes.reply) {
          have -= sizes.reply;
          if (--left === 0) {
            s.off('data', onData);
            resolve();
            return;
          }
          s.write(request);
        }
        busy();
      };
      s.on('data', onData);
      s.write(request);
      busy();
    });
  return { run, close: () => s.destroy() };
}

/** Child role: the sending node; prints the results as JSON. */
async function sender(name: string, epmdPort: number, peer: string, c: Counts, wirePort: number): Promise<void> {
  const heap = await heapSampling('sender');
  const node = await startNode({ name, cookie: COOKIE, epmdPort, embeddedEpmd: false, ...spinOption() });
  const sink = { name: 'sink', node: peer };
  const echo = { name: 'echo', node: peer };
  await node.call(echo, 'warmup');
  // Warm-up, as the local scenarios do: the JIT compiles the send, call and codec paths before the clock starts
  // (Erlang needs none). A tenth of each count, plus a send burst acknowledged by the sink.
  for (let i = 0; i < Math.max(1000, c.call / 5); i++) await node.call(echo, i);
  await new Promise<void>((resolve) => {
    node.spawn({
      init: (p) => {
        const payload = tuple(atom('msg'), 12345, 'hello');
        for (let i = 0; i < c.send / 10; i++) p.send(sink, payload);
        p.send(sink, tuple(atom('last'), p.self, 0));
      },
      handleMessage: () => resolve(),
    });
  });
  const stats = { name: 'stats', node: peer };
  const peerCpu = async (): Promise<number> => (await node.call(stats, 'cpu')) as number;
  /** Runs `work` (`count` operations): operations/s, and CPU microseconds per operation on this node and on the peer. */
  const measure = async (count: number, work: () => Promise<void>): Promise<Measured> => {
    const peer0 = await peerCpu();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await work();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const peerUs = (await peerCpu()) - peer0;
    return { rate: count / seconds, cpuSelf: (cpu.user + cpu.system) / count, cpuPeer: peerUs / count };
  };
  const sendAll = (): Promise<void> =>
    new Promise<void>((resolve) => {
      node.spawn({
        init: (p) => {
          const payload = tuple(atom('msg'), 12345, 'hello');
          let i = 0;
          const burst = (): void => {
            const end = Math.min(i + 5000, c.send - 1);
            for (; i < end; i++) p.send(sink, payload);
            if (i < c.send - 1) setImmediate(burst);
            else p.send(sink, tuple(atom('last'), p.self, i));
          };
          burst();
        },
        handleMessage: (m) => {
          if (isTuple(m, 2) && m.elements[0] === atom('ack')) resolve();
        },
      });
    });
  const per = Math.floor(c.call8 / 8);
  // tcp_pingpong: the same processes, the same count and warm-up as remote_call, bare sockets.
  const sizes = callFrameSizes(name, peer);
  const spinUs = idleSpinState().maxSpinUs;
  const wire = await openPingpong(wirePort, sizes, 0);
  const wireSpin = await openPingpong(wirePort, sizes, spinUs);
  await wire.run(Math.max(1000, c.call / 5));
  await wireSpin.run(Math.max(1000, c.call / 5));
  const scenarios: [string, number, () => Promise<void>][] = [
    ['remote_send', c.send, sendAll],
    ['remote_call', c.call, async () => {
      for (let i = 0; i < c.call; i++) await node.call(echo, i);
    }],
    ['tcp_pingpong', c.call, () => wire.run(c.call)],
    ['tcp_pingpong_spin', c.call, () => wireSpin.run(c.call)],
    ['remote_call_8', per * 8, async () => {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < per; i++) await node.call(echo, i);
        }),
      );
    }],
  ];
  // Rounds, each scenario once per round, interleaved so that a disturbance of the shared machine
  // does not fall on one scenario only; the best round of each is kept (as the local part does).
  const best: Record<string, Measured> = {};
  for (let round = 0; round < c.rounds; round++) {
    for (const [scenario, count, work] of scenarios) {
      if (c.only !== undefined && !c.only.includes(scenario)) continue;
      const m = await measure(count, work);
      if ((best[scenario]?.rate ?? 0) < m.rate) best[scenario] = m;
    }
  }
  wire.close();
  wireSpin.close();
  const results = { ...best, spinUs, sizes };
  await heap();
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
  await node.stop();
}

function waitLine(child: ChildProcess, pattern: RegExp, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeout} ms: ${out}`)), timeout);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`child exited before ${pattern}: ${out}`));
    });
  });
}

/** `BEAMLINE_BENCH_PROF=<dir>`: both Beamline nodes run with `--cpu-prof` and write their profiles there; `BEAMLINE_BENCH_NODE_ARGS='--trace-gc'`: more node flags for both. */
function profileFlags(role: string): string[] {
  const dir = process.env['BEAMLINE_BENCH_PROF'];
  const extra = process.env['BEAMLINE_BENCH_NODE_ARGS']?.split(' ').filter((a) => a !== '') ?? [];
  return dir === undefined || dir === '' ? extra : [...extra, '--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${role}.cpuprofile`];
}

async function beamlinePair(c: Counts): Promise<BeamlinePairResult> {
  const self = fileURLToPath(import.meta.url);
  const epmdPort = await freePort();
  const tag = randomInt(1e6);
  const R = `benchr${tag}@127.0.0.1`;
  const rx = spawn(process.execPath, [...profileFlags('receiver'), self, '--peer', 'receiver', R, String(epmdPort)], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    const wirePort = await waitLine(rx, /READY (\d+)\n/, 20_000);
    const tx = spawn(process.execPath, [...profileFlags('sender'), self, '--peer', 'sender', `benchs${tag}@127.0.0.1`, String(epmdPort), R, JSON.stringify(c), wirePort], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(await waitLine(tx, /RESULT (.*)\n/, 120_000)) as BeamlinePairResult;
  } finally {
    await stopReceiver(rx);
  }
}

/**
 * Stops the receiving node cleanly: closing its stdin makes it stop its node and exit, so
 * `--cpu-prof` (BEAMLINE_BENCH_PROF) writes its profile. SIGKILL only if it has not exited in 10 s.
 */
async function stopReceiver(rx: ChildProcess): Promise<void> {
  if (rx.exitCode !== null || rx.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => rx.once('exit', () => resolve()));
  rx.stdin?.end();
  const timer = setTimeout(() => rx.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function erlangPair(c: Counts): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'beamline-distbench-'));
  const epmdPort = await freePort();
  const tag = randomInt(1e6);
  const R = `erlr${tag}@127.0.0.1`;
  const env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' };
  const dist = ['-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-setcookie', COOKIE, '-noshell'];
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
  const recvEval =
    `register(sink, spawn(fun() -> S = fun Loop(N) -> receive {last, From, _} -> From ! {ack, N + 1}, Loop(0); _ -> Loop(N + 1) end end, S(0) end)), ` +
    `register(echo, spawn(fun E() -> receive {'$gen_call', From, Req} -> gen:reply(From, Req), E() end end)), io:format("READY~n").`;
  // The same scenarios, counts, warm-up (a tenth) and best-of-rounds as the Beamline pair.
  const sendEval =
    `P = '${R}', ` +
    `Wait = fun W(0) -> ok; W(K) -> case net_adm:ping(P) of pong -> ok; pang -> timer:sleep(50), W(K - 1) end end, Wait(100), ` +
    `gen_server:call({echo, P}, warmup), ` +
    `Now = fun() -> erlang:monotonic_time(microsecond) end, ` +
    `Send = fun(N) -> T0 = Now(), lists:foreach(fun(_) -> {sink, P} ! {msg, 12345, <<"hello">>} end, lists:seq(1, N - 1)), {sink, P} ! {last, self(), 0}, ` +
    `receive {ack, _} -> ok end, N / ((Now() - T0) / 1.0e6) end, ` +
    `Call = fun(N) -> T0 = Now(), lists:foreach(fun(I) -> gen_server:call({echo, P}, I) end, lists:seq(1, N)), N / ((Now() - T0) / 1.0e6) end, ` +
    `Call8 = fun(N) -> Me = self(), Per = N div 8, T0 = Now(), ` +
    `[spawn(fun() -> lists:foreach(fun(I) -> gen_server:call({echo, P}, I) end, lists:seq(1, Per)), Me ! done end) || _ <- lists:seq(1, 8)], ` +
    `[receive done -> ok end || _ <- lists:seq(1, 8)], Per * 8 / ((Now() - T0) / 1.0e6) end, ` +
    `Send(${Math.max(1000, c.send / 10)}), Call(${Math.max(1000, c.call / 5)}), Call8(${Math.max(800, c.call8 / 10)}), ` +
    `Rounds = [{Send(${c.send}), Call(${c.call}), Call8(${c.call8})} || _ <- lists:seq(1, ${c.rounds})], ` +
    `io:format("RESULT {\\"remote_send\\":~p,\\"remote_call\\":~p,\\"remote_call_8\\":~p}~n", ` +
    `[lists:max([S || {S, _, _} <- Rounds]), lists:max([C || {_, C, _} <- Rounds]), lists:max([C8 || {_, _, C8} <- Rounds])]), halt(0).`;
  const rx = spawn('erl', ['-name', R, ...dist, '-eval', recvEval], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return (async () => {
    try {
      await waitLine(rx, /READY/, 30_000);
      const out = await new Promise<string>((resolve, reject) =>
        execFile('erl', ['-name', `erls${tag}@127.0.0.1`, ...dist, '-eval', sendEval], { cwd: dir, env, timeout: 180_000 }, (err, so, se) =>
          err === null ? resolve(so) : reject(new Error(`${err.message} ${so} ${se}`)),
        ),
      );
      const m = /RESULT (.*)/.exec(out);
      if (m === null) throw new Error(`erl sender printed no result: ${out}`);
      return JSON.parse(m[1] as string) as Record<string, number>;
    } finally {
      rx.kill('SIGKILL');
      epmd.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  })();
}

/**
 * Runs both pairs and returns the numbers side by side. The Erlang pair is
 * skipped (with a message on stderr) when `erl` is missing.
 *
 * @example
 * ```ts
 * const rows = await runDistributionBench({ quick: true });
 * console.table(rows);
 * ```
 */
export async function runDistributionBench(opts: { quick: boolean; erlang?: boolean; only?: string[] }): Promise<DistBenchResult[]> {
  const c = counts(opts.quick);
  if (opts.only !== undefined) c.only = opts.only;
  const rows: DistBenchResult[] = [];
  const unitOf = (scenario: string): string => (scenario === 'remote_send' ? 'msgs/s' : 'calls/s');
  const ours = await beamlinePair(c);
  const cpuNote = (m: Measured, op: string): string => `CPU per ${op}: ${m.cpuSelf.toFixed(1)} us sender, ${m.cpuPeer.toFixed(1)} us receiver`;
  const best = `best of ${c.rounds} interleaved rounds`;
  for (const scenario of ['remote_send', 'remote_call', 'remote_call_8'] as const) {
    const m = ours[scenario];
    if (m !== undefined)
      rows.push({ scenario, impl: 'beamline', value: Math.round(m.rate), unit: unitOf(scenario), notes: `${best}; ${cpuNote(m, scenario === 'remote_send' ? 'message' : 'call')}` });
  }
  const wire = ours.tcp_pingpong;
  const wireSpin = ours.tcp_pingpong_spin;
  const call = ours.remote_call;
  const ratio = (a: Measured, b: Measured): number => Math.round((a.rate / b.rate) * 100) / 100;
  const pingNotes = `two Node.js processes, node:net, sequential, ${ours.sizes.request}-byte request / ${ours.sizes.reply}-byte reply (a call's frames), n=${c.call}, ${best}`;
  if (wire !== undefined) {
    rows.push({ scenario: 'tcp_pingpong', impl: 'node_net', value: Math.round(wire.rate), unit: 'round trips/s', notes: `${pingNotes}, no spin; ${cpuNote(wire, 'round trip')}` });
    if (call !== undefined)
      rows.push({ scenario: 'remote_call_vs_wire', impl: 'beamline', value: ratio(call, wire), unit: 'x tcp_pingpong (target >= 0.85)', notes: 'remote_call / tcp_pingpong, same processes, same run' });
  }
  if (wireSpin !== undefined) {
    rows.push({ scenario: 'tcp_pingpong_spin', impl: 'node_net', value: Math.round(wireSpin.rate), unit: 'round trips/s', notes: `${pingNotes}, both ends busy-wait up to ${ours.spinUs} us after each write, as the nodes do; ${cpuNote(wireSpin, 'round trip')}` });
    if (call !== undefined)
      rows.push({ scenario: 'remote_call_vs_wire_spin', impl: 'beamline', value: ratio(call, wireSpin), unit: 'x tcp_pingpong_spin', notes: 'remote_call / tcp_pingpong_spin, same processes, same run: the wire with the same spin' });
  }
  const push = (impl: 'erlang', r: Record<string, number>): void => {
    for (const scenario of ['remote_send', 'remote_call', 'remote_call_8']) {
      const value = r[scenario];
      if (value !== undefined) rows.push({ scenario, impl, value: Math.round(value), unit: unitOf(scenario) });
    }
  };
  if (opts.erlang === false) return rows;
  try {
    push('erlang', await erlangPair(c));
  } catch (err) {
    process.stderr.write(`dist bench: Erlang pair skipped: ${(err as Error).message.split('\n')[0] ?? ''}\n`);
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args[0] === '--peer') {
    const [, role, name, port, peer, countsJson, wirePort] = args;
    if (role === 'receiver') await receiver(name as string, Number(port));
    else await sender(name as string, Number(port), peer as string, JSON.parse(countsJson as string) as Counts, Number(wirePort));
  } else {
    const only = args.find((a) => a.startsWith('--scenario='))?.slice('--scenario='.length).split(',');
    const rows = await runDistributionBench({ quick: args.includes('--quick'), erlang: !args.includes('--no-erlang'), ...(only === undefined ? {} : { only }) });
    console.table(rows);
  }
}
