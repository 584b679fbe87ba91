/**
 * Observing Beamline nodes through distribution: {@link exposeObserver}
 * serves a node's views to remote observers as the rpc module
 * `beamline_observer` (JSON text in, JSON text out), and
 * {@link BeamlineRemoteSource} reads them from another node.
 * @module
 */
import type { Node } from '../core/node.js';
import { exposeRpc, rpc, RpcError } from '../distribution/node-dist.js';
import { ObserverRequestError } from './errors.js';
import { LocalSource, MAX_TRACE_SECONDS } from './local.js';
import { processQueryFromJson, seconds } from './query.js';
import type { ObserverSource } from './source.js';
import type { ApplicationView, DistributionView, OverviewView, ProcessPage, ProcessQuery, ProcessView } from './views.js';

/** The rpc module a node exposes its views as. */
export const OBSERVER_RPC_MODULE = 'beamline_observer';

type Answer = { ok: unknown } | { error: { status: number; message: string } };

function answer(run: () => Promise<unknown>): Promise<string> {
  return run().then(
    (ok) => JSON.stringify({ ok: ok ?? null } satisfies Answer),
    (err: unknown) => JSON.stringify({ error: { status: err instanceof ObserverRequestError ? err.status : err instanceof SyntaxError ? 400 : 500, message: err instanceof Error ? err.message : String(err) } } satisfies Answer),
  );
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new ObserverRequestError(400, 'expected a string argument');
  return v;
}

/**
 * Lets observers on other Beamline nodes show this node (a distributed
 * node started with `startNode`). `startObserver` calls it for its own node.
 *
 * @example
 * ```ts
 * const worker = await startNode({ name: 'worker@127.0.0.1', cookie });
 * exposeObserver(worker); // now visible from the observer of any connected node
 * ```
 */
export function exposeObserver(node: Node): void {
  const src = new LocalSource(node);
  exposeRpc(node, OBSERVER_RPC_MODULE, {
    overview: () => answer(() => src.overview()),
    processes: (q: unknown) => answer(() => src.processes(processQueryFromJson(JSON.parse(str(q))))),
    process: (pid: unknown) => answer(() => src.process(str(pid))),
    server_state: (pid: unknown) => answer(() => src.serverState(str(pid))),
    applications: () => answer(() => src.applications()),
    distribution: () => answer(() => src.distribution()),
    kill: (pid: unknown, reason: unknown) => answer(() => src.kill(str(pid), str(reason))),
    trace: (pid: unknown, s: unknown) => answer(() => src.trace(str(pid), seconds({ seconds: s }, MAX_TRACE_SECONDS))),
    stop_application: (name: unknown) => answer(() => src.stopApplication(str(name))),
  });
}

/** The views of another Beamline node that called {@link exposeObserver}. */
export class BeamlineRemoteSource implements ObserverSource {
  constructor(
    private readonly local: Node,
    readonly node: string,
  ) {}

  private async call<T>(fn: string, ...args: unknown[]): Promise<T> {
    let raw: unknown;
    try {
      raw = await rpc(this.local, this.node, OBSERVER_RPC_MODULE, fn, args, { timeout: 5000 });
    } catch (err) {
      if (err instanceof RpcError) throw new ObserverRequestError(502, `${this.node} does not expose the observer (call exposeObserver there): ${err.message}`);
      throw new ObserverRequestError(502, `${this.node}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'string') throw new ObserverRequestError(502, `${this.node} answered ${OBSERVER_RPC_MODULE}:${fn} with a non-string`);
    const a = JSON.parse(raw) as Answer;
    if ('error' in a) throw new ObserverRequestError(a.error.status, a.error.message);
    return a.ok as T;
  }

  overview(): Promise<OverviewView> {
    return this.call('overview');
  }
  processes(q: ProcessQuery): Promise<ProcessPage> {
    return this.call('processes', JSON.stringify(q));
  }
  async process(pid: string): Promise<ProcessView | undefined> {
    return (await this.call<ProcessView | null>('process', pid)) ?? undefined;
  }
  serverState(pid: string): Promise<string> {
    return this.call('server_state', pid);
  }
  applications(): Promise<ApplicationView[]> {
    return this.call('applications');
  }
  distribution(): Promise<DistributionView> {
    return this.call('distribution');
  }
  kill(pid: string, reason: string): Promise<boolean> {
    return this.call('kill', pid, reason);
  }
  trace(pid: string, seconds: number): Promise<boolean> {
    return this.call('trace', pid, seconds);
  }
  stopApplication(name: string): Promise<boolean> {
    return this.call('stop_application', name);
  }
}
