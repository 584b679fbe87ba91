/**
 * The Raft core: a deterministic state machine. Messages and ticks go in;
 * a `Ready` (state to persist, messages to send, entries to apply, reads to
 * serve) comes out. It knows nothing of sockets, disks or clocks, so the
 * simulator and the real behavior drive the same code.
 *
 * Implements Ongaro and Ousterhout's Raft with the thesis' extensions:
 * randomized election timeouts, pre-vote, check-quorum (leader lease for
 * votes), log matching with fast conflict backoff, commit by a majority of
 * the current term, snapshots and InstallSnapshot, leadership transfer,
 * single-server membership changes through the log, and ReadIndex reads.
 * @module
 */
import { applyChange, ConfigError, defaultVoterPolicy, type MembershipChange, quorum, validateConfig, type VoterPolicy } from './config.js';
import { RaftLog } from './log.js';
import type { ClusterConfig, Entry, HardState, Message, PeerId, PersistedState, ReadState, RequestId, Ready, Role, Snapshot } from './types.js';

/** Tuning and identity of one peer's core. */
export interface RaftOptions {
  readonly id: PeerId;
  /** Ticks without a leader before a follower campaigns; the actual timeout is random in [n, 2n). Default 10. */
  readonly electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  readonly heartbeatTicks?: number;
  /** Ask for pre-votes before disrupting the cluster with a new term. Default true. */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down; followers ignore votes while their leader is alive. Default true. */
  readonly checkQuorum?: boolean;
  /** Most entries in one append message. Default 256. */
  readonly maxEntriesPerMessage?: number;
  /** Most entries sent to a follower beyond its acknowledged match. Default 4096. */
  readonly maxInflightEntries?: number;
  /** Voter counts allowed; default 3..11. */
  readonly voterPolicy?: VoterPolicy;
  /** A source of randomness in [0, 1) for election timeouts. Default Math.random. */
  readonly random?: () => number;
  /**
   * The driver persists a Ready's entries in the background and reports each
   * completed write with {@link RaftCore.persisted}; until then the leader does
   * not count its own new entries toward a commit, so an entry commits once a
   * majority of voters has it on disk, the leader among them or not (Raft
   * thesis 10.2.1). Default false: the driver persists each Ready before it
   * steps the core again, and a leader's entries count as soon as appended.
   */
  readonly asyncStorage?: boolean;
}

/** Why a proposal was refused. */
export type ProposeRefusal = { readonly ok: false; readonly reason: 'notLeader' | 'transferring'; readonly leader: PeerId | null };

/** The outcome of a proposal: its index and term, or a refusal naming the known leader. */
export type ProposeResult = { readonly ok: true; readonly index: number; readonly term: number } | ProposeRefusal;

/** A peer's view of the cluster, for status pages and tests. */
export interface RaftStatus {
  readonly id: PeerId;
  readonly role: Role;
  readonly term: number;
  readonly leader: PeerId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly config: ClusterConfig;
}

interface Progress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  paused: boolean;
  recentActive: boolean;
  ackRound: number;
  beatsWithoutProgress: number;
  snapshotIndex: number;
  snapshotElapsed: number;
}

interface PendingRead {
  readonly ctx: string;
  readonly from: PeerId;
  readonly index: number;
  readonly round: number;
}

const none = null;

/** One peer's Raft state machine. */
export class RaftCore<C, S> {
  readonly id: PeerId;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntries: number;
  private readonly maxInflight: number;
  private readonly policy: VoterPolicy;
  private readonly random: () => number;
  private readonly asyncStorage: boolean;

  private term = 0;
  private vote: PeerId | null = none;
  private commit = 0;
  private applied = 0;
  private role: Role = 'follower';
  private leader: PeerId | null = none;
  private readonly log: RaftLog<C, S>;
  private config: ClusterConfig;
  private configIndex: number;
  /** The log up to here is known to be on this peer's disk (with asyncStorage; see persisted()). */
  private stable: number;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private votes = new Map<PeerId, boolean>();
  private progress = new Map<PeerId, Progress>();
  private transferee: PeerId | null = none;
  private transferElapsed = 0;
  private round = 0;
  private reads: PendingRead[] = [];
  private readsAwaitingCommit: { ctx: string; from: PeerId }[] = [];

