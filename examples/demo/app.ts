/**
 * The demo application: a supervision tree with the `kv` Server, the Web
 * behavior serving the store as JSON and the observer, and a TCP line
 * protocol for the store. `main.ts` runs it on one node, or on every node of
 * a local cluster (`--cluster N`), where {@link start} is each node's start
 * function and the HTTP and TCP ports are shared by all the nodes.
 * @module
 */
import { loadApplication, serverStart, startApplication, tcpChild, webChild, type ClusterNodeContext, type Node } from '../../src/index.js';
import { ErlMap } from '../../src/etf/index.js';
import { observerRoutes } from '../../src/observer/index.js';
import { demoRoutes } from './http.js';
import { type KvStore, kvServer } from './kv.js';
import { KV_LINES, kvLineProtocol } from './tcp.js';

/** Where the demo listens. */
export interface DemoPorts {
  readonly host: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  /** The token the observer's actions need. */
  readonly observerToken: string;
}

/** Loads and starts the `demo` application on `node`. */
export async function startDemo(node: Node, { host, httpPort, tcpPort, observerToken }: DemoPorts): Promise<void> {
  // The store belongs to the application, not to the kv worker: a restarted worker finds the same data.
  const store: KvStore = new ErlMap();
  loadApplication(node, {
    name: 'demo',
    version: '0.1.0',
    description: 'Beamline demo: a key-value store over Erlang distribution, HTTP and TCP',
    supervisor: {
      strategy: 'one_for_one',
      intensity: 5,
      period: 10,
      children: [
        { id: 'kv', start: serverStart(kvServer(store), undefined, { name: 'kv' }) },
        webChild('web', { host, port: httpPort, routes: [...observerRoutes(node, { token: observerToken }).routes, ...demoRoutes()] }),
        tcpChild('tcp', { host, port: tcpPort, framing: KV_LINES, handler: kvLineProtocol, args: undefined, poolSize: 4, idleTimeout: 300_000 }),
      ],
    },
  });
  await startApplication(node, 'demo', 'permanent');
}

/** The start function of each node of `main.ts --cluster N`: `args` are the {@link DemoPorts}. */
export function start(node: Node, context: ClusterNodeContext): Promise<void> {
  return startDemo(node, context.args as DemoPorts);
}
