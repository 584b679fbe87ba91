/**
 * Tests of the explicit-stack codec: terms nested 100,000 deep and a
 * left-nested iolist of 200,000 appends round-trip; a value that contains
 * itself fails with `cycle` (found by the objects on the path, not by depth)
 * while a value shared by two branches is fine; the heap budget refuses a
 * term that would not fit with a typed `memory` error naming the option.
 * @module
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, tuple, Tuple, ImproperList } from '../terms/index.js';
import { decode, encode, Decoder, Encoder, EtfDecodeError, EtfEncodeError, ErlMap, TypeRegistry } from './index.js';

const DEPTH = 100_000;

function deepTuple(n: number): unknown {
  let t: unknown = atom('leaf');
  for (let i = 0; i < n; i++) t = tuple(t);
  return t;
}

function deepList(n: number): unknown {
  let t: unknown = [];
  for (let i = 0; i < n; i++) t = [t];
  return t;
}

function deepMap(n: number): unknown {
  let t: unknown = 0;
  for (let i = 0; i < n; i++) t = { k: t };
  return t;
}

/** The depth of a chain of one-element containers, and what is at the bottom. */
function unwind(v: unknown): [number, unknown] {
  let d = 0;
  for (;;) {
    if (v instanceof Tuple && v.elements.length === 1) v = v.elements[0];
    else if (Array.isArray(v) && v.length === 1) v = v[0];
    else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && 'k' in v) v = (v as { k: unknown }).k;
    else return [d, v];
    d++;
  }
}

test('tuples, lists and maps nested 100,000 deep round-trip', () => {
  for (const [make, bottom] of [[deepTuple, atom('leaf')], [deepList, []], [deepMap, 0]] as const) {
    const bytes = encode(make(DEPTH));
    const [d, leaf] = unwind(decode(bytes));
    assert.equal(d, DEPTH);
    assert.deepEqual(leaf, bottom);
  }
});

test('a left-nested iolist of 200,000 appends round-trips with the same bytes', () => {
  let acc: unknown = [];
  for (let i = 0; i < 200_000; i++) acc = [acc, 'chunk'];
  const bytes = encode(acc);
  const back = decode(bytes);
  let d = 0;
  let v = back;
  while (Array.isArray(v) && v.length === 2) {
    assert.equal(v[1], 'chunk');
    v = v[0];
    d++;
  }
  assert.equal(d, 200_000);
  assert.deepEqual(encode(back), bytes);
});

test('improper lists whose tails nest 50,000 deep decode iteratively', () => {
  let t: unknown = 1;
  for (let i = 0; i < 50_000; i++) t = new ImproperList([i], tuple(t));
  const back = decode(encode(t));
  let n = 0;
  let v = back;
  while (v instanceof ImproperList) {
    v = (v.tail as Tuple).elements[0];
    n++;
  }
  assert.equal(n, 50_000);
  assert.equal(v, 1);
});

test('a value that contains itself fails with cycle, at any depth and through any container', () => {
  const cases: Array<() => unknown> = [
    () => {
      const a: unknown[] = [];
      a.push(a);
      return a;
    },
    () => {
      const o: Record<string, unknown> = { x: 1 };
      o['self'] = [tuple(o)];
      return o;
    },
    () => {
      const m = new Map<unknown, unknown>();
      m.set('m', { inner: m });
      return m;
    },
    () => {
      const e = new ErlMap<unknown, unknown>();
      e.set(tuple(1), [e]);
      return e;
    },
    () => {
      const l: unknown[] = [];
      const imp = new ImproperList([1], l);
      l.push(imp);
      return imp;
    },
    () => {
      // the cycle starts far below the top
      const inner: unknown[] = [];
      inner.push({ back: inner });
      let t: unknown = inner;
      for (let i = 0; i < 5000; i++) t = [t];
      return t;
    },
    () => {
      const err = new Error('loop') as Error & { cause?: unknown };
      err.cause = err;
      return err;
    },
  ];
  for (const make of cases) {
    const enc = new Encoder();
    assert.throws(
      () => enc.encode(make()),
      (e: unknown) => e instanceof EtfEncodeError && e.code === 'cycle',
    );
    // the encoder is usable afterwards
    assert.equal(decode(enc.encode(tuple(1))) instanceof Tuple, true);
  }
});

test('a value shared by two branches (not a cycle) encodes, however deep', () => {
  const shared = { a: [1, 2, 3] };
  let t: unknown = [shared, shared];
  for (let i = 0; i < 2000; i++) t = [t, shared];
  const back = decode(encode(t)) as unknown[];
  assert.deepEqual(back[1], shared);
});

test('a registered class holding itself fails with cycle', () => {
  class Node {
    next: Node | undefined;
  }
  const registry = new TypeRegistry();
  registry.register('Deep.Node', Node);
  const n = new Node();
  n.next = n;
  assert.throws(
    () => new Encoder({ registry }).encode(n),
    (e: unknown) => e instanceof EtfEncodeError && e.code === 'cycle',
  );
});

