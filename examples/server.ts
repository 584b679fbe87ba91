// Run: npx tsc -p . && node build/examples/server.js
/**
 * Example: a typed key-value Server (gen_server): calls, casts, a deferred
 * reply and a clean stop.
 * @module
 */
import { type Atom, atom, type From, isTagged, Node, noreply, ok, reply, type ServerBehavior, startServer, stopServer, type Tuple, tuple } from '../src/index.js';

/** The protocol: `{put, Key, Value}` -> ok, `{get, Key}` -> value or undefined, `{await, Key}` waits for a put. */
type Kv = {
  call:
    | [Tuple<[Atom<'put'>, string, unknown]>, Atom<'ok'>]
    | [Tuple<[Atom<'get'>, string]>, unknown]
    | [Tuple<[Atom<'await'>, string]>, unknown];
  cast: Tuple<[Atom<'delete'>, string]>;
};
interface State {
  data: Map<string, unknown>;
  waiting: Map<string, From<unknown>[]>;
}

const kv: ServerBehavior<Kv, State, undefined> = {
  init: () => ok({ data: new Map(), waiting: new Map() }),
  handleCall(request, from, state, ctx) {
    // Narrowing the request picks its reply type: `reply(request, ...)` checks the value against it.
    if (isTagged(request, 'get')) return reply(request, state.data.get(request.elements[1]), state);
    if (isTagged(request, 'await')) {
      const key = request.elements[1];
      if (state.data.has(key)) return reply(request, state.data.get(key), state);
      state.waiting.set(key, [...(state.waiting.get(key) ?? []), from]);
      return noreply(state); // answered later, from the put
    }
    const [, key, value] = request.elements; // only `put` is left
    state.data.set(key, value);
    for (const waiter of state.waiting.get(key) ?? []) ctx.reply(waiter, value);
    state.waiting.delete(key);
    return reply(request, atom('ok'), state);
  },
  handleCast(message, state) {
    state.data.delete(message.elements[1]);
    return noreply(state);
  },
};

await using node = new Node({ name: 'example@127.0.0.1' });
const store = await startServer(node, kv, undefined, { name: 'kv' });
const later = node.call(store, tuple(atom('await'), 'answer'));
await node.call(store, tuple(atom('put'), 'answer', 42));
console.log('deferred reply:', await later);
console.log('get:', await node.call(store, tuple(atom('get'), 'answer')));
node.cast(store, tuple(atom('delete'), 'answer'));
console.log('after delete:', await node.call(store, tuple(atom('get'), 'answer')));
await stopServer(node, store);
console.log('stopped; alive?', node.isAlive(store.pid));
