/**
 * Significant children and automatic shutdown (OTP 24+): `never`,
 * `any_significant`, `all_significant`. Expectations measured on Erlang by
 * significant_probe.erl beside this file:
 *   never + significant child        -> {error, {start_spec, {bad_combination, [{auto_shutdown,never},{significant,true}]}}}
 *   permanent significant child      -> {error, {start_spec, {bad_combination, [{restart,permanent},{significant,true}]}}}
 *   any, transient exits normal      -> supervisor exits shutdown
 *   any, transient crashes           -> restarted, supervisor lives
 *   any, temporary crashes           -> supervisor exits shutdown
 *   all, one of two temporary ends   -> supervisor lives; the second ends -> supervisor exits shutdown
 *   any, terminate_child             -> supervisor lives
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { startChild, terminateChild, whichChildren } from './api.js';
import type { ChildSpec, RestartType } from './child-spec.js';
import { InvalidChildSpecError, SupervisorStartError } from './errors.js';
import type { AutoShutdown } from './spec.js';
import { startSupervisor } from './start.js';
import { die, EventLog, logWorker } from '../../test/supervisor-fixtures.js';

function child(log: EventLog, pids: Map<string, Pid>, id: string, restart: RestartType, significant: boolean): ChildSpec {
  return { id, start: logWorker(log, id, { pids }), restart, significant };
}

async function setup(node: Node, autoShutdown: AutoShutdown, children: [string, RestartType, boolean][]) {
  const log = new EventLog();
  const pids = new Map<string, Pid>();
  const sup = await startSupervisor(node, {
    strategy: 'one_for_one',
    autoShutdown,
    intensity: 10,
    children: children.map(([id, r, s]) => child(log, pids, id, r, s)),
  });
  return { log, pids, sup };
}

/** Makes child `id` exit with `reason` and waits until the supervisor has dealt with it (restart or not). */
async function endChild(node: Node, pids: Map<string, Pid>, id: string, reason: unknown): Promise<void> {
  const pid = pids.get(id) as Pid;
  const gone = node.waitExit(pid);
  node.send(pid, die(reason));
  await gone;
}

describe('significant children and autoShutdown', () => {
  test('never: a significant child is an invalid spec; so is a permanent significant child', async () => {
    await using node = new Node({ logger: () => {} });
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    await assert.rejects(
      startSupervisor(node, { strategy: 'one_for_one', children: [child(log, pids, 'a', 'transient', true)] }),
      (e: unknown) => e instanceof InvalidChildSpecError || e instanceof SupervisorStartError,
    );
    await assert.rejects(
      startSupervisor(node, { strategy: 'one_for_one', autoShutdown: 'any_significant', children: [child(log, pids, 'a', 'permanent', true)] }),
      (e: unknown) => e instanceof InvalidChildSpecError || e instanceof SupervisorStartError,
    );
    await assert.rejects(
      startSupervisor(node, { strategy: 'one_for_one', autoShutdown: 'sometimes' as AutoShutdown, children: [] }),
      (e: unknown) => e instanceof InvalidChildSpecError || e instanceof SupervisorStartError,
    );
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [] });
    await assert.rejects(startChild(node, sup, child(log, pids, 'b', 'temporary', true)), InvalidChildSpecError);
    assert.deepEqual(log.events, [], 'nothing was started');
  });

  test('never: a non-significant temporary child ending leaves the supervisor running', async () => {
    await using node = new Node({ logger: () => {} });
    const { pids, sup } = await setup(node, 'never', [['a', 'temporary', false], ['b', 'permanent', false]]);
    await endChild(node, pids, 'a', atom('normal'));
    assert.equal((await whichChildren(node, sup)).length, 1);
    assert.ok(node.isAlive(sup.pid));
  });

  test('any_significant: a transient significant child exiting normally shuts the supervisor down, others first', async () => {
    await using node = new Node({ logger: () => {} });
    const { log, pids, sup } = await setup(node, 'any_significant', [['a', 'transient', true], ['b', 'permanent', false]]);
    const supExit = node.waitExit(sup.pid);
    await endChild(node, pids, 'a', atom('normal'));
    assert.equal(await supExit, atom('shutdown'));
    assert.deepEqual(log.events, ['start a', 'start b', 'exit a normal', 'exit b shutdown']);
  });

  test('any_significant: a transient significant child that crashes is restarted; the supervisor lives', async () => {
    await using node = new Node({ logger: () => {} });
    const { log, pids, sup } = await setup(node, 'any_significant', [['a', 'transient', true], ['b', 'permanent', false]]);
    await endChild(node, pids, 'a', atom('crash'));
    await log.waitFor((e) => e.includes('exit a crash') && e.filter((x) => x === 'start a').length === 2);
    assert.ok(node.isAlive(sup.pid));
    assert.equal((await whichChildren(node, sup)).length, 2);
  });

  test('any_significant: a temporary significant child ending, even crashing, shuts the supervisor down', async () => {
    await using node = new Node({ logger: () => {} });
    const { pids, sup } = await setup(node, 'any_significant', [['a', 'temporary', true], ['b', 'permanent', false]]);
    const supExit = node.waitExit(sup.pid);
    await endChild(node, pids, 'a', atom('crash'));
    assert.equal(await supExit, atom('shutdown'));
  });

  test('all_significant: the supervisor shuts down when the last significant child has ended', async () => {
    await using node = new Node({ logger: () => {} });
    const { pids, sup } = await setup(node, 'all_significant', [
      ['a', 'temporary', true],
      ['b', 'temporary', true],
      ['c', 'permanent', false],
    ]);
    const supExit = node.waitExit(sup.pid);
    await endChild(node, pids, 'a', atom('normal'));
    assert.equal((await whichChildren(node, sup)).length, 2, 'one significant child left: still running');
    await endChild(node, pids, 'b', atom('normal'));
    assert.equal(await supExit, atom('shutdown'));
  });

  test('any_significant: terminateChild of a significant child does not shut the supervisor down', async () => {
    await using node = new Node({ logger: () => {} });
    const { sup } = await setup(node, 'any_significant', [['a', 'transient', true]]);
    await terminateChild(node, sup, 'a');
    assert.ok(node.isAlive(sup.pid));
    assert.deepEqual(
      (await whichChildren(node, sup)).map((c) => c.pid),
      ['undefined'],
    );
  });

  test('any_significant under simple_one_for_one: a significant temporary child ending shuts it down', async () => {
    await using node = new Node({ logger: () => {} });
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    const sup = await startSupervisor(node, {
      strategy: 'simple_one_for_one',
      autoShutdown: 'any_significant',
      template: { id: 't', start: (parent, n: string) => logWorker(log, n, { pids })(parent), restart: 'temporary', significant: true },
    });
    await startChild(node, sup, ['x']);
    await startChild(node, sup, ['y']);
    const supExit = node.waitExit(sup.pid);
    await endChild(node, pids, 'x', atom('normal'));
    assert.equal(await supExit, atom('shutdown'));
    await log.waitFor((e) => e.includes('exit y shutdown'));
  });
});