  // Output buffers, drained by ready().
  private savedHardState: HardState;
  private unstableFrom = Number.POSITIVE_INFINITY;
  private snapshotToPersist: Snapshot<S> | null = null;
  private snapshotToRestore: Snapshot<S> | null = null;
  private compactedTo = 0;
  private messages: Message<C, S>[] = [];
  private readStates: ReadState[] = [];
  private failedReads: string[] = [];

  /**
   * A core restarting from `persisted`, or (when nothing was persisted) a new
   * member of `bootstrap`: every founding member bootstraps with the same
   * configuration; a peer joining later bootstraps with none and learns it from the leader.
   */
  constructor(options: RaftOptions, persisted: PersistedState<C, S> | null, bootstrap: ClusterConfig | null) {
    this.id = options.id;
    this.electionTicks = options.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 1;
    if (!(this.electionTicks > this.heartbeatTicks && this.heartbeatTicks >= 1)) throw new RangeError('need electionTicks > heartbeatTicks >= 1');
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.maxEntries = options.maxEntriesPerMessage ?? 256;
    this.maxInflight = options.maxInflightEntries ?? 4096;
    this.policy = options.voterPolicy ?? defaultVoterPolicy;
    this.random = options.random ?? Math.random;
    this.asyncStorage = options.asyncStorage ?? false;
    this.log = new RaftLog<C, S>(persisted?.snapshot ?? null, persisted?.entries ?? []);
    this.stable = this.log.lastIndex;
    if (persisted !== null) {
      this.term = persisted.hardState.term;
      this.vote = persisted.hardState.vote;
      this.commit = Math.min(Math.max(persisted.hardState.commit, this.log.snapshotIndex), this.log.lastIndex);
      this.applied = this.log.snapshotIndex;
      this.snapshotToRestore = persisted.snapshot;
    }
    const found = this.log.configAt(this.log.lastIndex);
    if (found !== null) {
      this.config = found.config;
      this.configIndex = found.index;
    } else {
      if (bootstrap !== null) validateConfig(bootstrap, this.policy);
      this.config = bootstrap ?? { voters: [], learners: [] };
      this.configIndex = 0;
    }
    this.savedHardState = { term: this.term, vote: this.vote, commit: this.commit };
    this.resetRandomizedTimeout();
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else {
      this.electionElapsed++;
      if (this.promotable() && this.electionElapsed >= this.randomizedTimeout) this.campaign(this.preVote ? 'pre' : 'election');
    }
  }

