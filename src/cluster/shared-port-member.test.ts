/**
 * A node's side of a local cluster's shared ports, with the primary stood
 * in by the test: a server asks to listen and gets the primary's address;
 * a connection handed to it is served as one it accepted itself (HTTP
 * answers on it) and acknowledged, and its close reported; a closed server
 * says so and gives back a connection handed meanwhile; an error reply
 * rejects with its code; servers on port 0 take the lowest index free.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { memberSharedPorts } from './shared-port-member.js';
import type { FromMember } from './protocol.js';
import { eventually } from '../../test/support.js';

/** A member's shared ports talking to a stand-in primary that records what it is told. */
function rig() {
  const told: FromMember[] = [];
  const ports = memberSharedPorts((m) => told.push(m));
  const listens = (): Extract<FromMember, { type: 'listen' }>[] => told.filter((m): m is Extract<FromMember, { type: 'listen' }> => m.type === 'listen');
  return { told, ports, listens };
}

/** A connected pair of sockets: the client's end, and the server's end (what the primary would hand over). */
async function socketPair(): Promise<{ client: Socket; accepted: Socket; close: () => void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [socket] = await accepted;
  return { client, accepted: socket, close: () => (client.destroy(), socket.destroy(), server.close()) };
}

describe('shared ports of a local cluster (a node)', () => {
  it('listens at the address the primary answers, serves a connection it is handed, acknowledges it and reports its close', async () => {
    const r = rig();
    const http = createHttpServer((_req, res) => res.end('served'));
    const listening = r.ports.provider(http, { host: '127.0.0.1', port: 8080 });
    await eventually(() => r.listens().length === 1, 10_000, 'asked the primary');
    const ask = r.listens()[0];
    assert.deepEqual(ask && { host: ask.host, port: ask.port, index: ask.index }, { host: '127.0.0.1', port: 8080, index: 0 });
    r.ports.handle({ type: 'listened', id: ask?.id ?? 0, key: 'k', address: { address: '127.0.0.1', family: 'IPv4', port: 8080 } }, undefined);
    assert.deepEqual(await listening, { address: '127.0.0.1', family: 'IPv4', port: 8080 });
    assert.ok(http.listening, 'a listening server in every way (on its private socket)');
    const pair = await socketPair();
    try {
      assert.ok(r.ports.handle({ type: 'conn', key: 'k', seq: 7 }, pair.accepted));
      assert.deepEqual(r.told.at(-1), { type: 'conn-ack', seq: 7, accepted: true });
      pair.client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      let text = '';
      pair.client.on('data', (d: Buffer) => (text += d.toString()));
      await eventually(() => text.endsWith('served'), 10_000, 'the answer');
      pair.client.destroy();
      await eventually(() => r.told.some((m) => m.type === 'conn-closed' && m.key === 'k'), 10_000, 'its close reported');
    } finally {
      pair.close();
      http.close();
    }
  });

  it('a closed server says so, and a connection handed meanwhile goes back; other messages are not its own', async () => {
    const r = rig();
    const server = createServer();
    const listening = r.ports.provider(server, { host: '127.0.0.1', port: 0 });
    await eventually(() => r.listens().length === 1, 10_000, 'asked the primary');
    r.ports.handle({ type: 'listened', id: r.listens()[0]?.id ?? 0, key: 'k0', address: { address: '127.0.0.1', family: 'IPv4', port: 4000 } }, undefined);
    await listening;
    server.close();
    await eventually(() => r.told.some((m) => m.type === 'unlisten' && m.key === 'k0'), 10_000, 'unlisten');
    const pair = await socketPair();
    try {
      r.ports.handle({ type: 'conn', key: 'k0', seq: 9 }, pair.accepted);
      assert.deepEqual(r.told.at(-1), { type: 'conn-ack', seq: 9, accepted: false });
      assert.ok(pair.accepted.destroyed, 'its own descriptor closed: the primary still has the connection');
    } finally {
      pair.close();
    }
    assert.equal(r.ports.handle({ type: 'stats', id: 1 }, undefined), false);
  });

  it('an error reply rejects with its code and closes the server', async () => {
    const r = rig();
    const server = createServer();
    const listening = r.ports.provider(server, { host: '127.0.0.1', port: 80 });
    await eventually(() => r.listens().length === 1, 10_000, 'asked the primary');
    r.ports.handle({ type: 'listened', id: r.listens()[0]?.id ?? 0, error: { code: 'EACCES', message: 'permission denied' } }, undefined);
    await assert.rejects(listening, { code: 'EACCES' });
    await eventually(() => !server.listening, 10_000, 'closed');
  });

  it('servers on port 0 take the lowest index free on the node: one started again takes its place back', async () => {
    const r = rig();
    const answer = async (server: ReturnType<typeof createServer>, key: string): Promise<number> => {
      const before = r.listens().length;
      const listening = r.ports.provider(server, { host: '127.0.0.1', port: 0 });
      await eventually(() => r.listens().length === before + 1, 10_000, 'asked the primary');
      const ask = r.listens()[before];
      r.ports.handle({ type: 'listened', id: ask?.id ?? 0, key, address: { address: '127.0.0.1', family: 'IPv4', port: 5000 } }, undefined);
      await listening;
      return ask?.index ?? -1;
    };
    const a = createServer();
    const b = createServer();
    const c = createServer();
    assert.equal(await answer(a, 'a'), 0);
    assert.equal(await answer(b, 'b'), 1);
    a.close();
    await once(a, 'close');
    assert.equal(await answer(c, 'c'), 0);
    b.close();
    c.close();
  });
});
