/**
 * Web: ergo's gen.Web on `node:http` / `node:https`. A gateway process owns
 * the HTTP server; each route has a pool of handler processes; each request
 * becomes a {@link WebRequest} message to its route's pool. The gateway
 * answers what no handler can: 404/405, 413 (body over the limit), 503 (no
 * handler took the request in time, or shutting down), 504 (the handler did
 * not answer in time), 500 (the handler crashed; the pool restarts it).
 * Stopping drains: no new requests, those in flight finish, then the
 * sockets close.
 *
 * @example
 * ```ts
 * const hello: WebHandler<number> = {
 *   init: () => ok(0),
 *   handleRequest: (req, n) => respond(json({ hello: req.params['name'], n }), n + 1),
 * };
 * const web = await startWeb(node, { port: 0, routes: [route('GET', '/hello/:name', hello, { poolSize: 4 })] });
 * const res = await fetch(`${web.url}/hello/joe`); // {"hello":"joe","n":0}
 * ```
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pid } from '../terms/identifiers.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { listenServer } from '../core/listen.js';
import { noreply, ok, type ServerBehavior, StartedServer, startServer, stop } from '../server/server.js';
import { shutdownAll } from '../supervisor/shutdown.js';
import { pickPoolWorker, startPool } from '../pool/pool.js';
import { closeOnExit, ownerExitReason, ownerStartOptions } from '../pool/owner.js';
import { handlerServer, type WebHandler } from './handler.js';
import { DeadlineQueue } from './deadlines.js';
import { type ExchangeOwner, RequestExchange, TakenRequests } from './exchange.js';
import { WebRequest } from './request.js';
import { type Method, Router } from './router.js';
import type { RouteParams } from './route-params.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** A route: method and path pattern to a pool of handlers. Build it with {@link route}. */
export interface WebRoute {
  readonly method: Method;
  readonly path: string;
  /** @internal */
  readonly startPool: (ctx: Process, defaultSize: number) => Promise<Pid>;
}

/** Options of a {@link route}. */
export interface RouteOptions<A, B = unknown> {
  /** `init` arguments of the route's handlers. */
  readonly args: A;
  /** Handlers in the route's pool; default the gateway's `poolSize`. */
  readonly poolSize?: number;
  /**
   * A Standard Schema (Zod, Valibot, ArkType... or any object with `~standard`)
   * for the JSON body: a body that is not JSON or fails the schema is answered
   * 400 with `{"error":"invalid_json","message":...}` or
   * `{"error":"invalid_body","issues":[{"message":...,"path":[...]}]}` before
   * the handler runs; the handler reads the validated value as `req.data`.
   */
  readonly body?: StandardSchemaV1<unknown, B>;
}

/**
 * A route to a pool of `handler` processes. `path` may hold `:param`
 * segments and a final `*rest`; an inline handler's `req.params` is typed
 * from them (`{ id: string }` for `/users/:id`), and with a `body` schema its
 * `req.data` is the validated body.
 *
 * @example
 * ```ts
 * route('GET', '/users/:id', userHandler, { poolSize: 8 });
 * route('POST', '/files/*path', uploadHandler, { args: { dir: '/tmp' } });
 * route('POST', '/users', {
 *   init: () => ok(0),
 *   handleRequest: (req, n) => respond(json({ created: req.data.name }, 201), n + 1),
 * }, { body: userSchema });
 * ```
 */
export function route<Path extends string, S, B = unknown>(
  method: Method,
  path: Path,
  handler: WebHandler<S, undefined, RouteParams<NoInfer<Path>>, NoInfer<B>>,
  options?: Partial<RouteOptions<undefined, B>>,
): WebRoute;
export function route<Path extends string, S, A, B = unknown>(
  method: Method,
  path: Path,
  handler: WebHandler<S, A, RouteParams<NoInfer<Path>>, NoInfer<B>>,
  options: RouteOptions<A, B>,
): WebRoute;
export function route<S, A>(method: Method, path: string, handler: WebHandler<S, A>, options: Partial<RouteOptions<A>> = {}): WebRoute {
  const worker = handlerServer(handler, options.body);
  return {
    method,
    path,
    startPool: async (ctx, defaultSize) =>
      (await startPool(ctx, { size: options.poolSize ?? defaultSize, worker, args: options.args as A, restartIntensity: { intensity: 1000, period: 5 } }, { link: true })).pid,
  };
}

