/**
 * The in-host transport: two nodes of one process reach each other over a
 * Unix domain socket (same handshake and frames); a stale socket file or a
 * port without one falls back to TCP; other hosts are never redirected.
 * @module
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { ok, reply, startServer } from '../server/server.js';
import { startNode } from '../distribution/node-dist.js';
import { connectTransport, setInHostTransport } from '../distribution/transport.js';
import { unixSocketTransport } from './inhost-transport.js';
import { freePort } from '../../test/support.js';

describe('in-host transport over Unix domain sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bl-'));
  after(() => {
    setInHostTransport(undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries a distribution connection between two nodes', async () => {
    const transport = unixSocketTransport(dir);
    setInHostTransport(transport);
    const epmdPort = await freePort();
    const tag = randomInt(1e6);
    const quiet = { logger: (): void => {}, shutdownTimeout: 200 };
    const a = await startNode({ name: `ua${tag}@127.0.0.1`, cookie: 'c', epmdPort, node: quiet });
    const b = await startNode({ name: `ub${tag}@127.0.0.1`, cookie: 'c', epmdPort, node: quiet });
    try {
      await startServer<{ call: [number, number] }, undefined, undefined>(b, { init: () => ok(undefined), handleCall: (n, _f, s) => reply(n, n + 1, s) }, undefined, { name: 'inc' });
      assert.equal(await a.call({ name: 'inc', node: b.name.name }, 41), 42);
      assert.equal(transport.connects, 1);
    } finally {
      await a.stop();
      await b.stop();
      setInHostTransport(undefined);
    }
  });

  it('falls back to TCP for a stale socket file, and leaves ports without one and other hosts to TCP', async () => {
    const transport = unixSocketTransport(dir);
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      assert.equal(transport.connect('127.0.0.1', port), undefined, 'no socket file: TCP');
      writeFileSync(join(dir, `${port}.sock`), '');
      assert.equal(transport.connect('10.1.2.3', port), undefined, 'another host: TCP');
      await assert.rejects(transport.connect('127.0.0.1', port) as Promise<unknown>);
      setInHostTransport(transport);
      const socket = await connectTransport({ host: '127.0.0.1', port });
      assert.equal(socket.remotePort, port, 'the stale file was passed over for TCP');
      socket.destroy();
      assert.equal(transport.connects, 0);
    } finally {
      setInHostTransport(undefined);
      server.close();
    }
  });
});
