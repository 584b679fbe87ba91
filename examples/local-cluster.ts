// Run: npx tsc -p . && node build/examples/local-cluster.js [--threads]
/**
 * Using every core: a local cluster of two Beamline nodes (one process each,
 * joined by the Erlang distribution; with `--threads`, one worker thread
 * each, joined over shared-memory rings). This file is both the program and
 * each node's start module: `start` runs in every node; the code at the
 * bottom runs in the primary, which calls each node from a node of its own,
 * runs a ConsumerSupervisor whose children (one per event) are spread over the
 * nodes, sends requests to a Web gateway every node serves on one port (the
 * cluster hands the connections to the nodes in turn), prints their stats
 * (message counts included), kills one and watches it come back with a new
 * creation.
 * @module
 */
import { Agent, get } from 'node:http';
import { pathToFileURL } from 'node:url';
import {
  exposeRpc,
  fromIterable,
  json,
  ok,
  registerConsumerChild,
  reply,
  respond,
  route,
  rpc,
  startLocalCluster,
  startNode,
  startServer,
  startSpreadConsumerSupervisor,
  startWeb,
  type ClusterNodeContext,
  type Node,
  type Pid,
} from '../src/index.js';

/**
 * Each node's start function: an `echo` server answering `[node, request]`,
 * `square`, the child a spread ConsumerSupervisor starts for an event
 * `[n, replyTo]`: it sends `[n * n, its node]` to `replyTo` and ends; and a
 * Web gateway answering `GET /who` with the node's name, on port 0: the
 * same free port on every node of a cluster of processes.
 */
export async function start(node: Node, context: ClusterNodeContext): Promise<void> {
  await startServer<{ call: [unknown, unknown] }, undefined, undefined>(
    node,
    { init: () => ok(undefined), handleCall: (req, _from, s) => reply(req, [node.name.name, req, `peers: ${context.peers.join(', ')}`], s) },
    undefined,
    { name: 'echo' },
  );
  registerConsumerChild<[number, Pid]>(node, 'square', ([n, replyTo], on) =>
    on.spawn({
      init: (p) => {
        p.send(replyTo, [n * n, on.name.name]);
        p.exit('normal');
      },
      handleMessage() {},
    }),
  );
  const web = await startWeb(node, { port: 0, routes: [route('GET', '/who', { init: () => ok(undefined), handleRequest: (_req, s) => respond(json(node.name.name), s) })] });
  exposeRpc(node, 'web', { port: () => web.port });
}

/** `GET /who` over each of `n` keep-alive connections opened at once: the nodes that answered. */
async function whoOver(port: number, n: number): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: n });
  const one = (): Promise<string> =>
    new Promise((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/who', agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as string));
      }).on('error', reject),
    );
  try {
    return await Promise.all(Array.from({ length: n }, one));
  } finally {
    agent.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4369);
  const hosting = process.argv.includes('--threads') ? 'threads' : 'processes';
  const cluster = await startLocalCluster({ base: 'example', cookie: 'secret', size: 2, start: new URL(import.meta.url), epmdPort, hosting });
  cluster.monitor((e) => console.log('cluster event:', e.kind, 'node' in e ? e.node : e.reason));
  const me = await startNode({ name: 'example_client@127.0.0.1', cookie: 'secret', epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
  for (const name of cluster.names) console.log(await me.call({ name: 'echo', node: name }, 'hello'));
  // A ConsumerSupervisor here whose children run round robin on the cluster's nodes, at most 4 at once.
  const squares: unknown[] = [];
  const collector = me.spawn({ handleMessage: (m) => void squares.push(m) });
  const numbers = await fromIterable(me, [1, 2, 3, 4, 5, 6].map((n) => [n, collector]));
  await startSpreadConsumerSupervisor(me, { name: 'square', nodes: cluster.names, subscribeTo: [{ to: numbers, maxDemand: 4, cancel: 'transient' }] });
  while (squares.length < 6) await new Promise((r) => setTimeout(r, 10));
  console.log('squares:', JSON.stringify(squares));
  if (hosting === 'processes') {
    // One port served by both nodes: 4 connections, 2 to each (the fewest open first, ties in turn).
    const port = (await rpc(me, cluster.names[0] as string, 'web', 'port', [])) as number;
    console.log(`GET /who on port ${port} over 4 connections:`, (await whoOver(port, 4)).join(', '));
    console.log('connections taken per node:', cluster.members().map((m) => m.connections.taken).join(' / '));
  }
  for (const s of await cluster.stats())
    console.log(
      `${s.name}: os pid ${s.osPid}${s.threadId === 0 ? '' : ` thread ${s.threadId}`}, ${s.processes} processes, event loop ${(s.eventLoopUtilization * 100).toFixed(1)}% busy, ` +
        `${s.messagesDelivered} messages delivered, ${s.distMessagesIn} in / ${s.distMessagesOut} out over the distribution`,
    );
  // A node that dies is restarted under its name with a new creation.
  const [, second] = cluster.names as [string, string];
  const back = new Promise<void>((resolve) => cluster.monitor((e) => e.kind === 'up' && e.node === second && resolve()));
  const before = cluster.members()[1]?.creation;
  cluster.kill(second);
  await back;
  console.log(`${second} restarted: creation ${before} -> ${cluster.members()[1]?.creation}`);
  console.log(await rpc(me, second, 'erlang', 'node', []));
  await me.stop();
  await cluster.stop();
}
