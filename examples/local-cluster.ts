// Run: npx tsc -p . && node build/examples/local-cluster.js
/**
 * Using every core: a local cluster of two Beamline nodes (one process each,
 * joined by the Erlang distribution). This file is both the program and
 * each node's start module: `start` runs in every node; the code at the
 * bottom runs in the primary, which calls each node from a node of its own,
 * prints their stats, kills one and watches it come back with a new creation.
 * @module
 */
import { pathToFileURL } from 'node:url';
import { ok, reply, rpc, startLocalCluster, startNode, startServer, type ClusterNodeContext, type Node } from '../src/index.js';

/** Each node's start function: an `echo` server answering `[node, request]`. */
export async function start(node: Node, context: ClusterNodeContext): Promise<void> {
  await startServer<{ call: [unknown, unknown] }, undefined, undefined>(
    node,
    { init: () => ok(undefined), handleCall: (req, _from, s) => reply(req, [node.name.name, req, `peers: ${context.peers.join(', ')}`], s) },
    undefined,
    { name: 'echo' },
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4369);
  const cluster = await startLocalCluster({ base: 'example', cookie: 'secret', size: 2, start: new URL(import.meta.url), epmdPort });
  cluster.monitor((e) => console.log('cluster event:', e.kind, 'node' in e ? e.node : e.reason));
  const me = await startNode({ name: 'example_client@127.0.0.1', cookie: 'secret', epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
  for (const name of cluster.names) console.log(await me.call({ name: 'echo', node: name }, 'hello'));
  for (const s of await cluster.stats()) console.log(`${s.name}: os pid ${s.osPid}, ${s.processes} processes, event loop ${(s.eventLoopUtilization * 100).toFixed(1)}% busy`);
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
