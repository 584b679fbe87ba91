/**
 * Kernel.refKey: the map key of a reference. Equal refs (decoded apart) get
 * the same key, different refs different keys, for refs made here, by another
 * Beamline node and by Erlang, and for unusual shapes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { atom } from '../terms/atom.js';
import { Ref } from '../terms/identifiers.js';
import { Kernel } from './kernel.js';
import { toNodeLogger } from './logger.js';

function kernel(): Kernel {
  return new Kernel({ name: 'kernel@127.0.0.1', creation: 7, scheduler: undefined, logger: toNodeLogger(() => {}) }, { runSlice: () => false });
}

const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const remoteRef = fc.record({
  node: fc.constantFrom('a@h', 'b@h', 'kernel@127.0.0.1'),
  creation: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
  ids: fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 262143 }), u32, u32).map((t) => [...t]),
    fc.tuple(u32, u32, u32).map((t) => [...t]),
    fc.array(u32, { minLength: 4, maxLength: 5 }),
  ),
});

test('refKey: refs made here get distinct non-negative numbers', () => {
  const k = kernel();
  const a = k.makeRef();
  const b = k.makeRef();
  assert.equal(typeof k.refKey(a), 'number');
  assert.ok((k.refKey(a) as number) >= 0);
  assert.notEqual(k.refKey(a), k.refKey(b));
  assert.equal(k.refKey(new Ref(a.node, a.creation, [...a.ids])), k.refKey(a));
});

test('refKey: an Erlang-made 3-word ref is a number, the same for an equal copy', () => {
  const k = kernel();
  const r = new Ref(atom('erl@h'), 1700000000, [257437, 1609039873, 3417656011]);
  const key = k.refKey(r);
  assert.equal(typeof key, 'number');
  assert.ok((key as number) < 0);
  assert.equal(k.refKey(new Ref(atom('erl@h'), 1700000000, [257437, 1609039873, 3417656011])), key);
  // Another node, creation, third word or high bits of the second word: another key.
  for (const other of [
    new Ref(atom('erl2@h'), 1700000000, [257437, 1609039873, 3417656011]),
    new Ref(atom('erl@h'), 1700000001, [257437, 1609039873, 3417656011]),
    new Ref(atom('erl@h'), 1700000000, [257437, 1609039873, 3417656012]),
    new Ref(atom('erl@h'), 1700000000, [257437, 1609039873 + 16384, 3417656011]),
    new Ref(atom('erl@h'), 1700000000, [257438, 1609039873, 3417656011]),
  ])
    assert.notEqual(k.refKey(other), key);
});

test('refKey: a ref that does not fit a number (first word past 18 bits, 5 words) gets a string key', () => {
  const k = kernel();
  assert.equal(typeof k.refKey(new Ref(atom('erl@h'), 1, [262144, 1, 2])), 'string');
  assert.equal(typeof k.refKey(new Ref(atom('erl@h'), 1, [1, 2, 3, 4, 5])), 'string');
});

test('refKey: equal refs get equal keys and different refs different keys (property)', () => {
  const k = kernel();
  fc.assert(
    fc.property(remoteRef, remoteRef, (x, y) => {
      const a = new Ref(atom(x.node), x.creation, x.ids);
      const b = new Ref(atom(y.node), y.creation, y.ids);
      assert.equal(k.refKey(new Ref(atom(x.node), x.creation, [...x.ids])), k.refKey(a));
      assert.equal(k.refKey(a) === k.refKey(b), a.equals(b));
    }),
    { numRuns: 2000 },
  );
});
