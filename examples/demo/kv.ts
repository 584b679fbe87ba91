/**
 * The demo's key-value Server, registered as `kv`. Its protocol is plain
 * Erlang terms, so any Erlang or Elixir node uses it with no adapter:
 *
 * ```erlang
 * ok = gen_server:call({kv, 'demo@127.0.0.1'}, {put, <<"k">>, 42}),
 * {ok, 42} = gen_server:call({kv, 'demo@127.0.0.1'}, {get, <<"k">>}),
 * [<<"k">>] = gen_server:call({kv, 'demo@127.0.0.1'}, keys),
 * ok = gen_server:call({kv, 'demo@127.0.0.1'}, {delete, <<"k">>}),
 * not_found = gen_server:call({kv, 'demo@127.0.0.1'}, {get, <<"k">>}).
 * ```
 *
 * Writes can also be casts (`gen_server:cast({kv, N}, {put, K, V})`,
 * `{delete, K}`); any other cast is logged and dropped, so a stray cast
 * never crashes the store.
 *
 * Keys and values are any terms; keys compare structurally (a tuple key
 * finds the entry stored under an equal tuple).
 *
 * The data outlives the worker: the store is created by whoever starts the
 * application and handed to every incarnation of the Server, as an ETS
 * table owned above the worker (an heir) would be. When the supervisor
 * restarts `kv`, the new worker finds the same entries.
 * @module
 */
import { type Atom, atom, isAtom, isTagged, noreply, ok, reply, type ServerBehavior, Tuple, tuple } from '../../src/index.js';
import { ErlMap } from '../../src/etf/index.js';

/** The kv protocol, as Erlang sees it. */
export type KvProtocol = {
  call:
    | [Tuple<[Atom<'put'>, unknown, unknown]>, Atom<'ok'>]
    | [Tuple<[Atom<'get'>, unknown]>, Tuple<[Atom<'ok'>, unknown]> | Atom<'not_found'>]
    | [Tuple<[Atom<'delete'>, unknown]>, Atom<'ok'>]
    | [Atom<'keys'>, unknown[]];
  cast: Tuple<[Atom<'put'>, unknown, unknown]> | Tuple<[Atom<'delete'>, unknown]>;
};

const OK = atom('ok');
/** What `get` answers for a stored key, and what the store keeps for it. */
type Found = Tuple<[Atom<'ok'>, unknown]>;
/** The store: each key with the `{ok, Value}` that `get` answers. */
export type KvStore = ErlMap<unknown, Found>;
const NOT_FOUND = atom('not_found');

/**
 * The kv server over `store`, a structural map owned by the caller (it
 * survives restarts of the worker). Unknown requests get
 * `{error, bad_request}` as Erlang servers often answer.
 *
 * The store keeps each value as the `{ok, Value}` that `get` answers: the
 * tuple is made once, when the value is put, not on every read.
 *
 * @example
 * ```ts
 * const store: KvStore = new ErlMap();   // owned by the application, not the worker
 * { id: 'kv', start: serverStart(kvServer(store), undefined, { name: 'kv' }) }
 * ```
 */
export function kvServer(store: KvStore = new ErlMap()): ServerBehavior<KvProtocol, KvStore, undefined> {
  return {
    behavior: 'kv',
    init: () => ok(store),
    handleCall(request, _from, s) {
      // Each branch narrows the request, so `reply` checks the value against that request's reply type.
      if (isAtom(request, 'keys')) return reply(request, [...s.keys()], s);
      if (isTagged(request, 'get', 2)) return reply(request, s.get(request.elements[1]) ?? NOT_FOUND, s);
      if (isTagged(request, 'delete', 2)) {
        s.delete(request.elements[1]);
        return reply(request, OK, s);
      }
      if (isTagged(request, 'put', 3)) {
        s.set(request.elements[1], tuple(OK, request.elements[2]));
        return reply(request, OK, s);
      }
      // Anything else (an Erlang caller is not type-checked): OTP's usual answer.
      return reply(request, tuple(atom('error'), atom('bad_request')), s);
    },
    handleCast(message: unknown, s, ctx) {
      if (message instanceof Tuple) {
        const [op, key] = message.elements;
        if (op === atom('put') && message.elements.length === 3) {
          s.set(key, tuple(OK, message.elements[2]));
          return noreply(s);
        }
        if (op === atom('delete') && message.elements.length === 2) {
          s.delete(key);
          return noreply(s);
        }
      }
      ctx.logger.warn({}, `kv: dropped an unknown cast: ${String(message)}`);
      return noreply(s);
    },
    handleInfo: (_msg, s) => noreply(s),
  };
}
