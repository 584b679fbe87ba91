/**
 * The observer's HTTP API without a browser: bad input gets clear 4xx and
 * leaves the node running, the token rules, options, the base path, another
 * Beamline node through distribution, actions, the event stream and a
 * 100,000-process table page.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventually, freePort, quietLogger } from '../../test/support.js';
import { erlSkipReason, startErl } from '../../test/erl.js';
import { loadApplication, startApplication, whichApplications } from '../application/controller.js';
import { BadArgumentError } from '../core/errors.js';
import { Node } from '../core/node.js';
import { rpc, startNode } from '../distribution/node-dist.js';
import { noreply, ok, reply, type ServerBehavior } from '../server/server.js';
import { serverStart } from '../supervisor/child-start.js';
import { atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { startObserver, type StartedObserver } from './observer.js';
import { exposeObserver } from './remote.js';
import type { ProcessPage, ProcessQuery, ProcessView } from './views.js';

const TOKEN = 'api-test-token';
const COOKIE = 'observer-api';

type Counter = { call: [string, number]; cast: string };
const counter: ServerBehavior<Counter, number> = {
  behavior: 'counter',
  init: () => ok(41),
  handleCall: (r, _f, n) => reply(r, n, n),
  handleCast: (_m, n) => noreply(n + 1),
};

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }> {
  const r = await fetch(url, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function postJson(url: string, body: string, token: string | null = TOKEN): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) }, body });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** A GET with a chosen Host header (fetch does not let a test set it). */
async function rawGet(port: number, path: string, host: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  let out = '';
  socket.on('data', (d: Buffer) => (out += d.toString()));
  await once(socket, 'close');
  return out;
}

