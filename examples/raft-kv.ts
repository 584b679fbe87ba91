// Run: npx tsc -p . && node build/examples/raft-kv.js            (three peers in one process, a short demo)
//      node build/examples/raft-kv.js --peer 1|2|3 [--wait]       (one peer per terminal; HTTP on 8401..8403)
/**
 * Example: a replicated key-value store on Raft. Three Beamline nodes each
 * run a Raft peer (`startRaft`) and an HTTP front end; a put or a get through
 * any node goes to the leader (appends commit on a majority, reads are
 * linearizable through ReadIndex). The log lives under a temp directory.
 *
 * ```bash
 * curl -X PUT --data hello http://127.0.0.1:8401/kv/greeting   # {"serial":3}
 * curl http://127.0.0.1:8403/kv/greeting                        # {"value":"hello"}
 * ```
 * @module
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Node, RaftClient, type RaftBehavior, type RaftPeer, RaftTimeoutError, startRaft } from '../src/index.js';
import { startNode } from '../src/distribution/index.js';

const epmdPort = 4398;
const peers: RaftPeer[] = [1, 2, 3].map((i) => ({ name: 'kv', node: `kv${i}@127.0.0.1` }));

/** The replicated state machine: a map; reads return one key's value. */
const kv: RaftBehavior<Map<string, string>, string, string, string | null> = {
  init: () => ({ state: new Map() }),
  handleApply: (key, value, _serial, state) => state.set(key, value),
  handleRead: (key, state) => state.get(key) ?? null,
  snapshot: (state) => [...state],
  restore: (image) => new Map(image as [string, string][]),
  handleLeader: (leader, term) => console.log(`term ${term}: leader ${leader === null ? 'unknown' : leader.node}`),
};

async function startPeer(i: number): Promise<{ node: Node; http: Server }> {
  const node = await startNode({ name: peers[i - 1]!.node, cookie: 'raft-kv', epmdPort });
  const dir = join(tmpdir(), 'beamline-raft-kv', String(i));
  mkdirSync(dir, { recursive: true });
  await startRaft(node, kv, undefined, { name: 'kv', peers, dir });
  const client = new RaftClient<string, string, string | null>(node, peers, { timeout: 3000 });
  const http = createServer((req, res) => {
    const key = /^\/kv\/([^/]+)$/.exec(req.url ?? '')?.[1];
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (key === undefined) return send(404, { error: 'use /kv/KEY' });
    const fail = (e: unknown): void => send(e instanceof RaftTimeoutError ? 503 : 500, { error: (e as Error).message });
    if (req.method === 'GET') {
      client.read(decodeURIComponent(key)).then((value) => send(200, { value }), fail);
    } else if (req.method === 'PUT') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => client.append(decodeURIComponent(key), body).then((serial) => send(200, { serial }), fail));
    } else send(405, { error: 'GET or PUT' });
  });
  await new Promise<void>((resolve) => http.listen(8400 + i, '127.0.0.1', resolve));
  console.log(`peer ${i}: node ${node.name.name}, HTTP on http://127.0.0.1:${8400 + i}`);
  return { node, http };
}

const one = process.argv.indexOf('--peer');
if (one >= 0) {
  const i = Number(process.argv[one + 1]);
  if (![1, 2, 3].includes(i)) throw new RangeError('--peer takes 1, 2 or 3');
  const { node, http } = await startPeer(i);
  await new Promise((resolve) => process.once('SIGINT', resolve));
  http.close();
  await node.stop();
} else {
  const running = [];
  for (const i of [1, 2, 3]) running.push(await startPeer(i));
  const put = await fetch('http://127.0.0.1:8401/kv/greeting', { method: 'PUT', body: 'hello from node 1' });
  console.log('PUT via node 1 ->', await put.text());
  const get = await fetch('http://127.0.0.1:8403/kv/greeting');
  console.log('GET via node 3 ->', await get.text());
  if (process.argv.includes('--wait')) await new Promise((resolve) => process.once('SIGINT', resolve));
  for (const { node, http } of running.reverse()) {
    http.close();
    await node.stop();
  }
}
