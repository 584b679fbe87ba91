/**
 * Messages handled at once by a process with nothing to do: a call to an
 * idle local Server runs to its end inside `call` (calls.ts), and a front
 * door's event goes to an idle handler with `Process.sendNow` (routing.ts).
 * What is checked is behavior (what has run when the call returns, in which
 * order messages are handled, how a call settles), never timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { noreply, ok, reply, type ServerBehavior, startServer } from '../server/server.js';
import { type Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BadArgumentError, CallAbortedError, CallExitError, CallTimeoutError } from './errors.js';
import { Node } from './node.js';
import type { From, Process } from './process.js';
import { serverRef } from './protocol.js';

function newNode(): Node {
  return new Node({ name: 'runtoend@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

/** Requests of the test server: a number to double, `crash`, `later` (answered by `answer`), `from` (the From it got), `{call, Server}` (calls on). */
type Proto = { call: [unknown, unknown]; cast: [unknown] };

interface Seen {
  handled: unknown[];
  pending: From | undefined;
}

/** A Server that records what it handled, in order. */
function recorder(seen: Seen): ServerBehavior<Proto, number, undefined> {
  return {
    init: () => ok(0),
    handleCall(req, from, n, ctx) {
      const request = req as unknown;
      seen.handled.push(request);
      if (request === 'crash') throw new Error('boom');
      if (request === 'later') {
        seen.pending = from;
        return noreply(n);
      }
      if (request === 'from') return reply(req, from, n);
      if (request instanceof Tuple && request.elements[0] === atom('call'))
        return ctx.call(request.elements[1] as string, request.elements[2]).then((r) => reply(req, tuple(atom('via'), r), n));
      if (request === 'count') return reply(req, n, n);
      return reply(req, (request as number) * 2, n);
    },
    handleCast(message, n) {
      seen.handled.push(message);
      return noreply(n + 1);
    },
  };
}

async function withServer(body: (node: Node, seen: Seen) => Promise<void>): Promise<void> {
  const node = newNode();
  const seen: Seen = { handled: [], pending: undefined };
  try {
    await startServer(node, recorder(seen), undefined, { name: 'rec' });
    await body(node, seen);
  } finally {
    await node.stop();
  }
}

