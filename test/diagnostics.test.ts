import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { eventually, freePort, quietLogger } from './support.js';
import { type Atom, atom, isAtom } from '../src/terms/atom.js';
import { noreply, ok, reply, startServer } from '../src/server/server.js';
import { serverStart, startSupervisor } from '../src/supervisor/index.js';
import { distributionOf, startNode } from '../src/distribution/index.js';
import { type CallEvent, type ConnectionEvent, diagnosticChannels, type ExitEvent, type RestartEvent, type SpawnEvent } from '../src/core/diagnostics.js';
import { CallTimeoutError } from '../src/core/errors.js';
import { Node } from '../src/core/node.js';
import type { ServerBehavior } from '../src/server/server.js';

/** Records what `name` publishes while the test runs. */
function record<T>(t: { after(fn: () => void): void }, name: string): T[] {
  const seen: T[] = [];
  const fn = (message: unknown): void => void seen.push(message as T);
  subscribe(name, fn);
  t.after(() => unsubscribe(name, fn));
  return seen;
}

type Echo = { call: [Atom<'get'>, number] | [Atom<'hang'>, never] };
const echo: ServerBehavior<Echo, number> = {
  init: () => ok(7),
  handleCall: (request, _from, n) => (isAtom(request, 'get') ? reply(request, n, n) : noreply(n)),
};

test('spawn and exit events carry the pid, name, behavior and exit reason', async (t) => {
  const spawns = record<SpawnEvent>(t, diagnosticChannels.spawn);
  const exits = record<ExitEvent>(t, diagnosticChannels.exit);
  await using node = new Node({ name: 'diag1@127.0.0.1', logger: quietLogger().log });
  const ref = await startServer(node, echo, undefined, { name: 'echo' });
  const mine = spawns.filter((e) => e.node === node.name);
  assert.equal(mine.length, 1);
  assert.deepEqual([mine[0]?.pid, mine[0]?.name, mine[0]?.behavior, mine[0]?.parent], [ref.pid, atom('echo'), 'server', undefined]);
  node.exit(ref.pid, atom('bye'));
  await eventually(() => exits.some((e) => e.pid === ref.pid));
  const exit = exits.find((e) => e.pid === ref.pid) as ExitEvent;
  assert.deepEqual([exit.reason, exit.name, exit.behavior], [atom('bye'), atom('echo'), 'server']);
});

test('call start and end publish one event object: the reply, or the error, and the duration', async (t) => {
  const starts = record<CallEvent>(t, diagnosticChannels.callStart);
  const ends = record<CallEvent>(t, diagnosticChannels.callEnd);
  await using node = new Node({ name: 'diag2@127.0.0.1', logger: quietLogger().log });
  const ref = await startServer(node, echo, undefined);
  assert.equal(await node.call(ref, atom('get')), 7);
  await assert.rejects(node.call(ref, atom('hang'), { timeout: 20 }), CallTimeoutError);
  await assert.rejects(node.call('nobody', 'x'));
  const mine = ends.filter((e) => e.node === node.name);
  assert.equal(mine.length, 3);
  const [got, hung, missing] = mine as [CallEvent, CallEvent, CallEvent];
  assert.ok(starts.includes(got), 'the end event is the start event object');
  assert.deepEqual([got.request, got.reply, got.error, got.target], [atom('get'), 7, undefined, ref.pid]);
  assert.ok(typeof got.durationMs === 'number' && got.durationMs >= 0);
  assert.ok(hung.error instanceof CallTimeoutError);
  assert.equal(hung.durationMs !== undefined && hung.durationMs >= 15, true);
  assert.equal(missing.target, 'nobody');
  assert.ok(missing.error instanceof Error);
});

test('a supervisor restart publishes the supervisor, the child id and the reason', async (t) => {
  const restarts = record<RestartEvent>(t, diagnosticChannels.restart);
  await using node = new Node({ name: 'diag3@127.0.0.1', logger: quietLogger().log });
  const sup = await startSupervisor(node, {
    strategy: 'one_for_one',
    children: [{ id: 'echo', start: serverStart(echo, undefined, { name: 'echo' }) }],
  });
  const first = node.whereis('echo');
  assert.ok(first !== undefined);
  node.exit(first, atom('crash_on_purpose'));
  await eventually(() => restarts.some((e) => e.supervisor.equals(sup.pid)));
  const e = restarts.find((x) => x.supervisor.equals(sup.pid)) as RestartEvent;
  assert.deepEqual([e.childId, e.reason, e.child, e.node], ['echo', atom('crash_on_purpose'), first, node.name]);
  await eventually(() => node.whereis('echo') !== undefined && node.whereis('echo') !== first);
});

test('connection up and down between two nodes, down with its reason', async (t) => {
  const ups = record<ConnectionEvent>(t, diagnosticChannels.connectionUp);
  const downs = record<ConnectionEvent>(t, diagnosticChannels.connectionDown);
  const epmdPort = await freePort();
  const common = { cookie: 'diag', epmdPort, logger: quietLogger().log, shutdownTimeout: 100 };
  await using a = await startNode({ name: 'diaga@127.0.0.1', ...common });
  await using b = await startNode({ name: 'diagb@127.0.0.1', ...common });
  a.send({ name: 'nobody', node: b.name }, 'hello');
  await eventually(() => ups.some((e) => e.node === a.name && e.peer === b.name), 20_000, 'connection up');
  assert.ok(distributionOf(a).disconnect(b.name));
  await eventually(() => downs.some((e) => e.node === a.name && e.peer === b.name), 20_000, 'connection down');
  const down = downs.find((e) => e.node === a.name && e.peer === b.name) as ConnectionEvent;
  assert.ok(down.reason !== undefined);
});

test('with no subscriber nothing is published and calls work as usual', async () => {
  await using node = new Node({ name: 'diag4@127.0.0.1', logger: quietLogger().log });
  const ref = await startServer(node, echo, undefined);
  assert.equal(await node.call(ref, atom('get')), 7);
});
