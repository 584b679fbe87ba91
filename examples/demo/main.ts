// Run: npm start   (or: npx tsc -p . && node build/examples/demo/main.js)
/**
 * The demo node: `demo@127.0.0.1` running the `demo` application, a
 * supervision tree with the `kv` Server, the Web behavior serving the store
 * as JSON on PORT (8080) with a status page, and a TCP line protocol for the
 * store on TCP_PORT (7070). Erlang and Elixir nodes call `kv` directly.
 *
 * Environment: BEAMLINE_NODE (default demo@127.0.0.1), BEAMLINE_COOKIE
 * (default beamline), PORT (8080), TCP_PORT (7070), ERL_EPMD_PORT (4369; an
 * embedded EPMD starts when none runs there).
 * @module
 */
import { loadApplication, serverStart, startApplication, tcpChild, webChild } from '../../src/index.js';
import { startNode } from '../../src/distribution/index.js';
import { demoRoutes } from './http.js';
import { kvServer } from './kv.js';
import { ErlMap } from '../../src/etf/index.js';
import { kvLineProtocol } from './tcp.js';

const name = process.env['BEAMLINE_NODE'] ?? 'demo@127.0.0.1';
const cookie = process.env['BEAMLINE_COOKIE'] ?? 'beamline';
const httpPort = Number(process.env['PORT'] ?? 8080);
const tcpPort = Number(process.env['TCP_PORT'] ?? 7070);
const host = '127.0.0.1';

const node = await startNode({ name, cookie });

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

try {
  await startApplication(node, 'demo', 'permanent');
} catch (err) {
  console.error(`demo failed to start: ${(err as Error).message}`);
  await node.stop();
  process.exit(1);
}

console.log(`Beamline node ${node.name.name} is up (cookie ${cookie}).
  HTTP  http://${host}:${httpPort}/          status page (processes, applications, supervision tree)
        http://${host}:${httpPort}/kv        the store as JSON: PUT/GET/DELETE /kv/:key, GET /kv
  TCP   ${host}:${tcpPort}                   line protocol: PUT key json | GET key | DEL key
  Erlang: gen_server:call({kv, '${node.name.name}'}, {get, <<"key">>})
Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping ${node.name.name}...`);
  node.stop().then(
    () => {
      console.log('stopped cleanly');
      process.exit(0);
    },
    (err: unknown) => {
      console.error('stop failed', err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
