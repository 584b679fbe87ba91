import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, test } from 'node:test';
import { Probe, eventually, quietLogger } from '../../test/support.js';
import { Pid } from '../terms/identifiers.js';
import { Node } from '../core/node.js';
import { getServerState, ok, stopServer } from '../server/server.js';
import { startSupervisor, terminateChild } from '../supervisor/index.js';
import { createSelfSignedCertificate } from '../distribution/transport.js';
import { poolInfo } from '../pool/pool.js';
import { tcpChild } from './child.js';
import { Framer, framePacket } from './framing.js';
import { type TcpHandler, unconsumed } from './handler.js';
import { startTcp, type TcpState } from './listener.js';

function newNode(): Node {
  return new Node({ name: 'tcp@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 2000 });
}

/** A client socket that collects what it reads. */
class Client {
  private chunks: Buffer[] = [];
  /** Bytes read so far. */
  received = 0;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.received += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }
  static async open(port: number): Promise<Client> {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    return new Client(s);
  }
  /**
   * What it has read, joined when asked (joining on every chunk copied the
   * whole buffer each time: reading 16 MiB took seconds, minutes under load).
   */
  get data(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }
  get text(): string {
    return this.data.toString();
  }
  async waitText(expected: string): Promise<void> {
    await eventually(() => this.text === expected || this.closed);
    assert.equal(this.text, expected);
  }
}

/** Line echo; `crash` crashes the handler; events go to the probe named in args. */
const lineEcho: TcpHandler<{ probe: Pid | undefined }, Pid | undefined> = {
  init: (probe) => ok({ probe }),
  handleConnect(conn, s, ctx) {
    if (s.probe !== undefined) ctx.send(s.probe, `connect ${conn.id}`);
    return s;
  },
  async handleData(conn, line, s) {
    if (line.toString() === 'crash') throw new Error('handler crash (test)');
    if (!conn.send(line)) await conn.drain();
    return s;
  },
  handleDisconnect(conn, s, ctx) {
    if (s.probe !== undefined) ctx.send(s.probe, `disconnect ${conn.id}`);
    return s;
  },
};

describe('TCP', () => {
  test('line framing: whole lines whatever the chunking; connect and disconnect callbacks', async () => {
    await using node = newNode();
    const probe = new Probe(node);
    const tcp = await startTcp(node, { framing: 'line', handler: lineEcho, args: probe.pid });
    const c = await Client.open(tcp.port);
    assert.equal(await probe.next(), 'connect 1');
    c.socket.write('hel');
    c.socket.write('lo\r\nwor');
    c.socket.write('ld\n\n');
    await c.waitText('hello\nworld\n\n');
    c.socket.end();
    assert.equal(await probe.next(), 'disconnect 1');
  });

  test('text line framing: the handler gets each line as a string, decoded whole whatever the chunking, sync and async answers alike', async () => {
    await using node = newNode();
    const seen: string[] = [];
    const upper: TcpHandler<number, undefined, string> = {
      init: () => ok(0),
      handleData(conn, line, n) {
        seen.push(typeof line);
        if (n % 2 === 1) return Promise.resolve().then(() => (conn.send(`${n}:${line.toUpperCase()}`), n + 1));
        conn.send(`${n}:${line.toUpperCase()}`);
        return n + 1;
      },
    };
    const tcp = await startTcp(node, { framing: { type: 'line', encoding: 'utf8' }, handler: upper, args: undefined, poolSize: 1 });
    const c = await Client.open(tcp.port);
    const bytes = Buffer.from('grüße\r\nstraße\nok\n', 'utf8');
    for (let i = 0; i < bytes.length; i++) c.socket.write(bytes.subarray(i, i + 1)); // split inside every character
    await c.waitText('0:GRÜSSE\n1:STRASSE\n2:OK\n');
    assert.deepEqual(seen, ['string', 'string', 'string']);
  });

  test('text line framing, types: a string handler needs a text framing, and a Buffer handler cannot have one', async () => {
    await using node = newNode();
    const text: TcpHandler<undefined, undefined, string> = { init: () => ok(undefined), handleData: (conn, line, s) => (conn.send(line.trim()), s) };
    const bytes: TcpHandler<undefined> = { init: () => ok(undefined), handleData: (conn, data, s) => (conn.send(data.subarray(1)), s) };
    const check = async (): Promise<void> => {
      // @ts-expect-error lines as strings need a framing that decodes them
      await startTcp(node, { framing: 'line', handler: text, args: undefined });
      // @ts-expect-error nor may the framing be left out
      await startTcp(node, { handler: text, args: undefined });
      // @ts-expect-error a handler of Buffers would get strings
      await startTcp(node, { framing: { type: 'line', encoding: 'utf8' }, handler: bytes, args: undefined });
      // @ts-expect-error not an encoding lines are decoded with
      await startTcp(node, { framing: { type: 'line', encoding: 'base64' }, handler: text, args: undefined });
    };
    assert.equal(typeof check, 'function');
    // The same handler with its text framing, inline or as a tcpChild spec, compiles and serves.
    const tcp = await startTcp(node, { framing: { type: 'line', encoding: 'latin1' }, handler: text, args: undefined });
    assert.equal(typeof tcpChild('t', { framing: { type: 'line', encoding: 'ascii' }, handler: text, args: undefined }).start, 'function');
    const c = await Client.open(tcp.port);
    c.socket.write(Buffer.from(' caf\xe9 \n', 'latin1'));
    await c.waitText('caf\xe9\n'); // decoded as latin1; the answer, a string, is written as UTF-8
  });

  test('packets of one chunk are handled in order, the state threaded through sync and async answers alike', async () => {
    await using node = newNode();
    // Counts lines; every third answer is async; a line `crash` thrown synchronously mid-chunk crashes the handler.
    const counter: TcpHandler<number> = {
      init: () => ok(0),
      handleData(conn, line, n) {
        const text = line.toString();
        if (text === 'crash') throw new Error('sync crash (test)');
        if (n % 3 === 2) {
          return Promise.resolve().then(() => {
            conn.send(`${n}:${text}`);
            return n + 1;
          });
        }
        conn.send(`${n}:${text}`);
        return n + 1;
      },
    };
    const tcp = await startTcp(node, { framing: 'line', handler: counter, args: undefined, poolSize: 1 });
    const c = await Client.open(tcp.port);
    c.socket.write('a\nb\nc\nd\ne\nf\ng\n');
    await c.waitText('0:a\n1:b\n2:c\n3:d\n4:e\n5:f\n6:g\n');
    c.socket.write('h\ncrash\nnever\n');
    await eventually(() => c.closed);
    assert.equal(c.text, '0:a\n1:b\n2:c\n3:d\n4:e\n5:f\n6:g\n7:h\n', 'the packet after the crash is not handled');
    // The pool restarted the handler: a new connection is served from a fresh state.
    const d = await Client.open(tcp.port);
    d.socket.write('x\n');
    await d.waitText('0:x\n');
  });

  test('each packet gets the state the last one returned: the same state again, or one returned before', async () => {
    await using node = newNode();
    const a = { name: 'a' };
    const b = { name: 'b' };
    // Packet `x` returns state x; the answer names the state the packet was given. Some answers are async.
    const states: TcpHandler<{ name: string }> = {
      init: () => ok({ name: 'init' }),
      handleData(conn, line, s) {
        const text = line.toString();
        const next = text.startsWith('a') ? a : b;
        if (text.endsWith('!')) {
          return Promise.resolve().then(() => {
            conn.send(s.name);
            return next;
          });
        }
        conn.send(s.name);
        return next;
      },
    };
    const tcp = await startTcp(node, { framing: 'line', handler: states, args: undefined, poolSize: 1 });
    const c = await Client.open(tcp.port);
    c.socket.write('a\na!\nb\n');
    await c.waitText('init\na\na\n');
    c.socket.write('b!\na\na\n');
    await c.waitText('init\na\na\nb\nb\na\n');
    c.socket.write('b\n');
    await c.waitText('init\na\na\nb\nb\na\na\n');
  });

  test('length-prefixed framing (4 bytes), split at every byte', async () => {
    await using node = newNode();
    const framing = { type: 'length', bytes: 4 } as const;
    const tcp = await startTcp(node, { framing, handler: lineEcho, args: undefined });
    const c = await Client.open(tcp.port);
    const packets = ['a', 'hello', 'x'.repeat(70_000)];
    const wire = Buffer.concat(packets.map((p) => Buffer.from(framePacket(framing, p))));
    for (let i = 0; i < 20; i++) c.socket.write(wire.subarray(i, i + 1));
    c.socket.write(wire.subarray(20));
    await eventually(() => c.received >= wire.length);
    const back = new Framer(framing).push(c.data).map((b) => b.toString());
    assert.deepEqual(back, packets);
  });

  test("raw framing: ergo's contract, unconsumed bytes come back prefixed to the next read", async () => {
    await using node = newNode();
    const seen: string[] = [];
    const records: TcpHandler<undefined> = {
      init: () => ok(undefined),
      handleData(conn, chunk, s) {
        seen.push(chunk.toString());
        const whole = chunk.length - (chunk.length % 4);
        for (let i = 0; i < whole; i += 4) conn.write(`[${chunk.subarray(i, i + 4).toString()}]`);
        return unconsumed(s, chunk.length - whole);
      },
    };
    const tcp = await startTcp(node, { handler: records, args: undefined });
    const c = await Client.open(tcp.port);
    c.socket.write('abcdef');
    await c.waitText('[abcd]');
    c.socket.write('ghij');
    await c.waitText('[abcd][efgh]');
    assert.deepEqual(seen, ['abcdef', 'efghij']);
  });

  test('raw framing, async answers: the bytes left unconsumed are those of the chunk that was awaited, chunk after chunk', async () => {
    await using node = newNode();
    const seen: string[] = [];
    const records: TcpHandler<undefined> = {
      init: () => ok(undefined),
      async handleData(conn, chunk, s) {
        seen.push(chunk.toString());
        await Promise.resolve();
        const whole = chunk.length - (chunk.length % 4);
        for (let i = 0; i < whole; i += 4) conn.write(`[${chunk.subarray(i, i + 4).toString()}]`);
        return unconsumed(s, chunk.length - whole);
      },
    };
    const tcp = await startTcp(node, { handler: records, args: undefined, poolSize: 1 });
    const c = await Client.open(tcp.port);
    c.socket.write('abcdef');
    await c.waitText('[abcd]');
    c.socket.write('ghi');
    await eventually(() => seen.length === 2);
    c.socket.write('jklmn');
    await c.waitText('[abcd][efgh][ijkl]');
    c.socket.write('op');
    await c.waitText('[abcd][efgh][ijkl][mnop]');
    assert.deepEqual(seen, ['abcdef', 'efghi', 'ijklmn', 'mnop']);
  });

  test('async answers for several connections of one handler, pipelined: each connection gets its own answers, in order', async () => {
    await using node = newNode();
    // One handler for every connection; each answer is async, so a connection's next packet waits for it.
    const numbered: TcpHandler<number> = {
      init: () => ok(0),
      async handleData(conn, line, n) {
        await Promise.resolve();
        conn.send(`${line.toString()}#${n}`);
        return n + 1;
      },
    };
    const tcp = await startTcp(node, { framing: 'line', handler: numbered, args: undefined, poolSize: 1 });
    const clients = await Promise.all([Client.open(tcp.port), Client.open(tcp.port), Client.open(tcp.port)]);
    clients.forEach((c, i) => c.socket.write(`${i}a\n${i}b\n${i}c\n`));
    await eventually(() => clients.every((c) => c.text.split('\n').length === 4));
    const answers = clients.map((c) => c.text.split('\n').slice(0, 3));
    const order: number[] = [];
    answers.forEach((lines, i) => {
      assert.deepEqual(lines.map((l) => l.split('#')[0]), [`${i}a`, `${i}b`, `${i}c`], `connection ${i}: its own lines, in order`);
      for (const l of lines) order.push(Number(l.split('#')[1]));
    });
    assert.deepEqual(order.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'one state threaded through every packet of every connection');
  });

  test('backpressure: a client that never reads does not make the server buffer without bound', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: { type: 'length', bytes: 4 }, handler: lineEcho, args: undefined, poolSize: 1 });
    const c = await Client.open(tcp.port);
    c.socket.pause();
    const packet = Buffer.from(framePacket({ type: 'length', bytes: 4 }, Buffer.alloc(64 * 1024, 7)));
    const total = 256; // 16 MiB through a client that does not read
    let sent = 0;
    const writer = (async () => {
      while (sent < total) {
        sent++;
        if (!c.socket.write(packet)) await once(c.socket, 'drain');
      }
    })();
    const state = (await getServerState(node, tcp)) as TcpState;
    await eventually(() => {
      const conn = [...state.connections][0];
      return conn !== undefined && conn.socket.isPaused() && sent < total;
    });
    const conn = [...state.connections][0];
    assert.ok((conn?.socket.writableLength ?? 0) < 4 * 1024 * 1024, `server write buffer ${conn?.socket.writableLength}`);
    c.socket.resume();
    await writer;
    await eventually(() => c.received >= total * packet.length);
    assert.deepEqual(c.data, Buffer.concat(Array.from({ length: total }, () => packet)));
  });

  test('idle timeout closes a silent connection; handleTimeout may speak first', async () => {
    await using node = newNode();
    const polite: TcpHandler<undefined> = {
      init: () => ok(undefined),
      handleData: (_c, _d, s) => s,
      handleTimeout(conn, s) {
        conn.send('bye');
        conn.close();
        return s;
      },
    };
    const t1 = await startTcp(node, { handler: lineEcho, args: undefined, idleTimeout: 200 });
    const c1 = await Client.open(t1.port);
    await once(c1.socket, 'close');
    const t2 = await startTcp(node, { framing: 'line', handler: polite, args: undefined, idleTimeout: 200 });
    const c2 = await Client.open(t2.port);
    await once(c2.socket, 'close');
    assert.equal(c2.text, 'bye\n');
  });

  test('a connection limit refuses connections beyond it', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: 'line', handler: lineEcho, args: undefined, maxConnections: 2 });
    const a = await Client.open(tcp.port);
    const b = await Client.open(tcp.port);
    a.socket.write('a\n');
    await a.waitText('a\n');
    const c = await Client.open(tcp.port);
    await eventually(() => c.closed);
    b.socket.write('b\n');
    await b.waitText('b\n');
  });

  test('a handler crash closes only its connections; the handler is restarted', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: 'line', handler: lineEcho, args: undefined, poolSize: 2 });
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await Client.open(tcp.port);
      c.socket.write(`hi ${i}\n`);
      await c.waitText(`hi ${i}\n`); // taken, in order: handlers 0, 1, 0, 1
      clients.push(c);
    }
    const [a, b, c, d] = clients as [Client, Client, Client, Client];
    a.socket.write('crash\n');
    await eventually(() => a.closed && c.closed);
    assert.ok(!b.closed && !d.closed);
    b.socket.write('still\n');
    await b.waitText('hi 1\nstill\n');
    const state = (await getServerState(node, tcp)) as TcpState;
    await eventually(() => true);
    assert.equal((await poolInfo(node, state.pool)).restarts, 1);
    const e = await Client.open(tcp.port);
    e.socket.write('new\n');
    await e.waitText('new\n');
    for (const x of [b, d, e]) x.socket.destroy();
  });

  test('crashes under load: every client gets its echo or its connection closed', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: 'line', handler: lineEcho, args: undefined, poolSize: 4 });
    const clients = await Promise.all(Array.from({ length: 40 }, () => Client.open(tcp.port)));
    clients.forEach((c, i) => c.socket.write(i % 8 === 0 ? 'crash\n' : `line ${i}\n`));
    await Promise.all(clients.map((c, i) => eventually(() => c.closed || c.text === `line ${i}\n`)));
    const echoed = clients.filter((c, i) => c.text === `line ${i}\n`).length;
    assert.ok(echoed >= 40 - 5 * 2, `echoed ${echoed}`);
    for (const c of clients) c.socket.destroy();
  });

  test('an oversized length-prefixed packet closes the connection', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: { type: 'length', bytes: 4, maxPacket: 100 }, handler: lineEcho, args: undefined });
    const c = await Client.open(tcp.port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000);
    c.socket.write(header);
    await once(c.socket, 'close');
  });

  test('TLS echo', async () => {
    await using node = newNode();
    const creds = await createSelfSignedCertificate();
    const tcp = await startTcp(node, { framing: 'line', tls: { key: creds.key, cert: creds.cert }, handler: lineEcho, args: undefined });
    const s = tlsConnect({ port: tcp.port, host: '127.0.0.1', ca: creds.ca, servername: 'localhost' });
    await once(s, 'secureConnect');
    const c = new Client(s);
    s.write('secret\n');
    await c.waitText('secret\n');
    s.destroy();
  });

  test('stopping (stopServer, supervisor) closes the listener and every connection', async () => {
    await using node = newNode();
    const tcp = await startTcp(node, { framing: 'line', handler: lineEcho, args: undefined });
    const c = await Client.open(tcp.port);
    c.socket.write('x\n');
    await c.waitText('x\n');
    await stopServer(node, tcp);
    await eventually(() => c.closed);
    await assert.rejects(Client.open(tcp.port));

    const sup = await startSupervisor(node, { strategy: 'one_for_one', children: [tcpChild('t', { framing: 'line', handler: lineEcho, args: undefined }, { name: 'tcp_child' })] });
    const state = (await getServerState(node, 'tcp_child')) as TcpState;
    const port = (state.server.address() as { port: number }).port;
    const d = await Client.open(port);
    d.socket.write('y\n');
    await d.waitText('y\n');
    await terminateChild(node, sup, 't');
    await eventually(() => d.closed);
    assert.ok(!node.isAlive(state.pool));
    await assert.rejects(Client.open(port));
  });
});
