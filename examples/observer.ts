// Run: npx tsc -p . && node build/examples/observer.js        (KEEP=1 keeps it running: open the URL it prints)
/**
 * Example: the observer of a node running a small supervision tree; reads
 * the overview and the busiest processes from its JSON API, kills a worker
 * with the token (the supervisor restarts it), then stops.
 * @module
 */
import { Node, noreply, ok, reply, serverStart, startSupervisor, type ServerBehavior } from '../src/index.js';
import { startObserver } from '../src/observer/index.js';

type Counter = { call: ['get', number]; cast: 'inc' };
const counter: ServerBehavior<Counter, number> = {
  behavior: 'counter',
  init: () => ok(0),
  handleCall: (request, _from, n) => reply(request, n, n),
  handleCast: (_message, n) => noreply(n + 1),
};

const node = new Node({ name: 'observed@127.0.0.1' });
await startSupervisor(node, {
  strategy: 'one_for_one',
  children: [
    { id: 'hits', start: serverStart(counter, undefined, { name: 'hits' }) },
    { id: 'misses', start: serverStart(counter, undefined, { name: 'misses' }) },
  ],
});
for (let i = 0; i < 100; i++) node.cast('hits', 'inc');

const observer = await startObserver(node, { port: 0 });
console.log(`observer at ${observer.url} (token ${observer.token})`);

const overview = (await (await fetch(`${observer.url}api/overview`)).json()) as { processes: number };
console.log('processes:', overview.processes);
const top = (await (await fetch(`${observer.url}api/processes?sort=reductions&dir=desc&limit=3`)).json()) as { rows: { pid: string; name: string; reductions: number }[] };
console.log('busiest:', top.rows.map((r) => `${r.pid} ${r.name || '-'} ${r.reductions}`).join(', '));

const hits = node.whereis('hits');
const killed = await fetch(`${observer.url}api/kill`, {
  method: 'POST',
  headers: { authorization: `Bearer ${observer.token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ pid: String(hits), reason: 'kill' }),
});
console.log('kill:', killed.status, await killed.json());

if (process.env['KEEP'] !== '1') {
  await observer.stop();
  await node.stop();
}