/** What a Web gateway serves and how. Times are in ms. */
export interface WebSpec {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: a free port (read it from {@link StartedWeb.port}). */
  readonly port?: number;
  /** TLS: serve HTTPS with these options (key, cert...). */
  readonly https?: HttpsOptions;
  readonly routes: readonly WebRoute[];
  /** Handlers per route unless the route says; default 4. */
  readonly poolSize?: number;
  /** A request not answered within this time gets 503 (not taken) or 504 (taken); default 5000 (ergo's). */
  readonly requestTimeout?: number;
  /** Largest request body in bytes; more is answered 413. Default 1 MiB. */
  readonly maxBodySize?: number;
  /** Keep-alive: how long an idle connection stays open; default 5000. */
  readonly keepAliveTimeout?: number;
  /** A client must send the request headers within this time (slow clients get 408); default 10000. */
  readonly headersTimeout?: number;
  /** A socket with no activity for this long is closed (a client that never reads); default 30000. */
  readonly idleTimeout?: number;
  /** On stop, how long requests in flight may take before their connections are closed; default 5000. */
  readonly shutdownTimeout?: number;
  /** Refuse connections beyond this many. */
  readonly maxConnections?: number;
}

/** Options of {@link startWeb}. */
export interface WebStartOptions {
  readonly name?: string;
  /** From a process: link the gateway to it. */
  readonly link?: boolean;
  /** Cancels the start: the owner (its pool, and its socket if already open) is killed, and the start rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** A started gateway: its pid and where it listens. */
export class StartedWeb extends StartedServer<Record<never, never>> {
  constructor(
    pid: Pid,
    readonly host: string,
    readonly port: number,
    /** `http://host:port` or `https://...`. */
    readonly url: string,
  ) {
    super(pid);
  }
}

interface GatewayState extends ExchangeOwner {
  readonly server: Server;
  readonly pools: Pid[];
  /** Requests whose response has not closed yet. */
  inflight: number;
  stopping: boolean;
  onDrained: (() => void) | undefined;
}

interface Listening {
  address?: AddressInfo;
}

function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function gatewayBehavior(spec: WebSpec): ServerBehavior<Record<never, never>, GatewayState, Listening> {
  const maxBody = spec.maxBodySize ?? 1024 * 1024;
  const requestTimeout = spec.requestTimeout ?? 5000;
  if (!(requestTimeout >= 0)) throw new RangeError(`web: bad requestTimeout ${requestTimeout}`);
  return {
    behavior: 'web',
    async init(listening, ctx) {
      const router = new Router<Pid>();
      const pools: Pid[] = [];
      for (const r of spec.routes) {
        const pool = await r.startPool(ctx, spec.poolSize ?? 4);
        pools.push(pool);
        router.add(r.method, r.path, pool);
      }
      const headersTimeout = spec.headersTimeout ?? 10_000;
      const serverOptions = {
        keepAliveTimeout: spec.keepAliveTimeout ?? 5000,
        headersTimeout,
        requestTimeout: Math.max(headersTimeout, 30_000),
        connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 2)),
      };
      const server = spec.https !== undefined ? createHttpsServer({ ...spec.https, ...serverOptions }) : createHttpServer(serverOptions);
      server.setTimeout(spec.idleTimeout ?? 30_000);
      if (spec.maxConnections !== undefined) server.maxConnections = spec.maxConnections;
      // Keyed by the worker's pid object: a handler passes its own `self`, the same object every time.
      const taken = new Map<Pid, TakenRequests>();
      const state: GatewayState = {
        server,
        pools,
        inflight: 0,
        eventStreams: new Set(),
        stopping: false,
        onDrained: undefined,
        deadlines: requestTimeout === Infinity ? undefined : new DeadlineQueue<RequestExchange>(requestTimeout),
        opened() {
          state.inflight++;
        },
        closed() {
          if (--state.inflight === 0) state.onDrained?.();
        },
        watch(worker, ex) {
          let list = taken.get(worker);
          if (list === undefined) taken.set(worker, (list = watchWorker(ctx, taken, worker)));
          list.add(ex);
        },
        log: (m) => ctx.node.log('warning', m),
      };
      server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(ctx, state, router, req, res, maxBody));
      // On a node of a local cluster of processes, the port is the cluster's, served by every node.
      const address = await listenServer(server, { host: spec.host ?? '127.0.0.1', port: spec.port ?? 0 });
      // A killed gateway (no terminate) still closes its sockets, even one killed while this init awaited.
      closeOnExit(ctx, () => {
        state.deadlines?.clear();
        server.close();
        server.closeAllConnections();
      });
      server.on('error', (err) => ctx.node.log('error', `web ${ctx.self.describe()}: ${err.message}`));
      listening.address = address;
      return ok(state);
    },
    handleInfo(message, state) {
      const reason = ownerExitReason(message, state.pools);
      return reason === undefined ? noreply(state) : stop(reason, state);
    },
    async terminate(_reason, state, ctx) {
      state.stopping = true;
      const server = state.server;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Event streams (Server-Sent Events) never finish on their own: end them now; their clients reconnect elsewhere.
      for (const res of state.eventStreams) res.end();
      if (state.inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (state.onDrained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, spec.shutdownTimeout ?? 5000))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      state.deadlines?.clear();
      await closed;
      await shutdownAll(ctx, state.pools.filter((p) => ctx.node.isAlive(p)), 'infinity');
    },
  };
}

