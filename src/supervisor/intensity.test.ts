/**
 * Restart intensity: no give-up at the limit, give-up one past it, the
 * parent sees `shutdown`; the sliding window; a start that throws on
 * restart makes the supervisor give up.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Atom, atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import { kill } from '../core/reasons.js';
import { Probe } from '../../test/support.js';
import { RestartIntensity } from './intensity.js';
import { startSupervisor } from './start.js';
import { whichChildren } from './api.js';
import { EventLog, logWorker } from '../../test/supervisor-fixtures.js';
import type { Pid } from '../terms/identifiers.js';

test('RestartIntensity counts restarts within the period only', () => {
  let now = 0;
  const r = new RestartIntensity(2, 5, () => now);
  assert.equal(r.add(), true);
  now = 1000;
  assert.equal(r.add(), true);
  now = 5000;
  assert.equal(r.add(), false); // 3 restarts within 5 s
  now = 9000; // t=0 and t=1000 fell out of the window, t=5000 stays
  assert.equal(r.add(), true);
  assert.equal(r.count, 2);
});

for (const intensity of [0, 1, 3]) {
  test(`intensity ${intensity}: ${intensity} restarts are fine, one more gives up and the parent sees shutdown`, async () => {
    const node = new Node({ logger: () => {} });
    try {
      const log = new EventLog();
      const pids = new Map<string, Pid>();
      // The parent: a probe process that traps exits and starts the supervisor linked.
      const parent = new Probe(node, { trapExit: true });
      await new Promise((r) => setImmediate(r));
      const sup = await startSupervisor(
        parent.proc,
        { strategy: 'one_for_one', intensity, period: 3600, children: [{ id: 'w', start: logWorker(log, 'w', { pids }) }] },
        { link: true },
      );
      for (let i = 0; i < intensity; i++) {
        const pid = pids.get('w') as Pid;
        node.exit(pid, kill);
        await log.waitFor((e) => e.filter((x) => x === 'start w').length === i + 2);
      }
      assert.ok(node.isAlive(sup.pid), 'still running at the limit');
      assert.equal((await whichChildren(node, sup)).length, 1);
      const exited = node.waitExit(sup.pid);
      node.exit(pids.get('w') as Pid, kill);
      assert.equal(await exited, atom('shutdown'));
      const msg = await parent.next();
      assert.ok(msg instanceof Tuple && msg.elements[0] === atom('EXIT') && msg.elements[2] === atom('shutdown'), `parent got ${String(msg)}`);
      assert.equal(log.events.filter((x) => x === 'start w').length, intensity + 1);
    } finally {
      await node.stop();
    }
  });
}

test('a child whose start throws on restart makes the supervisor give up (retries count toward the intensity)', async () => {
  const lines: string[] = [];
  const node = new Node({ logger: (_l, m) => lines.push(m) });
  try {
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    let failing = false;
    const sup = await startSupervisor(node, {
      strategy: 'one_for_one',
      intensity: 3,
      period: 3600,
      children: [{ id: 'w', start: logWorker(log, 'w', { pids, failStart: () => (failing ? new Error('cannot start w') : undefined) }) }],
    });
    failing = true;
    const exited = node.waitExit(sup.pid);
    node.exit(pids.get('w') as Pid, kill);
    const reason = await exited;
    // OTP: the supervisor exits `shutdown` (reached_max_restart_intensity); the start error is reported.
    assert.equal(reason, atom('shutdown'));
    assert.deepEqual(log.events, ['start w', 'exit w killed', 'startfail w boom', 'startfail w boom', 'startfail w boom']);
    assert.ok(lines.some((l) => l.includes('cannot start w')), 'the start error is logged');
    assert.ok(lines.some((l) => l.includes('reached max restart intensity')));
    assert.ok(reason instanceof Atom);
  } finally {
    await node.stop();
  }
});
