/**
 * The start function of each node of the local clusters in bench/cores.ts:
 * an `echo` server, an rpc module `bench` that runs ping-pong pairs on this
 * node or sequential calls to a peer for a given time (answering the count,
 * the wall time and this node's CPU time), and a Web gateway on
 * the cluster's shared port (`args.webPort`) answering `/who` with the node's name
 * (counting the requests it served).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { atom, type Pid } from '../src/terms/index.js';
import type { Node } from '../src/core/node.js';
import { ok, reply, startServer } from '../src/server/server.js';
import { exposeRpc } from '../src/distribution/node-dist.js';
import { json, respond, route, startWeb, type WebHandler } from '../src/web/index.js';
import type { ClusterNodeContext } from '../src/cluster/index.js';
import { nodeCpuMs } from '../src/cluster/cpu-time.js';

/**
 * What a timed run on one node did: its count, the wall time it took and the
 * CPU time this node spent meanwhile (its thread's, for a node that is a thread), in ms.
 */
type Measured = [count: number, wallMs: number, cpuMs: number];

function measure(run: () => Promise<number>): Promise<Measured> {
  const t0 = performance.now();
  const c0 = nodeCpuMs();
  return run().then((n) => [n, performance.now() - t0, nodeCpuMs() - c0]);
}

/** Runs `pairs` ping-pong pairs on `node` for `ms`; resolves with the round trips done. */
function pingPong(node: Node, pairs: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let trips = 0;
    let running = true;
    const pongs: Pid[] = [];
    for (let i = 0; i < pairs; i++) pongs.push(node.spawn({ handleMessage: (m, p) => p.send(m as Pid, 0) }));
    const pings = pongs.map((pong) =>
      node.spawn({
        init: (p) => p.send(pong, p.self),
        handleMessage: (_m, p) => {
          trips++;
          if (running) p.send(pong, p.self);
        },
      }),
    );
    setTimeout(() => {
      running = false;
      for (const p of [...pings, ...pongs]) node.exit(p, atom('kill'));
      resolve(trips);
    }, ms);
  });
}

/** Sequential calls to `echo` on `peer` for `ms`; resolves with the calls done. */
async function calls(node: Node, peer: string, ms: number): Promise<number> {
  const to = { name: 'echo', node: peer };
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await node.call(to, n);
    n += 100;
  }
  return n;
}

export async function start(node: Node, context: ClusterNodeContext): Promise<void> {
  await startServer<{ call: [unknown, unknown] }, undefined, undefined>(node, { init: () => ok(undefined), handleCall: (req, _f, s) => reply(req, req, s) }, undefined, { name: 'echo' });
  exposeRpc(node, 'bench', {
    pingpong: (pairs: unknown, ms: unknown) => measure(() => pingPong(node, pairs as number, ms as number)),
    calls: (peer: unknown, ms: unknown) => measure(() => calls(node, peer as string, ms as number)),
  });
  // Requests this node served (the connections the shared port handed it: `LocalCluster.members()` in the primary).
  let served = 0;
  const who: WebHandler<undefined> = {
    init: () => ok(undefined),
    handleRequest: (_r, s) => {
      served++;
      return respond(json({ node: node.name.name }), s);
    },
  };
  // Each cluster of a run its own port, chosen by the bench.
  const web = await startWeb(node, { port: (context.args as { webPort: number }).webPort, routes: [route('GET', '/who', who, { poolSize: 4 })] });
  exposeRpc(node, 'web', { port: () => web.port, served: () => served });
}
