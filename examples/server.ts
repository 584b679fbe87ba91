// Run: npx tsc -p . && node build/examples/server.js
/**
 * Example: a typed key-value Server (gen_server): calls, casts, a deferred
 * reply, `callThen` from a process, a schema that refuses malformed calls, and a clean stop.
 * @module
 */
import {
  type Atom,
  atom,
  deferReply,
  type From,
  isInvalidMessage,
  isTagged,
  Node,
  noreply,
  ok,
  reply,
  type RequestOf,
  type ServerBehavior,
  type StandardSchemaV1,
  startServer,
  stopServer,
  Tuple,
  tuple,
} from '../src/index.js';

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

/**
 * A hand-written Standard Schema for the requests (Zod, Valibot or ArkType
 * schemas fit the same way): what a remote node sends is not checked by the
 * compiler, so the server checks it before `handleCall` sees it.
 */
const requests: StandardSchemaV1<unknown, RequestOf<Kv>> = {
  '~standard': {
    version: 1,
    vendor: 'example',
    validate(v) {
      const e = v instanceof Tuple ? v.elements : [];
      const verb = e[0];
      const arity = verb === atom('put') ? 3 : verb === atom('get') || verb === atom('await') ? 2 : -1;
      if (arity < 0 || e.length !== arity) return { issues: [{ message: 'expected {put, Key, Value}, {get, Key} or {await, Key}' }] };
      if (typeof e[1] !== 'string') return { issues: [{ message: 'the key must be a string', path: [1] }] };
      return { value: v as RequestOf<Kv> };
    },
  },
};

const kv: ServerBehavior<Kv, State, undefined> = {
  validate: { call: requests },
  init: () => ok({ data: new Map(), waiting: new Map() }),
  handleCall(request, from, state, ctx) {
    // Narrowing the request picks its reply type: `reply(request, ...)` checks the value against it.
    if (isTagged(request, 'get')) return reply(request, state.data.get(request.elements[1]), state);
    if (isTagged(request, 'await')) {
      const key = request.elements[1];
      if (state.data.has(key)) return reply(request, state.data.get(key), state);
      // Keep the from typed with this request's reply: a deferred reply of another type would not compile.
      state.waiting.set(key, [...(state.waiting.get(key) ?? []), deferReply(request, from)]);
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
// callThen, from a process: the continuation runs at once when the reply comes at once (a local
// Server with nothing else to do answers at once: no promise, no await), otherwise when it comes.
await new Promise<void>((done) => {
  const asker = node.spawn({
    handleMessage: (key: unknown, ctx) =>
      ctx.callThen(store, tuple(atom('get'), key as string), (value) => {
        console.log('callThen:', value);
        done();
      }),
  });
  node.send(asker, 'answer');
});
node.cast(store, tuple(atom('delete'), 'answer'));
console.log('after delete:', await node.call(store, tuple(atom('get'), 'answer')));
// An untyped caller (as an Erlang node would be) sends a malformed request: the schema answers it.
const refused = await node.call('kv', tuple(atom('get'), 42));
if (isInvalidMessage(refused)) console.log('malformed call refused:', refused.elements[1].elements[1][0]?.message);
await stopServer(node, store);
console.log('stopped; alive?', node.isAlive(store.pid));
