import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Probe, deferred, eventually, quietLogger } from '../../test/support.js';
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BadArgumentError, CallAbortedError, CallExitError, CallTimeoutError, NameTakenError, NodeStoppedError, NoProcessError } from './errors.js';
import { Node } from './node.js';
import type { Process } from './process.js';
import { killed, noproc, normal, shutdown } from './reasons.js';

function newNode(name = 'test@127.0.0.1'): Node {
  return new Node({ name, logger: quietLogger().log, shutdownTimeout: 100 });
}

/** A process that does nothing with its messages. */
const idle = { handleMessage() {} };

describe('identity', () => {
  test('pids carry node, id, serial and creation and print like Erlang', async () => {
    await using node = new Node({ name: 'id@127.0.0.1', creation: 77, logger: quietLogger().log });
    const a = node.spawn(idle);
    const b = node.spawn(idle);
    assert.equal(a.node, atom('id@127.0.0.1'));
    assert.equal(a.creation, 77);
    assert.match(a.toString(), /^<0\.\d+\.0>$/);
    assert.ok(!a.equals(b));
    assert.ok(a.equals(new Pid(atom('id@127.0.0.1'), a.id, a.serial, 77)));
    assert.ok(!a.equals(new Pid(atom('id@127.0.0.1'), a.id, a.serial, 78)), 'another creation is another pid');
  });

  test('references are unique, three words, and equal by value', async () => {
    await using node = newNode();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const r = node.makeRef();
      assert.equal(r.ids.length, 3);
      assert.ok((r.ids[0] as number) < 262144, 'first word has 18 bits');
      seen.add(r.toString());
    }
    assert.equal(seen.size, 1000);
    const r = node.makeRef();
    assert.ok(r.equals(new Ref(r.node, r.creation, [...r.ids])));
    assert.match(r.toString(), /^#Ref<0\.\d+\.\d+\.\d+>$/);
  });

  test('a pid of a previous incarnation never reaches a process of this one', async () => {
    await using node = new Node({ name: 'inc@127.0.0.1', creation: 5, logger: quietLogger().log });
    const probe = new Probe(node);
    const stale = new Pid(probe.pid.node, probe.pid.id, probe.pid.serial, 4);
    node.send(stale, 'old');
    node.send(probe.pid, 'new');
    assert.equal(await probe.next(), 'new');
    assert.equal(probe.pending.length, 0);
  });

  test('bad node names and creations are rejected', () => {
    assert.throws(() => new Node({ name: 'nohost' }), BadArgumentError);
    assert.throws(() => new Node({ name: 'a@b', creation: 0 }), BadArgumentError);
    assert.throws(() => new Node({ name: 'a@b', creation: 2 ** 32 }), BadArgumentError);
  });
});

describe('names', () => {
  test('register, whereis, send by name, release on exit', async () => {
    await using node = newNode();
    const probe = new Probe(node, { name: 'probe' });
    assert.ok(node.whereis('probe')?.equals(probe.pid));
    assert.deepEqual(node.registered(), [atom('probe')]);
    node.send('probe', 1);
    node.send(atom('probe'), 2);
    node.send({ name: 'probe', node: node.name }, 3);
    node.send(tuple(atom('probe'), node.name), 4);
    assert.deepEqual([await probe.next(), await probe.next(), await probe.next(), await probe.next()], [1, 2, 3, 4]);
    node.exit(probe.pid, atom('kill'));
    await node.waitExit(probe.pid);
    assert.equal(node.whereis('probe'), undefined);
    const again = node.spawn(idle, { name: 'probe' });
    assert.ok(node.whereis('probe')?.equals(again));
  });

  test('a taken name, a second name and a dead process are refused with typed errors', async () => {
    await using node = newNode();
    const a = node.spawn(idle, { name: 'a' });
    const b = node.spawn(idle);
    assert.throws(() => node.register('a', b), NameTakenError);
    assert.throws(() => node.register('other', a), NameTakenError);
    assert.throws(() => node.spawn(idle, { name: 'a' }), NameTakenError);
    node.exit(b, atom('kill'));
    assert.throws(() => node.register('b', b), BadArgumentError);
    assert.throws(() => node.register('undefined', node.spawn(idle)), BadArgumentError);
    assert.equal(node.unregister('a'), true);
    assert.equal(node.unregister('a'), false);
  });

  test('send to an unknown name is dropped silently; trySend reports it', async () => {
    await using node = newNode();
    node.send('nobody', 'x');
    assert.equal(node.trySend('nobody', 'x'), false);
    const p = new Probe(node, { name: 'somebody' });
    assert.equal(node.trySend('somebody', 'x'), true);
    assert.equal(await p.next(), 'x');
  });
});

