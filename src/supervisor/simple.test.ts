/**
 * simple_one_for_one: 1,000 dynamic children, one crash restarts only that
 * one; extra arguments reach the start function; all are stopped with the supervisor.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { stopServer } from '../server/server.js';
import { countChildren, deleteChild, startChild, terminateChild, whichChildren } from './api.js';
import { SimpleOneForOneError } from './errors.js';
import { startSupervisor } from './start.js';
import { die, EventLog, logWorker } from '../../test/supervisor-fixtures.js';

test('simple_one_for_one with 1,000 children: one crash restarts only that one', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    const sup = await startSupervisor(node, {
      strategy: 'simple_one_for_one',
      template: { id: 'w', start: (parent, n: number) => logWorker(log, `w${n}`, { pids })(parent) },
    });
    for (let i = 0; i < 1000; i++) await startChild(node, sup, [i]);
    assert.deepEqual(await countChildren(node, sup), { specs: 1, active: 1000, supervisors: 0, workers: 1000 }, 'one spec: the template (OTP)');
    const before = new Map(pids);
    const victim = pids.get('w500') as Pid;
    const gone = node.waitExit(victim);
    node.send(victim, die(new Error('crash')));
    await gone;
    await log.waitFor((e) => e.length === 1002);
    assert.deepEqual(log.since(1000), ['exit w500 error', 'start w500']);
    for (const [id, pid] of pids) if (id !== 'w500') assert.ok(pid.equals(before.get(id)), `${id} untouched`);
    assert.ok(!(pids.get('w500') as Pid).equals(victim));
    const rows = await whichChildren(node, sup);
    assert.equal(rows.length, 1000);
    assert.ok(rows.every((r) => r.id === undefined && r.type === 'worker'));
    await assert.rejects(terminateChild(node, sup, 'w'), (e: unknown) => e instanceof SimpleOneForOneError && e.reason === atom('simple_one_for_one'));
    await terminateChild(node, sup, pids.get('w1') as Pid);
    assert.equal((await countChildren(node, sup)).active, 999);
    await assert.rejects(deleteChild(node, sup, 'w'), SimpleOneForOneError);
    await stopServer(node, sup.pid, 'shutdown');
    assert.equal(log.events.filter((e) => e.startsWith('exit ')).length, 1001);
    assert.equal(node.processes().length, 0);
  } finally {
    await node.stop();
  }
});
