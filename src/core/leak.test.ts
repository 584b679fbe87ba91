import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deferred, quietLogger } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import { Node } from './node.js';
import type { Process } from './process.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Starts 10,000 processes that link, monitor, register, arm timers and call each other, then stops them and the node. */
async function cycle(round: number): Promise<Node> {
  const node = new Node({ name: `leak${round}@127.0.0.1`, logger: quietLogger().log, shutdownTimeout: 50 });
  const N = 10_000;
  const echo = node.spawn({
    handleMessage(msg, p) {
      const from = (msg as { elements: unknown[] }).elements[1];
      p.reply(from as never, 'ok');
    },
  }, { name: 'echo' });
  const allStarted = deferred();
  let started = 0;
  const pids = [];
  for (let i = 0; i < N; i++) {
    pids.push(
      node.spawn({
        async init(p: Process) {
          p.monitor(echo);
          if (i % 2 === 0) p.link(echo);
          p.sendAfter(p.self, 'later', 60_000);
          if (i % 100 === 0) await p.call('echo', 'hi');
          if (++started === N) allStarted.resolve();
        },
        handleMessage() {},
      }, i % 3 === 0 ? { trapExit: true } : {}),
    );
  }
  await allStarted.promise;
  for (let i = 0; i < N; i += 2) node.exit(pids[i]!, atom('kill'));
  await node.stop();
  return node;
}

test('10,000 processes and a node leave no timers, handles or memory behind', async () => {
  const resourcesBefore = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  const first = await cycle(0);
  assert.deepEqual(first._stats(), { processes: 0, names: 0, aliases: 0, monitors: 0, timers: 0, scheduled: 0 });
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  const heapAfterFirst = process.memoryUsage().heapUsed;
  for (let round = 1; round <= 4; round++) {
    const node = await cycle(round);
    assert.deepEqual(node._stats(), { processes: 0, names: 0, aliases: 0, monitors: 0, timers: 0, scheduled: 0 });
  }
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  const heapAfterFive = process.memoryUsage().heapUsed;
  const growthMb = (heapAfterFive - heapAfterFirst) / 1024 / 1024;
  // One round holds ~10,000 processes with links, monitors, timers and calls (over 10 MB while it runs);
  // a leak of even a tenth of that per round would add more than 4 MB over four rounds.
  assert.ok(growthMb < 4, `heap grew ${growthMb.toFixed(2)} MB over 4 rounds of 10,000 processes`);
  const resourcesAfter = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  assert.ok(resourcesAfter <= resourcesBefore, `active handles: ${resourcesBefore} before, ${resourcesAfter} after`);
});
