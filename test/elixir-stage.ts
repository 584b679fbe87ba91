/**
 * Test support for Stage interop: compiles Elixir's real GenStage (vendored
 * in ../shared) and a few test stages with `elixirc` into a temp directory,
 * starts an Elixir node (erl with Elixir's code path) on a private EPMD port,
 * and evaluates Elixir code on it through a control server. Used by the
 * stage interop tests and the stage benchmark.
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from '../src/core/node.js';
import { atom } from '../src/terms/atom.js';
import { Tuple, tuple } from '../src/terms/tuple.js';
import { erlSkipReason, startErl, type ErlNode } from './erl.js';

/** The vendored GenStage sources, found from the repository root (../shared beside it). */
export function genStageLib(): string {
  // build/test/elixir-stage.js -> repository root is two levels up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return join(root, '..', 'shared', 'vendor', 'gen_stage-1.3.2', 'lib');
}

let elixirOk: boolean | undefined;
/** A skip reason when elixir is missing (outside CI), else false. */
export function elixirSkipReason(): string | false {
  const erl = erlSkipReason();
  if (erl !== false) return erl;
  elixirOk ??= spawnSync('elixirc', ['--version'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  if (elixirOk || process.env['CI'] === 'true') return false;
  return 'elixir not found on PATH (install elixir to run the GenStage interop tests)';
}

/** Test stages on the Elixir side. `BT.ev/2` builds an event of a kind from an integer. */
export const ELIXIR_TEST_STAGES = String.raw`
defmodule BT do
  def ev(:int, i), do: i
  def ev(:small, i), do: rem(i, 200)
  def ev(:big, i), do: i + 1_180_591_620_717_411_303_424
  def ev(:bin, i), do: "e" <> Integer.to_string(i)
  def ev(:tuple, i), do: {:e, i, [i]}
  def ev(:map, i), do: %{i: i, s: "x"}
  def even?(e), do: rem(e, 2) == 0
  def parity(e) when rem(e, 100) == 0, do: :none
  def parity(e), do: {e, if(rem(e, 2) == 0, do: :even, else: :odd)}
end

defmodule BT.Control do
  use GenServer
  def start, do: GenServer.start(__MODULE__, nil, name: :control)
  def init(_), do: {:ok, nil}
  def handle_call({:eval, code, binding}, _from, s) do
    try do
      {result, _} = Code.eval_string(code, binding)
      {:reply, result, s}
    rescue
      e -> {:reply, {:eval_error, Exception.message(e)}, s}
    end
  end
end

defmodule BT.Producer do
  use GenStage
  def init({limit, kind, opts}), do: {:producer, %{n: 0, limit: limit, kind: kind, subs: []}, opts}
  def handle_subscribe(:consumer, _opts, from, s), do: {:automatic, %{s | subs: [from | s.subs]}}
  def handle_cancel(_, from, s), do: {:noreply, [], %{s | subs: List.delete(s.subs, from)}}
  def handle_demand(d, %{n: n, limit: limit, kind: kind} = s) do
    upto = min(n + d, limit)
    {:noreply, Enum.map(n..(upto - 1)//1, &BT.ev(kind, &1)), %{s | n: upto}}
  end
  def handle_call(:subs, _from, s), do: {:reply, s.subs, [], s}
  def handle_info({:stop, reason}, s), do: {:stop, reason, s}
  def handle_info(:raise, _s), do: raise("producer boom")
  def handle_info({:kick, reason}, s) do
    for {_pid, ref} <- s.subs, do: GenStage.cancel({self(), ref}, reason)
    {:noreply, [], s}
  end
end

defmodule BT.Ticker do
  use GenStage
  def init(limit) do
    send(self(), :tick)
    {:producer, {0, limit}}
  end
  def handle_demand(_d, s), do: {:noreply, [], s}
  def handle_info(:tick, {n, limit}) when n < limit do
    Process.send_after(self(), :tick, 1)
    {:noreply, [n], {n + 1, limit}}
  end
  def handle_info(:tick, s), do: {:noreply, [], s}
end

defmodule BT.Consumer do
  use GenStage
  def init({sink, opts}), do: {:consumer, sink, opts}
  def handle_subscribe(:producer, _opts, from, sink) do
    send(sink, {:subscribed, self(), from})
    {:automatic, sink}
  end
  def handle_events(events, _from, sink) do
    if :crash in events, do: raise("consumer boom")
    send(sink, {:events, self(), events})
    {:noreply, [], sink}
  end
  def handle_cancel({kind, reason}, _from, sink) do
    send(sink, {:cancelled, self(), kind, reason})
    {:noreply, [], sink}
  end
  def terminate(reason, sink), do: send(sink, {:terminated, self(), reason})
end

defmodule BT.Count do
  use GenStage
  def init({sink, n}), do: {:consumer, {sink, n, 0}}
  def handle_events(events, _from, {sink, n, c}) do
    c = c + length(events)
    if c >= n, do: send(sink, {:counted, self(), c})
    {:noreply, [], {sink, n, c}}
  end
end

defmodule BT.Bench do
  # Events/s through producer -> consumer with max_demand max; the producer runs on node (this one by default).
  def run(n, max, node \\ node()) do
    {:ok, p} = :rpc.call(node, GenStage, :start, [BT.Producer, {n, :int, []}])
    {:ok, c} = GenStage.start(BT.Count, {self(), n})
    t0 = System.monotonic_time(:microsecond)
    {:ok, _} = GenStage.sync_subscribe(c, to: p, max_demand: max, cancel: :temporary)
    receive do
      {:counted, ^c, _} -> :ok
    end
    t1 = System.monotonic_time(:microsecond)
    GenStage.stop(c)
    :rpc.call(node, GenStage, :stop, [p])
    n * 1_000_000 / max(t1 - t0, 1)
  end
end

defmodule BT.Job do
  def start_link(sink, event) do
    Task.start_link(fn -> send(sink, {:job, self(), event}) end)
  end
end

defmodule BT.Jobs do
  use ConsumerSupervisor
  def start(sink, to) do
    {:ok, s} = ConsumerSupervisor.start_link(__MODULE__, {sink, to})
    Process.unlink(s)
    {:ok, s}
  end
  def init({sink, to}) do
    children = [%{id: BT.Job, start: {BT.Job, :start_link, [sink]}, restart: :transient}]
    ConsumerSupervisor.init(children, strategy: :one_for_one, subscribe_to: [{to, max_demand: 7}])
  end
end

defmodule BT.Doubler do
  use GenStage
  def init(opts), do: {:producer_consumer, nil, opts}
  def handle_events(events, _from, s), do: {:noreply, Enum.map(events, &(&1 * 2)), s}
end
`;

/** GenStage and the test stages compiled into a temp directory. */
export interface CompiledStages {
  readonly ebin: string;
  cleanup(): void;
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(`${stdout}`);
    });
  });
}

