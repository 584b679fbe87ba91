import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { eventually, quietLogger } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { getServerState, noreply, ok, stop, stopServer } from '../server/server.js';
import { startSupervisor, terminateChild } from '../supervisor/index.js';
import { createSelfSignedCertificate } from '../distribution/transport.js';
import { poolInfo } from '../pool/pool.js';
import { webChild } from './child.js';
import { route, startWeb } from './gateway.js';
import { respond, wait, type WebHandler } from './handler.js';
import type { WebRequest } from './request.js';
import { json, stream, text, type WebResponse } from './response.js';

function newNode(): Node {
  return new Node({ name: 'web@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 2000 });
}

const echo: WebHandler<number> = {
  init: () => ok(0),
  handleRequest(req, n, ctx) {
    if (req.params['what'] === 'crash') throw new Error('handler crash (test)');
    return respond(
      json({ method: req.method, path: req.path, params: req.params, q: req.query.get('q'), h: req.headers['x-test'] ?? null, body: req.text(), n, pid: ctx.self.id }),
      n + 1,
    );
  },
};

/** Keeps requests; answers them all when it gets the message `flush` (ergo's "wait"). */
const waiter: WebHandler<WebRequest[]> = {
  init: () => ok([]),
  handleRequest(req, pending, ctx) {
    pending.push(req);
    if (req.query.get('flush') !== null) ctx.send(ctx.self, 'flush');
    return wait(pending);
  },
  handleInfo(msg, pending) {
    if (msg === 'flush') for (const r of pending.splice(0)) r.respond(text(`later ${r.params['id']}`));
    if (msg === 'die') return stop(atom('boom'), pending);
    return noreply(pending);
  },
};

function rawExchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.write(payload);
  });
}

