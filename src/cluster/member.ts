/**
 * The entry point of one node of a local cluster (a node:cluster worker
 * process, or a worker thread): starts the Beamline node named by the
 * primary, reports its creation, connects to the other nodes when told, runs
 * the application's start function, then answers the primary's stats
 * requests. A node that is a process serves the cluster's shared ports
 * (shared-port-member.ts). Not imported by applications: `startLocalCluster` starts it.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { atom, type Atom } from '../terms/atom.js';
import type { Node } from '../core/node.js';
import { distributionOf, startNode } from '../distribution/node-dist.js';
import { isDistError } from '../distribution/errors.js';
import { setIdleSpin } from '../core/scheduler.js';
import { setInHostTransport } from '../distribution/transport.js';
import { useInHostTransport } from './inhost-transport.js';
import { ringTransport } from './ring-transport.js';
import { nodeCpuMs } from './cpu-time.js';
import { setListenProvider } from '../core/listen.js';
import { memberSharedPorts } from './shared-port-member.js';
import { MEMBER_ENV, type FromMember, type MemberConfig, type MemberStats, type ToMember } from './protocol.js';
import type { ClusterNodeContext, ClusterStart } from './local-cluster.js';

/** The channel to the primary: the IPC channel of a process, the port of a thread. */
function tell(message: FromMember): void {
  if (parentPort !== null) parentPort.postMessage(message);
  else process.send?.(message);
}

function onPrimary(handler: (m: ToMember) => void): void {
  if (parentPort !== null) parentPort.on('message', handler);
  else process.on('message', handler);
}


/**
 * Resolves once `peer` is connected: connects at once when `initiate`, else
 * waits for the peer to connect; asks again every second (a peer may still be
 * registering), up to `deadline` ms.
 */
function connectTo(node: Node, peer: Atom, initiate: boolean, deadline: number): Promise<void> {
  const dist = distributionOf(node);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => done(new Error(`cannot connect to ${peer.name}`)), deadline);
    const stop = dist.monitorNodes((e) => {
      if (e.kind === 'up' && e.node === peer) done();
    });
    const done = (err?: Error): void => {
      stop();
      clearTimeout(giveUp);
      clearInterval(timer);
      if (err === undefined) resolve();
      else reject(err);
    };
    if (dist.connectedNodes().includes(peer)) return done();
    if (initiate) dist.ensureConnected(peer);
    timer = setInterval(() => {
      if (dist.connectedNodes().includes(peer)) done();
      else dist.ensureConnected(peer);
    }, 1000);
  });
}

/** Where the previous stats call left off: event-loop utilization, time and messages delivered. */
interface Since {
  elu: ReturnType<typeof performance.eventLoopUtilization>;
  at: number;
  delivered: number;
}

function stats(node: Node, since: Since, inHostConnects: () => number): MemberStats {
  const now = performance.eventLoopUtilization();
  const elu = performance.eventLoopUtilization(now, since.elu).utilization;
  const at = performance.now();
  const delivered = node.messagesDelivered();
  const perSecond = at > since.at ? ((delivered - since.delivered) * 1000) / (at - since.at) : 0;
  since.elu = now;
  since.at = at;
  since.delivered = delivered;
  const dist = distributionOf(node);
  let distIn = 0;
  let distOut = 0;
  for (const c of dist.connectionStats()) {
    distIn += c.messagesIn;
    distOut += c.messagesOut;
  }
  let queued = 0;
  const pids = node.processes();
  for (const pid of pids) queued += node.processInfo(pid)?.messageQueueLength ?? 0;
  const mem = process.memoryUsage();
  return {
    processes: pids.length,
    queuedMessages: queued,
    eventLoopUtilization: elu,
    threadId,
    cpuMs: nodeCpuMs(),
    heapUsedBytes: mem.heapUsed,
    rssBytes: mem.rss,
    messagesDelivered: delivered,
    messagesPerSecond: perSecond,
    distMessagesIn: distIn,
    distMessagesOut: distOut,
    connectedNodes: dist.connectedNodes().map((a) => a.name),
    inHostConnects: inHostConnects(),
  };
}

/**
 * Starts the node; while EPMD still holds the name of the incarnation that
 * just died (it sees that connection close a moment later), tries again.
 */
async function startRegistered(config: MemberConfig): Promise<Node> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startNode({ name: config.name, cookie: config.cookie, epmdPort: config.epmdPort, embeddedEpmd: false, netTickTime: config.netTickTime });
    } catch (err) {
      if (!(isDistError(err) && err.code === 'epmd_name_taken') || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main(config: MemberConfig): Promise<void> {
  const mod = (await import(config.module)) as Record<string, unknown>;
  const start = mod[config.exportName];
  if (typeof start !== 'function') throw new Error(`${config.module} does not export a function ${config.exportName}`);
  let inHostConnects = (): number => 0;
  let ringMessage: (m: ToMember) => boolean = () => false;
  if (config.inHost?.kind === 'unix') inHostConnects = useInHostTransport(config.inHost.dir);
  else if (config.inHost?.kind === 'ring') {
    setIdleSpin({ maxSpinUs: config.inHost.maxSpinUs });
    const rings = ringTransport(tell, config.inHost.ringBytes);
    setInHostTransport(rings);
    inHostConnects = () => rings.connects;
    ringMessage = (m) => rings.handle(m);
    onPrimary(ringMessage);
  }
  if (isMainThread) {
    // A process: its Web and TCP servers serve the ports the cluster shares (the primary hands out the connections).
    const shared = memberSharedPorts(tell);
    setListenProvider(shared.provider);
    process.on('message', (m: ToMember, handle: unknown) => void shared.handle(m, handle));
  }
  const node = await startRegistered(config);
  const since: Since = { elu: performance.eventLoopUtilization(), at: performance.now(), delivered: node.messagesDelivered() };
  let started = false;
  onPrimary((m: ToMember) => {
    if (m.type.startsWith('ring-')) return;
    if (m.type === 'connect' && !started) {
      started = true;
      const context: ClusterNodeContext = { index: config.index, size: config.size, base: config.base, peers: m.peers, args: config.args };
      Promise.all(m.peers.map((p) => connectTo(node, atom(p), m.initiateAll || p < config.name, 30_000)))
        .then(() => (start as ClusterStart)(node, context))
        .then(
          () => tell({ type: 'ready' }),
          (err: unknown) => {
            tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
            process.exitCode = 1;
            process.disconnect?.();
            void node.stop().finally(() => process.exit(1));
          },
        );
    } else if (m.type === 'stats') tell({ type: 'stats', id: m.id, stats: stats(node, since, inHostConnects) });
    else if (m.type === 'stop') void node.stop().finally(() => process.exit(0));
  });
  if (isMainThread) {
    // Ctrl-C reaches the whole process group: the primary stops the nodes in order, so a node ignores it.
    process.on('SIGINT', () => {});
    // The primary gone: this node goes too (as a node:cluster worker does).
    process.on('disconnect', () => void node.stop().finally(() => process.exit(0)));
  }
  tell({ type: 'registered', creation: node.creation });
}

const raw = isMainThread ? process.env[MEMBER_ENV] : ((workerData as Record<string, unknown> | null)?.[MEMBER_ENV] as string | undefined);
if (raw !== undefined) {
  await main(JSON.parse(raw) as MemberConfig).catch((err: unknown) => {
    // A node that cannot start says why to the primary, then exits (counted as a crash).
    tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
    if (isMainThread) process.disconnect?.();
    else setImmediate(() => process.exit(1));
  });
}