/** Compiles the vendored GenStage and {@link ELIXIR_TEST_STAGES} with elixirc (a few seconds). */
export async function compileStages(): Promise<CompiledStages> {
  const dir = mkdtempSync(join(tmpdir(), 'beamline-genstage-'));
  const ebin = join(dir, 'ebin');
  writeFileSync(join(dir, 'bt.ex'), ELIXIR_TEST_STAGES);
  await run('elixirc', ['--ignore-module-conflict', '-o', ebin, genStageLib(), join(dir, 'bt.ex')], dir);
  return { ebin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let elixirLib: string | undefined;
/** The directory holding Elixir's applications (`.../lib`, with `elixir/ebin`, `logger/ebin`). */
export async function elixirLibDir(): Promise<string> {
  elixirLib ??= dirname((await run('elixir', ['-e', 'IO.puts(:code.lib_dir(:elixir))'], tmpdir())).trim());
  return elixirLib;
}

/** Starts an Elixir node (erl with Elixir, Logger, GenStage and the test stages) and waits for its control server. */
export async function startElixirStageNode(options: { name: string; cookie: string; epmdPort: number; ebin: string }): Promise<ErlNode> {
  const lib = await elixirLibDir();
  const node = startErl({
    name: options.name,
    cookie: options.cookie,
    epmdPort: options.epmdPort,
    args: ['-pa', join(lib, 'elixir', 'ebin'), '-pa', join(lib, 'logger', 'ebin'), '-pa', options.ebin],
    eval: `{ok, _} = application:ensure_all_started(elixir), {ok, _} = application:ensure_all_started(logger), {ok, _} = 'Elixir.BT.Control':start(), io:format("READY~n").`,
  });
  await node.waitForOutput(/READY/, 60_000);
  return node;
}

/** Evaluates Elixir `code` on `target` (its control server) with `binding` (name → value); the result term comes back. */
export async function evalElixir(node: Node, target: string, code: string, binding: Record<string, unknown> = {}, timeout = 30_000): Promise<unknown> {
  const kw = Object.entries(binding).map(([k, v]) => tuple(atom(k), v));
  const r = await node.call({ name: 'control', node: target }, tuple(atom('eval'), code, kw), { timeout });
  if (r instanceof Tuple && r.elements[0] === atom('eval_error')) throw new Error(`Elixir eval failed: ${String(r.elements[1])}\n${code}`);
  return r;
}
