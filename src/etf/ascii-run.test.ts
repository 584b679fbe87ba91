/**
 * Tests of the encoder's ASCII runs: a plain object's entries whose keys and
 * string values are ASCII are written by one native UTF-8 write, checked by
 * its byte count and rewritten one by one when a value is not ASCII. Every
 * boundary of the fast path gives the bytes OTP gives: a non-ASCII character
 * (or a lone surrogate) at each position of each value length, values at the
 * length limits, runs ended by every kind of value, more entries than a run
 * holds, keys that cannot join a run, a writer with too little room, a term
 * that fails part way, and the cooldown after a run that was not ASCII.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atom } from '../terms/index.js';
import { Encoder, EtfEncodeError, EtfWriter, decode } from './index.js';
import { atomBytes, binBytes } from './test-support.js';

/** The bytes OTP writes for the JS values used here (after the 131), with UTF-8 or Latin-1 atoms. */
function ref(v: unknown, latin1 = false): number[] {
  if (typeof v === 'string') return binBytes(v);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return [97, v];
  if (typeof v === 'boolean') return atomRef(String(v), latin1);
  if (v === null) return atomRef('nil', latin1);
  if (Array.isArray(v)) return v.length === 0 ? [106] : [108, 0, 0, 0, v.length, ...v.flatMap((x) => ref(x, latin1)), 106];
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const n = keys.length;
    return [116, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...keys.flatMap((k) => [...atomRef(k, latin1), ...ref(o[k], latin1)])];
  }
  throw new Error(`no reference bytes for ${String(v)}`);
}

function atomRef(name: string, latin1: boolean): number[] {
  if (latin1 && [...name].every((c) => (c.codePointAt(0) as number) <= 0xff)) return [100, 0, name.length, ...Buffer.from(name, 'latin1')];
  return atomBytes(name);
}

function check(enc: Encoder, o: unknown, what: string, latin1 = false): void {
  assert.deepEqual([...enc.encode(o)], [131, ...ref(o, latin1)], what);
}

/** An ASCII string of `len` characters that differs with `seed`. */
function ascii(len: number, seed: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(0x20 + ((i * 7 + seed * 13) % 95));
  return s;
}

/** The encoder's private run state, to check that its bounds hold. */
function runState(enc: Encoder): { runCooldown: number } {
  return enc as unknown as { runCooldown: number };
}

const NOT_ASCII = ['\u0080', '\u00e9', '\u00ff', '\u07ff', '\u0800', '\u65e5', '\uffff', '\ud83d\ude00', '\ud800', '\udfff'];

test('ASCII runs: a non-ASCII character or lone surrogate at each position of each value length gives the UTF-8 bytes', () => {
  for (const len of [1, 2, 23, 24, 25, 26, 36, 64, 126, 127, 128, 129]) {
    for (const bad of NOT_ASCII) {
      const positions = len <= 40 ? Array.from({ length: len }, (_, i) => i) : [0, 1, 2, 3, 4, 5, 24, 25, len >> 1, len - 3, len - 2, len - 1];
      for (const at of positions) {
        if (at + bad.length > len) continue;
        const enc = new Encoder();
        const o: Record<string, string> = {};
        for (let e = 0; e < 5; e++) o[`field_${e}`] = ascii(len, e);
        // Warm: the run's headers are remembered (and made flat the second time).
        check(enc, o, `ascii ${len}`);
        check(enc, o, `ascii ${len} again`);
        for (const entry of [0, 2, 4]) {
          const s = ascii(len, entry);
          const withBad = { ...o, [`field_${entry}`]: s.slice(0, at) + bad + s.slice(at + bad.length) };
          const e2 = new Encoder();
          check(e2, o, 'warm');
          check(e2, withBad, `len ${len}, ${JSON.stringify(bad)} at ${at} of entry ${entry}`);
          // The same encoder right after (cooling down: no runs) and a fresh one agree.
          check(e2, withBad, 'again, cooling down');
          check(enc, withBad, 'other encoder');
        }
      }
    }
  }
});

