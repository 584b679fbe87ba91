/**
 * Framing tests: frame splitting and hostile lengths, atom cache headers
 * from frames captured from OTP 25.2.3, fragment reassembly and
 * fragmentation, ticks, liveness, batching (frames over memory that the peer polls leave
 * as soon as their microtask is done) and backpressure.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { DistConnection, type DistConnectionOptions, FrameDecoder, FrameParser, encodeMessageFrames, type DistFrame } from './framing.js';
import { AtomCacheReader } from './atom-cache.js';
import { DEFAULT_FLAGS, DFLAG } from './flags.js';
import { isDistError, type DistError } from './errors.js';
import type { HandshakeResult } from './handshake.js';
import { socketPair, collect } from './testing/sockets.js';
import { decodeFrameTerms, encodeBareTerm, type FrameTerms } from './frame-terms.js';
import { OP } from './control.js';
import { WRITES_TO_MEMORY } from './transport.js';
import { Encoder } from '../etf/encoder.js';
import { EtfEncodeError } from '../etf/errors.js';
import { Pid } from '../terms/identifiers.js';
import type { Atom } from '../terms/atom.js';
import { atom, tuple } from '../terms/index.js';
import { eventually } from '../../test/support.js';

interface Vector {
  conn: string;
  hex: string;
  truncated: boolean;
  refs: string[];
}

/** The frames of dist_vectors.txt, grouped by the connection they were captured on. */
function loadVectors(): Vector[] {
  const text = readFileSync(new URL('../../../src/distribution/testdata/dist_vectors.txt', import.meta.url), 'utf8');
  const out: Vector[] = [];
  let conn = '';
  let current: Vector | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+) -> (\S+) \(/.exec(line);
    if (head !== null) {
      conn = `${head[1]}->${head[2]}`;
      continue;
    }
    const hex = /^ {2}hex: ([0-9a-f]+)(\.\.\.)?/.exec(line);
    if (hex !== null) {
      current = { conn, hex: hex[1] as string, truncated: hex[2] !== undefined, refs: [] };
      out.push(current);
      continue;
    }
    const hdr = /^ {2}131,68 header, \d+ atom cache refs: (.*)$/.exec(line);
    if (hdr !== null && current !== undefined) {
      current.refs = [...(hdr[1] as string).matchAll(/#\d+=(?:NEW|cached)\(seg \d+, idx \d+\) ?([^;]*)/g)].map((m) => (m[1] ?? '').trim());
    }
  }
  return out;
}

function fakeHandshake(socket: Socket, flags = DEFAULT_FLAGS): HandshakeResult {
  socket.pause();
  return { socket, role: 'initiator', peerName: 'peer@h', peerCreation: 1, peerFlags: flags, flags, peerVersion: 6, buffered: Buffer.alloc(0) };
}

function frame(payload: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
}

describe('atom cache headers of captured OTP 25 frames', () => {
  const vectors = loadVectors();
  it('loads the vectors', () => assert.ok(vectors.length >= 30));

  it('resolves every frame, per connection, in order', () => {
    const parsers = new Map<string, FrameParser>();
    let checked = 0;
    for (const v of vectors) {
      if (v.truncated) continue; // the 100 kB frame is stored shortened
      let p = parsers.get(v.conn);
      if (p === undefined) parsers.set(v.conn, (p = new FrameParser()));
      const f = p.parse(Buffer.from(v.hex, 'hex'));
      assert.ok(f !== undefined);
      assert.equal(f.kind, 'header');
      assert.deepEqual(
        f.atoms.map((a) => a.name),
        v.refs,
        `frame ${v.hex.slice(0, 24)}`,
      );
      // every control message is a small tuple (0x68) whose first element is the opcode
      assert.equal(f.payload[f.controlOffset], 0x68, `control offset of ${v.hex.slice(0, 24)}`);
      assert.equal(f.payload[f.controlOffset + 2], 0x61);
      checked++;
    }
    assert.ok(checked >= 30);
  });

  it('reused frames (parse(payload, true)) read the same as fresh ones, frame after frame, and fragments stay whole objects', () => {
    const fresh = new Map<string, FrameParser>();
    const reusing = new Map<string, FrameParser>();
    let previous: DistFrame | undefined;
    let same = 0;
    for (const v of vectors) {
      if (v.truncated) continue;
      let p = fresh.get(v.conn);
      if (p === undefined) fresh.set(v.conn, (p = new FrameParser()));
      let r = reusing.get(v.conn);
      if (r === undefined) reusing.set(v.conn, (r = new FrameParser()));
      const payload = Buffer.from(v.hex, 'hex');
      const want = p.parse(payload) as DistFrame;
      const got = r.parse(payload, true) as DistFrame;
      assert.equal(got.kind, want.kind);
      assert.equal(got.payload, payload);
      assert.equal(got.controlOffset, want.controlOffset);
      assert.deepEqual(got.atoms.map((a) => a.name), want.atoms.map((a) => a.name), `frame ${v.hex.slice(0, 24)}`);
      assert.deepEqual(decodeFrameTerms(got), decodeFrameTerms(want));
      if (got === previous) same++;
      previous = got;
    }
    assert.ok(same > 0, 'one object per parser, reused');
    // A message reassembled from fragments is never the reused object.
    const r = new FrameParser();
    const body = encodeBareTerm('x'.repeat(300));
    const frames = encodeMessageFrames(encodeBareTerm(tuple(OP.SEND, atom(''), atom('p'))), body, { flags: DEFAULT_FLAGS, fragmentSize: 100, seqId: 9n });
    assert.ok(frames.length > 2);
    let whole: DistFrame | undefined;
    for (const f of frames) whole = r.parse(f, true) ?? whole;
    assert.ok(whole !== undefined && whole.fragments === frames.length);
    const single = r.parse(Buffer.from([131, 68, 0, 0x6a]), true) as DistFrame;
    assert.notEqual(single, whole);
    assert.equal(decodeFrameTerms(whole).message, 'x'.repeat(300));
  });

  it('refuses refs to empty slots and truncated headers without changing the table', () => {
    const c = new AtomCacheReader();
    assert.throws(() => c.parse(Buffer.from('0100003c', 'hex'), 0), (e) => isDistError(e, 'atom_cache'));
    assert.throws(() => c.parse(Buffer.from('0108003c05616263', 'hex'), 0), (e) => isDistError(e, 'atom_cache'));
    assert.throws(() => c.parse(Buffer.from('02880009036f6b73', 'hex'), 0), (e) => isDistError(e, 'atom_cache'));
    assert.equal(c.slot(0, 9), undefined);
    assert.throws(() => c.parse(Buffer.from('010800020161ff', 'hex').subarray(0, 5), 0), (e) => isDistError(e, 'atom_cache'));
    assert.throws(() => c.parse(Buffer.from('01080002ff', 'hex'), 0)); // invalid UTF-8 / truncated
  });

  it('reads long atoms (u16 lengths) and an old ref to a slot filled earlier in the same header', () => {
    const c = new AtomCacheReader();
    // N=2: ref0 NEW seg 1, ref1 old seg 1; LongAtoms nibble (index 2) = 1
    const h = c.parse(Buffer.from([2, 0x19, 0x01, 7, 0, 3, 0x61, 0x62, 0x63, 7, 0xee]), 0);
    assert.deepEqual(h.atoms.map((a) => a.name), ['abc', 'abc']);
    assert.equal(h.end, 10);
    assert.equal(c.slot(1, 7)?.name, 'abc');
  });
});

describe('frame decoder', () => {
  it('splits frames across arbitrary chunk boundaries and reports ticks', () => {
    const bytes = Buffer.concat([frame(Buffer.from([131, 68, 0, 1])), Buffer.alloc(4), frame(Buffer.from('hello'))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(got.map((b) => b.toString('hex')), ['83440001', '', Buffer.from('hello').toString('hex')]);
      assert.equal(d.pending, 0);
    }
  });

  it('refuses a length above the limit before any allocation', () => {
    const d = new FrameDecoder(1000);
    assert.throws(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), (e) => isDistError(e, 'frame_too_large'));
    const d2 = new FrameDecoder(1000);
    assert.deepEqual(d2.push(Buffer.from([0, 0])), []);
    assert.throws(() => d2.push(Buffer.from([0x03, 0xe9])), (e) => isDistError(e, 'frame_too_large'));
  });
});

describe('fragments', () => {
  const control = Buffer.from([0x68, 0x03, 0x61, 0x16, 0x6a, 0x6a]);
  const message = Buffer.alloc(200_000, 0x78);

  it('splits at 64 KiB when the peer has FRAGMENTS and reassembles', () => {
    const frames = encodeMessageFrames(control, message, { flags: DEFAULT_FLAGS, seqId: 9n });
    assert.equal(frames.length, 4);
    for (const f of frames) assert.ok(f.length <= 65536);
    assert.deepEqual([...frames[0]!.subarray(0, 2)], [131, 69]);
    assert.deepEqual([...frames[1]!.subarray(0, 2)], [131, 70]);
    assert.equal(frames[0]!.readBigUInt64BE(10), 4n);
    assert.equal(frames[3]!.readBigUInt64BE(10), 1n);
    const p = new FrameParser();
    const results = frames.map((f) => p.parse(f));
    assert.deepEqual(results.slice(0, 3), [undefined, undefined, undefined]);
    const whole = results[3]!;
    assert.equal(whole.fragments, 4);
    assert.deepEqual(whole.payload.subarray(whole.controlOffset), Buffer.concat([control, message]));
    assert.equal(p.heldBytes, 0);
  });

  it('does not fragment without FRAGMENTS, and uses pass-through without the atom cache', () => {
    const one = encodeMessageFrames(control, message, { flags: DEFAULT_FLAGS & ~DFLAG.FRAGMENTS });
    assert.equal(one.length, 1);
    assert.deepEqual([...one[0]!.subarray(0, 3)], [131, 68, 0]);
    const pt = encodeMessageFrames(control, Buffer.from([0x61, 1]), { flags: DEFAULT_FLAGS & ~DFLAG.DIST_HDR_ATOM_CACHE });
    assert.deepEqual([...pt[0]!], [112, 131, ...control, 131, 0x61, 1]);
    const f = new FrameParser().parse(pt[0]!);
    assert.equal(f?.kind, 'pass_through');
    assert.equal(f?.controlOffset, 1);
  });

  it('interleaved sequences are kept apart by SeqId', () => {
    const a = encodeMessageFrames(control, Buffer.alloc(100_000, 1), { flags: DEFAULT_FLAGS, seqId: 1n });
    const b = encodeMessageFrames(control, Buffer.alloc(100_000, 2), { flags: DEFAULT_FLAGS, seqId: 2n });
    const p = new FrameParser();
    const out: DistFrame[] = [];
    for (const f of [a[0]!, b[0]!, b[1]!, a[1]!]) {
      const r = p.parse(f);
      if (r !== undefined) out.push(r);
    }
    assert.equal(out.length, 2);
    assert.equal(out[0]!.payload[out[0]!.payload.length - 1], 2);
    assert.equal(out[1]!.payload[out[1]!.payload.length - 1], 1);
  });

  it('refuses protocol violations and caps reassembly memory', () => {
    const frames = encodeMessageFrames(control, message, { flags: DEFAULT_FLAGS, seqId: 5n });
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as DistError).code;
      }
      return 'none';
    };
    assert.equal(code(() => new FrameParser().parse(frames[1]!)), 'frame_protocol'); // unknown sequence
    const p = new FrameParser();
    p.parse(frames[0]!);
    assert.equal(code(() => p.parse(frames[2]!)), 'frame_protocol'); // skipped fragment
    const p2 = new FrameParser();
    p2.parse(frames[0]!);
    assert.equal(code(() => p2.parse(frames[0]!)), 'frame_protocol'); // started twice
    assert.equal(code(() => new FrameParser({ maxReassemblyBytes: 100_000 }).parse(frames[0]!) ?? 'held'), 'none');
    const p3 = new FrameParser({ maxReassemblyBytes: 100_000 });
    p3.parse(frames[0]!);
    assert.equal(code(() => p3.parse(frames[1]!)), 'reassembly_limit');
    const p4 = new FrameParser({ maxReassemblies: 1 });
    p4.parse(frames[0]!);
    assert.equal(code(() => p4.parse(encodeMessageFrames(control, message, { flags: DEFAULT_FLAGS, seqId: 6n })[0]!)), 'reassembly_limit');
    assert.equal(code(() => new FrameParser().parse(Buffer.from([131, 99]))), 'frame_protocol');
    assert.equal(code(() => new FrameParser().parse(Buffer.from([7]))), 'frame_protocol');
    assert.equal(code(() => new FrameParser().parse(Buffer.from([131, 69, 0]))), 'frame_protocol');
  });
});

