/**
 * A TCP port free on loopback right now, for the private EPMD of a test or
 * benchmark: far less likely to collide with another run on the same machine
 * than a random number. It is taken below Linux's ephemeral range
 * (32768-60999): a port the kernel hands out for listening (port 0) lies in
 * that range, and in the moment between this check and the EPMD's own listen
 * an outgoing connection may take it; the EPMD's listen then fails with
 * EADDRINUSE, is read as "an EPMD already runs there", and every node's
 * connect to it is refused (epmd_unreachable). A port is handed out once
 * per process: the check cannot see a port handed out earlier whose user has
 * not listened yet (a test taking three ports for one child could get the same
 * one twice).
 * @module
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/** Whether a server can listen on `port` of 127.0.0.1 now (it closes again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Ports this process has handed out. */
const handedOut = new Set<number>();

/** Resolves with a port in 10000-31999 that nobody listens on at this moment and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(10_000, 32_000);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port below the ephemeral range after 100 tries');
}
