// Atomic commit under faults: three Beamline nodes as separate OS processes
// (origin o, middle m, leaf l with two sagas), each saga with a file
// journal. For each point of the two-phase commit one process SIGKILLs
// itself there; it is restarted with the same name and journal; then every
// participant must end with the same outcome (all committed or all
// cancelled) and no journal may keep a transaction open.
import { describe, it, before, after } from 'node:test';
import { freePort } from '../../test/support.js';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { startNode } from '../distribution/node-dist.js';
import type { FaultKill, FaultNodeConfig, FaultTree } from '../../test/saga-fault-node.js';
import { replayJournalBytes } from './file-journal.js';
import { LiveRecords } from './journal.js';
import { refKey } from './protocol.js';

const SCRIPT = fileURLToPath(new URL('../../test/saga-fault-node.js', import.meta.url));
type Role = 'o' | 'm' | 'l';
const PARTICIPANTS = ['bank@o', 'bank@m', 'bank@l', 'audit@l'] as const;

interface KillPoint {
  readonly role: Role;
  readonly kill: FaultKill;
  /** The outcome the protocol must reach; undefined where either is correct (a race between the kill and a message). */
  readonly expect?: 'commit' | 'cancel';
}

const POINTS: KillPoint[] = [
  { role: 'o', kill: { saga: 'bank', point: 'prepare' }, expect: 'cancel' },
  { role: 'o', kill: { saga: 'bank', point: 'vote_received' }, expect: 'cancel' },
  { role: 'o', kill: { saga: 'bank', point: 'decision_recorded' }, expect: 'commit' },
  { role: 'o', kill: { saga: 'bank', point: 'ack_received' }, expect: 'commit' },
  { role: 'm', kill: { saga: 'bank', point: 'prepare' }, expect: 'cancel' },
  { role: 'm', kill: { saga: 'bank', point: 'prepared' }, expect: 'cancel' },
  { role: 'm', kill: { saga: 'bank', point: 'voted' } },
  { role: 'm', kill: { saga: 'bank', point: 'ack' }, expect: 'commit' },
  { role: 'l', kill: { saga: 'bank', point: 'new' }, expect: 'cancel' },
  { role: 'l', kill: { saga: 'bank', point: 'prepared' }, expect: 'cancel' },
  { role: 'l', kill: { saga: 'audit', point: 'voted' } },
  { role: 'l', kill: { saga: 'bank', point: 'ack' }, expect: 'commit' },
];

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 50 ms until it returns true; fails after `deadlineMs` with `what()`. */
async function poll(check: () => boolean, deadlineMs: number, what: () => string): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > deadlineMs) throw new Error(`not reached within ${deadlineMs} ms: ${what()}`);
    await wait(50);
  }
}

