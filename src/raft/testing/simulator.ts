/**
 * A deterministic cluster simulator for the Raft core: virtual time, seeded
 * randomness, a network that drops, delays, duplicates, reorders and
 * partitions, crashes with the store kept, and one peer that loses its store
 * and rejoins under a new identity through membership changes. Half the
 * seeds give every peer an asynchronous disk (writes complete later, in
 * order; a crash loses the writes still in flight), driven as the Raft
 * behavior drives its store: a leader's appends leave before its own write
 * completes and it counts toward a commit only once reported persisted;
 * everything else waits for the write. After every
 * event it checks Raft's safety properties and throws {@link SafetyViolation}
 * naming the seed, so `runSimulation({ seed })` replays the failure exactly.
 * @module
 */
import { ConfigError } from '../core/config.js';
import { RaftCore } from '../core/raft.js';
import type { ClusterConfig, Entry, Message, PeerId, RequestId } from '../core/types.js';
import { Sessions, type SessionRecord } from '../sessions.js';
import { MemoryStore } from '../storage/memory-store.js';
import { type PersistBatch, persistBatch, persistedMark } from '../storage/store.js';
import { SeededRandom } from './random.js';

/** One simulated run. */
export interface SimulationOptions {
  readonly seed: number;
  /** Founding voters, 3 or 5 (default: chosen by the seed). */
  readonly peers?: number;
  /** Virtual milliseconds of faults, then as long again of calm (default 1200). */
  readonly faultMs?: number;
  /** Print a line per notable event. */
  readonly trace?: boolean;
}

/** What a run did, for tests that check the simulator exercised what it claims. */
export interface SimulationStats {
  readonly seed: number;
  events: number;
  elections: number;
  acknowledgedWrites: number;
  duplicateRetries: number;
  reads: number;
  snapshotsSent: number;
  crashes: number;
  storeLost: boolean;
  transfers: number;
  partitions: number;
  maxTerm: number;
  /** Writes that completed after their Ready was handed over (asynchronous disks). */
  asyncWrites: number;
}

/** A broken safety (or, after the calm phase, liveness) property; the message names the seed. */
export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
  constructor(
    readonly seed: number,
    readonly at: number,
    detail: string,
  ) {
    super(`seed ${seed} at ${at}ms: ${detail} (replay: node build/src/raft/testing/simulate.js --seed ${seed})`);
  }
}

type Cmd = string;
interface SnapData {
  readonly hash: number;
  readonly sessions: readonly SessionRecord<number>[];
}
type Msg = Message<Cmd, SnapData>;

const tickMs = 10;
const electionTicks = 10;

