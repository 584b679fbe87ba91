// Scripted scenarios for the Raft core, each driving cores by hand: elections, pre-vote,
// check-quorum, the current-term commit rule, conflicts, snapshots, transfer, membership, reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from './config.js';
import { RaftCore, type RaftOptions } from './raft.js';
import type { ClusterConfig, Entry, Message, PersistedState } from './types.js';

type Msg = Message<string, string>;

/** A hand-driven cluster: messages queue until delivered; cut links drop them. */
class Cluster {
  readonly cores = new Map<string, RaftCore<string, string>>();
  readonly applied = new Map<string, string[]>();
  readonly reads = new Map<string, { ctx: string; index: number }[]>();
  readonly failed = new Map<string, string[]>();
  queue: Msg[] = [];
  readonly down = new Set<string>();
  readonly cuts = new Set<string>();

  constructor(
    ids: string[],
    readonly options: Partial<RaftOptions> = {},
    config: ClusterConfig = { voters: ids, learners: [] },
  ) {
    for (const id of ids) this.add(id, config);
  }

  add(id: string, config: ClusterConfig | null, persisted: PersistedState<string, string> | null = null): RaftCore<string, string> {
    // Timeouts of 1.5 election periods: elect() can age the others' leases without them campaigning.
    const core = new RaftCore<string, string>({ id, random: () => 0.5, voterPolicy: { min: 1, max: 11 }, ...this.options }, persisted, config);
    this.cores.set(id, core);
    this.applied.set(id, []);
    this.reads.set(id, []);
    this.failed.set(id, []);
    return core;
  }

  core(id: string): RaftCore<string, string> {
    return this.cores.get(id)!;
  }

  collect(id: string): void {
    const core = this.core(id);
    while (core.hasReady()) {
      const r = core.ready();
      this.queue.push(...r.messages);
      for (const e of r.committed) if (e.kind === 'command') this.applied.get(id)!.push(e.command);
      this.reads.get(id)!.push(...r.readStates);
      this.failed.get(id)!.push(...r.failedReads);
    }
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.collect(id);
    }
  }

  cut(a: string, b: string): void {
    this.cuts.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  isolate(id: string): void {
    for (const other of this.cores.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  deliver(filter: (m: Msg) => boolean = () => true, rounds = 100): void {
    for (let r = 0; r < rounds && this.queue.length > 0; r++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.down.has(m.to) || this.down.has(m.from) || this.cuts.has(`${m.from}|${m.to}`) || !filter(m)) continue;
        const to = this.cores.get(m.to);
        if (to === undefined) continue;
        to.step(m);
        this.collect(m.to);
      }
    }
  }

  /** Lets the others' leader leases lapse, times `id` out and runs the election to the end. */
  elect(id: string): void {
    const ticks = (this.options.electionTicks ?? 10) * 2;
    for (const other of this.cores.keys()) if (other !== id && !this.down.has(other)) this.tick(other, this.options.electionTicks ?? 10);
    for (let i = 0; i < ticks && this.core(id).status().role !== 'leader'; i++) {
      this.tick(id);
      this.deliver();
    }
  }

  /** Heartbeats from the leader until quiet. */
  beat(leader: string, times = 3): void {
    for (let i = 0; i < times; i++) {
      this.tick(leader);
      this.deliver();
    }
  }

  propose(id: string, command: string): number {
    const r = this.core(id).propose(command);
    assert.ok(r.ok, `propose on ${id}`);
    this.collect(id);
    this.deliver();
    return r.index;
  }
}

test('bootstrap is checked against the voter policy (3..11 by default)', () => {
  assert.throws(() => new RaftCore({ id: 'a' }, null, { voters: ['a'], learners: [] }), ConfigError);
  assert.throws(() => new RaftCore({ id: 'a' }, null, { voters: ['a', 'a', 'b'], learners: [] }), ConfigError);
  const twelve = Array.from({ length: 12 }, (_, i) => `p${i}`);
  assert.throws(() => new RaftCore({ id: 'p0' }, null, { voters: twelve, learners: [] }), /outside the policy 3\.\.11/);
  assert.throws(() => new RaftCore({ id: 'a', electionTicks: 1, heartbeatTicks: 1 }, null, null), RangeError);
  assert.doesNotThrow(() => new RaftCore({ id: 'a' }, null, { voters: ['a', 'b', 'c'], learners: [] }));
});