describe('Web', () => {
  test('routes by method and path: params, query, headers, body, JSON', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/echo/:what', echo), route('POST', '/echo/:what/*rest', echo)] });
    const r1 = await fetch(`${web.url}/echo/hi%20there?q=42`, { headers: { 'x-test': 'yes' } });
    assert.equal(r1.status, 200);
    assert.match(r1.headers.get('content-type') ?? '', /application\/json/);
    const b1 = (await r1.json()) as Record<string, unknown>;
    assert.deepEqual([b1['method'], b1['path'], b1['params'], b1['q'], b1['h'], b1['body']], ['GET', '/echo/hi%20there', { what: 'hi there' }, '42', 'yes', '']);
    const r2 = await fetch(`${web.url}/echo/a/b/c`, { method: 'POST', body: 'payload' });
    const b2 = (await r2.json()) as Record<string, unknown>;
    assert.deepEqual([b2['params'], b2['body']], [{ what: 'a', rest: 'b/c' }, 'payload']);
    assert.equal((await fetch(`${web.url}/nope`)).status, 404);
    const r405 = await fetch(`${web.url}/echo/x`, { method: 'DELETE' });
    assert.equal(r405.status, 405);
    assert.match(r405.headers.get('allow') ?? '', /GET/);
    const head = await fetch(`${web.url}/echo/x`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('requests are spread over the route pool; keep-alive reuses the connection', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/echo/:what', echo, { poolSize: 3 })] });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pids = new Set<number>();
    let reused = 0;
    for (let i = 0; i < 6; i++) {
      const { body, reusedSocket } = await new Promise<{ body: string; reusedSocket: boolean }>((resolve, reject) => {
        const req = httpRequest(`${web.url}/echo/${i}`, { agent }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ body: b, reusedSocket: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
      if (reusedSocket) reused++;
      pids.add((JSON.parse(body) as { pid: number }).pid);
    }
    agent.destroy();
    assert.equal(pids.size, 3);
    assert.equal(reused, 5);
  });

  test('a body over the limit gets 413 (declared and chunked)', async () => {
    await using node = newNode();
    const web = await startWeb(node, { maxBodySize: 1000, routes: [route('POST', '/echo/:what', echo)] });
    assert.equal((await fetch(`${web.url}/echo/x`, { method: 'POST', body: 'y'.repeat(1000) })).status, 200);
    assert.equal((await fetch(`${web.url}/echo/x`, { method: 'POST', body: 'y'.repeat(1001) })).status, 413);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(500));
        c.close();
      },
    });
    const r = await fetch(`${web.url}/echo/x`, { method: 'POST', body: chunked, duplex: 'half' } as RequestInit);
    assert.equal(r.status, 413);
  });

  test('malformed HTTP gets 400 and the server keeps serving', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/echo/:what', echo)] });
    const answer = await rawExchange(web.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    const answer2 = await rawExchange(web.port, 'GET /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n');
    assert.match(answer2, /^HTTP\/1\.1 400/);
    assert.equal((await fetch(`${web.url}/echo/ok`)).status, 200);
  });


  test('a whole response carries its Content-Length (no chunked body); 204 has none; a handler-set length is kept', async () => {
    await using node = newNode();
    const answers: Record<string, WebResponse> = {
      text: text('héllo'),
      bytes: { body: new Uint8Array([1, 2, 3]) },
      empty: { status: 200 },
      none: { status: 204 },
      own: { headers: { 'Content-Length': '2' }, body: 'ok' },
    };
    const fixed: WebHandler<undefined> = { init: () => ok(undefined), handleRequest: (req, s) => respond(answers[req.params['kind'] ?? ''] ?? text('?', 404), s) };
    const web = await startWeb(node, { routes: [route('GET', '/fixed/:kind', fixed)] });
    const raw = (kind: string): Promise<string> => rawExchange(web.port, `GET /fixed/${kind} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    const t = await raw('text');
    assert.match(t, /\r\ncontent-length: 6\r\n/i);
    assert.doesNotMatch(t, /transfer-encoding/i);
    assert.ok(t.endsWith('\r\n\r\nhéllo'));
    assert.match(await raw('bytes'), /\r\ncontent-length: 3\r\n/i);
    assert.match(await raw('empty'), /\r\ncontent-length: 0\r\n/i);
    const none = await raw('none');
    assert.match(none, /^HTTP\/1\.1 204/);
    assert.doesNotMatch(none, /content-length|transfer-encoding/i);
    const own = await raw('own');
    assert.equal(own.match(/content-length/gi)?.length, 1);
    assert.ok(own.endsWith('\r\n\r\nok'));
  });
  test('a slow client that never finishes its headers gets 408 and is disconnected', async () => {
    await using node = newNode();
    const web = await startWeb(node, { headersTimeout: 300, routes: [route('GET', '/echo/:what', echo)] });
    const answer = await new Promise<string>((resolve) => {
      const s = connect(web.port, '127.0.0.1');
      let data = '';
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.write('GET /echo/x HTTP/1.1\r\nHost: a\r\n'); // and never the end of the headers
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  test('a handler that throws: 500, restarted, the next request is served', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/echo/:what', echo, { poolSize: 1 })] });
    const before = (await (await fetch(`${web.url}/echo/a`)).json()) as { pid: number };
    const crash = await fetch(`${web.url}/echo/crash`);
    assert.equal(crash.status, 500);
    const after = (await (await fetch(`${web.url}/echo/b`)).json()) as { pid: number; n: number };
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.n, 0, 'a fresh handler state');
  });

  test('crash-and-restart under load: every request gets an answer', async () => {
    await using node = newNode();
    const web = await startWeb(node, { requestTimeout: 3000, routes: [route('GET', '/echo/:what', echo, { poolSize: 4 })] });
    const statuses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => fetch(`${web.url}/echo/${i % 10 === 0 ? 'crash' : 'ok'}`).then(async (r) => (await r.arrayBuffer(), r.status))),
    );
    assert.equal(statuses.length, 300);
    const counts = new Map<number, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    assert.ok((counts.get(500) ?? 0) >= 30, `crashes answered 500: ${[...counts]}`);
    assert.ok([...counts.keys()].every((s) => s === 200 || s === 500 || s === 503), `only 200/500/503: ${[...counts]}`);
    assert.equal((await fetch(`${web.url}/echo/ok`)).status, 200);
  });

  test("wait: a handler answers later from another message (ergo's wait)", async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/w/:id', waiter, { poolSize: 1 })] });
    const first = fetch(`${web.url}/w/1`);
    const second = fetch(`${web.url}/w/2?flush`);
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual([await a.text(), await b.text()], ['later 1', 'later 2']);
  });

  test('timeouts: 504 when the handler does not answer, 503 when no handler takes the request', async () => {
    await using node = newNode();
    const blocker: WebHandler<undefined> = {
      init: () => ok(undefined),
      handleRequest: (req, s) => (req.params['how'] === 'block' ? new Promise(() => {}) : wait(s)),
    };
    const web = await startWeb(node, { requestTimeout: 300, routes: [route('GET', '/t/:how', blocker, { poolSize: 1 })] });
    assert.equal((await fetch(`${web.url}/t/wait`)).status, 504);
    const blocked = fetch(`${web.url}/t/block`); // takes the only handler for good
    const queued = await fetch(`${web.url}/t/wait`);
    assert.equal(queued.status, 503);
    assert.equal((await blocked).status, 504);
  });

  test('answered requests never time out later; a bad requestTimeout is refused', async () => {
    await using node = newNode();
    const quick: WebHandler<undefined> = { init: () => ok(undefined), handleRequest: (_req, s) => respond(json({ ok: true }), s) };
    const slow: WebHandler<undefined> = { init: () => ok(undefined), handleRequest: (_req, s) => wait(s) };
    const web = await startWeb(node, { requestTimeout: 200, routes: [route('GET', '/quick', quick), route('GET', '/slow', slow)] });
    // Many answered requests share the gateway's one deadline queue with one that is not answered:
    // each answered one got its 200 once, and only the unanswered one times out.
    const late = fetch(`${web.url}/slow`);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${web.url}/quick`).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal((await late).status, 504);
    assert.equal((await fetch(`${web.url}/quick`)).status, 200, 'the queue serves requests after a timeout');
    await assert.rejects(startWeb(node, { requestTimeout: -1, routes: [] }), RangeError);
    await assert.rejects(startWeb(node, { requestTimeout: Number.NaN, routes: [] }), RangeError);
  });

  test('a handler that dies while requests wait: they are answered 500', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/w/:id', waiter, { poolSize: 1 })] });
    const pending = [fetch(`${web.url}/w/1`), fetch(`${web.url}/w/2`)];
    const pools = await eventuallyPools(node, web.pid);
    const worker = pools[0] as Pid;
    await until(async () => ((await getServerState(node, worker)) as unknown[]).length === 2); // both taken
    node.exit(worker, atom('kill'));
    const statuses = await Promise.all(pending.map((p) => p.then((r) => r.status)));
    assert.deepEqual(statuses, [500, 500]);
  });

  test('streamed responses; a client that never reads is cut off by the idle timeout, others are served', async () => {
    await using node = newNode();
    const big = Buffer.alloc(64 * 1024, 120);
    let produced = 0;
    const streamer: WebHandler<undefined> = {
      init: () => ok(undefined),
      handleRequest(req, s) {
        const n = Number(req.params['n']);
        async function* chunks(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < n; i++) {
            produced++;
            yield big;
          }
        }
        return respond(stream(chunks(), 200, { 'content-type': 'application/octet-stream' }), s);
      },
    };
    const web = await startWeb(node, { idleTimeout: 500, routes: [route('GET', '/s/:n', streamer)] });
    const r = await fetch(`${web.url}/s/4`);
    assert.equal((await r.arrayBuffer()).byteLength, 4 * big.length);
    produced = 0;
    const lazy: Socket = connect(web.port, '127.0.0.1');
    lazy.write('GET /s/100000 HTTP/1.1\r\nHost: x\r\n\r\n');
    lazy.pause(); // never reads
    await eventually(() => produced > 10);
    assert.equal((await fetch(`${web.url}/s/1`)).status, 200, 'served meanwhile');
    // The server gives up on the stalled connection: nothing is left in flight.
    await until(async () => ((await getServerState(node, web)) as { inflight: number }).inflight === 0);
    const stalledAt = produced;
    lazy.destroy();
    assert.ok(produced === stalledAt);
    assert.ok(produced < 1000, `backpressure held the stream (${produced} chunks of 100000)`);
  });

  test('graceful stop: requests in flight finish, new connections are refused', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/w/:id', waiter, { poolSize: 1 })] });
    const inflight = fetch(`${web.url}/w/1`);
    const pools = await eventuallyPools(node, web.pid);
    await until(async () => ((await getServerState(node, pools[0] as Pid)) as unknown[]).length === 1); // taken
    const { server } = (await getServerState(node, web)) as { server: Server };
    const stopping = stopServer(node, web);
    await eventually(() => !server.listening);
    await assert.rejects(fetch(`${web.url}/w/2`));
    node.send(pools[0] as Pid, 'flush');
    const res = await inflight;
    assert.equal(await res.text(), 'later 1');
    await stopping;
    assert.ok(!node.isAlive(web.pid));
    for (const p of pools) assert.ok(!node.isAlive(p));
  });

  test('a supervisor starts and stops the gateway; stopping closes the socket', async () => {
    await using node = newNode();
    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [webChild('web', { routes: [route('GET', '/echo/:what', echo)] }, { name: 'gw' })] });
    const pid = node.whereis('gw') as Pid;
    const { server } = (await getServerState(node, pid)) as { server: Server };
    const port = (server.address() as { port: number }).port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/echo/x`)).status, 200);
    await terminateChild(node, sup, 'web');
    assert.ok(!node.isAlive(pid));
    assert.equal(server.listening, false);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/echo/x`));
  });

  test('killing the gateway still closes its server', async () => {
    await using node = newNode();
    const web = await startWeb(node, { routes: [route('GET', '/echo/:what', echo)] });
    assert.equal((await fetch(`${web.url}/echo/x`)).status, 200);
    node.exit(web.pid, atom('kill'));
    await node.waitExit(web.pid);
    await assert.rejects(fetch(`${web.url}/echo/x`));
  });

  test('HTTPS with a self-signed certificate', async () => {
    await using node = newNode();
    const creds = await createSelfSignedCertificate();
    const web = await startWeb(node, { https: { key: creds.key, cert: creds.cert }, routes: [route('GET', '/echo/:what', echo)] });
    assert.match(web.url, /^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${web.url}/echo/tls`, { ca: creds.ca, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual((JSON.parse(body) as { params: unknown }).params, { what: 'tls' });
  });
});

/** Resolves once the async `predicate` holds (a hang guard fails it after 10 s). */
async function until(predicate: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > 10_000) throw new Error('until: condition not met');
    await new Promise((r) => setImmediate(r));
  }
}

async function eventuallyPools(node: Node, gateway: Pid): Promise<Pid[]> {
  const state = (await getServerState(node, gateway)) as { pools: Pid[] };
  const workers: Pid[] = [];
  for (const p of state.pools) for (const w of (await poolInfo(node, p)).workers) if (w !== undefined) workers.push(w);
  return workers;
}
