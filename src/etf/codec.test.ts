/**
 * Tests of the documented JavaScript ↔ Erlang mapping: each row round-trips,
 * the documented normalisations hold, decode options do what they say, and
 * values without an Erlang term fail with EtfEncodeError.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, tuple, Pid, Ref, Port, ImproperList, Atom } from '../terms/index.js';
import {
  encode,
  decode,
  Encoder,
  Decoder,
  EtfWriter,
  EtfEncodeError,
  MAX_PORTABLE_BIGINT_BYTES,
  EtfDecodeError,
  Float,
  float,
  Charlist,
  charlist,
  BitString,
  ErlMap,
  ExportFun,
  registerType,
  TypeRegistry,
  termEquals,
  ERROR_STRUCT,
  DATETIME_STRUCT,
} from './index.js';
import { assertCutsFailAsUnpredicted, same } from './test-support.js';

const node = atom('a@127.0.0.1');
const pid = new Pid(node, 42, 0, 7);
const ref = new Ref(node, 7, [1, 2, 3]);

function rt(v: unknown): unknown {
  return decode(encode(v));
}

test('every documented JS value round-trips unchanged', () => {
  const values: unknown[] = [
    atom('ok'), atom('héllo'), atom('日本'), atom(''), true, false, null, undefined,
    0, 255, 256, -1, 2147483647, -2147483648, 2147483648, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
    1.5, -0, 1e300, 2 ** 60, Number.MIN_VALUE, float(1), float(0), float(-3),
    2n ** 64n, -(2n ** 64n), 2n ** 2048n, 9007199254740992n,
    '', 'hello', 'héllo 日本 🎉', 'x'.repeat(70000),
    Uint8Array.of(1, 2, 3), Uint8Array.of(0xff, 0xfe), new Uint8Array(100000).fill(7),
    new BitString(Uint8Array.of(0x20), 3), new BitString(Uint8Array.of(1, 2, 0x30), 4),
    charlist('abc'), charlist('\x00\xff'), [], [1, 2, 3], ['a', [atom('b'), [[]]]], new Array(300).fill(1),
    new ImproperList([1, 2], 3), new ImproperList([atom('alias')], ref),
    tuple(), tuple(1, 'two', atom('three')), tuple(...new Array(300).fill(0)),
    {}, { a: 1, b: 'two', nested: { c: [tuple()] } }, { 'Elixir.Key': 1, 'with space': 2, '日本': 3 },
    new Map<unknown, unknown>([['k', 1], [2, 'v'], [1.5, 3], [true, 4], [null, 5], [2n ** 70n, 6], [atom('x'), 7]]),
    new ErlMap<unknown, string>([[tuple(1, 2), 'a'], [[1], 'b'], [float(1), 'c'], [1, 'd'], [pid, 'e'], [Uint8Array.of(1), 'f']]),
    pid, ref, new Ref(node, 1, [1, 2, 3, 4, 5]), new Port(node, 5, 7), new Port(node, 2 ** 40, 7), new Port(node, 2n ** 60n, 7),
    new ExportFun(atom('lists'), atom('map'), 2),
    new Date(0), new Date(1714564800123), new Date(-62135596800000),
  ];
  for (const v of values) assert.ok(same(rt(v), v), `round trip of ${String(v)}`);
});

test('documented normalisations', () => {
  assert.equal(rt(float(1.5)), 1.5); // a non-integral Float comes back as a number
  assert.equal(rt(5n), 5); // a safe bigint comes back as a number
  assert.equal((rt(new Port(node, 2n ** 40n, 1)) as Port).id, 2 ** 40); // so does a safe port id
  assert.deepEqual(rt(new Map([[atom('a'), 1]])), { a: 1 }); // all-atom keys: an object
  assert.deepEqual(rt(new Map()), {});
  assert.deepEqual(rt(charlist('日本')), [26085, 26412]);
  assert.equal(rt('\ud800x'), '\ufffdx');
  assert.ok(Object.is(rt(-0), -0));
});

test('compact forms OTP uses', () => {
  const hex = (v: unknown) => encode(v).toString('hex');
  assert.equal(hex(atom('ok')), '8377026f6b');
  assert.equal(hex(atom('é'.repeat(200))).slice(0, 8), '83760190');
  assert.equal(hex(255), '8361ff');
  assert.equal(hex(256), '836200000100');
  assert.equal(hex(-1), '8362ffffffff');
  assert.equal(hex(2147483648), '836e040000000080');
  assert.equal(hex(-2147483649), '836e040101000080');
  assert.equal(hex(2n ** 2048n).slice(0, 12), '836f00000101');
  assert.equal(hex(3.14), '834640091eb851eb851f');
  assert.equal(hex(float(1)), '83463ff0000000000000');
  assert.equal(hex('hi'), '836d000000026869');
  assert.equal(hex(Uint8Array.of(1, 2)), '834d00000002080102');
  // OTP 26+ rejects BIT_BINARY_EXT of 0 bytes: an empty Uint8Array goes as <<>> (BINARY_EXT) and comes back as ''.
  assert.equal(hex(new Uint8Array(0)), '836d00000000');
  assert.equal(decode(encode(new Uint8Array(0))), '');
  assert.deepEqual(decode(encode(new Uint8Array(0)), { binaries: 'bytes' }), new Uint8Array(0));
  assert.equal(hex(charlist('abc')), '836b0003616263');
  assert.equal(hex([1, 2]), '836c00000002610161026a');
  assert.equal(hex(tuple()), '836800');
  assert.equal(hex(pid).slice(0, 4), '8358');
  assert.equal(hex(ref).slice(0, 10), '835a000377');
  assert.equal(hex(new Port(node, 1, 2)).slice(0, 4), '8359');
  assert.equal(hex(new Port(node, 2n ** 40n, 2)).slice(0, 4), '8378');
  assert.equal(hex(null), '8377036e696c');
  assert.equal(hex(undefined), '837709756e646566696e6564');
  assert.equal(encode(atom('ok'), { atomEncoding: 'latin1' }).toString('hex'), '836400026f6b');
});

test('encode errors are typed', () => {
  const bad: Array<[unknown, string]> = [
    [NaN, 'bad_number'], [Infinity, 'bad_number'], [float(-Infinity), 'bad_number'],
    [Symbol('x'), 'unsupported'], [() => 1, 'unsupported'], [new (class Foo {})(), 'unsupported'],
    [new Int32Array(2), 'unsupported'], [atom('x'.repeat(256)), 'bad_atom'], [new Date(NaN), 'bad_value'],
    [new Pid(node, -1, 0, 0), 'bad_value'], [new Ref(node, 1, []), 'bad_value'],
  ];
  for (const [v, code] of bad) {
    assert.throws(() => encode(v), (e: unknown) => e instanceof EtfEncodeError && e.code === code, String(code));
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encode(cyclic), (e: unknown) => e instanceof EtfEncodeError && e.code === 'cycle');
  // The shared encoder still works after a failure.
  assert.equal(decode(encode(1)), 1);
});

test('Error travels as an Elixir-exception-like struct and comes back', () => {
  const err = new TypeError('boom');
  const term = decode(encode(err), { structs: false }) as Record<string, unknown>;
  assert.equal(term['__struct__'], ERROR_STRUCT);
  assert.equal(term['__exception__'], true);
  assert.equal(term['message'], 'boom');
  assert.equal(term['name'], 'TypeError');
  assert.equal(term['stack'], err.stack);
  const back = rt(err) as Error;
  assert.ok(back instanceof TypeError);
  assert.equal(back.message, 'boom');
  assert.equal(back.stack, err.stack);
  class MyError extends Error {
    override name = 'MyError';
    code = 'E_X';
  }
  const e2 = new Error('outer', { cause: new MyError('inner') });
  const b2 = rt(e2) as Error & { cause: Error & { code: string } };
  assert.equal(b2.cause.name, 'MyError');
  assert.equal(b2.cause.code, 'E_X');
  assert.equal(b2.cause.message, 'inner');
  const noStack = new Error('x');
  delete noStack.stack;
  assert.equal((rt(noStack) as Error).stack, undefined);
});

test('Date travels as an Elixir DateTime; a lossy DateTime stays a map', () => {
  const d = new Date(Date.UTC(2024, 4, 1, 12, 30, 15, 123));
  const m = decode(encode(d), { structs: false }) as Record<string, unknown>;
  assert.equal(m['__struct__'], DATETIME_STRUCT);
  assert.equal(m['year'], 2024);
  assert.equal(m['month'], 5);
  assert.ok(same(m['microsecond'], tuple(123000, 3)));
  assert.equal(m['time_zone'], 'Etc/UTC');
  const micro = { ...m, microsecond: tuple(123456, 6) };
  const back = rt(micro) as Record<string, unknown>;
  assert.ok(!(back instanceof Date));
  assert.ok(same(back, micro));
});

test('registered types travel as structs and come back as instances', () => {
  class User {
    constructor(
      public name: string,
      public age: number,
    ) {}
    greet(): string {
      return `hi ${this.name}`;
    }
  }
  const reg = new TypeRegistry();
  reg.register('MyApp.User', User);
  const bytes = new Encoder({ registry: reg }).encode(new User('ann', 3));
  const asMap = decode(bytes) as Record<string, unknown>; // default registry: unknown struct stays a map
  assert.deepEqual(Object.keys(asMap), ['__struct__', 'name', 'age']);
  assert.equal(asMap['__struct__'], atom('Elixir.MyApp.User'));
  const u = new Decoder({ registry: reg }).decode(bytes) as User;
  assert.ok(u instanceof User);
  assert.equal(u.greet(), 'hi ann');
  // custom field mapping, via the default registry
  class Point {
    constructor(readonly xy: [number, number]) {}
  }
  const entry = registerType('Geo.Point', Point, {
    toFields: (p) => ({ x: p.xy[0], y: p.xy[1] }),
    fromFields: (f) => new Point([f['x'] as number, f['y'] as number]),
  });
  assert.equal(entry.struct, atom('Elixir.Geo.Point'));
  const p = rt(new Point([1, 2])) as Point;
  assert.ok(p instanceof Point);
  assert.deepEqual(p.xy, [1, 2]);
  assert.deepEqual(rt({ __struct__: atom('Elixir.Geo.Point'), x: 5, y: 6 }), new Point([5, 6]));
});

test("binaries: 'auto' gives a string exactly when the bytes are valid UTF-8, at every size", () => {
  const binary = (bytes: Buffer): Buffer => {
    const head = Buffer.from([131, 109, 0, 0, 0, 0]);
    head.writeUInt32BE(bytes.length, 2);
    return Buffer.concat([head, bytes]);
  };
  // Sizes around the 64 KiB line between decode-then-check and validate-then-decode.
  for (const size of [0, 1, 3, 36, 511, 4096, 65535, 65536, 65537, 300_000]) {
    const ascii = Buffer.alloc(size, 0x61);
    assert.equal(decode(binary(ascii)), ascii.toString('latin1'), `ascii ${size}`);
    if (size < 4) continue;
    // a real U+FFFD (EF BF BD) in valid text stays text
    const replacement = Buffer.from(ascii);
    replacement.write('\ufffd', size - 3, 'utf8');
    assert.equal(decode(binary(replacement)), replacement.toString('utf8'), `U+FFFD ${size}`);
    // multi-byte text
    const accents = Buffer.from('é'.repeat(size >> 1) + 'x'.repeat(size & 1));
    assert.equal(decode(binary(accents)), accents.toString('utf8'), `é ${size}`);
    // not UTF-8: a stray continuation byte, a truncated sequence at the end, an encoded surrogate, an overlong form
    for (const [what, bad] of [['continuation', [0x80]], ['truncated', [0xe2, 0x82]], ['surrogate', [0xed, 0xa0, 0x80]], ['overlong', [0xc0, 0xaf]]] as const) {
      const bytes = Buffer.from(ascii);
      Buffer.from(bad).copy(bytes, size - bad.length);
      const out = decode(binary(bytes));
      assert.ok(out instanceof Uint8Array, `${what} ${size}`);
      assert.deepEqual(Buffer.from(out), bytes, `${what} ${size}`);
    }
  }
});

test('decode options', () => {
  const bin = encode('hé');
  assert.deepEqual(decode(bin, { binaries: 'bytes' }), Uint8Array.from(Buffer.from('hé')));
  const invalid = Buffer.from([131, 109, 0, 0, 0, 1, 0xff]);
  assert.deepEqual(decode(invalid), Uint8Array.of(0xff));
  assert.equal(decode(invalid, { binaries: 'string' }), '\ufffd');
  // views versus copies
  const src = Buffer.from(encode(Uint8Array.of(9, 9)));
  const view = decode(src, { copyBinaries: false }) as Uint8Array;
  const copy = decode(src) as Uint8Array;
  src[src.length - 1] = 1;
  assert.deepEqual([...view], [9, 1]);
  assert.deepEqual([...copy], [9, 9]);
  assert.equal(decode(encode(2.5), { floats: 'box' }) instanceof Float, true);
  assert.equal(decode(encode(float(2)), { floats: 'number' }), 2);
  assert.deepEqual(decode(encode(charlist('ab')), { strings: 'array' }), [97, 98]);
  assert.ok(decode(encode({ a: 1 }), { maps: 'erlmap' }) instanceof ErlMap);
  assert.equal(decode(encode(null), { nullAtoms: false }), atom('nil'));
  assert.equal(decode(encode(undefined), { nullAtoms: false }), atom('undefined'));
  assert.ok(decode(encode(new Error('x')), { maps: 'erlmap' }) instanceof Error);
  const trailing = Buffer.concat([encode(1), Buffer.from([0])]);
  assert.equal(decode(trailing, { allowTrailing: true }), 1);
});

test('ErlMap compares keys as Erlang terms', () => {
  const m = new ErlMap<unknown, string>();
  m.set(tuple(1, atom('a')), 'tuple').set(1, 'int').set(float(1), 'float').set([1, 2], 'list').set(pid, 'pid');
  assert.equal(m.size, 5);
  assert.equal(m.get(tuple(1, atom('a'))), 'tuple');
  assert.equal(m.get(1n), 'int');
  assert.equal(m.get(float(1)), 'float');
  assert.equal(m.get(charlist('\x01\x02')), 'list'); // the same Erlang list
  assert.equal(m.get(new Pid(node, 42, 0, 7)), 'pid');
  m.set(null, 'nil');
  assert.equal(m.get(atom('nil')), 'nil');
  assert.equal(m.get(-0), undefined);
  m.set(-0, 'neg zero');
  assert.equal(m.get(0), undefined);
  assert.equal(m.get(-0), 'neg zero');
  assert.ok(m.delete(tuple(1, atom('a'))));
  assert.ok(!m.has(tuple(1, atom('a'))));
  assert.deepEqual([...m.values()], ['int', 'float', 'list', 'pid', 'nil', 'neg zero']);
  // nested maps as keys, independent of insertion order
  const k1 = new ErlMap<number, string>([[1, 'a'], [2, 'b']]);
  const k2 = new Map<number, string>([[2, 'b'], [1, 'a']]);
  m.set(k1, 'map key');
  assert.equal(m.get(k2), 'map key');
  assert.ok(termEquals({ a: 1, b: 2 }, new Map<Atom, number>([[atom('b'), 2], [atom('a'), 1]])));
  assert.ok(!termEquals(1, float(1)));
});

test('distribution API: writeTerm without 131, decodeAt with offsets and an atom cache', () => {
  const w = new EtfWriter(8);
  const table: Atom[] = [atom('hello'), atom('$gen_call')];
  const idx = new Map<Atom, number>(table.map((a, i) => [a, i] as const));
  const enc = new Encoder({ atomCacheIndex: (a) => idx.get(a) });
  w.u8(0xaa);
  const lenAt = w.skip(4);
  enc.writeTerm(w, tuple(atom('$gen_call'), atom('hello'), atom('other')));
  enc.writeTerm(w, 'second');
  w.setU32(lenAt, w.length - 5);
  const buf = w.toBuffer();
  assert.equal(buf.readUInt32BE(1), buf.length - 5);
  assert.deepEqual([...buf.subarray(5, 11)], [104, 3, 82, 1, 82, 0]);
  const dec = new Decoder();
  const first = dec.decodeAt(buf, 5, table);
  assert.ok(same(first.term, tuple(atom('$gen_call'), atom('hello'), atom('other'))));
  const second = dec.decodeAt(buf, first.offset);
  assert.equal(second.term, 'second');
  assert.equal(second.offset, buf.length);
  assert.throws(() => enc.writeTerm(w, new Encoder({ atomCacheIndex: () => 300 }).encode(atom('x'))));
  assert.throws(() => new Encoder({ atomCacheIndex: () => 300 }).encode(atom('x')), EtfEncodeError);
});

test('compressed encoding (tag 80) when it pays off', () => {
  const big = 'a'.repeat(10000);
  const c = encode(big, { compressed: true });
  assert.equal(c[1], 80);
  assert.ok(c.length < 200);
  assert.equal(decode(c), big);
  const small = encode(tuple(atom('ok'), 'hello'), { compressed: 9 });
  assert.equal(small[1], 104);
});

test('reentrancy: registered codecs may call encode and decode themselves', () => {
  class Wrapped {
    constructor(readonly inner: unknown) {}
  }
  const reg = new TypeRegistry();
  reg.register('W', Wrapped, {
    toFields: (w) => ({ blob: encode(w.inner) }),
    fromFields: (f) => new Wrapped(decode(f['blob'] as Uint8Array)),
  });
  const enc = new Encoder({ registry: reg });
  const dec = new Decoder({ registry: reg });
  const v = [new Wrapped(tuple(1, 'x')), 'after'];
  const back = dec.decode(enc.encode(v)) as [Wrapped, string];
  assert.ok(back[0] instanceof Wrapped);
  assert.ok(same(back[0].inner, tuple(1, 'x')));
  assert.equal(back[1], 'after');
});

test('value classes print like Erlang', () => {
  assert.equal(String(float(1)), '1.0');
  assert.equal(String(float(-0)), '-0.0');
  assert.equal(String(new BitString(Uint8Array.of(1, 2, 0x30), 4)), '<<1,2,3:4>>');
  assert.equal(String(new ExportFun(atom('lists'), atom('map'), 2)), 'fun lists:map/2');
  assert.equal(String(new ErlMap([[1, atom('a')]])), '#{1 => a}');
  assert.deepEqual(Charlist.fromCodes([104, 105]).codes(), [104, 105]);
  assert.equal(charlist('日本').length, 2);
  assert.equal(float(2).valueOf() + 1, 3);
  assert.ok(Atom.of('x') === atom('x'));
});

test('maps of a repeated key sequence decode the same through the compiled shape, whatever the key names', () => {
  const odd = { 'a"b': 1, 'back\\slash': 2, '日本': 3, '1': 4, "it's": 5, '\u2028': 6, constructor: 7, 'x y': [tuple()] };
  const bytes = encode(odd);
  for (let i = 0; i < 5; i++) {
    const back = decode(bytes) as Record<string, unknown>;
    assert.deepEqual(back, odd);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    back['a"b'] = 9; // each decode is a fresh object
  }
  assert.deepEqual(decode(bytes), odd);
  // __proto__ keys never go through generated code and never touch the prototype
  const proto = Buffer.from([131, 116, 0, 0, 0, 2, 119, 9, ...Buffer.from('__proto__'), 97, 1, 119, 1, 121, 97, 2]);
  for (let i = 0; i < 4; i++) {
    const o = decode(proto) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.keys(o), ['__proto__', 'y']);
  }
  // a duplicate key is still refused after the shape was compiled
  const dup = Buffer.from([131, 116, 0, 0, 0, 2, 119, 1, 122, 97, 1, 119, 1, 122, 97, 2]);
  const once = Buffer.from([131, 116, 0, 0, 0, 1, 119, 1, 122, 97, 1]);
  for (let i = 0; i < 3; i++) decode(once);
  assert.throws(() => decode(dup), (e: unknown) => e instanceof EtfDecodeError && e.code === 'duplicate_key');
});

test('integers: the encoder emits only what every supported OTP decodes (4,194,240 bits), unless told otherwise', () => {
  const widest = (1n << 4_194_240n) - 1n; // 4,194,240 bits: 524,280 bytes of magnitude
  assert.equal(decode(encode(widest)), widest);
  assert.equal(decode(encode(-widest)), -widest);
  assert.throws(() => encode(1n << 4_194_240n), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_value' && /maxBigIntBytes/.test(e.message));
  const otp25 = 1n << 8_000_000n;
  assert.equal(decode(new Encoder({ maxBigIntBytes: 4 * 1024 * 1024 }).encode(otp25)), otp25);
  assert.equal(MAX_PORTABLE_BIGINT_BYTES, 524_280);
});

test('maps read by the predicted shape of their size: a different, partly matching or differently encoded key sequence decodes as without prediction', () => {
  const a = { alpha: 1, beta: 'b', gamma: [1, { alpha: 2, beta: 3, gamma: 4 }] };
  for (let i = 0; i < 4; i++) assert.deepEqual(decode(encode(a)), a); // compiled, then predicted for 3 keys
  // same size, the last key differs; the first differs; all differ
  assert.deepEqual(decode(encode({ alpha: 1, beta: 2, delta: 3 })), { alpha: 1, beta: 2, delta: 3 });
  assert.deepEqual(decode(encode({ omega: 1, beta: 2, gamma: 3 })), { omega: 1, beta: 2, gamma: 3 });
  assert.deepEqual(decode(encode(new Map<unknown, unknown>([['alpha', 1], [2, 'x'], [atom('gamma'), 3]]))), new Map<unknown, unknown>([['alpha', 1], [2, 'x'], [atom('gamma'), 3]]));
  // a key prefix of the predicted one's bytes, then a key that is not an atom
  assert.deepEqual(decode(encode(new ErlMap<unknown, unknown>([[atom('alpha'), 1], [atom('beta'), 2], [tuple(1), 3]]))), new ErlMap<unknown, unknown>([[atom('alpha'), 1], [atom('beta'), 2], [tuple(1), 3]]));
  // the same keys as ATOM_EXT (Latin-1, as OTP 25's term_to_binary writes them) and as ATOM_CACHE_REF
  const latin1 = new Encoder({ atomEncoding: 'latin1' }).encode(a);
  assert.deepEqual(decode(latin1), a);
  const table: Atom[] = [atom('alpha'), atom('beta'), atom('gamma')];
  const cached = new Encoder({ atomCacheIndex: (x) => { const i = table.indexOf(x); return i < 0 ? undefined : i; } });
  const w = new EtfWriter();
  cached.writeTerm(w, a);
  assert.deepEqual(new Decoder({ atomCache: table }).decodeAt(w.view(), 0).term, a);
  // nil and undefined keys follow the decoder's nullAtoms option, never a shape made by another decoder
  const nilKeys = encode(new ErlMap<unknown, unknown>([[atom('nil'), 1], [atom('undefined'), 2], [atom('zeta'), 3]]));
  const raw = new Decoder({ nullAtoms: false });
  for (let i = 0; i < 4; i++) assert.deepEqual(raw.decode(nilKeys), { nil: 1, undefined: 2, zeta: 3 });
  assert.deepEqual(decode(nilKeys), new Map<unknown, unknown>([[null, 1], [undefined, 2], [atom('zeta'), 3]]));
  // cut input inside a predicted map fails as without prediction (maps: 'erlmap' never predicts): same code, same offset
  assertCutsFailAsUnpredicted(encode(a), decode);
});
