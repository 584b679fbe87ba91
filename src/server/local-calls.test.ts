/**
 * Calls between two local processes: a Server receives them without a
 * `$gen_call` tuple built for it (the call's waiter is the message and its
 * From), and everything OTP's gen_server:call promises still holds: the From
 * is `{Pid, [alias | Ref]}`, a raw or traced receiver sees the whole tuple, a
 * From sent on is an ordinary message, the callee's exit fails the call, a
 * timeout fails it, a dead caller's reply is dropped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { decode, encode, termEquals } from '../etf/index.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { CallExitError, CallTimeoutError } from '../core/errors.js';
import { Node } from '../core/node.js';
import type { From, Process } from '../core/process.js';
import { noreply, ok, reply, startServer } from './server.js';

function newNode(): Node {
  return new Node({ name: 'lc@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 200 });
}

/** `{Pid, [alias | Ref]}` with `pid` as the caller. */
function assertFrom(from: unknown, pid: Pid): void {
  assert.ok(from instanceof Tuple, `from is not a tuple: ${String(from)}`);
  assert.equal(from.elements.length, 2);
  assert.ok(from.elements[0] instanceof Pid && from.elements[0].equals(pid));
  const tag = from.elements[1];
  assert.ok(tag instanceof ImproperList);
  assert.deepEqual(tag.items, [atom('alias')]);
  assert.ok(tag.tail instanceof Ref);
}

/** A process that makes one call per `{call, To, Request}` message and reports `{ok, Reply}` or the error to `report`. */
function caller(report: (r: unknown) => void, timeout = 5000) {
  return {
    async handleMessage(msg: unknown, proc: Process) {
      const [, to, request] = (msg as Tuple<[Atom, Pid, unknown]>).elements;
      try {
        report(tuple(atom('ok'), await proc.call(to, request, { timeout })));
      } catch (err) {
        report(err);
      }
    },
  };
}

