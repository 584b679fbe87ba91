/**
 * The shared-memory ring and the socket over two of them: bytes wrap around
 * the end of the ring and past the 32-bit counters; a write larger than the
 * ring waits for room and arrives whole and in order; a parked reader is
 * woken; a peer thread that dies in the middle of a frame leaves its reader
 * the bytes it wrote, then the end of the stream; bad sizes are refused; an
 * end says it is ready exactly when a poll would find something, and that
 * its writes are free while its peer polls, not once the peer parked.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ByteRing } from './shm-ring.js';
import { RingSocket } from './ring-socket.js';
import { WRITES_TO_MEMORY } from '../distribution/transport.js';
import { eventually } from '../../test/support.js';

function bytes(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

/** Two connected ends in this thread. */
function pair(capacity: number): [RingSocket, RingSocket] {
  const a = ByteRing.create(capacity).sab;
  const b = ByteRing.create(capacity).sab;
  return [new RingSocket(a, b), new RingSocket(b, a)];
}

/** Collects what `s` reads until `n` bytes arrived. */
function collect(s: RingSocket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    const on = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', on);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', on);
  });
}

/** A socket to a worker thread that echoes what it reads, over rings of `capacity` bytes; `stop` ends both. */
function echoThread(capacity: number): { s: RingSocket; stop: () => Promise<void> } {
  const ab = ByteRing.create(capacity).sab;
  const ba = ByteRing.create(capacity).sab;
  const w = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.url).then(({ RingSocket }) => {
       const s = new RingSocket(workerData.ab, workerData.ba);
       s.on('data', (c) => s.write(c));
     });`,
    { eval: true, workerData: { ab, ba, url: new URL('./ring-socket.js', import.meta.url).href } },
  );
  const s = new RingSocket(ba, ab);
  return {
    s,
    stop: async () => {
      s.destroy();
      await w.terminate();
    },
  };
}

describe('shared-memory byte ring', () => {
  it('wraps around the end of its memory', () => {
    const writer = ByteRing.create(64);
    const reader = new ByteRing(writer.sab);
    for (let round = 0; round < 10; round++) {
      const chunk = bytes(40 + round, round);
      assert.equal(writer.write(chunk), chunk.length);
      assert.equal(reader.available(), 0, 'nothing visible before commit');
      writer.commit();
      assert.deepEqual(reader.read(), chunk);
      assert.equal(reader.read(), undefined);
    }
  });

  it('wraps around its 32-bit counters', () => {
    const sab = ByteRing.create(64).sab;
    // Both counters just below 2^32 (as int32: -16), as after 4 GiB went through.
    const ctl = new Int32Array(sab, 0, 32);
    ctl[0] = -16;
    ctl[16] = -16;
    const writer = new ByteRing(sab);
    const reader = new ByteRing(sab);
    for (let round = 0; round < 4; round++) {
      const chunk = bytes(48, round);
      assert.equal(writer.room(), 64);
      assert.equal(writer.write(chunk), 48);
      writer.commit();
      assert.equal(reader.available(), 48);
      assert.deepEqual(reader.read(), chunk);
    }
  });

  it('takes only what fits, and the rest once the reader made room', () => {
    const writer = ByteRing.create(64);
    const reader = new ByteRing(writer.sab);
    const data = bytes(100);
    assert.equal(writer.write(data), 64);
    assert.equal(writer.write(data, 64), 0, 'full');
    writer.commit();
    const first = reader.read(30) as Buffer;
    assert.equal(first.length, 30);
    assert.equal(writer.write(data, 64), 30);
    writer.commit();
    assert.deepEqual(Buffer.concat([first, reader.read() as Buffer, Buffer.alloc(0)]), data.subarray(0, 94));
  });

  it('refuses sizes that are not a power of two in range, and buffers that are not rings', () => {
    assert.throws(() => ByteRing.create(100), RangeError);
    assert.throws(() => ByteRing.create(32), RangeError);
    assert.throws(() => ByteRing.create(2 ** 31), RangeError);
    assert.throws(() => new ByteRing(new SharedArrayBuffer(16)), RangeError);
  });
});

describe('socket over two rings', () => {
  it('carries bytes both ways, in order, across many wrap-arounds', async () => {
    const [a, b] = pair(256);
    const data = bytes(10_000, 3);
    const atB = collect(b, data.length);
    for (let i = 0; i < data.length; i += 100) a.write(data.subarray(i, i + 100));
    assert.deepEqual(await atB, data);
    const back = collect(a, 5);
    b.write(Buffer.from('hello'));
    assert.equal((await back).toString(), 'hello');
    assert.equal(a.bytesWritten, 10_000);
    assert.equal(b.bytesRead, 10_000);
    a.destroy();
    await once(b, 'close');
  });

  it('a write larger than the ring waits for room (writableLength, drain) and arrives whole', async () => {
    const [a, b] = pair(64);
    const big = bytes(5000, 9);
    const drained = once(a, 'drain');
    assert.equal(a.write(big), false, 'more than the ring holds: backpressure');
    assert.ok(a.writableLength > 0);
    const tail = Buffer.from('after');
    a.write(tail);
    assert.deepEqual(await collect(b, big.length + tail.length), Buffer.concat([big, tail]));
    await drained;
    assert.equal(a.writableLength, 0);
    a.destroy();
    b.destroy();
  });

  it('a paused end reads nothing until resumed', async () => {
    const [a, b] = pair(1024);
    b.pause();
    let seen = 0;
    b.on('data', (c: Buffer) => (seen += c.length));
    a.write(bytes(10));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(seen, 0);
    b.resume();
    await eventually(() => seen === 10, 10_000, 'the bytes after resume');
    a.destroy();
    b.destroy();
  });

  it('says it is ready when a poll would find something: bytes to read (unless paused), room for queued bytes, an end; and whether its peer polls', () => {
    const [a, b] = pair(64);
    b.on('data', () => {});
    a.on('data', () => {});
    assert.equal(b.ready(), false, 'nothing yet');
    a.write(bytes(10));
    assert.equal(b.ready(), true, 'bytes to read');
    b.poll();
    assert.equal(b.ready(), false, 'read');
    b.pause();
    a.write(bytes(10));
    assert.equal(b.ready(), false, 'paused');
    b.resume();
    assert.equal(b.ready(), true, 'resumed');
    b.poll();
    // A write larger than the ring: the rest waits in `a` until `b` makes room.
    a.write(bytes(100));
    assert.equal(a.ready(), false, 'no room yet');
    b.poll();
    assert.equal(a.ready(), true, 'room for the queued bytes');
    a.poll();
    b.poll();
    assert.equal(b.ready(), false);
    // Writes are free while the peer polls, not once it parked (the next write wakes it).
    assert.equal(a[WRITES_TO_MEMORY], true);
    b.park();
    assert.equal(a[WRITES_TO_MEMORY], false, 'the peer is parked');
    a.write(bytes(1));
    assert.equal(a[WRITES_TO_MEMORY], true, 'woken by that write');
    a.destroy();
    assert.equal(b.ready(), true, 'the peer is gone');
    b.destroy();
  });

  it('end() delivers what was written, then the end of the stream', async () => {
    const [a, b] = pair(64);
    const got = collect(b, 300);
    const ended = once(b, 'end');
    const closed = once(b, 'close');
    a.write(bytes(300));
    a.end();
    assert.equal((await got).length, 300);
    await ended;
    await closed;
    assert.equal(a.write(Buffer.from('x')), false, 'no write after end');
  });

  it('a parked reader is woken by a write from another thread (and polls nothing while idle)', async () => {
    const { s, stop } = echoThread(1024);
    try {
      for (let i = 0; i < 20; i++) {
        // Long enough apart that both ends have parked.
        await new Promise((r) => setTimeout(r, 2));
        const echo = collect(s, 8);
        s.write(bytes(8, i));
        assert.deepEqual(await echo, bytes(8, i));
      }
    } finally {
      await stop();
    }
  });

  it('between two threads, a small ring carries a stream of random-sized writes both ways intact', async () => {
    const { s, stop } = echoThread(256);
    try {
      let seed = 12345;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const sent: Buffer[] = [];
      for (let i = 0; i < 300; i++) sent.push(bytes(1 + random(3000), i));
      const all = Buffer.concat(sent);
      const echoed = collect(s, all.length);
      for (const chunk of sent) s.write(chunk);
      assert.deepEqual(await echoed, all);
    } finally {
      await stop();
    }
  });

  it('a peer thread that dies in the middle of a frame: its reader gets the bytes written, then the end', async () => {
    const ab = ByteRing.create(1024).sab;
    const ba = ByteRing.create(1024).sab;
    const s = new RingSocket(ba, ab);
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    const ended = once(s, 'end');
    const closed = once(s, 'close');
    // A distribution frame announces 1000 bytes; the peer writes 10 of them, then its thread exits.
    const w = new Worker(
      `const { workerData } = require('node:worker_threads');
       import(workerData.url).then(({ RingSocket }) => {
         const s = new RingSocket(workerData.ab, workerData.ba);
         const head = Buffer.alloc(14);
         head.writeUInt32BE(1000, 0);
         head[4] = 131;
         s.write(head);
         setImmediate(() => process.exit(3));
       });`,
      { eval: true, workerData: { ab, ba, url: new URL('./ring-socket.js', import.meta.url).href } },
    );
    const [code] = (await once(w, 'exit')) as [number];
    assert.equal(code, 3);
    // What the host of a dead node's thread does (RingSwitch.detach): close its rings.
    new ByteRing(ab).close();
    new ByteRing(ba).close();
    await ended;
    await closed;
    const all = Buffer.concat(got);
    assert.equal(all.length, 14);
    assert.equal(all.readUInt32BE(0), 1000);
    assert.ok(s.destroyed);
  });
});
