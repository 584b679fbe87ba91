/**
 * The control-tuple fast path against the generic codec: writeControl writes
 * the bytes the Encoder writes for the same tuple (with and without an atom
 * cache), ControlDecoder reads back what the Decoder reads, and it declines
 * (-1) everything it does not handle, so that the generic decoder reports it.
 * Also: AtomCacheWriter.headerSize matches the header it writes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decoder } from '../etf/decoder.js';
import { Encoder } from '../etf/encoder.js';
import { EtfEncodeError } from '../etf/errors.js';
import { EtfWriter } from '../etf/writer.js';
import { atom, type Atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { AtomCacheReader, AtomCacheWriter } from './atom-cache.js';
import { callReplyAt, ControlDecoder, writeControl, writeMessage } from './control-codec.js';
import { ImproperList } from '../terms/improper-list.js';
import { OP } from './control.js';

const node = atom('a@127.0.0.1');
const other = atom('b@127.0.0.1');
const pid = new Pid(node, 42, 0, 7);
const ref = new Ref(other, 9, [1, 2, 3]);

type Elements = [number, unknown, unknown, unknown];

/** The frame body (header + control) that writeControl makes, and the one the generic encoder makes, through two fresh caches. */
function bothWays(arity: number, e: Elements): { fast: Buffer; generic: Buffer } {
  const make = (write: (enc: Encoder, w: EtfWriter) => void): Buffer => {
    const cache = new AtomCacheWriter();
    const enc = new Encoder({ atomCacheIndex: cache.index });
    const body = new EtfWriter(16);
    cache.begin();
    write(enc, body);
    const frame = new EtfWriter(16);
    const size = cache.headerSize();
    cache.writeHeader(frame);
    assert.equal(frame.length, size, 'headerSize() is what writeHeader writes');
    frame.bytes(body.view());
    return frame.toBuffer();
  };
  const [op, e1, e2, e3] = e;
  const t = arity === 2 ? tuple(op, e1) : arity === 3 ? tuple(op, e1, e2) : tuple(op, e1, e2, e3);
  return {
    fast: make((enc, w) => writeControl(enc, w, arity, op, e1, e2, e3)),
    generic: make((enc, w) => enc.writeTerm(w, t)),
  };
}

/** Parses the header of `frame` and reads its control tuple with a ControlDecoder. */
function readBack(frame: Buffer, d = new ControlDecoder()): { arity: number; elements: unknown[]; end: number; atoms: readonly Atom[] } {
  const h = new AtomCacheReader().parse(frame, 0);
  const arity = d.read(frame, h.end, h.atoms);
  return { arity, elements: d.elements.slice(0, Math.max(arity, 0)), end: d.end, atoms: h.atoms };
}