test('election: a timed-out follower wins with pre-vote, commits a no-op, and replicates', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  const s = c.core('a').status();
  assert.equal(s.role, 'leader');
  assert.equal(s.term, 1);
  assert.equal(s.commit, 1); // the no-op
  const i = c.propose('a', 'x');
  c.beat('a');
  for (const id of ['a', 'b', 'c']) {
    assert.equal(c.core(id).status().commit, i);
    assert.deepEqual(c.applied.get(id), ['x']);
    assert.equal(c.core(id).status().leader, 'a');
  }
  // Followers refuse proposals and name the leader.
  assert.deepEqual(c.core('b').propose('y'), { ok: false, reason: 'notLeader', leader: 'a' });
});

test('pre-vote: a partitioned node does not inflate its term, and rejoining does not disrupt', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.isolate('c');
  c.tick('c', 60);
  c.deliver();
  assert.equal(c.core('c').status().term, 1, 'pre-votes never reached a quorum, so no new term');
  c.heal();
  c.tick('c', 25);
  c.deliver();
  c.beat('a');
  assert.equal(c.core('a').status().role, 'leader');
  assert.equal(c.core('a').status().term, 1);
});

test('check-quorum: an isolated leader steps down; followers in lease ignore vote requests', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.isolate('a');
  c.tick('a', 25);
  assert.equal(c.core('a').status().role, 'follower');
  c.queue = [];
  // b hears from nobody, campaigns; c (lease lapsed too) grants.
  c.elect('b');
  assert.equal(c.core('b').status().role, 'leader');
  assert.equal(c.core('b').status().term, 2);
  // A vote request at a higher term to a follower in lease is ignored.
  c.beat('b');
  c.core('c').step({ type: 'vote', from: 'a', to: 'c', term: 9, pre: false, lastIndex: 100, lastTerm: 9, transfer: false });
  c.collect('c');
  assert.equal(c.core('c').status().term, 2);
  assert.equal(c.queue.filter((m) => m.from === 'c' && m.type === 'voteResp').length, 0);
});

test('commit rule: entries of an earlier term are not committed by counting replicas', () => {
  // a's log: [1@t1, 2@t2]; it wins term 3 and appends its no-op at 3.
  const entries: Entry<string>[] = [
    { kind: 'command', index: 1, term: 1, command: 'one' },
    { kind: 'command', index: 2, term: 2, command: 'two' },
  ];
  const persisted = { hardState: { term: 2, vote: null, commit: 0 }, snapshot: null, entries };
  const a = new RaftCore<string, string>({ id: 'a', random: () => 0, preVote: false }, persisted, { voters: ['a', 'b', 'c', 'd', 'e'], learners: [] });
  for (let i = 0; i < 10; i++) a.tick();
  a.ready();
  for (const v of ['b', 'c']) a.step({ type: 'voteResp', from: v, to: 'a', term: 3, pre: false, granted: true });
  assert.equal(a.status().role, 'leader');
  assert.equal(a.status().lastIndex, 3);
  // b and c acknowledge index 2 (the old-term entry): a majority holds it, yet it must not commit.
  for (const v of ['b', 'c']) a.step({ type: 'appendResp', from: v, to: 'a', term: 3, success: true, index: 2, hint: 0, round: 0 });
  assert.equal(a.status().commit, 0);
  // Once the current term's no-op is on a majority, everything before it commits too.
  for (const v of ['b', 'c']) a.step({ type: 'appendResp', from: v, to: 'a', term: 3, success: true, index: 3, hint: 0, round: 0 });
  assert.equal(a.status().commit, 3);
});

