/**
 * Nested supervisors: a supervisor that gives up triggers its parent's
 * strategy, and repeated escalations reach the top.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { kill } from '../core/reasons.js';
import { startSupervisor, supervisorChild } from './start.js';
import { whichChildren } from './api.js';
import { EventLog, logWorker } from '../../test/supervisor-fixtures.js';

test('a nested supervisor that gives up is restarted by its parent (rest_for_one), and escalation reaches the top', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    const top = await startSupervisor(node, {
      strategy: 'rest_for_one',
      intensity: 1,
      period: 3600,
      children: [
        { id: 'first', start: logWorker(log, 'first', { pids }) },
        supervisorChild('inner', {
          strategy: 'one_for_one',
          intensity: 0,
          period: 3600,
          children: [{ id: 'leaf', start: logWorker(log, 'leaf', { pids }) }],
        }),
        { id: 'last', start: logWorker(log, 'last', { pids }) },
      ],
    });
    const innerPid = (await whichChildren(node, top)).find((c) => c.id === 'inner')?.pid as Pid;
    // leaf dies: inner (intensity 0) gives up with shutdown; top restarts inner and last (rest_for_one).
    const innerExit = node.waitExit(innerPid);
    node.exit(pids.get('leaf') as Pid, kill);
    assert.equal(await innerExit, atom('shutdown'));
    await log.waitFor((e) => e.length === 7);
    assert.deepEqual(log.events, ['start first', 'start leaf', 'start last', 'exit leaf killed', 'exit last shutdown', 'start leaf', 'start last']);
    // Again: top has now used its one restart; the second escalation makes it give up too.
    const topExit = node.waitExit(top.pid);
    node.exit(pids.get('leaf') as Pid, kill);
    assert.equal(await topExit, atom('shutdown'));
    assert.deepEqual(log.since(7), ['exit leaf killed', 'exit last shutdown', 'exit first shutdown']);
  } finally {
    await node.stop();
  }
});