test('ASCII runs: DEL (0x7f) is ASCII and joins a run; values of 24, 25, 127 and 128 characters at the limits', () => {
  const enc = new Encoder();
  for (const len of [0, 1, 24, 25, 126, 127, 128, 255, 256, 65536]) {
    const v = '\u007f'.repeat(len);
    for (const o of [{ a: v }, { a: v, b: ascii(30, 1) }, { b: ascii(30, 1), a: v }, { b: ascii(30, 1), a: v, c: ascii(30, 2) }, { b: 'x', a: v, c: 'y' }]) {
      check(enc, o, `${len} in ${Object.keys(o).join(',')}`);
      check(enc, o, 'again');
    }
  }
  // Short values join a run only once one is open; they are written the same either way.
  check(enc, { a: 'short', b: ascii(40, 3), c: 'x', d: '', e: ascii(24, 4), f: ascii(25, 5) }, 'short values around a run');
});

test('ASCII runs: every kind of value ends a run at every position, nested objects run on their own', () => {
  const enc = new Encoder();
  const others: unknown[] = [7, 255, null, true, [], [1, ascii(30, 9)], { x: ascii(30, 8), y: 1 }, {}, 'é'.repeat(30), 'x', '', ascii(200, 7)];
  for (const other of others) {
    for (let at = 0; at <= 4; at++) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 4; i++) {
        if (i === at) o[`other_${i}`] = other;
        o[`k${i}`] = ascii(30 + i, i);
      }
      if (at === 4) o.last = other;
      check(enc, o, `${JSON.stringify(other)} at ${at}`);
      check(enc, { outer: ascii(40, 1), inner: o, after: ascii(41, 2) }, `nested, ${JSON.stringify(other)} at ${at}`);
    }
  }
  // Values that are not in the reference mapping end a run too, and come back as themselves.
  const mixed = { a: ascii(30, 1), bytes: Uint8Array.of(1, 2, 3), b: ascii(31, 2), ok: atom('ok'), c: ascii(32, 3), big: 1n << 70n, d: ascii(33, 4) };
  assert.deepEqual(decode(enc.encode(mixed)), mixed);
});

test('ASCII runs: more entries than one run holds, with a non-ASCII value before, at and after each boundary', () => {
  for (const n of [31, 32, 33, 63, 64, 65, 127, 128, 129, 300]) {
    const enc = new Encoder();
    const o: Record<string, string> = {};
    for (let i = 0; i < n; i++) o[`key_${i}`] = ascii(25 + (i % 50), i);
    check(enc, o, `${n} entries`);
    check(enc, o, `${n} entries again`);
    for (const bad of [0, 31, 32, 62, 63, 64, 65, n - 1]) {
      if (bad >= n) continue;
      const e2 = new Encoder();
      check(e2, { ...o, [`key_${bad}`]: `${ascii(30, bad)}\u00e9` }, `${n} entries, é in entry ${bad}`);
    }
  }
});