describe('messages', () => {
  test('messages from one sender arrive in order', async () => {
    await using node = newNode();
    const probe = new Probe(node);
    for (let i = 0; i < 1000; i++) node.send(probe.pid, i);
    for (let i = 0; i < 1000; i++) assert.equal(await probe.next(), i);
  });

  test('send to a dead process is dropped', async () => {
    await using node = newNode();
    const pid = node.spawn(idle);
    node.exit(pid, atom('kill'));
    node.send(pid, 'x');
    assert.equal(node.isAlive(pid), false);
  });

  test('an async handler holds the process; the mailbox keeps filling', async () => {
    await using node = newNode();
    const gate = deferred();
    const handled: unknown[] = [];
    const pid = node.spawn({
      async handleMessage(msg) {
        handled.push(msg);
        if (msg === 'first') await gate.promise;
      },
    });
    node.send(pid, 'first');
    node.send(pid, 'second');
    node.send(pid, 'third');
    await eventually(() => node.processInfo(pid)?.status === 'suspended');
    assert.deepEqual(handled, ['first']);
    assert.equal(node.processInfo(pid)?.messageQueueLength, 2);
    gate.resolve();
    await eventually(() => handled.length === 3);
    assert.deepEqual(handled, ['first', 'second', 'third']);
  });

  test('timed send delivers after the delay and can be cancelled', async () => {
    await using node = newNode();
    const probe = new Probe(node);
    const cancelled = node.sendAfter(probe.pid, 'cancelled', 5);
    const t0 = Date.now();
    node.sendAfter(probe.pid, 'late', 20);
    assert.equal(cancelled.cancel(), true);
    assert.equal(cancelled.cancel(), false);
    assert.equal(await probe.next(), 'late');
    assert.ok(Date.now() - t0 >= 19);
    assert.equal(probe.pending.length, 0);
    assert.throws(() => node.sendAfter(probe.pid, 'x', -1), BadArgumentError);
  });

  test('aliases route to their process until deactivated', async () => {
    await using node = newNode();
    const probe = new Probe(node);
    await eventually(() => probe.proc !== undefined);
    const alias = probe.proc.alias();
    node.send(alias, 'via alias');
    assert.equal(await probe.next(), 'via alias');
    assert.equal(probe.proc.unalias(alias), true);
    node.send(alias, 'dropped');
    node.send(probe.pid, 'direct');
    assert.equal(await probe.next(), 'direct');
  });
});

