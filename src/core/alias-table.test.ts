/**
 * AliasTable tests: as a Map for every kind of key (own refs' positive keys,
 * other nodes' negative keys, strings), ring collisions, and values().
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AliasTable } from './alias-table.js';

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

  it('behaves as a Map under any sequence of sets and deletes (property)', () => {
    const key = fc.oneof(fc.integer({ min: -20000, max: 20000 }), fc.constantFrom('a', 'b'), fc.integer({ min: 1, max: 3 }).map((k) => -(1 + k * 4294967296)));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.nat()), { maxLength: 200 }), (ops) => {
        const t = new AliasTable<number>();
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
});
