import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { corkForTurn } from './turn-cork.js';
import { eventually } from '../../test/support.js';

async function pair(): Promise<{ client: Socket; server: Socket; listener: Server; received: () => string }> {
  let serverSide!: Socket;
  const listener = createServer((s) => (serverSide = s));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const { port } = listener.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  let text = '';
  client.on('data', (d: Buffer) => (text += d.toString()));
  await new Promise<void>((r) => client.once('connect', r));
  await eventually(() => serverSide !== undefined);
  return { client, server: serverSide, listener, received: () => text };
}

async function close(p: { client: Socket; server: Socket; listener: Server }): Promise<void> {
  p.client.destroy();
  p.server.destroy();
  await new Promise((r) => p.listener.close(r));
}

test('writes of one turn are held until the turn ends, then leave in order', async () => {
  const p = await pair();
  try {
    corkForTurn(p.server);
    p.server.write('a');
    corkForTurn(p.server); // a second write in the same turn does not cork twice
    p.server.write('b');
    assert.equal(p.server.writableCorked, 1);
    assert.equal(p.server.writableLength, 2, 'held, not written');
    await new Promise((r) => setImmediate(r));
    assert.equal(p.server.writableCorked, 0);
    await eventually(() => p.received() === 'ab');
    // That turn had a single socket: the next write leaves at once (see TurnBatch's direct mode).
    corkForTurn(p.server);
    p.server.write('c');
    assert.equal(p.server.writableCorked, 0, 'not held after a turn with one socket');
    await eventually(() => p.received() === 'abc');
  } finally {
    await close(p);
  }
});

test('a socket its owner corked is left to its owner', async () => {
  const p = await pair();
  try {
    p.server.cork();
    corkForTurn(p.server);
    p.server.write('x');
    await new Promise((r) => setImmediate(r));
    assert.equal(p.server.writableCorked, 1, 'still corked by its owner');
    p.server.uncork();
    await eventually(() => p.received() === 'x');
  } finally {
    await close(p);
  }
});

test('end() in the same turn sends the held bytes; a destroyed socket is skipped', async () => {
  const p = await pair();
  try {
    corkForTurn(p.server);
    p.server.write('bye');
    p.server.end();
    await eventually(() => p.received() === 'bye');
    const q = await pair();
    corkForTurn(q.server);
    q.server.write('lost');
    q.server.destroy();
    corkForTurn(q.server); // no throw, nothing corked
    await new Promise((r) => setImmediate(r));
    assert.equal(q.server.destroyed, true);
    await close(q);
  } finally {
    await close(p);
  }
});