describe('links and exit signals', () => {
  test('a crash propagates along links; the reason carries the error', async () => {
    await using node = newNode();
    const trapper = new Probe(node, { trapExit: true });
    await eventually(() => trapper.proc !== undefined);
    const err = new Error('boom');
    const child = trapper.proc.spawnLink({
      handleMessage() {
        throw err;
      },
    });
    const bystander = node.spawn(idle);
    const linkedToChild = node.spawn({
      init: (p) => p.link(child),
      handleMessage() {},
    });
    await eventually(() => node.processInfo(linkedToChild)?.links.length === 1);
    const linkedExit = node.waitExit(linkedToChild);
    node.send(child, 'go');
    const msg = (await trapper.next()) as Tuple;
    assert.equal(msg.elements[0], atom('EXIT'));
    assert.ok((msg.elements[1] as Pid).equals(child));
    assert.equal(msg.elements[2], err);
    assert.equal(await linkedExit, err, 'a non-trapping linked process dies with the same reason');
    assert.ok(node.isAlive(bystander));
  });

  test('a rejected promise crashes the process', async () => {
    await using node = newNode();
    const pid = node.spawn({
      async handleMessage() {
        await Promise.resolve();
        throw new RangeError('async boom');
      },
    });
    const exit = node.waitExit(pid);
    node.send(pid, 'go');
    const reason = await exit;
    assert.ok(reason instanceof RangeError);
  });

  test('normal exits are ignored by non-trapping linked processes', async () => {
    await using node = newNode();
    const parent = new Probe(node);
    await eventually(() => parent.proc !== undefined);
    const child = parent.proc.spawnLink({ handleMessage: (_m, p: Process) => p.exit('normal') });
    node.send(child, 'stop');
    assert.equal(await node.waitExit(child), normal);
    assert.ok(node.isAlive(parent.pid));
    assert.equal(node.processInfo(parent.pid)?.links.length, 0);
  });

  test('links are bidirectional and idempotent; unlink removes both sides', async () => {
    await using node = newNode();
    const a = new Probe(node);
    const b = node.spawn(idle);
    await eventually(() => a.proc !== undefined);
    a.proc.link(b);
    a.proc.link(b);
    assert.equal(node.processInfo(a.pid)?.links.length, 1);
    assert.ok(node.processInfo(b)?.links[0]?.equals(a.pid));
    a.proc.unlink(b);
    assert.equal(node.processInfo(a.pid)?.links.length, 0);
    assert.equal(node.processInfo(b)?.links.length, 0);
    node.exit(b, atom('kill'));
    await node.waitExit(b);
    assert.ok(node.isAlive(a.pid));
  });

  test('kill cannot be trapped and becomes killed for linked processes', async () => {
    await using node = newNode();
    const watcher = new Probe(node, { trapExit: true });
    await eventually(() => watcher.proc !== undefined);
    const victim = watcher.proc.spawnLink({ handleMessage() {} }, { trapExit: true });
    node.exit(victim, atom('kill'));
    const msg = (await watcher.next()) as Tuple;
    assert.deepEqual([msg.elements[0], msg.elements[2]], [atom('EXIT'), killed]);
  });

  test('trapExit turns signals into messages, including normal from exit/2', async () => {
    await using node = newNode();
    const t = new Probe(node, { trapExit: true });
    await eventually(() => t.proc !== undefined);
    const other = node.spawn(idle);
    node.exit(t.pid, normal);
    node.exit(t.pid, atom('custom'));
    const a = (await t.next()) as Tuple;
    const b = (await t.next()) as Tuple;
    assert.equal(a.elements[2], normal);
    assert.equal(b.elements[2], atom('custom'));
    assert.ok(node.isAlive(t.pid));
    void other;
  });

  test('exit/2 with normal is ignored unless sent to oneself', async () => {
    await using node = newNode();
    const target = node.spawn(idle);
    node.exit(target, normal);
    const self = node.spawn({ handleMessage: (_m, p: Process) => p.sendExit(p.self, normal) });
    node.send(self, 'go');
    assert.equal(await node.waitExit(self), normal);
    assert.ok(node.isAlive(target));
  });

  test('linking to a dead or unknown process: a trapping caller gets noproc at once, another raises it', async () => {
    await using node = newNode();
    const t = new Probe(node, { trapExit: true });
    await eventually(() => t.proc !== undefined);
    const dead = node.spawn(idle);
    node.exit(dead, atom('kill'));
    t.proc.link(dead);
    const msg = (await t.next()) as Tuple;
    assert.deepEqual([msg.elements[0], msg.elements[2]], [atom('EXIT'), noproc]);
    // Not trapping: link raises a noproc error (OTP's error:noproc), which crashes an init that does not catch it.
    const plain = node.spawn({ init: (p) => p.link(dead), handleMessage() {} });
    const reason = await node.waitExit(plain);
    assert.ok(reason instanceof NoProcessError && reason.reason === noproc);
  });

  test('a linked exit with reason kill (not exit/2) is an ordinary trappable reason', async () => {
    await using node = newNode();
    const t = new Probe(node, { trapExit: true });
    await eventually(() => t.proc !== undefined);
    const child = t.proc.spawnLink({ handleMessage: (_m, p: Process) => p.exit(atom('kill')) });
    node.send(child, 'go');
    const msg = (await t.next()) as Tuple;
    assert.equal(msg.elements[2], atom('kill'));
    assert.ok(node.isAlive(t.pid));
  });

  test('a killed process gets no more code run; its signal aborts', async () => {
    await using node = newNode();
    const started = deferred();
    let aborted: unknown;
    const pid = node.spawn({
      async handleMessage(_m, p) {
        p.signal.addEventListener('abort', () => (aborted = p.signal.reason));
        started.resolve();
        await new Promise(() => {}); // never settles
      },
    });
    node.send(pid, 'go');
    await started.promise;
    const exit = node.waitExit(pid);
    node.exit(pid, atom('kill'));
    assert.equal(await exit, killed);
    assert.equal(aborted, killed);
  });

  test('cleanup runs on every exit, kill included', async () => {
    await using node = newNode();
    const reasons: unknown[] = [];
    const pid = node.spawn({ handleMessage() {}, cleanup: (r) => reasons.push(r) });
    node.exit(pid, atom('kill'));
    assert.deepEqual(reasons, [killed]);
  });
});

