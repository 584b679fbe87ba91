/**
 * Errors carry a stable `code` and the `cause` behind them; a failed rpc is
 * an RpcError with the `{badrpc, Reason}` term, whatever failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, quietLogger } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { BadArgumentError, BeamlineError, CallAbortedError, CallExitError, CallTimeoutError, NameTakenError, NodeStoppedError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { InitFailedError, ok, startServer } from '../server/server.js';
import { ChildNotFoundError, SupervisorError } from '../supervisor/errors.js';
import { DistError } from './errors.js';
import { exposeRpc, RemoteSpawnError, rpc, RpcError, startNode } from './node-dist.js';

describe('error codes and causes', () => {
  let a: Node;
  let b: Node;
  const B = 'errb@127.0.0.1';
  before(async () => {
    const common = { cookie: 'errs', epmdPort: await freePort(), logger: quietLogger().log, shutdownTimeout: 100 };
    a = await startNode({ name: 'erra@127.0.0.1', ...common });
    b = await startNode({ name: B, ...common });
    exposeRpc(b, 'calc', { add: (x: number, y: number) => x + y, never: () => new Promise(() => {}) });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('each error class has its own stable code', () => {
    const cases: [BeamlineError, string][] = [
      [new BeamlineError('x'), 'beamline_error'],
      [new NameTakenError('n', 'taken'), 'name_taken'],
      [new NodeStoppedError('stopped'), 'node_stopped'],
      [new BadArgumentError('bad'), 'badarg'],
      [new CallTimeoutError('t', atom('timeout')), 'call_timeout'],
      [new CallExitError('e', atom('noproc')), 'call_exit'],
      [new CallAbortedError('a', undefined), 'call_aborted'],
      [new InitFailedError(atom('bad')), 'init_failed'],
      [new ChildNotFoundError('c'), 'child_not_found'],
      [new SupervisorError('s', atom('x')), 'supervisor_error'],
      [new RpcError(atom('nodedown'), 'r'), 'badrpc'],
      [new RemoteSpawnError(atom('x'), 'r'), 'remote_spawn_failed'],
    ];
    for (const [err, code] of cases) assert.equal(err.code, code, err.name);
    assert.equal(new Set(cases.map(([e]) => e.code)).size, cases.length, 'codes are distinct');
  });

  it('a crash is the cause of the init and call errors it makes', async () => {
    const boom = new Error('init boom (test)');
    const err = await startServer(a, { init: () => { throw boom; } }, undefined).catch((e: unknown) => e);
    assert.ok(err instanceof InitFailedError);
    assert.equal(err.cause, boom);
    const crash = new Error('call boom (test)');
    const ref = await startServer(a, { init: () => ok(0), handleCall: () => { throw crash; } }, undefined);
    const callErr = await a.call(ref.pid, 'x').catch((e: unknown) => e);
    assert.ok(callErr instanceof CallExitError);
    assert.equal(callErr.code, 'call_exit');
    assert.equal(callErr.cause, crash);
  });

  it('a failed rpc carries {badrpc, Reason}: a remote error, nodedown (with the connection error behind it), timeout', async () => {
    assert.equal(await rpc(a, B, 'calc', 'add', [40, 2]), 42);
    const undef = await rpc(a, B, 'calc', 'nope', []).catch((e: unknown) => e);
    assert.ok(undef instanceof RpcError);
    assert.equal(undef.badrpc.elements[0], atom('badrpc'));
    assert.equal(undef.badrpc.elements[1], undef.reason);
    assert.equal(((undef.reason as Tuple).elements[1] as Tuple).elements[0], atom('undef'));

    const down = await rpc(a, 'ghost@127.0.0.1', 'calc', 'add', [1, 2]).catch((e: unknown) => e);
    assert.ok(down instanceof RpcError, String(down));
    assert.deepEqual(down.badrpc, tuple(atom('badrpc'), atom('nodedown')));
    assert.ok(down.cause instanceof CallExitError, 'the call error is the cause');
    assert.ok(down.cause.cause instanceof DistError, `the connection error is behind it: ${String(down.cause.cause)}`);

    const slow = await rpc(a, B, 'calc', 'never', [], { timeout: 30 }).catch((e: unknown) => e);
    assert.ok(slow instanceof RpcError);
    assert.deepEqual(slow.badrpc, tuple(atom('badrpc'), atom('timeout')));
    assert.ok(slow.cause instanceof CallTimeoutError);
  });

  it('an aborted rpc rejects with CallAbortedError', async () => {
    const controller = new AbortController();
    const pending = rpc(a, B, 'calc', 'never', [], { timeout: Infinity, signal: controller.signal });
    controller.abort(atom('enough'));
    const err = await pending.catch((e: unknown) => e);
    assert.ok(err instanceof CallAbortedError);
    const pre = await rpc(a, B, 'calc', 'add', [1, 1], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(pre instanceof CallAbortedError);
  });
});
