/**
 * The demo's TCP line protocol for the store, one request and one reply per line:
 *
 * ```
 * PUT key json   ->  OK
 * GET key        ->  VALUE json   |  NOT_FOUND
 * DEL key        ->  OK
 * anything else  ->  ERROR message
 * ```
 * @module
 */
import { type Atom, atom, ok, type Process, serverRef, type TcpConnection, type TcpHandler, type TextLineFraming, Tuple, tuple } from '../../src/index.js';
import { toJson } from './json.js';
import type { KvProtocol } from './kv.js';

const kv = serverRef<KvProtocol>('kv');
const PUT = atom('put');
const GET = atom('get');
const DELETE = atom('delete');
/** One request line (the line framing has already taken off its `\r\n`). */
const REQUEST = /^(PUT|GET|DEL)\s+(\S+)(?:\s+(.*))?$/;

/** Sends `answer`; the state once the client has room for more (at once, unless its buffer is full). */
function answer(conn: TcpConnection, text: string, s: undefined): undefined | Promise<undefined> {
  return conn.send(text) ? s : drained(conn, s);
}

/** `s` once the client has read what was sent (a function of its own, so that `answer` makes no closure context). */
async function drained(conn: TcpConnection, s: undefined): Promise<undefined> {
  await conn.drain();
  return s;
}

/** Answers `GET key` on `conn` with what `kv` answered (one function for every line: the connection comes as its argument). */
function found(reply: Tuple<[Atom<'ok'>, unknown]> | Atom<'not_found'>, conn: TcpConnection): undefined | Promise<undefined> {
  return answer(conn, reply instanceof Tuple ? `VALUE ${JSON.stringify(toJson(reply.elements[1]))}` : 'NOT_FOUND', undefined);
}

/** The line framing the protocol is served with: each line comes to `handleData` as a string. */
export const KV_LINES: TextLineFraming = { type: 'line', encoding: 'utf8' };

export const kvLineProtocol: TcpHandler<undefined, undefined, string> = {
  behavior: 'kv_tcp',
  init: () => ok(undefined),
  handleData(conn, line, s, ctx) {
    const m = REQUEST.exec(line);
    // GET, the hot path: `kv` answers at once when it has nothing else to do, and then callThenWith
    // continues at once, with no promise; otherwise it continues when the reply comes.
    if (m !== null && m[1] === 'GET') return ctx.callThenWith(kv, tuple(GET, m[2] as string), found, conn);
    return update(conn, m, s, ctx);
  },
};

/** PUT, DEL and lines that are neither: one `kv` call each (await), then the answer. */
async function update(conn: TcpConnection, m: RegExpExecArray | null, s: undefined, ctx: Process): Promise<undefined> {
  let text: string;
  if (m === null || m[1] === 'GET') text = 'ERROR expected PUT key json | GET key | DEL key';
  else if (m[1] === 'PUT') {
    const key = m[2] as string;
    try {
      const value: unknown = JSON.parse(m[3] ?? '');
      await ctx.call(kv, tuple(PUT, key, value));
      text = 'OK';
    } catch {
      text = 'ERROR the value must be JSON';
    }
  } else {
    await ctx.call(kv, tuple(DELETE, m[2] as string));
    text = 'OK';
  }
  return answer(conn, text, s);
}
