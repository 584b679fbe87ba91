/**
 * Tests against the 57 ETF vectors captured from a live OTP 25.2.3 node
 * (fixtures/etf_vectors.txt): every vector decodes to the expected value and
 * re-encodes to the same bytes (or, for compressed and FLOAT_EXT input, to
 * an equivalent term), plus the distribution frames of fixtures/dist_vectors.txt.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { atom, Atom, tuple, Tuple, Pid, Ref, Port, ImproperList } from '../terms/index.js';
import { decode, encode, EtfDecodeError, Decoder, Encoder, Float, Charlist, BitString, ErlMap, ExportFun, Fun, termEquals } from './index.js';
import { loadVectors, fixturePath, same } from './test-support.js';

const vectors = loadVectors();
const latin1 = new Encoder({ atomEncoding: 'latin1' });
const utf8 = new Encoder();

test('the fixture holds 57 vectors', () => {
  assert.equal(vectors.length, 57);
});

for (const v of vectors) {
  test(`vector: ${v.title}${v.opts ? ` ${v.opts}` : ''}`, () => {
    assert.equal(v.bytes[0], 131);
    assert.equal(v.bytes[1], v.tag);
    const term = decode(v.bytes);
    // The re-encoding decodes to the same value in every case.
    const again = utf8.encode(term);
    assert.ok(same(decode(again), term), `re-decoded value differs for ${v.title}`);
    assert.ok(termEquals(decode(again), term));
    // Byte-exact re-encoding, except where OTP used a form Beamline does not emit.
    const inexact = v.tag === 80 || v.tag === 99;
    if (!inexact) {
      const enc = v.opts.includes('minor_version,2') ? utf8 : latin1;
      assert.equal(enc.encode(term).toString('hex'), v.bytes.toString('hex'), `re-encoding of ${v.title}`);
    }
  });
}

function vec(prefix: string): unknown {
  const v = vectors.find((x) => x.title.trim() === prefix.trim()) ?? vectors.find((x) => x.title.startsWith(prefix));
  assert.ok(v, `no vector ${prefix}`);
  return decode(v.bytes);
}

test('vector values: atoms', () => {
  assert.equal(vec('ok'), atom('ok'));
  assert.equal(vec("'héllo'"), atom('héllo'));
  assert.equal(vec("'日本'"), atom('日本'));
  assert.equal(vec('list_to_atom(lists:duplicate(255'), atom('x'.repeat(255)));
  assert.equal(vec('list_to_atom(lists:duplicate(200'), atom('é'.repeat(200)));
  assert.equal(vec('true'), true);
});

test('vector values: numbers', () => {
  assert.equal(vec('0'), 0);
  assert.equal(vec('255'), 255);
  assert.equal(vec('256'), 256);
  assert.equal(vec('-1'), -1);
  assert.equal(vec('-2147483648'), -2147483648);
  assert.equal(vec('2147483648'), 2147483648);
  assert.equal(vec('-2147483649'), -2147483649);
  assert.equal(vec('18446744073709551616'), 18446744073709551616n);
  assert.equal(vec('-(1 bsl 64)'), -18446744073709551616n);
  assert.equal(vec('1 bsl 2048'), 1n << 2048n);
  assert.equal(vec('3.14 '), 3.14);
  assert.ok(Object.is(vec('-0.0'), -0));
  assert.equal(vec('1.0e300'), 1e300);
  assert.equal(vec('3.14 with'), 3.14);
});

test('vector values: identifiers', () => {
  const pid = vec('self()');
  assert.ok(pid instanceof Pid);
  assert.equal(pid.node, atom('vecgen@vm'));
  assert.equal(pid.id, 9);
  assert.equal(pid.serial, 0);
  const ref = vec('make_ref()');
  assert.ok(ref instanceof Ref);
  assert.equal(ref.ids.length, 3);
  assert.ok(vec('alias()') instanceof Ref);
  assert.ok(vec('hd(erlang:ports())') instanceof Port);
});

test('vector values: tuples, lists, binaries', () => {
  assert.ok(same(vec('{}'), tuple()));
  assert.ok(same(vec('{1, two, "three"}'), tuple(1, atom('two'), new Charlist('three'))));
  const big = vec('list_to_tuple(lists:seq(1,256))');
  assert.ok(big instanceof Tuple && big.size === 256 && big.at(255) === 256);
  assert.deepEqual(vec('[] '), []);
  assert.ok(same(vec('"abc"'), new Charlist('abc')));
  assert.ok(same(vec('[1,2,3]'), new Charlist('\x01\x02\x03')));
  assert.deepEqual(vec('[256]'), [256]);
  assert.ok(same(vec('[1, 2 | 3]'), new ImproperList([1, 2], 3)));
  assert.ok(same(vec('[a | b]'), new ImproperList([atom('a')], atom('b'))));
  assert.deepEqual(vec('"日本"'), [26085, 26412]);
  const dup = vec('lists:duplicate(65536, 1)') as number[];
  assert.equal(dup.length, 65536);
  assert.ok(dup.every((x) => x === 1));
  assert.equal(vec('<<>>'), '');
  assert.equal(vec('<<1,2,3>>'), '\x01\x02\x03');
  assert.equal(vec('<<"héllo"/utf8>>'), 'héllo');
  assert.ok(same(vec('<<1:3>>'), new BitString(Uint8Array.of(0x20), 3)));
  assert.ok(same(vec('<<1,2,3:4>>'), new BitString(Uint8Array.of(1, 2, 0x30), 4)));
  assert.ok(same(vec('lists:duplicate(100, $a)'), new Charlist('a'.repeat(100))));
});

test('vector values: maps', () => {
  assert.deepEqual(vec('#{}'), {});
  const m = vec('#{a => 1') as ErlMap;
  assert.ok(m instanceof ErlMap);
  assert.equal(m.get(atom('a')), 1);
  assert.ok(same(m.get('b'), new Charlist('\x02'))); // [2] is a STRING_EXT
  assert.ok(same(m.get(tuple(atom('c'))), new Float(3)));
  const m2 = vec('#{1 => a, 1.0 => b}') as ErlMap;
  assert.equal(m2.size, 2);
  assert.equal(m2.get(1), atom('a'));
  assert.equal(m2.get(new Float(1)), atom('b'));
  const m3 = vec('maps:from_list([{K,K} || K <- lists:seq(1,33)])') as Map<number, number>;
  assert.ok(m3 instanceof Map);
  assert.equal(m3.size, 33);
  for (let k = 1; k <= 33; k++) assert.equal(m3.get(k), k);
});

test('vector values: funs and gen_call messages', () => {
  const f = vec('fun lists:map/2');
  assert.ok(f instanceof ExportFun && f.module === atom('lists') && f.function === atom('map') && f.arity === 2);
  const c = vec('fun(X) -> X + 1 end');
  assert.ok(c instanceof Fun && c.arity === 1 && c.freeVars.length === 0);
  const c2 = vec('adder(10)');
  assert.ok(c2 instanceof Fun && same(c2.freeVars, [10]));
  const call = vec("{'$gen_call', {self(), [alias") as Tuple;
  const from = call.at(1) as Tuple;
  const tag = from.at(1) as ImproperList;
  assert.ok(tag instanceof ImproperList && tag.items[0] === atom('alias') && tag.tail instanceof Ref);
});

/** Minimal distribution-header reader: enough to resolve ATOM_CACHE_REF in the captured frames. */
function readDistHeader(frame: Buffer, cache: Map<number, Atom>): { table: Atom[]; offset: number } {
  assert.equal(frame[0], 131);
  assert.equal(frame[1], 68);
  const n = frame[2] as number;
  let p = 3;
  if (n === 0) return { table: [], offset: p };
  const flagBytes = Math.floor(n / 2) + 1;
  const flags = frame.subarray(p, p + flagBytes);
  p += flagBytes;
  const longAtoms = (((flags[Math.floor(n / 2)] as number) >> ((n % 2) * 4)) & 1) === 1;
  const table: Atom[] = [];
  for (let i = 0; i < n; i++) {
    const nib = ((flags[Math.floor(i / 2)] as number) >> ((i % 2) * 4)) & 0xf;
    const isNew = (nib & 8) !== 0;
    const seg = nib & 7;
    const idx = frame[p++] as number;
    const key = seg * 256 + idx;
    if (isNew) {
      let len: number;
      if (longAtoms) {
        len = frame.readUInt16BE(p);
        p += 2;
      } else {
        len = frame[p++] as number;
      }
      const a = Atom.of(frame.toString('utf8', p, p + len));
      p += len;
      cache.set(key, a);
    }
    const a = cache.get(key);
    assert.ok(a, `cache slot ${key} empty`);
    table.push(a);
  }
  return { table, offset: p };
}

