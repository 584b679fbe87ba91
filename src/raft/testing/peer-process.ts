/**
 * One Raft peer as its own OS process, for the real-process tests: a node,
 * a replicated register store (put / cas / get on string keys) persisted
 * under a directory, and a `nemesis` process that blocks or heals traffic to
 * other nodes through the distribution layer's fault hook.
 *
 *   node build/src/raft/testing/peer-process.js '{"node":"p1@127.0.0.1","epmdPort":4370,"cookie":"c","peers":[...],"dir":"/tmp/x"}'
 *
 * Prints `ready` once the peer runs.
 * @module
 */
import { atom } from '../../terms/atom.js';
import { isTuple } from '../../terms/tuple.js';
import { distributionOf, startNode } from '../../distribution/index.js';
import { startRaft } from '../server.js';
import { registerStore } from './register-store.js';
import type { RaftPeer } from '../wire.js';

interface Args {
  readonly node: string;
  readonly epmdPort: number;
  readonly cookie: string;
  readonly peers: RaftPeer[];
  readonly dir: string;
  readonly snapshotEvery?: number;
  /** Raft tick (heartbeat) in ms and election timeout in ticks; the behavior's defaults (50, 10) when absent. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /**
   * The node's `batchBytes`; default `Infinity`: a member writes each turn's frames in one write, so a
   * follower gets each burst of entries whole and syncs its log once for it, and the leader's answers to
   * 64 clients in flight come back as one burst (with the node default of 800 bytes, `raft_commit_64`
   * measured about 10% fewer appends/s).
   */
  readonly batchBytes?: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const node = await startNode({ name: args.node, cookie: args.cookie, epmdPort: args.epmdPort, node: { logger: () => {}, shutdownTimeout: 200 }, batchBytes: args.batchBytes ?? Infinity });
  const blocked = new Set<string>();
  const dist = distributionOf(node);
  node.spawn(
    {
      handleMessage: (m) => {
        if (isTuple(m, 2) && m.elements[0] === atom('block')) blocked.add(String(m.elements[1]));
        else if (isTuple(m, 2) && m.elements[0] === atom('unblock')) blocked.delete(String(m.elements[1]));
        else if (m === atom('heal')) blocked.clear();
        dist.dropOutgoing = blocked.size === 0 ? undefined : (n) => blocked.has(n.name);
      },
    },
    { name: 'nemesis' },
  );
  await startRaft(node, registerStore, undefined, {
    name: 'reg',
    peers: args.peers,
    dir: args.dir,
    snapshotEvery: args.snapshotEvery ?? 200,
    ...(args.tickMs === undefined ? {} : { tickMs: args.tickMs }),
    ...(args.electionTicks === undefined ? {} : { electionTicks: args.electionTicks }),
  });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => void node.stop().then(() => process.exit(0)));
}

await main();