test('ASCII runs: keys that cannot join a run (not ASCII, 128 bytes and more) keep their encodings', () => {
  const enc = new Encoder();
  const v = ascii(40, 1);
  for (const key of ['é', '日本', '\u{1f600}', 'a'.repeat(126), 'a'.repeat(127), 'a'.repeat(128), 'b'.repeat(255), `${'c'.repeat(126)}é`]) {
    const o = { first: v, [key]: ascii(41, 2), last: ascii(42, 3) };
    check(enc, o, `key of ${key.length}`);
    check(enc, o, `key of ${key.length} again`);
    check(new Encoder({ atomEncoding: 'latin1' }), o, `latin1 atoms, key of ${key.length}`, true);
  }
  // An atom longer than Erlang allows fails as before, and the encoder is not left with the failed run.
  const tooLong = { a: ascii(40, 1), ['k'.repeat(256)]: ascii(40, 2) };
  assert.throws(() => enc.encode(tooLong), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_atom');
  check(enc, { a: ascii(40, 1), b: `é${ascii(40, 2)}` }, 'after the failed term');
  check(enc, { a: ascii(40, 1), b: ascii(40, 2) }, 'and an ASCII one');
});

test('ASCII runs: a term that fails part way leaves no pending entries behind', () => {
  const enc = new Encoder();
  // The third key fails while the first two entries are pending in the run.
  const bad = { a: ascii(40, 1), b: ascii(40, 2), ['k'.repeat(300)]: ascii(40, 3) };
  assert.throws(() => enc.encode(bad), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_atom');
  // The next run is not ASCII: only its own entries are rewritten.
  const next = { x: ascii(30, 3), y: `${ascii(30, 4)}\u00ff` };
  check(enc, next, 'the next term');
  const w = new EtfWriter(16);
  assert.throws(() => enc.writeTerm(w, [{ a: ascii(40, 1), b: () => 1 }]), (e: unknown) => e instanceof EtfEncodeError && e.code === 'unsupported');
  assert.throws(() => enc.writeTerm(w, { a: ascii(40, 1), b: ascii(40, 2), c: Symbol('no') }), (e: unknown) => e instanceof EtfEncodeError && e.code === 'unsupported');
  w.reset();
  enc.writeTerm(w, next);
  assert.deepEqual([...w.view()], ref(next));
});

test('ASCII runs: a value is read once, by the run and when the run is rewritten', () => {
  for (const value of [ascii(40, 1), `${ascii(40, 1)}é`]) {
    let reads = 0;
    const o = { a: ascii(40, 2) } as Record<string, unknown>;
    Object.defineProperty(o, 'b', { enumerable: true, get: () => (reads++, value) });
    o.c = ascii(40, 3);
    const enc = new Encoder();
    assert.deepEqual([...enc.encode(o)], [131, ...ref({ a: o.a, b: value, c: o.c })]);
    assert.equal(reads, 1);
  }
});

test('ASCII runs: a key whose values change length is written right each time (the header it remembers follows)', () => {
  const enc = new Encoder();
  const lengths = [30, 31, 30, 30, 30, 127, 25, 25, 128, 24, 31, 31, 0, 31];
  for (let round = 0; round < 3; round++) {
    for (const [i, len] of lengths.entries()) {
      check(enc, { k: ascii(len, i), j: ascii(lengths[(i + 1) % lengths.length] as number, i) }, `round ${round}, length ${len}`);
    }
  }
  // The same key at other positions and depths.
  check(enc, { z: ascii(30, 1), k: ascii(33, 2), n: { k: ascii(34, 3), z: ascii(35, 4) } }, 'other positions');
});

test('ASCII runs: after a run that is not ASCII, objects go without runs for a bounded while, then with them again', () => {
  const enc = new Encoder();
  const plain = { a: ascii(40, 1), b: ascii(40, 2) };
  const accented = { a: ascii(40, 1), b: `${ascii(40, 2)}é` };
  check(enc, plain, 'plain');
  assert.equal(runState(enc).runCooldown, 0);
  check(enc, accented, 'accented');
  const cooldown = runState(enc).runCooldown;
  assert.ok(cooldown > 0 && cooldown <= 64, `cooldown ${cooldown}`);
  for (let i = 0; i < cooldown; i++) check(enc, i % 2 === 0 ? plain : accented, `cooling ${i}`);
  assert.equal(runState(enc).runCooldown, 0);
  check(enc, plain, 'runs again');
  assert.equal(runState(enc).runCooldown, 0);
  check(enc, { outer: accented, again: plain }, 'nested');
  assert.ok(runState(enc).runCooldown > 0);
});

test('ASCII runs: any room in the writer (growing it, or less than the worst case of 3 bytes a character)', () => {
  const enc = new Encoder();
  for (const value of [ascii(60, 1), `${ascii(59, 1)}é`, `é${ascii(59, 1)}`]) {
    const o = { a: ascii(60, 2), b: value, c: ascii(60, 3) };
    const expected = ref(o);
    for (let cap = 16; cap <= 3 * expected.length + 16; cap++) {
      for (const pad of [0, 1, 7]) {
        const w = new EtfWriter(cap);
        for (let i = 0; i < pad; i++) w.u8(0xee);
        enc.writeTerm(w, o);
        assert.deepEqual([...w.view()], [...new Array<number>(pad).fill(0xee), ...expected], `capacity ${cap}, ${pad} bytes before`);
      }
    }
  }
  // Stand-alone terms one after another across many slabs: each comes out whole.
  const many = Array.from({ length: 400 }, (_, i) => ({ a: ascii(20 + (i % 100), i), b: ascii(127, i + 1), c: i % 7 === 0 ? `${ascii(50, i)}\u65e5` : ascii(60, i + 2) }));
  const out = many.map((o) => enc.encode(o));
  for (const [i, o] of many.entries()) assert.deepEqual([...(out[i] as Buffer)], [131, ...ref(o)], `term ${i}`);
});

test('ASCII runs: random objects of mostly-ASCII strings (lone surrogates, every plane) encode as OTP does', () => {
  const unit = fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xffff }).map((c) => String.fromCharCode(c)) },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  );
  const value = fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit, minLength: 0, maxLength: 140 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  );
  const key = fc.oneof(fc.constantFrom('id', 'name', 'field_1', 'é', 'a'.repeat(130)), fc.string({ unit: 'binary-ascii', maxLength: 12 }));
  const obj = fc.dictionary(key, fc.oneof({ weight: 8, arbitrary: value }, { weight: 1, arbitrary: fc.dictionary(key, value, { maxKeys: 5 }) }), { maxKeys: 80 });
  const utf8 = new Encoder();
  const latin1 = new Encoder({ atomEncoding: 'latin1' });
  fc.assert(
    fc.property(obj, (o) => {
      check(utf8, o, 'utf8 atoms');
      check(latin1, o, 'latin1 atoms', true);
    }),
    { numRuns: 500 },
  );
});