  /** Proposes a command; on the leader it is appended and replicated. */
  propose(command: C, request?: RequestId): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader };
    if (this.transferee !== none) return { ok: false, reason: 'transferring', leader: this.leader };
    const entry: Entry<C> =
      request === undefined
        ? { kind: 'command', term: this.term, index: this.log.lastIndex + 1, command }
        : { kind: 'command', term: this.term, index: this.log.lastIndex + 1, command, request };
    this.appendLocal(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** Proposes a membership change (one at a time, through the log). Throws ConfigError when it breaks the rules. */
  proposeChange(change: MembershipChange): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader };
    if (this.transferee !== none) return { ok: false, reason: 'transferring', leader: this.leader };
    if (this.configIndex > this.commit) throw new ConfigError('a membership change is still uncommitted');
    if (this.log.term(this.commit) !== this.term) throw new ConfigError('the leader has not committed an entry in its term yet');
    const config = applyChange(this.config, change, this.policy);
    const entry: Entry<C> = { kind: 'config', term: this.term, index: this.log.lastIndex + 1, config };
    this.appendLocal(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Asks for a linearizable read. A ReadState with `ctx` arrives in a later
   * Ready once a quorum confirmed this leadership; or `ctx` lands in
   * `failedReads` when no leader can serve it. A follower forwards to its leader.
   */
  read(ctx: string): void {
    if (this.role === 'leader') this.leaderRead(ctx, this.id);
    else if (this.leader !== none) this.send({ type: 'readIndex', from: this.id, to: this.leader, term: this.term, ctx });
    else this.failedReads.push(ctx);
  }

  /** Hands leadership to `to` (a voter): it is caught up, then told to campaign at once. */
  transferLeadership(to: PeerId): boolean {
    if (this.role !== 'leader' || to === this.id || !this.config.voters.includes(to)) return false;
    const pr = this.progress.get(to);
    if (pr === undefined) return false;
    this.transferee = to;
    this.transferElapsed = 0;
    if (pr.match === this.log.lastIndex) this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
    else this.sendAppend(to, pr);
    return true;
  }

  /**
   * Replaces the log up to `index` (already applied) with the state machine's
   * image `data`. Call it after applying, typically every N entries.
   */
  compact(index: number, data: S): void {
    if (index > this.applied) throw new RangeError(`cannot snapshot at ${index}: applied only ${this.applied}`);
    if (index <= this.log.snapshotIndex) return;
    const term = this.log.term(index)!;
    const config = this.log.configAt(index)?.config ?? this.config;
    const snapshot: Snapshot<S> = { index, term, config, data };
    this.log.installSnapshot(snapshot);
    this.snapshotToPersist = snapshot;
    this.compactedTo = index;
  }

  /**
   * With `asyncStorage`: the write of the log up to `index` (whose entry has
   * `term`) completed, with every write handed over before it. A report for
   * entries since overwritten (another term at `index`) is ignored.
   */
  persisted(index: number, term: number): void {
    if (!this.asyncStorage || index <= this.stable || this.log.term(index) !== term) return;
    this.stable = index;
    if (this.role === 'leader') this.maybeCommit();
  }

  /**
   * The driver learned that `leader` is gone (its node's connection closed,
   * as a SIGKILL does): a follower of it forgets it, which ends its lease
   * (it grants pre-votes again), and campaigns after `afterTicks` instead of
   * waiting out its election timeout. Give each follower a different delay
   * (by rank) so that one campaigns first. Nothing else changes: an
   * unfounded report costs a failed pre-vote, and the leader's next
   * heartbeat restores it.
   */
  leaderUnreachable(leader: PeerId, afterTicks: number): void {
    if (this.role !== 'follower' || this.leader !== leader || leader === this.id) return;
    this.leader = none;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedTimeout - Math.max(1, Math.floor(afterTicks)));
  }

  /** Processes one message from a peer. Messages not addressed here, and malformed ones, are ignored. */
  step(m: Message<C, S>): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote') {
        const inLease = this.checkQuorum && this.leader !== none && this.electionElapsed < this.electionTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'vote' && m.pre) {
        // A pre-vote does not change our term.
      } else if (m.type === 'voteResp' && m.pre && m.granted) {
        // A granted pre-vote carries the term we would campaign in.
      } else {
        const fromLeader = m.type === 'append' || m.type === 'snapshot' || m.type === 'timeoutNow';
        this.becomeFollower(m.term, fromLeader ? m.from : none);
      }
    } else if (m.term < this.term) {
      if ((m.type === 'append' || m.type === 'snapshot') && (this.checkQuorum || this.preVote)) {
        // Tell a stale leader about the newer term so it steps down.
        this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, success: false, index: 0, hint: 0, round: 0 });
      } else if (m.type === 'vote' && m.pre) {
        this.send({ type: 'voteResp', from: this.id, to: m.from, term: this.term, pre: true, granted: false });
      }
      return;
    }
    switch (m.type) {
      case 'vote':
        this.handleVote(m);
        break;
      case 'voteResp':
        this.handleVoteResp(m);
        break;
      case 'append':
        if (this.role === 'leader') return;
        this.followLeader(m.from);
        this.handleAppend(m);
        break;
      case 'snapshot':
        if (this.role === 'leader') return;
        this.followLeader(m.from);
        this.handleSnapshot(m);
        break;
      case 'appendResp':
        if (this.role === 'leader') this.handleAppendResp(m);
        break;
      case 'timeoutNow':
        if (this.promotable()) this.campaign('transfer');
        break;
      case 'readIndex':
        if (this.role === 'leader') this.leaderRead(m.ctx, m.from);
        else this.send({ type: 'readIndexResp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: 0, ok: false });
        break;
      case 'readIndexResp':
        if (m.ok) this.readStates.push({ ctx: m.ctx, index: m.index });
        else this.failedReads.push(m.ctx);
        break;
    }
  }

  // --------------------------------------------------------------- outputs

  /** True when `ready()` has something to hand over. */
  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.unstableFrom !== Number.POSITIVE_INFINITY ||
      this.snapshotToPersist !== null ||
      this.snapshotToRestore !== null ||
      this.commit > this.applied ||
      this.readStates.length > 0 ||
      this.failedReads.length > 0 ||
      this.hardStateChanged()
    );
  }

  /** Drains everything produced since the last call; see {@link Ready} for the driver's duties. */
  ready(): Ready<C, S> {
    const hardState = this.hardStateChanged() ? { term: this.term, vote: this.vote, commit: this.commit } : null;
    if (hardState !== null) this.savedHardState = hardState;
    const from = Math.max(this.unstableFrom, this.log.snapshotIndex + 1);
    const entries = this.unstableFrom === Number.POSITIVE_INFINITY ? [] : this.log.slice(from, this.log.lastIndex);
    const restore = this.snapshotToRestore;
    if (restore !== null) this.applied = Math.max(this.applied, restore.index);
    const committed = this.commit > this.applied ? this.log.slice(this.applied + 1, this.commit) : [];
    this.applied = this.commit;
    const r: Ready<C, S> = {
      hardState,
      entries,
      snapshot: this.snapshotToPersist,
      restore,
      compactedTo: this.compactedTo,
      messages: this.messages,
      committed,
      readStates: this.readStates,
      failedReads: this.failedReads,
    };
    this.unstableFrom = Number.POSITIVE_INFINITY;
    this.snapshotToPersist = null;
    this.snapshotToRestore = null;
    this.compactedTo = 0;
    this.messages = [];
    this.readStates = [];
    this.failedReads = [];
    return r;
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commit: this.commit,
      applied: this.applied,
      lastIndex: this.log.lastIndex,
      config: this.config,
    };
  }

  /** Term of the entry at `index` (undefined when compacted or absent); for checks and tests. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The entry at `index` if still in the log; for checks and tests. */
  entryAt(index: number): Entry<C> | undefined {
    return this.log.entry(index);
  }

  /** The first index still held as an entry (after the snapshot). */
  get firstIndex(): number {
    return this.log.snapshotIndex + 1;
  }

  // ------------------------------------------------------------- elections

  private promotable(): boolean {
    return this.config.voters.includes(this.id);
  }

  private resetRandomizedTimeout(): void {
    this.randomizedTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = none;
    }
    this.leader = none;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedTimeout();
    this.votes = new Map();
    this.transferee = none;
    this.failPendingReads();
  }

  private becomeFollower(term: number, leader: PeerId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
    this.progress = new Map();
  }

  private followLeader(from: PeerId): void {
    if (this.role !== 'follower') this.becomeFollower(this.term, from);
    this.leader = from;
    this.electionElapsed = 0;
  }

  private campaign(kind: 'pre' | 'election' | 'transfer'): void {
    if (kind === 'pre') {
      this.reset(this.term);
      this.role = 'preCandidate';
      this.votes.set(this.id, true);
      if (this.won()) return this.campaign('election');
      this.requestVotes(this.term + 1, true, false);
      return;
    }
    this.reset(this.term + 1);
    this.role = 'candidate';
    this.vote = this.id;
    this.votes.set(this.id, true);
    if (this.won()) return this.becomeLeader();
    this.requestVotes(this.term, false, kind === 'transfer');
  }

  private requestVotes(term: number, pre: boolean, transfer: boolean): void {
    for (const to of this.config.voters) {
      if (to === this.id) continue;
      this.send({ type: 'vote', from: this.id, to, term, pre, lastIndex: this.log.lastIndex, lastTerm: this.log.lastTerm, transfer });
    }
  }

  private won(): boolean {
    let granted = 0;
    for (const v of this.config.voters) if (this.votes.get(v) === true) granted++;
    return granted >= quorum(this.config.voters.length);
  }

  private lost(): boolean {
    let rejected = 0;
    for (const v of this.config.voters) if (this.votes.get(v) === false) rejected++;
    return rejected >= quorum(this.config.voters.length);
  }

  private handleVote(m: Extract<Message<C, S>, { type: 'vote' }>): void {
    const canVote = this.vote === m.from || (this.vote === none && this.leader === none) || (m.pre && m.term > this.term);
    const upToDate = m.lastTerm > this.log.lastTerm || (m.lastTerm === this.log.lastTerm && m.lastIndex >= this.log.lastIndex);
    if (canVote && upToDate) {
      this.send({ type: 'voteResp', from: this.id, to: m.from, term: m.term, pre: m.pre, granted: true });
      if (!m.pre) {
        this.vote = m.from;
        this.electionElapsed = 0;
      }
    } else {
      this.send({ type: 'voteResp', from: this.id, to: m.from, term: this.term, pre: m.pre, granted: false });
    }
  }

  private handleVoteResp(m: Extract<Message<C, S>, { type: 'voteResp' }>): void {
    if (m.pre ? this.role !== 'preCandidate' || (m.granted && m.term !== this.term + 1) : this.role !== 'candidate') return;
    if (!this.votes.has(m.from)) this.votes.set(m.from, m.granted);
    if (this.won()) {
      if (m.pre) this.campaign('election');
      else this.becomeLeader();
    } else if (this.lost()) {
      this.becomeFollower(this.term, none);
    }
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    this.progress = new Map();
    for (const p of this.members()) if (p !== this.id) this.progress.set(p, this.newProgress());
    this.appendLocal({ kind: 'noop', term: this.term, index: this.log.lastIndex + 1 });
  }

  private members(): PeerId[] {
    return [...this.config.voters, ...this.config.learners];
  }

  private newProgress(): Progress {
    return {
      match: 0,
      next: this.log.lastIndex + 1,
      state: 'probe',
      paused: false,
      recentActive: false,
      ackRound: 0,
      beatsWithoutProgress: 0,
      snapshotIndex: 0,
      snapshotElapsed: 0,
    };
  }

  // --------------------------------------------------------------- leading

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.transferee !== none) {
      this.transferElapsed++;
      if (this.transferElapsed >= this.electionTicks) this.transferee = none;
    }
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, none);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeat();
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const v of this.config.voters) if (v === this.id || this.progress.get(v)?.recentActive === true) active++;
    return active >= quorum(this.config.voters.length);
  }

  private heartbeat(): void {
    this.round++;
    for (const [to, pr] of this.progress) {
      switch (pr.state) {
        case 'probe':
          pr.paused = false;
          this.sendAppend(to, pr);
          break;
        case 'replicate':
          if (pr.match < pr.next - 1 && ++pr.beatsWithoutProgress >= 3) {
            // Nothing acknowledged for three beats while entries are out: assume loss and probe again.
            pr.beatsWithoutProgress = 0;
            pr.state = 'probe';
            pr.next = pr.match + 1;
            pr.paused = false;
            this.sendAppend(to, pr);
          } else {
            this.sendEmptyAppend(to, pr.match);
          }
          break;
        case 'snapshot':
          pr.snapshotElapsed += this.heartbeatTicks;
          if (pr.snapshotElapsed >= this.electionTicks) {
            pr.state = 'probe';
            pr.paused = false;
            this.sendAppend(to, pr);
          } else {
            this.sendEmptyAppend(to, 0);
          }
          break;
      }
    }
  }

  private sendEmptyAppend(to: PeerId, prevIndex: number): void {
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) prevIndex = 0;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm: prevTerm ?? 0, entries: [], commit: this.commit, round: this.round });
  }

  private sendAppend(to: PeerId, pr: Progress): void {
    if (pr.state === 'snapshot' || (pr.state === 'probe' && pr.paused)) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      const snapshot = this.log.snapshot;
      if (snapshot === null) throw new Error(`no term for ${prevIndex} and no snapshot`);
      pr.state = 'snapshot';
      pr.snapshotIndex = snapshot.index;
      pr.snapshotElapsed = 0;
      this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot, round: this.round });
      return;
    }
    const room = pr.state === 'replicate' ? Math.min(this.maxEntries, this.maxInflight - (pr.next - 1 - pr.match)) : this.maxEntries;
    const entries = room > 0 ? this.log.slice(pr.next, this.log.lastIndex, room) : [];
    if (pr.state === 'replicate' && entries.length === 0 && room <= 0) return;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.commit, round: this.round });
    if (pr.state === 'replicate') pr.next += entries.length;
    else pr.paused = true;
  }

  private broadcastAppend(): void {
    for (const [to, pr] of this.progress) if (pr.state === 'replicate' || !pr.paused) this.sendAppend(to, pr);
  }

  private appendLocal(entry: Entry<C>): void {
    this.log.push(entry);
    this.unstableFrom = Math.min(this.unstableFrom, entry.index);
    if (entry.kind === 'config') this.setConfig(entry.config, entry.index);
    this.maybeCommit();
    this.broadcastAppend();
  }

  private handleAppendResp(m: Extract<Message<C, S>, { type: 'appendResp' }>): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.round > pr.ackRound) {
      pr.ackRound = m.round;
      this.releaseReads();
    }
    if (m.success) {
      if (m.index > pr.match) {
        pr.match = m.index;
        pr.beatsWithoutProgress = 0;
        if (pr.next <= pr.match) pr.next = pr.match + 1;
        if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.match >= pr.snapshotIndex)) {
          pr.state = 'replicate';
          pr.next = pr.match + 1;
        }
        this.maybeCommit();
        if (this.role !== 'leader') return;
        if (m.from === this.transferee && pr.match === this.log.lastIndex) {
          this.send({ type: 'timeoutNow', from: this.id, to: m.from, term: this.term });
        }
      } else if (pr.state === 'probe') {
        pr.paused = false;
      }
      if (pr.next <= this.log.lastIndex) this.sendAppend(m.from, pr);
      return;
    }
    if (m.index < pr.match || pr.state === 'snapshot') return; // stale
    pr.next = Math.max(pr.match + 1, Math.min(m.hint, m.index));
    pr.state = 'probe';
    pr.paused = false;
    this.sendAppend(m.from, pr);
  }

  private maybeCommit(): void {
    const voters = this.config.voters;
    if (voters.length === 0) return;
    // A leader that is no longer a voter (being removed) commits with the others only.
    const self = this.asyncStorage ? Math.min(this.stable, this.log.lastIndex) : this.log.lastIndex;
    const matches = voters.map((v) => (v === this.id ? self : (this.progress.get(v)?.match ?? 0))).sort((a, b) => b - a);
    const candidate = matches[quorum(voters.length) - 1] ?? 0;
    if (candidate > this.commit && this.log.term(candidate) === this.term) {
      this.commitTo(candidate);
      if (this.role === 'leader') {
        this.serveReadsAwaitingCommit();
        if (this.configIndex <= this.commit && !this.config.voters.includes(this.id)) {
          this.becomeFollower(this.term, none);
          return;
        }
      }
    }
  }

  private commitTo(index: number): void {
    if (index > this.commit) this.commit = Math.min(index, this.log.lastIndex);
  }

  private setConfig(config: ClusterConfig, index: number): void {
    this.config = config;
    this.configIndex = index;
    if (this.role !== 'leader') return;
    const members = new Set(this.members());
    for (const p of this.progress.keys()) if (!members.has(p)) this.progress.delete(p);
    for (const p of members) if (p !== this.id && !this.progress.has(p)) this.progress.set(p, this.newProgress());
    if (this.transferee !== none && !this.config.voters.includes(this.transferee)) this.transferee = none;
  }

  // ------------------------------------------------------------- following

  private handleAppend(m: Extract<Message<C, S>, { type: 'append' }>): void {
    let prevIndex = m.prevIndex;
    let entries = m.entries;
    if (prevIndex < this.commit) {
      // Committed entries match every later leader's: skip what we already hold as committed.
      const skip = this.commit - prevIndex;
      entries = skip >= entries.length ? [] : entries.slice(skip);
      prevIndex = this.commit;
    } else if (this.log.term(prevIndex) !== m.prevTerm) {
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, success: false, index: m.prevIndex, hint: this.rejectHint(prevIndex), round: m.round });
      return;
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const have = this.log.term(e.index);
      if (have === e.term) continue;
      if (have !== undefined) {
        if (e.index <= this.commit) throw new Error(`raft: conflict at committed index ${e.index}`);
        this.log.truncateFrom(e.index);
        this.stable = Math.min(this.stable, e.index - 1);
        if (this.configIndex >= e.index) {
          const found = this.log.configAt(this.log.lastIndex);
          this.config = found?.config ?? this.config;
          this.configIndex = found?.index ?? 0;
        }
      }
      for (let j = i; j < entries.length; j++) {
        const n = entries[j]!;
        this.log.push(n);
        if (n.kind === 'config') {
          this.config = n.config;
          this.configIndex = n.index;
        }
      }
      this.unstableFrom = Math.min(this.unstableFrom, e.index);
      break;
    }
    const lastNew = prevIndex + entries.length;
    this.commitTo(Math.min(m.commit, lastNew));
    this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, success: true, index: lastNew, hint: 0, round: m.round });
  }

  private rejectHint(prevIndex: number): number {
    const last = this.log.lastIndex;
    if (last < prevIndex) return last + 1;
    const conflictTerm = this.log.term(prevIndex);
    let i = prevIndex;
    const floor = Math.max(this.commit, this.log.snapshotIndex) + 1;
    while (i > floor && this.log.term(i - 1) === conflictTerm) i--;
    return Math.max(i, floor);
  }

  private handleSnapshot(m: Extract<Message<C, S>, { type: 'snapshot' }>): void {
    const s = m.snapshot;
    if (s.index > this.commit) {
      // Of what this peer has on disk, only its committed prefix surely agrees with the snapshot.
      this.stable = Math.min(this.stable, this.commit);
      this.log.installSnapshot(s);
      this.commit = s.index;
      this.applied = Math.min(this.applied, s.index);
      this.snapshotToPersist = s;
      this.snapshotToRestore = s;
      this.unstableFrom = this.log.lastIndex > s.index ? s.index + 1 : Number.POSITIVE_INFINITY;
      const found = this.log.configAt(this.log.lastIndex);
      if (found !== null) {
        this.config = found.config;
        this.configIndex = found.index;
      }
    }
    this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, success: true, index: this.commit, hint: 0, round: m.round });
  }

  // ----------------------------------------------------------------- reads

  private leaderRead(ctx: string, from: PeerId): void {
    if (this.log.term(this.commit) !== this.term) {
      this.readsAwaitingCommit.push({ ctx, from });
      return;
    }
    if (this.config.voters.length === 1 && this.config.voters[0] === this.id) {
      this.answerRead(ctx, from, this.commit);
      return;
    }
    this.round++;
    this.reads.push({ ctx, from, index: this.commit, round: this.round });
    for (const [to, pr] of this.progress) this.sendEmptyAppend(to, pr.match);
  }

  private serveReadsAwaitingCommit(): void {
    if (this.readsAwaitingCommit.length === 0 || this.log.term(this.commit) !== this.term) return;
    const waiting = this.readsAwaitingCommit;
    this.readsAwaitingCommit = [];
    for (const r of waiting) this.leaderRead(r.ctx, r.from);
  }

  private releaseReads(): void {
    if (this.reads.length === 0) return;
    const rounds = this.config.voters.map((v) => (v === this.id ? this.round : (this.progress.get(v)?.ackRound ?? 0))).sort((a, b) => b - a);
    const confirmed = rounds[quorum(this.config.voters.length) - 1] ?? 0;
    let n = 0;
    while (n < this.reads.length && this.reads[n]!.round <= confirmed) {
      const r = this.reads[n]!;
      this.answerRead(r.ctx, r.from, r.index);
      n++;
    }
    if (n > 0) this.reads.splice(0, n);
  }

  private answerRead(ctx: string, from: PeerId, index: number): void {
    if (from === this.id) this.readStates.push({ ctx, index });
    else this.send({ type: 'readIndexResp', from: this.id, to: from, term: this.term, ctx, index, ok: true });
  }

  private failPendingReads(): void {
    const all = [...this.reads, ...this.readsAwaitingCommit];
    this.reads = [];
    this.readsAwaitingCommit = [];
    for (const r of all) {
      if (r.from === this.id) this.failedReads.push(r.ctx);
      else this.send({ type: 'readIndexResp', from: this.id, to: r.from, term: this.term, ctx: r.ctx, index: 0, ok: false });
    }
  }

  // ------------------------------------------------------------------ misc

  private send(m: Message<C, S>): void {
    this.messages.push(m);
  }

  private hardStateChanged(): boolean {
    const p = this.savedHardState;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.commit;
  }
}