test('log conflicts: a follower drops its divergent suffix and takes the leader\'s', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.propose('a', 'x');
  c.beat('a');
  // a, cut off, appends entries nobody else gets.
  c.isolate('a');
  c.core('a').propose('lost1');
  c.core('a').propose('lost2');
  c.collect('a');
  c.deliver();
  c.queue = [];
  c.elect('b');
  c.propose('b', 'y');
  c.heal();
  c.beat('b', 5);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(c.applied.get(id), ['x', 'y']);
  assert.equal(c.core('a').status().lastIndex, c.core('b').status().lastIndex);
});

test('snapshots: a lagging follower is brought up by InstallSnapshot', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.down.add('c');
  for (let i = 0; i < 10; i++) c.propose('a', `v${i}`);
  c.beat('a');
  const applied = c.core('a').status().applied;
  c.core('a').compact(applied, 'image-at-' + applied);
  assert.throws(() => c.core('a').compact(applied + 5, 'too far'), RangeError);
  c.collect('a');
  assert.ok(c.core('a').firstIndex > 5);
  c.down.delete('c');
  let restored: string | null = null;
  const orig = c.collect.bind(c);
  c.collect = (id: string) => {
    const core = c.core(id);
    while (core.hasReady()) {
      const r = core.ready();
      if (id === 'c' && r.restore !== null) restored = r.restore.data;
      c.queue.push(...r.messages);
      for (const e of r.committed) if (e.kind === 'command') c.applied.get(id)!.push(e.command);
    }
  };
  c.beat('a', 5);
  c.collect = orig;
  assert.equal(restored, 'image-at-' + applied);
  assert.equal(c.core('c').status().commit, c.core('a').status().commit);
});

test('leadership transfer: the target catches up and wins at once; proposals pause meanwhile', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.propose('a', 'x');
  assert.equal(c.core('a').transferLeadership('a'), false);
  assert.equal(c.core('a').transferLeadership('zz'), false);
  assert.equal(c.core('b').transferLeadership('c'), false);
  assert.ok(c.core('a').transferLeadership('c'));
  assert.deepEqual(c.core('a').propose('y'), { ok: false, reason: 'transferring', leader: 'a' });
  c.collect('a');
  c.deliver();
  assert.equal(c.core('c').status().role, 'leader');
  assert.equal(c.core('a').status().role, 'follower');
});

test('membership: learners replicate without voting; changes go one at a time through the log; policy holds', () => {
  const c = new Cluster(['a', 'b', 'c'], { voterPolicy: { min: 3, max: 4 } });
  c.elect('a');
  c.add('d', null);
  c.core('a').proposeChange({ type: 'addLearner', peer: 'd' });
  assert.throws(() => c.core('a').proposeChange({ type: 'addVoter', peer: 'd' }), /still uncommitted/);
  c.collect('a');
  c.deliver();
  c.beat('a', 4);
  assert.deepEqual(c.core('d').status().config, { voters: ['a', 'b', 'c'], learners: ['d'] });
  c.propose('a', 'x');
  c.beat('a');
  assert.deepEqual(c.applied.get('d'), ['x']);
  // A learner never campaigns.
  c.tick('d', 50);
  assert.equal(c.core('d').status().role, 'follower');
  c.queue = c.queue.filter((m) => m.from !== 'd');
  assert.throws(() => c.core('a').proposeChange({ type: 'remove', peer: 'zz' }), ConfigError);
  c.core('a').proposeChange({ type: 'addVoter', peer: 'd' });
  c.collect('a');
  c.deliver();
  c.beat('a', 3);
  assert.deepEqual(c.core('a').status().config.voters, ['a', 'b', 'c', 'd']);
  assert.throws(() => c.core('a').proposeChange({ type: 'addVoter', peer: 'e' }), /outside the policy 3\.\.4/);
  assert.deepEqual(c.core('b').proposeChange({ type: 'remove', peer: 'd' }), { ok: false, reason: 'notLeader', leader: 'a' });
});

