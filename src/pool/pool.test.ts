import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Probe, eventually, quietLogger } from '../../test/support.js';
import { Atom, atom, isAtom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import { InitFailedError, getServerState, noreply, ok, reply, type ServerBehavior, stopServer } from '../server/server.js';
import { startSupervisor, terminateChild } from '../supervisor/index.js';
import { poolChild } from './child.js';
import { pickPoolWorker, poolInfo, startPool } from './pool.js';

function newNode(): Node {
  return new Node({ name: 'pool@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 200 });
}

type WorkerProtocol = {
  call: [Atom<'who'>, Pid] | [Atom<'count'>, number];
  cast: Atom<'tick'> | Atom<'crash'>;
};

const worker: ServerBehavior<WorkerProtocol, { casts: number; infos: unknown[] }, string> = {
  init: () => ok({ casts: 0, infos: [] }),
  handleCall: (req, _from, state, ctx) => (isAtom(req, 'who') ? reply(req, ctx.self, state) : reply(req, state.casts, state)),
  handleCast(msg, state) {
    if (msg === atom('crash')) throw new Error('worker crash (test)');
    state.casts++;
    return noreply(state);
  },
  handleInfo(msg, state) {
    state.infos.push(msg);
    return noreply(state);
  },
};

describe('Pool', () => {
  test('1,000 casts are spread evenly over the workers', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 4, worker, args: 'w' });
    for (let i = 0; i < 1000; i++) node.cast(pool, atom('tick'));
    const { workers } = await poolInfo(node, pool);
    assert.equal(workers.length, 4);
    const counts = await Promise.all(workers.map((w) => node.call(w as Pid, atom('count'))));
    assert.deepEqual(counts, [250, 250, 250, 250]);
  });

  test('pickPoolWorker: a local sender picks the workers in the pool\'s own round robin, counted as forwarded', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 3, worker, args: 'w' });
    const { workers } = await poolInfo(node, pool);
    const picked = [0, 1, 2, 3, 4, 5].map(() => pickPoolWorker(pool.pid));
    assert.deepEqual(picked.map((p) => p?.id), [...workers, ...workers].map((p) => (p as Pid).id));
    // The pool's own forwarding continues the same rotation: the 7th message goes to the first worker.
    assert.equal(((await node.call(pool, atom('who'))) as Pid).id, (workers[0] as Pid).id);
    assert.deepEqual((await poolInfo(node, pool)).forwarded, [3, 2, 2]);
  });

  test('pickPoolWorker: passes over a dead worker the pool has not replaced yet; undefined for a non-pool, a stopped pool, a remote pid', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 2, worker, args: 'w' });
    const { workers } = await poolInfo(node, pool);
    const [w0, w1] = workers as [Pid, Pid];
    // Suspend the pool's view: kill w0 and pick before the pool handles the EXIT (same synchronous turn).
    node.exit(w0, atom('kill'));
    assert.equal(pickPoolWorker(pool.pid)?.id, w1.id);
    assert.equal(pickPoolWorker(pool.pid)?.id, w1.id);
    await eventually(() => (pickPoolWorker(pool.pid)?.id ?? w1.id) !== w1.id, 10_000, 'the replacement worker is picked');
    const plain = node.spawn({ handleMessage() {} });
    assert.equal(pickPoolWorker(plain), undefined);
    assert.equal(pickPoolWorker(new Pid(atom('other@h'), 1, 0, 1)), undefined);
    await stopServer(node, pool);
    assert.equal(pickPoolWorker(pool.pid), undefined);
  });

  test('a call through the pool returns the worker reply, round robin', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 3, worker, args: 'w' });
    const { workers } = await poolInfo(node, pool);
    const answers: Pid[] = [];
    for (let i = 0; i < 6; i++) answers.push(await node.call(pool, atom('who')));
    assert.deepEqual(answers.map((p) => p.id), [...workers, ...workers].map((p) => (p as Pid).id));
    assert.ok(!answers.some((p) => p.equals(pool.pid)), 'the worker replies, not the pool');
  });

  test('a worker that crashes is replaced and the pool keeps answering', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 2, worker, args: 'w' });
    const before = await poolInfo(node, pool);
    node.cast(pool, atom('crash')); // slot 0
    await eventually(() => !node.isAlive(before.workers[0] as Pid));
    const replies = await Promise.all(Array.from({ length: 20 }, () => node.call(pool, atom('who'))));
    assert.equal(replies.length, 20);
    const after = await poolInfo(node, pool);
    assert.equal(after.restarts, 1);
    assert.ok(after.workers[0] !== undefined && !after.workers[0].equals(before.workers[0]));
    assert.ok(after.workers[1]?.equals(before.workers[1]), 'the other worker is untouched');
    assert.ok(node.isAlive(after.workers[0]));
  });

  test('crashes under load: calls keep being answered', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 4, worker, args: 'w', restartIntensity: { intensity: 1000, period: 5 } });
    let answered = 0;
    let poolRestarts = 0;
    const watch = setInterval(() => void poolInfo(node, pool).then((i) => (poolRestarts = i.workers.includes(undefined) ? -1 : i.restarts), () => {}), 1);
    after(() => clearInterval(watch));
    for (let round = 0; round < 20; round++) {
      node.cast(pool, atom('crash'));
      // Messages already queued at the crashing worker die with it (as in OTP); wait for the replacement.
      await eventually(() => poolRestarts === round + 1);
      const rs = await Promise.all(Array.from({ length: 25 }, () => node.call(pool, atom('who'), { timeout: 10_000 }).then(() => answered++)));
      assert.equal(rs.length, 25);
    }
    assert.equal(answered, 500);
    assert.equal((await poolInfo(node, pool)).restarts, 20);
  });

  test('plain messages are forwarded too', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 2, worker, args: 'w', workerOptions: {} });
    node.send(pool.pid, 'a');
    node.send(pool.pid, 'b');
    const { workers } = await poolInfo(node, pool);
    await eventually(() => true);
    const states = (await Promise.all(workers.map((w) => getServerState(node, w as Pid)))) as { infos: unknown[] }[];
    assert.deepEqual(states.map((s) => s.infos), [['a'], ['b']]);
  });

  test('per-worker args and a name', async () => {
    await using node = newNode();
    const seen: string[] = [];
    const b: ServerBehavior<WorkerProtocol, { casts: number; infos: unknown[] }, string> = {
      ...worker,
      init: (arg) => {
        seen.push(arg);
        return ok({ casts: 0, infos: [] });
      },
    };
    await startPool(node, { size: 3, worker: b, args: { perWorker: (i) => `w${i}` } }, { name: 'named_pool' });
    assert.deepEqual(seen, ['w0', 'w1', 'w2']);
    assert.ok(node.whereis('named_pool') instanceof Pid);
    assert.ok((await node.call('named_pool', atom('who'))) instanceof Pid);
  });

  test('a worker init failure fails the start; bad size is rejected', async () => {
    await using node = newNode();
    const bad: ServerBehavior<WorkerProtocol, number, undefined> = {
      init: () => {
        throw new Error('no');
      },
    };
    await assert.rejects(startPool(node, { size: 2, worker: bad, args: undefined }), InitFailedError);
    await assert.rejects(startPool(node, { size: 0, worker, args: 'w' }), InitFailedError);
  });

  test('too many restarts: the pool gives up with shutdown', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 1, worker, args: 'w', restartIntensity: { intensity: 2, period: 60 } });
    const exited = node.waitExit(pool.pid);
    for (let i = 0; i < 3; i++) {
      const { workers } = await poolInfo(node, pool);
      const w = workers[0];
      if (w === undefined) continue;
      node.cast(pool, atom('crash'));
      await eventually(() => !node.isAlive(w));
      if (i < 2) await eventually(() => true);
    }
    assert.equal(await exited, atom('shutdown'));
  });

  test('stopServer stops the workers, then the pool', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 3, worker, args: 'w' });
    const { workers } = await poolInfo(node, pool);
    await stopServer(node, pool);
    assert.ok(!node.isAlive(pool.pid));
    for (const w of workers) assert.ok(!node.isAlive(w as Pid));
  });

  test('a supervisor starts and stops a pool child', async () => {
    await using node = newNode();
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [poolChild('p', { size: 2, worker, args: 'w' }, { name: 'sup_pool' })] });
    const pid = node.whereis('sup_pool') as Pid;
    const { workers } = await poolInfo(node, pid);
    assert.ok((await node.call('sup_pool', atom('who'))) instanceof Pid);
    await terminateChild(node, sup, 'p');
    assert.ok(!node.isAlive(pid));
    for (const w of workers) assert.ok(!node.isAlive(w as Pid));
  });

  test('a call from a process, forwarded with its From unchanged', async () => {
    await using node = newNode();
    const pool = await startPool(node, { size: 2, worker, args: 'w' });
    const probe = new Probe(node);
    await eventually(() => probe.proc !== undefined);
    const got = await probe.proc.call(pool, atom('who'));
    assert.ok(got instanceof Pid);
    assert.ok(tuple(1) instanceof Tuple);
  });
});

describe('Pool and the node', () => {
  test('node stop stops a top-level pool and its workers at once', async () => {
    const node = new Node({ name: 'pool@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 30_000 });
    const pool = await startPool(node, { size: 2, worker, args: 'w' });
    const { workers } = await poolInfo(node, pool);
    const started = performance.now();
    await node.stop();
    assert.ok(performance.now() - started < 10_000, 'no wait for the shutdown timeout');
    assert.ok(![pool.pid, ...workers].some((p) => p !== undefined && node.isAlive(p)));
  });
});
