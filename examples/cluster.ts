// Run: npx tsc -p . && node build/examples/cluster.js
/**
 * Example: Beamline nodes as first-class cluster members. Two published
 * nodes (the first starts an embedded EPMD on a private port) join each
 * other, sync `global`, register a global name and call it from the other
 * node, and share a `pg` group (the way Phoenix.PubSub broadcasts). Pass
 * `--wait` to keep them up and join from Elixir:
 *
 * ```bash
 * ERL_EPMD_PORT=4398 iex --name ex@127.0.0.1 --cookie democookie \
 *   --erl "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
 * iex> Node.connect(:"a@127.0.0.1")                       # true
 * iex> :global.sync()                                      # :ok
 * iex> GenServer.call({:global, :counter}, :get)          # 1
 * iex> :pg.start(:pg); :pg.get_members(:lobby)            # [#PID<...>, #PID<...>]
 * ```
 * @module
 */
import { atom, tuple, Tuple, type Pid } from '../src/index.js';
import {
  distributionOf,
  globalRegister,
  globalSync,
  globalWhereis,
  pgJoin,
  pgMembers,
  startNode,
  startPgScope,
} from '../src/distribution/index.js';

const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4398);
const a = await startNode({ name: 'a@127.0.0.1', cookie: 'democookie', epmdPort });
const b = await startNode({ name: 'b@127.0.0.1', cookie: 'democookie', epmdPort });

// A counter process on a that answers gen_server calls, registered globally.
let count = 0;
const counter = a.spawn({
  handleMessage(msg, proc) {
    if (msg instanceof Tuple && msg.elements[0] === atom('$gen_call')) proc.reply(msg.elements[1] as Tuple<[Pid, unknown]>, ++count);
  },
});

// Connect, then wait until global has synced with every visible node.
distributionOf(b).ensureConnected(a.name);
await new Promise<void>((resolve) => {
  const stop = distributionOf(b).monitorNodes((e) => {
    if (e.kind === 'up') {
      stop();
      resolve();
    }
  });
});
await globalSync(a);
await globalSync(b);
console.log('visible nodes of b:', distributionOf(b).nodes().map((n) => n.name));

console.log('register counter:', await globalRegister(a, atom('counter'), counter));
const found = globalWhereis(b, atom('counter'));
console.log('b finds counter on', found?.node.name, '-> call:', found === undefined ? '-' : await b.call(found, atom('get')));

// pg: one subscriber per node in group `lobby`; a broadcast is a send to every member.
startPgScope(a);
startPgScope(b);
const received: unknown[] = [];
const subscriber = (name: string): Pid => (name === 'a' ? a : b).spawn({ handleMessage: (m) => void received.push(`${name} got ${String(m)}`) });
await pgJoin(a, atom('lobby'), subscriber('a'));
await pgJoin(b, atom('lobby'), subscriber('b'));
while (pgMembers(a, atom('lobby')).length < 2) await new Promise((r) => setTimeout(r, 10));
for (const pid of pgMembers(a, atom('lobby'))) a.send(pid, tuple(atom('broadcast'), 'hello lobby'));
while (received.length < 2) await new Promise((r) => setTimeout(r, 10));
console.log(received.sort().join('\n'));

if (process.argv.includes('--wait')) {
  console.log('nodes are up; press Ctrl-C to stop');
  await new Promise((resolve) => process.once('SIGINT', resolve));
}
await b.stop();
await a.stop();
