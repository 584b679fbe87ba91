/**
 * How the listening servers of the Web and TCP behaviors listen: on their own
 * (the default), or through a provider the host installs. A node of a local
 * cluster of processes installs one (src/cluster/shared-port-member.ts): its
 * servers then serve a port the cluster shares, whose connections the
 * cluster's primary hands to the nodes serving it. Knows no behavior: any
 * `net.Server` (HTTP, HTTPS, TLS, plain) listens through it.
 * @module
 */
import type { AddressInfo, ListenOptions, Server } from 'node:net';

/** Where a server listens. */
export interface ListenSpec {
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  /** SO_REUSEPORT (where Node honours it); a provider that shares the port itself ignores it. */
  readonly reusePort?: boolean;
}

/**
 * Makes `server` listen as `spec` says (and serve the connections that reach
 * it); resolves with the address clients connect to, rejects as
 * `server.listen` would (an error with `code`, e.g. `EADDRINUSE`).
 */
export type ListenProvider = (server: Server, spec: ListenSpec) => Promise<AddressInfo>;

let provider: ListenProvider | undefined;

/** Installs (or, with undefined, removes) the provider {@link listenServer} uses in this thread. */
export function setListenProvider(p: ListenProvider | undefined): void {
  provider = p;
}

/** `server.listen(options)` as a promise: resolves once it listens, rejects with the listen's error (e.g. `EADDRINUSE`). */
export function listenOn(server: Server, options: ListenOptions & { reusePort?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens on `server.listen` directly, with SO_REUSEPORT when asked. */
export async function listenDirect(server: Server, spec: ListenSpec): Promise<AddressInfo> {
  const options: ListenOptions & { reusePort?: boolean } = { host: spec.host, port: spec.port };
  if (spec.reusePort === true) options.reusePort = true;
  await listenOn(server, options);
  return server.address() as AddressInfo;
}

/**
 * Makes a behavior's `server` listen: through the installed provider (a
 * node of a local cluster: the cluster's shared port), else directly.
 * Resolves with the address clients connect to.
 *
 * @example
 * ```ts
 * const server = createServer((socket) => socket.end('hi\n'));
 * const { port } = await listenServer(server, { host: '127.0.0.1', port: 0 });
 * ```
 */
export function listenServer(server: Server, spec: ListenSpec): Promise<AddressInfo> {
  return provider !== undefined ? provider(server, spec) : listenDirect(server, spec);
}