describe('monitors', () => {
  test('DOWN carries the reason; one per monitor; stackable', async () => {
    await using node = newNode();
    const w = new Probe(node);
    await eventually(() => w.proc !== undefined);
    const target = node.spawn({ handleMessage: (_m, p: Process) => p.exit(atom('bye')) });
    const r1 = w.proc.monitor(target);
    const r2 = w.proc.monitor(target);
    assert.ok(!r1.equals(r2));
    node.send(target, 'go');
    const d1 = (await w.next()) as Tuple;
    const d2 = (await w.next()) as Tuple;
    for (const d of [d1, d2]) {
      assert.equal(d.elements[0], atom('DOWN'));
      assert.equal(d.elements[2], atom('process'));
      assert.ok((d.elements[3] as Pid).equals(target));
      assert.equal(d.elements[4], atom('bye'));
    }
    assert.ok((d1.elements[1] as Ref).equals(r1));
    assert.ok((d2.elements[1] as Ref).equals(r2));
  });

  test('a dead or unknown target gives noproc at once; by name the target is {Name, Node}', async () => {
    await using node = newNode();
    const w = new Probe(node);
    await eventually(() => w.proc !== undefined);
    const dead = node.spawn(idle);
    node.exit(dead, atom('kill'));
    w.proc.monitor(dead);
    const d1 = (await w.next()) as Tuple;
    assert.equal(d1.elements[4], noproc);
    w.proc.monitor('nobody');
    const d2 = (await w.next()) as Tuple;
    assert.equal(d2.elements[4], noproc);
    const t = d2.elements[3] as Tuple;
    assert.deepEqual(t.elements, [atom('nobody'), node.name]);
    const named = node.spawn(idle, { name: 'named' });
    w.proc.monitor('named');
    node.exit(named, atom('kill'));
    const d3 = (await w.next()) as Tuple;
    assert.deepEqual((d3.elements[3] as Tuple).elements, [atom('named'), node.name]);
    assert.equal(d3.elements[4], killed);
  });

  test('demonitor stops the DOWN; with flush it removes one already delivered', async () => {
    await using node = newNode();
    const gate = deferred();
    const got: unknown[] = [];
    let proc!: Process;
    const w = node.spawn({
      init: (p) => {
        proc = p;
      },
      async handleMessage(msg) {
        if (msg === 'hold') return gate.promise;
        got.push(msg);
      },
    });
    await eventually(() => proc !== undefined);
    const t1 = node.spawn(idle);
    const t2 = node.spawn(idle);
    const r1 = proc.monitor(t1);
    const r2 = proc.monitor(t2);
    assert.equal(proc.demonitor(r1), true);
    assert.equal(proc.demonitor(r1), false);
    node.send(w, 'hold');
    await eventually(() => node.processInfo(w)?.status === 'suspended');
    node.exit(t1, atom('kill'));
    node.exit(t2, atom('kill'));
    assert.equal(node.processInfo(w)?.messageQueueLength, 1, 'only the DOWN of the live monitor');
    proc.demonitor(r2, { flush: true });
    assert.equal(node.processInfo(w)?.messageQueueLength, 0);
    node.send(w, 'after');
    gate.resolve();
    await eventually(() => got.length === 1);
    assert.deepEqual(got, ['after']);
  });

  test('monitoring a node with no distribution delivers nodedown at once', async () => {
    await using node = newNode();
    const w = new Probe(node);
    await eventually(() => w.proc !== undefined);
    w.proc.monitorNode('other@127.0.0.1');
    const msg = (await w.next()) as Tuple;
    assert.deepEqual(msg.elements, [atom('nodedown'), atom('other@127.0.0.1')]);
  });

  test('process info reports links, monitors and monitored-by', async () => {
    await using node = newNode();
    const w = new Probe(node, { name: 'watcher' });
    await eventually(() => w.proc !== undefined);
    const t = node.spawn(idle);
    w.proc.link(t);
    w.proc.monitor(t);
    w.proc.monitor('nobody_here');
    const info = node.processInfo(w.pid);
    assert.ok(info);
    assert.equal(info.registeredName, atom('watcher'));
    assert.equal(info.behavior, 'probe');
    assert.equal(info.links.length, 1);
    assert.equal(info.monitors.length, 1, 'the noproc monitor is gone');
    assert.ok(node.processInfo(t)?.monitoredBy[0]?.equals(w.pid));
    assert.equal(node.processInfo(node.spawn(idle))?.parent, undefined);
  });
});

