// Run: npm start   (or: npx tsc -p . && node build/examples/demo/main.js [--cluster N])
/**
 * The demo node: `demo@127.0.0.1` running the `demo` application, a
 * supervision tree with the `kv` Server, the Web behavior serving the store
 * as JSON on PORT (8080) with the observer (a live view of the node) at `/`, and a TCP line protocol for the
 * store on TCP_PORT (7070). Erlang and Elixir nodes call `kv` directly.
 *
 * Environment: BEAMLINE_NODE (default demo@127.0.0.1), BEAMLINE_COOKIE
 * (default beamline), PORT (8080), TCP_PORT (7070), ERL_EPMD_PORT (4369; an
 * embedded EPMD starts when none runs there), OBSERVER_TOKEN (the token the
 * observer's actions need; default a random one, printed), BEAMLINE_DEBUG=1 (print the
 * node's reports when the start fails).
 *
 * `--cluster N` (N defaults to one per core) runs the demo on every node of a
 * local cluster instead: nodes `demo_0@127.0.0.1` ... `demo_{N-1}`, each
 * with its own `kv` store, all serving the same HTTP and TCP ports.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isDistError, lineLogger, startLocalCluster, startNode, stopOnSignals } from '../../src/index.js';
import { startDemo } from './app.js';

const name = process.env['BEAMLINE_NODE'] ?? 'demo@127.0.0.1';
const cookie = process.env['BEAMLINE_COOKIE'] ?? 'beamline';
const httpPort = Number(process.env['PORT'] ?? 8080);
const tcpPort = Number(process.env['TCP_PORT'] ?? 7070);
const host = '127.0.0.1';
const observerToken = process.env['OBSERVER_TOKEN'] ?? randomBytes(12).toString('base64url');

/** One line saying what went wrong and which variable changes it, instead of a stack trace. */
function explain(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isDistError(e) && e.code === 'epmd_name_taken') return `the node name ${name} is taken on this host: set BEAMLINE_NODE to another name`;
    if (isDistError(e) && e.code === 'epmd_unreachable') return `EPMD cannot be reached or started (${e.message}): set ERL_EPMD_PORT`;
  }
  const text = err instanceof Error ? err.message : String(err);
  const inUse = /EADDRINUSE[^\n]*?:(\d+)\b/.exec(text);
  if (inUse !== null) {
    const port = Number(inUse[1]);
    const variable = port === httpPort ? 'PORT' : port === tcpPort ? 'TCP_PORT' : 'PORT or TCP_PORT';
    return `port ${port} is already in use: set ${variable} to a free port`;
  }
  return text;
}

// While the node starts, its reports are held back: a start that fails prints
// one line saying why (BEAMLINE_DEBUG=1 prints the reports too).
const held: string[] = [];
let starting = true;
const logger = lineLogger({
  write: (line) => {
    if (starting) held.push(line);
    else console.error(line);
  },
});
function failed(err: unknown): never {
  if (process.env['BEAMLINE_DEBUG'] === '1') for (const line of held) console.error(line);
  console.error(`demo failed to start: ${explain(err)}`);
  process.exit(1);
}

const clusterAt = process.argv.indexOf('--cluster');
if (clusterAt >= 0) {
  const n = process.argv[clusterAt + 1];
  const size = n === undefined || n.startsWith('-') ? availableParallelism() : Number(n);
  const epmdPort = process.env['ERL_EPMD_PORT'] === undefined ? {} : { epmdPort: Number(process.env['ERL_EPMD_PORT']) };
  const cluster = await startLocalCluster({
    base: name.slice(0, name.indexOf('@')),
    cookie,
    size,
    start: new URL('./app.js', import.meta.url),
    args: { host, httpPort, tcpPort, observerToken },
    ...epmdPort,
  }).catch(failed);
  cluster.monitor((e) => console.error(e.kind === 'shutdown' ? `cluster ${e.reason}` : `node ${e.node} ${e.kind}${e.kind === 'down' ? ` (${e.reason}), restarting` : ''}`));
  console.log(`Beamline local cluster: ${cluster.names.join(', ')} (cookie ${cookie}), one process each.
  HTTP  http://${host}:${httpPort}/   TCP ${host}:${tcpPort}   served by every node (each has its own kv store)
Press Ctrl-C to stop.`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      console.error(`${signal}: stopping ${cluster.names.length} nodes`);
      void cluster.stop().then(() => process.exit(0));
    });
  process.exit((await cluster.closed) === 'stopped' ? 0 : 1);
}

const node = await startNode({ name, cookie, logger }).catch(failed);
await startDemo(node, { host, httpPort, tcpPort, observerToken }).catch(failed);
starting = false;
for (const line of held) console.error(line);

console.log(`Beamline node ${node.name.name} is up (cookie ${cookie}).
  HTTP  http://${host}:${httpPort}/          observer: live processes, applications, supervision trees, cluster
                                            (actions need the token ${observerToken})
        http://${host}:${httpPort}/kv        the store as JSON: PUT/GET/DELETE /kv/:key, GET /kv
  TCP   ${host}:${tcpPort}                   line protocol: PUT key json | GET key | DEL key
  Erlang: gen_server:call({kv, '${node.name.name}'}, {get, <<"key">>})
Press Ctrl-C to stop.`);

stopOnSignals(node);