describe('the observer API on one node', () => {
  let node: Node;
  let observer: StartedObserver;
  let api: string;

  before(async () => {
    node = new Node({ name: 'api@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 500 });
    loadApplication(node, { name: 'shop', version: '1.0.0', supervisor: { strategy: 'one_for_one', children: [{ id: 'cache', start: serverStart(counter, undefined, { name: 'cache' }) }] } });
    await startApplication(node, 'shop');
    observer = await startObserver(node, { token: TOKEN });
    api = `${observer.url}api/`;
  });

  after(async () => {
    await observer?.stop();
    await node?.stop();
  });

  test('the views answer JSON', async () => {
    const o = await getJson(`${api}overview`);
    assert.equal(o.status, 200);
    assert.equal(o.body['node'], 'api@127.0.0.1');
    const cache = node.whereis('cache') as Pid;
    const page = (await getJson(`${api}processes?filter=cache&sort=reductions&dir=desc`)).body as unknown as ProcessPage;
    assert.equal(page.total, 1);
    assert.equal(page.rows[0]?.pid, cache.toString());
    assert.equal(page.rows[0]?.behavior, 'counter');
    const p = (await getJson(`${api}process?pid=${cache.toString()}`)).body as unknown as ProcessView;
    assert.equal(p.name, 'cache');
    assert.ok(p.parent !== undefined && p.links_.includes(p.parent), 'linked to its supervisor');
    const state = await getJson(`${api}state?pid=${cache.toString()}`);
    assert.deepEqual(state.body, { pid: cache.toString(), state: '41' });
    const apps = await getJson(`${api}applications`);
    assert.match(JSON.stringify(apps.body), /"id":"cache","pid":"<0\.\d+\.\d+>","type":"worker"/);
    const dist = await getJson(`${api}distribution`);
    assert.equal(dist.body['distributed'], false);
  });

  test('bad input gets clear 4xx answers and the node keeps running', async () => {
    const cases: [string, number, RegExp][] = [
      ['process?pid=%3C0.999999.0%3E', 404, /no process <0\.999999\.0>/],
      ['process?pid=nonsense', 400, /malformed pid/],
      ['process?pid=%3C1.2.3%3E', 400, /malformed pid/],
      ['process', 400, /missing the pid parameter/],
      ['processes?sort=colour', 400, /sort must be one of/],
      ['processes?dir=up', 400, /dir must be asc or desc/],
      ['processes?limit=0', 400, /limit must be between 1 and 500/],
      ['processes?limit=100000', 400, /limit must be between/],
      ['processes?offset=-1', 400, /offset must be an integer/],
      ['processes?filter=' + 'x'.repeat(300), 400, /filter is longer/],
      ['overview?node=ghost@nowhere', 404, /not a connected node/],
      ['teapot', 404, /unknown view/],
      ['events?view=teapot', 404, /unknown view/],
      ['events?view=process&pid=%3C0.999999.0%3E', 404, /no process/],
      ['state?pid=%3C0.999999.0%3E', 404, /no process/],
    ];
    for (const [path, status, message] of cases) {
      const r = await getJson(`${api}${path}`);
      assert.equal(r.status, status, path);
      assert.match(r.body.error ?? '', message, path);
    }
    const victim = node.spawn({ handleMessage() {} });
    const posts: [string, string, string | null, number, RegExp][] = [
      ['kill', JSON.stringify({ pid: victim.toString() }), null, 401, /needs the observer token/],
      ['kill', JSON.stringify({ pid: victim.toString() }), 'wrong-token', 403, /wrong observer token/],
      ['kill', '{not json', TOKEN, 400, /JSON object/],
      ['kill', '[1,2]', TOKEN, 400, /JSON object/],
      ['kill', JSON.stringify({}), TOKEN, 400, /non-empty string pid/],
      ['kill', JSON.stringify({ pid: 'x' }), TOKEN, 400, /malformed pid/],
      ['kill', JSON.stringify({ pid: '<0.999999.0>' }), TOKEN, 404, /no process/],
      ['kill', JSON.stringify({ pid: victim.toString(), reason: 'r'.repeat(2000) }), TOKEN, 400, /longer than 1000/],
      ['trace', JSON.stringify({ pid: victim.toString(), seconds: 0 }), TOKEN, 400, /seconds must be an integer/],
      ['trace', JSON.stringify({ pid: victim.toString(), seconds: 'ten' }), TOKEN, 400, /seconds must be an integer/],
      ['stop-application', JSON.stringify({ name: 'nothing_here' }), TOKEN, 404, /not running/],
      ['explode', '{}', TOKEN, 404, /unknown action/],
    ];
    for (const [action, body, token, status, message] of posts) {
      const r = await postJson(`${api}${action}`, body, token);
      assert.equal(r.status, status, `${action} ${body.slice(0, 40)} ${token}`);
      assert.match(r.body.error ?? '', message, action);
    }
    const noToken = await fetch(`${api}kill`, { method: 'POST', body: '{}' });
    assert.equal(noToken.headers.get('www-authenticate'), 'Bearer realm="beamline-observer"');
    assert.ok(node.isAlive(victim), 'nothing was killed');
    assert.equal(await node.call(node.whereis('cache') as Pid, 'get'), 41, 'the node still works');
    assert.equal((await fetch(`${observer.url}nowhere`)).status, 404);
    // DNS rebinding: a page of another site whose name now points at 127.0.0.1.
    const rebound = await rawGet(observer.web.port, '/api/overview', 'evil.example:80');
    assert.match(rebound, /^HTTP\/1\.1 401/);
    assert.match(await rawGet(observer.web.port, '/api/overview', `localhost:${observer.web.port}`), /^HTTP\/1\.1 200/);
    assert.equal((await fetch(`${api}overview`, { method: 'DELETE' })).status, 405);
  });

  test('kill with a reason, trace for N seconds, stop an application', async () => {
    const victim = node.spawn({ handleMessage() {} });
    const traced = await postJson(`${api}trace`, JSON.stringify({ pid: victim.toString(), seconds: 5 }));
    assert.deepEqual(traced.body, { ok: true, pid: victim.toString(), seconds: 5 });
    node.send(victim, 'observed');
    const view = (await getJson(`${api}process?pid=${victim.toString()}`)).body as unknown as ProcessView;
    assert.ok(view.trace.until > Date.now());
    assert.deepEqual(view.trace.messages.map((m) => m.message), ['"observed"']);
    const exited = node.waitExit(victim);
    const killed = await postJson(`${api}kill`, JSON.stringify({ pid: victim.toString(), reason: 'maintenance' }));
    assert.equal(killed.status, 200);
    assert.equal(await exited, atom('maintenance'));
    const stopped = await postJson(`${api}stop-application`, JSON.stringify({ name: 'shop' }));
    assert.equal(stopped.status, 200);
    assert.deepEqual(whichApplications(node), []);
  });

  test('the event stream pushes updates and ends when the observer stops', async () => {
    const own = await startObserver(node, { token: TOKEN, interval: 100 });
    const r = await fetch(`${own.url}api/events?view=processes&limit=5`);
    assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while ((text.match(/event: update/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    const update = JSON.parse(/data: (.*)\n/.exec(text)?.[1] ?? '') as { view: string; data: ProcessPage };
    assert.equal(update.view, 'processes');
    assert.equal(update.data.rows.length, 5);
    await own.stop();
    for (;;) if ((await reader.read()).done) break; // ended, not cut by a timeout
  });
});

test('options are checked; a base path; off loopback every request needs the token', async () => {
  await using node = new Node({ name: 'opts@127.0.0.1', logger: quietLogger().log });
  await assert.rejects(startObserver(node, { token: 'short' }), BadArgumentError);
  await assert.rejects(startObserver(node, { interval: 10 }), BadArgumentError);
  await assert.rejects(startObserver(node, { base: 'no-slash' }), BadArgumentError);
  const based = await startObserver(node, { base: '/observer/' });
  assert.match(based.url, /\/observer\/$/);
  assert.equal(based.token.length >= 16, true, 'a random token');
  assert.equal((await fetch(based.url)).status, 200);
  assert.equal((await fetch(`${based.url}api/overview`)).status, 200);
  await based.stop();
  const open = await startObserver(node, { host: '0.0.0.0', token: TOKEN });
  const url = `http://127.0.0.1:${open.web.port}/api/overview`;
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(`${url}?token=nope-nope`)).status, 403);
  assert.equal((await fetch(`${url}?token=${TOKEN}`)).status, 200);
  assert.equal((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  await open.stop();
});

test('another Beamline node through distribution: its views and actions', async () => {
  const epmdPort = await freePort();
  const a = await startNode({ name: `obsa${process.pid}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: quietLogger().log } });
  const bNode = await startNode({ name: `obsb${process.pid}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: quietLogger().log } });
  try {
    exposeObserver(bNode);
    const observer = await startObserver(a, { token: TOKEN });
    const api = `${observer.url}api/`;
    const remote = bNode.name.name;
    assert.equal((await getJson(`${api}overview?node=${remote}`)).status, 404, 'not connected yet');
    await rpc(a, remote, 'erlang', 'node', []);
    const worker = bNode.spawn({ behavior: 'remote_worker', handleMessage() {} }, { name: 'remote_worker' });
    const o = await getJson(`${api}overview?node=${remote}`);
    assert.equal(o.status, 200);
    assert.equal(o.body['node'], remote);
    const page = (await getJson(`${api}processes?node=${remote}&filter=remote_worker`)).body as unknown as ProcessPage;
    assert.equal(page.rows[0]?.pid, worker.toString());
    const nodes = (await getJson(`${api}nodes`)).body as unknown as { name: string; kind: string }[];
    assert.deepEqual(nodes.find((n) => n.name === remote), { name: remote, kind: 'beamline', local: false });
    assert.equal((await getJson(`${api}process?node=${remote}&pid=%3C0.999999.0%3E`)).status, 404);
    const dist = await getJson(`${api}distribution`);
    assert.match(JSON.stringify(dist.body), new RegExp(`"node":"${remote}","bytesIn":\\d+`));
    const exited = bNode.waitExit(worker);
    assert.equal((await postJson(`${api}kill`, JSON.stringify({ node: remote, pid: worker.toString(), reason: 'remote_stop' }))).status, 200);
    assert.equal(await exited, atom('remote_stop'));
    await eventually(() => !bNode.isAlive(worker));
    await observer.stop();
  } finally {
    await bNode.stop();
    await a.stop();
  }
});

test('with 100,000 processes a table page is sorted and cut on the server', async () => {
  await using node = new Node({ name: 'big@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 100 });
  const observer = await startObserver(node, { token: TOKEN });
  const idle = { behavior: 'idle', handleMessage() {} };
  let busy: Pid | undefined;
  for (let i = 0; i < 100_000; i++) {
    const p = node.spawn(idle);
    if (i === 77_777) busy = p;
  }
  for (let i = 0; i < 3; i++) node.send(busy as Pid, i);
  await eventually(() => node.processInfo(busy as Pid)?.reductions === 3);
  const page = (await getJson(`${observer.url}api/processes?sort=reductions&dir=desc&limit=20`)).body as unknown as ProcessPage;
  assert.ok(page.all >= 100_000);
  assert.equal(page.rows.length, 20);
  assert.equal(page.rows[0]?.pid, busy?.toString());
  const last = (await getJson(`${observer.url}api/processes?sort=pid&dir=desc&limit=1&offset=99990`)).body as unknown as ProcessPage;
  assert.equal(last.rows.length, 1);
  await observer.stop();
});

test('an Erlang node through rpc: processes, a process page, applications, kill, stop an application', { skip: erlSkipReason() }, async () => {
  const epmdPort = await freePort();
  const local = await startNode({ name: `obsl${process.pid}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: quietLogger().log } });
  const erlName = `obse${process.pid}@127.0.0.1`;
  const erl = startErl({
    name: erlName,
    cookie: COOKIE,
    epmdPort,
    eval: `application:start(sasl), register(erl_victim, spawn(fun() -> receive stop -> ok end end)), io:format("READY~n").`,
  });
  try {
    await erl.waitForOutput(/READY/);
    const observer = await startObserver(local, { token: TOKEN });
    const api = `${observer.url}api/`;
    await rpc(local, erlName, 'erlang', 'node', []);
    const page = (await getJson(`${api}processes?node=${erlName}&filter=erl_victim`)).body as unknown as ProcessPage;
    assert.equal(page.rows.length, 1);
    const victim = page.rows[0]?.pid ?? '';
    const kernelSup = ((await getJson(`${api}processes?node=${erlName}&filter=kernel_sup`)).body as unknown as ProcessPage).rows[0];
    assert.equal(kernelSup?.behavior, 'supervisor:kernel/1', 'proc_lib processes show what they run (proc_lib:translate_initial_call)');
    const view = (await getJson(`${api}process?node=${erlName}&pid=${encodeURIComponent(victim)}`)).body as unknown as ProcessView;
    assert.equal(view.name, 'erl_victim');
    assert.match(view.currentFunction ?? '', /^\w+:\w+\/\d+$/, 'current_function as M:F/A');
    const unknown = await getJson(`${api}process?node=${erlName}&pid=%3C0.999999.0%3E`);
    assert.equal(unknown.status, 404, unknown.body.error);
    const state = (await getJson(`${api}state?node=${erlName}&pid=${encodeURIComponent(kernelSup?.pid ?? '')}`)).body;
    assert.match(String(state['state']), /kernel_sup|one_for_all|state/);
    const apps = JSON.stringify((await getJson(`${api}applications?node=${erlName}`)).body);
    assert.match(apps, /"name":"kernel"/);
    assert.match(apps, /"id":"kernel_safe_sup","pid":"<0\.\d+\.\d+>","type":"supervisor"/);
    assert.equal((await postJson(`${api}trace`, JSON.stringify({ node: erlName, pid: victim, seconds: 5 }))).status, 409);
    assert.equal((await postJson(`${api}stop-application`, JSON.stringify({ node: erlName, name: 'no_such_app' }))).status, 404);
    assert.equal((await postJson(`${api}stop-application`, JSON.stringify({ node: erlName, name: 'sasl' }))).status, 200);
    assert.doesNotMatch(JSON.stringify((await getJson(`${api}applications?node=${erlName}`)).body), /"name":"sasl"/);
    assert.equal((await postJson(`${api}kill`, JSON.stringify({ node: erlName, pid: victim, reason: 'bye' }))).status, 200);
    for (let i = 0; ; i++) {
      const r = await getJson(`${api}process?node=${erlName}&pid=${encodeURIComponent(victim)}`);
      if (r.status === 404) break;
      assert.ok(i < 200, 'the Erlang process exits');
    }
    await observer.stop();
  } finally {
    await erl.kill();
    await local.stop();
  }
});

// Compile-time checks: tsc fails if any of these lines compiles.
export function typeChecks(node: Node): void {
  // @ts-expect-error: not an option of startObserver
  void startObserver(node, { prot: 8080 });
  // @ts-expect-error: the token is a string
  void startObserver(node, { token: 42 });
  const q: ProcessQuery = { sort: 'memory', dir: 'desc', filter: '', offset: 0, limit: 10 };
  // @ts-expect-error: not a sort key
  const bad: ProcessQuery = { ...q, sort: 'colour' };
  void bad;
}

test('a start cancelled by its AbortSignal rejects with AbortedError and leaves no gateway', async () => {
  await using node = new Node({ name: 'abort@127.0.0.1', logger: quietLogger().log });
  const before = node.processes().length;
  await assert.rejects(startObserver(node, { signal: AbortSignal.abort('no observer') }), { name: 'AbortedError' });
  await eventually(() => node.processes().length === before, 10_000, 'no observer process left');
  const later = await startObserver(node, { signal: new AbortController().signal });
  assert.equal((await fetch(`${later.url}api/overview?token=${later.token}`)).status, 200);
  await later.stop();
});
