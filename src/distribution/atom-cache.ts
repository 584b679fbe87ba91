/**
 * The distribution header's atom cache (`131,68` frames and the first
 * fragment of `131,69`), receiving side.
 *
 * Each connection keeps, per direction, a table of 8 segments x 256 slots.
 * A header lists N atom cache refs; each has a 4-bit flag (bit 3: new entry,
 * bits 0-2: segment). Even refs use the low nibble of a flag byte, odd refs
 * the high nibble, and one more nibble after the last ref holds LongAtoms
 * (bit 0: new entries have u16 lengths). A new ref carries the slot index
 * and the atom text and updates the table; an old ref carries only the slot.
 * The header yields this frame's ref table: ATOM_CACHE_REF (tag 82) index i
 * in the terms means `atoms[i]`.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { DistError } from './errors.js';

/** Number of slots of a per-direction atom cache (8 segments x 256). */
export const ATOM_CACHE_SIZE = 2048;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A parsed distribution header. */
export interface DistHeader {
  /** The frame's atom cache refs, resolved: ATOM_CACHE_REF i is `atoms[i]`. */
  readonly atoms: readonly Atom[];
  /** Offset just after the header: where the control term starts (no 131 before it). */
  readonly end: number;
}

/** The receiving atom cache of one connection: feeds on every header, in frame order. */
export class AtomCacheReader {
  private readonly slots: (Atom | undefined)[] = new Array<Atom | undefined>(ATOM_CACHE_SIZE).fill(undefined);

  /**
   * Parses the header part that starts with NumberOfAtomCacheRefs at
   * `offset` (that is, after `131,68`, or after the SeqId and FragId of
   * `131,69`). New entries update the cache. Throws a `DistError('atom_cache')`
   * for a truncated header, an undecodable atom or a ref to an empty slot.
   * The table is updated only when the whole header is valid.
   */
  parse(buf: Uint8Array, offset: number): DistHeader {
    const fail = (what: string): never => {
      throw new DistError('atom_cache', what);
    };
    if (offset >= buf.length) fail('truncated header: no atom cache ref count');
    const n = buf[offset] as number;
    let pos = offset + 1;
    if (n === 0) return { atoms: [], end: pos };
    const flagBytes = (n >> 1) + 1;
    if (pos + flagBytes > buf.length) fail('truncated atom cache flags');
    const flagsAt = pos;
    const nibble = (i: number): number => {
      const b = buf[flagsAt + (i >> 1)] as number;
      return (i & 1) === 0 ? b & 0x0f : b >> 4;
    };
    const longAtoms = (nibble(n) & 1) === 1;
    pos += flagBytes;
    const atoms: Atom[] = [];
    const updates: [number, Atom][] = [];
    for (let i = 0; i < n; i++) {
      const f = nibble(i);
      const segment = f & 7;
      if (pos >= buf.length) fail(`truncated atom cache ref ${i}`);
      const slot = segment * 256 + (buf[pos++] as number);
      if ((f & 8) !== 0) {
        let len: number;
        if (longAtoms) {
          if (pos + 2 > buf.length) fail(`truncated length of new atom ${i}`);
          len = ((buf[pos] as number) << 8) | (buf[pos + 1] as number);
          pos += 2;
        } else {
          if (pos + 1 > buf.length) fail(`truncated length of new atom ${i}`);
          len = buf[pos++] as number;
        }
        if (pos + len > buf.length) fail(`truncated text of new atom ${i} (${len} bytes)`);
        let text: string;
        try {
          text = utf8.decode(buf.subarray(pos, pos + len));
        } catch {
          return fail(`atom ${i} is not valid UTF-8`);
        }
        pos += len;
        const a = Atom.of(text);
        atoms.push(a);
        updates.push([slot, a]);
      } else {
        // An old ref may name a slot that a NEW ref earlier in this same header filled.
        let a = this.slots[slot];
        for (const [s, v] of updates) if (s === slot) a = v;
        if (a === undefined) return fail(`atom cache ref ${i} names empty slot (segment ${segment}, index ${slot & 255})`);
        atoms.push(a);
      }
    }
    for (const [s, a] of updates) this.slots[s] = a;
    return { atoms, end: pos };
  }

  /** The atom in a slot, if any (for tests and debugging). */
  slot(segment: number, index: number): Atom | undefined {
    return this.slots[segment * 256 + index];
  }
}
