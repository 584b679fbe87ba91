// Run: npx tsc -p . && node build/examples/supervisor.js
/**
 * Example: a rest_for_one supervisor with a counter server and a logger,
 * a crash and its restart, the dynamic API, and an ordered stop.
 * @module
 */
import {
  atom,
  type Atom,
  countChildren,
  Node,
  noreply,
  ok,
  reply,
  type ServerBehavior,
  serverStart,
  startChild,
  startSupervisor,
  terminateChild,
  whichChildren,
} from '../src/index.js';
import { oneLineLogger } from './one-line-logger.js';

type Counter = { call: [Atom<'get'>, number]; cast: Atom<'inc'> | Atom<'crash'> };

const counter: ServerBehavior<Counter, number> = {
  init: () => {
    console.log('counter: started');
    return ok(0);
  },
  handleCall: (req, _from, n) => reply(req, n, n),
  handleCast: (msg, n) => {
    if (msg === atom('crash')) throw new Error('counter crashed on purpose');
    return noreply(n + 1);
  },
};

const quiet: ServerBehavior<{ call: [null, null] }, null> = { init: () => ok(null) };

const node = new Node({ name: 'example@127.0.0.1', logger: oneLineLogger });
const sup = await startSupervisor(node, {
  strategy: 'rest_for_one',
  intensity: 3,
  period: 5,
  children: [
    { id: 'counter', start: serverStart(counter, undefined, { name: 'counter' }) },
    { id: 'reporter', start: serverStart(quiet, undefined), shutdown: 1000 },
  ],
});

node.cast('counter', atom('inc'));
console.log('count =', await node.call('counter', atom('get')));

const before = node.whereis('counter');
const exited = node.waitExit(before as NonNullable<typeof before>);
node.cast('counter', atom('crash'));
console.log('counter exited with', String(await exited));
const rows = await whichChildren(node, sup);
console.log('children after the restart:', rows.map((c) => `${c.id}=${String(c.pid)}`).join(', '));
console.log('count after restart =', await node.call('counter', atom('get')));

await startChild(node, sup, { id: 'extra', start: serverStart(quiet, undefined) });
console.log('counts:', await countChildren(node, sup));
await terminateChild(node, sup, 'extra');
console.log('counts after terminateChild:', await countChildren(node, sup));

await node.stop();
console.log('node stopped');
