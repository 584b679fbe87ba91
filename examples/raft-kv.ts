// Run: npx tsc -p . && node build/examples/raft-kv.js            (three peers in one process, a short demo)
//      node build/examples/raft-kv.js --wait                      (the three peers stay up, HTTP on 8401..8403)
//      node build/examples/raft-kv.js --peer 1|2|3                (one peer per terminal; HTTP on 8401..8403)
/**
 * Example: a replicated key-value store on Raft. Three Beamline nodes each
 * run a Raft peer (`startRaft`) and an HTTP front end; a put or a get through
 * any node goes to the leader (appends commit on a majority, reads are
 * linearizable through ReadIndex). The log lives under a temp directory.
 * EPMD listens on `ERL_EPMD_PORT`, or 4398.
 *
 * ```bash
 * curl -X PUT --data hello http://127.0.0.1:8401/kv/greeting   # {"serial":3}
 * curl http://127.0.0.1:8403/kv/greeting                        # {"value":"hello"}
 * ```
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Node, RaftClient, type RaftBehavior, type RaftPeer, RaftTimeoutError, startRaft } from '../src/index.js';
import { startNode } from '../src/distribution/index.js';

const epmdPort = Number(process.env['ERL_EPMD_PORT'] ?? 4398);
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

/** Starts peer `i` with its log under `root` and its HTTP front end on `port` (0: any free port). */
async function startPeer(i: number, root: string, port: number): Promise<{ node: Node; http: Server; url: string }> {
  const node = await startNode({ name: peers[i - 1]!.node, cookie: 'raft-kv', epmdPort });
  const dir = join(root, String(i));
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
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  console.log(`peer ${i}: node ${node.name.name}, HTTP on ${url}`);
  return { node, http, url };
}

const one = process.argv.indexOf('--peer');
if (one >= 0) {
  const i = Number(process.argv[one + 1]);
  if (![1, 2, 3].includes(i)) throw new RangeError('--peer takes 1, 2 or 3');
  // A peer keeps its log across restarts.
  const { node, http } = await startPeer(i, join(tmpdir(), 'beamline-raft-kv'), 8400 + i);
  await new Promise((resolve) => process.once('SIGINT', resolve));
  http.close();
  await node.stop();
} else {
  // The short demo: a fresh log and any free HTTP ports (8401..8403 with --wait, for curl), so runs
  // side by side do not collide.
  const wait = process.argv.includes('--wait');
  const root = mkdtempSync(join(tmpdir(), 'beamline-raft-kv-'));
  const running = [];
  for (const i of [1, 2, 3]) running.push(await startPeer(i, root, wait ? 8400 + i : 0));
  const put = await fetch(`${running[0]!.url}/kv/greeting`, { method: 'PUT', body: 'hello from node 1' });
  console.log('PUT via node 1 ->', await put.text());
  const get = await fetch(`${running[2]!.url}/kv/greeting`);
  console.log('GET via node 3 ->', await get.text());
  if (wait) await new Promise((resolve) => process.once('SIGINT', resolve));
  for (const { node, http } of running.reverse()) {
    http.close();
    await node.stop();
  }
  rmSync(root, { recursive: true, force: true });
}
