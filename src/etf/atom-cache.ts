/**
 * A small decode-side cache that maps the bytes of short atoms straight to
 * interned {@link Atom}s, so decoding the same atom again does not build a
 * string: a hash of the bytes picks a slot, and a byte comparison confirms it.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { Atom } from '../terms/atom.js';

const SLOTS = 4096; // power of two
const MAX_LEN = 64;

/**
 * Direct-mapped cache from atom bytes (Latin-1 or UTF-8) to atoms. Names
 * longer than 64 bytes bypass it.
 */
export class AtomDecodeCache {
  /** Slot → the bytes, atom and encoding last decoded there (one load per lookup). */
  private readonly entries: Array<CacheEntry | undefined> = new Array<CacheEntry | undefined>(SLOTS).fill(undefined);

  /**
   * The atom spelled by `buf[start .. start+len)`, or undefined when the
   * bytes are not valid UTF-8 (only checked when `utf8`).
   */
  lookup(buf: Buffer, start: number, len: number, utf8: boolean): Atom | undefined {
    if (len > MAX_LEN) return decodeAtom(buf, start, len, utf8);
    // The slot: from the first and last four bytes and the length (a full compare confirms the hit).
    let h: number;
    if (len >= 4) {
      const e = start + len - 4;
      const head = ((buf[start] as number) << 24) | ((buf[start + 1] as number) << 16) | ((buf[start + 2] as number) << 8) | (buf[start + 3] as number);
      const tail = ((buf[e] as number) << 24) | ((buf[e + 1] as number) << 16) | ((buf[e + 2] as number) << 8) | (buf[e + 3] as number);
      h = Math.imul(head ^ Math.imul(tail, 0x9e3779b1), 0x85ebca6b) ^ len;
    } else {
      h = 0x811c9dc5 ^ len;
      for (let i = 0; i < len; i++) h = Math.imul(h ^ (buf[start + i] as number), 16777619);
    }
    const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
    const entry = this.entries[slot];
    if (entry !== undefined) {
      const k = entry.bytes;
      if (k.length === len) {
        let ascii = 0;
        let i = 0;
        for (; i < len; i++) {
          const c = buf[start + i] as number;
          if (k[i] !== c) break;
          ascii |= c;
        }
        // ASCII spells the same atom in both encodings; other bytes need the same encoding.
        if (i === len && (ascii < 0x80 || entry.utf8 === utf8)) return entry.atom;
      }
    }
    const a = decodeAtom(buf, start, len, utf8);
    if (a === undefined) return undefined;
    this.entries[slot] = { bytes: Uint8Array.prototype.slice.call(buf, start, start + len), atom: a, utf8 };
    return a;
  }
}

interface CacheEntry {
  readonly bytes: Uint8Array;
  readonly atom: Atom;
  readonly utf8: boolean;
}

function decodeAtom(buf: Buffer, start: number, len: number, utf8: boolean): Atom | undefined {
  if (!utf8) return Atom.of(buf.toString('latin1', start, start + len));
  const view = buf.subarray(start, start + len);
  if (!isUtf8(view)) return undefined;
  return Atom.of(view.toString('utf8'));
}

/** The cache shared by all decoders (atoms are global anyway). */
export const sharedAtomCache = new AtomDecodeCache();
