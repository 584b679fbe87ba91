/**
 * Hostile peers against a node started with startNode: garbage after the
 * handshake, a frame with a hostile length, an unknown control message, a
 * peer that stops reading. Each time only that connection closes, with a
 * logged reason; the node and its other connections keep working and
 * nothing is left behind.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Node } from '../core/node.js';
import { atom, Pid, tuple } from '../terms/index.js';
import { initiateHandshake } from './handshake.js';
import { DistConnection } from './framing.js';
import { sendTerms } from './frame-terms.js';
import { distributionOf, startNode } from './node-dist.js';
import { connectTransport } from './transport.js';
import { closedSocket } from './testing/sockets.js';
import { Inbox } from './testing/inbox.js';
import { Probe, eventually, freePort } from '../../test/support.js';
import type { Tuple } from '../terms/tuple.js';

describe('hostile peers', () => {
  const tag = randomInt(1e6);
  const V = `v${tag}@127.0.0.1`;
  const G = `g${tag}@127.0.0.1`;
  let epmdPort = 0;
  const logs: string[] = [];
  let v: Node;
  let good: Node;
  let evilCount = 0;

  before(async () => {
    epmdPort = await freePort();
    v = await startNode({
      name: V,
      cookie: 'c',
      epmdPort,
      stallTimeout: 300,
      node: { logger: (_level, message) => logs.push(message), shutdownTimeout: 200 },
    });
    good = await startNode({ name: G, cookie: 'c', epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    new Inbox(v, { name: 'box' });
  });
  after(async () => {
    await good?.stop();
    await v?.stop();
  });

  /** A raw peer that completed the handshake with v. */
  async function evilPeer(): Promise<{ socket: Socket; name: string; creation: number }> {
    const name = `evil${evilCount++}x${tag}@127.0.0.1`;
    const socket = await connectTransport({ host: '127.0.0.1', port: distributionOf(v).listenPort });
    const hs = await initiateHandshake(socket, { name, cookie: 'c', creation: 7, peerName: V });
    return { socket: hs.socket, name, creation: 7 };
  }

  async function stillWorks(): Promise<void> {
    const box = new Inbox(good);
    good.send({ name: 'box', node: V }, 'ping');
    assert.equal(await good.call({ name: 'net_kernel', node: V }, tuple(atom('is_auth'), atom(G))), atom('yes'));
    void box;
    assert.deepEqual(distributionOf(v).connectedNodes(), [atom(G)], 'only the good connection is left');
  }

  async function closedWith(socket: Socket, pattern: RegExp): Promise<void> {
    await closedSocket(socket);
    for (let i = 0; i < 200 && !logs.some((l) => pattern.test(l)); i++) await new Promise((r) => setImmediate(r));
    assert.ok(logs.some((l) => pattern.test(l)), `no log matching ${pattern}: ${logs.join(' | ')}`);
  }

  it('garbage after the handshake', async () => {
    const { socket } = await evilPeer();
    socket.resume();
    socket.write(Buffer.from([0, 0, 0, 6, 1, 2, 3, 4, 5, 6]));
    await closedWith(socket, /evil0.*frame_protocol/);
    await stillWorks();
  });

  it('a frame with a hostile length is refused on its own, then garbage closes the connection', async () => {
    const { socket } = await evilPeer();
    socket.resume();
    // 4 GB announced: refused before any of it is held; its bytes would be skipped as they come
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 131, 68]));
    for (let i = 0; i < 2000 && !logs.some((l) => /refused a message from evil1.*frame_too_large.*maxFrameSize/.test(l)); i++) await new Promise((r) => setImmediate(r));
    assert.ok(logs.some((l) => /refused a message from evil1.*frame_too_large.*maxFrameSize/.test(l)), logs.join(' | '));
    socket.destroy();
    await eventually(() => distributionOf(v).connectedNodes().length === 1);
    await stillWorks();
  });

  it('an unknown control message', async () => {
    const socket = await connectTransport({ host: '127.0.0.1', port: distributionOf(v).listenPort });
    const hs = await initiateHandshake(socket, { name: `evil2x${tag}@127.0.0.1`, cookie: 'c', creation: 7, peerName: V });
    evilCount++;
    const conn = new DistConnection(hs, {});
    sendTerms(conn, tuple(99, atom('what')));
    const reason = await conn.closed;
    assert.equal(reason.code, 'connection_closed');
    await closedWith(hs.socket, /evil2.*unknown control message opcode 99/);
    await stillWorks();
  });

  it('a malformed control message', async () => {
    const socket = await connectTransport({ host: '127.0.0.1', port: distributionOf(v).listenPort });
    const hs = await initiateHandshake(socket, { name: `evil3x${tag}@127.0.0.1`, cookie: 'c', creation: 7, peerName: V });
    evilCount++;
    const conn = new DistConnection(hs, {});
    sendTerms(conn, tuple(2, atom(''), 'not a pid'), 'msg');
    await conn.closed;
    await closedWith(hs.socket, /evil3.*malformed control message/);
    await stillWorks();
  });

  it('a peer that stops reading', async () => {
    const { socket, name, creation } = await evilPeer(); // never reads: the socket stays paused
    const target = new Pid(atom(name), 1, 0, creation);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const before = v.processes().length;
    for (let i = 0; i < 64 && !socket.destroyed; i++) {
      v.send(target, chunk);
      await new Promise((r) => setImmediate(r));
    }
    // The paused client socket cannot see the close; wait for v's log, then drop our end.
    await eventually(() => logs.some((l) => /peer stopped reading/.test(l)), 20_000, 'the stall to be logged').catch(() => {});
    assert.ok(logs.some((l) => l.includes(name) && /peer stopped reading/.test(l)), logs.join(' | '));
    socket.destroy();
    await stillWorks();
    assert.equal(v.processes().length, before, 'no process left behind');
    // the good node's call monitor is removed by a DEMONITOR_P that follows the reply
    await eventually(() => v._stats().monitors === 0, 5_000, 'the DEMONITOR_P').catch(() => {});
    assert.equal(v._stats().monitors, 0);
  });
});

describe('a connection that cannot keep up before its handshake', () => {
  it('gives up past maxBufferedBytes: logged, and monitors through it fire noconnection', async () => {
    const logs: string[] = [];
    const node = await startNode({
      name: `q${randomInt(1e6)}@127.0.0.1`,
      cookie: 'c',
      epmdPort: await freePort(),
      maxBufferedBytes: 10_000,
      node: { logger: (_level, message) => logs.push(message), shutdownTimeout: 200 },
    });
    try {
      const probe = new Probe(node);
      await eventually(() => probe.proc !== undefined);
      const far = { name: 'nobody', node: 'unreachable@127.0.0.1' };
      probe.proc.monitor(far);
      // Sent in one go: the EPMD lookup of the peer has not answered yet, so all of it waits in the queue.
      const big = 'x'.repeat(4000);
      for (let i = 0; i < 5; i++) probe.proc.send(far, big);
      const down = (await probe.next()) as Tuple;
      assert.equal(down.elements[0], atom('DOWN'));
      assert.equal(String(down.elements[3]), "{nobody,'unreachable@127.0.0.1'}");
      assert.equal(down.elements[4], atom('noconnection'));
      assert.ok(logs.some((l) => l.includes('gave up connecting to unreachable@127.0.0.1')), logs.join('\n'));
    } finally {
      await node.stop();
    }
  });
});
