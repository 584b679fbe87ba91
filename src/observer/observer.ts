/**
 * The observer: a live web view of a node and its cluster, like Erlang's
 * `observer`, served by the Web behavior. {@link startObserver} starts its
 * own HTTP server; {@link observerRoutes} mounts it in an existing one.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { AbortedError, BadArgumentError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { NodeDistribution } from '../distribution/node-dist.js';
import { stopServer } from '../server/server.js';
import { startWeb, type StartedWeb, type WebRoute } from '../web/gateway.js';
import { observerRoutesFor } from './http.js';
import { ObserverHub } from './hub.js';
import { exposeObserver } from './remote.js';

/** Options of {@link startObserver} and {@link observerRoutes}. */
export interface ObserverOptions {
  /** Cancels the start: the gateway is stopped and the start rejects with an `AbortedError`. */
  readonly signal?: AbortSignal;
  /** Default `127.0.0.1`. Any other address needs the token for every request. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /**
   * The bearer token for actions (kill, trace, stop an application) and, off
   * loopback, for everything. Default: a random one (read it from the result).
   */
  readonly token?: string;
  /** Live updates: ms between two pushes; default 500, at least 100. */
  readonly interval?: number;
  /** Path prefix (`/observer`); default none (the page is at `/`). */
  readonly base?: string;
}

/** A started observer: where it listens and its token. */
export interface StartedObserver {
  /** `http://host:port` plus the base path, ending in `/`. */
  readonly url: string;
  readonly token: string;
  readonly web: StartedWeb;
  /** Stops its HTTP server. */
  stop(): Promise<void>;
}

/** True for addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function settings(node: Node, options: ObserverOptions): { hub: ObserverHub; base: string; token: string } {
  const token = options.token ?? randomBytes(18).toString('base64url');
  if (token.length < 8 || !/^[\x21-\x7e]+$/.test(token)) throw new BadArgumentError('the observer token must be at least 8 printable ASCII characters without spaces');
  const interval = options.interval ?? 500;
  if (!Number.isFinite(interval) || interval < 100) throw new BadArgumentError(`interval must be at least 100 ms, got ${interval}`);
  const base = (options.base ?? '').replace(/\/+$/, '');
  if (base !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(base)) throw new BadArgumentError(`base must be a path like /observer, got ${JSON.stringify(options.base)}`);
  const host = options.host ?? '127.0.0.1';
  if (node.distribution instanceof NodeDistribution) exposeObserver(node);
  return { hub: new ObserverHub(node, token, !isLoopback(host), interval), base, token };
}

/**
 * The observer's routes, to mount in a Web gateway of your own (`host`
 * there decides whether reads need the token: pass the same `host`).
 *
 * @example
 * ```ts
 * const { routes, token } = observerRoutes(node, { token: process.env.OBSERVER_TOKEN });
 * await startWeb(node, { port: 8080, routes: [...routes, ...myRoutes] });
 * ```
 */
export function observerRoutes(node: Node, options: ObserverOptions = {}): { routes: WebRoute[]; token: string } {
  const { hub, base, token } = settings(node, options);
  return { routes: observerRoutesFor(hub, base, 8), token };
}

/**
 * Starts the observer of `node` on its own HTTP server (loopback by
 * default). On a distributed node it also lets observers of other nodes
 * show this one (see `exposeObserver`).
 *
 * @example
 * ```ts
 * const observer = await startObserver(node, { port: 9000 });
 * console.log(`open ${observer.url}`); // actions need: Authorization: Bearer ${observer.token}
 * ```
 */
export async function startObserver(node: Node | Process, options: ObserverOptions = {}): Promise<StartedObserver> {
  const n: Node = 'self' in node ? node.node : node;
  if (options.signal?.aborted === true) throw new AbortedError('observer start aborted', options.signal.reason);
  const { hub, base, token } = settings(n, options);
  const web = await startWeb(node, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    routes: observerRoutesFor(hub, base, 8),
    shutdownTimeout: 1000,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return {
    url: `${web.url}${base}/`,
    token,
    web,
    stop: () => stopServer(n, web.pid),
  };
}
