// Runs the Raft core through thousands of seeded simulations (faults, crashes, a lost store,
// snapshots, transfers) with the safety checks after every event. RAFT_SEEDS=N runs more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimulation, SafetyViolation, type SimulationStats } from './simulator.js';

const seeds = Number(process.env['RAFT_SEEDS'] ?? '2000');

test(`raft simulator: ${seeds} seeds keep every safety property and converge`, () => {
  const failures: string[] = [];
  const totals = { elections: 0, acknowledgedWrites: 0, duplicateRetries: 0, reads: 0, snapshotsSent: 0, crashes: 0, storeLost: 0, transfers: 0, partitions: 0, asyncWrites: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    let s: SimulationStats;
    try {
      s = runSimulation({ seed });
    } catch (e) {
      if (!(e instanceof SafetyViolation)) throw e;
      failures.push(e.message);
      continue;
    }
    totals.elections += s.elections;
    totals.acknowledgedWrites += s.acknowledgedWrites;
    totals.duplicateRetries += s.duplicateRetries;
    totals.reads += s.reads;
    totals.snapshotsSent += s.snapshotsSent;
    totals.crashes += s.crashes;
    totals.storeLost += s.storeLost ? 1 : 0;
    totals.transfers += s.transfers;
    totals.partitions += s.partitions;
    totals.asyncWrites += s.asyncWrites;
  }
  if (failures.length > 0) console.log(failures.join('\n'));
  assert.deepEqual(failures, []);
  // The runs exercised what they claim to.
  for (const [k, v] of Object.entries(totals)) assert.ok(v > 0, `no ${k} across ${seeds} seeds`);
});

test('raft simulator: a seed replays identically', () => {
  const a = runSimulation({ seed: 4242 });
  const b = runSimulation({ seed: 4242 });
  assert.deepEqual(a, b);
});

test('raft simulator: a violation names its seed and how to replay it', () => {
  const v = new SafetyViolation(77, 120, 'two leaders in term 3');
  assert.match(v.message, /seed 77 at 120ms: two leaders in term 3/);
  assert.match(v.message, /simulate\.js --seed 77/);
});