describe('control tuples on the fast path', () => {
  const cases: [string, number, Elements][] = [
    ['REG_SEND', 4, [OP.REG_SEND, pid, atom(''), atom('echo')]],
    ['SEND', 3, [OP.SEND, atom(''), pid, undefined]],
    ['ALTACT_SIG_SEND', 4, [OP.ALTACT_SIG_SEND, 5, pid, ref]],
    ['MONITOR_P', 4, [OP.MONITOR_P, pid, atom('server'), ref]],
    ['DEMONITOR_P by pid', 4, [OP.DEMONITOR_P, pid, new Pid(other, 1, 2, 3), ref]],
    ['ALIAS_SEND', 3, [OP.ALIAS_SEND, pid, new Ref(node, 1, [7, 8, 9, 10, 11]), undefined]],
    ['GROUP_LEADER-like pair', 2, [OP.GROUP_LEADER, pid, undefined, undefined]],
  ];
  for (const [name, arity, e] of cases) {
    test(`${name}: the generic encoder's bytes, read back as the generic decoder reads them`, () => {
      const { fast, generic } = bothWays(arity, e);
      assert.deepEqual(fast, generic);
      const back = readBack(fast);
      assert.equal(back.arity, arity);
      assert.equal(back.end, fast.length);
      const h = new AtomCacheReader().parse(fast, 0);
      const viaDecoder = new Decoder().decodeAt(fast, h.end, h.atoms).term;
      assert.deepEqual(tuple(...back.elements), viaDecoder);
    });
  }

  test('values it does not handle are written by the encoder: the same bytes', () => {
    for (const e of [
      [OP.EXIT, pid, pid, tuple(atom('shutdown'), 'bye')],
      [OP.UNLINK_ID, 2n ** 40n, pid, pid],
      [OP.SEND, -5, pid, 100000],
      [OP.LINK, 'text', [1, 2], new Map([[1, 2]])],
    ] as Elements[]) {
      const { fast, generic } = bothWays(4, e);
      assert.deepEqual(fast, generic);
    }
  });

  test('a pid or ref with fields beyond u32 throws the encoder\'s EtfEncodeError, having written nothing usable', () => {
    const enc = new Encoder();
    for (const bad of [new Pid(node, -1, 0, 1), new Pid(node, 1, 2 ** 32, 1), new Ref(node, 1, [1, 2 ** 33, 3]), new Ref(node, 1, [])]) {
      assert.throws(() => writeControl(enc, new EtfWriter(16), 3, OP.SEND, atom(''), bad, undefined), EtfEncodeError);
    }
  });

  test('declines what it does not read, so the generic decoder reports or reads it', () => {
    const d = new ControlDecoder();
    const atoms = [node];
    const enc = new Encoder();
    const bytes = (t: unknown): Buffer => {
      const w = new EtfWriter(16);
      enc.writeTerm(w, t);
      return w.toBuffer();
    };
    // an inline atom, a nested tuple, a binary, a big integer, not a tuple, an empty tuple, arity 7
    for (const t of [
      tuple(OP.REG_SEND, atom('x')),
      tuple(OP.EXIT, tuple(1, 2)),
      tuple(OP.SEND, 'bin'),
      tuple(OP.SEND, 2n ** 70n),
      atom('x'),
      tuple(),
      tuple(1, 2, 3, 4, 5, 6, 7),
    ]) {
      assert.equal(d.read(bytes(t), 0, atoms), -1, String(t));
    }
    // truncated anywhere inside a tuple it would read
    const full = Buffer.from([104, 3, 97, 2, 82, 0, 88, 82, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]);
    assert.equal(d.read(full, 0, atoms), 3);
    for (let n = 0; n < full.length; n++) assert.equal(d.read(full.subarray(0, n), 0, atoms), -1, `cut at ${n}`);
    // an ATOM_CACHE_REF past the frame's table
    assert.equal(d.read(Buffer.from([104, 2, 97, 2, 82, 1]), 0, atoms), -1);
    // a reference with 0 or 6 words
    assert.equal(d.read(Buffer.from([104, 2, 97, 2, 90, 0, 0, 82, 0, 0, 0, 0, 1]), 0, atoms), -1);
    assert.equal(d.read(Buffer.from([104, 2, 97, 2, 90, 0, 6, 82, 0, 0, 0, 0, 1, ...new Array<number>(24).fill(0)]), 0, atoms), -1);
  });

  test('INTEGER_EXT reads as the signed integer the generic decoder gives', () => {
    const d = new ControlDecoder();
    const b = Buffer.from([104, 2, 98, 0xff, 0xff, 0xff, 0xfe, 97, 1, 106]);
    assert.equal(d.read(b, 0, []), 2);
    assert.equal(d.end, 9, 'ends after the tuple: the message term follows');
    const c = Buffer.from([104, 2, 98, 0xff, 0xff, 0xff, 0xfe, 98, 0x7f, 0xff, 0xff, 0xff]);
    assert.equal(d.read(c, 0, []), 2);
    assert.deepEqual(d.elements.slice(0, 2), [-2, 2147483647]);
    assert.deepEqual(new Decoder().decodeAt(c, 0).term, tuple(-2, 2147483647));
  });

  test('a pid seen lately is the same object (pids are immutable); a different one is not', () => {
    const { fast } = bothWays(4, [OP.REG_SEND, pid, atom(''), atom('echo')]);
    const d = new ControlDecoder();
    const first = readBack(fast, d).elements[1];
    const second = readBack(fast, d).elements[1];
    assert.ok(first instanceof Pid && first.equals(pid));
    assert.equal(second, first);
    const { fast: f2 } = bothWays(4, [OP.REG_SEND, new Pid(node, 43, 0, 7), atom(''), atom('echo')]);
    const third = readBack(f2, d).elements[1];
    assert.ok(third instanceof Pid && third.id === 43);
  });

  test('a 3-word ref seen lately is the same object (a remote caller\'s DEMONITOR_P names its MONITOR_P\'s ref); others are not', () => {
    const d = new ControlDecoder();
    const r1 = new Ref(node, 7, [1, 2, 3]);
    const monitor = readBack(bothWays(4, [OP.MONITOR_P, pid, atom('echo'), r1]).fast, d).elements[3];
    assert.ok(monitor instanceof Ref && monitor.equals(r1));
    // Eight other monitors in between (8 callers), then the demonitor of the first.
    for (let i = 0; i < 8; i++) readBack(bothWays(4, [OP.MONITOR_P, pid, atom('echo'), new Ref(node, 7, [100 + i, 2, 3])]).fast, d);
    const demonitor = readBack(bothWays(4, [OP.DEMONITOR_P, pid, atom('echo'), r1]).fast, d).elements[3];
    assert.equal(demonitor, monitor);
    // A ref that differs in any word, its node or its creation is another object.
    for (const other of [new Ref(node, 7, [1, 2, 4]), new Ref(node, 7, [9, 2, 3]), new Ref(node, 7, [1, 9, 3]), new Ref(node, 8, [1, 2, 3]), new Ref(atom('n@other'), 7, [1, 2, 3])]) {
      const got = readBack(bothWays(4, [OP.DEMONITOR_P, pid, atom('echo'), other]).fast, d).elements[3];
      assert.ok(got instanceof Ref && got.equals(other) && got !== monitor, String(other));
    }
  });

  test('property: any control tuple of small ints, atoms, pids and refs: same bytes both ways, read back equal', () => {
    const atomArb = fc.constantFrom(atom(''), atom('echo'), node, other, atom('ünïcødé'), atom('x'.repeat(255)));
    const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
    const pidArb = fc.tuple(atomArb, u32, u32, u32).map(([n, i, s, c]) => new Pid(n, i, s, c));
    const refArb = fc.tuple(atomArb, u32, fc.array(u32, { minLength: 1, maxLength: 5 })).map(([n, c, ids]) => new Ref(n, c, ids));
    const el = fc.oneof(fc.integer({ min: 0, max: 255 }), atomArb, pidArb, refArb);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 255 }), el, el, el, (arity, op, e1, e2, e3) => {
        const { fast, generic } = bothWays(arity, [op, e1, e2, e3]);
        assert.deepEqual(fast, generic);
        const back = readBack(fast);
        assert.equal(back.arity, arity);
        const h = new AtomCacheReader().parse(fast, 0);
        assert.deepEqual(tuple(...back.elements), new Decoder().decodeAt(fast, h.end, h.atoms).term);
      }),
      { numRuns: 300 },
    );
  });

  test('callReplyAt finds the reply of {[alias | Ref], Reply} only when the Ref is the control\'s own, written the same way', () => {
    const alias = atom('alias');
    const frame = (control: unknown, message: unknown): { b: Buffer; end: number; atoms: readonly Atom[]; d: ControlDecoder } => {
      const cache = new AtomCacheWriter();
      const enc = new Encoder({ atomCacheIndex: cache.index });
      const body = new EtfWriter(16);
      cache.begin();
      enc.writeTerm(body, control);
      enc.writeTerm(body, message);
      const w = new EtfWriter(16);
      cache.writeHeader(w);
      w.bytes(body.view());
      const b = w.toBuffer();
      const h = new AtomCacheReader().parse(b, 0);
      const d = new ControlDecoder();
      assert.ok(d.read(b, h.end, h.atoms) > 0);
      return { b, end: d.end, atoms: h.atoms, d };
    };
    const control = tuple(OP.ALTACT_SIG_SEND, 4, pid, ref);
    const good = frame(control, tuple(new ImproperList([alias], ref), tuple(atom('ok'), 7)));
    const at = callReplyAt(good.b, good.end, good.atoms, alias, good.d.refStart, good.d.refEnd);
    assert.ok(at > 0);
    assert.deepEqual(new Decoder().decodeAt(good.b, at, good.atoms).term, tuple(atom('ok'), 7));
    const declined = (message: unknown): void => {
      const f = frame(control, message);
      assert.equal(callReplyAt(f.b, f.end, f.atoms, alias, f.d.refStart, f.d.refEnd), -1, String(message));
    };
    declined(tuple(new ImproperList([alias], new Ref(other, 9, [1, 2, 4])), 1)); // another ref
    declined(tuple(new ImproperList([atom('other')], ref), 1)); // not alias
    declined(tuple(new ImproperList([alias, alias], ref), 1)); // two items
    declined(tuple(new ImproperList([alias], ref), 1, 2)); // a 3-tuple
    declined(tuple(ref, 1)); // no list
    declined(atom('plain'));
    // cut short: never reads past the end
    for (let n = good.end; n < at; n++) assert.equal(callReplyAt(good.b.subarray(0, n), good.end, good.atoms, alias, good.d.refStart, good.d.refEnd), -1);
  });
});

