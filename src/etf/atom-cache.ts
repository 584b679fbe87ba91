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
  private readonly keys: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(SLOTS).fill(undefined);
  private readonly atoms: Array<Atom | undefined> = new Array<Atom | undefined>(SLOTS).fill(undefined);

  /**
   * The atom spelled by `buf[start .. start+len)`, or undefined when the
   * bytes are not valid UTF-8 (only checked when `utf8`).
   */
  lookup(buf: Buffer, start: number, len: number, utf8: boolean): Atom | undefined {
    if (len > MAX_LEN) return decodeAtom(buf, start, len, utf8);
    let h = 0x811c9dc5;
    let ascii = 0;
    for (let i = 0; i < len; i++) {
      const c = buf[start + i] as number;
      ascii |= c;
      h = Math.imul(h ^ c, 16777619);
    }
    const slot = (h ^ (h >>> 15) ^ len) & (SLOTS - 1);
    const k = this.keys[slot];
    if (k !== undefined && k.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (k[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        const a = this.atoms[slot] as Atom;
        // ASCII spells the same atom in both encodings; other bytes need the same encoding.
        if (ascii < 0x80 || this.utf8Flags[slot] === utf8) return a;
      }
    }
    const a = decodeAtom(buf, start, len, utf8);
    if (a === undefined) return undefined;
    this.keys[slot] = Uint8Array.prototype.slice.call(buf, start, start + len);
    this.atoms[slot] = a;
    this.utf8Flags[slot] = utf8;
    return a;
  }

  private readonly utf8Flags: boolean[] = new Array<boolean>(SLOTS).fill(false);
}

function decodeAtom(buf: Buffer, start: number, len: number, utf8: boolean): Atom | undefined {
  if (!utf8) return Atom.of(buf.toString('latin1', start, start + len));
  const view = buf.subarray(start, start + len);
  if (!isUtf8(view)) return undefined;
  return Atom.of(view.toString('utf8'));
}

/** The cache shared by all decoders (atoms are global anyway). */
export const sharedAtomCache = new AtomDecodeCache();
