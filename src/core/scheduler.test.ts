/**
 * The scheduler's slices: a chain of runs started from microtasks (async
 * handlers settling, processes waking each other) still yields to the event
 * loop once its slice is used up, and a process woken after the node was
 * idle runs at once, in the same turn, without waiting for the loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESOLVED, Scheduler, type Runnable } from './scheduler.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a handler doing work
  }
}

test('a chain of runs from microtasks yields to the event loop within its slice', async () => {
  const s = new Scheduler({ sliceMs: 5 });
  let immediateRan = false;
  let runsBeforeImmediate = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const p: Runnable = {
      queued: false,
      runSlice: () => {
        busy(0.2);
        if (!immediateRan) runsBeforeImmediate++;
        // The handler "settles" at once: the process is scheduled again from a microtask, forever,
        // unless the scheduler yields. A hang is turned into a failure after 5 s.
        if (immediateRan || Date.now() - started > 5000) resolve();
        else void RESOLVED.then(() => s.schedule(p));
        return false;
      },
    };
    setImmediate(() => (immediateRan = true));
    s.schedule(p);
  });
  assert.equal(immediateRan, true, 'the event loop got a turn');
  // 5 ms of slice at 0.2 ms a run: at most about 25 runs (fewer on a busy machine), never the whole 5 s.
  assert.ok(runsBeforeImmediate >= 1 && runsBeforeImmediate < 1000, `${runsBeforeImmediate} runs before the loop turned`);
  s.dispose();
});

test('a process woken after a long slice and an idle gap runs in the same turn', async () => {
  const s = new Scheduler({ sliceMs: 8 });
  let ran = 0;
  let turned = false;
  let ranBeforeTurn = false;
  const p: Runnable = {
    queued: false,
    runSlice: () => {
      ran++;
      ranBeforeTurn = !turned;
      if (ran === 1) busy(3); // a long first slice (arms the turn marker)
      return false;
    },
  };
  s.schedule(p);
  await new Promise((r) => setTimeout(r, 20));
  // The loop's check phase, where the turn marker is seen: on a loaded machine the 3 ms slice can take
  // 30, and the 20 ms timer then fires before that phase; a run right then continues the overlong slice
  // and yields (a turn of latency, by design). After the check phase it starts a fresh one.
  await new Promise((r) => setImmediate(r));
  assert.equal(ran, 1);
  for (let i = 0; i < 50; i++) {
    // Woken again and again after short idle gaps: each time it runs before the event loop turns
    // (before an immediate queued just before it was woken).
    turned = false;
    ranBeforeTurn = false;
    const turn = new Promise<void>((r) =>
      setImmediate(() => {
        turned = true;
        r();
      }),
    );
    s.schedule(p);
    await turn;
    await new Promise((r) => setImmediate(r)); // a yield would have run it by now
    assert.equal(ran, i + 2, `wake ${i} ran`);
    assert.equal(ranBeforeTurn, true, `wake ${i} ran in the same turn`);
    await new Promise((r) => setTimeout(r, i % 3));
  }
  s.dispose();
});