describe('local calls', () => {
  test('a Server called by a local process gets the call with From = {Caller, [alias | Ref]} and answers it', async () => {
    await using node = newNode();
    const froms: unknown[] = [];
    const server = await startServer(
      node,
      {
        init: () => ok(0),
        handleCall: (req, from, n) => {
          froms.push(from);
          return reply(req, tuple(req, n), n + 1);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    for (const r of ['a', 'b']) node.send(c, tuple(atom('call'), server.pid, r));
    await eventually(() => replies.length === 2);
    assert.deepEqual(replies, [tuple(atom('ok'), tuple('a', 0)), tuple(atom('ok'), tuple('b', 1))]);
    for (const from of froms) assertFrom(from, c);
    // Logged as JSON, a From shows what a plain {Pid, Tag} tuple shows, not the call behind it.
    const from = froms[0] as Tuple;
    assert.equal(JSON.stringify(from), JSON.stringify(new Tuple([...from.elements])));
    // From outside any process too.
    assert.deepEqual(await node.call(server, 'c'), tuple('c', 2));
  });

  test('a raw process receives the whole {$gen_call, {Pid, [alias | Ref]}, Request} and replies through it', async () => {
    await using node = newNode();
    const seen: unknown[] = [];
    const raw = node.spawn({
      handleMessage(msg, proc) {
        seen.push(msg);
        const e = (msg as Tuple).elements;
        proc.reply(e[1] as From, tuple(atom('got'), e[2]));
      },
    });
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    node.send(c, tuple(atom('call'), raw, 'x'));
    await eventually(() => replies.length === 1);
    assert.deepEqual(replies[0], tuple(atom('ok'), tuple(atom('got'), 'x')));
    const msg = seen[0] as Tuple;
    assert.ok(msg instanceof Tuple && msg.elements.length === 3);
    assert.equal(msg.elements[0], atom('$gen_call'));
    assertFrom(msg.elements[1], c);
    assert.equal(msg.elements[2], 'x');
    // The From is a term like any other: it encodes as {Pid, [alias | Ref]}.
    const from = msg.elements[1] as Tuple;
    const back = decode(encode(from));
    assert.ok(termEquals(back, tuple(from.elements[0], from.elements[1])));
  });

  test('a traced Server: the tracer sees the $gen_call tuple, the call is answered', async () => {
    await using node = newNode();
    const server = await startServer(node, { init: () => ok(0), handleCall: (req, _from, n) => reply(req, 'pong', n) }, undefined);
    const traced: unknown[] = [];
    assert.ok(node.traceMessages(server.pid, (m) => traced.push(m)));
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    node.send(c, tuple(atom('call'), server.pid, 'ping'));
    await eventually(() => replies.length === 1);
    assert.deepEqual(replies[0], tuple(atom('ok'), 'pong'));
    const msg = traced[0] as Tuple;
    assert.ok(msg instanceof Tuple && msg.elements[0] === atom('$gen_call') && msg.elements[2] === 'ping');
    assertFrom(msg.elements[1], c);
  });

  test('a From sent on as a message reaches handleInfo as a {Pid, Tag} tuple, not as a call; replying through it later answers the call', async () => {
    await using node = newNode();
    const infos: unknown[] = [];
    const second = await startServer(
      node,
      {
        init: () => ok(undefined),
        handleInfo: (msg, s, ctx) => {
          infos.push(msg);
          ctx.reply(msg as From, 'answered by the second');
          return noreply(s);
        },
      },
      undefined,
    );
    const first = await startServer(
      node,
      {
        init: () => ok(undefined),
        handleCall: (_req, from, s, ctx) => {
          ctx.send(second.pid, from);
          return noreply(s);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    node.send(c, tuple(atom('call'), first.pid, 'q'));
    await eventually(() => replies.length === 1);
    assert.deepEqual(replies[0], tuple(atom('ok'), 'answered by the second'));
    assert.equal(infos.length, 1);
    assertFrom(infos[0], c);
  });

  test('the callee exits with the call in its mailbox or in handleCall: the caller gets CallExitError with its reason', async () => {
    await using node = newNode();
    const entered = deferred();
    const server = await startServer(
      node,
      {
        init: () => ok(undefined),
        handleCall: async (_req, _from, s) => {
          entered.resolve();
          await new Promise(() => {}); // never answers
          return noreply(s);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const c1 = node.spawn(caller((r) => replies.push(r)));
    const c2 = node.spawn(caller((r) => replies.push(r)));
    node.send(c1, tuple(atom('call'), server.pid, 'first')); // handled, never answered
    await entered.promise;
    node.send(c2, tuple(atom('call'), server.pid, 'second')); // waits in the mailbox
    await eventually(() => node.processInfo(server.pid)?.messageQueueLength === 1);
    node.exit(server.pid, atom('boom'));
    await eventually(() => replies.length === 2);
    for (const r of replies) assert.ok(r instanceof CallExitError && r.reason === atom('boom'), String(r));
  });

  test('a call that times out fails with CallTimeoutError; the late reply is dropped, and the Server and caller go on', async () => {
    await using node = newNode();
    const held: From[] = [];
    const server = await startServer(
      node,
      {
        init: () => ok(undefined),
        handleCall: (req, from, s) => {
          if (req === 'hold') {
            held.push(from);
            return noreply(s);
          }
          return reply(req, 'fine', s);
        },
        handleInfo: (_msg, s, ctx) => {
          for (const f of held.splice(0)) ctx.reply(f, 'too late');
          return noreply(s);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const stray: unknown[] = [];
    const c = node.spawn({
      async handleMessage(msg: unknown, proc: Process) {
        if (!(msg instanceof Tuple) || msg.elements[0] !== atom('call')) {
          stray.push(msg);
          return;
        }
        try {
          replies.push(await proc.call(server.pid, msg.elements[2], { timeout: 30 }));
        } catch (err) {
          replies.push(err);
        }
      },
    });
    node.send(c, tuple(atom('call'), server.pid, 'hold'));
    await eventually(() => replies.length === 1);
    assert.ok(replies[0] instanceof CallTimeoutError);
    node.send(server.pid, 'release'); // replies through the From of the timed-out call
    await eventually(() => held.length === 0);
    node.send(c, tuple(atom('call'), server.pid, 'next'));
    await eventually(() => replies.length === 2);
    assert.equal(replies[1], 'fine');
    assert.deepEqual(stray, []);
  });

  test('the caller exits mid-call: the Server answers into nothing and goes on', async () => {
    await using node = newNode();
    const release = deferred();
    const server = await startServer(
      node,
      {
        init: () => ok(0),
        handleCall: async (req, _from, n) => {
          if (req === 'slow') await release.promise;
          return reply(req, n, n + 1);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    node.send(c, tuple(atom('call'), server.pid, 'slow'));
    await eventually(() => node.processInfo(server.pid)?.status === 'suspended');
    node.exit(c, atom('kill'));
    await eventually(() => !node.isAlive(c));
    release.resolve();
    assert.equal(await node.call(server, 'after'), 1);
    assert.ok(node.isAlive(server.pid));
    // The dead caller's pending call was failed when it exited; the reply never reached it.
    assert.ok(replies.every((r) => r instanceof CallExitError), String(replies));
  });

  test('calls through a pool-like forwarder: the From of a local call, forwarded inside a $gen_call, is answered by the worker', async () => {
    await using node = newNode();
    const worker = await startServer(node, { init: () => ok(undefined), handleCall: (req, _from, s) => reply(req, tuple(atom('w'), req), s) }, undefined);
    const front = await startServer(
      node,
      {
        init: () => ok(undefined),
        handleCall: (req, from, s, ctx) => {
          ctx.send(worker.pid, tuple(atom('$gen_call'), from, req));
          return noreply(s);
        },
      },
      undefined,
    );
    const replies: unknown[] = [];
    const c = node.spawn(caller((r) => replies.push(r)));
    node.send(c, tuple(atom('call'), front.pid, 7));
    await eventually(() => replies.length === 1);
    assert.deepEqual(replies[0], tuple(atom('ok'), tuple(atom('w'), 7)));
  });
});
