/**
 * Test support: connected loopback TCP socket pairs, raw clients, and
 * waiting for a socket to close, without fixed sleeps.
 * @module
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/** A connected pair of loopback sockets: [client side, server side]. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  const [a, b] = await Promise.all([new Promise<Socket>((resolve) => client.once('connect', () => resolve(client))), accepted]);
  server.close();
  return [a, b];
}

/** Resolves when the socket is closed. */
export function closedSocket(socket: Socket): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Collects everything a socket receives until it closes. */
export function collect(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(parts))));
}

/** u16-length packet. */
export function packet16(body: Uint8Array): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
}
