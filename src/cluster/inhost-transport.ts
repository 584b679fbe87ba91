/**
 * The in-host transport of a local cluster: its nodes reach each other over
 * Unix domain sockets in the cluster's own directory (`<dir>/<tcpPort>.sock`)
 * instead of the TCP stack, carrying the same handshake, frames and control
 * messages. Each node still listens on TCP, for Erlang and for nodes of
 * other hosts; a connection to a port with no socket file here (or whose file
 * is stale) goes over TCP. Installed in each node's process before it starts.
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setInHostTransport, type InHostTransport } from '../distribution/transport.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** An {@link InHostTransport} over Unix domain sockets in `dir`; `connects` counts the connections it made. */
export function unixSocketTransport(dir: string): InHostTransport & { readonly connects: number } {
  let connects = 0;
  const pathOf = (port: number): string => join(dir, `${port}.sock`);
  return {
    get connects() {
      return connects;
    },
    async listen(tcpPort, onSocket) {
      const path = pathOf(tcpPort);
      rmSync(path, { force: true });
      const server = createServer({ noDelay: true }, onSocket);
      const sockets = new Set<Socket>();
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {});
      return () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
    },
    connect(host, port) {
      const path = pathOf(port);
      if (!LOOPBACK.has(host) || !existsSync(path)) return undefined;
      return new Promise<Socket>((resolve, reject) => {
        const socket = connect({ path });
        socket.once('connect', () => {
          connects++;
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', (err) => {
          socket.destroy();
          reject(err);
        });
      });
    },
  };
}

/**
 * Makes this process's distribution reach the nodes of the cluster whose
 * directory is `dir` without TCP. Returns the connections made so far, as a function.
 */
export function useInHostTransport(dir: string): () => number {
  const transport = unixSocketTransport(dir);
  setInHostTransport(transport);
  return () => transport.connects;
}
