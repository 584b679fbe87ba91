/**
 * Signal ordering: every signal from one process to another (message, exit
 * signal, DOWN, link, unlink) arrives in the order it was sent. The Erlang
 * expectations are measured by ordering.probe.erl beside this file.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { type Atom, atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';
import { Node } from './node.js';
import type { Process } from './process.js';

function newNode(): Node {
  return new Node({ name: 'order@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

/** A short label of a message: the tag of a tuple, or the message itself. */
function label(msg: unknown): unknown {
  return msg instanceof Tuple ? (msg.elements[0] as Atom).name : msg;
}

/**
 * A process that holds on its first message until `gate` resolves (so the
 * signals under test queue up behind it), then records what it handles.
 */
function recorder(node: Node, trapExit: boolean) {
  const gate = deferred();
  const seen: unknown[] = [];
  let proc!: Process;
  const pid = node.spawn(
    {
      init: (p) => {
        proc = p;
      },
      async handleMessage(msg) {
        if (msg === 'hold') return gate.promise;
        seen.push(msg);
      },
    },
    { trapExit },
  );
  return {
    pid,
    seen,
    get proc() {
      return proc;
    },
    async hold() {
      node.send(pid, 'hold');
      await eventually(() => node.processInfo(pid)?.status === 'suspended', 10_000, 'recorder suspended');
    },
    release: () => gate.resolve(),
  };
}

describe('signal ordering between two processes', () => {
  test("a worker's result arrives before its DOWN", async () => {
    await using node = newNode();
    const w = recorder(node, false);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    const worker = node.spawn({
      handleMessage(msg, proc) {
        proc.send(w.pid, msg);
        proc.exit('done');
      },
    });
    w.proc.monitor(worker);
    node.send(worker, 'result');
    await eventually(() => !node.isAlive(worker));
    w.release();
    await eventually(() => w.seen.length === 2);
    assert.deepEqual(w.seen.map(label), ['result', 'DOWN']);
  });

  test('a trapping process handles the messages of a linked process before its EXIT', async () => {
    await using node = newNode();
    const w = recorder(node, true);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    const parent = node.spawn({
      init(proc) {
        proc.link(w.pid);
      },
      handleMessage(_msg, proc) {
        for (const n of [1, 2, 3]) proc.send(w.pid, n);
        proc.exit('bye');
      },
    });
    node.send(parent, 'go');
    await eventually(() => !node.isAlive(parent));
    w.release();
    await eventually(() => w.seen.length === 4);
    assert.deepEqual(w.seen.map(label), [1, 2, 3, 'EXIT']);
    assert.equal((w.seen[3] as Tuple).elements[2], atom('bye'));
  });

  test('exit/2 to a trapping process arrives after the messages its sender sent before', async () => {
    await using node = newNode();
    const w = recorder(node, true);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    node.send(w.pid, 'ordinary');
    node.exit(w.pid, atom('some_reason'));
    node.send(w.pid, 'later');
    w.release();
    await eventually(() => w.seen.length === 3);
    assert.deepEqual(w.seen.map(label), ['ordinary', 'EXIT', 'later']);
  });

  test('nodedown arrives in order with messages', async () => {
    await using node = newNode();
    const w = recorder(node, false);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    node.send(w.pid, 'first');
    w.proc.monitorNode('elsewhere@127.0.0.1'); // no distribution: nodedown at once
    w.release();
    await eventually(() => w.seen.length === 2);
    assert.deepEqual(w.seen.map(label), ['first', 'nodedown']);
  });

  test('kill takes effect on arrival: queued messages are not handled', async () => {
    await using node = newNode();
    const w = recorder(node, true);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    const exit = node.waitExit(w.pid);
    node.send(w.pid, 'queued');
    node.exit(w.pid, atom('kill'));
    assert.equal(await exit, atom('killed'));
    w.release();
    assert.deepEqual(w.seen, []);
  });

  test('an untrapped exit signal takes effect after the earlier messages of its sender were delivered', async () => {
    await using node = newNode();
    // The victim forwards what it handles to an observer; the sender's message is in its mailbox
    // before the exit signal, and the exit ends it on arrival (it is not trapping).
    const seen: unknown[] = [];
    const observer = node.spawn({ handleMessage: (m) => void seen.push(m) });
    const victim = node.spawn({
      handleMessage(msg, proc) {
        proc.send(observer, msg);
      },
    });
    const sender = node.spawn({
      handleMessage(_msg, proc) {
        proc.send(victim, 'before');
        proc.sendExit(victim, atom('stop_now'));
      },
    });
    const exit = node.waitExit(victim);
    node.send(sender, 'go');
    assert.equal(await exit, atom('stop_now'));
    assert.deepEqual(seen, [], 'the victim exited on arrival of the signal, before its next turn');
    assert.equal(node.processInfo(observer)?.messageQueueLength, 0);
  });

  test('demonitor with flush removes a DOWN already queued behind other messages', async () => {
    await using node = newNode();
    const w = recorder(node, false);
    await eventually(() => w.proc !== undefined);
    await w.hold();
    const t = node.spawn({ handleMessage() {} });
    const ref = w.proc.monitor(t);
    node.send(w.pid, 'a');
    node.exit(t, atom('kill'));
    node.send(w.pid, 'b');
    assert.equal(node.processInfo(w.pid)?.messageQueueLength, 3);
    w.proc.demonitor(ref, { flush: true });
    w.release();
    await eventually(() => w.seen.length === 2);
    assert.deepEqual(w.seen, ['a', 'b']);
  });
});
