// Five Raft peers as OS processes (peer-process.ts) on loopback. A nemesis partitions pairs and
// 3/2 splits through the distribution fault hook and SIGKILLs/restarts peers while clients record
// put/get/cas histories; every history must be linearizable, acknowledged writes are never lost,
// and after healing every peer holds one log. Also: failover after the leader is SIGKILLed, and a
// 3/2 partition where only the majority commits.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Node } from '../../core/node.js';
import { startNode } from '../../distribution/index.js';
import { atom } from '../../terms/atom.js';
import { tuple } from '../../terms/tuple.js';
import { eventually } from '../../../test/support.js';
import { RaftClient, RaftRequestError, RaftTimeoutError } from '../client.js';
import type { RaftPeer } from '../wire.js';
import { freePort } from './free-port.js';
import { checkOperations, type Operation, unknown } from './linearizability.js';
import { type KeyedRegisterInput, keyedRegisterModel, type RegisterOutput } from './models.js';
import type { RegisterCommand } from './register-store.js';

const script = fileURLToPath(new URL('./peer-process.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Client = RaftClient<RegisterCommand, string, string | null>;

class ProcessCluster {
  readonly tag = randomInt(1e6);
  epmdPort = 0;
  readonly nodes = [1, 2, 3, 4, 5].map((i) => `p${i}x${this.tag}@127.0.0.1`);
  readonly peers: RaftPeer[] = this.nodes.map((node) => ({ name: 'reg', node }));
  readonly dirs = this.nodes.map(() => mkdtempSync(join(tmpdir(), 'raft-proc-')));
  readonly procs: (ChildProcess | null)[] = this.nodes.map(() => null);
  readonly logs: string[] = this.nodes.map(() => '');
  /** Started and said `ready`; a peer still starting is not a victim for the nemesis (killing it would fail its start). */
  readonly ready: boolean[] = this.nodes.map(() => false);
  home!: Node;

  async startHome(): Promise<void> {
    this.epmdPort = await freePort();
    this.home = await startNode({ name: `home${this.tag}@127.0.0.1`, cookie: 'raftproc', epmdPort: this.epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
  }

  async start(i: number): Promise<void> {
    const args = JSON.stringify({ node: this.nodes[i], epmdPort: this.epmdPort, cookie: 'raftproc', peers: this.peers, dir: this.dirs[i], snapshotEvery: 100 });
    const child = spawn(process.execPath, [script, args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs[i] = child;
    child.stderr.on('data', (d: Buffer) => (this.logs[i] += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`peer ${i} did not start: ${this.logs[i]}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          this.ready[i] = true;
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        // The nemesis may SIGKILL a peer that is still starting (kill() forgot it): that start is over, not failed.
        if (this.procs[i] !== child) resolve();
        else reject(new Error(`peer ${i} exited with ${String(code)}: ${this.logs[i]}`));
      });
    });
  }

  async kill(i: number): Promise<void> {
    const child = this.procs[i];
    if (child === null || child === undefined) return;
    this.procs[i] = null;
    this.ready[i] = false;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  block(i: number, j: number): void {
    this.home.send({ name: 'nemesis', node: this.nodes[i]! }, tuple(atom('block'), this.nodes[j]!));
    this.home.send({ name: 'nemesis', node: this.nodes[j]! }, tuple(atom('block'), this.nodes[i]!));
  }

  split(side: number[]): void {
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) if (side.includes(i) && !side.includes(j)) this.block(i, j);
  }

  heal(): void {
    for (const node of this.nodes) this.home.send({ name: 'nemesis', node }, atom('heal'));
  }

  client(peers = this.peers, timeout = 1500): Client {
    return new RaftClient(this.home, peers, { timeout });
  }

  /**
   * The peer that leads now: one that took a write and then says it is the leader. On a loaded machine
   * leadership may move between the write and the status round (a heartbeat late by an election
   * timeout), so it asks again until a leader answers or the deadline passes.
   */
  async leader(deadlineMs = 30_000): Promise<number> {
    const c = this.client(this.peers, 5000);
    const deadline = Date.now() + deadlineMs;
    do {
      await c.append('probe', { op: 'put', value: 'x' });
      for (let i = 0; i < 5; i++) {
        if (this.procs[i] === null) continue;
        try {
          const s = await c.status(this.peers[i]!, { timeout: 1000 });
          if (s.role === 'leader') return i;
        } catch {
          // a peer that does not answer is not the leader we want
        }
      }
    } while (Date.now() < deadline);
    throw new Error('no leader found');
  }

  async stop(): Promise<void> {
    for (let i = 0; i < 5; i++) await this.kill(i);
    await this.home?.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Polls every peer's status until all five agree on commit and last index. */
async function waitConverged(cluster: ProcessCluster): Promise<void> {
  const c = cluster.client();
  const deadline = Date.now() + 30_000;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = [];
    for (const p of cluster.peers) {
      try {
        const s = await c.status(p, { timeout: 1000 });
        seen.push(`${s.commit}/${s.lastIndex}/${s.applied}`);
      } catch {
        seen.push('down');
      }
    }
    if (new Set(seen).size === 1 && seen[0] !== 'down') return;
    await sleep(100);
  }
  throw new Error(`peers did not converge: ${seen.join(' ')}`);
}

describe('raft on five OS processes', { timeout: 240_000 }, () => {
  const cluster = new ProcessCluster();

  before(async () => {
    await cluster.startHome();
    await Promise.all([0, 1, 2, 3, 4].map((i) => cluster.start(i)));
  });

  after(async () => {
    await cluster.stop();
  });

  test('nemesis: partitions, SIGKILLs and restarts; every history is linearizable, no acknowledged write lost', async () => {
    const ops: Operation<KeyedRegisterInput, RegisterOutput>[] = [];
    let clock = 0;
    const now = (): number => ++clock;
    const until = Date.now() + 10_000;
    let written = 0;
    let kills = 0;
    const runClient = async (id: number): Promise<void> => {
      const client = cluster.client(cluster.peers, 1500);
      let n = 0;
      const values: string[] = [];
      while (Date.now() < until) {
        const key = `k${randomInt(3)}`;
        const dice = Math.random();
        const call = now();
        if (dice < 0.4) {
          try {
            const v = await client.read(key);
            ops.push({ client: id, input: { f: 'read', key }, output: v, call, ret: now() });
          } catch {
            // a read that timed out had no effect
          }
        } else if (dice < 0.7) {
          const value = `${id}.${++n}`;
          values.push(value);
          try {
            await client.append(key, { op: 'put', value });
            ops.push({ client: id, input: { f: 'write', key, value }, output: null, call, ret: now() });
            written++;
          } catch {
            ops.push({ client: id, input: { f: 'write', key, value }, output: unknown, call, ret: Number.POSITIVE_INFINITY });
          }
        } else {
          const from = values.length > 0 && Math.random() < 0.7 ? values[randomInt(values.length)]! : `${randomInt(3)}.${randomInt(5)}`;
          const to = `${id}.${++n}`;
          values.push(to);
          try {
            const { result } = await client.appendResult<boolean>(key, { op: 'cas', from, to });
            ops.push({ client: id, input: { f: 'cas', key, from, to }, output: result, call, ret: now() });
          } catch {
            ops.push({ client: id, input: { f: 'cas', key, from, to }, output: unknown, call, ret: Number.POSITIVE_INFINITY });
          }
        }
      }
    };
    const restarts: Promise<void>[] = [];
    const nemesis = async (): Promise<void> => {
      // A fixed rotation of fault kinds (random victims), so every run has each kind, the leader's death included.
      const kinds = ['pair', 'kill', 'split', 'heal', 'killLeader', 'pair', 'split', 'kill', 'heal'];
      for (let k = 0; Date.now() < until - 1000; k++) {
        await sleep(randomInt(300, 800));
        const live = [0, 1, 2, 3, 4].filter((i) => cluster.ready[i]);
        const kind = kinds[k % kinds.length]!;
        if (kind === 'pair') cluster.block(randomInt(5), randomInt(5));
        else if (kind === 'split') {
          const order = [0, 1, 2, 3, 4].sort(() => Math.random() - 0.5);
          cluster.split(order.slice(0, 3));
        } else if (kind === 'heal') cluster.heal();
        else if (live.length > 3) {
          let victim = live[randomInt(live.length)]!;
          if (kind === 'killLeader') {
            for (const i of live) {
              const s = await cluster.client().status(cluster.peers[i]!, { timeout: 500 }).catch(() => null);
              if (s?.role === 'leader') victim = i;
            }
          }
          kills++;
          await cluster.kill(victim);
          restarts.push(sleep(randomInt(300, 1500)).then(() => cluster.start(victim)));
        }
      }
      cluster.heal();
    };
    await Promise.all([runClient(1), runClient(2), runClient(3), runClient(4), nemesis()]);
    await Promise.all(restarts);
    cluster.heal();
    // After healing, a write succeeds and every key is read back through every peer.
    const final = cluster.client(cluster.peers, 15_000);
    const call = now();
    await final.append('k0', { op: 'put', value: 'final' });
    ops.push({ client: 9, input: { f: 'write', key: 'k0', value: 'final' }, output: null, call, ret: now() });
    for (const p of cluster.peers) {
      const c = cluster.client([p], 15_000);
      for (const key of ['k0', 'k1', 'k2']) {
        const t = now();
        const v = await c.read(key);
        ops.push({ client: 10, input: { f: 'read', key }, output: v, call: t, ret: now() });
      }
    }
    const unknowns = ops.filter((o) => o.output === unknown).length;
    console.log(`nemesis run: ${ops.length} operations, ${written} acknowledged writes, ${unknowns} unknown outcomes, ${kills} SIGKILLs`);
    assert.ok(written > 10, `only ${written} acknowledged writes`);
    assert.ok(kills >= 2, `only ${kills} SIGKILLs`);
    const verdict = checkOperations(keyedRegisterModel, ops, 60_000);
    assert.equal(verdict, 'ok', `history of ${ops.length} operations is not linearizable`);
    await waitConverged(cluster);
  });

  // How fast the failover is, is measured in bench/raft.ts (raft_failover), not asserted here: on a loaded machine it took 4 s.
  test('leader SIGKILLed: a new leader takes writes again', async () => {
    const leader = await cluster.leader();
    const client = cluster.client(cluster.peers.filter((_, i) => i !== leader), 5000);
    await cluster.kill(leader);
    await client.append('k1', { op: 'put', value: 'after-kill' });
    await cluster.start(leader);
    await waitConverged(cluster);
  });

  test('3/2 partition: only the majority commits; healing leaves one log everywhere', async () => {
    // Put the leader on the minority side first, so the minority has someone to accept appends. A transfer
    // is best effort (Raft thesis 3.10): the leader abandons it when the target has not won within an
    // election timeout, and a loaded machine may elect another peer afterwards (seen under load: the
    // leader was still 0 after 50 polls). So ask again, each time the leader is not on the minority side.
    const minority = [3, 4];
    let leader = await cluster.leader();
    const deadline = Date.now() + 60_000;
    while (!minority.includes(leader)) {
      assert.ok(Date.now() < deadline, `leader ${leader} should be on the minority side`);
      // Refused while an earlier transfer still runs, or timed out when leadership moved meanwhile: the next round asks again.
      await cluster
        .client()
        .transferLeadership(cluster.peers[3]!)
        .catch((e: unknown) => {
          if (!(e instanceof RaftRequestError || e instanceof RaftTimeoutError)) throw e;
        });
      leader = await cluster.leader();
    }
    cluster.split([0, 1, 2]);
    // Straight to the minority peers, no redirects: nothing they accept may commit.
    const stranded = (await cluster.home.call(cluster.peers[leader]!, { op: 'append', key: 'k2', value: { op: 'put', value: 'minority' }, client: 'nemesis', seq: 1, ack: 1, timeout: 1500 }, { timeout: 5000 })) as {
      ok: boolean;
    };
    assert.equal(stranded.ok, false, 'the minority must not commit');
    const majority = cluster.client(cluster.peers.slice(0, 3), 10_000);
    await majority.append('k2', { op: 'put', value: 'majority' });
    assert.equal(await majority.read('k2'), 'majority');
    const minorityRead = (await cluster.home.call(cluster.peers[4]!, { op: 'read', query: 'k2', timeout: 800 }, { timeout: 5000 })) as { ok: boolean };
    assert.equal(minorityRead.ok, false, 'the minority cannot serve a linearizable read');
    cluster.heal();
    await waitConverged(cluster);
    assert.equal(await cluster.client([cluster.peers[4]!], 10_000).read('k2'), 'majority');
  });
});