test('ASCII runs under the distribution atom cache: ATOM_CACHE_REF keys below 128 join runs, the cache is asked once a key', () => {
  // Indexes below 128 (ASCII, in runs), 128 and above (not ASCII: they end a run), none (the atom inline).
  const indexes = new Map<string, number | undefined>([['a', 0], ['b', 127], ['c', 128], ['d', 255], ['e', undefined], ['f', 5], ['g', 99]]);
  const asked: string[] = [];
  const enc = new Encoder({
    atomCacheIndex: (x) => {
      asked.push(x.name);
      return indexes.get(x.name);
    },
  });
  const expect = (o: Record<string, unknown>): number[] => {
    const keys = Object.keys(o);
    return [131, 116, 0, 0, 0, keys.length, ...keys.flatMap((k) => [...(indexes.get(k) === undefined ? atomBytes(k) : [82, indexes.get(k) as number]), ...ref(o[k])])];
  };
  const cases: Array<Record<string, unknown>> = [
    { a: ascii(30, 1), b: ascii(31, 2), f: ascii(32, 3), g: ascii(33, 4) },
    { a: ascii(30, 1), c: ascii(31, 2), b: ascii(32, 3), d: ascii(33, 4), e: ascii(34, 5), g: ascii(35, 6) },
    { e: ascii(30, 1), a: ascii(40, 2), f: `${ascii(20, 3)}é${ascii(20, 4)}`, g: ascii(41, 5) },
    { a: ascii(30, 1), b: 7, f: [ascii(30, 2)], g: null },
    { g: ascii(127, 1), f: ascii(128, 2), b: '', a: 'x' },
  ];
  for (let round = 0; round < 2; round++) {
    for (const [i, o] of cases.entries()) {
      asked.length = 0;
      assert.deepEqual([...enc.encode(o)], expect(o), `case ${i}, round ${round}`);
      assert.deepEqual(asked, Object.keys(o).filter((k) => k !== 'g' || o.g !== null).concat(o.g === null ? ['g', 'nil'] : []), `case ${i}: each key asked once, in order`);
    }
  }
  // An index outside 0..255 fails as for any atom.
  for (const bad of [256, -1, 1.5]) {
    const e2 = new Encoder({ atomCacheIndex: () => bad });
    assert.throws(() => e2.encode({ a: ascii(30, 1) }), (e: unknown) => e instanceof EtfEncodeError && e.code === 'atom_cache');
  }
});
