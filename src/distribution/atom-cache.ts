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
 *
 * {@link AtomCacheReader} keeps the receiving table; {@link AtomCacheWriter}
 * the sending one, as OTP does: each atom has a fixed slot (a hash of its
 * text), the first frame that uses it sends the text, later frames only the
 * slot, so a node name in every pid and ref costs 2 bytes instead of ~20.
 * @module
 */
import { Atom } from '../terms/atom.js';
import type { EtfWriter } from '../etf/writer.js';
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

const NO_ATOMS: readonly Atom[] = Object.freeze([]);

function fail(what: string): never {
  throw new DistError('atom_cache', what);
}

/** Flag nibble `i` of a header whose flag bytes start at `at`: even refs in the low nibble, odd ones in the high. */
function nibble(buf: Uint8Array, at: number, i: number): number {
  const b = buf[at + (i >> 1)] as number;
  return (i & 1) === 0 ? b & 0x0f : b >> 4;
}

/** The receiving atom cache of one connection: feeds on every header, in frame order. */
export class AtomCacheReader {
  private readonly slots: (Atom | undefined)[] = new Array<Atom | undefined>(ATOM_CACHE_SIZE).fill(undefined);
  /** The arrays {@link AtomCacheReader.read} reuses, by ref count (made on first use). */
  private readonly byCount: (Atom[] | undefined)[] = [];

  /**
   * Parses the header part that starts with NumberOfAtomCacheRefs at
   * `offset` (that is, after `131,68`, or after the SeqId and FragId of
   * `131,69`). New entries update the cache. Throws a `DistError('atom_cache')`
   * for a truncated header, an undecodable atom or a ref to an empty slot.
   * The table is updated only when the whole header is valid.
   */
  parse(buf: Uint8Array, offset: number): DistHeader {
    const atoms = this.read(buf, offset);
    return { atoms, end: this.end };
  }

  /** Where the header last read by {@link AtomCacheReader.read} ended. */
  end = 0;

  /**
   * {@link AtomCacheReader.parse} without the result object (the hot path reads one header per frame):
   * returns the atoms and leaves the offset after the header in {@link AtomCacheReader.end}. With `reuse`,
   * the atoms come in an array kept for headers of that many refs, which the next header of as many
   * refs overwrites (no array per frame).
   */
  read(buf: Uint8Array, offset: number, reuse = false): readonly Atom[] {
    if (offset >= buf.length) fail('truncated header: no atom cache ref count');
    const n = buf[offset] as number;
    let pos = offset + 1;
    if (n === 0) {
      this.end = pos;
      return NO_ATOMS;
    }
    const flagBytes = (n >> 1) + 1;
    if (pos + flagBytes > buf.length) fail('truncated atom cache flags');
    const flagsAt = pos;
    const longAtoms = (nibble(buf, flagsAt, n) & 1) === 1;
    pos += flagBytes;
    const atoms: Atom[] = reuse ? (this.byCount[n] ??= new Array<Atom>(n)) : new Array<Atom>(n);
    // New entries update the table only once the whole header is valid: until then they are kept here.
    let updates: [number, Atom][] | undefined;
    for (let i = 0; i < n; i++) {
      const f = nibble(buf, flagsAt, i);
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
        atoms[i] = a;
        (updates ??= []).push([slot, a]);
      } else {
        // An old ref may name a slot that a NEW ref earlier in this same header filled.
        let a = this.slots[slot];
        if (updates !== undefined) for (const [s, v] of updates) if (s === slot) a = v;
        if (a === undefined) return fail(`atom cache ref ${i} names empty slot (segment ${segment}, index ${slot & 255})`);
        atoms[i] = a;
      }
    }
    if (updates !== undefined) for (const [s, a] of updates) this.slots[s] = a;
    this.end = pos;
    return atoms;
  }

  /** The atom in a slot, if any (for tests and debugging). */
  slot(segment: number, index: number): Atom | undefined {
    return this.slots[segment * 256 + index];
  }
}

/** What sending an atom through the cache needs, computed once per atom: its slot and its UTF-8 text. */
interface CachedAtom {
  readonly slot: number;
  readonly text: Buffer;
}

/** Kept on the atom itself (atoms are interned for the life of the process): no lookup per send. */
function cachedAtom(a: Atom): CachedAtom {
  let c = a.distCache;
  if (c === undefined) {
    const text = Buffer.from(a.name, 'utf8');
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + (text[i] as number)) | 0;
    c = { slot: (h >>> 0) % ATOM_CACHE_SIZE, text };
    a.distCache = c;
  }
  return c;
}

