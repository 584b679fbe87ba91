/**
 * Calls as OTP's gen:call makes them: calling_self, replies sent to the
 * caller's pid, `{nodedown, Node}` for unreachable nodes, and link to a dead
 * pid. Erlang expectations: ordering_probe.erl beside this file.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import { eventually, freePort, quietLogger } from '../../test/support.js';
import { startNode } from '../distribution/node-dist.js';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { CallExitError, CallTimeoutError, NoProcessError } from './errors.js';
import { Node } from './node.js';
import type { Process } from './process.js';
import { noproc } from './reasons.js';
import type { Kernel } from './kernel.js';
import type { ProcessCore } from './process-core.js';

/** A process's internals: its lists of calls in flight (made, and awaited from it). */
function coreOf(node: Node, pid: Pid): ProcessCore {
  const core = (node as unknown as { rt: { kernel: Kernel } }).rt.kernel.local(pid);
  assert.ok(core !== undefined, `no process ${String(pid)}`);
  return core;
}

function newNode(): Node {
  return new Node({ name: 'calls@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

/** A hand-written server (no Server behavior): answers `{'$gen_call', {Pid, Tag}, Req}` with `Pid ! {Tag, Req * 2}`. */
const handWritten = {
  handleMessage(msg: unknown, proc: Process) {
    if (msg instanceof Tuple && msg.elements[0] === atom('$gen_call')) {
      const from = msg.elements[1] as Tuple;
      proc.send(from.elements[0] as Pid, tuple(from.elements[1], (msg.elements[2] as number) * 2));
    }
  },
};

function isExit(reason: unknown) {
  return (err: unknown) => {
    assert.ok(err instanceof CallExitError, `expected CallExitError, got ${String(err)}`);
    assert.deepEqual(err.reason, reason);
    return true;
  };
}

describe('calls', () => {
  test('a call to the caller itself fails at once with calling_self, by pid and by name', async () => {
    await using node = newNode();
    const results: unknown[] = [];
    const pid = node.spawn(
      {
        async handleMessage(_msg, proc) {
          for (const to of [proc.self, 'me']) {
            try {
              await proc.call(to, 'x', { timeout: Infinity });
            } catch (err) {
              results.push(err instanceof CallExitError ? err.reason : err);
            }
          }
        },
      },
      { name: 'me' },
    );
    node.send(pid, 'go');
    await eventually(() => results.length === 2);
    assert.deepEqual(results, [atom('calling_self'), atom('calling_self')]);
  });

  test('a reply sent to the caller pid as {Tag, Reply} completes the call and leaves no stray message', async () => {
    await using node = newNode();
    const server = node.spawn(handWritten);
    const seen: unknown[] = [];
    let result: unknown;
    const caller = node.spawn({
      async handleMessage(msg, proc) {
        if (msg === 'go') result = await proc.call(server, 21, { timeout: Infinity });
        else seen.push(msg);
      },
    });
    node.send(caller, 'go');
    await eventually(() => result !== undefined);
    assert.equal(result, 42);
    node.send(caller, 'after');
    await eventually(() => seen.length === 1);
    assert.deepEqual(seen, ['after'], 'the reply did not land in the mailbox');
    assert.equal(node._stats().aliases, 0);
  });

  test('a reply to the pid completes a call made from outside any process', async () => {
    await using node = newNode();
    const server = node.spawn(handWritten);
    assert.equal(await node.call(server, 5, { timeout: Infinity }), 10);
  });

  test('a late {Tag, Reply} sent to the pid after the call timed out is discarded, never a stray message', async () => {
    await using node = newNode();
    let from: Tuple | undefined;
    const server = node.spawn({ handleMessage: (m: unknown) => void (from = (m as Tuple).elements[1] as Tuple) });
    const seen: unknown[] = [];
    let failed: unknown;
    const caller = node.spawn({
      async handleMessage(msg, proc) {
        if (msg !== 'go') return void seen.push(msg);
        failed = await proc.call(server, 1, { timeout: 1 }).catch((e: unknown) => e);
      },
    });
    node.send(caller, 'go');
    await eventually(() => failed !== undefined && from !== undefined);
    assert.ok(failed instanceof CallTimeoutError);
    node.send(from?.elements[0] as Pid, tuple(from?.elements[1], 'late'));
    node.send(caller, 'next');
    await eventually(() => seen.length === 1);
    assert.deepEqual(seen, ['next']);
    assert.equal(node.processInfo(caller)?.messageQueueLength, 0);
  });

  test('a call to {name, node} fails with {nodedown, Node} when the node has no distribution', async () => {
    await using node = newNode();
    await assert.rejects(
      node.call({ name: 'srv', node: 'nowhere@127.0.0.1' }, 'x', { timeout: Infinity }),
      isExit(tuple(atom('nodedown'), atom('nowhere@127.0.0.1'))),
    );
    await assert.rejects(
      node.call(new Pid(atom('nowhere@127.0.0.1'), 1, 0, 1), 'x', { timeout: Infinity }),
      isExit(tuple(atom('nodedown'), atom('nowhere@127.0.0.1'))),
    );
  });

  test('a call to {name, node} fails with {nodedown, Node} when the node cannot be reached', async () => {
    const node = await startNode({
      name: `calls${randomInt(1e6)}@127.0.0.1`,
      cookie: 'c',
      epmdPort: await freePort(), // below Linux's ephemeral range: a port there may be taken by an outgoing socket
      node: { logger: () => {}, shutdownTimeout: 100 },
    });
    try {
      await assert.rejects(
        node.call({ name: 'srv', node: 'missing@127.0.0.1' }, 'x', { timeout: 30_000 }),
        isExit(tuple(atom('nodedown'), atom('missing@127.0.0.1'))),
      );
    } finally {
      await node.stop();
    }
  });
});

describe('lists of calls in flight', () => {
  test('a finished call leaves its caller\'s and its server\'s lists, whatever order the server answers in', async () => {
    await using node = newNode();
    // Holds the calls it gets until it has three, then answers the second, the third, the first.
    const held: Tuple[] = [];
    const server = node.spawn({
      handleMessage(msg: unknown, proc: Process) {
        if (!(msg instanceof Tuple) || msg.elements[0] !== atom('$gen_call')) return;
        held.push(msg);
        if (held.length < 3) return;
        for (const i of [1, 2, 0]) {
          const m = held[i] as Tuple;
          proc.reply(m.elements[1] as never, (m.elements[2] as number) * 2);
        }
        held.length = 0;
      },
    });
    const results: unknown[] = [];
    const caller = node.spawn({
      async handleMessage(msg: unknown, proc: Process) {
        if (msg === 'together') results.push(await Promise.all([1, 2, 3].map((n) => proc.call(server, n, { timeout: Infinity }))));
        if (msg === 'timeout') {
          try {
            await proc.call(server, 4, { timeout: 1 });
          } catch (err) {
            results.push(err instanceof CallTimeoutError ? 'timed out' : err);
          }
        }
      },
    });
    node.send(caller, 'together');
    await eventually(() => results.length === 1);
    assert.deepEqual(results[0], [2, 4, 6]);
    assert.equal(coreOf(node, caller).calls?.length, 0, 'the caller keeps no finished call');
    assert.equal(coreOf(node, server).awaitedBy?.length, 0, 'nor does the server');
    // A call that fails (here: times out, the server holding it) leaves the lists as well.
    node.send(caller, 'timeout');
    await eventually(() => results.length === 2);
    assert.equal(results[1], 'timed out');
    assert.equal(coreOf(node, caller).calls?.length, 0);
    assert.equal(coreOf(node, server).awaitedBy?.length, 0);
  });

  test('a call still in flight stays listed (its caller and its server exit with it failing), finished ones after it go when it finishes', async () => {
    await using node = newNode();
    const held: Tuple[] = [];
    const server = node.spawn({
      handleMessage(msg: unknown, proc: Process) {
        if (!(msg instanceof Tuple)) return;
        if (msg.elements[0] === atom('$gen_call')) {
          held.push(msg);
          // The second call is answered at once; the first waits for 'release'.
          if (held.length === 2) proc.reply((held[1] as Tuple).elements[1] as never, 'second');
        }
      },
    });
    const results: unknown[] = [];
    const caller = node.spawn({
      async handleMessage(msg: unknown, proc: Process) {
        if (msg === 'go') {
          const first = proc.call(server, 'first', { timeout: Infinity });
          results.push(await proc.call(server, 'second', { timeout: Infinity }));
          results.push(await first.catch((err: unknown) => (err instanceof CallExitError ? err.reason : err)));
        }
      },
    });
    node.send(caller, 'go');
    await eventually(() => results.length === 1);
    assert.equal(results[0], 'second');
    assert.equal(coreOf(node, caller).calls?.filter((c) => !c.done).length, 1, 'the first call is still listed');
    // The server exits: the call in flight fails with its reason, and the lists have nothing left.
    node.exit(server, atom('gone'));
    await eventually(() => results.length === 2);
    assert.equal(results[1], atom('gone'));
    assert.equal(coreOf(node, caller).calls?.length, 0);
  });
});

describe('link to a dead pid', () => {
  test('throws a noproc error in a caller that does not trap exits, which lives on', async () => {
    await using node = newNode();
    const dead = node.spawn({ handleMessage() {} });
    node.exit(dead, atom('kill'));
    let caught: unknown;
    const caller = node.spawn({
      handleMessage(_msg, proc) {
        try {
          proc.link(dead);
        } catch (err) {
          caught = err;
        }
      },
    });
    node.send(caller, 'go');
    await eventually(() => caught !== undefined);
    assert.ok(caught instanceof NoProcessError);
    assert.equal(caught.reason, noproc);
    assert.ok(node.isAlive(caller));
  });

  test("a trapping caller gets {'EXIT', Pid, noproc}", async () => {
    await using node = newNode();
    const dead = node.spawn({ handleMessage() {} });
    node.exit(dead, atom('kill'));
    const seen: unknown[] = [];
    const caller = node.spawn(
      {
        handleMessage(msg, proc) {
          if (msg === 'go') proc.link(dead);
          else seen.push(msg);
        },
      },
      { trapExit: true },
    );
    node.send(caller, 'go');
    await eventually(() => seen.length === 1);
    assert.deepEqual((seen[0] as Tuple).elements, [atom('EXIT'), dead, noproc]);
    assert.ok(node.isAlive(caller));
  });
});
