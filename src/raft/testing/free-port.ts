/**
 * A TCP port free on loopback right now (the kernel picks it), for the
 * private EPMD of a test or benchmark: far less likely to collide with
 * another run on the same machine than a random number.
 * @module
 */
import { createServer } from 'node:net';

/** Resolves with a port nobody listens on at this moment. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}
