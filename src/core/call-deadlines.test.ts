/**
 * The call deadline structure on a mocked clock: deadlines counted from the
 * turn clock, fired in deadline order across timeouts, finished calls never
 * timed out, the timer kept alive only while calls wait, and the scheduler's
 * turn clock itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { CallDeadlines, type TimedCall, type TurnClock } from './call-deadlines.js';
import { Scheduler } from './scheduler.js';

/** A call as the structure sees it: records when it timed out. */
class FakeCall implements TimedCall {
  deadline = Infinity;
  done = false;
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}
  timedOut(timeout: number): void {
    this.done = true;
    this.log.push(`${this.name}:${timeout}@${Date.now()}`);
  }
}

describe('call deadlines', () => {
  let turnClock = 0;
  /** Whether the clock signals the turn's end (the scheduler's turn marker is pending). */
  let marking = true;
  /** How far behind real time the timer runs (a busy event loop). */
  let lag = 0;
  let deadlines: CallDeadlines;
  let log: string[];
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1000 });
    turnClock = 1000;
    marking = true;
    lag = 0;
    log = [];
    const clock: TurnClock = {
      now: () => turnClock,
      get turnEndPending() {
        return marking;
      },
    };
    deadlines = new CallDeadlines(clock, () => Date.now() + lag);
  });
  afterEach(() => {
    deadlines.clear();
    mock.timers.reset();
  });
  const call = (name: string, timeout: number): FakeCall => {
    const c = new FakeCall(name, log);
    deadlines.add(c, timeout);
    return c;
  };

  test('a deadline is the turn clock plus the timeout; the call times out once the clock passes it, not before', () => {
    const c = call('a', 100);
    assert.equal(c.deadline, 1100);
    mock.timers.tick(99);
    assert.deepEqual(log, []);
    mock.timers.tick(1);
    assert.deepEqual(log, ['a:100@1100']);
    assert.equal(deadlines.timerState, 'none');
  });

  test('a turn clock read earlier in the slice counts the timeout from that reading', () => {
    mock.timers.tick(30); // real time 1030, the turn clock still reads 1000
    const c = call('a', 100);
    assert.equal(c.deadline, 1100);
    mock.timers.tick(70);
    assert.deepEqual(log, ['a:100@1100']);
  });

  test('calls of different timeouts, added in any order, time out in deadline order', () => {
    call('slow', 300);
    turnClock = 1010;
    call('fast', 50);
    call('mid', 200);
    turnClock = 1020;
    call('slow2', 300);
    call('zero', 0);
    mock.timers.tick(400);
    // All five are due by now whatever the timer's granularity: the order is their deadlines'.
    assert.deepEqual(
      log.map((l) => l.split('@')[0]),
      ['zero:0', 'fast:50', 'mid:200', 'slow:300', 'slow2:300'],
    );
  });

  test('calls found due at once by a late timer still fail in deadline order', () => {
    call('a', 100);
    turnClock = 1050;
    call('b', 20); // deadline 1070: earlier than a's, re-arms the timer
    call('c', 100); // 1150
    // The timer (armed for b's 1070) runs 200 ms late: by then all three are due.
    lag = 200;
    mock.timers.tick(70);
    assert.deepEqual(
      log.map((l) => l.split('@')[0]),
      ['b:20', 'a:100', 'c:100'],
    );
  });

  test('a finished call never times out; the calls behind it still do', () => {
    const a = call('a', 100);
    turnClock = 1040;
    call('b', 100);
    a.done = true;
    deadlines.done();
    assert.equal(deadlines.waiting, 1);
    mock.timers.tick(100);
    assert.deepEqual(log, []);
    mock.timers.tick(40);
    assert.deepEqual(log, ['b:100@1140']);
  });

  test('finished calls at the head are dropped when the next call is added', () => {
    for (let i = 0; i < 100; i++) {
      const c = call(`c${i}`, 5000);
      c.done = true;
      deadlines.done();
    }
    assert.equal(deadlines.waiting, 0);
    const last = call('last', 5000);
    assert.equal(deadlines.waiting, 1);
    last.done = true;
    deadlines.done();
    mock.timers.tick(5000);
    assert.deepEqual(log, []);
  });

  test('the timer keeps the event loop alive while a call waits, and stops at the end of the turn the last one finished in', () => {
    assert.equal(deadlines.timerState, 'none');
    const a = call('a', 1000);
    assert.equal(deadlines.timerState, 'ref');
    a.done = true;
    deadlines.done();
    assert.equal(deadlines.timerState, 'ref', 'until the turn ends: a call that follows at once finds it ref\'d');
    const b = call('b', 1000);
    b.done = true;
    deadlines.done();
    deadlines.turnEnd();
    assert.equal(deadlines.timerState, 'unref');
    const c = call('c', 1000);
    assert.equal(deadlines.timerState, 'ref');
    deadlines.turnEnd();
    assert.equal(deadlines.timerState, 'ref', 'a call still waits');
    c.done = true;
    deadlines.done();
    deadlines.turnEnd();
    assert.equal(deadlines.timerState, 'unref');
    mock.timers.tick(1000);
    assert.equal(deadlines.timerState, 'none');
    assert.deepEqual(log, []);
  });

  test('with no turn end coming, the timer stops keeping the loop alive as soon as the last call finishes', () => {
    marking = false;
    const a = call('a', 1000);
    assert.equal(deadlines.timerState, 'ref');
    a.done = true;
    deadlines.done();
    assert.equal(deadlines.timerState, 'unref');
    call('b', 1000);
    assert.equal(deadlines.timerState, 'ref');
  });

  test('a call that times out leaves the timer unref\'d once none waits', () => {
    call('a', 10);
    mock.timers.tick(10);
    assert.deepEqual(log, ['a:10@1010']);
    deadlines.done(); // as Calls does when the timed-out call finishes
    assert.equal(deadlines.timerState, 'none');
    const b = call('b', 10);
    assert.equal(deadlines.timerState, 'ref');
    b.done = true;
    deadlines.done();
    deadlines.turnEnd();
    assert.equal(deadlines.timerState, 'unref');
  });

  test('after firing, the timer is armed again for the earliest call left', () => {
    call('a', 100);
    turnClock = 1500;
    call('b', 100);
    mock.timers.tick(100);
    assert.deepEqual(log, ['a:100@1100']);
    assert.equal(deadlines.timerState, 'ref');
    mock.timers.tick(500);
    assert.deepEqual(log, ['a:100@1100', 'b:100@1600']);
  });

  test('clear drops every call: none times out', () => {
    call('a', 10);
    call('b', 20);
    deadlines.clear();
    assert.equal(deadlines.timerState, 'none');
    assert.equal(deadlines.waiting, 0);
    mock.timers.tick(100);
    assert.deepEqual(log, []);
    call('c', 10); // usable again
    mock.timers.tick(10);
    assert.deepEqual(log, ['c:10@1110']);
  });
});

