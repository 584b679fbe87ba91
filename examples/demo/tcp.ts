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

export const kvLineProtocol: TcpHandler<undefined> = {
  behavior: 'kv_tcp',
  init: () => ok(undefined),
  async handleData(conn, data, s, ctx) {
    const line = data.toString('utf8').replace(/\r$/, '');
    const m = /^(PUT|GET|DEL)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    let answer: string;
    if (m === null) answer = 'ERROR expected PUT key json | GET key | DEL key';
    else {
      const [, op, key = '', rest] = m;
      if (op === 'PUT') {
        let value: unknown;
        try {
          value = JSON.parse(rest ?? '');
          await ctx.call(kv, tuple(atom('put'), key, value));
          answer = 'OK';
        } catch {
          answer = 'ERROR the value must be JSON';
        }
      } else if (op === 'GET') {
        const found = await ctx.call(kv, tuple(atom('get'), key));
        answer = found instanceof Tuple ? `VALUE ${JSON.stringify(toJson(found.elements[1]))}` : 'NOT_FOUND';
      } else {
        await ctx.call(kv, tuple(atom('delete'), key));
        answer = 'OK';
      }
    }
    if (!conn.send(answer)) await conn.drain();
    return s;
  },
};
