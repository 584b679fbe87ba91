/**
 * Test support: the start function of every node of the local clusters in
 * src/cluster tests. Each node runs an `echo` server (a call replies
 * `{NodeName, Request}`), an rpc module `ct` that makes the node call,
 * link to and monitor processes on its peers and report what it saw, a Web
 * gateway on the port the cluster shares (`/who` answers the node name) and a
 * TCP server on another shared port (says the node name on connect), a
 * gateway started and stopped on demand (`web:start_late`, `web:stop_late`); and
 * the child `job` of the spread ConsumerSupervisor tests.
 * @module
 */
import { atom, isTuple, tuple, type Pid } from '../src/terms/index.js';
import type { Node } from '../src/core/node.js';
import { ok, reply, startServer, type ServerBehavior } from '../src/server/server.js';
import { exposeRpc, registerSpawnable } from '../src/distribution/node-dist.js';
import { json, respond, route, startWeb, type StartedWeb, type WebHandler } from '../src/web/index.js';
import { startTcp, type TcpHandler } from '../src/tcp/index.js';
import { registerConsumerChild, registerPoolWorker, startSpreadPool, type ClusterNodeContext } from '../src/cluster/index.js';
import { poolInfo } from '../src/pool/index.js';

/**
 * The child of the spread ConsumerSupervisor tests, for an event `{I, Reporter}`:
 * tells `Reporter` `{started, I, self()}`, then exits `normal` on `go`.
 */
export function consumerJob(event: unknown, node: Node): Pid {
  if (!isTuple(event, 2)) throw new TypeError(`a job event is {I, Reporter}, not ${String(event)}`);
  const [i, reporter] = event.elements as [unknown, Pid];
  return node.spawn({
    init: (p) => p.send(reporter, tuple(atom('started'), i, p.self)),
    handleMessage: (m, p) => {
      if (m === atom('go')) p.exit(atom('normal'));
    },
  });
}

export async function start(node: Node, context: ClusterNodeContext): Promise<void> {
  const me = atom(node.name.name);
  await startServer<{ call: [unknown, unknown] }, undefined, undefined>(
    node,
    { init: () => ok(undefined), handleCall: (req, _from, s) => reply(req, tuple(me, req), s) },
    undefined,
    { name: 'echo' },
  );
  // Watchers: processes that link to and monitor a remote pid and keep what arrives.
  const seen = new Map<string, unknown[]>();
  exposeRpc(node, 'ct', {
    call: (peer: unknown, req: unknown) => node.call({ name: 'echo', node: peer as string }, req),
    /** `n` sequential calls to `peer`'s echo. */
    calls: async (peer: unknown, n: unknown) => {
      for (let i = 0; i < (n as number); i++) await node.call({ name: 'echo', node: peer as string }, i);
      return atom('ok');
    },
    echo_pid: () => node.whereis('echo'),
    echo_watchers: () => {
      const info = node.processInfo(node.whereis('echo') as Pid);
      return (info?.links.length ?? 0) + (info?.monitoredBy.length ?? 0);
    },
    watch: (target: unknown) => {
      const got: unknown[] = [];
      const pid = node.spawn(
        {
          init: (p) => {
            p.link(target as Pid);
            p.monitor(target as Pid);
          },
          handleMessage: (m) => void got.push(m),
        },
        { trapExit: true },
      );
      seen.set(pid.describe(), got);
      return pid;
    },
    seen: (watcher: unknown) => {
      const got = seen.get((watcher as Pid).describe()) ?? [];
      return got.map((m) => (isTuple(m) ? tuple(m.elements[0], m.elements[m.elements.length - 1]) : m));
    },
    context: () => tuple(context.index, context.size, context.peers.map((p) => atom(p))),
    /** Ends this node's process after replying: `exit` calls process.exit(7), `throw` throws an uncaught error. */
    die: (how: unknown) => {
      setImmediate(() => {
        if (how === 'exit') process.exit(7);
        throw new Error('uncaught in a cluster node (on purpose)');
      });
      return atom('ok');
    },
  });
  registerSpawnable(node, 'sink', () => ({ handleMessage() {} }));
  registerConsumerChild(node, 'job', consumerJob);
  // A spread pool: workers answer with their node's name.
  const whoWorker: ServerBehavior<{ call: [unknown, unknown] }, undefined, undefined> = { init: () => ok(undefined), handleCall: (req, _from, s) => reply(req, me, s) };
  registerPoolWorker(node, 'who', whoWorker);
  exposeRpc(node, 'pool', {
    spread: async (size: unknown) => {
      const pool = await startSpreadPool(node, {
        size: size as number,
        name: 'who',
        worker: whoWorker,
        args: undefined,
        nodes: [node.name, ...context.peers],
      });
      const answers: unknown[] = [];
      for (let i = 0; i < (size as number); i++) answers.push(await node.call(pool, i));
      const { workers } = await poolInfo(node, pool.pid);
      return tuple(answers, workers.map((w) => w?.node));
    },
    /** Starts a spread pool over `nodes`; the nodes its workers landed on, or `{error, Message}`. */
    spread_over: async (nodes: unknown, size: unknown) => {
      try {
        const pool = await startSpreadPool(node, { size: size as number, name: 'who', worker: whoWorker, args: undefined, nodes: nodes as string[] });
        return (await poolInfo(node, pool.pid)).workers.map((w) => w?.node);
      } catch (err) {
        return tuple(atom('error'), err instanceof Error ? err.message : String(err));
      }
    },
  });
  const who: WebHandler<undefined> = { init: () => ok(undefined), handleRequest: (_req, s) => respond(json({ node: me.name }), s) };
  const web = await startWeb(node, { port: 0, routes: [route('GET', '/who', who)] });
  // A TCP line server on the cluster's second shared port: says the node's name on connect.
  const hello: TcpHandler<undefined> = {
    init: () => ok(undefined),
    handleConnect: (conn, st) => (conn.send(`${me.name}\n`), st),
    handleData: (_conn, _line, st) => st,
  };
  const tcp = await startTcp(node, { port: 0, framing: 'line', handler: hello, args: undefined, poolSize: 1, idleTimeout: 10_000 });
  // A gateway started and stopped on demand on a given port (a node serving a shared port later than the others, or no more).
  let late: StartedWeb | undefined;
  exposeRpc(node, 'web', {
    port: () => web.port,
    tcp_port: () => tcp.port,
    start_late: async (port: unknown) => {
      late = await startWeb(node, { port: port as number, routes: [route('GET', '/who', who)] });
      return late.port;
    },
    stop_late: async () => {
      await late?.stop();
      late = undefined;
      return atom('ok');
    },
  });
}
