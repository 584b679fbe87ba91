/**
 * The demo's HTTP API on the Web behavior: the key-value store as JSON
 * (`PUT /kv/:key`, `GET /kv/:key`, `DELETE /kv/:key`, `GET /kv`) and `GET /health`.
 * @module
 */
import {
  type Atom,
  atom,
  ok,
  respond,
  route,
  serverRef,
  text,
  tuple,
  Tuple,
  json,
  type Process,
  type WebHandler,
  type WebRequest,
  type WebResult,
  type WebRoute,
} from '../../src/index.js';
import { toJson } from './json.js';
import type { KvProtocol } from './kv.js';

const kv = serverRef<KvProtocol>('kv');
const GET = atom('get');

const kvApi: WebHandler<undefined> = {
  behavior: 'kv_http',
  init: () => ok(undefined),
  handleRequest(req, s, ctx) {
    const key = req.params['key'];
    // GET /kv/:key, the hot path: `kv` answers at once when it has nothing else to do, and then
    // callThenWith continues at once, with no promise; otherwise it continues when the reply comes.
    if (key !== undefined && req.method === 'GET') return ctx.callThenWith(kv, tuple(GET, key), found, key);
    return other(req, key, s, ctx);
  },
};


/** The response to `GET /kv/:key`, from what `kv` answered (one function for every request: `key` comes as its argument). */
function found(reply: Tuple<[Atom<'ok'>, unknown]> | Atom<'not_found'>, key: string): WebResult<undefined> {
  return respond(reply instanceof Tuple ? json(toJson(reply.elements[1])) : json({ error: 'not_found', key }, 404), undefined);
}

/** `GET /kv`, `PUT` and `DELETE`: one `kv` call each (await), then the response. */
async function other(req: WebRequest, key: string | undefined, s: undefined, ctx: Process): Promise<WebResult<undefined>> {
  if (key === undefined) return respond(json((await ctx.call(kv, atom('keys'))).map(toJson)), s);
  if (req.method === 'PUT') {
    let value: unknown;
    try {
      value = req.json();
    } catch {
      return respond(json({ error: 'the body must be JSON' }, 400), s);
    }
    await ctx.call(kv, tuple(atom('put'), key, value));
    return respond(json({ ok: true }), s);
  }
  await ctx.call(kv, tuple(atom('delete'), key));
  return respond(json({ ok: true }), s);
}

/** The demo's store routes (main.ts mounts the observer beside them). */
export function demoRoutes(): WebRoute[] {
  return [
    route('GET', '/kv', kvApi, { poolSize: 4 }),
    route('GET', '/kv/:key', kvApi, { poolSize: 4 }),
    route('PUT', '/kv/:key', kvApi, { poolSize: 4 }),
    route('DELETE', '/kv/:key', kvApi, { poolSize: 4 }),
    route('GET', '/health', { init: () => ok(undefined), handleRequest: (_r, st) => respond(text('ok'), st) }),
  ];
}
