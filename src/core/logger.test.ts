import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { eventually } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import { startServer } from '../server/server.js';
import { ok } from '../server/server.js';
import { lineLogger, type Logger, type LogMethod, toNodeLogger } from './logger.js';
import { Node } from './node.js';

// Type tests: pino and console are Loggers as they are.
const fromPino: Logger = pino({ enabled: false });
const fromConsole: Logger = console;
// @ts-expect-error a logger is object first: a message-only function is not a LogMethod
const messageOnly: LogMethod = (message: string) => void message;
// @ts-expect-error a logger needs info, warn, error and debug
const partial: Logger = { error: () => {} };
void [fromPino, fromConsole, messageOnly, partial];

/** A pino logger writing JSON lines into `lines`. */
function pinoInto(lines: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'trace' }, stream);
}

test('lineLogger prints one readable line with the bindings, from its level up', () => {
  const out: string[] = [];
  const log = lineLogger({ level: 'info', write: (l) => out.push(l) });
  log.debug({ x: 1 }, 'hidden');
  log.trace({}, 'hidden');
  log.child({ node: 'a@127.0.0.1', pid: '<0.7.0>' }).child({ behavior: 'server' }).error({ reason: 'boom', n: 2 }, 'server crashed');
  log.warn({}, 'plain');
  log.info({ text: 'two words' });
  assert.deepEqual(out, [
    '[beamline error] server crashed (node=a@127.0.0.1 pid=<0.7.0> behavior=server reason=boom n=2)',
    '[beamline warn] plain',
    '[beamline info] text="two words"',
  ]);
});

test('lineLogger shows an error as its message and where it was thrown, on one line', () => {
  const out: string[] = [];
  lineLogger({ write: (l) => out.push(l) }).fatal({ err: new TypeError('bad thing') }, 'failed');
  assert.equal(out.length, 1);
  assert.match(out[0] as string, /^\[beamline fatal\] failed \(err="TypeError: bad thing at .*logger\.test\.js:\d+:\d+"\)$/);
  assert.ok(!(out[0] as string).includes('\n'));
});

test('console-like loggers get fatal, trace and child filled in', () => {
  const calls: [string, unknown, unknown][] = [];
  const partial: Logger = {
    debug: (f, m) => calls.push(['debug', f, m]),
    info: (f, m) => calls.push(['info', f, m]),
    warn: (f, m) => calls.push(['warn', f, m]),
    error: (f, m) => calls.push(['error', f, m]),
  };
  const log = toNodeLogger(partial).child({ node: 'n@h' }).child({ pid: '<0.1.0>' });
  log.fatal({ a: 1 }, 'down');
  log.trace({}, 'fine');
  assert.deepEqual(calls, [
    ['error', { node: 'n@h', pid: '<0.1.0>', a: 1 }, 'down'],
    ['debug', { node: 'n@h', pid: '<0.1.0>' }, 'fine'],
  ]);
});

test('the (level, message) function of earlier releases still works, with fields appended', () => {
  const lines: string[] = [];
  const log = toNodeLogger((level, message) => lines.push(`${level}: ${message}`)).child({ node: 'n@h' });
  log.warn({ k: 'v' }, 'careful');
  log.debug({}, 'not passed');
  log.fatal({}, 'bad');
  assert.deepEqual(lines, ['warning: careful (node=n@h k=v)', 'error: bad (node=n@h)']);
});

test('with pino, a server crash is one JSON record bound to node, pid, name and behavior', async () => {
  const records: Record<string, unknown>[] = [];
  await using node = new Node({ name: 'logs@127.0.0.1', logger: pinoInto(records), shutdownTimeout: 100 });
  const ref = await startServer(
    node,
    {
      init: () => ok(0),
      handleCast: () => {
        throw new Error('boom (test)');
      },
    },
    undefined,
    { name: 'crasher' },
  );
  node.cast(ref.pid, atom('go'));
  await eventually(() => records.some((r) => r['msg'] === 'server crashed: boom (test)'));
  const crash = records.find((r) => r['msg'] === 'server crashed: boom (test)') as Record<string, unknown>;
  assert.equal(crash['level'], 50);
  assert.equal(crash['node'], 'logs@127.0.0.1');
  assert.equal(crash['pid'], String(ref.pid));
  assert.equal(crash['name'], 'crasher');
  assert.equal(crash['behavior'], 'server');
  assert.equal((crash['err'] as { message: string }).message, 'boom (test)');
  node.log('warning', 'from the node', { extra: true });
  const last = records.at(-1) as Record<string, unknown>;
  assert.deepEqual([last['level'], last['msg'], last['node'], last['extra']], [40, 'from the node', 'logs@127.0.0.1', true]);
});

test('Process.logger binds the registered name and behavior it has when asked', async () => {
  const records: Record<string, unknown>[] = [];
  await using node = new Node({ name: 'plog@127.0.0.1', logger: pinoInto(records) });
  const pid = node.spawn({
    behavior: 'worker',
    handleMessage: (_m, ctx) => {
      ctx.logger.info({ step: 1 }, 'working');
    },
  }, { name: 'w1' });
  node.send(pid, 'go');
  await eventually(() => records.some((r) => r['msg'] === 'working'));
  const r = records.find((x) => x['msg'] === 'working') as Record<string, unknown>;
  assert.deepEqual([r['pid'], r['name'], r['behavior'], r['step'], r['node']], [String(pid), 'w1', 'worker', 1, 'plog@127.0.0.1']);
});
