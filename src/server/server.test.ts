import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Probe, deferred, eventually, quietLogger } from '../../test/support.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { isTagged, Tuple, tuple } from '../terms/tuple.js';
import { CallExitError, CallTimeoutError, NameTakenError } from '../core/errors.js';
import { Node } from '../core/node.js';
import type { From, Process } from '../core/process.js';
import { serverRef } from '../core/protocol.js';
import { killed, noproc, normal, shutdown } from '../core/reasons.js';
import {
  InitFailedError,
  InitIgnoredError,
  InitTimeoutError,
  getServerState,
  ignore,
  noreply,
  ok,
  reply,
  type ServerBehavior,
  startServer,
  stop,
  stopAndReply,
  stopServer,
} from './server.js';

function newNode(): Node {
  return new Node({ name: 'srv@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 200 });
}

type KvProtocol = {
  call:
    | [Tuple<[Atom<'get'>, string]>, number | undefined]
    | [Tuple<[Atom<'put'>, string, number]>, Atom<'ok'>]
    | [Atom<'keys'>, string[]];
  cast: Tuple<[Atom<'delete'>, string]>;
};

const kv: ServerBehavior<KvProtocol, Map<string, number>, [string, number][]> = {
  init: (entries) => ok(new Map(entries)),
  handleCall(request, _from, state) {
    if (request instanceof Atom) return reply(request, [...state.keys()], state);
    if (isTagged(request, 'get')) return reply(request, state.get(request.elements[1]), state);
    state.set(request.elements[1], request.elements[2]);
    return reply(request, atom('ok'), state);
  },
  handleCast(message, state) {
    state.delete(message.elements[1]);
    return noreply(state);
  },
};

describe('Server', () => {
  test('typed calls and casts, by ref, pid and name', async () => {
    await using node = newNode();
    const ref = await startServer(node, kv, [['a', 1]], { name: 'kv' });
    assert.equal(await node.call(ref, tuple(atom('get'), 'a')), 1);
    assert.equal(await node.call(ref, tuple(atom('put'), 'b', 2)), atom('ok'));
    node.cast(ref, tuple(atom('delete'), 'a'));
    assert.deepEqual(await node.call(ref, atom('keys')), ['b']);
    const byName = serverRef<KvProtocol>('kv');
    assert.equal(await node.call(byName, tuple(atom('get'), 'b')), 2);
    assert.equal(await node.call(ref.pid, tuple(atom('get'), 'b')), 2);
    assert.equal(node.processInfo(ref.pid)?.behavior, 'server');
  });

  test('handleInfo gets every other message; async callbacks hold the server', async () => {
    await using node = newNode();
    const seen: unknown[] = [];
    const gate = deferred();
    const ref = await startServer(
      node,
      {
        init: () => ok(0),
        async handleInfo(msg, n) {
          if (msg === 'wait') await gate.promise;
          seen.push(msg);
          return noreply(n + 1);
        },
        handleCall: (r, _f, n) => reply(r, n, n),
      },
      undefined,
    );
    node.send(ref.pid, 'wait');
    node.send(ref.pid, 'after');
    const count = node.call(ref.pid, 'count');
    await eventually(() => node.processInfo(ref.pid)?.status === 'suspended');
    assert.deepEqual(seen, []);
    gate.resolve();
    assert.equal(await count, 2);
    assert.deepEqual(seen, ['wait', 'after']);
  });

  test('reply later from another message with the kept from', async () => {
    await using node = newNode();
    type P = { call: [Atom<'wait'>, string] };
    const ref = await startServer<P, From<string>[], undefined>(
      node,
      {
        init: () => ok([]),
        handleCall: (_req, from, waiting) => noreply([...waiting, from]),
        handleInfo(msg, waiting, ctx) {
          for (const from of waiting) ctx.reply(from, String(msg));
          return noreply([]);
        },
      },
      undefined,
    );
    const a = node.call(ref, atom('wait'));
    const b = node.call(ref, atom('wait'));
    await eventually(() => node.processInfo(ref.pid)?.messageQueueLength === 0);
    node.send(ref.pid, 'released');
    assert.deepEqual(await Promise.all([a, b]), ['released', 'released']);
  });

  test('stop with a reply: the caller gets the reply, terminate runs, the server exits with the reason', async () => {
    await using node = newNode();
    const terminated = deferred<unknown>();
    const ref = await startServer(
      node,
      {
        init: () => ok('s'),
        handleCall: (req) => stopAndReply(req, atom('done'), 'bye', 'final'),
        terminate: (reason, state) => terminated.resolve([reason, state]),
      },
      undefined,
    );
    const exit = node.waitExit(ref.pid);
    assert.equal(await node.call(ref.pid, 'stop'), 'bye');
    assert.deepEqual(await terminated.promise, [atom('done'), 'final']);
    assert.equal(await exit, atom('done'));
  });

  test('stop without reply fails the call with the exit reason', async () => {
    await using node = newNode();
    const ref = await startServer(node, { init: () => ok(0), handleCall: () => stop('normal') }, undefined);
    await assert.rejects(node.call(ref.pid, 'x'), (e: unknown) => e instanceof CallExitError && e.reason === normal);
  });

  test('init: ignore, stop, throw, rejection and timeout are reported to the starter', async () => {
    await using node = newNode();
    await assert.rejects(startServer(node, { init: () => ignore() }, undefined), InitIgnoredError);
    await assert.rejects(
      startServer(node, { init: () => stop(atom('bad_config')) }, undefined),
      (e: unknown) => e instanceof InitFailedError && e.reason === atom('bad_config'),
    );
    const err = new Error('init threw');
    await assert.rejects(
      startServer(node, { init: () => { throw err; } }, undefined),
      (e: unknown) => e instanceof InitFailedError && e.reason === err,
    );
    await assert.rejects(
      startServer(node, { init: async () => { throw err; } }, undefined),
      (e: unknown) => e instanceof InitFailedError && e.reason === err,
    );
    await assert.rejects(startServer(node, { init: () => new Promise<never>(() => {}) }, undefined, { timeout: 20 }), InitTimeoutError);
    await assert.rejects(startServer(node, { init: () => 42 as never }, undefined), InitFailedError);
    await eventually(() => node.processes().length === 0);
  });

  test('start_link: the server dies with its parent', async () => {
    await using node = newNode();
    const linked = deferred<Pid>();
    const parent2 = node.spawn({
      async init(p) {
        linked.resolve((await startServer(p, { init: () => ok(0) }, undefined, { link: true })).pid);
      },
      handleMessage() {},
    });
    const child = await linked.promise;
    const childExit = node.waitExit(child);
    node.exit(parent2, atom('crash'));
    assert.equal(await childExit, atom('crash'));
  });

  test('a duplicate name fails the start', async () => {
    await using node = newNode();
    await startServer(node, { init: () => ok(0) }, undefined, { name: 'one' });
    await assert.rejects(startServer(node, { init: () => ok(0) }, undefined, { name: 'one' }), NameTakenError);
  });

  test('a crashing callback runs terminate with the error and exits with it', async () => {
    await using node = newNode();
    const terminated = deferred<unknown>();
    const err = new Error('handler bug');
    const ref = await startServer(
      node,
      {
        init: () => ok(0),
        handleCast() {
          throw err;
        },
        terminate: (reason) => terminated.resolve(reason),
      },
      undefined,
    );
    const exit = node.waitExit(ref.pid);
    node.cast(ref.pid, 'boom');
    assert.equal(await terminated.promise, err);
    assert.equal(await exit, err);
  });

  test('terminate runs on a parent exit when trapping, not when killed', async () => {
    await using node = newNode();
    const reasons: unknown[] = [];
    const behavior: ServerBehavior<{}, number, undefined> = {
      init: (_a, ctx) => {
        ctx.trapExit = true;
        return ok(0);
      },
      terminate: (reason) => {
        reasons.push(reason);
      },
    };
    const started = deferred<Pid>();
    const parent = node.spawn({
      async init(p) {
        started.resolve((await startServer(p, behavior, undefined, { link: true })).pid);
      },
      handleMessage() {},
    }, { trapExit: true });
    const child = await started.promise;
    const exit = node.waitExit(child);
    node.exit(child, atom('not_parent')); // trapped: becomes handleInfo, no handleInfo -> logged
    node.exit(parent, atom('kill'));
    assert.equal(await exit, killed, 'parent killed: linked server gets killed via link, trapped -> EXIT from parent -> terminate(killed)');
    assert.deepEqual(reasons, [killed]);

    const reasons2: unknown[] = [];
    const ref2 = await startServer(node, { ...behavior, terminate: (r: unknown) => void reasons2.push(r) }, undefined);
    const exit2 = node.waitExit(ref2.pid);
    node.exit(ref2.pid, atom('kill'));
    assert.equal(await exit2, killed);
    assert.deepEqual(reasons2, []);
  });

  test('stopServer runs terminate; getServerState reads the state; both fail on a dead server', async () => {
    await using node = newNode();
    const terminated = deferred<unknown>();
    const ref = await startServer(node, { init: () => ok({ n: 7 }), terminate: (r) => terminated.resolve(r) }, undefined, { name: 's' });
    assert.deepEqual(await getServerState(node, ref), { n: 7 });
    await stopServer(node, 's', shutdown);
    assert.equal(await terminated.promise, shutdown);
    assert.equal(node.isAlive(ref.pid), false);
    await assert.rejects(stopServer(node, ref), (e: unknown) => e instanceof CallExitError && e.reason === noproc);
  });

  test('continue and timeout', async () => {
    await using node = newNode();
    const events: unknown[] = [];
    const ref = await startServer(
      node,
      {
        init: () => ok(0, { continue: 'setup' }),
        handleContinue: (arg, n) => {
          events.push(['continue', arg]);
          return noreply(n, { timeout: 10 });
        },
        handleInfo: (msg, n) => {
          events.push(msg);
          return noreply(n);
        },
        handleCall: (r, _f, n) => reply(r, events.slice(), n),
      },
      undefined,
    );
    await eventually(() => events.length === 2);
    assert.deepEqual(await node.call(ref.pid, 'events'), [['continue', 'setup'], atom('timeout')]);
  });

  test('a message before the timeout cancels it', async () => {
    await using node = newNode();
    const events: unknown[] = [];
    const ref = await startServer(
      node,
      {
        init: () => ok(0, { timeout: 50 }),
        handleInfo: (msg, n) => {
          events.push(msg);
          return noreply(n);
        },
      },
      undefined,
    );
    node.send(ref.pid, 'early');
    await eventually(() => events.length === 1);
    const probe = new Probe(node);
    node.sendAfter(probe.pid, 'past', 80);
    await probe.next();
    assert.deepEqual(events, ['early']);
  });

  test('wire shapes: a raw Erlang-style caller with a plain Ref tag gets {Ref, Reply} at its pid', async () => {
    await using node = newNode();
    const ref = await startServer(node, { init: () => ok(0), handleCall: (req, _f, s) => reply(req, tuple(atom('echo'), req), s), handleCast: (m, s) => { castSeen.resolve(m); return noreply(s); } }, undefined);
    const castSeen = deferred<unknown>();
    const caller = new Probe(node);
    await eventually(() => caller.proc !== undefined);
    const tag = node.makeRef();
    node.send(ref.pid, tuple(atom('$gen_call'), tuple(caller.pid, tag), 'req'));
    const replyMsg = (await caller.next()) as Tuple;
    assert.ok((replyMsg.elements[0] as Ref).equals(tag));
    assert.equal(String(replyMsg.elements[1]), '{echo,req}');
    // OTP 24+ tag [alias | Ref]: the reply goes to the alias.
    const alias = caller.proc.alias();
    node.send(ref.pid, tuple(atom('$gen_call'), tuple(caller.pid, new ImproperList([atom('alias')], alias)), 'req2'));
    const viaAlias = (await caller.next()) as Tuple;
    assert.ok(viaAlias.elements[0] instanceof ImproperList);
    node.send(ref.pid, tuple(atom('$gen_cast'), 'c'));
    assert.equal(await castSeen.promise, 'c');
  });

  test('a call that never gets an answer times out; handleCall missing crashes the server', async () => {
    await using node = newNode();
    const ref = await startServer(node, { init: () => ok(0), handleCall: (_r, _f, s) => noreply(s) }, undefined);
    await assert.rejects(node.call(ref.pid, 'x', { timeout: 10 }), CallTimeoutError);
    const bare = await startServer(node, { init: () => ok(0) }, undefined);
    await assert.rejects(node.call(bare.pid, 'x'), (e: unknown) => e instanceof CallExitError && e.reason instanceof TypeError);
  });

  test('calls from one server to another inside handlers', async () => {
    await using node = newNode();
    const inner = await startServer(node, { init: () => ok(0), handleCall: (r, _f, s) => reply(r, `inner:${String(r)}`, s) }, undefined);
    const outer = await startServer(
      node,
      {
        init: () => ok(0),
        async handleCall(r, _f, s, ctx: Process) {
          return reply(r, await ctx.call(inner.pid, r), s);
        },
      },
      undefined,
    );
    assert.equal(await node.call(outer.pid, 'x'), 'inner:x');
  });
});
