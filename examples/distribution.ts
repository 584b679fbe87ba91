// Run: npx tsc -p . && node build/examples/distribution.js
/**
 * Example: two distributed Beamline nodes (the first starts an embedded
 * EPMD on port 4399, or `ERL_EPMD_PORT` when set), a Server called across nodes by name, rpc into
 * exposed functions, a remote spawn, and a node monitor. While it waits at
 * the end, an Erlang node can join the same cluster:
 *
 * ```bash
 * ERL_EPMD_PORT=4399 erl -name e@127.0.0.1 -setcookie democookie -start_epmd false \
 *   -kernel inet_dist_use_interface '{127,0,0,1}'
 * 1> net_adm:ping('a@127.0.0.1').                        % pong
 * 2> gen_server:call({kv, 'b@127.0.0.1'}, {get, <<"lang">>}).
 * 3> rpc:call('b@127.0.0.1', math, add, [1, 2]).          % 3
 * ```
 * Pass `--wait` to keep the nodes up for that.
 * @module
 */
import { atom, isTuple, ok, reply, startServer, tuple, type Pid, type Tuple } from '../src/index.js';
import { distributionOf, exposeRpc, registerSpawnable, remoteSpawn, rpc, startNode } from '../src/distribution/index.js';

const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4399);
const a = await startNode({ name: 'a@127.0.0.1', cookie: 'democookie', epmdPort });
const b = await startNode({ name: 'b@127.0.0.1', cookie: 'democookie', epmdPort });
console.log(`a listens on ${distributionOf(a).listenPort}, embedded EPMD: ${distributionOf(a).epmdEmbedded}`);

// A key-value Server on b, registered as kv. Keys arrive as strings (UTF-8 binaries).
await startServer<{ call: [Tuple, unknown] }, Map<string, unknown>, undefined>(
  b,
  {
    init: () => ok(new Map<string, unknown>([['lang', 'TypeScript']])),
    handleCall: (req, _from, state) => {
      const [op, key, value] = req.elements;
      if (op === atom('put')) state.set(String(key), value);
      return reply(req, state.get(String(key)) ?? atom('undefined'), state);
    },
  },
  undefined,
  { name: 'kv' },
);

// a calls it by {name, node}: the connection opens on first use.
await a.call({ name: 'kv', node: 'b@127.0.0.1' }, tuple(atom('put'), 'answer', 42));
console.log('kv answer =', await a.call({ name: 'kv', node: 'b@127.0.0.1' }, tuple(atom('get'), 'answer')));

// Functions exposed to rpc (from Erlang's rpc:call/erpc:call too).
exposeRpc(b, 'math', { add: (x: number, y: number) => x + y });
console.log('rpc math:add(1, 2) =', await rpc(a, 'b@127.0.0.1', 'math', 'add', [1, 2]));

// Remote spawn of a registered behavior.
registerSpawnable(b, 'greeter', (args) => ({
  handleMessage: (m, p) => {
    if (isTuple(m, 2)) p.send(m.elements[0] as Pid, `${String(args[0])}, ${String(m.elements[1])}!`);
  },
}));
const greeter = await remoteSpawn(a, 'b@127.0.0.1', 'greeter', ['Hello']);
const answer = await new Promise<unknown>((resolve) => {
  a.spawn({ init: (p) => p.send(greeter, tuple(p.self, 'world')), handleMessage: (m, p) => (resolve(m), p.exit('normal')) });
});
console.log('greeter on', greeter.node.name, 'says', answer);

// A node monitor on a sees b go away.
const nodedown = new Promise<unknown>((resolve) => {
  a.spawn({ init: (p) => p.monitorNode('b@127.0.0.1'), handleMessage: (m) => resolve(m) });
});
if (process.argv.includes('--wait')) {
  console.log('nodes are up; press Ctrl-C to stop');
  await new Promise((resolve) => process.once('SIGINT', resolve));
}
await b.stop();
console.log('a got', String(await nodedown));
await a.stop();