describe('DistConnection on a socket', () => {
  it('delivers frames, including fragmented ones, across a real socket; sends in one batch', async () => {
    const [a, b] = await socketPair();
    const got: DistFrame[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const rx = new DistConnection(fakeHandshake(b), {
      onFrame: (f) => {
        got.push(f);
        if (got.length === 3) resolveAll();
      },
    });
    const tx = new DistConnection(fakeHandshake(a));
    let writes = 0;
    const origWrite = a._writev?.bind(a);
    if (origWrite !== undefined) {
      a._writev = (chunks, cb) => {
        writes++;
        origWrite(chunks, cb);
      };
    }
    tx.sendMessage(Buffer.from([0x68, 0x01, 0x61, 0x02]));
    tx.sendMessage(Buffer.from([0x68, 0x01, 0x61, 0x03]), Buffer.alloc(150_000, 0x41));
    tx.sendFrame(Buffer.from([131, 68, 0, 0x6a]));
    await all;
    assert.equal(writes, 1, 'the writes of one turn go out in one writev');
    assert.equal(got[0]!.payload[got[0]!.controlOffset + 3], 2);
    assert.equal(got[1]!.fragments, 3);
    assert.equal(got[1]!.payload.length - got[1]!.controlOffset, 4 + 150_000);
    tx.close();
    const reason = await rx.closed;
    assert.equal(reason.code, 'connection_closed');
    assert.equal((await tx.closed).code, 'closed_locally');
  });

  it('writes frames in place whatever their header sizes: growing, shrinking, over 255 atoms, after a failed encode, fragmented', async () => {
    const [a, b] = await socketPair();
    const got: FrameTerms[] = [];
    const expected: [unknown, unknown][] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const rx = new DistConnection(fakeHandshake(b), {
      onFrame: (f) => {
        got.push(decodeFrameTerms(f));
        if (got.length === expected.length) resolveAll();
      },
    });
    const tx = new DistConnection(fakeHandshake(a));
    const enc = new Encoder();
    const from = new Pid(atom('peer@h'), 5, 0, 1);
    const atoms = (prefix: string, n: number): Atom[] => Array.from({ length: n }, (_, i) => atom(`${prefix}${i}`));
    const control = (name: string): [number, Pid, Atom, Atom] => [OP.REG_SEND, from, atom(''), atom(name)];
    const sendControl = (name: string, message: unknown): void => {
      const [op, e1, e2, e3] = control(name);
      tx.sendControl(enc, 4, op, e1, e2, e3, true, message);
      expected.push([tuple(op, e1, e2, e3), message]);
    };
    sendControl('first', tuple(...atoms('new', 12))); // a large header: 12 new atoms and the control's
    sendControl('first', tuple(...atoms('new', 12))); // the same atoms, cached: a smaller header
    sendControl('second', tuple(...atoms('more', 40), 'text')); // larger again
    tx.sendTerms(enc, tuple(OP.SEND, atom(''), from), true, atoms('x', 300)); // more atoms than one header holds
    expected.push([tuple(OP.SEND, atom(''), from), atoms('x', 300)]);
    assert.throws(() => tx.sendControl(enc, 4, OP.REG_SEND, from, atom(''), atom('bad'), true, Symbol('no term')), EtfEncodeError);
    sendControl('after_error', atom('fine'));
    sendControl('big', tuple(atom('big_one'), new Uint8Array(150_000).fill(7))); // fragments, atoms inline
    sendControl('last', []);
    await all;
    assert.equal(got.length, expected.length);
    got.forEach((t, i) => {
      assert.deepEqual(t.control, expected[i]![0], `frame ${i}: control`);
      const m = expected[i]![1];
      assert.deepEqual(t.message, m instanceof Array && m.length === 0 ? [] : m, `frame ${i}: message`);
    });
    tx.close();
    await rx.closed;
  });

  it('end() writes the frames of this turn before closing', async () => {
    const [a, b] = await socketPair();
    const got: FrameTerms[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    new DistConnection(fakeHandshake(b), {
      onFrame: (f) => {
        got.push(decodeFrameTerms(f));
        if (got.length === 3) resolveAll();
      },
    });
    const tx = new DistConnection(fakeHandshake(a));
    const enc = new Encoder();
    const to = new Pid(atom('peer@h'), 5, 0, 1);
    for (let i = 0; i < 3; i++) tx.sendControl(enc, 3, OP.SEND, atom(''), to, undefined, true, i);
    const ended = tx.end(); // in the same turn as the sends: they are still in the batch
    await all;
    await ended;
    assert.deepEqual(got.map((t) => t.message), [0, 1, 2]);
    assert.equal((await tx.closed).code, 'closed_locally');
  });

  /**
   * A connection over a real socket pair that counts its socket writes (the sending side's
   * WRITES_TO_MEMORY set to `memory` unless undefined); `send(i)` sends the message `i`; `all` resolves once `n` arrived.
   */
  async function countedWrites(n: number, memory?: boolean, txOptions: DistConnectionOptions = {}) {
    const [a, b] = await socketPair();
    if (memory !== undefined) Object.defineProperty(a, WRITES_TO_MEMORY, { value: memory });
    const got: FrameTerms[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const rx = new DistConnection(fakeHandshake(b), {
      onFrame: (f) => {
        got.push(decodeFrameTerms(f));
        if (got.length === n) resolveAll();
      },
    });
    const tx = new DistConnection(fakeHandshake(a), txOptions);
    const enc = new Encoder();
    const to = new Pid(atom('peer@h'), 5, 0, 1);
    const counted = { writes: 0, got, all, rx, tx, send: (i: number): void => void tx.sendControl(enc, 3, OP.SEND, atom(''), to, undefined, true, i) };
    const origWrite = a._write.bind(a);
    a._write = (chunk, encoding, cb) => {
      counted.writes++;
      origWrite(chunk, encoding, cb);
    };
    return counted;
  }

  it('frames sent by promise continuations of the same turn, however deep, join one write', async () => {
    const c = await countedWrites(4);
    const { got, all, rx, tx, send } = c;
    send(0);
    void Promise.resolve().then(() => send(1));
    void (async () => {
      await null;
      await null;
      await null;
      send(2);
      await null;
      send(3);
    })();
    await all;
    assert.deepEqual(got.map((t) => t.message), [0, 1, 2, 3], 'in send order');
    assert.equal(c.writes, 1, 'one socket write for the turn');
    tx.close();
    await rx.closed;
  });

  it('a turn\'s batch that reaches batchBytes leaves at once, the rest of the turn in one write at its end, in order', async () => {
    // Each frame is a few dozen bytes: with batchBytes 100 the batch is full at the third or fourth frame.
    const c = await countedWrites(12, undefined, { batchBytes: 100 });
    const { got, all, rx, tx, send } = c;
    for (let i = 0; i < 6; i++) send(i);
    const writesAtFull = c.writes;
    void Promise.resolve().then(() => {
      for (let i = 6; i < 12; i++) send(i);
    });
    await all;
    assert.deepEqual(got.map((t) => t.message), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'in send order');
    assert.equal(writesAtFull, 1, 'the full batch was written while the turn went on');
    assert.equal(c.writes, 2, 'once per turn: the rest, full again, waited for the turn\'s end');
    // The next turn splits again.
    const d = got.length;
    for (let i = 0; i < 6; i++) send(100 + i);
    assert.equal(c.writes, 3);
    await eventually(() => got.length === d + 6);
    assert.equal(c.writes, 4);
    assert.deepEqual(got.slice(d).map((t) => t.message), [100, 101, 102, 103, 104, 105]);
    tx.close();
    await rx.closed;
  });

  it('batchBytes Infinity keeps one write per turn; a batchBytes below 1 is a RangeError', async () => {
    const c = await countedWrites(40, undefined, { batchBytes: Infinity });
    const { got, all, rx, tx, send } = c;
    for (let i = 0; i < 40; i++) send(i);
    await all;
    assert.equal(got.length, 40);
    assert.equal(c.writes, 1);
    tx.close();
    await rx.closed;
    const [a, b] = await socketPair();
    for (const bad of [0, -5, Number.NaN]) assert.throws(() => new DistConnection(fakeHandshake(a), { batchBytes: bad }), RangeError);
    a.destroy();
    b.destroy();
  });

  it('over memory the peer polls, the frames of a microtask leave as soon as it is done, before the ticks of the turn', async () => {
    // Memory the peer polls; memory whose peer sleeps (a write would wake it: batched as over a socket); a socket.
    for (const memory of [true, false, undefined]) {
      const c = await countedWrites(3, memory);
      const { got, all, rx, tx, send } = c;
      let writesAtTick = -1;
      process.nextTick(() => (writesAtTick = c.writes));
      send(0);
      send(1);
      void Promise.resolve().then(() => send(2));
      await all;
      assert.deepEqual(got.map((t) => t.message), [0, 1, 2], 'in send order');
      if (memory) {
        assert.equal(writesAtTick, 2, 'both writes before the tick: the first microtask\'s two frames, then the next one\'s');
        assert.equal(c.writes, 2);
      } else {
        assert.equal(writesAtTick, 0, 'a real socket (or memory whose peer sleeps) writes after the ticks queued before');
        assert.equal(c.writes, 1, 'one write for the turn');
      }
      tx.close();
      await rx.closed;
    }
  });

  it('with reuseFrames, hands every frame in one object and lets go of its payload after the chunk', async () => {
    const [a, b] = await socketPair();
    const seen: DistFrame[] = [];
    const terms: FrameTerms[] = [];
    const conn = new DistConnection(fakeHandshake(b), {
      reuseFrames: true,
      onFrame: (f) => {
        seen.push(f);
        terms.push(decodeFrameTerms(f)); // read during the call, as the option asks
      },
    });
    const tx = new DistConnection(fakeHandshake(a));
    for (let i = 0; i < 3; i++) tx.sendTerms(new Encoder(), tuple(OP.SEND, atom(''), new Pid(atom('n@h'), i, 0, 1)), true, i);
    await eventually(() => terms.length === 3);
    assert.deepEqual(terms.map((t) => t.message), [0, 1, 2]);
    assert.ok(seen[0] === seen[1] && seen[1] === seen[2], 'one reused object');
    assert.equal(seen[0]?.payload.length, 0, 'the payload is let go once the chunk is read');
    tx.close();
    conn.close();
  });

  it('processes bytes that arrived with the handshake', async () => {
    const [a, b] = await socketPair();
    const hs = { ...fakeHandshake(b), buffered: frame(Buffer.from([131, 68, 0, 0x6a])) };
    const f = await new Promise<DistFrame>((resolve) => new DistConnection(hs, { onFrame: resolve }));
    assert.equal(f.payload[f.controlOffset], 0x6a);
    a.destroy();
  });

  it('ticks when idle and closes with net_tick_timeout when the peer is silent', async () => {
    const [a, b] = await socketPair();
    const ticks = collect(a);
    const conn = new DistConnection(fakeHandshake(b), { tickInterval: 20, netTickTime: 1000 });
    const reason = await conn.closed;
    assert.equal(reason.code, 'net_tick_timeout');
    const bytes = await ticks;
    assert.ok(bytes.length >= 8 && bytes.every((x) => x === 0), `ticks: ${bytes.length} zero bytes`);
  });

  it('stays up while the peer ticks', async () => {
    const [a, b] = await socketPair();
    const peer = new DistConnection(fakeHandshake(a), { tickInterval: 10, netTickTime: 10_000 });
    let frames = 0;
    const conn = new DistConnection(fakeHandshake(b), { tickInterval: 10, netTickTime: 400, onFrame: () => frames++ });
    // outlive several liveness periods: wait for 150 incoming ticks (at least 1.5 s)
    let seen = 0;
    await new Promise<void>((resolve) =>
      b.on('data', (chunk: Buffer) => {
        seen += chunk.length / 4;
        if (seen >= 150) resolve();
      }),
    );
    assert.equal(conn.isOpen, true);
    assert.equal(frames, 0);
    conn.close();
    await peer.closed;
  });

  it('closes only the connection that receives a malformed frame', async () => {
    for (const bytes of [frame(Buffer.from('garbage')), frame(Buffer.from([131, 68, 1, 0, 5]))]) {
      const [a, b] = await socketPair();
      a.on('error', () => {});
      const conn = new DistConnection(fakeHandshake(b), { maxFrameSize: 1 << 20 });
      a.write(bytes);
      const reason = await conn.closed;
      assert.ok(['frame_protocol', 'atom_cache'].includes(reason.code), reason.message);
      await new Promise((r) => a.once('close', r));
    }
  });

  it('refuses one frame beyond maxFrameSize: skips its bytes as they come and reads on', async () => {
    const [a, b] = await socketPair();
    const refused: DistError[] = [];
    const frames: DistFrame[] = [];
    const conn = new DistConnection(fakeHandshake(b), { maxFrameSize: 1024, onRefuse: (r) => refused.push(r), onFrame: (f) => frames.push(f) });
    const big = frame(Buffer.concat([Buffer.from([131, 68, 0]), Buffer.alloc(5000, 0x6a)]));
    // the oversized frame arrives in pieces, then a good one
    a.write(big.subarray(0, 3));
    a.write(big.subarray(3, 2000));
    a.write(Buffer.concat([big.subarray(2000), frame(Buffer.from([131, 68, 0, 0x6a]))]));
    await eventually(() => frames.length === 1);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, 'frame_too_large');
    assert.match(refused[0]?.message ?? '', /maxFrameSize/);
    assert.equal(conn.isOpen, true);
    assert.equal(conn.refusedMessages, 1);
    conn.close();
    a.destroy();
  });

  it('refuses one fragmented message beyond maxMessageBytes and reads on', async () => {
    const [a, b] = await socketPair();
    const refused: DistError[] = [];
    const frames: DistFrame[] = [];
    const conn = new DistConnection(fakeHandshake(b), { maxMessageBytes: 100_000, onRefuse: (r) => refused.push(r), onFrame: (f) => frames.push(f) });
    const control = encodeBareTerm(tuple(2, atom(''), atom('x')));
    const big = encodeMessageFrames(control, encodeBareTerm(new Uint8Array(300_000)), { flags: DEFAULT_FLAGS, seqId: 9n });
    const small = encodeMessageFrames(control, encodeBareTerm(new Uint8Array(90_000)), { flags: DEFAULT_FLAGS, seqId: 10n });
    for (const f of [...big, ...small]) a.write(frame(f));
    await eventually(() => frames.length === 1);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, 'reassembly_limit');
    assert.match(refused[0]?.message ?? '', /limits\.maxMessageBytes/);
    assert.equal(frames[0]?.fragments, 2);
    assert.equal(conn.reassemblyBytes, 0);
    assert.equal(conn.isOpen, true);
    conn.close();
    a.destroy();
  });

  it('reports backpressure and its end', async () => {
    const [a, b] = await socketPair();
    const events: boolean[] = [];
    let resolveDrained!: () => void;
    const drained = new Promise<void>((r) => (resolveDrained = r));
    const conn = new DistConnection(fakeHandshake(a), {
      highWaterMark: 64 * 1024,
      onBackpressure: (c) => {
        events.push(c);
        if (!c) resolveDrained();
      },
    });
    b.pause(); // the peer does not read
    let ok = true;
    for (let i = 0; i < 200 && ok; i++) ok = conn.sendFrame(Buffer.alloc(64 * 1024, 1));
    assert.equal(ok, false);
    assert.equal(conn.congested, true);
    b.resume();
    b.on('data', () => {});
    await drained;
    assert.deepEqual(events, [true, false]);
    conn.close();
    b.destroy();
  });
});
