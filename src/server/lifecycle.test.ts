/**
 * The Server's lifecycle as OTP 26+ defines it: who the parent is, how a
 * failed start_link ends, init's error(R), the order of a stop with a reply,
 * timeouts across system requests, and hibernation. Erlang expectations:
 * lifecycle_probe.erl beside this file (OTP 25), and the OTP 29
 * measurements for the start_link failure cases, where OTP 25 differs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { normal } from '../core/reasons.js';
import {
  error,
  getServerState,
  InitFailedError,
  noreply,
  ok,
  reply,
  type ServerBehavior,
  startServer,
  stop,
  stopAndReply,
} from './server.js';

function newNode(logger = quietLogger()): Node {
  return new Node({ name: 'life@127.0.0.1', logger: logger.log, shutdownTimeout: 200 });
}

/** Runs `body` inside a fresh process (trapping exits or not) and resolves with what it returns. */
function inProcess<T>(node: Node, trapExit: boolean, body: (p: Process) => Promise<T>): { pid: Pid; result: Promise<T> } {
  const done = deferred<T>();
  const pid = node.spawn(
    {
      async init(p) {
        try {
          done.resolve(await body(p));
        } catch (err) {
          done.reject(err);
        }
      },
      handleMessage() {},
    },
    { trapExit },
  );
  return { pid, result: done.promise };
}

describe('Server lifecycle', () => {
  test('only a linked starter is the parent: an exit signal from an unlinked starter goes to handleInfo', async () => {
    await using node = newNode();
    const infos: unknown[] = [];
    const terminated: unknown[] = [];
    const behavior: ServerBehavior<{ call: [unknown, unknown] }, number> = {
      init: (_args, ctx) => {
        ctx.trapExit = true;
        return ok(0);
      },
      handleInfo: (msg, s) => {
        infos.push(msg);
        return noreply(s);
      },
      terminate: (reason) => void terminated.push(reason),
    };
    const { result } = inProcess(node, false, async (p) => {
      const srv = await startServer(p, behavior, undefined);
      p.sendExit(srv.pid, atom('from_starter'));
      return srv.pid;
    });
    const server = await result;
    await eventually(() => infos.length === 1);
    assert.equal((infos[0] as Tuple).elements[0], atom('EXIT'));
    assert.equal((infos[0] as Tuple).elements[2], atom('from_starter'));
    assert.deepEqual(terminated, []);
    assert.ok(node.isAlive(server));
  });

  test('start_link where init returns stop(R): a caller that does not trap exits is killed with R before the start returns', async () => {
    await using node = newNode();
    const { pid, result } = inProcess(node, false, async (p) => {
      try {
        await startServer(p, { init: () => stop('bad') }, undefined, { link: true });
        return 'started';
      } catch {
        return p.alive ? 'alive after the rejection' : 'dead when the start returned';
      }
    });
    const exit = node.waitExit(pid);
    assert.equal(await result, 'dead when the start returned');
    assert.equal(await exit, atom('bad'));
  });

  test('start_link where init throws: a caller that does not trap exits is killed with the error', async () => {
    await using node = newNode();
    const boom = new Error('init bug');
    const { pid, result } = inProcess(node, false, async (p) => {
      await startServer(
        p,
        {
          init: () => {
            throw boom;
          },
        },
        undefined,
        { link: true },
      ).catch(() => undefined);
      return p.alive;
    });
    const exit = node.waitExit(pid);
    assert.equal(await result, false);
    assert.equal(await exit, boom);
  });

  test("start_link where init returns stop(R): a trapping caller gets the rejection and no {'EXIT', Pid, R} in its mailbox", async () => {
    await using node = newNode();
    const { pid, result } = inProcess(node, true, async (p) => {
      const err = await startServer(p, { init: () => stop('bad') }, undefined, { link: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      return { err, queued: p.info().messageQueueLength, alive: p.alive };
    });
    const { err, queued, alive } = await result;
    assert.ok(err instanceof InitFailedError);
    assert.equal(err.reason, atom('bad'));
    assert.equal(queued, 0, 'the EXIT of the failed start was consumed');
    assert.ok(alive && node.isAlive(pid));
  });

  test('init returning error(R): the start rejects with R, the process exits normal, quietly, and a linked caller lives', async () => {
    const logger = quietLogger();
    await using node = newNode(logger);
    let server: Pid | undefined;
    const exits: unknown[] = [];
    const { pid, result } = inProcess(node, false, async (p) => {
      return startServer(
        p,
        {
          init: (_a, ctx) => {
            server = ctx.self;
            void node.waitExit(ctx.self).then((r) => exits.push(r));
            return error('not_configured');
          },
        },
        undefined,
        { link: true },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    const err = await result;
    assert.ok(err instanceof InitFailedError);
    assert.equal(err.reason, atom('not_configured'));
    assert.ok(server !== undefined && !node.isAlive(server));
    assert.deepEqual(exits, [normal]);
    assert.ok(node.isAlive(pid));
    assert.deepEqual(logger.lines, [], 'no crash report');
  });

  test('a stop with a reply sends the reply only after terminate has finished', async () => {
    await using node = newNode();
    const order: string[] = [];
    const gate = deferred();
    const srv = await startServer<{ call: ['quit', string] }, number, undefined>(node, {
      init: () => ok(0),
      handleCall: (req, _from, s) => stopAndReply(req, 'normal', 'bye', s),
      terminate: async () => {
        order.push('terminate started');
        await gate.promise;
        order.push('terminate done');
      },
    }, undefined);
    const answer = node.call(srv, 'quit').then((r) => order.push(`reply ${r}`));
    await eventually(() => order.length === 1);
    gate.resolve();
    await answer;
    assert.deepEqual(order, ['terminate started', 'terminate done', 'reply bye']);
  });

  test('a timeout returned by a handler still fires when a system request arrives during it', async () => {
    await using node = newNode();
    const fired = deferred<unknown>();
    const srv = await startServer<{ call: [unknown, unknown] }, string, undefined>(node, {
      init: () => ok('waiting', { timeout: 50 }),
      handleInfo: (msg, s) => {
        fired.resolve(msg);
        return noreply(s);
      },
    }, undefined);
    assert.equal(await getServerState(node, srv), 'waiting');
    assert.equal(await fired.promise, atom('timeout'));
  });

  test('hibernate: the server hibernates until its next message and keeps its state', async () => {
    await using node = newNode();
    const srv = await startServer<{ call: ['get', number]; cast: 'add' }, number, undefined>(node, {
      init: () => ok(0),
      handleCall: (r, _f, s) => reply(r, s, s),
      handleCast: (_m, s) => noreply(s + 1, { hibernate: true }),
    }, undefined);
    for (let i = 0; i < 100; i++) node.cast(srv, 'add');
    await eventually(() => node.processInfo(srv.pid)?.hibernated === true && node.processInfo(srv.pid)?.messageQueueLength === 0);
    assert.equal(await node.call(srv, 'get'), 100);
    assert.equal(node.processInfo(srv.pid)?.hibernated, false, 'awake after a message');
  });
});
