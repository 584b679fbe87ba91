// Run: npm start   (or: npx tsc -p . && node build/examples/demo/main.js)
/**
 * The demo node: `demo@127.0.0.1` running the `demo` application, a
 * supervision tree with the `kv` Server, the Web behavior serving the store
 * as JSON on PORT (8080) with a status page, and a TCP line protocol for the
 * store on TCP_PORT (7070). Erlang and Elixir nodes call `kv` directly.
 *
 * Environment: BEAMLINE_NODE (default demo@127.0.0.1), BEAMLINE_COOKIE
 * (default beamline), PORT (8080), TCP_PORT (7070), ERL_EPMD_PORT (4369; an
 * embedded EPMD starts when none runs there), BEAMLINE_DEBUG=1 (print the
 * node's reports when the start fails).
 * @module
 */
import { isDistError, loadApplication, serverStart, startApplication, startNode, stopOnSignals, tcpChild, webChild } from '../../src/index.js';
import { demoRoutes } from './http.js';
import { kvServer } from './kv.js';
import { ErlMap } from '../../src/etf/index.js';
import { kvLineProtocol } from './tcp.js';

const name = process.env['BEAMLINE_NODE'] ?? 'demo@127.0.0.1';
const cookie = process.env['BEAMLINE_COOKIE'] ?? 'beamline';
const httpPort = Number(process.env['PORT'] ?? 8080);
const tcpPort = Number(process.env['TCP_PORT'] ?? 7070);
const host = '127.0.0.1';

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
const logger = (level: string, message: string): void => {
  const line = `[beamline ${level}] ${message}`;
  if (starting) held.push(line);
  else console.error(line);
};
function failed(err: unknown): never {
  if (process.env['BEAMLINE_DEBUG'] === '1') for (const line of held) console.error(line);
  console.error(`demo failed to start: ${explain(err)}`);
  process.exit(1);
}

const node = await startNode({ name, cookie, node: { logger } }).catch(failed);

// The store belongs to the application, not to the kv worker: a restarted worker finds the same data.
const store = new ErlMap();

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
      webChild('web', { host, port: httpPort, routes: demoRoutes() }),
      tcpChild('tcp', { host, port: tcpPort, framing: 'line', handler: kvLineProtocol, args: undefined, poolSize: 4, idleTimeout: 300_000 }),
    ],
  },
});

await startApplication(node, 'demo', 'permanent').catch(failed);
starting = false;
for (const line of held) console.error(line);

console.log(`Beamline node ${node.name.name} is up (cookie ${cookie}).
  HTTP  http://${host}:${httpPort}/          status page (processes, applications, supervision tree)
        http://${host}:${httpPort}/kv        the store as JSON: PUT/GET/DELETE /kv/:key, GET /kv
  TCP   ${host}:${tcpPort}                   line protocol: PUT key json | GET key | DEL key
  Erlang: gen_server:call({kv, '${node.name.name}'}, {get, <<"key">>})
Press Ctrl-C to stop.`);

stopOnSignals(node);
