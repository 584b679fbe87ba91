/**
 * Property-based tests (fast-check): random JavaScript values from the
 * documented mapping round-trip unchanged, and re-encoding a decoded term
 * gives the same bytes (so Erlang → JS → Erlang is lossless).
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atom, tuple, Pid, Ref, Port, ImproperList } from '../terms/index.js';
import { encode, decode, Encoder, Decoder, Float, Charlist, BitString, ErlMap, ExportFun, termEquals } from './index.js';
import { same } from './test-support.js';

/** No lone surrogates (those are sent as U+FFFD, a documented normalisation). */
const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;
const nodeName = fc.constantFrom(atom('a@127.0.0.1'), atom('b@vm'), atom('nonode@nohost'));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => wellFormed(s));
const atomArb = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => wellFormed(s)).map((s) => atom(s));

const leaf = fc.oneof(
  atomArb,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isSafeInteger(d) || Object.is(d, -0)),
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => new Float(n)),
  fc.bigInt().filter((b) => b > 9007199254740991n || b < -9007199254740991n),
  text,
  fc.uint8Array({ minLength: 1, maxLength: 20 }), // an empty Uint8Array comes back as '' (documented)
  fc.record({ bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }), bits: fc.integer({ min: 1, max: 7 }) }).map(({ bytes, bits }) => {
    const b = Uint8Array.from(bytes);
    b[b.length - 1] = (b[b.length - 1] as number) & ((0xff << (8 - bits)) & 0xff);
    return new BitString(b, bits);
  }),
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 }).map((s) => new Charlist(s)),
  fc.tuple(nodeName, u32, u32, u32).map(([n, i, s, c]) => new Pid(n, i, s, c)),
  fc.tuple(nodeName, u32, fc.array(u32, { minLength: 1, maxLength: 5 })).map(([n, c, ids]) => new Ref(n, c, ids)),
  fc.tuple(nodeName, fc.oneof(u32, fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n })), u32).map(([n, i, c]) => new Port(n, i, c)),
  fc.tuple(atomArb, atomArb, fc.integer({ min: 0, max: 255 })).map(([m, f, a]) => new ExportFun(m, f, a)),
  fc.integer({ min: -8.64e15, max: 8.64e15 }).map((t) => new Date(t)),
);

const objectKey = fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => wellFormed(s) && s !== '__struct__');
const primitiveKey = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isSafeInteger(d)));
const structuredKey = fc.oneof(
  fc.array(fc.integer(), { maxLength: 3 }).map((a) => tuple(...a)),
  fc.integer({ min: -100, max: 100 }).map((n) => new Float(n)),
  fc.uint8Array({ minLength: 1, maxLength: 4 }),
);

const { term } = fc.letrec((tie) => ({
  term: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('compound')),
  compound: fc.oneof(
    fc.array(tie('term'), { maxLength: 5 }),
    fc.array(tie('term'), { maxLength: 5 }).map((a) => tuple(...a)),
    fc.tuple(fc.array(tie('term'), { minLength: 1, maxLength: 3 }), fc.oneof(fc.integer(), atomArb, text)).map(([items, tail]) => new ImproperList(items, tail)),
    fc.dictionary(objectKey, tie('term'), { maxKeys: 5 }).map((d) => ({ ...d })),
    fc.tuple(primitiveKey, fc.array(fc.tuple(primitiveKey, tie('term')), { maxLength: 4 }), tie('term')).map(([k0, rest, v0]) => {
      const m = new Map<unknown, unknown>([[k0, v0]]);
      for (const [k, v] of rest) m.set(k, v);
      return m;
    }),
    fc.tuple(structuredKey, fc.array(fc.tuple(fc.oneof(structuredKey, primitiveKey), tie('term')), { maxLength: 4 }), tie('term')).map(([k0, rest, v0]) => {
      const m = new ErlMap<unknown, unknown>([[k0, v0]]);
      for (const [k, v] of rest) if (!m.has(k)) m.set(k, v);
      return m;
    }),
  ),
}));

test('property: JS → ETF → JS gives back the same value', () => {
  let nested = 0;
  let maxBytes = 0;
  fc.assert(
    fc.property(term, (v) => {
      const bytes = encode(v);
      maxBytes = Math.max(maxBytes, bytes.length);
      if (bytes[1] === 104 || bytes[1] === 108 || bytes[1] === 116) nested++;
      const back = decode(bytes);
      assert.ok(same(back, v), 'value changed');
    }),
    { numRuns: 3000, seed: 1 },
  );
  // The generator really produces nested terms.
  assert.ok(nested > 600, `only ${nested} nested terms`);
  assert.ok(maxBytes > 300, `largest term ${maxBytes} bytes`);
});

test('property: re-encoding a decoded term gives the same bytes (Erlang → JS → Erlang is lossless)', () => {
  const latin1 = new Encoder({ atomEncoding: 'latin1' });
  fc.assert(
    fc.property(term, fc.boolean(), (v, useLatin1) => {
      const enc = useLatin1 ? latin1 : new Encoder();
      const bytes = enc.encode(v);
      assert.equal(enc.encode(decode(bytes)).toString('hex'), bytes.toString('hex'));
      assert.ok(termEquals(decode(bytes), v));
    }),
    { numRuns: 2000, seed: 2 },
  );
});

test('property: decoding with any option set never fails on valid input', () => {
  const variants = [
    new Decoder({ binaries: 'bytes', copyBinaries: false }),
    new Decoder({ floats: 'box', strings: 'array', maps: 'erlmap', nullAtoms: false, structs: false }),
    new Decoder({ binaries: 'string', floats: 'number' }),
  ];
  fc.assert(
    fc.property(term, (v) => {
      const bytes = encode(v);
      for (const d of variants) d.decode(bytes);
      // compressed form decodes to the same value
      assert.ok(same(decode(encode(v, { compressed: true })), decode(bytes)));
    }),
    { numRuns: 1000, seed: 3 },
  );
});

test('property: objects of medium and long strings (text windows, ASCII runs) round-trip through one encoder and one decoder', () => {
  // Mostly-ASCII strings of 0..1100 characters, now and then a character of 2, 3 or 4 UTF-8 bytes; the same
  // keys again and again, so the decoder predicts the shape and the encoder remembers keys by position.
  const char = fc.oneof({ weight: 60, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, fc.constantFrom(0x7f, 0xe9, 0x7ff, 0x65e5, 0x1f600)).map((c) => String.fromCodePoint(c));
  const value = fc.oneof({ weight: 8, arbitrary: fc.array(char, { maxLength: 1100 }).map((cs) => cs.join('')) }, fc.integer(), fc.array(char, { maxLength: 40 }).map((cs) => [cs.join('')]));
  const record = fc.array(value, { minLength: 1, maxLength: 30 }).map((vs) => Object.fromEntries(vs.map((v, i) => [`field_${i}`, v])));
  const enc = new Encoder();
  const dec = new Decoder();
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), (records) => {
      for (const r of records) {
        const bytes = enc.encode(r);
        assert.deepEqual(dec.decode(bytes), r);
        assert.deepEqual(dec.decode(bytes), r);
        assert.ok(Buffer.from(enc.encode(dec.decode(bytes))).equals(Buffer.from(bytes)));
      }
    }),
    { numRuns: 300, seed: 4 },
  );
});
