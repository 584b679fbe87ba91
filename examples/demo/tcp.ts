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
import { atom, ok, serverRef, type TcpHandler, Tuple, tuple } from '../../src/index.js';
import { toJson } from './json.js';
import type { KvProtocol } from './kv.js';

const kv = serverRef<KvProtocol>('kv');
const PUT = atom('put');
const GET = atom('get');
const DELETE = atom('delete');
/** One request line (the line framing has already taken off its `\r\n`). */
const REQUEST = /^(PUT|GET|DEL)\s+(\S+)(?:\s+(.*))?$/;

export const kvLineProtocol: TcpHandler<undefined> = {
  behavior: 'kv_tcp',
  init: () => ok(undefined),
  async handleData(conn, data, s, ctx) {
    const m = REQUEST.exec(data.toString('utf8'));
    let answer: string;
    if (m === null) answer = 'ERROR expected PUT key json | GET key | DEL key';
    else {
      const op = m[1];
      const key = m[2] as string;
      if (op === 'GET') {
        const found = await ctx.call(kv, tuple(GET, key));
        answer = found instanceof Tuple ? `VALUE ${JSON.stringify(toJson(found.elements[1]))}` : 'NOT_FOUND';
      } else if (op === 'PUT') {
        let value: unknown;
        try {
          value = JSON.parse(m[3] ?? '');
          await ctx.call(kv, tuple(PUT, key, value));
          answer = 'OK';
        } catch {
          answer = 'ERROR the value must be JSON';
        }
      } else {
        await ctx.call(kv, tuple(DELETE, key));
        answer = 'OK';
      }
    }
    if (!conn.send(answer)) await conn.drain();
    return s;
  },
};