describe('calls', () => {
  /** A raw process that answers `{'$gen_call', From, Req}` by echoing, after an optional delay. */
  function echoServer(node: Node, opts: { delayMs?: number; name?: string } = {}): Pid {
    return node.spawn(
      {
        async handleMessage(msg, p) {
          if (!(msg instanceof Tuple) || msg.elements[0] !== atom('$gen_call')) return;
          const [, from, req] = msg.elements;
          if (req === 'die') p.exit(atom('died'));
          if (opts.delayMs !== undefined) await new Promise((r) => setTimeout(r, opts.delayMs));
          p.reply(from as Tuple<[Pid, unknown]>, req);
        },
      },
      opts.name === undefined ? {} : { name: opts.name },
    );
  }

  test('call returns the reply; the request travels as {$gen_call, {Pid, [alias|Ref]}, Req}', async () => {
    await using node = newNode();
    let seen: Tuple | undefined;
    const pid = node.spawn({
      handleMessage(msg, p) {
        seen = msg as Tuple;
        p.reply((msg as Tuple).elements[1] as Tuple<[Pid, unknown]>, 'pong');
      },
    });
    assert.equal(await node.call(pid, 'ping'), 'pong');
    assert.ok(seen);
    assert.equal(seen.elements[0], atom('$gen_call'));
    const from = seen.elements[1] as Tuple;
    assert.ok(from.elements[0] instanceof Pid);
    assert.equal(String(from.elements[1]).startsWith('[alias|#Ref<'), true);
  });

  test('calls between processes, by pid and name', async () => {
    await using node = newNode();
    echoServer(node, { name: 'echo' });
    const result = deferred<unknown[]>();
    node.spawn({
      async init(p) {
        result.resolve([await p.call('echo', 1), await p.call({ name: 'echo', node: node.name }, 2)]);
      },
      handleMessage() {},
    });
    assert.deepEqual(await result.promise, [1, 2]);
  });

  test('a dead or unknown target fails fast with noproc', async () => {
    await using node = newNode();
    const t0 = Date.now();
    await assert.rejects(node.call('nobody', 'x', { timeout: 60_000 }), (e: unknown) => e instanceof CallExitError && e.reason === noproc);
    const dead = node.spawn(idle);
    node.exit(dead, atom('kill'));
    await assert.rejects(node.call(dead, 'x', { timeout: 60_000 }), (e: unknown) => e instanceof CallExitError && e.reason === noproc);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('a target dying mid-call fails the call with its exit reason', async () => {
    await using node = newNode();
    const pid = echoServer(node);
    await assert.rejects(node.call(pid, 'die'), (e: unknown) => e instanceof CallExitError && e.reason === atom('died'));
  });

  test('timeout rejects; the late reply is discarded, never a stray message', async () => {
    await using node = newNode();
    const server = echoServer(node, { delayMs: 50 });
    const caller = new Probe(node);
    await eventually(() => caller.proc !== undefined);
    await assert.rejects(caller.proc.call(server, 'slow', { timeout: 5 }), CallTimeoutError);
    // The server replies ~45 ms later; a later call round-trips after it.
    await new Promise<void>((resolve) => node.sendAfter(caller.pid, 'marker', 0) && resolve());
    assert.equal(await caller.proc.call(server, 'after', { timeout: 5000 }), 'after');
    assert.equal(await caller.next(), 'marker');
    assert.equal(caller.pending.length, 0, 'no stray reply in the mailbox');
    assert.equal(node._stats().aliases, 0);
  });

  test('calls with different timeouts expire in deadline order; a caller that exits cancels its calls', async () => {
    await using node = newNode();
    const silent = node.spawn(idle);
    const order: number[] = [];
    const slow = node.call(silent, 'a', { timeout: 60 }).catch(() => order.push(60));
    const fast = node.call(silent, 'b', { timeout: 10 }).catch(() => order.push(10));
    const fast2 = node.call(silent, 'c', { timeout: 10 }).catch(() => order.push(11));
    await Promise.all([slow, fast, fast2]);
    assert.deepEqual(order, [10, 11, 60]);
    const outcome = deferred<unknown>();
    const caller = node.spawn({
      init(p) {
        p.call(silent, 'never', { timeout: Infinity }).catch((e: unknown) => outcome.resolve(e));
      },
      handleMessage() {},
    });
    await eventually(() => node.processInfo(caller)?.status === 'waiting');
    node.exit(caller, atom('kill'));
    assert.ok((await outcome.promise) instanceof CallExitError);
  });

  test('calls of different timeouts found due at once (a late timer) still fail in deadline order', async () => {
    await using node = newNode();
    const silent = node.spawn(idle);
    const order: number[] = [];
    const slow = node.call(silent, 'a', { timeout: 30 }).catch(() => order.push(30));
    const fast = node.call(silent, 'b', { timeout: 5 }).catch(() => order.push(5));
    const fast2 = node.call(silent, 'c', { timeout: 5 }).catch(() => order.push(6));
    // Keep the loop busy past every deadline: the timer fires once, late, with all three calls due.
    const busyUntil = Date.now() + 50;
    while (Date.now() < busyUntil);
    await Promise.all([slow, fast, fast2]);
    assert.deepEqual(order, [5, 6, 30]);
  });

  test('calls still work while stop hooks run', async () => {
    const node = newNode();
    const server = node.spawn({ handleMessage: (m, p) => p.reply((m as Tuple).elements[1] as Tuple<[Pid, unknown]>, 'still here') });
    let answer: unknown;
    node.onStop(async () => {
      answer = await node.call(server, 'x');
    });
    await node.stop();
    assert.equal(answer, 'still here');
  });

  test('an AbortSignal cancels a call', async () => {
    await using node = newNode();
    const server = node.spawn(idle);
    const ac = new AbortController();
    const p = node.call(server, 'never', { signal: ac.signal, timeout: Infinity });
    ac.abort(new Error('enough'));
    await assert.rejects(p, CallAbortedError);
    await assert.rejects(node.call(server, 'x', { signal: AbortSignal.abort() }), CallAbortedError);
    assert.equal(node._stats().monitors, 0);
  });

  test('bad call arguments', async () => {
    await using node = newNode();
    const server = node.spawn(idle);
    await assert.rejects(node.call(server, 'x', { timeout: -1 }), BadArgumentError);
    await assert.rejects(node.call(node.makeRef(), 'x'), BadArgumentError);
    assert.throws(() => node.send(42 as unknown as Pid, 'x'), BadArgumentError);
  });
});

describe('environment and introspection', () => {
  test('children inherit the environment at spawn', async () => {
    await using node = newNode();
    const got = deferred<unknown[]>();
    node.spawn(
      {
        init(p) {
          p.setEnv('b', 2);
          p.spawn({
            init(c) {
              got.resolve([c.getEnv('a'), c.getEnv('b'), c.parent?.equals(p.self)]);
            },
            handleMessage() {},
          });
        },
        handleMessage() {},
      },
      { env: { a: 1 } },
    );
    assert.deepEqual(await got.promise, [1, 2, true]);
  });

  test('processes() lists living processes in spawn order', async () => {
    await using node = newNode();
    const a = node.spawn(idle);
    const b = node.spawn(idle);
    assert.deepEqual(node.processes().map(String), [a, b].map(String));
    node.exit(a, atom('kill'));
    assert.deepEqual(node.processes().map(String), [String(b)]);
  });
});

describe('node stop', () => {
  test('terminates processes in reverse spawn order, trapping ones get shutdown, hooks first', async () => {
    const node = newNode();
    const order: string[] = [];
    node.onStop(() => {
      order.push('hook');
    });
    for (const id of ['a', 'b', 'c']) node.spawn({ handleMessage() {}, cleanup: (r) => order.push(`${id}:${String(r)}`) }, { trapExit: id === 'b' });
    // b traps exits: it receives {'EXIT', _, shutdown} and exits itself.
    const trapped = deferred<unknown>();
    node.spawn(
      {
        handleMessage(msg, p) {
          trapped.resolve((msg as Tuple).elements[2]);
          p.exit(shutdown);
        },
      },
      { trapExit: true },
    );
    await node.stop();
    assert.equal(await trapped.promise, shutdown);
    assert.deepEqual(order, ['hook', 'c:shutdown', 'a:shutdown', 'b:killed']);
    assert.equal(node._stats().processes, 0);
    assert.throws(() => node.spawn(idle), NodeStoppedError);
    await assert.rejects(node.call('x', 1), NodeStoppedError);
    await node.stop(); // idempotent
  });

  test('a process that ignores shutdown is killed after the shutdown timeout', async () => {
    const node = new Node({ name: 'st@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 30 });
    const stubborn = node.spawn({ handleMessage() {} }, { trapExit: true });
    await node.stop();
    assert.equal(node.isAlive(stubborn), false);
  });

  test('timers are cleared and pending calls fail when the node stops', async () => {
    const node = newNode();
    const probe = new Probe(node);
    node.sendAfter(probe.pid, 'never', 60_000);
    const silent = node.spawn({ handleMessage() {} }, { trapExit: true });
    void silent;
    assert.equal(node._stats().timers, 1);
    await node.stop();
    assert.equal(node._stats().timers, 0);
  });

  test('stopping while the scheduler has yielded leaves nothing on the run queue', async () => {
    const node = newNode();
    const busy = {
      handleMessage() {
        const until = performance.now() + 0.05;
        while (performance.now() < until);
      },
    };
    for (let i = 0; i < 2000; i++) node.send(node.spawn(busy), 'work');
    // Let one slice run, so the rest waits behind a yield to the event loop.
    await new Promise((r) => setImmediate(r));
    assert.ok(node._stats().scheduled > 0, 'work is still queued');
    await node.stop();
    assert.equal(node._stats().scheduled, 0);
  });

  test('await using stops the node', async () => {
    let n: Node;
    {
      await using node = newNode();
      n = node;
      node.spawn(idle);
    }
    assert.equal(n.hasStopped, true);
    assert.equal(n._stats().processes, 0);
  });
});
