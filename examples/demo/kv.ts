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
import { type Atom, atom, isAtom, isTagged, noreply, ok, reply, type ServerBehavior, type Tuple, tuple } from '../../src/index.js';
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
    // Each branch narrows the request, so `reply` checks the value against that request's reply type.
    if (isAtom(request, 'keys')) return reply(request, [...store.keys()], store);
    if (isTagged(request, 'get', 2)) {
      const key = request.elements[1];
      return reply(request, store.has(key) ? tuple(OK, store.get(key)) : NOT_FOUND, store);
    }
    if (isTagged(request, 'delete', 2)) {
      store.delete(request.elements[1]);
      return reply(request, OK, store);
    }
    if (isTagged(request, 'put', 3)) {
      store.set(request.elements[1], request.elements[2]);
      return reply(request, OK, store);
    }
    // Anything else (an Erlang caller is not type-checked): OTP's usual answer.
    return reply(request, tuple(atom('error'), atom('bad_request')), store);
  },
  handleInfo: (_msg, store) => noreply(store),
};
