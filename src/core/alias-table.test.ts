/**
 * AliasTable tests: as a Map for every kind of key (own refs' positive keys,
 * other nodes' negative keys, strings), ring collisions, values(), and
 * the small rings of a process's tables.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AliasTable, PROCESS_RING } from './alias-table.js';

describe('AliasTable', () => {
  it('keeps positive, negative and string keys apart, and deletes each', () => {
    const t = new AliasTable<string>();
    t.set(5, 'own').set(-5, 'remote').set('n|1|1.2.3', 'text').set(-(1 + 3 * 4294967296 + 7), 'wide');
    assert.equal(t.size, 4);
    assert.equal(t.get(5), 'own');
    assert.equal(t.get(-5), 'remote');
    assert.equal(t.get(-(1 + 3 * 4294967296 + 7)), 'wide');
    assert.equal(t.get('n|1|1.2.3'), 'text');
    assert.equal(t.get(-6), undefined);
    assert.equal(t.delete(-5), true);
    assert.equal(t.delete(-5), false);
    assert.equal(t.get(-5), undefined);
    assert.equal(t.get(5), 'own');
    assert.deepEqual([...t.values()].sort(), ['own', 'text', 'wide']);
    assert.equal(t.size, 3);
  });

  it('a negative key whose ring slot is taken goes beside it and is found there', () => {
    const t = new AliasTable<number>();
    t.set(-1, 1);
    t.set(-1 - 4096, 2); // same low bits as -1
    t.set(-1 - 8192, 3);
    assert.deepEqual([t.get(-1), t.get(-1 - 4096), t.get(-1 - 8192)], [1, 2, 3]);
    t.delete(-1);
    assert.equal(t.get(-1 - 4096), 2);
    t.set(-1, 4); // the slot is free again
    assert.deepEqual([t.get(-1), t.get(-1 - 4096), t.get(-1 - 8192), t.size], [4, 2, 3, 3]);
  });

  it('a small ring (a process table) keeps keys past its size beside it, and frees its slots in place', () => {
    const t = AliasTable.forProcess<number>();
    // More live keys than slots, positive and negative: the ring holds one per slot, the rest go beside it.
    for (let k = 1; k <= 3 * PROCESS_RING; k++) t.set(k, k).set(-k, -k);
    assert.equal(t.size, 6 * PROCESS_RING);
    for (let k = 1; k <= 3 * PROCESS_RING; k++) assert.deepEqual([t.get(k), t.get(-k)], [k, -k]);
    for (let k = 1; k <= 3 * PROCESS_RING; k += 2) assert.equal(t.delete(k) && t.delete(-k), true);
    assert.equal(t.size, 3 * PROCESS_RING);
    assert.deepEqual(
      [...t.values()].sort((x, y) => x - y),
      Array.from({ length: 3 * PROCESS_RING }, (_, i) => (i < (3 * PROCESS_RING) / 2 ? -(3 * PROCESS_RING) + 2 * i : 2 + 2 * (i - (3 * PROCESS_RING) / 2))),
    );
    // Keys that come and go (a caller's calls, one at a time or 8 at once) reuse the freed slots.
    for (let k = 1000; k < 1000 + 10 * PROCESS_RING; k++) {
      t.set(-k, k);
      if (k >= 1008) assert.equal(t.delete(-(k - 8)), true);
    }
    assert.equal(t.size, 3 * PROCESS_RING + 8);
  });

  it('takes only a power-of-two ring size', () => {
    for (const bad of [0, 3, 1.5, -4, Number.NaN, 1 << 21]) assert.throws(() => new AliasTable(bad), RangeError);
    const one = new AliasTable<string>(1);
    one.set(4, 'a').set(6, 'b').set('s', 'c');
    assert.deepEqual([one.get(4), one.get(6), one.get('s'), one.size], ['a', 'b', 'c', 3]);
  });

  for (const ring of [4096, 1, PROCESS_RING]) {
    it(`behaves as a Map under any sequence of sets and deletes, ring ${ring} (property)`, () => {
      const key = fc.oneof(fc.integer({ min: -20000, max: 20000 }), fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 3 }).map((k) => -(1 + k * 4294967296)));
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.nat()), { maxLength: 200 }), (ops) => {
          const t = new AliasTable<number>(ring);
        const m = new Map<number | string, number>();
        for (const [add, k, v] of ops) {
          if (add) {
            t.set(k, v);
            m.set(k, v);
          } else assert.equal(t.delete(k), m.delete(k));
          assert.equal(t.get(k), m.get(k));
          assert.equal(t.size, m.size);
        }
        assert.deepEqual([...t.values()].sort((x, y) => x - y), [...m.values()].sort((x, y) => x - y));
        }),
      );
    });
  }
});
