/**
 * EPMD (the Erlang port mapper): client, embedded server, and
 * {@link ensureEpmd}, which uses a running EPMD or starts an embedded one.
 * @module
 */
import { DistError } from '../errors.js';
import { defaultEpmdPort } from './client.js';
import { EpmdServer } from './server.js';

export { registerNode, lookupNode, listNames, defaultEpmdPort } from './client.js';
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
  /** True when we started an embedded server. */
  readonly embedded: boolean;
  /** The embedded server, when {@link EpmdHandle.embedded}. */
  readonly server: EpmdServer | undefined;
  readonly host: string;
  readonly port: number;
  /** Stops the embedded server, if we started one; otherwise does nothing. */
  close(): Promise<void>;
}

/**
 * Starts an embedded EPMD server on `host:port` when nothing listens there,
 * else uses the one running (binding is the test: EADDRINUSE means taken).
 * Defaults: `127.0.0.1`, `ERL_EPMD_PORT` or 4369.
 */
export async function ensureEpmd(options: { port?: number; host?: string } = {}): Promise<EpmdHandle> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? defaultEpmdPort();
  try {
    const server = await EpmdServer.start({ host, port });
    return { embedded: true, server, host, port: server.port, close: () => server.close() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      return { embedded: false, server: undefined, host, port, close: async () => {} };
    }
    throw new DistError('epmd_unreachable', `cannot start EPMD on ${host}:${port}: ${(e as Error).message}`, { cause: e });
  }
}
