/**
 * The scheduler's idle poller hook: a registered poller is polled when the
 * thread goes idle and parked when nothing comes; a poller that always has
 * something never keeps timers or I/O from running; a removed poller is
 * left alone; a node going idle polls; bad spin options are refused.
 * @module
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addIdlePoller, pollIdle, setIdleSpin, type IdlePoller } from './scheduler.js';
import { Node } from './node.js';
import { eventually } from '../../test/support.js';

/** A poller that counts its polls and parks, and finds something while `busy` says so. */
function counting(busy: () => boolean = () => false): IdlePoller & { polls: number; parks: number } {
  return {
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

describe('idle poller', () => {
  afterEach(() => setIdleSpin({}));

  it('is polled when the thread may have work, then parked when nothing comes', async () => {
    for (const maxSpinUs of [0, 50]) {
      setIdleSpin({ maxSpinUs });
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

  it('refuses spin options out of range', () => {
    assert.throws(() => setIdleSpin({ maxSpinUs: -1 }), RangeError);
    assert.throws(() => setIdleSpin({ maxSpinUs: Number.NaN }), RangeError);
    assert.throws(() => setIdleSpin({ maxChainUs: 0 }), RangeError);
  });
});