/** The frame body `writeMessage` makes for `m`, and the one `enc.writeTerm` makes, each through a fresh atom cache (or none). */
function messageBothWays(m: unknown, cached: boolean): { fast: Buffer; generic: Buffer } {
  const make = (write: (enc: Encoder, w: EtfWriter) => void): Buffer => {
    const cache = new AtomCacheWriter();
    const enc = new Encoder(cached ? { atomCacheIndex: cache.index } : {});
    const body = new EtfWriter(16);
    cache.begin();
    write(enc, body);
    const frame = new EtfWriter(16);
    cache.writeHeader(frame);
    frame.bytes(body.view());
    return frame.toBuffer();
  };
  return { fast: make((enc, w) => writeMessage(enc, w, m)), generic: make((enc, w) => enc.writeTerm(w, m)) };
}

describe('call envelopes on the fast path (writeMessage)', () => {
  const tag = new ImproperList([atom('alias')], ref);
  const shapes: [string, unknown][] = [
    ['a call request', tuple(atom('$gen_call'), tuple(pid, tag), 12345)],
    ['a call request with a nested request', tuple(atom('$gen_call'), tuple(pid, tag), tuple(atom('get'), [1, 2, 'x'], new Map([[1, 2]])))],
    ['a labelled request', tuple(atom('$my_call'), tuple(pid, tag), atom('ping'))],
    ['a reply', tuple(tag, 'hello')],
    ['a reply of a tuple', tuple(tag, tuple(atom('ok'), pid, ref))],
    ['a plain tag (not alias-shaped): two items', tuple(new ImproperList([atom('alias'), atom('x')], ref), 1)],
    ['a tag whose tail is not a ref', tuple(new ImproperList([atom('alias')], 7), 1)],
    ['a from whose first element is not a pid', tuple(atom('$gen_call'), tuple(atom('x'), tag), 1)],
    ['a 3-tuple not starting with an atom', tuple(1, tuple(pid, tag), 1)],
    ['a list', [1, 2, 3]],
    ['a number', 5],
    ['a ref with 5 words', tuple(new ImproperList([atom('alias')], new Ref(other, 1, [1, 2, 3, 4, 5])), 0)],
  ];
  for (const [name, m] of shapes) {
    test(`${name}: the encoder's bytes, with and without an atom cache`, () => {
      for (const cached of [true, false]) {
        const { fast, generic } = messageBothWays(m, cached);
        assert.deepEqual(fast, generic);
      }
    });
  }

  test('a request or reply the encoder refuses throws its EtfEncodeError', () => {
    const w = new EtfWriter(16);
    assert.throws(() => writeMessage(new Encoder(), w, tuple(tag, Symbol('x'))), EtfEncodeError);
    assert.throws(() => writeMessage(new Encoder(), w, tuple(atom('$gen_call'), tuple(pid, tag), () => 1)), EtfEncodeError);
    const wide = new Pid(node, 2 ** 40, 0, 1);
    assert.throws(() => writeMessage(new Encoder(), w, tuple(atom('$gen_call'), tuple(wide, tag), 1)), EtfEncodeError);
  });

  test('decodes to the same term', () => {
    const m = tuple(atom('$gen_call'), tuple(pid, tag), tuple(atom('get'), 'k'));
    const w = new EtfWriter(16);
    w.u8(131);
    writeMessage(new Encoder(), w, m);
    assert.deepEqual(new Decoder().decode(w.toBuffer()), m);
  });

  test('property: any request or reply: the encoder\'s bytes', () => {
    const leaf = fc.oneof(fc.integer(), fc.string(), fc.constantFrom(atom('ok'), atom('alias'), pid, ref), fc.double({ noNaN: true, noDefaultInfinity: true }));
    const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }).map((a) => tuple(...a)), fc.array(leaf, { maxLength: 4 }));
    const refs = fc.array(fc.nat(2 ** 32 - 1), { minLength: 1, maxLength: 5 }).map((ids) => new Ref(other, 3, ids));
    fc.assert(
      fc.property(value, refs, fc.boolean(), (v, r, request) => {
        const t = new ImproperList([atom('alias')], r);
        const m = request ? tuple(atom('$gen_call'), tuple(pid, t), v) : tuple(t, v);
        const { fast, generic } = messageBothWays(m, true);
        assert.deepEqual(fast, generic);
      }),
      { numRuns: 200 },
    );
  });
});