test('maxDepth bounds nesting when set, on both sides', () => {
  assert.throws(
    () => new Encoder({ maxDepth: 10 }).encode(deepList(11)),
    (e: unknown) => e instanceof EtfEncodeError && e.code === 'too_deep',
  );
  assert.ok(new Encoder({ maxDepth: 10 }).encode(deepList(10)).length > 0);
  assert.throws(
    () => new Decoder({ maxDepth: 10 }).decode(encode(deepList(11))),
    (e: unknown) => e instanceof EtfDecodeError && e.code === 'too_deep',
  );
});

test('maxDepth counts across the recursive path and the explicit stack on both sides (limits above and below their hand-over depth)', () => {
  for (const limit of [1, 63, 64, 65, 100, 1000]) {
    for (const make of [deepList, deepTuple, deepMap]) {
      assert.ok(new Encoder({ maxDepth: limit }).encode(make(limit)).length > 0, `${make.name}(${limit}) within maxDepth ${limit}`);
      assert.throws(
        () => new Encoder({ maxDepth: limit }).encode(make(limit + 1)),
        (e: unknown) => e instanceof EtfEncodeError && e.code === 'too_deep',
        `${make.name}(${limit + 1}) beyond maxDepth ${limit}`,
      );
      const dec = new Decoder({ maxDepth: limit });
      assert.equal(unwind(dec.decode(encode(make(limit))))[0], limit, `decode ${make.name}(${limit}) within maxDepth ${limit}`);
      assert.throws(
        () => dec.decode(encode(make(limit + 1))),
        (e: unknown) => e instanceof EtfDecodeError && e.code === 'too_deep',
        `decode ${make.name}(${limit + 1}) beyond maxDepth ${limit}`,
      );
    }
  }
});

test('the recursive path and the explicit stack write the same bytes (shallow and deep parts of one term)', () => {
  // The canonical encoder writes every container with the explicit stack; for terms without
  // byte lists, binaries or multi-key maps its bytes are the default encoder's.
  const canonical = new Encoder({ canonical: true });
  const plain = new Encoder();
  for (const depth of [0, 1, 10, 63, 64, 65, 200, 5000]) {
    let t: unknown = tuple(atom('leaf'), 'text', 3.5, -7, 1n << 70n, null, undefined, true, []);
    for (let i = 0; i < depth; i++) {
      switch (i % 4) {
        case 0:
          t = tuple(t, i);
          break;
        case 1:
          t = [atom('a'), t];
          break;
        case 2:
          t = { k: t };
          break;
        default:
          t = new Map<unknown, unknown>([[i, t]]);
      }
    }
    assert.deepEqual(plain.encode(t), canonical.encode(t), `depth ${depth}`);
  }
});

test('a 1 MB integer round-trips (OTP 25 makes 1 bsl 8000000) with the encoder limit raised for OTP 25', () => {
  const big = 1n << 8_000_000n;
  const otp25 = new Encoder({ maxBigIntBytes: 4 * 1024 * 1024 });
  const bytes = otp25.encode(big);
  assert.equal(bytes[1], 111); // LARGE_BIG_EXT
  assert.equal(decode(bytes), big);
  assert.equal(decode(otp25.encode(-big)), -big);
  assert.throws(
    () => new Decoder({ maxBigIntBytes: 65536 }).decode(bytes),
    (e: unknown) => e instanceof EtfDecodeError && e.code === 'limit' && e.option === 'maxBigIntBytes',
  );
});

test('the heap budget refuses a term that would not fit, with a typed error naming the option', () => {
  // A list of 1,000,000 [] is 5 MB of input and tens of MB of heap.
  const n = 1_000_000;
  const bytes = Buffer.alloc(7 + n);
  bytes[0] = 131;
  bytes[1] = 108;
  bytes.writeUInt32BE(n, 2);
  bytes.fill(106, 6);
  const dec = new Decoder({ maxHeapBytes: 8 * 1024 * 1024 });
  assert.throws(
    () => dec.decode(bytes),
    // refused from the list header alone, before any element is allocated
    (e: unknown) => e instanceof EtfDecodeError && e.code === 'memory' && e.offset === 1 && e.option === 'maxHeapBytes' && /maxHeapBytes/.test(e.message),
  );
  // the same decoder goes on, and a generous budget takes the term
  assert.deepEqual(dec.decode(encode([1, 2])), [1, 2]);
  assert.equal((new Decoder({ maxHeapBytes: 1024 * 1024 * 1024 }).decode(bytes) as unknown[]).length, n);
  // a 20 MB binary needs its size in budget
  const bin = encode(new Uint8Array(20 * 1024 * 1024).fill(1));
  assert.throws(
    () => new Decoder({ maxHeapBytes: 1024 * 1024 }).decode(bin),
    (e: unknown) => e instanceof EtfDecodeError && e.code === 'memory',
  );
});

test('a large binary decodes as a view without a copy under binaries: bytes and copyBinaries: false', () => {
  const payload = new Uint8Array(1 << 20).fill(0x41);
  const bytes = encode(payload);
  const view = new Decoder({ binaries: 'bytes', copyBinaries: false }).decode(bytes) as Uint8Array;
  assert.equal(view.buffer, bytes.buffer);
  assert.equal(view.length, payload.length);
  // 'auto' gives the string when it is valid UTF-8
  assert.equal(decode(encode('é'.repeat(1000))), 'é'.repeat(1000));
});
