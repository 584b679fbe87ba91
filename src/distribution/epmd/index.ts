/**
 * EPMD (the Erlang port mapper): client, embedded server, and
 * {@link ensureEpmd}, which uses a running EPMD or starts an embedded one.
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DistError } from '../errors.js';
import { defaultEpmdPort, listNames } from './client.js';
import { EpmdServer } from './server.js';

export { registerNode, lookupNode, listNames, killEpmd, defaultEpmdPort } from './client.js';
export type { EpmdAddress, RegisterOptions, EpmdRegistration } from './client.js';
export { EpmdServer } from './server.js';
export type { EpmdServerOptions, RegisteredNode } from './server.js';
export {
  EPMD,
  NODE_TYPE,
  DEFAULT_EPMD_PORT,
  encodeAlive2Req,
  encodeAlive2XResp,
  encodePortPlease2Req,
  encodePort2Resp,
  decodePort2Resp,
  encodeNamesReq,
  encodeNamesResp,
  decodeNamesResp,
} from './protocol.js';
export type { EpmdNodeInfo, EpmdNames } from './protocol.js';

/** The EPMD a node uses: an embedded server we started, or one already running. */
export interface EpmdHandle {
  /** True when we started it (as a detached daemon or in this process). */
  readonly embedded: boolean;
  /** The in-process server, when started with `detached: false`. */
  readonly server: EpmdServer | undefined;
  /** The daemon's process id, when we started a detached one. */
  readonly pid: number | undefined;
  readonly host: string;
  readonly port: number;
  /** Stops the in-process server, if that is what we started; a detached daemon outlives us. */
  close(): Promise<void>;
}

/** Options of {@link ensureEpmd}. */
export interface EnsureEpmdOptions {
  /** Default `ERL_EPMD_PORT` or 4369. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /**
   * `true` (default): start the embedded EPMD as a detached process that
   * outlives this one, as `erl` starts `epmd -daemon`, so Erlang nodes
   * registered there stay reachable while this node restarts; a restarted
   * node finds it and uses it. `false`: inside this process, stopping with
   * the node (port 0 always means this).
   */
  detached?: boolean;
  /** A detached daemon exits once no node has been registered for this many ms; default 60000, 0 for never. */
  idleExitMs?: number;
}

const DAEMON = fileURLToPath(new URL('./daemon.js', import.meta.url));

async function answers(host: string, port: number): Promise<boolean> {
  try {
    await listNames({ host, port, timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/** Starts the daemon script detached; resolves with its pid once it listens, or undefined when the port was taken meanwhile. */
function startDaemon(host: string, port: number, idleExitMs: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DAEMON, String(port), host, String(idleExitMs)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const timer = setTimeout(() => finish(new DistError('epmd_timeout', `the EPMD daemon did not start within 15000 ms`)), 15_000);
    const finish = (err: DistError | undefined, pid?: number): void => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners();
      child.stdout?.destroy();
      child.removeAllListeners();
      child.unref();
      if (err === undefined) resolve(pid);
      else reject(err);
    };
    child.once('error', (e) => finish(new DistError('epmd_unreachable', `cannot start the EPMD daemon: ${e.message}`, { cause: e })));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
      if (/^READY/m.test(out)) finish(undefined, child.pid);
      else if (/^ERROR EADDRINUSE/m.test(out)) finish(undefined, undefined);
      else if (/^ERROR/m.test(out)) finish(new DistError('epmd_unreachable', `cannot start EPMD on ${host}:${port}: ${out.trim()}`));
    });
    child.once('exit', (code) => finish(new DistError('epmd_unreachable', `the EPMD daemon exited (${String(code)}) before listening: ${out.trim()}`)));
  });
}

/**
 * Uses the EPMD running on `host:port`, or starts an embedded one: by
 * default a detached daemon that outlives this process (see
 * {@link EnsureEpmdOptions.detached}). Defaults: `127.0.0.1`,
 * `ERL_EPMD_PORT` or 4369.
 *
 * @example
 * ```ts
 * const epmd = await ensureEpmd({ port: 4369 });
 * epmd.embedded; // true when we started it
 * ```
 */
export async function ensureEpmd(options: EnsureEpmdOptions = {}): Promise<EpmdHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? defaultEpmdPort();
  const running = (): EpmdHandle => ({ embedded: false, server: undefined, pid: undefined, host, port, close: async () => {} });
  if (options.detached !== false && port !== 0) {
    if (await answers(host, port)) return running();
    const pid = await startDaemon(host, port, options.idleExitMs ?? 60_000);
    if (pid === undefined) return running(); // another node started one first
    return { embedded: true, server: undefined, pid, host, port, close: async () => {} };
  }
  try {
    const server = await EpmdServer.start({ host, port });
    return { embedded: true, server, pid: undefined, host, port: server.port, close: () => server.close() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return running();
    throw new DistError('epmd_unreachable', `cannot start EPMD on ${host}:${port}: ${(e as Error).message}`, { cause: e });
  }
}
