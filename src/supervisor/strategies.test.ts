/**
 * Table-driven tests of every strategy x restart type x exit reason that OTP
 * distinguishes: which children end up running and the exact order of
 * starts and stops.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RestartType } from './child-spec.js';
import type { Strategy } from './spec.js';
import { runScenario, type StepReason, tableScenario } from '../../test/supervisor-fixtures.js';

const strategies: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const restarts: RestartType[] = ['permanent', 'transient', 'temporary'];
const reasons: (StepReason | 'killed')[] = ['normal', 'shutdown', '{shutdown,x}', 'error', 'killed'];

/** OTP's rule, for the child that exited, with its own reason. */
function restarted(type: RestartType, reason: StepReason | 'killed'): boolean {
  if (type === 'permanent') return true;
  if (type === 'temporary') return false;
  return !(reason === 'normal' || reason === 'shutdown' || reason === '{shutdown,x}');
}

/** The events OTP produces when child b (of a, b, c) exits. */
function expected(strategy: Strategy, type: RestartType, reason: StepReason | 'killed'): string[] {
  const ev = ['start a', 'start b', 'start c', `exit b ${reason}`];
  const again = restarted(type, reason);
  if (again) {
    if (strategy === 'one_for_all') ev.push('exit c shutdown', 'exit a shutdown', 'start a', 'start b', 'start c');
    else if (strategy === 'rest_for_one') ev.push('exit c shutdown', 'start b', 'start c');
    else ev.push('start b');
  }
  const simple = strategy === 'simple_one_for_one';
  const rows: string[] = [];
  if (simple) rows.push(...(again ? ['undefined:pid', 'undefined:pid', 'undefined:pid'] : ['undefined:pid', 'undefined:pid']));
  else {
    rows.push('c:pid');
    if (again) rows.push('b:pid');
    else if (type === 'transient') rows.push('b:undefined');
    rows.push('a:pid');
  }
  ev.push(`children [${rows.join(',')}]`, again ? 'running [a,b,c]' : 'running [a,c]', 'stop');
  if (simple) {
    // simple_one_for_one terminates its children all at once, in spawn order.
    ev.push(...(again ? ['exit a shutdown', 'exit c shutdown', 'exit b shutdown'] : ['exit a shutdown', 'exit c shutdown']));
  } else ev.push('exit c shutdown', ...(again ? ['exit b shutdown'] : []), 'exit a shutdown');
  ev.push('sup exit shutdown');
  return ev;
}

for (const strategy of strategies) {
  for (const type of restarts) {
    for (const reason of reasons) {
      test(`${strategy}: ${type} child exits ${reason}`, async () => {
        const events = await runScenario(tableScenario(strategy, type, reason));
        assert.deepEqual(events, expected(strategy, type, reason));
      });
    }
  }
}

test('one_for_all: a temporary sibling terminated by the restart is removed, not restarted', async () => {
  const events = await runScenario({
    name: 'temporary sibling',
    strategy: 'one_for_all',
    intensity: 10,
    period: 5,
    children: [
      { id: 'a', restart: 'temporary' },
      { id: 'b', restart: 'permanent' },
      { id: 'c', restart: 'transient' },
    ],
    steps: [{ exit: 'b', reason: 'boom' }],
  });
  assert.deepEqual(events, [
    'start a',
    'start b',
    'start c',
    'exit b boom',
    'exit c shutdown',
    'exit a shutdown',
    'start b',
    'start c',
    'children [c:pid,b:pid]',
    'running [b,c]',
    'stop',
    'exit c shutdown',
    'exit b shutdown',
    'sup exit shutdown',
  ]);
});

test('rest_for_one: a child stopped by terminateChild after the failed one is started again (as OTP)', async () => {
  const events = await runScenario({
    name: 'stopped sibling',
    strategy: 'rest_for_one',
    intensity: 10,
    period: 5,
    children: [
      { id: 'a', restart: 'permanent' },
      { id: 'b', restart: 'permanent' },
    ],
    steps: [{ terminateChild: 'b' }, { exit: 'a', reason: 'boom' }],
  });
  assert.deepEqual(events.slice(0, 7), ['start a', 'start b', 'exit b shutdown', 'exit a boom', 'start a', 'start b', 'children [b:pid,a:pid]']);
});