/** Runs four processes' turns on `s`: the fourth run reads the clock and arms the turn marker. */
async function readClock(s: Scheduler): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => s.schedule({ queued: false, runSlice: () => (resolve(), false) }));
}

test('with a real scheduler, the timer is ref\'d while a call waits, and unref\'d when the last finishes or, in a marked turn, when the loop turns', async () => {
  const scheduler = new Scheduler();
  const deadlines = new CallDeadlines(scheduler);
  scheduler.onTurnEnd = () => deadlines.turnEnd();
  const timer = (): NodeJS.Timeout | undefined => (deadlines as unknown as { timer: NodeJS.Timeout | undefined }).timer;
  const a = new FakeCall('a', []);
  deadlines.add(a, 60_000);
  assert.equal(timer()?.hasRef(), true);
  a.done = true;
  deadlines.done();
  assert.equal(timer()?.hasRef(), false, 'no turn marker: at once');
  await readClock(scheduler);
  assert.equal(scheduler.turnEndPending, true);
  const b = new FakeCall('b', []);
  deadlines.add(b, 60_000);
  b.done = true;
  deadlines.done();
  assert.equal(timer()?.hasRef(), true);
  // The turn marker was queued before this immediate: it has run once this one does.
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(timer()?.hasRef(), false);
  deadlines.clear();
  assert.equal(timer(), undefined);
  scheduler.dispose();
});

describe('a node in a process with nothing else to do', () => {
  const core = new URL('./index.js', import.meta.url).href;
  const terms = new URL('../terms/index.js', import.meta.url).href;
  /** Runs `body` in a fresh node process (with `node` and `server` in scope); resolves with its stdout and exit code. */
  function script(body: string): Promise<{ out: string; code: number | null }> {
    const source = `import { Node } from ${JSON.stringify(core)};
import { atom } from ${JSON.stringify(terms)};
const node = new Node({ name: 'alive@127.0.0.1', logger: () => {} });
const server = node.spawn({ handleMessage() {} }); // never answers
${body}`;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ out, code }));
    });
  }

  test('lives until a waiting call times out', { timeout: 60_000 }, async () => {
    const r = await script(`node.call(server, atom('x'), { timeout: 50 }).then(() => console.log('reply'), (e) => console.log(e.name));`);
    assert.deepEqual(r, { out: 'CallTimeoutError\n', code: 0 });
  });

  test('exits once its last call is answered, long before that call\'s deadline', { timeout: 60_000 }, async () => {
    const r = await script(`const echo = node.spawn({ handleMessage(m, p) { p.reply(m.elements[1], 'pong'); } });
const answer = await node.call(echo, atom('ping'), { timeout: 3_600_000 });
console.log(answer);`);
    assert.deepEqual(r, { out: 'pong\n', code: 0 });
  });
});

describe('scheduler turn clock', () => {
  afterEach(() => mock.timers.reset());

  test('a slice with no reading of its own: each read is fresh and no turn end is signalled', () => {
    mock.timers.enable({ apis: ['Date'], now: 5000 });
    const s = new Scheduler();
    assert.equal(s.now(), 5000);
    mock.timers.tick(7);
    assert.equal(s.now(), 5007);
    assert.equal(s.turnEndPending, false);
  });

  test('a slice whose runs read the clock gives that reading until the event loop turns, then signals the turn end', async () => {
    mock.timers.enable({ apis: ['Date'], now: 100 });
    const s = new Scheduler();
    let ends = 0;
    s.onTurnEnd = () => ends++;
    mock.timers.tick(4);
    await readClock(s);
    assert.equal(s.turnEndPending, true);
    mock.timers.tick(50);
    assert.equal(s.now(), 104, 'the reading of the slice');
    // The slice ends when the event loop turns (a real immediate: only Date is mocked).
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(ends, 1);
    assert.equal(s.turnEndPending, false);
    assert.equal(s.now(), 154);
    s.dispose();
  });
});