describe('a call to an idle local Server runs to its end inside call', () => {
  test('the Server has handled the call when call returns, and the promise gives its reply', () =>
    withServer(async (node, seen) => {
      const p = node.call('rec', 21);
      assert.deepEqual(seen.handled, [21], 'handled before call returned');
      assert.equal(await p, 42);
      // From a process too, by pid and by ServerRef: handled before call returns there as well.
      const pid = node.whereis('rec') as Pid;
      const got: unknown[] = [];
      const caller = node.spawn({
        async handleMessage(_m: unknown, ctx: Process) {
          const a = ctx.call(pid, 1);
          got.push(seen.handled.length);
          got.push(await a, await ctx.call(serverRef<Proto>('rec'), 2));
        },
      });
      node.send(caller, 'go');
      await eventually(() => got.length === 3);
      assert.deepEqual(got, [2, 2, 4]);
    }));

  test('the From it gets is {Pid, [alias | Ref]} of the caller, and a reply sent there as {Tag, Reply} completes a later call', () =>
    withServer(async (node, seen) => {
      const from = (await node.call('rec', 'from')) as Tuple;
      assert.ok(from instanceof Tuple);
      const [pid, tag] = from.elements as [Pid, ImproperList<Atom, Ref>];
      assert.ok(pid instanceof Pid);
      assert.ok(tag instanceof ImproperList && tag.items[0] === atom('alias') && tag.tail instanceof Ref);
      assert.equal(from.elements, from.elements, 'made once');
      // A call the Server does not answer at once: answered Erlang's way, `Pid ! {Tag, Reply}`.
      const p = node.call('rec', 'later');
      const later = seen.pending as unknown as Tuple;
      const [callerPid, laterTag] = later.elements as [Pid, ImproperList<Atom, Ref>];
      node.send(callerPid, tuple(laterTag, 'answered'));
      assert.equal(await p, 'answered');
      assert.notEqual(laterTag.tail.toString(), tag.tail.toString(), 'each call has its own alias');
    }));

  test('a Server that does not answer at once leaves the call waiting: answered later, or timed out', () =>
    withServer(async (node, seen) => {
      const p = node.call('rec', 'later');
      assert.ok(seen.pending !== undefined);
      const pid = node.whereis('rec') as Pid;
      let answered = false;
      void p.then(() => (answered = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(answered, false, 'still waiting');
      // Answered through the From by another process holding it.
      const from = seen.pending as From;
      const replier = node.spawn({
        handleMessage(_m: unknown, proc: Process) {
          proc.reply(from, 'done');
        },
      });
      node.send(replier, 'go');
      assert.equal(await p, 'done');
      // Unanswered: the call's deadline still applies.
      await assert.rejects(node.call(pid, 'later', { timeout: 10 }), CallTimeoutError);
    }));

  test('a Server that crashes in handleCall fails the call with its exit reason; the caller lives on', () =>
    withServer(async (node) => {
      const pid = node.whereis('rec') as Pid;
      let caught: unknown;
      const caller = node.spawn({
        async handleMessage(_m: unknown, ctx: Process) {
          try {
            await ctx.call(pid, 'crash');
          } catch (err) {
            caught = err;
          }
        },
      });
      node.send(caller, 'go');
      await eventually(() => caught !== undefined);
      assert.ok(caught instanceof CallExitError);
      assert.match(String((caught as Error).message), /boom/);
      assert.equal(node.isAlive(caller), true);
      assert.equal(node.isAlive(pid), false);
    }));

  test('a Server with messages waiting is not run early: a cast sent before the call is handled first', () =>
    withServer(async (node, seen) => {
      node.cast('rec', 'first');
      const p = node.call('rec', 'count');
      assert.deepEqual(seen.handled, [], 'nothing handled yet: the Server had a message waiting');
      assert.equal(await p, 1, 'the cast came first');
      assert.deepEqual(seen.handled, ['first', 'count']);
    }));

  test('Servers calling Servers nest, and a chain deeper than the nesting limit still completes', async () => {
    const node = newNode();
    try {
      const depth = 12;
      const order: number[] = [];
      for (let i = depth; i >= 0; i--) {
        const next = `s${i + 1}`;
        await startServer(
          node,
          {
            init: () => ok(undefined),
            async handleCall(request, _from, s, ctx) {
              order.push(i);
              if (i === depth) return reply(request, [i], s);
              const rest = (await ctx.call(next, request)) as number[];
              return reply(request, [i, ...rest], s);
            },
          } satisfies ServerBehavior<Proto, undefined, undefined>,
          undefined,
          { name: `s${i}` },
        );
      }
      assert.deepEqual(await node.call('s0', 'go'), Array.from({ length: depth + 1 }, (_, i) => i));
      assert.deepEqual(order, Array.from({ length: depth + 1 }, (_, i) => i));
    } finally {
      await node.stop();
    }
  });

  test('a Server calling an idle Server from its handler runs it inside its own run', () =>
    withServer(async (node) => {
      // `rec` answers {call, Name, Req} by calling Name; rec2 (idle) runs inside rec's handler, inside node.call.
      const seen2: Seen = { handled: [], pending: undefined };
      await startServer(node, recorder(seen2), undefined, { name: 'rec2' });
      const p = node.call('rec', tuple(atom('call'), 'rec2', 4));
      assert.deepEqual(seen2.handled, [4], 'the inner Server ran inside the outer call');
      assert.deepEqual(await p, tuple(atom('via'), 8));
    }));

  test('bad input: an aborted signal, a bad timeout and a call to a name nobody has fail without running anything', () =>
    withServer(async (node, seen) => {
      const aborted = new AbortController();
      aborted.abort('stop');
      await assert.rejects(node.call('rec', 1, { signal: aborted.signal }), CallAbortedError);
      await assert.rejects(node.call('rec', 1, { timeout: -1 }), BadArgumentError);
      await assert.rejects(node.call('nobody', 1), CallExitError);
      assert.deepEqual(seen.handled, []);
      // A labelled call goes as a message (`{Label, From, Req}`), which a Server does not take as a call.
      const p = node.call('rec', 3, { timeout: 20, label: atom('$other') });
      await assert.rejects(p, CallTimeoutError);
      assert.deepEqual(seen.handled, []);
    }));
});

describe('Process.sendNow (the front doors: an event for an idle handler)', () => {
  function collector(log: unknown[]) {
    return { handleMessage: (m: unknown) => void log.push(m) };
  }

  /** A node, a process logging what it gets, and `act` run once in another process (its ctx given); the log once `settled` holds. */
  async function scenario(act: (ctx: Process, target: Pid, log: unknown[], node: Node) => void, settled: (log: unknown[]) => boolean): Promise<unknown[]> {
    const node = newNode();
    try {
      const log: unknown[] = [];
      const target = node.spawn(collector(log));
      let done = false;
      const sender = node.spawn({
        handleMessage(_m: unknown, ctx: Process) {
          act(ctx, target, log, node);
          done = true;
        },
      });
      node.send(sender, 'go');
      await eventually(() => done && settled(log));
      await new Promise((r) => setImmediate(r));
      return log;
    } finally {
      await node.stop();
    }
  }

  test('an idle process handles the message before sendNow returns', async () => {
    const log = await scenario(
      (ctx, target, log) => {
        ctx.sendNow(target, 'now');
        log.push(`sender saw ${log.length}`);
      },
      (log) => log.length === 2,
    );
    assert.deepEqual(log, ['now', 'sender saw 1']);
  });

  test('a process with messages waiting gets it after them, in order; a tuple goes the ordinary way', async () => {
    const log = await scenario(
      (ctx, target, log, node) => {
        ctx.send(target, 'a');
        ctx.sendNow(target, 'b'); // 'a' waits: not idle
        ctx.sendNow(node.spawn(collector(log)), tuple(atom('t'))); // a tuple: not at once
        log.push('sent');
      },
      (log) => log.length === 4,
    );
    assert.deepEqual(log.slice(0, 1), ['sent']);
    assert.deepEqual(log.filter((m) => m === 'a' || m === 'b'), ['a', 'b']);
  });

  test('from an exited process nothing is sent; to a dead pid nothing happens', async () => {
    let sender: Process | undefined;
    let targetPid: Pid | undefined;
    const log = await scenario(
      (ctx, target, _log, node) => {
        sender = ctx;
        targetPid = target;
        ctx.stop('normal');
        ctx.sendNow(target, 'late'); // the sender has exited: dropped
        node.exit(target, 'kill');
      },
      () => true,
    );
    assert.ok(sender !== undefined && targetPid !== undefined);
    sender.sendNow(targetPid, 'to the dead (node stopped)');
    assert.deepEqual(log, []);
  });
});

/** Runs `body` in a process of `node`; resolves with what it returns (awaited), rejects with what it throws. */
function inProcess<T>(node: Node, body: (ctx: Process) => T | Promise<T>): Promise<T> {
  const done = deferred<T>();
  const pid = node.spawn({
    async handleMessage(_m: unknown, ctx: Process) {
      try {
        done.resolve(await body(ctx));
      } catch (err) {
        done.reject(err);
      }
    },
  });
  node.send(pid, 'go');
  return done.promise;
}

describe('Process.callThen', () => {
  test('an idle Server that answers at once: then runs before callThen returns, and its value is returned as is', () =>
    withServer(async (node, seen) => {
      const out = await inProcess(node, (ctx) => {
        const order: string[] = [];
        const r = ctx.callThen(serverRef<Proto>('rec'), 21, (reply) => {
          order.push(`then ${String(reply)}`);
          return { doubled: reply };
        });
        order.push('returned');
        return { r, order, handled: [...seen.handled] };
      });
      assert.deepEqual(out.r, { doubled: 42 }, 'the value itself, not a promise');
      assert.deepEqual(out.order, ['then 42', 'returned']);
      assert.deepEqual(out.handled, [21]);
    }));

  test('a Server that does not answer at once, or has messages waiting: then runs when the reply comes, through a promise', () =>
    withServer(async (node, seen) => {
      const out = await inProcess(node, async (ctx) => {
        const p = ctx.callThen('rec', 'later', (reply) => `then ${String(reply)}`);
        assert.ok(p instanceof Promise);
        ctx.reply(seen.pending as From, 'answered');
        const first = await p;
        ctx.cast('rec', 'a cast');
        const q = ctx.callThen('rec', 5, (reply) => reply);
        assert.ok(q instanceof Promise, 'the cast waits before the call: not at once');
        return [first, await q];
      });
      assert.deepEqual(out, ['then answered', 10]);
      assert.deepEqual(seen.handled, ['later', 'a cast', 5]);
    }));

  test('a call that fails at once throws (then is not run); one that fails later rejects', () =>
    withServer(async (node) => {
      let ran = false;
      const thrown = await inProcess(node, (ctx) => {
        try {
          ctx.callThen('rec', 'crash', () => (ran = true));
          return undefined;
        } catch (err) {
          return err;
        }
      });
      assert.ok(thrown instanceof CallExitError);
      assert.equal(ran, false);
      await startServer(node, recorder({ handled: [], pending: undefined }), undefined, { name: 'rec' });
      await assert.rejects(
        inProcess(node, (ctx) => ctx.callThen('rec', 'later', () => (ran = true), { timeout: 10 })),
        CallTimeoutError,
      );
      assert.equal(ran, false);
    }));

  test('bad input: a bad timeout, a name nobody has and a call to itself reject without running then', () =>
    withServer(async (node) => {
      let ran = 0;
      await assert.rejects(inProcess(node, (ctx) => ctx.callThen('rec', 1, () => ran++, { timeout: -1 })), BadArgumentError);
      await assert.rejects(inProcess(node, (ctx) => ctx.callThen('nobody', 1, () => ran++)), CallExitError);
      await assert.rejects(inProcess(node, (ctx) => ctx.callThen(ctx.self, 1, () => ran++)), CallExitError);
      assert.equal(ran, 0);
    }));

  test('types: then gets the reply type of the request it made', () => {
    type Typed = { call: [Tuple<[Atom<'get'>, string]>, number] | [Atom<'name'>, string] };
    const ref = serverRef<Typed>('typed');
    const check = (ctx: Process): void => {
      void ctx.callThen(ref, atom('name'), (reply) => reply.toUpperCase());
      void ctx.callThen(ref, tuple(atom('get'), 'k'), (reply) => reply + 1);
      // @ts-expect-error the reply to {get, K} is a number, not a string
      void ctx.callThen(ref, tuple(atom('get'), 'k'), (reply: string) => reply);
      // @ts-expect-error not a request of the protocol
      void ctx.callThen(ref, atom('other'), () => 0);
    };
    assert.equal(typeof check, 'function');
  });
});

describe('Process.callThenWith', () => {
  /** One function for every call: what it was given comes as its arguments. */
  function record(reply: unknown, into: unknown[]): number {
    into.push(reply);
    return into.length;
  }

  test('answered at once: then(reply, arg) runs before callThenWith returns, and its value is returned as is', () =>
    withServer(async (node, seen) => {
      const out = await inProcess(node, (ctx) => {
        const got: unknown[] = [];
        const r = ctx.callThenWith(serverRef<Proto>('rec'), 21, record, got);
        got.push('returned');
        return { r, got, handled: [...seen.handled] };
      });
      assert.equal(out.r, 1, 'the value itself, not a promise');
      assert.deepEqual(out.got, [42, 'returned']);
      assert.deepEqual(out.handled, [21]);
    }));

  test('answered later: then(reply, arg) runs when the reply comes, through a promise', () =>
    withServer(async (node, seen) => {
      const got: unknown[] = [];
      const out = await inProcess(node, async (ctx) => {
        const p = ctx.callThenWith('rec', 'later', record, got);
        assert.ok(p instanceof Promise);
        assert.deepEqual(got, []);
        ctx.reply(seen.pending as From, 'answered');
        return p;
      });
      assert.equal(out, 1);
      assert.deepEqual(got, ['answered']);
    }));

  test('a call that fails at once throws (then is not run); one that fails later rejects; bad input rejects', () =>
    withServer(async (node) => {
      const got: unknown[] = [];
      const thrown = await inProcess(node, (ctx) => {
        try {
          ctx.callThenWith('rec', 'crash', record, got);
          return undefined;
        } catch (err) {
          return err;
        }
      });
      assert.ok(thrown instanceof CallExitError);
      await startServer(node, recorder({ handled: [], pending: undefined }), undefined, { name: 'rec' });
      await assert.rejects(inProcess(node, (ctx) => ctx.callThenWith('rec', 'later', record, got, { timeout: 10 })), CallTimeoutError);
      await assert.rejects(inProcess(node, (ctx) => ctx.callThenWith('rec', 1, record, got, { timeout: -1 })), BadArgumentError);
      await assert.rejects(inProcess(node, (ctx) => ctx.callThenWith('nobody', 1, record, got)), CallExitError);
      await assert.rejects(inProcess(node, (ctx) => ctx.callThenWith(ctx.self, 1, record, got)), CallExitError);
      assert.deepEqual(got, []);
    }));

  test('types: then gets the reply type of the request and the type of the argument given', () => {
    type Typed = { call: [Tuple<[Atom<'get'>, string]>, number] | [Atom<'name'>, string] };
    const ref = serverRef<Typed>('typed');
    const check = (ctx: Process): void => {
      void ctx.callThenWith(ref, atom('name'), (reply, n: number) => reply.repeat(n), 2);
      void ctx.callThenWith(ref, tuple(atom('get'), 'k'), (reply, prefix: string) => prefix + String(reply + 1), 'n=');
      // @ts-expect-error the reply to {get, K} is a number, not a string
      void ctx.callThenWith(ref, tuple(atom('get'), 'k'), (reply: string, n: number) => reply + n, 1);
      // @ts-expect-error the argument is not of the type then takes
      void ctx.callThenWith(ref, atom('name'), (reply, n: number) => reply.repeat(n), 'two');
      // @ts-expect-error not a request of the protocol
      void ctx.callThenWith(ref, atom('other'), () => 0, undefined);
    };
    assert.equal(typeof check, 'function');
  });
});
