/** Process info: reductions, the memory estimate and message tracing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { Pid } from '../terms/identifiers.js';
import { atom } from '../terms/atom.js';
import { Node } from './node.js';

function newNode(): Node {
  return new Node({ name: 'info@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

test('reductions count the messages a process handled', async () => {
  await using node = newNode();
  let seen = 0;
  const pid = node.spawn({ handleMessage: () => void seen++ });
  assert.equal(node.processInfo(pid)?.reductions, 0);
  for (let i = 0; i < 5; i++) node.send(pid, i);
  await eventually(() => seen === 5);
  assert.equal(node.processInfo(pid)?.reductions, 5);
});

test('the memory estimate grows with the mailbox and the links', async () => {
  await using node = newNode();
  const gate = deferred<void>();
  const pid = node.spawn({ handleMessage: () => gate.promise });
  const before = node.processInfo(pid)?.memory ?? 0;
  assert.ok(before > 0);
  for (let i = 0; i < 100; i++) node.send(pid, i);
  await eventually(() => node.processInfo(pid)?.status === 'suspended');
  const queued = node.processInfo(pid)?.memory ?? 0;
  assert.ok(queued > before + 99 * 8, `${queued} > ${before}`);
  gate.resolve();
});

test('traceMessages reports each delivered message until turned off; unknown pids give false', async () => {
  await using node = newNode();
  const pid = node.spawn({ handleMessage() {} });
  const traced: unknown[] = [];
  assert.equal(node.traceMessages(pid, (m) => traced.push(m)), true);
  node.send(pid, 'a');
  node.send(pid, atom('b'));
  assert.deepEqual(traced, ['a', atom('b')]);
  assert.equal(node.traceMessages(pid, undefined), true);
  node.send(pid, 'c');
  assert.equal(traced.length, 2);
  assert.equal(node.traceMessages(new Pid(node.name, 999_999, 0, 1), () => {}), false);
  const before = node.messagesDelivered();
  node.send(pid, 'd');
  assert.equal(node.messagesDelivered(), before + 1);
});