function fnv(hash: number, s: string): number {
  let h = hash ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The simulated state machine: a hash chain over applied effects, plus sessions. */
class Machine {
  index = 0;
  hash = 0;
  sessions = new Sessions<number>();

  apply(e: Entry<Cmd>): { duplicate: boolean } {
    this.index = e.index;
    if (e.kind !== 'command') {
      this.hash = fnv(this.hash, e.kind);
      return { duplicate: false };
    }
    if (e.request !== undefined && this.sessions.applied(e.request) !== null) {
      this.hash = fnv(this.hash, 'dup');
      return { duplicate: true };
    }
    this.hash = fnv(this.hash, e.command);
    if (e.request !== undefined) this.sessions.record(e.request, e.index);
    return { duplicate: false };
  }

  snapshot(): SnapData {
    return { hash: this.hash, sessions: this.sessions.toRecords() };
  }

  restore(index: number, data: SnapData): void {
    this.index = index;
    this.hash = data.hash;
    this.sessions = Sessions.fromRecords(data.sessions);
  }
}

interface Peer {
  readonly id: PeerId;
  readonly incarnation: number;
  core: RaftCore<Cmd, SnapData>;
  readonly store: MemoryStore<Cmd, SnapData>;
  machine: Machine;
  up: boolean;
  checkedCommit: number;
  leaderTerm: number;
  /** When this peer's disk finishes the last write handed to it (writes complete in order). */
  diskFreeAt: number;
}

interface PendingWrite {
  readonly request: RequestId;
  readonly command: Cmd;
  peer: PeerId | null;
  index: number;
  term: number;
  deadline: number;
  attempts: number;
}

interface PendingRead {
  readonly ctx: string;
  readonly peer: PeerId;
  readonly minIndex: number;
  readonly deadline: number;
  readIndex: number;
}

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap of events by (time, insertion order). */
class EventQueue {
  private readonly heap: Event[] = [];
  private seq = 0;

  push(at: number, run: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

/** Runs one seeded simulation; throws SafetyViolation on any broken property. */
export function runSimulation(options: SimulationOptions): SimulationStats {
  return new Simulation(options).run();
}

class Simulation {
  private readonly rnd: SeededRandom;
  private readonly seed: number;
  private readonly faultMs: number;
  private readonly trace: boolean;
  private readonly queue = new EventQueue();
  private now = 0;
  private readonly peers = new Map<PeerId, Peer>();
  private readonly bootstrap: ClusterConfig;
  private readonly stats: SimulationStats;

  // Network faults, chosen per seed.
  private readonly dropRate: number;
  private readonly dupRate: number;
  private readonly maxDelay: number;
  private groups: Map<PeerId, number> | null = null;
  private calm = false;

  // Global knowledge for the checks.
  private readonly leaderOfTerm = new Map<number, PeerId>();
  private readonly committed: Entry<Cmd>[] = [];
  private readonly appliedHash: number[] = [];
  private maxCommit = 0;
  private readonly lastTerm = new Map<PeerId, number>();
  private readonly lastCommit = new Map<PeerId, number>();

  // Clients.
  private readonly writes: PendingWrite[] = [];
  private readonly reads: PendingRead[] = [];
  private readonly clientSeq = new Map<string, number>();
  private readonly acked = new Map<string, number>();
  private ackedInCalm = 0;
  private readCtx = 0;
  private readonly snapshotEvery: number;
  /** Entries per append message; 1 makes the old-term commit situations of the paper's figure 8 reachable. */
  private readonly batch: number;
  /** Writes complete after a delay (in order), and a crash loses those in flight. */
  private readonly asyncDisk: boolean;

  // Store loss: the lost peer and its replacement.
  private lost: PeerId | null = null;
  private replacement: PeerId | null = null;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.rnd = new SeededRandom(options.seed);
    this.faultMs = options.faultMs ?? 1200;
    this.trace = options.trace ?? false;
    const n = options.peers ?? (this.rnd.chance(0.5) ? 3 : 5);
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    this.bootstrap = { voters: ids, learners: [] };
    this.dropRate = this.rnd.pick([0, 0.01, 0.05, 0.1, 0.2]);
    this.dupRate = this.rnd.pick([0, 0.02, 0.1]);
    this.maxDelay = this.rnd.pick([2, 5, 10, 20]);
    this.snapshotEvery = this.rnd.pick([5, 16, 64, 1000]);
    this.batch = this.rnd.pick([1, 2, 8, 64]);
    this.asyncDisk = this.rnd.chance(0.5);
    this.stats = {
      seed: options.seed,
      events: 0,
      elections: 0,
      acknowledgedWrites: 0,
      duplicateRetries: 0,
      reads: 0,
      snapshotsSent: 0,
      crashes: 0,
      storeLost: false,
      transfers: 0,
      partitions: 0,
      maxTerm: 0,
      asyncWrites: 0,
    };
    for (const id of ids) this.startPeer(id, new MemoryStore(), this.bootstrap, 0);
  }

  run(): SimulationStats {
    this.scheduleFaults();
    for (const c of ['a', 'b', 'c']) this.queue.push(this.rnd.int(0, 20), () => this.clientStep(c));
    this.queue.push(this.faultMs, () => this.beginCalm());
    const end = this.faultMs * 2;
    for (let e = this.queue.pop(); e !== undefined && e.at <= end; e = this.queue.pop()) {
      this.now = e.at;
      this.stats.events++;
      e.run();
    }
    this.checkConverged();
    return this.stats;
  }

  // ---------------------------------------------------------------- peers

  private startPeer(id: PeerId, store: MemoryStore<Cmd, SnapData>, bootstrap: ClusterConfig | null, incarnation: number): void {
    const core = new RaftCore<Cmd, SnapData>(
      {
        id,
        electionTicks,
        heartbeatTicks: 2,
        voterPolicy: { min: 1, max: 11 },
        random: () => this.rnd.next(),
        maxEntriesPerMessage: this.batch,
        maxInflightEntries: this.batch * 8,
        asyncStorage: this.asyncDisk,
      },
      store.loadSync(),
      bootstrap,
    );
    const peer: Peer = { id, incarnation, core, store, machine: new Machine(), up: true, checkedCommit: 0, leaderTerm: 0, diskFreeAt: 0 };
    if (this.asyncDisk) {
      // Writes in flight at the crash were lost: term and commit may restart lower than before (nothing that depended on them was sent).
      this.lastTerm.delete(id);
      this.lastCommit.delete(id);
    }
    this.peers.set(id, peer);
    const tick = (): void => {
      if (this.peers.get(id) !== peer || !peer.up) return;
      peer.core.tick();
      this.drive(peer);
      this.queue.push(this.now + tickMs, tick);
    };
    this.queue.push(this.now + this.rnd.int(1, tickMs), tick);
    this.drive(peer);
  }

  private crash(peer: Peer): void {
    peer.up = false;
    this.stats.crashes++;
    this.log(`crash ${peer.id}`);
  }

  private restart(peer: Peer): void {
    if (peer.up || this.peers.get(peer.id) !== peer) return;
    this.log(`restart ${peer.id}`);
    this.startPeer(peer.id, peer.store, this.bootstrap, peer.incarnation + 1);
  }

  /** Processes everything the core produced: persist, send, restore, apply, serve reads, compact. */
  private drive(peer: Peer): void {
    const core = peer.core;
    while (core.hasReady()) {
      const r = core.ready();
      const batch = persistBatch(r);
      if (this.asyncDisk && (batch !== null || peer.diskFreeAt > this.now)) this.write(peer, batch, r.messages);
      else {
        if (batch !== null) peer.store.saveSync(batch);
        for (const m of r.messages) this.send(m);
      }
      if (r.restore !== null) {
        const h = this.appliedHash[r.restore.index];
        if (h !== undefined && h !== r.restore.data.hash) this.fail(`${peer.id} restored a snapshot at ${r.restore.index} that differs from what others applied`);
        peer.machine.restore(r.restore.index, r.restore.data);
      }
      for (const e of r.committed) this.apply(peer, e);
      for (const ctx of r.failedReads) this.dropRead(ctx);
      for (const rs of r.readStates) this.readReady(peer, rs.ctx, rs.index);
      if (r.entries.length > 0 || r.snapshot !== null) this.checkLogMatching(peer);
      this.checkPeer(peer);
      const applied = peer.machine.index;
      if (applied - (core.firstIndex - 1) >= this.snapshotEvery) core.compact(applied, peer.machine.snapshot());
    }
    this.serveReads(peer);
  }

  /**
   * An asynchronous write: a leader's appends leave now; the other messages
   * (acknowledgements, votes) once the write and every earlier one completed
   * (also with no batch of their own: an acknowledgement must not promise
   * entries still in flight), when the core also learns what is on disk.
   * A crash before then loses the write.
   */
  private write(peer: Peer, batch: PersistBatch<Cmd, SnapData> | null, messages: readonly Msg[]): void {
    const leading = peer.core.status().role === 'leader';
    const later: Msg[] = [];
    for (const m of messages) {
      if (leading && (m.type === 'append' || m.type === 'snapshot')) this.send(m);
      else later.push(m);
    }
    const mark = batch === null ? null : persistedMark(batch);
    if (batch !== null) {
      const delay = this.rnd.chance(0.2) ? this.rnd.int(5, 60) : this.rnd.int(0, 4);
      peer.diskFreeAt = Math.max(peer.diskFreeAt, this.now + delay);
    }
    this.queue.push(peer.diskFreeAt, () => {
      if (this.peers.get(peer.id) !== peer || !peer.up) return; // crashed: the write never happened
      if (batch !== null) {
        this.stats.asyncWrites++;
        peer.store.saveSync(batch);
      }
      for (const m of later) this.send(m);
      if (mark !== null) peer.core.persisted(mark.index, mark.term);
      this.drive(peer);
    });
  }

  private apply(peer: Peer, e: Entry<Cmd>): void {
    const m = peer.machine;
    if (e.index !== m.index + 1) this.fail(`${peer.id} applies ${e.index} after ${m.index}`);
    const { duplicate } = m.apply(e);
    const h = this.appliedHash[e.index];
    if (h === undefined) this.appliedHash[e.index] = m.hash;
    else if (h !== m.hash) this.fail(`${peer.id} applied a different sequence up to ${e.index}`);
    if (e.kind !== 'command') return;
    if (duplicate) this.stats.duplicateRetries++;
    for (let i = 0; i < this.writes.length; i++) {
      const w = this.writes[i]!;
      if (w.peer === peer.id && w.index === e.index) {
        if (e.term === w.term && e.request?.client === w.request.client && e.request.seq === w.request.seq) {
          this.ack(w, e.index);
          this.writes.splice(i, 1);
        } else {
          w.peer = null; // overwritten: retry
        }
        break;
      }
    }
  }

  // -------------------------------------------------------------- network

  private send(m: Msg): void {
    if (m.type === 'snapshot') this.stats.snapshotsSent++;
    if (this.cut(m.from, m.to)) return;
    if (!this.calm && this.rnd.chance(this.dropRate)) return;
    const copies = !this.calm && this.rnd.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      // A few messages are held back much longer, overtaking each other.
      const delay = !this.calm && this.rnd.chance(0.02) ? this.rnd.int(this.maxDelay, 150) : this.rnd.int(1, this.maxDelay);
      this.queue.push(this.now + delay, () => {
        const to = this.peers.get(m.to);
        if (to === undefined || !to.up || this.cut(m.from, m.to)) return;
        to.core.step(m);
        this.drive(to);
      });
    }
  }

  private cut(a: PeerId, b: PeerId): boolean {
    const g = this.groups;
    return g !== null && (g.get(a) ?? 0) !== (g.get(b) ?? 0);
  }

  // --------------------------------------------------------------- faults

  private scheduleFaults(): void {
    const intensity = this.rnd.pick([0, 1, 2, 3]);
    if (intensity === 0) return;
    const gap = Math.round(400 / intensity);
    for (let t = this.rnd.int(50, gap); t < this.faultMs; t += this.rnd.int(Math.round(gap / 2), Math.round(gap * 1.5))) {
      this.queue.push(t, () => this.fault());
    }
    if (this.rnd.chance(0.3)) this.queue.push(this.rnd.int(100, Math.round(this.faultMs / 2)), () => this.loseStore());
  }

  private fault(): void {
    if (this.calm) return;
    const ids = [...this.peers.keys()];
    const kind = this.rnd.pick(['partition', 'partition', 'heal', 'crash', 'crash', 'crashLeader', 'transfer']);
    switch (kind) {
      case 'partition': {
        this.stats.partitions++;
        const g = new Map<PeerId, number>();
        const isolateLeader = this.rnd.chance(0.5);
        for (const id of ids) g.set(id, this.rnd.int(0, 1));
        if (isolateLeader) {
          for (const id of ids) g.set(id, 0);
          const leader = this.currentLeader();
          if (leader !== null) g.set(leader.id, 1);
        }
        this.groups = g;
        this.log(`partition ${JSON.stringify([...g])}`);
        this.queue.push(this.now + this.rnd.int(50, 400), () => {
          if (this.groups === g) this.groups = null;
        });
        break;
      }
      case 'heal':
        this.groups = null;
        break;
      case 'crash':
      case 'crashLeader': {
        // Leaders die mid-replication: the situations of the paper's figure 8.
        const up = [...this.peers.values()].filter((p) => p.up && p.id !== this.lost);
        if (up.length === 0) return;
        const victim = (kind === 'crashLeader' ? this.currentLeader() : null) ?? this.rnd.pick(up);
        this.crash(victim);
        this.queue.push(this.now + this.rnd.int(20, 400), () => this.restart(victim));
        break;
      }
      case 'transfer': {
        const leader = this.currentLeader();
        if (leader === null) return;
        const to = this.rnd.pick(leader.core.status().config.voters);
        if (leader.core.transferLeadership(to)) this.stats.transfers++;
        this.drive(leader);
        break;
      }
    }
  }

  /** One peer's disk dies: it is removed through the log, and a fresh peer joins in its place. */
  private loseStore(): void {
    if (this.lost !== null) return;
    const victims = [...this.peers.values()].filter((p) => p.up && this.bootstrap.voters.includes(p.id));
    if (victims.length === 0) return;
    const victim = this.rnd.pick(victims);
    this.crash(victim);
    this.stats.storeLost = true;
    this.lost = victim.id;
    this.replacement = `${victim.id}-new`;
    this.log(`store lost on ${victim.id}`);
    this.queue.push(this.now + 20, () => this.operate());
  }

  /** The operator's loop for a lost store: remove the dead peer, add the new one as learner, then as voter. */
  private operate(): void {
    const lost = this.lost;
    const fresh = this.replacement;
    if (lost === null || fresh === null) return;
    this.queue.push(this.now + 30, () => this.operate());
    const leader = this.currentLeader();
    if (leader === null) return;
    const config = leader.core.status().config;
    let change: Parameters<RaftCore<Cmd, SnapData>['proposeChange']>[0] | null = null;
    if (config.voters.includes(lost) || config.learners.includes(lost)) change = { type: 'remove', peer: lost };
    else if (!config.voters.includes(fresh) && !config.learners.includes(fresh)) {
      if (!this.peers.has(fresh)) this.startPeer(fresh, new MemoryStore(), null, 0);
      change = { type: 'addLearner', peer: fresh };
    } else if (config.learners.includes(fresh)) {
      const p = this.peers.get(fresh);
      if (p !== undefined && p.up && p.core.status().commit >= leader.core.status().commit - 2) change = { type: 'addVoter', peer: fresh };
    } else {
      this.lost = null; // done
      this.peers.delete(lost);
      return;
    }
    if (change === null) return;
    try {
      leader.core.proposeChange(change);
      this.log(`propose ${change.type} ${change.peer}`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
    this.drive(leader);
  }

  private beginCalm(): void {
    this.calm = true;
    this.groups = null;
    for (const p of this.peers.values()) if (!p.up && p.id !== this.lost) this.restart(p);
    this.log('calm');
  }

  // -------------------------------------------------------------- clients

  private clientStep(client: string): void {
    // Clients stop well before the end so the calm phase can converge.
    if (this.now > this.faultMs * 2 - 500) return;
    this.queue.push(this.now + this.rnd.int(5, 40), () => this.clientStep(client));
    this.expire();
    if (this.rnd.chance(0.25)) return this.startRead(client);
    // Retry a pending write of this client, else start a new one.
    let w = this.writes.find((x) => x.request.client === client);
    if (w === undefined) {
      const seq = (this.clientSeq.get(client) ?? 0) + 1;
      this.clientSeq.set(client, seq);
      w = { request: { client, seq }, command: `${client}${seq}`, peer: null, index: 0, term: 0, deadline: 0, attempts: 0 };
      this.writes.push(w);
    } else if (w.peer !== null && this.now < w.deadline) {
      return;
    }
    this.propose(w);
  }

  private propose(w: PendingWrite): void {
    const up = [...this.peers.values()].filter((p) => p.up);
    if (up.length === 0) return;
    let target = this.rnd.pick(up);
    const hint = target.core.status().leader;
    const hinted = hint === null ? undefined : this.peers.get(hint);
    if (hinted !== undefined && hinted.up && this.rnd.chance(0.8)) target = hinted;
    const r = target.core.propose(w.command, w.request);
    w.attempts++;
    if (r.ok) {
      w.peer = target.id;
      w.index = r.index;
      w.term = r.term;
      w.deadline = this.now + 300;
      this.drive(target);
    }
  }

  private ack(w: PendingWrite, index: number): void {
    const key = `${w.request.client}:${w.request.seq}`;
    if (this.acked.has(key)) this.fail(`write ${key} acknowledged twice`);
    this.acked.set(key, index);
    this.stats.acknowledgedWrites++;
    if (this.calm) this.ackedInCalm++;
  }

  private startRead(client: string): void {
    const up = [...this.peers.values()].filter((p) => p.up);
    if (up.length === 0) return;
    const peer = this.rnd.pick(up);
    const ctx = `${client}-r${++this.readCtx}`;
    // Anything committed anywhere before the read starts must be visible to it.
    this.reads.push({ ctx, peer: peer.id, minIndex: this.maxCommit, deadline: this.now + 300, readIndex: -1 });
    peer.core.read(ctx);
    this.drive(peer);
  }

  private readReady(peer: Peer, ctx: string, index: number): void {
    const r = this.reads.find((x) => x.ctx === ctx);
    if (r === undefined || r.peer !== peer.id) return;
    if (index < r.minIndex) this.fail(`read ${ctx} at ${peer.id} got read index ${index} below ${r.minIndex}, committed before it began`);
    r.readIndex = index;
  }

  private serveReads(peer: Peer): void {
    for (let i = 0; i < this.reads.length; i++) {
      const r = this.reads[i]!;
      if (r.peer === peer.id && r.readIndex >= 0 && peer.machine.index >= r.readIndex) {
        this.stats.reads++;
        this.reads.splice(i--, 1);
      }
    }
  }

  private dropRead(ctx: string): void {
    const i = this.reads.findIndex((x) => x.ctx === ctx);
    if (i >= 0) this.reads.splice(i, 1);
  }

  private expire(): void {
    for (let i = 0; i < this.reads.length; i++) if (this.reads[i]!.deadline < this.now) this.reads.splice(i--, 1);
  }

  // --------------------------------------------------------------- checks

  private currentLeader(): Peer | null {
    let best: Peer | null = null;
    for (const p of this.peers.values()) {
      if (!p.up) continue;
      const s = p.core.status();
      if (s.role === 'leader' && (best === null || s.term > best.core.status().term)) best = p;
    }
    return best;
  }

  private checkPeer(peer: Peer): void {
    if (!peer.up) return;
    const s = peer.core.status();
    const key = `${peer.id}`;
    if (s.term < (this.lastTerm.get(key) ?? 0)) this.fail(`${peer.id} term went back to ${s.term}`);
    if (s.commit < (this.lastCommit.get(key) ?? 0)) this.fail(`${peer.id} commit went back to ${s.commit}`);
    this.lastTerm.set(key, s.term);
    this.lastCommit.set(key, s.commit);
    if (s.term > this.stats.maxTerm) this.stats.maxTerm = s.term;
    if (s.role === 'leader') {
      const other = this.leaderOfTerm.get(s.term);
      if (other === undefined) {
        this.leaderOfTerm.set(s.term, peer.id);
        this.stats.elections++;
        this.log(`${peer.id} leads term ${s.term} (last ${s.lastIndex}, commit ${s.commit}, voters ${s.config.voters.join(',')})`);
      } else if (other !== peer.id) this.fail(`two leaders in term ${s.term}: ${other} and ${peer.id}`);
      if (peer.leaderTerm !== s.term) {
        peer.leaderTerm = s.term;
        // Leader completeness: every committed entry is in the new leader's log.
        if (s.lastIndex < this.maxCommit) this.fail(`leader ${peer.id} of term ${s.term} lacks committed entries up to ${this.maxCommit}`);
        for (let i = Math.max(peer.core.firstIndex, 1); i <= this.maxCommit; i++) {
          const known = this.committed[i];
          if (known !== undefined && peer.core.entryAt(i) !== known) this.fail(`leader ${peer.id} of term ${s.term} has a different entry at committed index ${i}`);
        }
      }
    }
    // Committed entries never change.
    for (let i = Math.max(peer.checkedCommit + 1, peer.core.firstIndex); i <= s.commit; i++) {
      const e = peer.core.entryAt(i);
      if (e === undefined) this.fail(`${peer.id} has no entry at committed index ${i}`);
      const known = this.committed[i];
      if (known === undefined) this.committed[i] = e;
      else if (known !== e) this.fail(`${peer.id} committed a different entry at ${i}`);
    }
    peer.checkedCommit = Math.max(peer.checkedCommit, s.commit);
    if (s.commit > this.maxCommit) this.maxCommit = s.commit;
  }

  /** Log matching: where two logs hold an entry with the same index and term, they agree up to it. */
  private checkLogMatching(peer: Peer): void {
    const a = peer.core;
    for (const other of this.peers.values()) {
      if (other === peer || !other.up) continue;
      const b = other.core;
      const lo = Math.max(a.firstIndex, b.firstIndex);
      let matched = false;
      for (let i = Math.min(a.status().lastIndex, b.status().lastIndex); i >= lo; i--) {
        const ea = a.entryAt(i);
        const eb = b.entryAt(i);
        if (ea === undefined || eb === undefined) break;
        if (matched || ea.term === eb.term) {
          matched = true;
          if (ea !== eb) this.fail(`log matching broken at ${i} between ${peer.id} and ${other.id}`);
        }
      }
    }
  }

  private checkConverged(): void {
    const up = [...this.peers.values()].filter((p) => p.up);
    const leader = this.currentLeader();
    if (leader === null) this.fail('no leader after the calm phase');
    const ls = leader.core.status();
    for (const p of up) {
      if (!ls.config.voters.includes(p.id) && !ls.config.learners.includes(p.id)) continue;
      const s = p.core.status();
      if (s.commit !== ls.commit || p.machine.hash !== leader.machine.hash) this.fail(`${p.id} did not converge: commit ${s.commit} vs ${ls.commit}`);
    }
    if (this.ackedInCalm === 0) this.fail('no write was acknowledged in the calm phase');
  }

  private fail(detail: string): never {
    throw new SafetyViolation(this.seed, this.now, detail);
  }

  private log(line: string): void {
    if (this.trace) console.log(`${String(this.now).padStart(6)} ${line}`);
  }
}