test('membership: a removed leader steps down once its removal commits', () => {
  const c = new Cluster(['a', 'b', 'c', 'd']);
  c.elect('a');
  c.core('a').proposeChange({ type: 'remove', peer: 'a' });
  c.collect('a');
  c.deliver();
  c.beat('a', 2);
  assert.equal(c.core('a').status().role, 'follower');
  assert.deepEqual(c.core('b').status().config.voters, ['b', 'c', 'd']);
});

test('ReadIndex: the leader answers after a quorum heartbeat; followers forward; no leader fails the read', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.core('b').read('early');
  c.collect('b');
  assert.deepEqual(c.failed.get('b'), ['early']);
  c.elect('a');
  const i = c.propose('a', 'x');
  c.core('a').read('r1');
  c.collect('a');
  assert.deepEqual(c.reads.get('a'), [], 'not before the quorum confirms leadership');
  c.deliver();
  assert.deepEqual(c.reads.get('a'), [{ ctx: 'r1', index: i }]);
  c.core('c').read('r2');
  c.collect('c');
  c.deliver();
  assert.deepEqual(c.reads.get('c'), [{ ctx: 'r2', index: i }]);
  // An isolated leader cannot confirm: the read waits, then fails when it steps down.
  c.isolate('a');
  c.core('a').read('r3');
  c.collect('a');
  c.deliver();
  assert.equal(c.reads.get('a')!.length, 1);
  c.tick('a', 25);
  assert.deepEqual(c.failed.get('a'), ['r3']);
});

test('bad input: messages for someone else, from oneself, or from stale terms change nothing', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  const before = c.core('b').status();
  c.core('b').step({ type: 'vote', from: 'c', to: 'zz', term: 50, pre: false, lastIndex: 9, lastTerm: 9, transfer: false });
  c.core('b').step({ type: 'append', from: 'b', to: 'b', term: 50, prevIndex: 0, prevTerm: 0, entries: [], commit: 0, round: 0 });
  c.core('b').step({ type: 'append', from: 'c', to: 'b', term: 0, prevIndex: 0, prevTerm: 0, entries: [], commit: 99, round: 0 });
  assert.deepEqual(c.core('b').status(), before);
});

test('asyncStorage: the leader counts itself toward a commit only once its own write is reported persisted', () => {
  const voters = { voters: ['a', 'b', 'c'], learners: [] };
  const a = new RaftCore<string, string>({ id: 'a', random: () => 0, preVote: false, asyncStorage: true }, null, voters);
  for (let i = 0; i < 10; i++) a.tick();
  a.ready();
  a.step({ type: 'voteResp', from: 'b', to: 'a', term: 1, pre: false, granted: true });
  assert.equal(a.status().role, 'leader');
  const noop = a.ready();
  assert.deepEqual(noop.entries.map((e) => e.index), [1]);
  // One follower has the no-op; the leader's own write has not completed: one of three on disk.
  a.step({ type: 'appendResp', from: 'b', to: 'a', term: 1, success: true, index: 1, hint: 0, round: 0 });
  assert.equal(a.status().commit, 0);
  // The write completes: two of three.
  a.persisted(1, 1);
  assert.equal(a.status().commit, 1);
  a.ready();
  // A majority of followers commits without the leader's write (Raft thesis 10.2.1).
  const p = a.propose('x');
  assert.ok(p.ok);
  a.ready();
  a.step({ type: 'appendResp', from: 'b', to: 'a', term: 1, success: true, index: 2, hint: 0, round: 0 });
  assert.equal(a.status().commit, 1);
  a.step({ type: 'appendResp', from: 'c', to: 'a', term: 1, success: true, index: 2, hint: 0, round: 0 });
  assert.equal(a.status().commit, 2);
  // Reports of writes the core no longer holds, or that are not ahead, change nothing.
  a.persisted(2, 7);
  a.persisted(99, 1);
  a.persisted(0, 0);
  assert.equal(a.status().commit, 2);
});

