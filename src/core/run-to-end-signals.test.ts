/**
 * Calls run to their end inside `call` (calls.ts's runInside) against exit
 * signals, links and the lazy From: a caller that the Server's run ends (a
 * crash along a link, a kill) dies with the right reason and leaves no
 * unhandled rejection behind; a trapping caller gets its `{'EXIT', ...}`; a
 * From made lazily works when handed to a third process, encoded and decoded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, quietLogger } from '../../test/support.js';
import { decode, encode } from '../etf/codec.js';
import { termEquals } from '../etf/encoder.js';
import { noreply, ok, reply, type ServerBehavior, startServer, stopAndReply } from '../server/server.js';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { CallAbortedError, CallExitError, CallTimeoutError, NodeStoppedError } from './errors.js';
import { Node } from './node.js';
import type { From, Process } from './process.js';

/** Unhandled rejections seen while these tests run: a caller ended inside its call must leave none. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => process.off('unhandledRejection', onUnhandled));

/** Lets pending rejections be reported (unhandledRejection fires after the microtask queue drains). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function newNode(): Node {
  return new Node({ name: 'runtoendsig@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
}

type Proto = { call: [unknown, unknown]; cast: [unknown] };

/** A Server: `crash` throws, `{kill, Pid}` kills Pid then replies, `{hand, Pid}` gives its From to Pid, else echoes. */
const server: ServerBehavior<Proto, undefined, undefined> = {
  init: () => ok(undefined),
  handleCall(req, from, s, ctx) {
    const r = req as unknown;
    if (r === 'crash') throw new Error('boom');
    if (r instanceof Tuple && r.elements[0] === atom('kill')) {
      ctx.sendExit(r.elements[1] as Pid, 'kill');
      return reply(req, 'killed', s);
    }
    if (r instanceof Tuple && r.elements[0] === atom('abort')) {
      (r.elements[1] as AbortController).abort('mid-run');
      return noreply(s);
    }
    if (r instanceof Tuple && r.elements[0] === atom('back')) {
      // Calls back into its caller, which is busy making this call: as in Erlang, that waits (here, times out).
      return ctx.call(r.elements[1] as Pid, 'ping', { timeout: 30 }).then((x) => reply(req, x, s));
    }
    if (r instanceof Tuple && r.elements[0] === atom('tell')) {
      ctx.send(r.elements[1] as Pid, 'told');
      return reply(req, 'replied', s);
    }
    if (r === 'stop with reply') return stopAndReply(req, 'bye', 'last words', s);
    if (r === 'stop node') {
      void ctx.node.stop();
      return reply(req, 'stopping', s);
    }
    if (r instanceof Tuple && r.elements[0] === atom('hand')) {
      ctx.send(r.elements[1] as Pid, from);
      return noreply(s);
    }
    return reply(req, r, s);
  },
};

async function withNode(body: (node: Node) => Promise<void>): Promise<void> {
  const node = newNode();
  try {
    await body(node);
  } finally {
    await node.stop();
  }
}

