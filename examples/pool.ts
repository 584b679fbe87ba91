// Run: npx tsc -p . && node build/examples/pool.js
/**
 * Example: a Pool of 3 workers; casts are spread round robin, a call is
 * answered by a worker directly, a crashed worker is replaced.
 * @module
 */
import { type Atom, atom, Node, noreply, ok, poolInfo, reply, type ServerBehavior, startPool } from '../src/index.js';

type Worker = { call: [Atom<'who'>, string]; cast: Atom<'work'> | Atom<'crash'> };

const worker: ServerBehavior<Worker, number> = {
  init: () => ok(0),
  handleCall: (req, _from, done, ctx) => reply(req, `worker ${ctx.self} did ${done} jobs`, done),
  handleCast(msg, done) {
    if (msg === atom('crash')) throw new Error('crash on purpose');
    return noreply(done + 1);
  },
};

const node = new Node({ name: 'pool_example@127.0.0.1', logger: () => {} });
const pool = await startPool(node, { size: 3, worker, args: undefined });
for (let i = 0; i < 9; i++) node.cast(pool, atom('work'));
console.log(await node.call(pool, atom('who'))); // worker <0.x.0> did 3 jobs
node.cast(pool, atom('crash')); // the next worker crashes and is restarted
console.log(await node.call(pool, atom('who')));
console.log(await node.call(pool, atom('who')));
console.log('restarts:', (await poolInfo(node, pool)).restarts);
await node.stop();
