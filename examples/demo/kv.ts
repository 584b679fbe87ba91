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
 * Keys and values are any terms; keys compare structurally (a tuple key
 * finds the entry stored under an equal tuple).
 * @module
 */
import { type Atom, atom, noreply, ok, reply, type ServerBehavior, type Tuple, tuple } from '../../src/index.js';
import { ErlMap } from '../../src/etf/index.js';

/** The kv protocol, as Erlang sees it. */
export type KvProtocol = {
  call:
    | [Tuple<[Atom<'put'>, unknown, unknown]>, Atom<'ok'>]
    | [Tuple<[Atom<'get'>, unknown]>, Tuple<[Atom<'ok'>, unknown]> | Atom<'not_found'>]
    | [Tuple<[Atom<'delete'>, unknown]>, Atom<'ok'>]
    | [Atom<'keys'>, unknown[]];
};

const OK = atom('ok');
const NOT_FOUND = atom('not_found');

/** The kv server: state is one structural map. Unknown requests get `{error, bad_request}` as Erlang servers often answer. */
export const kvServer: ServerBehavior<KvProtocol, ErlMap, undefined> = {
  behavior: 'kv',
  init: () => ok(new ErlMap()),
  handleCall(request, _from, store) {
    if (request === atom('keys')) return reply([...store.keys()], store);
    if (request instanceof Object && 'elements' in request) {
      const [op, key] = request.elements;
      if (op === atom('get') && request.elements.length === 2)
        return reply(store.has(key) ? tuple(OK, store.get(key)) : NOT_FOUND, store);
      if (op === atom('delete') && request.elements.length === 2) {
        store.delete(key);
        return reply(OK, store);
      }
      if (op === atom('put') && request.elements.length === 3) {
        store.set(key, request.elements[2]);
        return reply(OK, store);
      }
    }
    return reply(tuple(atom('error'), atom('bad_request')) as never, store);
  },
  handleInfo: (_msg, store) => noreply(store),
};
