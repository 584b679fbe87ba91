/**
 * Observer HTTP: the page, the JSON API, the event stream of live updates
 * and the token-protected actions, as Web routes.
 *
 * - `GET /` the page; `GET /api/nodes|overview|processes|process|state|applications|distribution` JSON
 *   (`node` selects the node; `pid` a process; `sort`, `dir`, `filter`, `offset`, `limit` the table page);
 * - `GET /api/events?view=...` Server-Sent Events: an `update` per tick with the overview and the view;
 * - `POST /api/kill {pid, reason}`, `/api/trace {pid, seconds}`, `/api/stop-application {name}`: need the token.
 * @module
 */
import { ok } from '../server/server.js';
import { respond, type WebHandler } from '../web/handler.js';
import { route, type WebRoute } from '../web/gateway.js';
import type { WebRequest } from '../web/request.js';
import { json, stream, type WebResponse } from '../web/response.js';
import { ObserverRequestError } from './errors.js';
import { ObserverHub } from './hub.js';
import { MAX_TRACE_SECONDS } from './local.js';
import { observerPage } from './page.js';
import { field, jsonBody, processQuery, required, seconds } from './query.js';
import type { ObserverSource } from './source.js';

const VIEWS = ['overview', 'processes', 'process', 'applications', 'distribution'] as const;

function problem(err: unknown): { status: number; message: string } {
  if (err instanceof ObserverRequestError) return { status: err.status, message: err.message };
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}

function errorResponse(err: unknown): WebResponse {
  const p = problem(err);
  return json({ error: p.message }, p.status, p.status === 401 ? { 'www-authenticate': 'Bearer realm="beamline-observer"' } : {});
}

function bearer(req: WebRequest): string | undefined {
  const h = req.headers.authorization;
  if (h !== undefined && /^Bearer /i.test(h)) return h.slice(7).trim();
  return req.query.get('token') ?? undefined;
}

/** The data of one view for `params`, computed once per tick per distinct request. */
async function viewData(hub: ObserverHub, src: ObserverSource, view: string, params: URLSearchParams): Promise<unknown> {
  switch (view) {
    case 'overview':
      return hub.cached(`${src.node}|overview`, () => src.overview());
    case 'processes': {
      const q = processQuery(params);
      return hub.cached(`${src.node}|processes|${JSON.stringify(q)}`, () => src.processes(q));
    }
    case 'process': {
      const pid = required(params, 'pid');
      const p = await hub.cached(`${src.node}|process|${pid}`, () => src.process(pid));
      if (p === undefined) throw new ObserverRequestError(404, `no process ${pid} on ${src.node}`);
      return p;
    }
    case 'applications':
      return hub.cached(`${src.node}|applications`, () => src.applications());
    case 'distribution':
      return hub.cached(`${src.node}|distribution`, () => src.distribution());
    default:
      throw new ObserverRequestError(404, `unknown view ${JSON.stringify(view.slice(0, 40))}: one of ${VIEWS.join(', ')}`);
  }
}

async function* events(hub: ObserverHub, src: ObserverSource, view: string, params: URLSearchParams): AsyncGenerator<string> {
  hub.subscribe();
  try {
    yield `retry: 1000\n\n`;
    for (;;) {
      try {
        const [overview, data] = await Promise.all([viewData(hub, src, 'overview', params), view === 'overview' ? undefined : viewData(hub, src, view, params)]);
        yield `event: update\ndata: ${JSON.stringify({ node: src.node, view, overview, data })}\n\n`;
      } catch (err) {
        yield `event: problem\ndata: ${JSON.stringify(problem(err))}\n\n`;
      }
      await hub.nextTick();
    }
  } finally {
    hub.unsubscribe();
  }
}

/** `Host: 127.0.0.1:8080`, `localhost`, `[::1]:80`: a name that only reaches this machine (DNS rebinding sends another). */
function loopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

