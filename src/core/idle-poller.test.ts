/**
 * The scheduler's idle poller hook: a registered poller is polled when the
 * thread goes idle and parked when nothing comes; a poller that always has
 * something never keeps timers or I/O from running; a removed poller is
 * left alone; a node going idle polls; bad spin options are refused. A
 * poller fed by the event loop (`eventLoop`) has the spin's steps turn the
 * event loop, while memory-fed pollers alone chain through microtasks; a
 * spin with nothing found ends parked, at once with `maxSpinUs: 0`; spins
 * that keep ending parked stop the spinning (one stretch in 32 probes), and
 * spins that pay bring it back (the average has a floor); a spin during
 * which the process was preempted counts as more than one wasted, unless
 * the data kept coming within a few steps (a busy peer); a poller
 * that removes itself in its poll does not make the next one miss its poll. Pollers
 * that say whether they are ready are waited on in a tight loop (not when one
 * cannot say, nor in a stretch a socket started), which holds up neither
 * timers nor immediates and ends parked. The preemption
 * count is the tests' own, and no assertion depends on how long anything takes.
 * @module
 */
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { addIdlePoller, idleSpinState, pollIdle, setIdleSpin, type IdlePoller } from './scheduler.js';
import { Node } from './node.js';
import { eventually } from '../../test/support.js';

/** A poller that counts its polls and parks, and finds something while `busy` says so (fed by the event loop when `eventLoop`). */
function counting(busy: () => boolean = () => false, eventLoop = false): IdlePoller & { polls: number; parks: number } {
  return {
    eventLoop,
    polls: 0,
    parks: 0,
    poll() {
      this.polls++;
      return busy();
    },
    park() {
      this.parks++;
    },
  };
}

/** The spin options of these tests: never preempted (so nothing depends on the machine's load), and `more`. */
function spin(more: { maxSpinUs?: number; maxChainUs?: number; preemptions?: () => number } = {}): void {
  setIdleSpin({ preemptions: () => 0, ...more });
}