test('dist_vectors: control messages and payloads decode, with the atom cache', () => {
  const text = readFileSync(fixturePath('dist_vectors.txt'), 'utf8');
  const caches = new Map<string, Map<number, Atom>>();
  const dec = new Decoder();
  const enc = new Encoder();
  let frames = 0;
  let withRefs = 0;
  for (const block of text.split(/\n\s*\n/)) {
    const hex = /hex: ([0-9a-f]+)/i.exec(block)?.[1];
    const dir = /^(\S+ -> \S+)/m.exec(block)?.[1];
    const size = Number(/\((\d+) bytes/.exec(block)?.[1]);
    if (hex === undefined || dir === undefined) continue;
    const frame = Buffer.from(hex, 'hex');
    if (frame.length !== size) {
      // The file abbreviates the 100 KB frame: its tail must be reported as truncated, not crash.
      const { table, offset } = readDistHeader(frame, caches.get(dir) ?? new Map());
      let p = offset;
      assert.throws(() => {
        for (;;) p = dec.decodeAt(frame, p, table).offset;
      }, (e: unknown) => e instanceof EtfDecodeError && e.code === 'truncated');
      continue;
    }
    if (frame[0] !== 131 || frame[1] !== 68) continue;
    let cache = caches.get(dir);
    if (cache === undefined) caches.set(dir, (cache = new Map()));
    const { table, offset } = readDistHeader(frame, cache);
    if (table.length > 0) withRefs++;
    let p = offset;
    while (p < frame.length) {
      const r = dec.decodeAt(frame, p, table);
      assert.ok(r.offset > p);
      p = r.offset;
      // Re-encoded with the same cache indexes, it decodes to the same term.
      const index = new Map(table.map((a, i) => [a, i] as const));
      const cached = new Encoder({ atomCacheIndex: (a) => index.get(a) });
      const w = cached.encode(r.term);
      assert.ok(same(dec.decodeAt(w, 1, table).term, r.term));
      assert.ok(same(decode(enc.encode(r.term)), r.term));
    }
    assert.equal(p, frame.length);
    frames++;
  }
  assert.ok(frames >= 5, `only ${frames} frames`);
  assert.ok(withRefs >= 2);
});

test('global init_connect frame carries a map with a tuple key', () => {
  const text = readFileSync(fixturePath('dist_vectors.txt'), 'utf8');
  const hexes = [...text.matchAll(/hex: ([0-9a-f]+)/gi)].map((m) => Buffer.from(m[1] as string, 'hex'));
  const cache = new Map<number, Atom>();
  let found = false;
  for (const frame of hexes.slice(0, 4)) {
    const { table, offset } = readDistHeader(frame, cache);
    const dec = new Decoder({ atomCache: table });
    let p = offset;
    while (p < frame.length) {
      const r = dec.decodeAt(frame, p);
      p = r.offset;
      const s = JSON.stringify(r.term, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      if (s.includes('init_connect')) {
        const msg = r.term as Tuple;
        const body = (msg.at(1) as Tuple).at(3) as Tuple;
        const m = body.at(2) as ErlMap;
        assert.ok(m instanceof ErlMap);
        assert.equal(m.get(tuple(atom('connection_id'), atom('js@vm'))), 9323241);
        const version = (msg.at(1) as Tuple).at(1) as Tuple;
        assert.equal(version.at(1), -576460752303423486n);
        found = true;
      }
    }
  }
  assert.ok(found);
});
