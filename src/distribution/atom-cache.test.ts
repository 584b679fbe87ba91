/**
 * The sending atom cache against the receiving one: headers AtomCacheWriter
 * writes parse with AtomCacheReader to the atoms the encoder referenced,
 * frame after frame (new entries once, then 2-byte refs), with slot
 * collisions, long atoms, more than 255 atoms in a frame and abandoned frames.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decoder } from '../etf/decoder.js';
import { Encoder } from '../etf/encoder.js';
import { EtfWriter } from '../etf/writer.js';
import { atom, type Atom } from '../terms/atom.js';
import { tuple } from '../terms/tuple.js';
import { AtomCacheReader, AtomCacheWriter } from './atom-cache.js';

/** One connection's two ends: encodes `term` through the writer, parses and decodes through the reader. */
function channel(): { send(term: unknown): { bytes: number; decoded: unknown }; abandon(term: unknown): void } {
  const writer = new AtomCacheWriter();
  const reader = new AtomCacheReader();
  const enc = new Encoder({ atomCacheIndex: writer.index });
  const dec = new Decoder();
  return {
    send(term) {
      const body = new EtfWriter(64);
      writer.begin();
      enc.writeTerm(body, term);
      const frame = new EtfWriter(64);
      writer.writeHeader(frame);
      frame.bytes(body.view());
      const buf = frame.toBuffer();
      const h = reader.parse(buf, 0);
      return { bytes: buf.length, decoded: dec.decodeAt(buf, h.end, h.atoms).term };
    },
    abandon(term) {
      writer.begin();
      enc.writeTerm(new EtfWriter(64), term);
    },
  };
}

describe('AtomCacheWriter', () => {
  test('the first frame carries the atom texts, later frames only refs; terms decode the same', () => {
    const ch = channel();
    const term = tuple(atom('$gen_call'), atom('sender@127.0.0.1'), atom('echo'), 42);
    const first = ch.send(term);
    const second = ch.send(term);
    assert.deepEqual(first.decoded, term);
    assert.deepEqual(second.decoded, term);
    assert.ok(second.bytes < first.bytes - 20, `second frame ${second.bytes} bytes, first ${first.bytes}`);
    // 3 refs: count, 2 flag bytes, 3 slot bytes; the terms: tuple head 2, 3 refs x 2, small int 2.
    assert.equal(second.bytes, 1 + 2 + 3 + 2 + 6 + 2);
  });

  test('an atom repeated in a frame is one ref', () => {
    const ch = channel();
    const a = atom('repeated');
    const { decoded } = ch.send(tuple(a, a, a, tuple(a)));
    assert.deepEqual(decoded, tuple(a, a, a, tuple(a)));
  });

  test('two atoms of one slot in one frame: the second goes inline, both decode', () => {
    const ch = channel();
    // Find two atoms that share a slot: send them alone first and look for equal single-ref headers.
    const slotOf = (a: Atom): number => {
      const w = new AtomCacheWriter();
      w.begin();
      w.index(a);
      const out = new EtfWriter(16);
      w.writeHeader(out);
      const b = out.view();
      return ((b[1] as number) & 7) * 256 + (b[2] as number);
    };
    const seen = new Map<number, Atom>();
    let pair: [Atom, Atom] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const a = atom(`collide_${i}`);
      const s = slotOf(a);
      const other = seen.get(s);
      if (other !== undefined) pair = [other, a];
      else seen.set(s, a);
    }
    const term = tuple(pair[0], pair[1], pair[0], pair[1]);
    assert.deepEqual(ch.send(term).decoded, term);
    assert.deepEqual(ch.send(tuple(pair[1], pair[0])).decoded, tuple(pair[1], pair[0]));
  });

  test('long atoms (over 255 bytes of UTF-8) use the LongAtoms header', () => {
    const ch = channel();
    const long = atom('ä'.repeat(200)); // 400 bytes
    const term = tuple(long, atom('short'));
    assert.deepEqual(ch.send(term).decoded, term);
    assert.deepEqual(ch.send(term).decoded, term);
  });

  test('past 255 distinct atoms in a frame the rest go inline', () => {
    const ch = channel();
    const atoms = Array.from({ length: 600 }, (_, i) => atom(`many_${i}`));
    assert.deepEqual(ch.send(atoms).decoded, atoms);
    assert.deepEqual(ch.send(atoms).decoded, atoms);
  });

  test('an abandoned frame (encoded, header never written) leaves the table as it was', () => {
    const ch = channel();
    ch.abandon(tuple(atom('never_sent'), atom('also_not')));
    const term = tuple(atom('never_sent'), atom('also_not'));
    assert.deepEqual(ch.send(term).decoded, term); // sent as new entries, which the reader needs
  });

  test('any sequence of frames decodes on the reader (property)', () => {
    const name = fc.constantFrom('a', 'b', 'node@host', 'ok', 'error', 'x'.repeat(300), 'ünï', ...Array.from({ length: 40 }, (_, i) => `n${i}`));
    fc.assert(
      fc.property(fc.array(fc.array(name, { maxLength: 20 }), { minLength: 1, maxLength: 20 }), (frames) => {
        const ch = channel();
        for (const names of frames) {
          const term = names.map((n) => atom(n));
          assert.deepEqual(ch.send(term).decoded, term);
        }
      }),
      { numRuns: 300 },
    );
  });
});