describe('a call run inside call, and exit signals', () => {
  test('a linked caller that does not trap exits dies with the Server crash reason, and leaves no unhandled rejection', () =>
    withNode(async (node) => {
      const before = unhandled.length;
      let started: Pid | undefined;
      // The first message starts a linked Server; the second calls it first thing (no await before
      // the call: the Server's crash ends the caller while its handler runs).
      const caller2 = node.spawn({
        async handleMessage(m: unknown, ctx: Process) {
          if (m === 'start') {
            started = (await startServer(ctx, server, undefined, { link: true })).pid;
            return;
          }
          await ctx.call(started as Pid, 'crash');
          ctx.send(ctx.self, 'not reached');
        },
      });
      node.send(caller2, 'start');
      await eventually(() => started !== undefined);
      const watched = node.waitExit(caller2);
      node.send(caller2, 'go');
      const reason = await watched;
      assert.match(String((reason as Error).message ?? reason), /boom/);
      assert.equal(node.isAlive(started as Pid), false);
      await settle();
      await settle();
      assert.deepEqual(unhandled.slice(before), [], 'no unhandled rejection');
    }));

  /**
   * A caller that traps exits: its first message starts a linked Server, its second calls it with
   * `request` first thing in its step (the Server runs inside that call); it records the reply (or
   * `call failed`) and each `{'EXIT', Pid, Reason}` as `EXIT, Reason`.
   */
  async function trappingCaller(node: Node, request: string): Promise<unknown[]> {
    const got: unknown[] = [];
    const caller = node.spawn({
      async handleMessage(m: unknown, ctx: Process) {
        if (m === 'start') {
          ctx.trapExit = true;
          ctx.send(ctx.self, (await startServer(ctx, server, undefined, { link: true })).pid);
          return;
        }
        if (m instanceof Tuple) return void got.push(m.elements[0], m.elements[2]);
        try {
          got.push(await ctx.call(m as Pid, request));
        } catch (err) {
          got.push(err instanceof CallExitError ? 'call failed' : err);
        }
      },
    });
    node.send(caller, 'start');
    await eventually(() => got.length === 3);
    assert.equal(node.isAlive(caller), true);
    return got;
  }

  test('a trapping linked caller gets the call failure and then {EXIT, Server, Reason}', () =>
    withNode(async (node) => {
      const got = await trappingCaller(node, 'crash');
      assert.deepEqual(got.slice(0, 2), ['call failed', atom('EXIT')]);
      assert.match(String((got[2] as Error).message), /boom/);
    }));

  test('a Server that stops with a reply: the trapping linked caller gets the reply, then {EXIT, Server, bye}', () =>
    withNode(async (node) => {
      assert.deepEqual(await trappingCaller(node, 'stop with reply'), ['last words', atom('EXIT'), atom('bye')]);
    }));

  test('a caller the Server kills during the call dies killed, and leaves no unhandled rejection', () =>
    withNode(async (node) => {
      const before = unhandled.length;
      const s = (await startServer(node, server, undefined)).pid;
      const caller = node.spawn({
        async handleMessage(_m: unknown, ctx: Process) {
          await ctx.call(s, tuple(atom('kill'), ctx.self));
          ctx.send(s, 'not reached');
        },
      });
      const watched = node.waitExit(caller);
      node.send(caller, 'go');
      assert.equal(await watched, atom('killed'));
      assert.equal(node.isAlive(s), true);
      await settle();
      await settle();
      assert.deepEqual(unhandled.slice(before), [], 'no unhandled rejection');
    }));

  test('a caller the Server kills, through callThen: then is not run and the caller is dead', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      let ran = false;
      const caller = node.spawn({
        handleMessage(_m: unknown, ctx: Process) {
          try {
            ctx.callThen(s, tuple(atom('kill'), ctx.self), () => (ran = true));
          } catch {
            // the call failed at once (the caller exited): nothing to do
          }
        },
      });
      const watched = node.waitExit(caller);
      node.send(caller, 'go');
      assert.equal(await watched, atom('killed'));
      assert.equal(ran, false);
    }));
});

/**
 * Calls the test server with `{hand, Third}`: it leaves the call waiting and hands its From to a
 * third process, which gets it as its message and does `onFrom` with it. Resolves with the call's answer.
 */
async function callHandingFrom(node: Node, onFrom: (from: From, ctx: Process) => void): Promise<unknown> {
  const s = (await startServer(node, server, undefined)).pid;
  const third = node.spawn({
    handleMessage(from: unknown, ctx: Process) {
      onFrom(from as From, ctx);
    },
  });
  return node.call(s, tuple(atom('hand'), third));
}

describe('a From made lazily', () => {
  test('handed to a third process, which replies through it: the call gets that reply', () =>
    withNode(async (node) => {
      assert.equal(await callHandingFrom(node, (from, ctx) => ctx.reply(from, 'from third')), 'from third');
    }));

  test('encoded to ETF and decoded, the From still answers the call; it equals its decoded copy', () =>
    withNode(async (node) => {
      const answer = await callHandingFrom(node, (from, ctx) => {
        const copy = decode(encode(from)) as From;
        assert.ok(copy instanceof Tuple);
        assert.ok(termEquals(copy, from) && termEquals(from, copy));
        assert.deepEqual(encode(copy), encode(from));
        assert.deepEqual(JSON.parse(JSON.stringify(from)), JSON.parse(JSON.stringify(copy)));
        ctx.reply(copy, 'via copy');
      });
      assert.equal(answer, 'via copy');
    }));
});

describe('a call run inside call that the Server leaves waiting', () => {
  test('its From keeps one alias ref, read before or after its elements, and a reply through the From kept answers', () =>
    withNode(async (node) => {
      const answer = await callHandingFrom(node, (from, ctx) => {
        const f = from as From & { ref: unknown };
        const ref = f.ref; // the alias ref first (as a monitor of a remote target reads it), then the elements
        const elements = (from as unknown as Tuple).elements;
        assert.equal((from as unknown as Tuple).elements, elements, 'the elements are made once');
        assert.equal((elements[1] as { tail: unknown }).tail, ref);
        assert.equal(f.ref, ref);
        ctx.reply(from, 'answered');
      });
      assert.equal(answer, 'answered');
    }));

  test('it times out at its deadline; a late reply through its From is dropped; nothing is left behind', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      const kept: From[] = [];
      const third = node.spawn({
        handleMessage(from: unknown) {
          kept.push(from as From);
        },
      });
      const base = node._stats();
      await assert.rejects(node.call(s, tuple(atom('hand'), third), { timeout: 20 }), CallTimeoutError);
      await eventually(() => kept.length === 1);
      node.spawn({
        init(ctx: Process) {
          ctx.reply(kept[0] as From, 'too late');
        },
        handleMessage() {},
      });
      assert.equal(await node.call(s, 'still serving'), 'still serving');
      await eventually(() => node._stats().aliases === base.aliases);
      assert.equal(node._stats().monitors, base.monitors);
    }));

  test('through callThen: then runs with the reply once it comes; a failure later rejects', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      const third = node.spawn({
        handleMessage(from: unknown, ctx: Process) {
          ctx.reply(from as From, 'later');
        },
      });
      const seen: unknown[] = [];
      const caller = node.spawn({
        async handleMessage(m: unknown, ctx: Process) {
          if (m === 'go') {
            const r = ctx.callThen(s, tuple(atom('hand'), third), (x) => seen.push(x));
            assert.ok(r instanceof Promise, 'the call waits: then runs later');
            await r;
          } else if (m === 'timeout') {
            const silent = ctx.spawn({ handleMessage() {} });
            await Promise.resolve(ctx.callThen(s, tuple(atom('hand'), silent), (x) => seen.push(x), { timeout: 20 })).catch((err: unknown) => seen.push(err));
          }
        },
      });
      node.send(caller, 'go');
      await eventually(() => seen.length === 1);
      assert.deepEqual(seen, ['later']);
      node.send(caller, 'timeout');
      await eventually(() => seen.length === 2);
      const err: unknown = seen.at(-1);
      assert.ok(err instanceof CallTimeoutError, String(err));
    }));
});