async function get(hub: ObserverHub, req: WebRequest): Promise<WebResponse> {
  // Reads are open on loopback, but only to pages served from a loopback name: another
  // site that rebinds its name to 127.0.0.1 must present the token.
  if (hub.tokenForReads || !loopbackHost(req.headers.host)) hub.checkToken(bearer(req));
  const name = req.params['name'] ?? '';
  if (name === 'nodes') return json(hub.nodes());
  const src = await hub.source(req.query.get('node'));
  if (name === 'state') {
    // A process that is not a Server (or does not answer) is a normal answer for the page: 200 with the reason.
    const pid = required(req.query, 'pid');
    try {
      return json({ pid, state: await src.serverState(pid) });
    } catch (err) {
      if (err instanceof ObserverRequestError && err.status === 409) return json({ pid, state: null, reason: err.message });
      throw err;
    }
  }
  if (name === 'events') {
    const view = req.query.get('view') ?? 'overview';
    await viewData(hub, src, view, req.query); // bad input is answered 4xx before the stream starts
    return stream(events(hub, src, view, req.query), 200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  }
  return json(await viewData(hub, src, name, req.query));
}

async function post(hub: ObserverHub, req: WebRequest): Promise<WebResponse> {
  const h = req.headers.authorization;
  hub.checkToken(h !== undefined && /^Bearer /i.test(h) ? h.slice(7).trim() : undefined);
  const name = req.params['name'] ?? '';
  if (name !== 'kill' && name !== 'trace' && name !== 'stop-application') throw new ObserverRequestError(404, `unknown action ${JSON.stringify(name.slice(0, 40))}: kill, trace or stop-application`);
  const body = jsonBody(req.body);
  const src = await hub.source(typeof body['node'] === 'string' ? body['node'] : null);
  switch (name) {
    case 'kill': {
      const pid = field(body, 'pid');
      const reason = typeof body['reason'] === 'string' && body['reason'] !== '' ? body['reason'] : 'kill';
      if (!(await src.kill(pid, reason))) throw new ObserverRequestError(404, `no process ${pid} on ${src.node}`);
      return json({ ok: true, pid, reason });
    }
    case 'trace': {
      const pid = field(body, 'pid');
      const s = seconds(body, MAX_TRACE_SECONDS);
      if (!(await src.trace(pid, s))) throw new ObserverRequestError(404, `no process ${pid} on ${src.node}`);
      return json({ ok: true, pid, seconds: s });
    }
    default: {
      const app = field(body, 'name');
      if (!(await src.stopApplication(app))) throw new ObserverRequestError(404, `application ${JSON.stringify(app.slice(0, 100))} is not running on ${src.node}`);
      return json({ ok: true, name: app });
    }
  }
}

const pageHandler: WebHandler<string, string> = {
  behavior: 'observer_page',
  init: (html) => ok(html),
  handleRequest: (_req, html) =>
    respond(
      {
        status: 200,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
        body: html,
      },
      html,
    ),
};

const apiHandler: WebHandler<ObserverHub, ObserverHub> = {
  behavior: 'observer_api',
  init: (hub) => ok(hub),
  async handleRequest(req, hub) {
    try {
      return respond(req.method === 'POST' ? await post(hub, req) : await get(hub, req), hub);
    } catch (err) {
      if (!(err instanceof ObserverRequestError)) hub.node.log('warning', `observer: ${req.method} ${req.path}: ${(err as Error).message}`);
      return respond(errorResponse(err), hub);
    }
  },
};

/** The observer's routes under `base` (`''` or a path like `/observer`). */
export function observerRoutesFor(hub: ObserverHub, base: string, poolSize: number): WebRoute[] {
  const html = observerPage();
  return [
    route('GET', `${base}/`, pageHandler, { args: html, poolSize: 2 }),
    route('GET', `${base}/api/:name`, apiHandler, { args: hub, poolSize }),
    route('POST', `${base}/api/:name`, apiHandler, { args: hub, poolSize: 2 }),
  ];
}
