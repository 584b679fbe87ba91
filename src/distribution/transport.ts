/**
 * Sockets for distribution: plain TCP or TLS, both as `net.Socket`s the
 * handshake and {@link DistConnection} use unchanged.
 *
 * TLS credentials come from PEM files ({@link loadTlsFiles}). For tests,
 * {@link createSelfSignedCertificate} runs the `openssl` command-line tool
 * (Node 20 has no API that makes certificates, and Beamline has no runtime
 * dependencies); it is never used unless called. Erlang's
 * `-proto_dist inet_tls` interoperates (the handshake then uses 4-byte
 * packet lengths, see `handshake.ts`); Erlang checks the server name
 * indication (the peer's host) against the certificate's DNS names, so a
 * certificate for `x@127.0.0.1` needs `DNS:127.0.0.1`.
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { DistError } from './errors.js';

/** Options of {@link connectTransport}. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** TLS client options (ca, cert, key, servername, ...); plain TCP when absent. */
  tls?: ConnectionOptions;
  /** Milliseconds to connect (and finish the TLS handshake); default 7000. */
  timeout?: number;
}

/**
 * A way to reach nodes of this host without TCP (see src/cluster/inhost-transport.ts):
 * `listen` opens a second listener beside a node's TCP port, `connect`
 * returns a socket to a TCP port's node through it, or undefined for TCP.
 * Both carry the same handshake and frames. Plain (non-TLS) connections only.
 */
export interface InHostTransport {
  listen(tcpPort: number, onSocket: (socket: Socket) => void): Promise<() => Promise<void>>;
  connect(host: string, port: number): Promise<Socket> | undefined;
}

/**
 * A property of a socket whose writes are copies into memory shared with
 * the peer's thread (a local cluster's rings): `socket[WRITES_TO_MEMORY]` is
 * true while a write costs neither a system call nor a wake-up (the peer is
 * polling that memory), false while the peer sleeps (a write wakes it). A
 * connection over such a socket writes the frames a microtask queued as
 * soon as that microtask is done while it is true, rather than after every
 * microtask and tick of the turn (the batching that saves system calls on a
 * real socket, and wake-ups of a sleeping peer), so the peer starts on them
 * sooner: on a call, the reply leaves before the rest of the server's turn,
 * and the caller's demonitor before its next request is built.
 */
export const WRITES_TO_MEMORY: unique symbol = Symbol.for('beamline.writesToMemory');

let inHost: InHostTransport | undefined;

/** Installs (or, with undefined, removes) this process's {@link InHostTransport}. */
export function setInHostTransport(transport: InHostTransport | undefined): void {
  inHost = transport;
}

/** Connects to a distribution port; resolves when the socket (and TLS) is ready. Rejects with `socket_error`. */
export function connectTransport(options: ConnectOptions): Promise<Socket> {
  const direct = options.tls === undefined ? inHost?.connect(options.host, options.port) : undefined;
  if (direct !== undefined) return direct.catch(() => connectTcp(options));
  return connectTcp(options);
}

function connectTcp(options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { host, port } = options;
    const timeout = options.timeout ?? 7000;
    const socket: Socket =
      options.tls === undefined ? tcpConnect({ host, port }) : tlsConnect({ ...options.tls, host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DistError('socket_error', `connect to ${host}:${port} timed out after ${timeout} ms`));
    }, timeout);
    socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new DistError('socket_error', `connect to ${host}:${port}: ${err.message}`, { cause: err }));
    });
  });
}

/** Options of {@link listenTransport}. */
export interface ListenOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** TLS server options (cert, key, ca, requestCert, ...); plain TCP when absent. */
  tls?: TlsOptions;
}

/** A listening distribution port. */
export interface TransportServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens for distribution connections; `onSocket` gets each accepted socket
 * (after the TLS handshake for TLS). Failed TLS handshakes are dropped.
 */
export async function listenTransport(options: ListenOptions, onSocket: (socket: Socket) => void): Promise<TransportServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server =
    options.tls === undefined ? createTcpServer((s) => onSocket(s)) : createTlsServer(options.tls, (s) => onSocket(s));
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // exclusive: in a node:cluster worker (a local cluster's node) the distribution port is this node's own, never shared.
    server.listen({ host, port: options.port ?? 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const sockets = new Set<Socket>();
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = (server.address() as AddressInfo).port;
  const closeInHost = options.tls === undefined && inHost !== undefined ? await inHost.listen(port, onSocket) : undefined;
  return {
    server,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => closeInHost?.()),
  };
}

/** PEM credentials for TLS distribution. */
export interface TlsCredentials {
  cert: string;
  key: string;
  /** Trusted CA certificates; for a self-signed setup, the certificate itself. */
  ca?: string;
}

/** Reads PEM certificate, key and optional CA files. */
export async function loadTlsFiles(files: { certFile: string; keyFile: string; caFile?: string }): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  return files.caFile === undefined ? { cert, key } : { cert, key, ca: await readFile(files.caFile, 'utf8') };
}

/**
 * Creates a self-signed certificate and key (EC P-256) for tests, by running
 * `openssl req -x509`. `openssl` must be on the PATH. The certificate is its
 * own CA (`ca` is set to it) and names `commonName`, localhost and 127.0.0.1
 * (as an IP address and as a DNS name, which Erlang's ssl checks).
 */
export async function createSelfSignedCertificate(options: { commonName?: string; days?: number } = {}): Promise<TlsCredentials> {
  const dir = await mkdtemp(join(tmpdir(), 'beamline-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const cn = options.commonName ?? 'localhost';
    await new Promise<void>((resolve, reject) => {
      execFile(
        'openssl',
        [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-keyout', keyFile, '-out', certFile, '-days', String(options.days ?? 2),
          '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},DNS:localhost,IP:127.0.0.1,DNS:127.0.0.1`,
        ],
        { timeout: 30_000 },
        (err, _stdout, stderr) => (err === null ? resolve() : reject(new Error(`openssl failed: ${err.message} ${stderr}`))),
      );
    });
    const creds = await loadTlsFiles({ certFile, keyFile });
    return { ...creds, ca: creds.cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