describe('two-phase commit under SIGKILL, three OS processes with file journals', () => {
  const tag = `f${randomInt(1e6)}`;
  let epmdPort = 0;
  const nodeName = (r: Role) => `${r}${tag}@127.0.0.1`;
  let driver: Node;
  const root = mkdtempSync(join(tmpdir(), 'saga-fault-'));
  const children = new Set<ChildProcess>();

  before(async () => {
    epmdPort = await freePort();
    driver = await startNode({ name: `drv${tag}@127.0.0.1`, cookie: 'fault', epmdPort, node: { logger: () => {} } });
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await driver.stop();
    rmSync(root, { recursive: true, force: true });
  });

  function startChild(cfg: FaultNodeConfig): Promise<ChildProcess> {
    const child = spawn(process.execPath, [SCRIPT, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve(child);
      });
      child.on('exit', (code, signal) => reject(new Error(`${cfg.name} exited (${code ?? signal}) before ready: ${err}`)));
    });
  }

  function openInJournals(dir: string): number {
    let open = 0;
    for (const f of ['o-bank', 'm-bank', 'l-bank', 'l-audit']) {
      const path = join(dir, `${f}.journal`);
      if (!existsSync(path)) continue;
      const live = new LiveRecords();
      for (const r of replayJournalBytes(readFileSync(path)).records) live.apply(r);
      open += live.size;
    }
    return open;
  }

  function outcomes(dir: string, tx: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const path = join(dir, 'outcomes.log');
    if (!existsSync(path)) return out;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [who, t, what] = line.split(' ');
      if (who === undefined || t !== tx || what === undefined) continue;
      if (!out.has(who)) out.set(who, new Set());
      out.get(who)!.add(what);
    }
    return out;
  }


  /**
   * Waits until no journal holds an open transaction and each transaction in
   * `keys` has one outcome everywhere; returns the outcomes.
   */
  async function settle(dir: string, keys: string[], victim: Role): Promise<('commit' | 'cancel')[]> {
    const settledOne = (key: string): boolean => {
      const o = outcomes(dir, key);
      const committed = [...o.values()].some((s) => s.has('commit'));
      if (committed) return PARTICIPANTS.every((x) => o.get(x)?.has('commit') === true);
      // Not committed: with no journal holding the transaction open, no decision can still come, once the
      // origin has cancelled (or was the process killed: restarted, it has no commit record). A participant
      // the transaction never reached, or one that never prepared in the killed process, has nothing to undo.
      return victim === 'o' || o.get('bank@o')?.has('cancel') === true;
    };
    const describeState = (): string =>
      `journals open: ${openInJournals(dir)}, outcomes: ${JSON.stringify(keys.map((k) => [...outcomes(dir, k)].map(([w, v]) => [w, [...v]])))}`;
    await poll(() => openInJournals(dir) === 0 && keys.every(settledOne), 20_000, describeState);
    return keys.map((key) => {
      const o = outcomes(dir, key);
      for (const [who, s] of o) assert.equal(s.size, 1, `${who} reported both outcomes of ${key}: ${describeState()}`);
      return [...o.values()].some((s) => s.has('commit')) ? 'commit' : 'cancel';
    });
  }

  const TREE = (): FaultTree => ({
    to: [
      { name: 'bank', node: nodeName('m'), to: [{ name: 'bank', node: nodeName('l'), to: [] }] },
      { name: 'audit', node: nodeName('l'), to: [] },
    ],
  });

  for (const p of POINTS) {
    it(`SIGKILL ${p.kill.saga}@${p.role} at ${p.kill.point}: one outcome everywhere, nothing in doubt`, async () => {
      const dir = mkdtempSync(join(root, `${p.role}-${p.kill.saga}-${p.kill.point}-`));
      const cfg = (role: Role, kill?: FaultKill): FaultNodeConfig => ({ role, name: nodeName(role), epmdPort, dir, ...(kill === undefined ? {} : { kill }) });
      const procs = new Map<Role, ChildProcess>();
      try {
        await Promise.all((['o', 'm', 'l'] as const).map(async (r) => procs.set(r, await startChild(cfg(r, r === p.role ? p.kill : undefined)))));
        const victim = procs.get(p.role)!;
        const victimExit = new Promise<void>((resolve) => victim.once('exit', () => resolve()));
        const tx = await driver.call({ name: 'bank', node: nodeName('o') }, tuple(atom('start'), TREE()), { timeout: 10_000 });
        assert.ok(tx instanceof Ref);
        const key = refKey(tx);
        await Promise.race([victimExit, wait(15_000).then(() => Promise.reject(new Error(`${p.role} was not killed at ${p.kill.point}`)))]);
        procs.set(p.role, await startChild(cfg(p.role)));
        const outcome = await settle(dir, [key], p.role);
        if (p.expect !== undefined) assert.equal(outcome[0], p.expect);
      } finally {
        for (const c of procs.values()) c.kill('SIGKILL');
        await poll(() => [...procs.values()].every((c) => c.exitCode !== null || c.signalCode !== null), 5000, () => 'children exit');
      }
    });
  }

  // Kill points chosen at random: a victim is SIGKILLed from outside at a random moment while
  // five transactions run. The seed is in the test name (SAGA_FAULT_SEED=... replays it).
  const seed = Number(process.env['SAGA_FAULT_SEED'] ?? randomInt(2 ** 31));
  const rand = mulberry32(seed);
  for (let i = 0; i < 6; i++) {
    const victim = (['o', 'm', 'l'] as const)[Math.floor(rand() * 3)]!;
    const delay = Math.floor(rand() * 60);
    it(`seed ${seed} #${i}: SIGKILL ${victim} ${delay} ms into five transactions`, async () => {
      const dir = mkdtempSync(join(root, `random-${i}-`));
      const cfg = (role: Role): FaultNodeConfig => ({ role, name: nodeName(role), epmdPort, dir });
      const procs = new Map<Role, ChildProcess>();
      try {
        await Promise.all((['o', 'm', 'l'] as const).map(async (r) => procs.set(r, await startChild(cfg(r)))));
        const origin = { name: 'bank', node: nodeName('o') };
        const calls = Promise.allSettled(Array.from({ length: 5 }, () => driver.call(origin, tuple(atom('start'), TREE()), { timeout: 10_000 })));
        await wait(delay);
        const v = procs.get(victim)!;
        const exited = new Promise<void>((resolve) => v.once('exit', () => resolve()));
        v.kill('SIGKILL');
        await exited;
        // Calls to a killed origin fail; their transactions never existed anywhere else.
        const keys = (await calls).flatMap((r) => (r.status === 'fulfilled' && r.value instanceof Ref ? [refKey(r.value)] : []));
        procs.set(victim, await startChild(cfg(victim)));
        await settle(dir, keys, victim);
      } finally {
        for (const c of procs.values()) c.kill('SIGKILL');
        await poll(() => [...procs.values()].every((c) => c.exitCode !== null || c.signalCode !== null), 5000, () => 'children exit');
      }
    });
  }
});

/** A small seeded PRNG, so a failing random sweep can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