/** Most atom cache refs one header can carry (the count is a byte). */
const MAX_REFS = 255;

/**
 * The sending atom cache of one connection. Per frame: {@link begin}, encode
 * the terms with {@link index} as the Encoder's `atomCacheIndex` (it numbers
 * the frame's refs), then {@link writeHeader} writes the header and records
 * the new entries as sent. A frame that is abandoned before `writeHeader`
 * leaves the table as it was. An atom whose slot another atom of the same
 * frame took, or past 255 refs, is written inline.
 */
export class AtomCacheWriter {
  /** What the peer holds in each slot, as far as frames written so far tell it. */
  private readonly slots: (Atom | undefined)[] = new Array<Atom | undefined>(ATOM_CACHE_SIZE).fill(undefined);
  /** The frame number that last used each slot, and the ref it got there. */
  private readonly usedIn = new Int32Array(ATOM_CACHE_SIZE);
  private readonly refOfSlot = new Uint8Array(ATOM_CACHE_SIZE);
  private readonly refAtoms: Atom[] = [];
  private readonly refEntries: CachedAtom[] = [];
  private readonly refIsNew = new Uint8Array(MAX_REFS);
  private count = 0;
  private frame = 0;

  /** Starts a frame with no refs. */
  begin(): void {
    this.count = 0;
    if (++this.frame === 0x7fffffff) {
      this.usedIn.fill(0);
      this.frame = 1;
    }
  }

  /** Refs of the current frame so far. */
  get refCount(): number {
    return this.count;
  }

  /** The Encoder's `atomCacheIndex`: the frame's ref index for `a`, or undefined to write it inline. */
  readonly index = (a: Atom): number | undefined => {
    const c = cachedAtom(a);
    const slot = c.slot;
    if (this.usedIn[slot] === this.frame) {
      const i = this.refOfSlot[slot] as number;
      return this.refAtoms[i] === a ? i : undefined;
    }
    const i = this.count;
    if (i >= MAX_REFS) return undefined;
    this.count = i + 1;
    this.usedIn[slot] = this.frame;
    this.refOfSlot[slot] = i;
    this.refAtoms[i] = a;
    this.refEntries[i] = c;
    this.refIsNew[i] = this.slots[slot] === a ? 0 : 1;
    return i;
  };

  /** The size in bytes of what {@link AtomCacheWriter.writeHeader} writes for the current frame. */
  headerSize(): number {
    const n = this.count;
    if (n === 0) return 1;
    let size = 1 + (n >> 1) + 1 + n;
    let long = false;
    let text = 0;
    let newRefs = 0;
    for (let i = 0; i < n; i++) {
      if (this.refIsNew[i] === 1) {
        const len = (this.refEntries[i] as CachedAtom).text.length;
        if (len > 255) long = true;
        text += len;
        newRefs++;
      }
    }
    size += text + newRefs * (long ? 2 : 1);
    return size;
  }

  /**
   * Writes the current frame's header from NumberOfAtomCacheRefs on (after
   * `131,68`) and records its new entries as sent.
   */
  writeHeader(w: EtfWriter): void {
    const n = this.count;
    w.u8(n);
    if (n === 0) return;
    let long = false;
    for (let i = 0; i < n; i++) if (this.refIsNew[i] === 1 && (this.refEntries[i] as CachedAtom).text.length > 255) long = true;
    const flagsAt = w.skip((n >> 1) + 1);
    const b = w.buf;
    for (let i = flagsAt, end = flagsAt + (n >> 1) + 1; i < end; i++) b[i] = 0; // a byte or two: cheaper than Buffer#fill's checks
    for (let i = 0; i <= n; i++) {
      const nibble = i === n ? (long ? 1 : 0) : (this.refIsNew[i] === 1 ? 8 : 0) | ((this.refEntries[i] as CachedAtom).slot >> 8);
      b[flagsAt + (i >> 1)] = (b[flagsAt + (i >> 1)] as number) | ((i & 1) === 0 ? nibble : nibble << 4);
    }
    for (let i = 0; i < n; i++) {
      const c = this.refEntries[i] as CachedAtom;
      w.u8(c.slot & 255);
      if (this.refIsNew[i] === 1) {
        if (long) w.u16(c.text.length);
        else w.u8(c.text.length);
        w.bytes(c.text);
        this.slots[c.slot] = this.refAtoms[i];
      }
    }
  }
}
