/**
 * Priority messages (EEP 76): a message sent with `sendPriority` to an active
 * priority alias is received after the priority messages already queued and
 * before every ordinary one; to anything else it is ordinary. The Erlang
 * expectations were measured on OTP 29 (`alias([priority])`, `erlang:send/3`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import type { Ref } from '../terms/identifiers.js';
import { Node } from './node.js';
import type { Process } from './process.js';
import { Queue } from './queue.js';
import { serverRef } from './protocol.js';

function newNode(): Node {
  return new Node({ name: 'prio@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

/** A process that holds on 'hold' until released, so messages queue up behind it; then records them. */
function holder(node: Node) {
  const gate = deferred();
  const seen: unknown[] = [];
  let proc!: Process;
  const pid = node.spawn({
    init: (p) => {
      proc = p;
    },
    async handleMessage(msg) {
      if (msg === 'hold') return gate.promise;
      seen.push(msg);
    },
  });
  node.send(pid, 'hold');
  return { pid, seen, release: () => gate.resolve(), proc: () => proc };
}

describe('priority messages (EEP 76)', () => {
  test('a priority message overtakes queued ordinary messages; priority messages keep their order', async () => {
    const node = newNode();
    try {
      const h = holder(node);
      await eventually(() => h.proc() !== undefined);
      const prio: Ref = h.proc().alias({ priority: true });
      const plain: Ref = h.proc().alias();
      node.send(h.pid, 'o1');
      node.send(prio, 'o2'); // ordinary send to a priority alias: ordinary
      node.sendPriority(prio, 'p1');
      node.sendPriority(plain, 'n1'); // priority send to a plain alias: ordinary
      node.sendPriority(h.pid, 'n2'); // priority send to a pid: ordinary
      node.send(h.pid, 'o3');
      node.sendPriority(prio, 'p2');
      node.sendPriority(serverRef(prio), 'p3');
      await eventually(() => node.processInfo(h.pid)?.messageQueueLength === 8);
      h.release();
      await eventually(() => h.seen.length === 8);
      assert.deepEqual(h.seen, ['p1', 'p2', 'p3', 'o1', 'o2', 'n1', 'n2', 'o3']);
    } finally {
      await node.stop();
    }
  });

  test('a process sends priority messages to itself; unalias makes later ones drop', async () => {
    const node = newNode();
    try {
      const seen: unknown[] = [];
      const pid = node.spawn({
        init: (p) => {
          const a = p.alias({ priority: true });
          p.send(p.self, 'o1');
          p.sendPriority(a, 'p1');
          assert.equal(p.unalias(a), true);
          p.sendPriority(a, 'dropped');
          p.send(a, 'dropped too');
          p.send(p.self, 'o2');
        },
        handleMessage: (m) => void seen.push(m),
      });
      await eventually(() => seen.length === 3);
      assert.deepEqual(seen, ['p1', 'o1', 'o2']);
      assert.ok(node.processInfo(pid) !== undefined);
    } finally {
      await node.stop();
    }
  });

  test('an exited process drops priority messages; its priority aliases are forgotten', async () => {
    const node = newNode();
    try {
      let alias!: Ref;
      const pid = node.spawn({
        init: (p) => {
          alias = p.alias({ priority: true });
        },
        handleMessage: (_m, p) => p.exit('normal'),
      });
      await eventually(() => alias !== undefined);
      node.send(pid, 'stop');
      await eventually(() => node.processInfo(pid) === undefined);
      node.sendPriority(alias, 'late'); // no throw, nothing delivered
      assert.equal(node._stats().aliases, 0);
    } finally {
      await node.stop();
    }
  });
});

describe('Queue.pushPriority', () => {
  test('priority items go after queued priority items, before ordinary ones, across growth and wrap-around', () => {
    const q = new Queue<string>(4);
    q.push('a');
    q.push('b');
    q.shift(); // head moves, so pushPriority wraps the head backwards
    q.pushPriority('P1');
    q.push('c');
    q.pushPriority('P2');
    q.pushPriority('P3'); // grows
    assert.deepEqual(q.toArray(), ['P1', 'P2', 'P3', 'b', 'c']);
    assert.equal(q.priorityLength, 3);
    assert.equal(q.shift(), 'P1');
    q.pushPriority('P4');
    assert.deepEqual(q.toArray(), ['P2', 'P3', 'P4', 'b', 'c']);
  });

  test('removeWhere and clear keep the priority count right', () => {
    const q = new Queue<string>(0);
    q.pushPriority('P1');
    q.push('x');
    q.pushPriority('P2');
    assert.equal(q.removeWhere((v) => v === 'P1'), 1);
    assert.equal(q.priorityLength, 1);
    q.pushPriority('P3');
    assert.deepEqual(q.toArray(), ['P2', 'P3', 'x']);
    assert.equal(q.removeWhere((v) => v === 'x'), 1);
    assert.equal(q.priorityLength, 2);
    q.clear();
    assert.equal(q.priorityLength, 0);
    q.push('y');
    q.pushPriority('P5');
    assert.deepEqual(q.toArray(), ['P5', 'y']);
    q.compact();
    q.pushPriority('P6');
    assert.deepEqual(q.toArray(), ['P5', 'P6', 'y']);
  });

  test('sendPriority is typed like send: a ServerRef only takes its info messages', () => {
    const node = newNode();
    const ref = serverRef<{ info: 'tick' }>('x');
    node.sendPriority(ref, 'tick');
    // @ts-expect-error not an info message of the protocol
    node.sendPriority(ref, 'tock');
    return node.stop();
  });
});