describe('a call run inside call, and its options, the caller and the node', () => {
  test('a signal aborted by the Server while it runs the call (noreply): the call is aborted, not left to its deadline', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      const ac = new AbortController();
      await assert.rejects(node.call(s, tuple(atom('abort'), ac), { signal: ac.signal, timeout: 5000 }), CallAbortedError);
    }));

  test('a Server that calls back into its caller, busy making that call, waits as in Erlang: its call times out, it crashes, the call fails', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      let caught: unknown;
      const caller = node.spawn({
        async handleMessage(m: unknown, ctx: Process) {
          if (m !== 'go') return;
          try {
            await ctx.call(s, tuple(atom('back'), ctx.self));
          } catch (err) {
            caught = err;
          }
        },
      });
      node.send(caller, 'go');
      await eventually(() => caught !== undefined);
      assert.ok(caught instanceof CallExitError, String(caught));
      assert.ok((caught as CallExitError).reason instanceof CallTimeoutError);
      assert.equal(node.isAlive(caller), true);
    }));

  test('a message the Server sends its caller while it runs the call is in the caller mailbox after the reply', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      const seen: unknown[] = [];
      const caller = node.spawn({
        handleMessage(m: unknown, ctx: Process) {
          if (m !== 'go') return void seen.push(m);
          return ctx.callThen(s, tuple(atom('tell'), ctx.self), (r) => void seen.push(r));
        },
      });
      node.send(caller, 'go');
      await eventually(() => seen.length === 2);
      assert.deepEqual(seen, ['replied', 'told']);
    }));

  test('the node stopping from inside the run: the Server is shut down in its handler, the call fails with shutdown, the node stops', async () => {
    const node = newNode();
    const before = unhandled.length;
    const s = (await startServer(node, server, undefined)).pid;
    // stopNode ends every process at once, the one that asked too (as before calls ran inside call).
    const p = node.call(s, 'stop node');
    await assert.rejects(p, (err: unknown) => err instanceof CallExitError && err.reason === atom('shutdown'));
    await node.stop();
    await assert.rejects(node.call(s, 1), NodeStoppedError);
    await settle();
    assert.deepEqual(unhandled.slice(before), []);
  });

  test('calls run inside leave no alias, deadline or call record behind', () =>
    withNode(async (node) => {
      const s = (await startServer(node, server, undefined)).pid;
      const base = node._stats();
      for (let i = 0; i < 200; i++) assert.equal(await node.call(s, i), i);
      const after = node._stats();
      assert.equal(after.aliases, base.aliases);
      assert.equal(after.monitors, base.monitors);
    }));
});

describe('a Server killed inside its own callback by a call run inside call', () => {
  test('a Server linked to one that crashes inside its callThen dies with that reason, and its terminate is not run (OTP: not trapping, no terminate)', () =>
    withNode(async (node) => {
      const terminated: unknown[] = [];
      type P = { call: ['go', unknown] };
      const front: ServerBehavior<P, Pid, undefined> = {
        async init(_a, ctx) {
          return ok((await startServer(ctx, server, undefined, { link: true })).pid);
        },
        handleCall(req, from, worker, ctx) {
          // Sync callback: the worker's crash ends this process inside callThen, which then throws.
          return ctx.callThen(worker, 'crash', (r) => reply(req, r, worker));
        },
        terminate(reason) {
          terminated.push(reason);
        },
      };
      const f = (await startServer(node, front, undefined)).pid;
      const exited = node.waitExit(f);
      await assert.rejects(node.call(f, 'go'), (err: unknown) => err instanceof CallExitError && /boom/.test(String((err.reason as Error).message)));
      assert.match(String(((await exited) as Error).message), /boom/);
      assert.deepEqual(terminated, [], 'terminate not run for a process killed by a link');
    }));
});
