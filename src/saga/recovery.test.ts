// Two-phase commit through crashes, in one node: a saga is killed at a
// record of its journal (the record survives, what follows it does not),
// restarted with the same name and journal, and every participant ends with
// the same outcome, none in doubt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { eventually, Probe, quietLogger } from '../../test/support.js';
import { CrashingJournal, type SagaEvent, testSaga, until } from '../../test/saga-support.js';
import { startSaga } from './saga.js';
import { type JournalRecord, MemoryJournal } from './journal.js';

type Role = 'o' | 'm' | 'l';
const ROLES: Role[] = ['o', 'm', 'l'];

interface Point {
  readonly name: string;
  readonly role: Role;
  readonly record: JournalRecord['type'];
  readonly after?: boolean;
  readonly outcome: 'commit' | 'cancel';
}

const POINTS: Point[] = [
  { name: 'origin: decision recorded, not sent', role: 'o', record: 'decision', outcome: 'commit' },
  { name: 'origin: decision sent', role: 'o', record: 'decision', after: true, outcome: 'commit' },
  { name: 'middle: prepared recorded, vote not sent', role: 'm', record: 'prepared', outcome: 'cancel' },
  { name: 'middle: yes vote sent', role: 'm', record: 'prepared', after: true, outcome: 'commit' },
  { name: 'leaf: prepared recorded, vote not sent', role: 'l', record: 'prepared', outcome: 'cancel' },
  { name: 'leaf: yes vote sent', role: 'l', record: 'prepared', after: true, outcome: 'commit' },
  { name: 'middle: committed, ack not sent', role: 'm', record: 'end', outcome: 'commit' },
  { name: 'leaf: committed, ack not sent', role: 'l', record: 'end', outcome: 'commit' },
];

/**
 * Crashes the saga of `p.role` at `p`'s record and restarts it; with `lateInit`
 * the restarted saga's `init` returns only once a message (a peer's query or
 * decision, sent to its name) is waiting in its mailbox.
 */
async function crashAndRestart(p: Point, lateInit: boolean): Promise<void> {
  const log = quietLogger();
  const node = new Node({ name: 'rec@127.0.0.1', logger: log.log });
  await using _ = node;
  const probe = new Probe(node);
  const journals = new Map<Role, CrashingJournal>(ROLES.map((r) => [r, new CrashingJournal(new MemoryJournal())]));
  // A vote still out when the prepare timeout fires is a no: only where the outcome is a cancel may it be short.
  const prepareTimeout = p.outcome === 'cancel' ? 300 : 30_000;
  const start = (role: Role, late = false) => {
    const behavior = testSaga({ name: role, probe: probe.pid, job: true });
    const init: typeof behavior.init = async (args, saga) => {
      await eventually(() => saga.process.messageQueueLength > 0, 10_000, `a message for the restarted ${role}`);
      return behavior.init(args, saga);
    };
    return startSaga(node, late ? { ...behavior, init } : behavior, undefined, { name: role, journal: journals.get(role)!, retryInterval: 30, prepareTimeout });
  };
  for (const r of ROLES) await start(r);
  let killed = false;
  journals.get(p.role)!.crashAt(
    (rec) => rec.type === p.record,
    () => {
      node.exit(node.whereis(p.role)!, atom('kill'));
      killed = true;
    },
    p.after === true,
  );
  const tx = (await node.call('o', tuple(atom('start'), { route: ['m', 'l'], payload: 'p' }, { twoPhaseCommit: true }))) as Ref;
  await eventually(() => killed && node.whereis(p.role) === undefined, 10_000, 'the crash');
  await start(p.role, lateInit);
  const outcome = (es: SagaEvent[], role: Role) => es.find((e) => e.saga === role && (e.event === 'commit' || e.event === 'cancel') && e.tx.equals(tx));
  // Every saga, the restarted one included, reports the outcome (a restarted participant learns it by asking).
  const ev = await until(probe, (es) => ROLES.every((r) => outcome(es, r) !== undefined));
  for (const r of ROLES) assert.equal(outcome(ev, r)?.event, p.outcome, `${r} after "${p.name}"`);
  await eventually(() => ROLES.every((r) => (journals.get(r)!.inner as MemoryJournal).open === 0), 10_000, 'no transaction left open in any journal');
}

for (const p of POINTS) test(`crash at "${p.name}": all ${p.outcome}, none in doubt`, () => crashAndRestart(p, false));

// The restarted saga's name is registered before its init runs, so a peer's message can be waiting
// before the journal is read. The origin crashed between recording its commit and sending it; the
// prepared middle keeps asking it. Answered from an empty table, the query got a presumed abort for
// a recorded commit (a rare failure of the test above under load, when the query won the race).
test('a query waiting before the restarted origin has read its journal gets the recorded commit', () => crashAndRestart(POINTS[0]!, true));
