/**
 * Hostile-input tests of the decoder: oversized length claims are rejected
 * after a few bytes and before allocation, nesting and inflation are
 * bounded, and every failure is an EtfDecodeError with a code and an offset.
 * A fuzz pass mutates the real OTP vectors and checks that the decoder only
 * ever returns or throws EtfDecodeError.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { atom, tuple } from '../terms/index.js';
import { decode, encode, Decoder, EtfDecodeError, type EtfDecodeErrorCode } from './index.js';
import { loadVectors } from './test-support.js';

function rejects(bytes: number[] | Buffer, code: EtfDecodeErrorCode, offset?: number, dec: Decoder = new Decoder()): void {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  assert.throws(
    () => dec.decode(buf),
    (e: unknown) => {
      assert.ok(e instanceof EtfDecodeError, `not an EtfDecodeError: ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

const FF = [0xff, 0xff, 0xff, 0xff];

test('4 GB length claims are rejected from the header alone', () => {
  const before = process.memoryUsage().rss;
  rejects([131, 108, ...FF, 106], 'limit', 1); // LIST_EXT
  rejects([131, 105, ...FF, 97, 1], 'limit', 1); // LARGE_TUPLE_EXT
  rejects([131, 116, ...FF, 97, 1, 97, 2], 'limit', 1); // MAP_EXT
  rejects([131, 109, ...FF, 1, 2, 3], 'truncated', 1); // BINARY_EXT
  rejects([131, 77, ...FF, 8, 1], 'truncated', 1); // BIT_BINARY_EXT
  rejects([131, 111, ...FF, 0, 1], 'limit', 1); // LARGE_BIG_EXT beyond maxBigIntBytes
  rejects([131, 107, 0xff, 0xff, 97], 'truncated', 1); // STRING_EXT
  rejects([131, 118, 0xff, 0xff, 97], 'bad_atom', 1); // ATOM_UTF8_EXT
  rejects([131, 112, ...FF, 0], 'truncated', 1); // NEW_FUN_EXT
  rejects([131, 80, ...FF, 0x78, 0x9c], 'limit', 1); // compressed claiming 4 GB
  rejects([131, 104, 255, 97], 'limit', 1); // SMALL_TUPLE_EXT claiming 255 elements
  assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
});

test('each list, tuple and map element needs a byte: claims just beyond the input fail early', () => {
  rejects([131, 108, 0, 0, 0, 5, 97, 1, 97, 2, 106], 'limit', 1);
  rejects([131, 104, 5, 97, 1, 97, 2], 'limit', 1);
  rejects([131, 116, 0, 0, 0, 3, 97, 1, 97, 2], 'limit', 1);
});

test('deep nesting decodes without a limit, and maxDepth still bounds it when set', () => {
  const n = 200000;
  const deep = Buffer.alloc(2 + n * 2);
  deep[0] = 131;
  for (let i = 0; i < n; i++) {
    deep[1 + i * 2] = 104;
    deep[2 + i * 2] = 1;
  }
  deep[1 + n * 2] = 106;
  let t = new Decoder().decode(deep);
  for (let i = 0; i < n; i++) t = (t as { elements: unknown[] }).elements[0];
  assert.deepEqual(t, []);
  rejects(deep, 'too_deep', undefined, new Decoder({ maxDepth: 1000 }));
  // nested lists too
  const lists = Buffer.concat([Buffer.from([131]), Buffer.alloc(n * 5, Buffer.from([108, 0, 0, 0, 1])), Buffer.alloc(n + 1, 106)]);
  let l = new Decoder().decode(lists);
  for (let i = 0; i < n; i++) l = (l as unknown[])[0];
  assert.deepEqual(l, []);
  rejects(lists, 'too_deep', undefined, new Decoder({ maxDepth: 1000 }));
  const shallow = new Decoder({ maxDepth: 3 });
  rejects(encode([[[[1]]]]), 'too_deep', undefined, shallow);
  assert.deepEqual(shallow.decode(encode([[[1]]])), [[[1]]]);
});

test('a long chain of LIST_EXT tails decodes iteratively', () => {
  const n = 100000;
  const parts = [Buffer.from([131])];
  for (let i = 0; i < n; i++) parts.push(Buffer.from([108, 0, 0, 0, 1, 97, i & 0xff]));
  parts.push(Buffer.from([106]));
  const list = decode(Buffer.concat(parts)) as number[];
  assert.equal(list.length, n);
  assert.equal(list[n - 1], (n - 1) & 0xff);
});

test('compressed terms: inflated size is bounded and checked', () => {
  const inner = encode('x'.repeat(1 << 20)).subarray(1);
  const z = deflateSync(inner);
  const good = Buffer.concat([Buffer.from([131, 80]), Buffer.alloc(4), z]);
  good.writeUInt32BE(inner.length, 2);
  assert.equal((decode(good) as string).length, 1 << 20);
  // a bomb that lies about its size
  const lie = Buffer.from(good);
  lie.writeUInt32BE(1000, 2);
  rejects(lie, 'compressed', 1);
  // over the configured limit
  rejects(good, 'limit', 1, new Decoder({ maxInflatedBytes: 1 << 16 }));
  // garbage zlib
  rejects([131, 80, 0, 0, 0, 10, 1, 2, 3, 4], 'compressed', 1);
  // nested compression is not allowed
  rejects([131, 104, 1, 80, 0, 0, 0, 1], 'compressed', 3);
});

test('other malformed input gives typed errors with offsets', () => {
  rejects([], 'truncated', 0);
  rejects([130, 97, 1], 'bad_version', 0);
  rejects([131], 'truncated', 1);
  rejects([131, 97], 'truncated', 2);
  rejects([131, 97, 1, 0], 'trailing_bytes', 3);
  rejects([131, 42], 'bad_tag', 1);
  rejects([131, 117, 0, 0, 0, 0], 'bad_tag', 1); // FUN_EXT
  rejects([131, 121, 0], 'bad_tag', 1); // LOCAL_EXT
  rejects([131, 104, 2, 97, 1, 82, 0], 'atom_cache', 5); // no table
  rejects(Buffer.from([131, 82, 3]), 'atom_cache', 1, new Decoder({ atomCache: [atom('a')] }));
  rejects([131, 119, 2, 0xc3, 0x28], 'bad_atom', 1); // invalid UTF-8 atom
  rejects([131, 77, 0, 0, 0, 1, 9, 0], 'bad_value', 1); // 9 bits
  rejects([131, 77, 0, 0, 0, 0, 8], 'bad_value', 1); // empty with 8 bits (Erlang rejects it too)
  rejects([131, 110, 1, 2, 5], 'bad_value', 1); // sign byte 2
  rejects([131, 90, 0, 9, 119, 1, 97, 0, 0, 0, 0], 'bad_value', 1); // 9 reference words
  rejects([131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3], 'duplicate_key', 1);
  rejects([131, 116, 0, 0, 0, 2, 119, 1, 97, 97, 2, 119, 1, 97, 97, 3], 'duplicate_key', 1);
  rejects([131, 70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], 'bad_float', 1); // infinity
  rejects([131, 99, ...Buffer.alloc(31, 0x41)], 'bad_float', 1);
  rejects([131, 113, 119, 1, 109, 119, 1, 102, 98, 0, 0, 0, 1], 'bad_value', 8); // arity not SMALL_INTEGER
});

test('a map key __proto__ does not touch the prototype', () => {
  const bytes = Buffer.from([131, 116, 0, 0, 0, 1, 119, 9, ...Buffer.from('__proto__'), 116, 0, 0, 0, 1, 119, 1, 120, 97, 1]);
  const obj = decode(bytes) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
  assert.deepEqual(Object.keys(obj), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['x'], undefined);
  assert.deepEqual(decode(encode(obj)), obj);
});

/** Mutations of real OTP vectors: the decoder returns or throws EtfDecodeError, nothing else. */
test('fuzz: mutated OTP vectors never crash the decoder', () => {
  const seeds = loadVectors().map((v) => v.bytes);
  const decoders = [new Decoder(), new Decoder({ binaries: 'bytes', maps: 'erlmap', floats: 'box', strings: 'array' })];
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    edits: fc.array(
      fc.record({
        kind: fc.constantFrom('set', 'insert', 'delete', 'truncate', 'bigLength'),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  });
  let errors = 0;
  fc.assert(
    fc.property(mutation, ({ seed, edits }) => {
      let b = [...(seeds[seed] as Buffer)];
      for (const e of edits) {
        const at = b.length === 0 ? 0 : e.at % b.length;
        if (e.kind === 'set') b[at] = e.byte;
        else if (e.kind === 'insert') b.splice(at, 0, e.byte);
        else if (e.kind === 'delete') b.splice(at, 1);
        else if (e.kind === 'truncate') b = b.slice(0, at);
        else b.splice(at, 4, 0xff, 0xff, 0xff, e.byte);
      }
      const buf = Buffer.from(b);
      for (const d of decoders) {
        try {
          d.decode(buf);
        } catch (err) {
          if (!(err instanceof EtfDecodeError)) throw err;
          assert.ok(err.offset >= 0 && err.offset <= Math.max(buf.length, 1 << 20));
          errors++;
        }
      }
    }),
    { numRuns: 20000, seed: 42 },
  );
  assert.ok(errors > 1000);
});

test('fuzz: random bytes after 131', () => {
  const dec = new Decoder();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        dec.decode(Buffer.concat([Buffer.from([131]), bytes]));
      } catch (err) {
        if (!(err instanceof EtfDecodeError)) throw err;
      }
    }),
    { numRuns: 20000, seed: 7 },
  );
});

