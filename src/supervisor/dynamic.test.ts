/**
 * The dynamic API and bad input: startChild, terminateChild, restartChild,
 * deleteChild, whichChildren, countChildren; invalid specs, duplicate ids,
 * a start that throws or never returns get typed errors and the supervisor
 * keeps running; a failed start of the supervisor terminates the children
 * already started.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { ok, type ServerBehavior, stop } from '../server/server.js';
import type { ChildSpec } from './child-spec.js';
import { serverStart } from './child-start.js';
import {
  AlreadyPresentError,
  AlreadyStartedError,
  ChildNotFoundError,
  ChildRunningError,
  ChildStartError,
  InvalidChildSpecError,
  StartTimeoutError,
  SupervisorStartError,
} from './errors.js';
import { startSupervisor } from './start.js';
import { countChildren, deleteChild, restartChild, startChild, terminateChild, whichChildren } from './api.js';
import { EventLog, logWorker } from '../../test/supervisor-fixtures.js';

test('dynamic API: start, terminate, restart, delete, which, count', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [{ id: 'a', start: logWorker(log, 'a') }] });
    const b = await startChild(node, sup, { id: 'b', start: logWorker(log, 'b'), type: 'worker' });
    assert.ok(b instanceof Pid);
    await assert.rejects(startChild(node, sup, { id: 'b', start: logWorker(log, 'b') }), AlreadyStartedError);
    await terminateChild(node, sup, 'b');
    await assert.rejects(startChild(node, sup, { id: 'b', start: logWorker(log, 'b') }), AlreadyPresentError);
    let rows = await whichChildren(node, sup);
    assert.deepEqual(
      rows.map((r) => [r.id, r.pid instanceof Pid ? 'pid' : r.pid, r.type]),
      [
        ['b', 'undefined', 'worker'],
        ['a', 'pid', 'worker'],
      ],
    );
    assert.deepEqual(await countChildren(node, sup), { specs: 2, active: 1, supervisors: 0, workers: 2 });
    await assert.rejects(deleteChild(node, sup, 'a'), ChildRunningError);
    await assert.rejects(restartChild(node, sup, 'a'), ChildRunningError);
    const b2 = await restartChild(node, sup, 'b');
    assert.ok(b2 instanceof Pid && !b2.equals(b));
    await terminateChild(node, sup, b2);
    await deleteChild(node, sup, 'b');
    await assert.rejects(terminateChild(node, sup, 'b'), ChildNotFoundError);
    await assert.rejects(restartChild(node, sup, 'zz'), ChildNotFoundError);
    rows = await whichChildren(node, sup);
    assert.deepEqual(rows.map((r) => r.id), ['a']);
    assert.deepEqual(log.events, ['start a', 'start b', 'exit b shutdown', 'start b', 'exit b shutdown']);
  } finally {
    await node.stop();
  }
});

test('bad input: invalid specs and duplicate ids are rejected with typed errors, nothing is started', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const start = logWorker(log, 'x');
    await assert.rejects(startSupervisor(node, { strategy: 'one_for_one', children: [{ id: 'a', start }, { id: 'a', start }] }), /duplicate child id a/);
    await assert.rejects(startSupervisor(node, { strategy: 'nope' as 'one_for_one', children: [] }), InvalidChildSpecError);
    await assert.rejects(startSupervisor(node, { strategy: 'one_for_one', intensity: -1, children: [] }), InvalidChildSpecError);
    const bad: unknown[] = [
      { id: '', start },
      { id: 'a' },
      { id: 'a', start, restart: 'sometimes' },
      { id: 'a', start, shutdown: -5 },
      { id: 'a', start, type: 'manager' },
      null,
    ];
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [] });
    for (const spec of bad) {
      await assert.rejects(startSupervisor(node, { strategy: 'one_for_one', children: [spec as ChildSpec] }), InvalidChildSpecError);
      await assert.rejects(startChild(node, sup, spec as ChildSpec), InvalidChildSpecError);
    }
    assert.deepEqual(log.events, []);
    assert.ok(node.isAlive(sup.pid));
    assert.deepEqual(await whichChildren(node, sup), []);
  } finally {
    await node.stop();
  }
});

test('a start function that throws, fails init or never returns gets a ChildStartError; the supervisor keeps running', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [] });
    const thrown = await startChild(node, sup, {
      id: 'throws',
      start: () => {
        throw new Error('no way');
      },
    }).catch((e: unknown) => e);
    assert.ok(thrown instanceof ChildStartError && thrown.childId === 'throws' && (thrown.reason as Error).message === 'no way');

    const failing: ServerBehavior<{ call: [null, null] }, null> = { init: () => stop('bad_config') };
    const initFailed = await startChild(node, sup, { id: 'init', start: serverStart(failing, undefined) }).catch((e: unknown) => e);
    assert.ok(initFailed instanceof ChildStartError && initFailed.reason === atom('bad_config'));

    // Never returns: a server whose init never settles, and a bare promise that never settles.
    const hanging: ServerBehavior<{ call: [null, null] }, null> = { init: () => new Promise(() => {}) };
    const before = node.processes().length;
    const hung = await startChild(node, sup, { id: 'hangs', start: serverStart(hanging, undefined), startTimeout: 50 }).catch((e: unknown) => e);
    assert.ok(hung instanceof ChildStartError && hung.reason instanceof StartTimeoutError, String(hung));
    assert.equal(node.processes().length, before, 'the hanging server was killed');
    const never = await startChild(node, sup, { id: 'never', start: () => new Promise<Pid>(() => {}), startTimeout: 50 }).catch((e: unknown) => e);
    assert.ok(never instanceof ChildStartError && never.reason instanceof StartTimeoutError);

    const wrong = await startChild(node, sup, { id: 'wrong', start: () => 42 as unknown as Pid }).catch((e: unknown) => e);
    assert.ok(wrong instanceof ChildStartError && wrong.reason instanceof TypeError);

    assert.ok(node.isAlive(sup.pid));
    assert.deepEqual(await whichChildren(node, sup), []);
    const okServer: ServerBehavior<{ call: [null, null] }, null> = { init: () => ok(null) };
    assert.ok((await startChild(node, sup, { id: 'fine', start: serverStart(okServer, undefined) })) instanceof Pid);
  } finally {
    await node.stop();
  }
});

test('a child that fails to start stops the supervisor start; children already started are terminated in reverse order', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const err = await startSupervisor(node, {
      strategy: 'one_for_one',
      children: [
        { id: 'a', start: logWorker(log, 'a') },
        { id: 'b', start: logWorker(log, 'b') },
        { id: 'c', start: logWorker(log, 'c', { failStart: () => new Error('c is broken') }) },
        { id: 'd', start: logWorker(log, 'd') },
      ],
    }).catch((e: unknown) => e);
    assert.ok(err instanceof SupervisorStartError, String(err));
    assert.equal(err.childId, 'c');
    assert.equal((err.childReason as Error).message, 'c is broken');
    assert.match(err.message, /child c failed to start: Error: c is broken/);
    assert.deepEqual(log.events, ['start a', 'start b', 'startfail c boom', 'exit b shutdown', 'exit a shutdown']);
    assert.equal(node.processes().length, 0);
  } finally {
    await node.stop();
  }
});

test('a start that returns ignore keeps the spec without a process (InitIgnoredError from a server)', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const ignoring: ServerBehavior<{ call: [null, null] }, null> = { init: () => ({ type: 'ignore' }) };
    const sup = await startSupervisor(node, {
      strategy: 'one_for_one',
      children: [
        { id: 'ignored', start: serverStart(ignoring, undefined) },
        { id: 'gone', start: () => 'ignore' as const, restart: 'temporary' },
      ],
    });
    const rows = await whichChildren(node, sup);
    assert.deepEqual(rows.map((r) => [r.id, r.pid]), [['ignored', 'undefined']]);
  } finally {
    await node.stop();
  }
});
