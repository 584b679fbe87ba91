import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { type IdleTracked, sweepIdle } from './idle-sweep.js';

// The sweep on mocked timers and clock: no test here waits for real time.

function tracked(): IdleTracked {
  return { active: false, activeAt: Date.now(), idleFired: false };
}

test('a silent connection is told once, no earlier than the timeout; activity postpones it and re-arms it', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
  try {
    const quiet = tracked();
    const busy = tracked();
    const conns = new Set([quiet, busy]);
    const told: IdleTracked[] = [];
    const stop = sweepIdle(conns, 800, (c) => told.push(c));
    // Sweeps every 100 ms; busy is active before each one.
    const run = (ms: number): void => {
      for (let t = 0; t < ms; t += 100) {
        busy.active = true;
        mock.timers.tick(100);
      }
    };
    run(700);
    assert.deepEqual([...told], [], 'nothing before 800 ms');
    run(300);
    assert.deepEqual([...told], [quiet], 'quiet is told at 800 ms, busy never');
    run(2000);
    assert.deepEqual([...told], [quiet], 'told once per idle period');
    quiet.active = true;
    run(100);
    run(700);
    assert.deepEqual([...told], [quiet], 'activity re-arms it from the sweep that saw it');
    run(100);
    assert.deepEqual([...told], [quiet, quiet], 'quiet again, 800 ms after');
    mock.timers.tick(800);
    assert.deepEqual([...told], [quiet, quiet, busy], 'busy once silent for 800 ms');
    stop();
    quiet.active = false;
    quiet.idleFired = false;
    mock.timers.tick(5000);
    assert.equal(told.length, 3, 'a stopped sweep tells nothing');
  } finally {
    mock.timers.reset();
  }
});

test('the sweep period is an eighth of the timeout, at least 5 ms and at most 1 s', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  try {
    const a = tracked();
    const told: IdleTracked[] = [];
    const stop = sweepIdle(new Set([a]), 20, (c) => told.push(c));
    mock.timers.tick(19);
    assert.deepEqual([...told], []);
    mock.timers.tick(6);
    assert.deepEqual([...told], [a]);
    stop();
    const b = tracked();
    const stop2 = sweepIdle(new Set([b]), 60_000, (c) => told.push(c));
    mock.timers.tick(59_999);
    assert.deepEqual([...told], [a]);
    mock.timers.tick(1000);
    assert.deepEqual([...told], [a, b]);
    stop2();
  } finally {
    mock.timers.reset();
  }
});