/**
 * Seeded fuzz of the explicit-stack decoder: token streams of container
 * headers with random and hostile counts (deep, wide, lying), every
 * truncation of deep terms, and the same streams compressed (valid zlib
 * around hostile content, and corrupted zlib). Only EtfDecodeError, and
 * every input is answered (no hang: each decode is bounded by its input).
 */
test('fuzz: hostile container streams, truncations and compressed forms (seeded)', () => {
  let state = 0x9e3779b9;
  const rnd = (n: number): number => {
    // xorshift32, seeded: the same inputs every run
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const hostile = (): number => [0, 1, 2, 3, 255, 65535, 0x7fffffff, 0xffffffff, rnd(100)][rnd(9)] as number;
  const token = (): number[] => {
    switch (rnd(14)) {
      case 0: return [104, rnd(4)]; // SMALL_TUPLE
      case 1: return [105, ...u32(hostile())]; // LARGE_TUPLE
      case 2: return [108, ...u32(rnd(3) === 0 ? hostile() : rnd(3))]; // LIST
      case 3: return [116, ...u32(rnd(3) === 0 ? hostile() : rnd(3))]; // MAP
      case 4: return [106]; // NIL
      case 5: return [97, rnd(256)];
      case 6: return [119, 1, 97 + rnd(3)];
      case 7: return [109, ...u32(rnd(4) === 0 ? hostile() : rnd(3)), 120, 121];
      case 8: return [110, rnd(9), rnd(3), 1, 2, 3];
      case 9: return [111, ...u32(hostile()), 0, 1];
      case 10: return [107, 0, rnd(3), 65, 66];
      case 11: return [77, ...u32(rnd(3)), rnd(10), 0xff];
      case 12: return [112, ...u32(hostile()), 0];
      default: return [rnd(256)];
    }
  };
  const decoders = [new Decoder(), new Decoder({ maps: 'erlmap', binaries: 'bytes', maxHeapBytes: 1 << 20 })];
  let errors = 0;
  let ok = 0;
  const attempt = (buf: Buffer): void => {
    for (const d of decoders) {
      try {
        d.decode(buf);
        ok++;
      } catch (err) {
        if (!(err instanceof EtfDecodeError)) throw new Error(`not an EtfDecodeError for ${buf.toString('hex').slice(0, 200)}: ${String(err)}`);
        errors++;
      }
    }
  };
  for (let run = 0; run < 4000; run++) {
    const parts: number[] = [131];
    const n = 1 + rnd(40);
    for (let i = 0; i < n; i++) parts.push(...token());
    const buf = Buffer.from(parts);
    attempt(buf);
    if (run % 4 === 0) {
      const z = deflateSync(buf.subarray(1));
      const sizeLie = rnd(3) === 0 ? hostile() : buf.length - 1;
      attempt(Buffer.concat([Buffer.from([131, 80, ...u32(sizeLie)]), z]));
      const bad = Buffer.from(z);
      if (bad.length > 2) { const i = rnd(bad.length); bad[i] = (bad[i] as number) ^ (1 << rnd(8)); }
      attempt(Buffer.concat([Buffer.from([131, 80, ...u32(buf.length - 1)]), bad]));
    }
  }
  // every truncation of a deep, mixed term
  const deep = encode([tuple(new Map<unknown, unknown>([[1, [{ a: [tuple()] }]]])), 'x', [[[[[1n << 100n]]]]]]);
  for (let cut = 0; cut < deep.length; cut++) attempt(deep.subarray(0, cut));
  assert.ok(errors > 5000, `${errors} errors`);
  assert.ok(ok > 20, `${ok} decoded`);
});
