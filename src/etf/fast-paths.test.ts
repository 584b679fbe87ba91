/**
 * Tests of the codec's fast paths against their edge cases: plain objects
 * written by for-in with keys remembered by position, atom encodings kept on
 * the atom, stand-alone terms handed out as views of a slab, short ASCII
 * binaries decoded in JavaScript, predicted maps with binary values, and
 * integers at the boundaries of each integer form.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, tuple, Atom } from '../terms/index.js';
import { encode, decode, Encoder, Decoder, EtfEncodeError, EtfDecodeError, EtfWriter } from './index.js';
import { assertCutsFailAsUnpredicted, atomBytes, binBytes, decodeFailure } from './test-support.js';

function mapBytes(entries: Array<[string, number[]]>): number[] {
  const n = entries.length;
  return [131, 116, 0, 0, n >> 8, n & 0xff, ...entries.flatMap(([k, v]) => [...atomBytes(k), ...v])];
}

test('plain objects: keys remembered by position never leak from one object into another', () => {
  const enc = new Encoder();
  // The empty key, then other keys at the same positions, then the empty key again.
  const cases: Array<Record<string, unknown>> = [
    { '': 1 },
    { a: 1 },
    { '': 2, b: 3 },
    { b: 3, '': 2 },
    {},
    { 'é': 'x', '日本': 'y', '😀': 'z' },
    { 'e': 'x', '日本': 'y', '😀': 'z' },
    { '1': 'one', '0': 'zero', z: 'last' }, // integer-like keys come first, in ascending order, as Object.keys gives them
  ];
  for (let round = 0; round < 3; round++) {
    for (const o of cases) {
      const bytes = enc.encode(o);
      const expected = mapBytes(Object.keys(o).map((k) => [k, typeof o[k] === 'string' ? binBytes(o[k] as string) : [97, o[k] as number]]));
      assert.deepEqual([...bytes], expected, JSON.stringify(o));
      assert.deepEqual(decode(bytes), o);
    }
  }
  // Nested objects of different shapes at one depth and across depths.
  const nested = { a: { x: 1, y: { a: 2 } }, b: { y: 3, x: 4 }, c: [{ x: 5 }, { '': 6 }] };
  for (let i = 0; i < 3; i++) assert.deepEqual(decode(enc.encode(nested)), nested);
});

test('plain objects: only own enumerable properties, even with an enumerable property on Object.prototype', () => {
  const o = { a: 1, b: 2 };
  Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 'x';
  try {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual([...encode(o)], mapBytes([['a', [97, 1]], ['b', [97, 2]]]));
      assert.deepEqual([...encode({})], [131, 116, 0, 0, 0, 0]);
    }
  } finally {
    delete proto.polluted;
  }
  // A getter is read once, as Object.keys and a load would.
  let reads = 0;
  const g = {
    get v() {
      reads++;
      return 7;
    },
  };
  assert.deepEqual(decode(encode(g)), { v: 7 });
  assert.equal(reads, 1);
});

test('plain objects: a key that is not a valid atom fails typed, and the encoder stays usable', () => {
  const enc = new Encoder();
  const long = 'k'.repeat(256);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => enc.encode({ ok: 1, [long]: 2 }), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_atom');
    assert.deepEqual(decode(enc.encode({ ok: 1, fine: 2 })), { ok: 1, fine: 2 });
  }
  // 255 characters is the limit (in characters: 255 two-byte characters make an ATOM_UTF8_EXT)
  const wide = 'é'.repeat(255);
  const bytes = enc.encode({ [wide]: 1 });
  assert.equal(bytes[6], 118); // ATOM_UTF8_EXT, 2-byte length
  assert.equal(bytes.readUInt16BE(7), 510);
  assert.deepEqual(decode(bytes), { [wide]: 1 });
});

test('atoms: the UTF-8 encoding kept on the atom does not leak into Latin-1 encoders or past the atom cache', () => {
  const a = atom('héllo_fast_path');
  const utf8 = new Encoder();
  const latin1 = new Encoder({ atomEncoding: 'latin1' });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual([...utf8.encode(a)], [131, ...atomBytes('héllo_fast_path')]);
    assert.deepEqual([...latin1.encode(a)], [131, 100, 0, 15, ...Buffer.from('héllo_fast_path', 'latin1')]);
  }
  const cached = new Encoder({ atomCacheIndex: (x: Atom) => (x === a ? 7 : undefined) });
  const w = new EtfWriter();
  cached.writeTerm(w, tuple(a, atom('other_atom')));
  assert.deepEqual([...w.view()], [104, 2, 82, 7, ...atomBytes('other_atom')]);
  assert.throws(() => new Encoder().encode(atom('x'.repeat(256))), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_atom');
  // an atom that failed is not remembered as encoded
  assert.throws(() => new Encoder().encode(atom('x'.repeat(256))), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_atom');
});

test('encode hands out real Buffers that later terms never overwrite', () => {
  const enc = new Encoder();
  const first = enc.encode(tuple(atom('first'), 'abc'));
  const copy = Buffer.from(first);
  assert.ok(Buffer.isBuffer(first));
  assert.equal(Object.getPrototypeOf(first), Buffer.prototype);
  assert.equal(first.toString('hex'), copy.toString('hex'));
  const outs: Buffer[] = [];
  // enough terms to fill several slabs, one of them larger than a slab
  for (let i = 0; i < 400; i++) outs.push(enc.encode({ i, s: 'x'.repeat(i % 7 === 0 ? 70_000 : 300) }));
  assert.deepEqual(first, copy);
  for (let i = 0; i < outs.length; i++) assert.deepEqual(decode(outs[i] as Buffer), { i, s: 'x'.repeat(i % 7 === 0 ? 70_000 : 300) });
  // a failed term leaves nothing behind
  assert.throws(() => enc.encode([1, Symbol('no')]), EtfEncodeError);
  assert.deepEqual(decode(enc.encode('after')), 'after');
});

test('short binaries: ASCII up to 16 bytes is decoded in JavaScript, anything else as before', () => {
  const auto = new Decoder();
  const asString = new Decoder({ binaries: 'string' });
  const asBytes = new Decoder({ binaries: 'bytes' });
  for (let n = 0; n <= 20; n++) {
    const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 7) % 95))).join('');
    const bytes = Buffer.from([131, ...binBytes(ascii)]);
    assert.equal(auto.decode(bytes), ascii);
    assert.equal(asString.decode(bytes), ascii);
    assert.deepEqual(asBytes.decode(bytes), new Uint8Array(Buffer.from(ascii)));
    // control characters and NUL are ASCII too
    const ctl = Buffer.from([131, 109, 0, 0, 0, n, ...Array.from({ length: n }, (_, i) => i % 32)]);
    assert.equal(auto.decode(ctl), String.fromCharCode(...Array.from({ length: n }, (_, i) => i % 32)));
    for (let at = 0; at < n; at++) {
      // one non-ASCII byte anywhere: invalid UTF-8 stays bytes (auto), becomes U+FFFD (string)
      const bad = Buffer.from(bytes);
      bad[6 + at] = 0xff;
      assert.ok(auto.decode(bad) instanceof Uint8Array, `n=${n} at=${at}`);
      assert.equal((asString.decode(bad) as string).indexOf('\uFFFD'), at);
      assert.ok(asBytes.decode(bad) instanceof Uint8Array);
    }
    if (n >= 2) {
      // valid UTF-8 (é is two bytes) is a string
      const text = `${ascii.slice(0, n - 2)}é`;
      assert.equal(auto.decode(Buffer.from([131, ...binBytes(text)])), text);
    }
  }
  // a binary cut short is still an error
  assert.throws(() => auto.decode(Buffer.from([131, 109, 0, 0, 0, 5, 104, 105])), (e: unknown) => e instanceof EtfDecodeError && e.code === 'truncated');
});

test('predicted maps: binary values read directly, other values and cuts as without prediction', () => {
  const s = { name: 'a', city: 'b'.repeat(40), zip: 'é' };
  for (let i = 0; i < 4; i++) assert.deepEqual(decode(encode(s)), s);
  const mixed = { name: 1, city: [2], zip: new Uint8Array([255, 0]) };
  assert.deepEqual(decode(encode(mixed)), mixed);
  const invalid = Buffer.from(mapBytes([['name', [109, 0, 0, 0, 1, 0xff]], ['city', binBytes('')], ['zip', binBytes('z')]]));
  assert.deepEqual(decode(invalid), { name: new Uint8Array([0xff]), city: '', zip: 'z' });
  // cut anywhere: the same error, at the same offset, as a decoder that never predicts (maps: 'erlmap')
  const bytes = encode(s);
  assertCutsFailAsUnpredicted(bytes, decode);
  // a heap budget stops a predicted map where it stops one read without prediction
  for (let budget = 100; budget < 400; budget += 8) {
    const predicted = new Decoder({ maxHeapBytes: budget });
    const plain = new Decoder({ maxHeapBytes: budget, maps: 'erlmap' });
    const got = decodeFailure(() => predicted.decode(bytes));
    assert.equal(got, decodeFailure(() => plain.decode(bytes)), `budget ${budget}`);
    if (budget < 200) assert.match(got, /^memory@/);
  }
});

test('integers at the boundaries of SMALL_INTEGER, INTEGER and SMALL_BIG, alone and inside objects', () => {
  const cases: Array<[number | bigint, number[]]> = [
    [0, [97, 0]],
    [255, [97, 255]],
    [256, [98, 0, 0, 1, 0]],
    [-1, [98, 255, 255, 255, 255]],
    [2147483647, [98, 127, 255, 255, 255]],
    [-2147483648, [98, 128, 0, 0, 0]],
    [2147483648, [110, 4, 0, 0, 0, 0, 128]],
    [-2147483649, [110, 4, 1, 1, 0, 0, 128]],
    [Number.MAX_SAFE_INTEGER, [110, 7, 0, 255, 255, 255, 255, 255, 255, 31]],
    [-Number.MAX_SAFE_INTEGER, [110, 7, 1, 255, 255, 255, 255, 255, 255, 31]],
    [2n ** 64n - 1n, [110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255]],
    [2n ** 64n, [110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
  ];
  for (const [v, form] of cases) {
    assert.deepEqual([...encode(v)], [131, ...form], String(v));
    assert.deepEqual([...encode({ v })], mapBytes([['v', form]]), String(v));
    assert.deepEqual([...encode(tuple(v))], [131, 104, 1, ...form], String(v));
    const back = decode(encode(v));
    assert.equal(back, typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  }
  // -0 and non-integers are floats
  assert.equal(encode(-0)[1], 70);
  assert.equal(encode({ v: 0.5 })[9], 70);
});

test('writers: atoms, pids and refs written a word at a time land right after the writer grows or its buffer is replaced', async () => {
  const { Pid, Ref } = await import('../terms/index.js');
  const node = atom('words@host');
  const term = tuple(atom('a'), atom('ab'), atom('abc'), atom('abcd'), atom('abcde'), new Pid(node, 0xffffffff, 1, 2), new Ref(node, 3, [1, 0xfffffffe, 3]), { k1: atom('v'), key_two: 2 });
  const expected = encode(term).subarray(1);
  const enc = new Encoder();
  const w = new EtfWriter(16); // grows while the term is written
  for (let i = 0; i < 3; i++) {
    w.reset();
    enc.writeTerm(w, term);
    assert.deepEqual(w.view(), expected);
    // the buffer replaced from outside (as the distribution layer does), at an odd offset of a larger one
    const outer = Buffer.alloc(4096, 0xaa);
    w.buf = outer.subarray(3 + i);
    w.length = 5;
    enc.writeTerm(w, term);
    assert.deepEqual(w.buf.subarray(5, w.length), expected);
    assert.equal(outer[2 + i], 0xaa); // nothing written before the buffer's start
    assert.equal(outer[3 + i + w.length], 0xaa); // nor after the term
  }
});

test('predicted maps: keys compared in the input memory at any offset, in small and large inputs alike', () => {
  const m = { first_key: 'one', second_key: 'two', k3: 3 };
  const bytes = encode(m);
  const dec = new Decoder();
  for (const size of [256, 200_000]) {
    const memory = Buffer.alloc(size, 0xee);
    for (let at = 1; at < 9; at++) {
      bytes.copy(memory, at, 1); // without the 131: decodeAt reads the term at an offset
      assert.deepEqual(dec.decodeAt(memory, at), { term: m, offset: at + bytes.length - 1 });
      // the same memory through another Buffer object, starting elsewhere
      const view = memory.subarray(at - 1);
      assert.deepEqual(dec.decodeAt(view, 1).term, m);
      // a key changed in place after the last decode is seen
      memory[at + 7] = (memory[at + 7] as number) ^ 1; // first_key becomes girst_key
      assert.notDeepEqual(dec.decodeAt(memory, at).term, m);
      memory.fill(0xee);
    }
  }
});

test('medium binaries: ASCII checked a word at a time, anything else as before, in short and long inputs', () => {
  const auto = new Decoder();
  const asString = new Decoder({ binaries: 'string' });
  const asBytes = new Decoder({ binaries: 'bytes' });
  for (const n of [17, 18, 19, 20, 21, 36, 255, 1023, 1024, 1025]) {
    const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 13) % 95))).join('');
    const alone = Buffer.from([131, ...binBytes(ascii)]);
    // a long input (the binary is followed by more terms) and a short one (the binary alone)
    const long = encode([ascii, 'x'.repeat(300), ascii]);
    for (let round = 0; round < 2; round++) {
      assert.equal(auto.decode(alone), ascii);
      assert.deepEqual(auto.decode(long), [ascii, 'x'.repeat(300), ascii]);
      assert.equal(asString.decode(alone), ascii);
      assert.deepEqual(asBytes.decode(alone), new Uint8Array(Buffer.from(ascii)));
    }
    for (const at of [0, 1, 2, 3, n - 5, n - 4, n - 3, n - 1]) {
      const bad = Buffer.from(long);
      bad[11 + at] = 0xc3; // first copy of the text starts after 131, LIST_EXT (5 bytes) and BINARY_EXT's header (5 bytes)
      const out = auto.decode(bad) as unknown[];
      assert.ok(out[0] instanceof Uint8Array, `n=${n} at=${at}`); // 0xc3 then an ASCII byte: invalid UTF-8
      assert.equal(out[2], ascii);
      const lossy = asString.decode(bad) as string[];
      assert.equal((lossy[0] as string).indexOf('\uFFFD'), at);
      // valid UTF-8 (é) stays a string
      const text = `${ascii.slice(0, at)}é${ascii.slice(at + 2)}`;
      assert.deepEqual(auto.decode(encode([text, 'x'.repeat(300)])), [text, 'x'.repeat(300)]);
    }
  }
});

test('medium ASCII values: in maps of many entries, from one input and never another, in frames and compressed terms', () => {
  const dec = new Decoder();
  const plain = new Decoder({ maps: 'erlmap' });
  const text = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 7 + seed * 31) % 95))).join('');
  // Values of 17..1024 characters, some not ASCII, in maps of more than 2 KiB.
  for (let seed = 0; seed < 40; seed++) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++) {
      const n = 17 + ((seed * 97 + i * 389) % 1008);
      o[`k${i}`] = i % 11 === 5 ? `${text(n - 2, i)}é` : i % 13 === 7 ? 42 : text(n, seed + i);
    }
    const bytes = encode(o);
    for (let round = 0; round < 2; round++) assert.deepEqual(dec.decode(bytes), o, `seed ${seed}`);
    assert.deepEqual(Object.fromEntries([...(plain.decode(bytes) as Map<Atom, unknown>)].map(([k, v]) => [k.name, v])), o);
  }
  // The same offsets in the next input hold other text: nothing of the last input is reused.
  const a = { x: text(40, 1), y: text(40, 2) };
  const b = { x: text(40, 3), y: text(40, 4) };
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(dec.decode(encode(a)), a);
    assert.deepEqual(dec.decode(encode(b)), b);
  }
  // Terms one after another in one buffer (as in a frame), the bytes after the first not ASCII: each term gets its own values.
  const one = encode({ s: text(30, 5), t: text(300, 6) });
  const two = encode(['é'.repeat(20), text(50, 7), { s: text(30, 8), t: text(300, 9) }]);
  const frame = Buffer.concat([one.subarray(1), two.subarray(1)]);
  const first = dec.decodeAt(frame, 0);
  assert.deepEqual(first.term, { s: text(30, 5), t: text(300, 6) });
  assert.deepEqual(dec.decodeAt(frame, first.offset).term, ['é'.repeat(20), text(50, 7), { s: text(30, 8), t: text(300, 9) }]);
  // A compressed term: its values come from the inflated bytes.
  const big = { s: text(500, 10), t: text(500, 10) };
  assert.deepEqual(dec.decode(encode(big, { compressed: true })), big);
});