test('asyncStorage: a lone voter commits once its write is reported; without asyncStorage at once', () => {
  const one = { voters: ['a'], learners: [] };
  const policy = { min: 1, max: 11 };
  const slow = new RaftCore<string, string>({ id: 'a', random: () => 0, asyncStorage: true, voterPolicy: policy }, null, one);
  for (let i = 0; i < 10 && slow.status().role !== 'leader'; i++) slow.tick();
  assert.equal(slow.status().role, 'leader');
  assert.equal(slow.status().commit, 0);
  const r = slow.ready();
  assert.deepEqual(r.committed, []);
  slow.persisted(1, 1);
  assert.equal(slow.status().commit, 1);
  const fast = new RaftCore<string, string>({ id: 'a', random: () => 0, voterPolicy: policy }, null, one);
  for (let i = 0; i < 10 && fast.status().role !== 'leader'; i++) fast.tick();
  assert.equal(fast.status().commit, 1);
  fast.persisted(1, 1); // ignored without asyncStorage
  assert.equal(fast.status().commit, 1);
});

test('asyncStorage: entries truncated by a new leader are no longer counted as on disk', () => {
  const voters = { voters: ['a', 'b', 'c'], learners: [] };
  const entries: Entry<string>[] = [{ kind: 'command', index: 1, term: 1, command: 'old' }];
  const persisted = { hardState: { term: 1, vote: null, commit: 0 }, snapshot: null, entries };
  const a = new RaftCore<string, string>({ id: 'a', random: () => 0, preVote: false, asyncStorage: true }, persisted, voters);
  // b leads term 2 and overwrites index 1.
  a.step({ type: 'append', from: 'b', to: 'a', term: 2, prevIndex: 0, prevTerm: 0, entries: [{ kind: 'command', index: 1, term: 2, command: 'new' }], commit: 0, round: 1 });
  a.ready();
  // a wins term 3 before the overwrite's write is reported: its log (1@2, noop 2@3) counts as not on disk.
  for (let i = 0; i < 30 && a.status().role === 'follower'; i++) a.tick();
  a.ready();
  a.step({ type: 'voteResp', from: 'c', to: 'a', term: 3, pre: false, granted: true });
  assert.equal(a.status().role, 'leader');
  a.ready();
  a.step({ type: 'appendResp', from: 'c', to: 'a', term: 3, success: true, index: 2, hint: 0, round: 0 });
  assert.equal(a.status().commit, 0, 'only c has the no-op on disk');
  a.persisted(1, 1); // the old entry's write: overwritten since, ignored
  assert.equal(a.status().commit, 0);
  a.persisted(2, 3);
  assert.equal(a.status().commit, 2);
});

test('leaderUnreachable: a follower told its leader is gone campaigns after the given ticks, and the other grants', () => {
  const c = new Cluster(['a', 'b', 'c']);
  c.elect('a');
  c.beat('a');
  c.down.add('a');
  // Reports about someone else, or to the leader itself, change nothing.
  c.core('b').leaderUnreachable('c', 1);
  c.core('a').leaderUnreachable('a', 1);
  assert.equal(c.core('b').status().leader, 'a');
  c.core('b').leaderUnreachable('a', 1);
  c.core('c').leaderUnreachable('a', 3);
  assert.equal(c.core('b').status().leader, null);
  c.tick('b');
  c.tick('c');
  c.deliver();
  assert.equal(c.core('b').status().role, 'leader', 'b campaigned after one tick; c, out of its lease, voted for it');
  assert.equal(c.core('b').status().term, 2);
  c.beat('b');
  assert.equal(c.core('c').status().leader, 'b');
  // An unfounded report: the leader's next heartbeat restores it, no election.
  c.core('c').leaderUnreachable('b', 1);
  c.beat('b', 1);
  assert.equal(c.core('c').status().leader, 'b');
  c.tick('c', 2);
  c.deliver();
  assert.equal(c.core('b').status().term, 2);
  assert.equal(c.core('b').status().role, 'leader');
});
