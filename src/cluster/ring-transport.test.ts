/**
 * The ring transport and its switch, with both nodes' ends in this thread:
 * a listening port becomes known to the others, a connection to it carries
 * bytes both ways; a port of no node of the cluster, another host, or the
 * node's own port is not taken; a node that stopped listening declines (the
 * caller falls back to TCP); a node gone has its rings closed, which its
 * peer sees as the end of the stream, and its ports forgotten.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { RingSwitch, ringTransport, type RingTransport } from './ring-transport.js';
import { eventually } from '../../test/support.js';

/** Two nodes (1 and 2) attached to one switch; messages go through as the hosting thread relays them (asynchronously). */
function twoNodes(): { sw: RingSwitch; a: RingTransport; b: RingTransport } {
  const sw = new RingSwitch();
  const nodes = new Map<number, RingTransport>();
  for (const id of [1, 2]) {
    nodes.set(id, ringTransport((m) => queueMicrotask(() => sw.handle(id, m)), 1024));
    sw.attach(id, (m) => queueMicrotask(() => nodes.get(id)?.handle(m)));
  }
  return { sw, a: nodes.get(1) as RingTransport, b: nodes.get(2) as RingTransport };
}

function firstData(s: Socket): Promise<string> {
  return new Promise((resolve) => s.once('data', (c: Buffer) => resolve(c.toString())));
}

describe('ring transport', () => {
  it('connects to a listening node of the cluster and carries bytes both ways', async () => {
    const { a, b } = twoNodes();
    const accepted = new Promise<Socket>((resolve) => void b.listen(7001, resolve));
    await a.listen(7000, () => {});
    assert.equal(a.connect('127.0.0.1', 7001), undefined, 'the port is not known yet');
    let connecting: Promise<Socket> | undefined;
    await eventually(() => (connecting = a.connect('127.0.0.1', 7001)) !== undefined, 10_000, 'port 7001 known to a');
    const client = await (connecting as Promise<Socket>);
    const server = await accepted;
    const atServer = firstData(server);
    client.write(Buffer.from('ping'));
    assert.equal(await atServer, 'ping');
    const atClient = firstData(client);
    server.write(Buffer.from('pong'));
    assert.equal(await atClient, 'pong');
    assert.equal(a.connects, 1);
    // Other hosts, unknown ports and the node's own port go over TCP.
    assert.equal(a.connect('10.0.0.1', 7001), undefined);
    assert.equal(a.connect('127.0.0.1', 7999), undefined);
    assert.equal(a.connect('127.0.0.1', 7000), undefined);
    client.destroy();
    await once(server, 'close');
  });

  it('a node that stopped listening declines, and the connect rejects (the caller falls back to TCP)', async () => {
    const { a, b } = twoNodes();
    const close = await b.listen(7101, () => assert.fail('not accepted'));
    let connecting: Promise<Socket> | undefined;
    await eventually(() => (connecting = a.connect('127.0.0.1', 7101)) !== undefined, 10_000, 'port 7101 known to a');
    void (connecting as Promise<Socket>).catch(() => {});
    // It stops listening before the request reaches it: it declines.
    await close();
    await assert.rejects(connecting as Promise<Socket>, /declined/);
    await eventually(() => a.connect('127.0.0.1', 7101) === undefined, 10_000, 'port 7101 forgotten');
  });

  it('a node gone: its rings close (its peer sees the end) and its ports are forgotten', async () => {
    const { sw, a, b } = twoNodes();
    const accepted = new Promise<Socket>((resolve) => void b.listen(7201, resolve));
    let connecting: Promise<Socket> | undefined;
    await eventually(() => (connecting = a.connect('127.0.0.1', 7201)) !== undefined, 10_000, 'port 7201 known to a');
    const client = await (connecting as Promise<Socket>);
    await accepted;
    const ended = once(client, 'end');
    sw.detach(2);
    await ended;
    await eventually(() => a.connect('127.0.0.1', 7201) === undefined, 10_000, 'port 7201 forgotten');
  });
});
