/**
 * Ordered shutdown: a child that traps exits and ignores `shutdown` is
 * killed after its timeout; brutal_kill; a server child runs `terminate`;
 * stop terminates children in reverse start order.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Node } from '../core/node.js';
import { ok, type ServerBehavior, stopServer } from '../server/server.js';
import type { Pid } from '../terms/identifiers.js';
import { serverStart } from './child-start.js';
import { startSupervisor } from './start.js';
import { terminateChild } from './api.js';
import { EventLog, fmt, logWorker } from '../../test/supervisor-fixtures.js';

test('a child that traps exits and ignores shutdown is killed after its shutdown timeout', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const sup = await startSupervisor(node, {
      strategy: 'one_for_one',
      children: [
        { id: 'stubborn', start: logWorker(log, 'stubborn', { trapExit: true, ignoreShutdown: true }), shutdown: 100 },
        { id: 'polite', start: logWorker(log, 'polite', { trapExit: true }), shutdown: 60_000 },
      ],
    });
    const t0 = performance.now();
    await stopServer(node, sup.pid, 'shutdown');
    const elapsed = performance.now() - t0;
    assert.deepEqual(log.events, ['start stubborn', 'start polite', 'exit polite shutdown', 'exit stubborn killed']);
    assert.ok(elapsed >= 95, `waited the shutdown timeout (${elapsed} ms)`);
  } finally {
    await node.stop();
  }
});

test('brutal_kill kills at once; terminateChild keeps the spec', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const sup = await startSupervisor(node, {
      strategy: 'one_for_one',
      children: [{ id: 'w', start: logWorker(log, 'w', { trapExit: true, ignoreShutdown: true }), shutdown: 'brutal_kill' }],
    });
    await terminateChild(node, sup, 'w');
    assert.deepEqual(log.events, ['start w', 'exit w killed']);
  } finally {
    await node.stop();
  }
});

test('a server child that traps exits runs terminate with shutdown; children stop in reverse order', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const server = (id: string): ServerBehavior<{ call: [null, null] }, null> => ({
      init: (_a, ctx) => {
        ctx.trapExit = true;
        log.push(`start ${id}`);
        return ok(null);
      },
      terminate: (reason) => log.push(`terminate ${id} ${fmt(reason)}`),
    });
    const sup = await startSupervisor(node, {
      strategy: 'one_for_all',
      children: ['a', 'b', 'c'].map((id) => ({ id, start: serverStart(server(id), undefined), shutdown: 'infinity' as const })),
    });
    await stopServer(node, sup.pid, 'shutdown');
    assert.deepEqual(log.events, ['start a', 'start b', 'start c', 'terminate c shutdown', 'terminate b shutdown', 'terminate a shutdown']);
  } finally {
    await node.stop();
  }
});

test('node.stop stops a top-level supervisor and its children in order', async () => {
  const node = new Node({ logger: () => {} });
  const log = new EventLog();
  const pids = new Map<string, Pid>();
  await startSupervisor(node, {
    strategy: 'rest_for_one',
    children: ['a', 'b'].map((id) => ({ id, start: logWorker(log, id, { pids, trapExit: true }) })),
  });
  await node.stop();
  assert.deepEqual(log.events, ['start a', 'start b', 'exit b shutdown', 'exit a shutdown']);
});
