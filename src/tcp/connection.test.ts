/**
 * TcpConnection's writes: held to the end of the event-loop turn and handed
 * to the socket together, in order; sent before a close, a destroy or the
 * socket's own end after the peer's FIN; written at once past the
 * high-water mark, where the socket's backpressure takes over.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { eventually } from '../../test/support.js';
import { atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { TcpConnection } from './connection.js';

interface Pair {
  client: Socket;
  server: Socket;
  listener: Server;
  received: () => string;
}

async function pair(options: { pauseOnConnect?: boolean } = {}): Promise<Pair> {
  let serverSide: Socket | undefined;
  const listener = createServer({ pauseOnConnect: options.pauseOnConnect ?? false }, (s) => {
    s.on('error', () => {});
    serverSide = s;
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const { port } = listener.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  let text = '';
  client.on('data', (d: Buffer) => (text += d.toString()));
  await once(client, 'connect');
  await eventually(() => serverSide !== undefined);
  return { client, server: serverSide as Socket, listener, received: () => text };
}

async function close(p: Pair): Promise<void> {
  p.client.destroy();
  p.server.destroy();
  await new Promise((r) => p.listener.close(r));
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * More bytes than the kernel can hold for one loopback connection whose reader has stopped: the
 * sender's send buffer and the reader's receive buffer both grow up to their sysctl maxima
 * (net.ipv4.tcp_wmem and tcp_rmem; 4 MiB and 32 MiB on some Linux machines, so a fixed 4 MiB
 * write could vanish into the kernel and end the backpressure with nobody reading).
 */
function beyondKernelBuffers(): number {
  const max = (name: string): number => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]) || 0;
    } catch {
      return 0;
    }
  };
  return Math.max(4 * 1024 * 1024, max('tcp_wmem') + max('tcp_rmem') + 1024 * 1024);
}

/**
 * Puts the turn batch in its holding mode: after a turn with a single connection's writes it writes
 * at once (see TurnBatch), and it holds again after a held turn with two. Ends after that turn.
 */
async function holding(p: Pair, q: Pair): Promise<void> {
  const a = new TcpConnection(100, p.server, 'raw');
  const b = new TcpConnection(101, q.server, 'raw');
  // In direct mode every 16th write is held, and the next one in that turn joins it.
  for (let i = 0; i < 20; i++) (i % 2 === 0 ? a : b).write('.');
  await nextTurn();
}

test('writes of one turn reach the socket together at its end, in order', async () => {
  const [p, q, r] = [await pair(), await pair(), await pair()];
  try {
    await holding(q, r);
    const conn = new TcpConnection(1, p.server, 'raw');
    const other = new TcpConnection(2, q.server, 'raw'); // a second connection in the turn keeps the batch holding
    assert.equal(conn.write('a'), true);
    assert.equal(conn.write(Buffer.from('b')), true);
    assert.equal(conn.write('c'), true);
    assert.equal(conn.send('d'), true); // raw framing: as is
    other.write('!');
    assert.equal(p.server.writableLength, 0, 'held by the connection, not yet in the socket');
    await Promise.resolve();
    assert.equal(p.server.writableLength, 0, 'still held through the microtasks of the turn');
    await eventually(() => p.received() === 'abcd');
  } finally {
    await Promise.all([close(p), close(q), close(r)]);
  }
});

test('what a timer wrote goes out before the socket ends on the peer FIN read in the same turn', async () => {
  const [p, q, r] = [await pair({ pauseOnConnect: true }), await pair(), await pair()];
  try {
    const conn = new TcpConnection(1, p.server, 'line');
    p.client.end();
    await once(p.client, 'finish'); // the FIN is in the server's receive queue
    await holding(q, r);
    // Timers run before the poll phase that reads the FIN, and the held write's turn ends after it.
    setTimeout(() => {
      assert.equal(conn.send('bye'), true);
      p.server.resume();
    }, 0);
    await once(p.client, 'end');
    assert.equal(p.received(), 'bye\n');
  } finally {
    await Promise.all([close(p), close(q), close(r)]);
  }
});

test('close() and destroy() send what the turn wrote first', async () => {
  const [p, q, r, s] = [await pair(), await pair(), await pair(), await pair()];
  try {
    await holding(r, s);
    const a = new TcpConnection(1, p.server, 'raw');
    const b = new TcpConnection(2, q.server, 'raw');
    a.write('bye');
    a.close();
    b.write('last words');
    b.destroy();
    assert.equal(a.open, true, 'closing: ends after the pending writes');
    await once(p.client, 'end');
    assert.equal(p.received(), 'bye');
    await once(q.client, 'end');
    assert.equal(q.received(), 'last words');
    assert.equal(b.open, false);
    assert.equal(b.write('more'), false, 'a closed connection takes no writes');
    await nextTurn(); // nothing held for a destroyed socket: the batch's turn passes quietly
  } finally {
    await Promise.all([close(p), close(q), close(r), close(s)]);
  }
});

test('past the high-water mark the bytes go to the socket at once, after the held ones, and drain() waits for the reader', async () => {
  const p = await pair();
  try {
    const conn = new TcpConnection(1, p.server, 'raw');
    conn.owner = undefined; // no handler: flow() leaves reading alone
    p.client.pause();
    const big = Buffer.alloc(beyondKernelBuffers(), 'x');
    conn.write('<');
    const ok = conn.write(big);
    assert.equal(ok, false, 'the socket buffer is full');
    assert.ok(p.server.writableLength > 0);
    let drained = false;
    const waiting = conn.drain().then(() => (drained = true));
    await nextTurn();
    assert.equal(drained, false, 'waits while the client does not read');
    p.client.resume();
    await waiting;
    await eventually(() => p.received().length === big.length + 1);
    assert.equal(p.received()[0], '<');
    assert.equal(conn.write('>'), true);
    await eventually(() => p.received().endsWith('x>'));
  } finally {
    await close(p);
  }
});

test('reading pauses while the owner lags 8 chunks behind, and resumes as it catches up; chunks come out in order', async () => {
  const p = await pair({ pauseOnConnect: true });
  try {
    const conn = new TcpConnection(1, p.server, 'line');
    assert.equal(p.server.isPaused(), true, 'paused until a handler takes it');
    conn.claim(new Pid(atom('test@127.0.0.1'), 1, 0, 1));
    assert.equal(p.server.isPaused(), false);
    const chunk = (i: number): Buffer => Buffer.from(`chunk ${i}`);
    for (let i = 0; i < 7; i++) conn.chunkRead(chunk(i));
    assert.equal(p.server.isPaused(), false, '7 behind: still reading');
    conn.chunkRead(chunk(7));
    assert.equal(p.server.isPaused(), true, '8 behind: paused');
    conn.chunkRead(chunk(8));
    assert.equal(conn.takeChunk()?.toString(), 'chunk 0');
    assert.equal(p.server.isPaused(), true, 'still 8 behind');
    assert.equal(conn.takeChunk()?.toString(), 'chunk 1');
    assert.equal(p.server.isPaused(), false, '7 behind: reading again');
    for (let i = 2; i <= 8; i++) assert.equal(conn.takeChunk()?.toString(), `chunk ${i}`, 'in the order read');
    assert.equal(conn.takeChunk(), undefined, 'none left: nothing taken');
    assert.equal(conn.queued, 0, 'a take with nothing waiting does not count');
    assert.equal(p.server.isPaused(), false);
    conn.chunkRead(chunk(9));
    assert.equal(conn.takeChunk()?.toString(), 'chunk 9', 'a chunk read after the queue emptied');
  } finally {
    await close(p);
  }
});