describe('idle poller', () => {
  beforeEach(() => spin());
  after(() => setIdleSpin({}));

  it('is polled when the thread may have work, then parked when nothing comes', async () => {
    for (const maxSpinUs of [0, 50]) {
      spin({ maxSpinUs });
      const p = counting();
      const remove = addIdlePoller(p);
      try {
        pollIdle();
        await eventually(() => p.parks === 1, 10_000, `parked (maxSpinUs ${maxSpinUs})`);
        assert.ok(p.polls >= 1);
        const polls = p.polls;
        await new Promise((r) => setTimeout(r, 5));
        assert.equal(p.polls, polls, 'a parked poller is not polled');
        assert.equal(p.parks, 1);
      } finally {
        remove();
      }
    }
  });

  it('a source that always has something does not keep timers or I/O waiting', async () => {
    const p = counting(() => true);
    const remove = addIdlePoller(p);
    try {
      pollIdle();
      // Polling never parks while there is work, but yields to the event loop: the timer fires.
      await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setImmediate(r));
      assert.ok(p.polls > 0);
      assert.equal(p.parks, 0);
    } finally {
      remove();
    }
    const polls = p.polls;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(p.polls, polls, 'a removed poller is not polled');
  });

  it('a node whose processes have run everything polls', async () => {
    const p = counting();
    const remove = addIdlePoller(p);
    const node = new Node({ name: 'idle@127.0.0.1', logger: () => {}, shutdownTimeout: 100 });
    try {
      await new Promise((r) => setTimeout(r, 5));
      const parks = p.parks;
      const pid = node.spawn({ handleMessage: () => {} });
      node.send(pid, 'hello');
      await eventually(() => p.parks > parks, 10_000, 'polled and parked again after the run');
    } finally {
      remove();
      await node.stop();
    }
  });

  /**
   * Whether the event loop turned between a spin's first and second poll: the first poll finds
   * something (so a second poll comes whatever the clock says) and queues an immediate; the second
   * reads whether it ran.
   */
  async function turnedBetweenPolls(eventLoop: boolean, startedBySocket = eventLoop): Promise<boolean> {
    let turned = false;
    let seen: boolean | undefined;
    const p = counting(() => {
      if (p.polls === 1) {
        setImmediate(() => (turned = true));
        return true;
      }
      if (p.polls === 2) seen = turned;
      return false;
    }, eventLoop);
    const remove = addIdlePoller(p);
    try {
      pollIdle(startedBySocket);
      await eventually(() => p.parks === 1, 10_000, 'parked');
      assert.ok(seen !== undefined, 'polled twice');
      return seen;
    } finally {
      remove();
    }
  }

  it('a poller fed by the event loop has each step turn the event loop', async () => {
    assert.equal(await turnedBetweenPolls(true), true);
  });

  it('memory-fed pollers alone are polled without turning the event loop', async () => {
    spin({ maxChainUs: 100_000 }); // no turn for the chain's sake within the test
    assert.equal(await turnedBetweenPolls(false), false);
  });

  it('in a stretch a socket started, memory-fed pollers are polled on its steps too', async () => {
    const fed = counting(() => false, true);
    const removeFed = addIdlePoller(fed);
    try {
      assert.equal(idleSpinState().eventLoopPollers, 1);
      assert.equal(await turnedBetweenPolls(false, true), true);
      assert.ok(fed.polls >= 2);
    } finally {
      removeFed();
      removeFed(); // removing twice is harmless
    }
    assert.deepEqual([idleSpinState().pollers, idleSpinState().eventLoopPollers], [0, 0]);
  });

  it('a stretch no socket started polls memory-fed pollers without turning the event loop, a socket poller registered or not', async () => {
    spin({ maxChainUs: 100_000 });
    const fed = counting(() => false, true);
    const removeFed = addIdlePoller(fed);
    try {
      assert.equal(await turnedBetweenPolls(false, false), false);
    } finally {
      removeFed();
    }
  });

  it('a thread whose pollers are all fed by the event loop does not spin when it goes idle, only after a write', async () => {
    const fed = counting(() => false, true);
    const remove = addIdlePoller(fed);
    try {
      pollIdle();
      assert.equal(idleSpinState().state, 'idle');
      await new Promise((r) => setImmediate(r));
      assert.equal(fed.polls, 0, 'not polled');
      pollIdle(true);
      assert.equal(idleSpinState().state, 'polling');
      await eventually(() => fed.parks === 1, 10_000, 'parked');
      assert.ok(fed.polls >= 1);
    } finally {
      remove();
    }
  });

  it('a spin fed by the event loop with nothing found ends parked; with maxSpinUs 0 after one poll', async () => {
    for (const maxSpinUs of [0, 200]) {
      spin({ maxSpinUs });
      const p = counting(() => false, true);
      const remove = addIdlePoller(p);
      try {
        pollIdle(true);
        assert.equal(idleSpinState().state, 'polling');
        await eventually(() => p.parks === 1, 10_000, `parked (maxSpinUs ${maxSpinUs})`);
        assert.equal(idleSpinState().state, 'parked');
        if (maxSpinUs === 0) assert.equal(p.polls, 1, 'parked at once');
        else assert.ok(p.polls >= 2, `spun before parking (${p.polls} polls)`);
        const polls = p.polls;
        await new Promise((r) => setTimeout(r, 2));
        assert.equal(p.polls, polls, 'a parked poller is not polled');
      } finally {
        remove();
      }
      assert.equal(idleSpinState().state, 'idle');
    }
  });

  it('spins that end parked stop the spinning, but for one probe in 32; spins that pay bring it back', async () => {
    spin({ maxSpinUs: 50 });
    // While `pays`, traffic as calls make it: something is found on every other poll, 16 times a
    // stretch, each at least 5 µs after the one before (busy-waited here), so the spin waited for it
    // and it counts as paid; then nothing, and the stretch ends parked (one wasted spin).
    let pays = false;
    let inStretch = 0;
    const p: IdlePoller & { parks: number } = {
      eventLoop: true,
      parks: 0,
      poll() {
        inStretch++;
        if (!pays || inStretch > 32) return false;
        if (inStretch % 2 === 1) {
          const t = performance.now();
          while (performance.now() - t < 0.005);
          return false;
        }
        return true;
      },
      park() {
        this.parks++;
      },
    };
    const remove = addIdlePoller(p);
    /**
     * One idle stretch, polled to its park; returns its spin budget and its polls. It begins at least
     * 1 ms after the last one parked: longer than a spin, so a stretch that did not spin does not count
     * as one that would have paid.
     */
    let lastPark = 0;
    const stretch = async (): Promise<{ spinUs: number; polls: number }> => {
      while (performance.now() - lastPark < 1) await new Promise((r) => setTimeout(r, 1));
      inStretch = 0;
      const parks = p.parks;
      pollIdle(true);
      const spinUs = idleSpinState().spinUs;
      await eventually(() => p.parks === parks + 1, 10_000, 'parked');
      lastPark = performance.now();
      return { spinUs, polls: inStretch };
    };
    try {
      // Nothing ever comes: three wasted spins (1 -> 7/8 -> 49/64 -> 343/512) bring the average below 3/4.
      for (let i = 0; i < 3; i++) assert.equal((await stretch()).spinUs, 50, `spin ${i} while it has paid`);
      assert.ok(idleSpinState().pays < 0.75);
      // Now at most one stretch in 32 spins (the probe); the others poll once and park.
      const spins: number[] = [];
      for (let i = 0; i < 32; i++) {
        const s = await stretch();
        if (s.spinUs === 0) assert.equal(s.polls, 1, 'not spinning: parked after one poll');
        spins.push(s.spinUs);
      }
      assert.equal(spins.filter((u) => u !== 0).length, 1, 'exactly one probe in 32 stretches');
      assert.equal(idleSpinState().pays, 0.6, 'the average stays at its floor');
      // Replies come again: the probes pay, and spinning comes back.
      pays = true;
      for (let i = 0; i < 32 * 8 && idleSpinState().pays < 0.75; i++) await stretch();
      assert.ok(idleSpinState().pays >= 0.75, `spinning pays again (${idleSpinState().pays})`);
      assert.equal((await stretch()).spinUs, 50);
    } finally {
      remove();
    }
  });

  it('a spin during which the process was preempted counts as more than one wasted spin', async () => {
    for (const maxSpinUs of [50, 10_000]) {
      let switches = 0;
      spin({ maxSpinUs, preemptions: () => switches });
      const p = counting(() => {
        switches++; // preempted all along
        return false;
      }, true);
      const remove = addIdlePoller(p);
      try {
        pollIdle(true);
        await eventually(() => p.parks === 1, 10_000, 'parked');
        const pays = idleSpinState().pays;
        assert.ok(pays < 0.875 && pays >= 0.6, `maxSpinUs ${maxSpinUs}: lower than after a wasted spin alone (7/8), not below the floor: ${pays}`);
      } finally {
        remove();
      }
    }
  });

  it('a preemption while the data keeps coming within a few steps does not count against spinning (a busy peer)', async () => {
    let switches = 0;
    spin({ maxSpinUs: 10_000, preemptions: () => switches });
    let polls = 0;
    let t0 = Number.NaN;
    let lowest = 1;
    const p = counting(() => {
      switches++; // preempted all along
      if (t0 !== t0) t0 = performance.now();
      lowest = Math.min(lowest, idleSpinState().pays);
      // Something every other step for 5 ms (the preemption count is checked every half millisecond), then nothing.
      return ++polls % 2 === 0 && performance.now() - t0 < 5;
    }, true);
    const remove = addIdlePoller(p);
    try {
      pollIdle(true);
      await eventually(() => performance.now() - t0 >= 5, 10_000, 'five milliseconds of a busy spin');
      assert.equal(lowest, 1, 'no preemption counted while the data kept coming');
      // Then nothing comes, preempted still: that wait counts (as in the test above).
      await eventually(() => p.parks === 1, 10_000, 'parked');
      assert.ok(idleSpinState().pays < 0.875, `a long wait while preempted counts: ${idleSpinState().pays}`);
    } finally {
      remove();
    }
  });

  it('preemptions do not count against a spin no socket started (the threads of one process preempt each other)', async () => {
    let switches = 0;
    spin({ maxSpinUs: 50, preemptions: () => switches });
    const p = counting(() => {
      switches++; // preempted all along
      return false;
    });
    const remove = addIdlePoller(p);
    try {
      pollIdle();
      await eventually(() => p.parks === 1, 10_000, 'parked');
      assert.equal(idleSpinState().pays, 7 / 8, 'one wasted spin, nothing more');
    } finally {
      remove();
    }
  });

  it('memory-fed pollers park as usual once the last poller fed by the event loop is gone', async () => {
    const fed = counting(() => false, true);
    const removeFed = addIdlePoller(fed);
    pollIdle(true);
    await eventually(() => fed.parks === 1, 10_000, 'the event-loop-fed poller parked');
    removeFed();
    // Longer than a chain of microtask steps may last (maxChainUs, 1 ms) since the last step.
    const t = performance.now();
    while (performance.now() - t < 2) await new Promise((r) => setTimeout(r, 1));
    const ring = counting();
    const remove = addIdlePoller(ring);
    try {
      pollIdle();
      await eventually(() => ring.parks === 1, 10_000, 'the memory-fed poller parked');
    } finally {
      remove();
    }
  });

  it('a poller removed by its own poll does not make the next one miss its turn (maxSpinUs 0)', async () => {
    spin({ maxSpinUs: 0 });
    const next = counting();
    let removeFirst = (): void => {};
    const first: IdlePoller = {
      poll() {
        removeFirst(); // as a socket that saw its end destroys itself
        return false;
      },
      park() {},
    };
    removeFirst = addIdlePoller(first);
    const removeNext = addIdlePoller(next);
    try {
      pollIdle();
      await eventually(() => next.parks === 1, 10_000, 'parked');
      assert.ok(next.polls >= 1, 'polled before parking');
    } finally {
      removeNext();
    }
  });

  /** A memory-fed poller with `ready()`: ready (and then finding something once) from its `at`-th check on. */
  function checkable(at: number): IdlePoller & { polls: number; parks: number; checks: number; found: number } {
    return {
      polls: 0,
      parks: 0,
      checks: 0,
      found: 0,
      ready() {
        return ++this.checks >= at && this.found === 0;
      },
      poll() {
        this.polls++;
        if (this.checks < at || this.found !== 0) return false;
        this.found++;
        return true;
      },
      park() {
        this.parks++;
      },
    };
  }

  it('pollers that can say they are ready are waited on in a tight loop, and polled as soon as one is', async () => {
    spin({ maxSpinUs: 10_000 });
    const p = checkable(2000);
    const remove = addIdlePoller(p);
    try {
      // A spin that parks before the poller is ready (the thread was descheduled for the whole budget) is begun again.
      for (let i = 0; i < 20 && p.found === 0; i++) {
        const parks = p.parks;
        pollIdle();
        await eventually(() => p.found === 1 || p.parks > parks, 10_000, 'found or parked');
      }
      assert.equal(p.found, 1, 'found');
      // Stepping would poll once per check; the tight loop checks at least 32 times between two clock readings.
      assert.ok(p.polls * 32 <= p.checks + 32 * 4, `${p.polls} polls for ${p.checks} checks`);
      await eventually(() => p.parks > 0, 10_000, 'parked after');
    } finally {
      remove();
    }
  });

  it('no tight wait while a memory-fed poller cannot say whether it is ready, nor in a stretch a socket started', async () => {
    spin({ maxSpinUs: 200 });
    const p = checkable(Infinity);
    const removeP = addIdlePoller(p);
    try {
      const plain = counting();
      const removePlain = addIdlePoller(plain);
      try {
        pollIdle();
        await eventually(() => plain.parks === 1, 10_000, 'parked');
        assert.equal(p.checks, 0, 'never checked');
        assert.ok(p.polls >= 2, 'stepped instead');
      } finally {
        removePlain();
      }
      const fed = counting(() => false, true);
      const removeFed = addIdlePoller(fed);
      try {
        pollIdle(true);
        await eventually(() => fed.parks === 1, 10_000, 'parked');
        assert.equal(p.checks, 0, 'never checked in a stretch a socket started');
      } finally {
        removeFed();
      }
    } finally {
      removeP();
    }
  });

  it('a tight wait that nothing ends keeps neither timers nor immediates waiting, and ends parked', async () => {
    spin({ maxSpinUs: 10_000 });
    const p = checkable(Infinity);
    const remove = addIdlePoller(p);
    try {
      pollIdle();
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 1));
      assert.ok(p.checks > 0, 'waited in a tight loop');
      await eventually(() => p.parks === 1, 10_000, 'parked once the budget is spent');
      assert.equal(idleSpinState().state, 'parked');
    } finally {
      remove();
    }
  });

  it('refuses spin options out of range', () => {
    assert.throws(() => spin({ maxSpinUs: -1 }), RangeError);
    assert.throws(() => spin({ maxSpinUs: Number.NaN }), RangeError);
    assert.throws(() => spin({ maxChainUs: 0 }), RangeError);
  });
});
