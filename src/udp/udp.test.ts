import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { Probe, eventually, quietLogger } from '../../test/support.js';
import { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { getServerState, ok, stopServer } from '../server/server.js';
import { startSupervisor, terminateChild } from '../supervisor/index.js';
import { poolInfo } from '../pool/pool.js';
import { udpChild } from './child.js';
import type { UdpHandler } from './handler.js';
import { startUdp, type UdpState } from './socket.js';

function newNode(): Node {
  return new Node({ name: 'udp@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 2000 });
}

const echo: UdpHandler<{ n: number; probe: Pid | undefined }, Pid | undefined> = {
  init: (probe) => ok({ n: 0, probe }),
  async handlePacket(p, s, ctx) {
    if (p.data.toString() === 'crash') throw new Error('handler crash (test)');
    await p.reply(`${ctx.self.id}:${p.data.toString()}`);
    return { ...s, n: s.n + 1 };
  },
  handleTimeout(s, ctx) {
    if (s.probe !== undefined) ctx.send(s.probe, 'idle');
    return s;
  },
};

/** A client socket that collects replies. */
class Client {
  readonly replies: string[] = [];
  constructor(readonly socket: Socket) {
    socket.on('message', (m) => this.replies.push(m.toString()));
  }
  static async open(type: 'udp4' | 'udp6'): Promise<Client> {
    const s = createSocket(type);
    s.bind(0);
    await once(s, 'listening');
    return new Client(s);
  }
  send(text: string, port: number, host: string): void {
    this.socket.send(text, port, host);
  }
  close(): void {
    this.socket.close();
  }
}

describe('UDP', () => {
  test('IPv4: a handler replies to the sender', async () => {
    await using node = newNode();
    const udp = await startUdp(node, { handler: echo, args: undefined, poolSize: 2 });
    assert.equal(udp.family, 'IPv4');
    const c = await Client.open('udp4');
    c.send('ping', udp.port, '127.0.0.1');
    await eventually(() => c.replies.length === 1);
    assert.match(c.replies[0] ?? '', /^\d+:ping$/);
    c.close();
  });

  test('IPv6: a handler replies to the sender', async () => {
    await using node = newNode();
    const udp = await startUdp(node, { host: '::1', handler: echo, args: undefined });
    assert.equal(udp.family, 'IPv6');
    const c = await Client.open('udp6');
    c.send('ping6', udp.port, '::1');
    await eventually(() => c.replies.length === 1);
    assert.match(c.replies[0] ?? '', /:ping6$/);
    c.close();
  });

  test('datagrams are spread over the pool round robin', async () => {
    await using node = newNode();
    const udp = await startUdp(node, { handler: echo, args: undefined, poolSize: 4 });
    const c = await Client.open('udp4');
    // In bursts the client's socket can absorb (loopback never drops what fits the buffers).
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 20; i++) c.send(`m${i}`, udp.port, '127.0.0.1');
      await eventually(() => c.replies.length === (burst + 1) * 20);
    }
    const byHandler = new Map<string, number>();
    for (const r of c.replies) {
      const h = r.split(':')[0] as string;
      byHandler.set(h, (byHandler.get(h) ?? 0) + 1);
    }
    assert.deepEqual([...byHandler.values()], [50, 50, 50, 50]);
    c.close();
  });

  test('a handler that crashes is restarted; the others keep replying', async () => {
    await using node = newNode();
    const udp = await startUdp(node, { handler: echo, args: undefined, poolSize: 2 });
    const { pool } = (await getServerState(node, udp)) as UdpState;
    const c = await Client.open('udp4');
    c.send('crash', udp.port, '127.0.0.1');
    const until = async (): Promise<void> => {
      for (;;) {
        const info = await poolInfo(node, pool);
        if (info.restarts === 1 && !info.workers.includes(undefined)) return;
        await new Promise((r) => setImmediate(r));
      }
    };
    await until();
    for (let i = 0; i < 10; i++) c.send(`after${i}`, udp.port, '127.0.0.1');
    await eventually(() => c.replies.length === 10);
    c.close();
  });

  test('handler idle timeout', async () => {
    await using node = newNode();
    const probe = new Probe(node);
    await startUdp(node, { handler: echo, args: probe.pid, poolSize: 1, idleTimeout: 100 });
    assert.equal(await probe.next(), 'idle');
  });

  test('stopping (stopServer, supervisor) closes the socket and the pool', async () => {
    await using node = newNode();
    const udp = await startUdp(node, { handler: echo, args: undefined });
    const { socket, pool } = (await getServerState(node, udp)) as UdpState;
    const closed = once(socket, 'close');
    await stopServer(node, udp);
    await closed;
    assert.ok(!node.isAlive(pool));

    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [udpChild('u', { handler: echo, args: undefined }, { name: 'udp_child' })] });
    const st = (await getServerState(node, 'udp_child')) as UdpState;
    const c = await Client.open('udp4');
    c.send('hi', st.socket.address().port, '127.0.0.1');
    await eventually(() => c.replies.length === 1);
    const closed2 = once(st.socket, 'close');
    await terminateChild(node, sup, 'u');
    await closed2;
    assert.ok(!node.isAlive(st.pool));
    c.close();
  });
});