/** The body of a request that has none: one shared empty buffer. */
const NO_BODY = Buffer.alloc(0);

/** Whether the request announces a body (`content-length` or `transfer-encoding`), read from the raw headers without building the headers object. */
function declaredBody(req: IncomingMessage): { length: string | undefined; body: boolean } | undefined {
  const raw = req.rawHeaders;
  let found: { length: string | undefined; body: boolean } | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 14 && name.length !== 17) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-length') (found ??= { length: undefined, body: true }).length ??= raw[i + 1];
    else if (lower === 'transfer-encoding') found ??= { length: undefined, body: true };
  }
  return found;
}

/**
 * The requests `worker` takes from now on, answered 500 if it exits first (a crash). Its own function:
 * the closure here, in `watch`, would capture `watch`'s arguments, and optimized code then allocates
 * their context on every request.
 */
function watchWorker(ctx: Process, taken: Map<Pid, TakenRequests>, worker: Pid): TakenRequests {
  const list = new TakenRequests();
  void ctx.node.waitExit(worker).then(() => {
    taken.delete(worker);
    list.finishAll({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'handler crashed\n' });
  });
  return list;
}

function onRequest(
  ctx: Process,
  state: GatewayState,
  router: Router<Pid>,
  req: IncomingMessage,
  res: ServerResponse,
  maxBody: number,
): void {
  if (state.stopping) return plain(res, 503, 'shutting down\n', { connection: 'close' });
  const ex = new RequestExchange(state, res);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const m = router.match(method, path);
  if (m.type === 'not_found') return plain(res, 404, 'not found\n');
  if (m.type === 'method_not_allowed') return plain(res, 405, 'method not allowed\n', { allow: m.allow.join(', ') });
  const declared = declaredBody(req);
  if (declared === undefined) return dispatch(ctx, ex, req, method, path, url, q, m, NO_BODY);
  if (declared.length !== undefined && Number(declared.length) > maxBody) {
    req.resume();
    return plain(res, 413, 'request body too large\n', { connection: 'close' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxBody) {
      tooLarge = true;
      chunks.length = 0;
      plain(res, 413, 'request body too large\n', { connection: 'close' });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!tooLarge) dispatch(ctx, ex, req, method, path, url, q, m, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  req.on('error', () => res.destroy());
}

/** Sends the request to a handler of the route's pool; its timeout starts now. */
function dispatch(
  ctx: Process,
  ex: RequestExchange,
  req: IncomingMessage,
  method: string,
  path: string,
  url: string,
  q: number,
  m: { readonly target: Pid; readonly params: Record<string, string>; readonly pattern: string },
  body: Buffer,
): void {
  ex.dispatched();
  const request = new WebRequest(method, path, m.params, q < 0 ? '' : url.slice(q + 1), req, body, m.pattern, req.socket.remoteAddress, ex);
  // Straight to the worker the pool would pick (one process hop less); through the pool while its workers restart.
  // An idle worker handles it now, in this callback, as the scheduler would have next.
  ctx.sendNow(pickPoolWorker(m.target) ?? m.target, request);
}

/**
 * Starts a Web gateway: its route pools, then the HTTP(S) server. Resolves
 * once it listens. Stop it with `stopServer` or from its supervisor: it
 * drains requests in flight, closes its sockets and stops its pools.
 *
 * @example
 * ```ts
 * const web = await startWeb(node, { routes: [route('GET', '/ping', ping)], requestTimeout: 2000 });
 * console.log(web.url); // http://127.0.0.1:40123
 * ```
 */
export async function startWeb(starter: Node | Process, spec: WebSpec, options: WebStartOptions = {}): Promise<StartedWeb> {
  const listening: Listening = {};
  const started = await startServer(starter, gatewayBehavior(spec), listening, ownerStartOptions(options));
  const address = listening.address as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return new StartedWeb(started.pid, address.address, address.port, `${spec.https !== undefined ? 'https' : 'http'}://${host}:${address.port}`);
}
