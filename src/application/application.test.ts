/**
 * Applications: start types with a normal and an abnormal stop of the root
 * supervisor, a requested stop, dependency order on start and reverse
 * order on node stop, missing dependencies, the environment, load/unload.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { kill } from '../core/reasons.js';
import { deferred, eventually } from '../../test/support.js';
import { AbortedError } from '../core/errors.js';
import { ok, type ServerBehavior, stopServer } from '../server/server.js';
import { serverStart } from '../supervisor/child-start.js';
import { EventLog, logWorker } from '../../test/supervisor-fixtures.js';
import {
  applicationExit,
  getApplication,
  getApplicationEnv,
  getAppEnv,
  loadApplication,
  loadedApplications,
  setApplicationEnv,
  startApplication,
  stopApplication,
  unloadApplication,
  whichApplications,
} from './controller.js';
import {
  AlreadyLoadedError,
  AlreadyStartedApplicationError,
  ApplicationRunningError,
  ApplicationStartError,
  MissingDependencyError,
  NotLoadedError,
  NotStartedError,
} from './errors.js';
import type { ApplicationSpec, StartType } from './spec.js';

function app(name: string, log: EventLog, extra: Partial<ApplicationSpec> = {}): ApplicationSpec {
  return {
    name,
    version: '1.0.0',
    description: `the ${name} app`,
    ...(extra.supervisor === undefined ? { children: [{ id: `${name}_worker`, start: logWorker(log, `${name}_worker`) }] } : {}),
    start: () => log.push(`app start ${name}`),
    stop: () => log.push(`app stop ${name}`),
    ...extra,
  };
}

const cases: { type: StartType; how: 'normal' | 'abnormal'; nodeStops: boolean }[] = [
  { type: 'permanent', how: 'normal', nodeStops: true },
  { type: 'permanent', how: 'abnormal', nodeStops: true },
  { type: 'transient', how: 'normal', nodeStops: false },
  { type: 'transient', how: 'abnormal', nodeStops: true },
  { type: 'temporary', how: 'normal', nodeStops: false },
  { type: 'temporary', how: 'abnormal', nodeStops: false },
];

for (const { type, how, nodeStops } of cases) {
  test(`${type} application whose root exits ${how}: the node ${nodeStops ? 'stops' : 'keeps running'}`, async () => {
    const node = new Node({ logger: () => {} });
    try {
      const log = new EventLog();
      const pids = new Map<string, Pid>();
      loadApplication(node, app('other', log));
      loadApplication(node, app('main', log, { children: [{ id: 'w', start: logWorker(log, 'w', { pids }) }] }));
      await startApplication(node, 'other');
      await startApplication(node, 'main', type);
      const root = node.processInfo(pids.get('w') as Pid)?.parent as Pid;
      const ended = applicationExit(node, 'main');
      if (how === 'normal') await stopServer(node, root, 'normal');
      else node.exit(pids.get('w') as Pid, kill), node.exit(root, kill);
      const exit = await ended;
      assert.equal(exit.requested, false);
      assert.equal(exit.reason, how === 'normal' ? atom('normal') : atom('killed'));
      assert.equal(node.alive, !nodeStops);
      if (nodeStops) {
        await node.stop();
        assert.ok(log.events.includes('app stop other'), 'the other application was stopped with the node');
      } else assert.deepEqual(whichApplications(node).map((a) => a.name), ['other']);
      assert.ok(log.events.includes('app stop main'));
    } finally {
      await node.stop();
    }
  });
}

test('an application whose root supervisor gives up (shutdown) is an abnormal exit: transient stops the node', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    const pids = new Map<string, Pid>();
    loadApplication(node, app('t', log, { supervisor: { strategy: 'one_for_one', intensity: 0, children: [{ id: 'w', start: logWorker(log, 'w', { pids }) }] } }));
    await startApplication(node, 't', 'transient');
    const ended = applicationExit(node, 't');
    node.exit(pids.get('w') as Pid, kill);
    assert.equal((await ended).reason, atom('shutdown'));
    assert.equal(node.alive, false);
  } finally {
    await node.stop();
  }
});

test('stopApplication never takes the node down, even for a permanent application', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    loadApplication(node, app('p', log));
    await startApplication(node, 'p', 'permanent');
    await stopApplication(node, 'p');
    assert.equal(node.alive, true);
    assert.deepEqual(log.events, ['app start p', 'start p_worker', 'exit p_worker shutdown', 'app stop p']);
    assert.deepEqual(whichApplications(node), []);
    await assert.rejects(stopApplication(node, 'p'), NotStartedError);
  } finally {
    await node.stop();
  }
});

test('dependencies start first; the node stops applications in reverse start order', async () => {
  const node = new Node({ logger: () => {} });
  const log = new EventLog();
  loadApplication(node, app('c', log, { dependencies: ['b'] }));
  loadApplication(node, app('b', log, { dependencies: ['a'] }));
  loadApplication(node, app('a', log));
  loadApplication(node, app('x', log));
  await startApplication(node, 'c', 'permanent');
  await startApplication(node, 'x');
  assert.deepEqual(whichApplications(node).map((a) => a.name), ['x', 'c', 'b', 'a']);
  await assert.rejects(startApplication(node, 'a'), AlreadyStartedApplicationError);
  await node.stop();
  assert.deepEqual(log.events, [
    'app start a',
    'start a_worker',
    'app start b',
    'start b_worker',
    'app start c',
    'start c_worker',
    'app start x',
    'start x_worker',
    'exit x_worker shutdown',
    'app stop x',
    'exit c_worker shutdown',
    'app stop c',
    'exit b_worker shutdown',
    'app stop b',
    'exit a_worker shutdown',
    'app stop a',
  ]);
});

test('a missing dependency fails the start clearly and starts nothing', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    loadApplication(node, app('web', log, { dependencies: ['db'] }));
    loadApplication(node, app('db', log, { dependencies: ['cache'] }));
    const err = await startApplication(node, 'web').catch((e: unknown) => e);
    assert.ok(err instanceof MissingDependencyError);
    assert.equal(err.application, 'db');
    assert.equal(err.dependency, 'cache');
    assert.match(err.message, /db depends on cache, which is not loaded/);
    assert.deepEqual(log.events, []);
    assert.deepEqual(whichApplications(node), []);
    await assert.rejects(startApplication(node, 'nothing'), NotLoadedError);
  } finally {
    await node.stop();
  }
});

test('the environment is readable by every process of the application', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const seen = deferred<[string | undefined, number | undefined, number | undefined]>();
    const spec: ApplicationSpec = {
      name: 'envapp',
      env: { port: 8080 },
      children: [
        {
          id: 'reader',
          start: (parent: Process) =>
            parent.spawnLink({
              init(proc) {
                // A grandchild inherits too.
                proc.spawn({
                  init(gc) {
                    seen.resolve([getApplication(gc), getAppEnv<number>(gc, 'port'), getAppEnv<number>(gc, 'missing')]);
                  },
                  handleMessage() {},
                });
              },
              handleMessage() {},
            }),
        },
      ],
    };
    loadApplication(node, spec);
    await startApplication(node, 'envapp');
    assert.deepEqual(await seen.promise, ['envapp', 8080, undefined]);
    setApplicationEnv(node, 'envapp', 'port', 9090);
    assert.equal(getApplicationEnv(node, 'envapp', 'port'), 9090);
    const outsideApp = deferred<string | undefined>();
    node.spawn({ init: (p) => outsideApp.resolve(getApplication(p)), handleMessage() {} });
    assert.equal(await outsideApp.promise, undefined);
  } finally {
    await node.stop();
  }
});

test('load, unload, loaded and running lists; a failing start hook', async () => {
  const node = new Node({ logger: () => {} });
  try {
    const log = new EventLog();
    loadApplication(node, app('a', log));
    assert.throws(() => loadApplication(node, app('a', log)), AlreadyLoadedError);
    loadApplication(node, app('bad', log, { start: () => Promise.reject(new Error('no config')) }));
    assert.deepEqual(loadedApplications(node), [
      { name: 'a', description: 'the a app', version: '1.0.0' },
      { name: 'bad', description: 'the bad app', version: '1.0.0' },
    ]);
    await assert.rejects(startApplication(node, 'bad'), (e: unknown) => e instanceof ApplicationStartError && /no config/.test(e.message));
    await startApplication(node, 'a');
    assert.throws(() => unloadApplication(node, 'a'), ApplicationRunningError);
    await stopApplication(node, 'a');
    unloadApplication(node, 'a');
    assert.throws(() => unloadApplication(node, 'a'), NotLoadedError);
    assert.deepEqual(loadedApplications(node).map((a) => a.name), ['bad']);
  } finally {
    await node.stop();
  }
});

test('node.stop() logs at info the applications it stops, the processes it waits for and those it kills', async () => {
  const infos: { fields: Record<string, unknown>; message: string }[] = [];
  const capture = (fields: object, message?: string): void => void infos.push({ fields: fields as Record<string, unknown>, message: message ?? '' });
  const ignore = (): void => {};
  const node = new Node({ name: 'stoplog@127.0.0.1', shutdownTimeout: 500, logger: { info: capture, debug: ignore, warn: ignore, error: ignore } });
  const log = new EventLog();
  loadApplication(node, app('store', log));
  await startApplication(node, 'store');
  // Traps exits and shuts down on its own once it gets the shutdown signal: waited for, not killed.
  const polite = node.spawn(
    {
      behavior: 'polite',
      async handleMessage(_m: unknown, p: Process) {
        await new Promise((r) => setTimeout(r, 20)); // a short cleanup
        p.exit('shutdown');
      },
    },
    { trapExit: true, name: 'polite' },
  );
  // Traps exits and ignores them: waited for, then killed after the shutdown timeout.
  const stubborn = node.spawn({ behavior: 'stubborn', handleMessage: () => {} }, { trapExit: true, name: 'stubborn' });
  await node.stop();
  const messages = infos.map((i) => i.message);
  const apps = infos.find((i) => i.message.startsWith('node stop: stopping applications'));
  assert.deepEqual(apps?.fields['applications'], ['store'], messages.join('\n'));
  const waiting = infos.find((i) => i.message.startsWith('node stop: waiting'));
  assert.deepEqual(waiting?.fields['processes'], [`${String(stubborn)} stubborn (stubborn)`, `${String(polite)} polite (polite)`], messages.join('\n'));
  assert.match(waiting?.message ?? '', /waiting up to 500 ms for 2 processes: .*stubborn.*polite/);
  const killing = infos.find((i) => i.message.startsWith('node stop: killing'));
  assert.deepEqual(killing?.fields['processes'], [`${String(stubborn)} stubborn (stubborn)`], messages.join('\n'));
  assert.match(killing?.message ?? '', /killing 1 process: <[\d.]+> stubborn \(stubborn\) \(still running after 500 ms\)/);
  assert.ok(messages.indexOf(apps?.message ?? '') < messages.indexOf(waiting?.message ?? ''));
});

test('startApplication with an aborted signal starts nothing, dependencies included', async () => {
  await using node = new Node({ logger: () => {} });
  const log = new EventLog();
  loadApplication(node, app('db', log));
  loadApplication(node, app('web', log, { dependencies: ['db'] }));
  const reason = new Error('not now');
  const err = await startApplication(node, 'web', { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
  assert.ok(err instanceof AbortedError, String(err));
  assert.equal(err.code, 'aborted');
  assert.equal(err.cause, reason);
  assert.match(err.message, /start of application web aborted/);
  assert.deepEqual(log.events, []);
  assert.deepEqual(whichApplications(node), []);
  // The same options shape without a signal starts it, with its type.
  const started = await startApplication(node, 'web', { type: 'transient' });
  assert.equal(started.name, 'web');
  assert.deepEqual(whichApplications(node).map((a) => a.name), ['web', 'db']);
});

test('an abort during the start hook: the hook sees the signal, the start rejects, the root supervisor never starts', async () => {
  await using node = new Node({ logger: () => {} });
  const log = new EventLog();
  const inHook = deferred<AbortSignal | undefined>();
  loadApplication(node, app('db', log));
  loadApplication(
    node,
    app('web', log, {
      dependencies: ['db'],
      start: async (ctx) => {
        log.push('app start web');
        inHook.resolve(ctx.signal);
        await new Promise<void>((resolve) => ctx.signal?.addEventListener('abort', () => resolve(), { once: true }));
        log.push(`hook saw abort ${String(ctx.signal?.aborted)}`);
      },
    }),
  );
  const controller = new AbortController();
  const starting = startApplication(node, 'web', { signal: controller.signal });
  assert.equal(await inHook.promise, controller.signal);
  controller.abort(atom('shutdown_requested'));
  const err = await starting.catch((e: unknown) => e);
  assert.ok(err instanceof AbortedError && err.reason === atom('shutdown_requested'), String(err));
  // The hook returned after the abort: its stop hook undoes it; the dependency that finished starting keeps running.
  assert.deepEqual(log.events, ['app start db', 'start db_worker', 'app start web', 'hook saw abort true', 'app stop web']);
  assert.deepEqual(whichApplications(node).map((a) => a.name), ['db']);
});

test('an abort while the root supervisor starts its children kills the child being started and runs the stop hook', async () => {
  await using node = new Node({ logger: () => {} });
  const log = new EventLog();
  const initStarted = deferred();
  let childPid: Pid | undefined;
  const slow: ServerBehavior<{ call: [unknown, unknown] }, number> = {
    init: async (_args, ctx) => {
      childPid = ctx.self;
      initStarted.resolve();
      await new Promise(() => {}); // never returns: only the abort ends this start
      return ok(0);
    },
  };
  loadApplication(node, {
    name: 'slow',
    children: [
      { id: 'first', start: logWorker(log, 'first') },
      { id: 'stuck', start: serverStart(slow, undefined) },
    ],
    stop: () => log.push('app stop slow'),
  });
  const controller = new AbortController();
  const starting = startApplication(node, 'slow', { type: 'permanent', signal: controller.signal });
  await initStarted.promise;
  controller.abort();
  const err = await starting.catch((e: unknown) => e);
  assert.ok(err instanceof AbortedError, String(err));
  assert.deepEqual(whichApplications(node), []);
  await eventually(() => childPid !== undefined && !node.isAlive(childPid), 10_000, 'the stuck child is gone');
  await eventually(() => log.events.includes('app stop slow'), 10_000, 'the stop hook');
  assert.equal(log.events[0], 'start first');
  assert.ok(log.events.includes('exit first killed') || log.events.includes('exit first shutdown'), log.events.join(', '));
  assert.ok(node.alive, 'an aborted permanent start does not stop the node');
});

test('a second start of an application being started waits for it, and only its own signal aborts it', async () => {
  await using node = new Node({ logger: () => {} });
  const log = new EventLog();
  const release = deferred();
  loadApplication(node, app('db', log, { start: () => release.promise }));
  const first = startApplication(node, 'db');
  const controller = new AbortController();
  const second = startApplication(node, 'db', { signal: controller.signal });
  controller.abort();
  await assert.rejects(second, AbortedError);
  release.resolve();
  assert.equal((await first).name, 'db');
  assert.deepEqual(whichApplications(node).map((a) => a.name), ['db']);
});
