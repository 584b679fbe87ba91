/**
 * Encoder: JavaScript values → External Term Format, written into a reusable
 * {@link EtfWriter}. Chooses the compact forms OTP itself emits (see the
 * mapping table in `index.ts`). The entry points are {@link Encoder.writeTerm}
 * (no 131 prefix, for the distribution layer) and {@link Encoder.encode}
 * (a stand-alone term with 131, optionally compressed).
 * @module
 */
import { NativeRecord } from './native-record.js';
import { deflateSync } from 'node:zlib';
import { Atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';
import { Pid, Port, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tag, VERSION } from './tags.js';
import { EtfEncodeError } from './errors.js';
import { EtfWriter } from './writer.js';
import { Float } from './float.js';
import { Charlist } from './charlist.js';
import { BitString } from './bit-string.js';
import { ExportFun, Fun } from './funs.js';
import { ErlMap } from './erl-map.js';
import { defaultRegistry, type TypeRegistry } from './registry.js';
import { errorToFields } from './error-term.js';
import { dateToFields } from './date-term.js';

/** Options of {@link Encoder}. */
export interface EncodeOptions {
  /**
   * `'utf8'` (default): SMALL_ATOM_UTF8_EXT / ATOM_UTF8_EXT, as on a
   * distribution connection. `'latin1'`: ATOM_EXT for atoms whose characters
   * are all Latin-1, like OTP 25's `term_to_binary/1` default.
   */
  atomEncoding?: 'utf8' | 'latin1';
  /**
   * Distribution atom cache: return the cache index (0..255) to emit
   * ATOM_CACHE_REF for `atom`, or undefined to write the atom inline.
   */
  atomCacheIndex?: (atom: Atom) => number | undefined;
  /**
   * Canonical form, for hashing and equality rather than sending: binaries
   * always as BINARY_EXT, lists of 0..255 integers always as STRING_EXT and
   * map entries sorted by the bytes of their encoded keys, so equal Erlang
   * terms give equal bytes.
   */
  canonical?: boolean;
  /**
   * Deepest nesting accepted. Default: unlimited (the encoder keeps its own
   * stack). A value that contains itself fails with code `'cycle'` either way.
   */
  maxDepth?: number;
  /** Registered struct types. Default: the registry of {@link registerType}. */
  registry?: TypeRegistry;
  /**
   * Widest integer to encode, in bytes of magnitude. Default
   * {@link MAX_PORTABLE_BIGINT_BYTES} (524,280 bytes, 4,194,240 bits): the
   * widest `binary_to_term` accepts on OTP 26 and later, so a wider one fails
   * here with code `'bad_value'` instead of costing the receiver's
   * connection. OTP 25 accepts up to 2^25 bits: raise it for OTP 25 peers.
   */
  maxBigIntBytes?: number;
  /**
   * Whether `NativeRecord` may be written as RECORD_EXT (default true). A
   * distribution connection sets it from the peer's DFLAG_NATIVE_RECORDS:
   * OTP 28 and older drop the connection on RECORD_EXT, so the encoder
   * throws `EtfEncodeError` (`bad_value`) to the sender instead.
   */
  nativeRecords?: boolean;
}

/** The widest integer every supported OTP (25 to 29) decodes: 4,194,240 bits. */
export const MAX_PORTABLE_BIGINT_BYTES = 524_280;

/** Options of {@link Encoder.encode} and the `encode` function. */
export interface EncodeToBufferOptions {
  /** Compress with zlib (tag 80) when that makes the term smaller; `true` is level 6, or give 1..9. Default false. */
  compressed?: boolean | number;
}

const TRUE = Atom.of('true');
const FALSE = Atom.of('false');
const NIL = Atom.of('nil');
const UNDEFINED = Atom.of('undefined');
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// eslint-disable-next-line @typescript-eslint/unbound-method
const hasOwn = Object.prototype.hasOwnProperty;

const STRUCT_KEY = Atom.of('__struct__');
/** Object keys whose encodings an encoder keeps. */
const MAX_KEY_CACHE = 4096;
/** Object keys remembered by position (see `writeKeyAt`): so many positions, at so many depths (a power of two). */
const MEMO_KEYS = 32;
const MEMO_DEPTHS = 8;
/** Strings up to this length are tried as ASCII in JavaScript before the native UTF-8 write. */
const SHORT_STRING = 24;
/**
 * Longest string value that joins an ASCII run (see `flushRun`): BINARY_EXT's length bytes are
 * ASCII up to 127, so a run of such entries is ASCII exactly when every value in it is.
 */
const RUN_STRING = 127;
/** BINARY_EXT headers of lengths 0..RUN_STRING, as strings of ASCII characters. */
const BINARY_HEADERS: readonly string[] = Array.from({ length: RUN_STRING + 1 }, (_, n) => String.fromCharCode(Tag.BINARY, 0, 0, 0, n));
/** Most entries in one run (the pending keys and values are kept to rewrite them if the run is not ASCII). */
const RUN_ENTRIES = 64;
/** After a run turns out not to be ASCII, so many plain objects are written without runs. */
const RUN_COOLDOWN = 32;
/** The slab stand-alone terms are written into and handed out from as views. */
const SLAB_SIZE = 64 * 1024;
/** Below this much room left, the next term starts a new slab. */
const SLAB_MIN_ROOM = 1024;
/** Frames kept between terms (beyond this, a very deep term's frames are let go). */
const KEEP_FRAMES = 1 << 16;
/**
 * Nesting to which {@link Encoder} writes containers by plain recursion (most terms are shallow);
 * a container deeper than this is written with the explicit stack, which has no depth limit.
 */
const FAST_DEPTH = 64;
const E_ITEMS = 0;
const E_OBJECT = 1;
const E_MAP = 2;
const E_SORTED = 3;
/** Frame trailers: a tag byte written after the children (>= 0), none, or the size field of NEW_FUN_EXT. */
const NO_TRAILER = -1;
const TRAILER_FUN_SIZE = -2;
const NO_ITEMS: readonly unknown[] = [];
const NO_KEYS: string[] = [];
const NO_RECORD: Record<string, unknown> = {};
const NO_OBJECT: object = {};

interface SortedEntry {
  readonly key: string;
  readonly value: unknown;
}

const NO_SORTED: SortedEntry[] = [];

/** One container being written on the explicit stack (reused across terms). */
class EFrame {
  kind = E_ITEMS;
  /** The JS value of the container (for the cycle check). */
  obj: object = NO_OBJECT;
  /** Children in total and the next one. */
  n = 0;
  i = 0;
  trailer = NO_TRAILER;
  /** NEW_FUN_EXT: offset of its tag. */
  at = 0;
  items: readonly unknown[] = NO_ITEMS;
  keys: string[] = NO_KEYS;
  record: Record<string, unknown> = NO_RECORD;
  iter: Iterator<[unknown, unknown]> | undefined = undefined;
  pending: unknown = undefined;
  sorted: SortedEntry[] = NO_SORTED;
}

function describe(v: object): string {
  if (Array.isArray(v)) return 'list';
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? name : 'an unknown class';
}

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

/**
 * Encodes JavaScript values as ETF. Reuse one Encoder (and one writer) for
 * many terms: it keeps no per-term state.
 *
 * @example
 * ```ts
 * import { Encoder, EtfWriter } from 'beamline/etf';
 * import { atom, tuple } from 'beamline';
 * const enc = new Encoder();
 * const bytes = enc.encode(tuple(atom('ok'), 'hi')); // <<131,104,2,119,2,"ok",109,...>>
 * const w = new EtfWriter();
 * enc.writeTerm(w, atom('ping'));                       // no 131 prefix
 * ```
 */
export class Encoder {
  private readonly latin1Atoms: boolean;
  private readonly cacheIndex: ((atom: Atom) => number | undefined) | undefined;
  private readonly canonical: boolean;
  private readonly maxDepth: number;
  private readonly registry: TypeRegistry;
  private readonly maxBigIntBytes: number;
  private readonly nativeRecords: boolean;
  private readonly own = new EtfWriter(SLAB_SIZE);
  /** The slab `own` writes into, its memory and its offset there. */
  private slab: Buffer | undefined = undefined;
  private slabMemory: ArrayBufferLike = new ArrayBuffer(0);
  private slabOffset = 0;
  private busy = false;
  /** The explicit stack: frames[0 .. sp) are the containers being written. */
  private readonly frames: EFrame[] = [];
  private sp = 0;
  /** Nesting above the explicit stack's bottom frame (the recursive path's depth when it handed over). */
  private depthBase = 0;
  /** Containers nested this deep or deeper go to the explicit stack: `min(FAST_DEPTH, maxDepth)`, 0 when canonical. */
  private readonly fastDepth: number;
  /** Encoded atoms seen under `atomEncoding: 'latin1'` (UTF-8 encodings are kept on the atom): copied, not re-encoded. */
  private readonly atomBytes = new Map<Atom, Encoded>();
  /** Encoded atoms of object keys seen (see `writeKey`). */
  private readonly keyBytes = new Map<string, Encoded>();
  /** Per nesting depth (mod MEMO_DEPTHS): the object keys last written at each position, and their encodings. */
  /**
   * (Filled with the key '' rather than undefined, `memoBytes` with its encoding: a comparison that has
   * only seen strings compiles to a pointer comparison instead of a call.)
   */
  private readonly memoKeys: string[][] = Array.from({ length: MEMO_DEPTHS }, () => new Array<string>(MEMO_KEYS).fill(''));
  private readonly memoBytes: Encoded[] = new Array<Encoded>(MEMO_DEPTHS * MEMO_KEYS).fill(NO_ENCODED);
  /** The entries of the ASCII run being gathered (see `flushRun`): their keys and string values. */
  private readonly runKeys: Encoded[] = new Array<Encoded>(RUN_ENTRIES).fill(NO_ENCODED);
  private readonly runValues: string[] = new Array<string>(RUN_ENTRIES).fill('');
  /** Plain objects still to be written without runs since a run was not ASCII. */
  private runCooldown = 0;
  /** Where a run is written when the output has no room for its worst case (see `flushRun`). */
  private runScratch: Buffer | undefined = undefined;

  constructor(opts: EncodeOptions = {}) {
    this.latin1Atoms = opts.atomEncoding === 'latin1';
    this.cacheIndex = opts.atomCacheIndex;
    this.canonical = opts.canonical === true;
    this.maxDepth = opts.maxDepth ?? Infinity;
    this.registry = opts.registry ?? defaultRegistry;
    this.maxBigIntBytes = opts.maxBigIntBytes ?? MAX_PORTABLE_BIGINT_BYTES;
    this.nativeRecords = opts.nativeRecords ?? true;
    this.fastDepth = this.canonical ? 0 : Math.min(FAST_DEPTH, this.maxDepth);
    // Every position starts out remembering the key '' (with its true encoding under these options; the
    // positions are not used under an atom cache).
    if (this.cacheIndex === undefined) this.memoBytes.fill(this.keyEncoding(''));
  }

  /**
   * A stand-alone term: 131 followed by the term (or by tag 80 and the
   * compressed term). Returns a Buffer the caller owns; like
   * `Buffer.allocUnsafe`'s, small ones are views of a shared slab (other
   * terms live in the rest of its `.buffer`).
   */
  encode(term: unknown, opts?: EncodeToBufferOptions): Buffer {
    const level = opts === undefined || opts.compressed === undefined || opts.compressed === false ? undefined : opts.compressed === true ? 6 : opts.compressed;
    if (this.busy) {
      // Re-entered (a registered type's toFields encoding): a writer of its own.
      const w = new EtfWriter(256);
      w.u8(VERSION);
      this.writeTerm(w, term);
      return level !== undefined ? compress(w, 0, level) : w.toBuffer();
    }
    // Terms are written one after another into a slab and handed out as views of it (as Node's Buffer
    // pool hands out allocUnsafe buffers): no copy and no allocation per term but the view.
    const w = this.own;
    if (w.buf.length - w.length < SLAB_MIN_ROOM) {
      w.buf = Buffer.allocUnsafeSlow(SLAB_SIZE);
      w.length = 0;
    }
    const start = w.length;
    this.busy = true;
    try {
      w.u8(VERSION);
      this.writeTerm(w, term);
    } catch (err) {
      w.length = start;
      throw err;
    } finally {
      this.busy = false;
    }
    if (level !== undefined) {
      const out = compress(w, start, level);
      w.length = start;
      return out;
    }
    const b = w.buf;
    if (b !== this.slab) {
      // Typed arrays' `buffer` and `byteOffset` are getters worth avoiding per term: read once per slab.
      this.slab = b;
      this.slabMemory = b.buffer;
      this.slabOffset = b.byteOffset;
    }
    const out = new FastBuffer(this.slabMemory, this.slabOffset + start, w.length - start);
    // A term that made the slab grow leaves it to its view; the next term starts a new slab.
    if (b.length > SLAB_SIZE) w.length = b.length;
    return out;
  }

  /** Appends `term` to `w` without the 131 version byte (as inside distribution frames). */
  writeTerm(w: EtfWriter, term: unknown): void {
    this.fast(w, term, 0);
  }

  /**
   * Writes `v`, `depth` containers deep, by recursion for the common shallow
   * shapes (tuples, lists, plain objects, Maps of any leaves), without frames
   * or per-term allocation. Anything else, and any container at `fastDepth`
   * or deeper, goes to the explicit stack ({@link Encoder.deep}), so the call
   * stack stays bounded and a value that contains itself is found there.
   */
  private fast(w: EtfWriter, v: unknown, depth: number): void {
    // Tests of `typeof v` against one literal each: TurboFan turns each into a type check, where a
    // `switch (typeof v)` first calls the Typeof builtin for the type's name.
    if (typeof v === 'string') {
      this.string(w, v);
      return;
    }
    if (typeof v === 'number') {
      if (v >= 0 && v <= 255 && (v | 0) === v && !(v === 0 && 1 / v < 0)) {
        if (w.length + 2 > w.buf.length) w.ensure(2);
        const b = w.buf;
        b[w.length] = Tag.SMALL_INTEGER;
        b[w.length + 1] = v;
        w.length += 2;
      } else {
        this.number(w, v);
      }
      return;
    }
    if (typeof v === 'object') {
      if (v === null) {
        this.writeAtom(w, NIL);
        return;
      }
      const ctor = (v as { constructor?: unknown }).constructor;
      if (ctor === Atom) return this.writeAtom(w, v as Atom);
      if (ctor === Pid) return this.pid(w, v as Pid);
      if (ctor === Ref) return this.ref(w, v as Ref);
      if (depth >= this.fastDepth) {
        this.deep(w, v, depth);
        return;
      }
      const d = depth + 1;
      if (ctor === Tuple) {
        const a = (v as Tuple).elements;
        const n = a.length;
        if (n <= 255) {
          if (w.length + 2 > w.buf.length) w.ensure(2);
          w.buf[w.length] = Tag.SMALL_TUPLE;
          w.buf[w.length + 1] = n;
          w.length += 2;
        } else {
          w.tagU32(Tag.LARGE_TUPLE, n);
        }
        for (let i = 0; i < n; i++) this.fast(w, a[i], d);
        return;
      }
      if (ctor === Array) {
        const a = v as readonly unknown[];
        const n = a.length;
        if (n > 0) {
          w.tagU32(Tag.LIST, n);
          for (let i = 0; i < n; i++) this.fast(w, a[i], d);
        }
        w.u8(Tag.NIL);
        return;
      }
      if (ctor === Object && Object.getPrototypeOf(v) === Object.prototype) {
        // for-in with an own-property check is Object.keys' order and set without the key array, and V8
        // loads `o[k]` through the shape's enum cache (Object.keys + o[k] is a generic keyed load per key).
        const o = v as Record<string, unknown>;
        if (w.length + 5 > w.buf.length) w.ensure(5);
        const at = w.length;
        w.buf[at] = Tag.MAP;
        w.length = at + 5;
        let n: number;
        if (this.runCooldown > 0) {
          this.runCooldown--;
          n = this.entries(w, o, depth);
        } else {
          n = this.entriesWithRuns(w, o, depth);
        }
        writeU32(w.buf, at + 1, n);
        return;
      }
      if (ctor === Map) {
        const m = v as Map<unknown, unknown>;
        const n = m.size;
        w.tagU32(Tag.MAP, n);
        if (n === 0) return;
        const it = m.entries();
        for (let i = 0; i < n; i++) {
          const e = it.next();
          if (e.done === true) throw new EtfEncodeError('bad_value', 'map changed size while being encoded');
          this.fast(w, e.value[0], d);
          this.fast(w, e.value[1], d);
        }
        return;
      }
    } else if (typeof v === 'boolean') {
      this.writeAtom(w, v ? TRUE : FALSE);
      return;
    } else if (typeof v === 'undefined') {
      this.writeAtom(w, UNDEFINED);
      return;
    } else if (typeof v === 'bigint') {
      this.bigint(w, v);
      return;
    }
    this.deep(w, v, depth);
  }

  /** Writes the entries of plain object `o`, `depth` containers deep, one by one; returns how many. */
  private entries(w: EtfWriter, o: Record<string, unknown>, depth: number): number {
    const d = depth + 1;
    let n = 0;
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      this.writeKeyAt(w, k, n, depth);
      this.fast(w, o[k], d);
      n++;
    }
    return n;
  }

  /** Writes the entries of plain object `o`, `depth` containers deep, with ASCII runs (see `flushRun`); returns how many. */
  private entriesWithRuns(w: EtfWriter, o: Record<string, unknown>, depth: number): number {
    const d = depth + 1;
    let n = 0;
    // Entries whose key and string value are ASCII are gathered into one string (a run), written by
    // one native call instead of one per value (see `flushRun`); any other entry ends the run.
    let run = '';
    /** Entries in the run. */
    let m = 0;
    const runKeys = this.runKeys;
    const runValues = this.runValues;
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      const key = this.cacheIndex === undefined ? this.keyAt(k, n, depth) : this.cachedKey(k);
      const val = o[k];
      n++;
      if (typeof val === 'string') {
        const len = val.length;
        if (len <= RUN_STRING && key.text !== undefined && (len > SHORT_STRING || m > 0)) {
          run = run + (key.headerLength === len ? (key.flat ? key.withHeader : key.flatten()) : key.setHeader(len)) + val;
          runKeys[m] = key;
          runValues[m] = val;
          if (++m === RUN_ENTRIES) {
            this.flushRun(w, run, m);
            run = '';
            m = 0;
          }
          continue;
        }
      }
      // Any other entry ends the run and is written as `entries` writes it.
      if (m > 0) {
        this.flushRun(w, run, m);
        run = '';
        m = 0;
      }
      copyEncoded(w, key);
      if (typeof val === 'string') this.string(w, val);
      else this.fast(w, val, d);
    }
    if (m > 0) this.flushRun(w, run, m);
    return n;
  }

  /** Writes `v` with the explicit stack, as the subterm `depth` containers deep. */
  private deep(w: EtfWriter, v: unknown, depth: number): void {
    const was = this.depthBase;
    this.depthBase = depth;
    try {
      this.term(w, v);
    } finally {
      this.depthBase = was;
    }
  }

  /** Appends an atom (honours the atom cache and encoding options). */
  writeAtom(w: EtfWriter, a: Atom): void {
    if (this.cacheIndex !== undefined) {
      const i = this.cacheIndex(a);
      if (i !== undefined) {
        copyEncoded(w, cacheRef(i));
        return;
      }
    }
    // UTF-8 encodings (the default, whatever the other options) live on the atom itself: one field load.
    const known = this.latin1Atoms ? this.atomBytes.get(a) : (a.etf as Encoded | undefined);
    if (known !== undefined) {
      copyEncoded(w, known);
      return;
    }
    const from = w.length;
    this.atomText(w, a.name);
    this.keepAtom(a, new Encoded(Uint8Array.prototype.slice.call(w.buf, from, w.length)));
  }

  /** Keeps `e`, the inline encoding of `a`: on the atom (UTF-8), or in the encoder's bounded map (Latin-1). */
  private keepAtom(a: Atom, e: Encoded): void {
    if (!this.latin1Atoms) a.etf = e;
    else if (this.atomBytes.size < MAX_KEY_CACHE) this.atomBytes.set(a, e);
  }

  /** An atom's name (no cache). */
  private atomText(w: EtfWriter, name: string): void {
    const n = name.length;
    if (n <= 255) {
      // Fast path: ASCII names, written straight into the buffer.
      w.ensure(n + 3);
      const b = w.buf;
      const start = w.length;
      let p = start + (this.latin1Atoms ? 3 : 2);
      let i = 0;
      for (; i < n; i++) {
        const c = name.charCodeAt(i);
        if (c > 0x7f) break;
        b[p++] = c;
      }
      if (i === n) {
        if (this.latin1Atoms) {
          b[start] = Tag.ATOM;
          b[start + 1] = 0;
          b[start + 2] = n;
        } else {
          b[start] = Tag.SMALL_ATOM_UTF8;
          b[start + 1] = n;
        }
        w.length = p;
        return;
      }
    }
    this.atomSlow(w, name);
  }

  /** An object key as an atom: its encoding is kept per key string (objects of one shape repeat their keys). */
  private writeKey(w: EtfWriter, k: string): void {
    if (this.cacheIndex !== undefined) {
      this.writeAtom(w, Atom.of(k));
      return;
    }
    copyEncoded(w, this.keyEncoding(k));
  }

  /**
   * The key of entry `i` of a plain object `depth` levels deep. Objects met at one depth tend to share a
   * shape, so each depth remembers the key strings it saw last by position: a key that is the same
   * string as last time there is one comparison, not a lookup by the key's text.
   */
  private writeKeyAt(w: EtfWriter, k: string, i: number, depth: number): void {
    if (this.cacheIndex !== undefined) {
      this.writeKey(w, k);
      return;
    }
    copyEncoded(w, this.keyAt(k, i, depth));
  }

  /** The atom encoding of key `k`, entry `i` of a plain object `depth` levels deep (see `writeKeyAt`); no atom cache. */
  private keyAt(k: string, i: number, depth: number): Encoded {
    if (i >= MEMO_KEYS) return this.keyEncoding(k);
    const row = depth & (MEMO_DEPTHS - 1);
    const keys = this.memoKeys[row] as string[];
    const slot = row * MEMO_KEYS + i;
    if (keys[i] === k) return this.memoBytes[slot] as Encoded;
    const bytes = this.keyEncoding(k);
    keys[i] = k;
    this.memoBytes[slot] = bytes;
    return bytes;
  }

  /**
   * Writes the pending run: `run` is the concatenation of each pending entry's key encoding, BINARY_EXT
   * header and string value, as characters. V8 joins the pieces and writes them in one native call, where
   * writing each value costs a call of its own (about 45 ns, what a 1 KB map's 20 values spent). Written as
   * UTF-8, the run takes exactly one byte a character when every character is ASCII, and then the bytes are
   * the entries' encodings; otherwise some value is not ASCII, its header was wrong, and the entries are
   * written again one by one (and the next objects go without runs for a while).
   */
  private flushRun(w: EtfWriter, run: string, count: number): void {
    const len = run.length;
    // UTF-8 takes at most 3 bytes a UTF-16 unit: with room for that, all of `run` is written and the byte
    // count tells whether it was ASCII (with less, a truncated write could count `len` bytes by chance).
    const worst = 3 * len;
    const p = w.length;
    let n: number;
    if (w.buf.length - p >= worst) {
      n = (w.buf as NodeBuffer).utf8Write(run, p, worst);
    } else if (w.buf.length - p < len) {
      w.ensure(worst);
      n = (w.buf as NodeBuffer).utf8Write(run, p, worst);
    } else {
      // Room for the ASCII bytes but not the worst case: the room is not grown (a slab would be copied) for it.
      let scratch = this.runScratch;
      if (scratch === undefined || scratch.length < worst) {
        scratch = Buffer.allocUnsafe(Math.max(worst, 4096));
        this.runScratch = scratch;
      }
      n = (scratch as NodeBuffer).utf8Write(run, 0, worst);
      if (n === len) w.buf.set(scratch.subarray(0, len), p);
    }
    if (n === len) {
      w.length = p + len;
      return;
    }
    this.runCooldown = RUN_COOLDOWN;
    for (let i = 0; i < count; i++) {
      copyEncoded(w, this.runKeys[i] as Encoded);
      this.string(w, this.runValues[i] as string);
    }
  }

  /**
   * The encoding of key `k` under the distribution atom cache, asking the cache once as `writeAtom`
   * does: ATOM_CACHE_REF when it gives an index (ASCII below 128, so such keys join runs too), else the atom inline.
   */
  private cachedKey(k: string): Encoded {
    const a = Atom.of(k);
    const i = (this.cacheIndex as (atom: Atom) => number | undefined)(a);
    return i === undefined ? this.inlineAtom(a) : cacheRef(i);
  }

  /** The inline encoding of atom `a` (no cache), kept as `writeAtom` keeps it. */
  private inlineAtom(a: Atom): Encoded {
    const known = this.latin1Atoms ? this.atomBytes.get(a) : (a.etf as Encoded | undefined);
    if (known !== undefined) return known;
    const kw = new EtfWriter(16);
    this.atomText(kw, a.name);
    const e = new Encoded(kw.toBuffer());
    this.keepAtom(a, e);
    return e;
  }

  /** The atom encoding of key `k` (not to be changed: it is cached). */
  private keyEncoding(k: string): Encoded {
    let bytes = this.keyBytes.get(k);
    if (bytes === undefined) {
      const kw = new EtfWriter(16);
      this.writeAtom(kw, Atom.of(k));
      bytes = new Encoded(kw.toBuffer());
      if (this.keyBytes.size < MAX_KEY_CACHE) this.keyBytes.set(k, bytes);
    }
    return bytes;
  }

  private atomSlow(w: EtfWriter, name: string): void {
    let chars = 0;
    let latin1 = true;
    for (const ch of name) {
      chars++;
      if ((ch.codePointAt(0) as number) > 0xff) latin1 = false;
    }
    if (chars > 255) throw new EtfEncodeError('bad_atom', `atom of ${chars} characters (Erlang allows 255)`);
    if (this.latin1Atoms && latin1) {
      w.u8(Tag.ATOM);
      w.u16(chars);
      w.ensure(chars);
      w.length += w.buf.write(name, w.length, chars, 'latin1');
      return;
    }
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes <= 255) {
      w.u8(Tag.SMALL_ATOM_UTF8);
      w.u8(bytes);
    } else {
      w.u8(Tag.ATOM_UTF8);
      w.u16(bytes);
    }
    w.utf8(name);
  }

  /**
   * Writes `root` with an explicit stack: a container writes its header and
   * pushes a frame, and the loop then writes the frame's children in order.
   * Nesting is bounded only by memory; a value that contains itself is found
   * by comparing each new container with an ancestor on the current path.
   * Re-entrant: a nested run (canonical map keys) works above `base`.
   */
  private term(w: EtfWriter, root: unknown): void {
    const base = this.sp;
    let v = root;
    try {
      for (;;) {
        switch (typeof v) {
          case 'string':
            this.string(w, v);
            break;
          case 'number':
            this.number(w, v);
            break;
          case 'boolean':
            this.writeAtom(w, v ? TRUE : FALSE);
            break;
          case 'bigint':
            this.bigint(w, v);
            break;
          case 'undefined':
            this.writeAtom(w, UNDEFINED);
            break;
          case 'object':
            if (v === null) this.writeAtom(w, NIL);
            else this.object(w, v);
            break;
          default:
            throw new EtfEncodeError('unsupported', `cannot encode a ${typeof v}`);
        }
        // The next child of the innermost unfinished container.
        for (;;) {
          if (this.sp === base) return;
          const f = this.frames[this.sp - 1] as EFrame;
          const i = f.i++;
          if (i < f.n) {
            if (f.kind === E_ITEMS) {
              v = f.items[i];
            } else if (f.kind === E_OBJECT) {
              const k = f.keys[i] as string;
              this.writeKey(w, k);
              v = f.record[k];
            } else if (f.kind === E_MAP) {
              if ((i & 1) === 0) {
                const e = (f.iter as Iterator<[unknown, unknown]>).next();
                if (e.done === true) throw new EtfEncodeError('bad_value', 'map changed size while being encoded');
                v = e.value[0];
                f.pending = e.value[1];
              } else {
                v = f.pending;
                f.pending = undefined;
              }
            } else {
              // E_SORTED: pre-encoded key bytes, then the value
              const e = f.sorted[i] as SortedEntry;
              w.ensure(e.key.length);
              w.length += w.buf.write(e.key, w.length, e.key.length, 'latin1');
              v = e.value;
            }
            break;
          }
          if (f.trailer >= 0) w.u8(f.trailer);
          else if (f.trailer === TRAILER_FUN_SIZE) w.setU32(f.at + 1, w.length - f.at - 1);
          this.pop(f);
        }
      }
    } catch (err) {
      while (this.sp > base) this.pop(this.frames[this.sp - 1] as EFrame);
      throw err;
    }
  }

  /** Starts a container: `obj` is the JS value (for the cycle check), the children follow. */
  private push(kind: number, obj: object, n: number, trailer: number): EFrame {
    const sp = this.sp;
    if (sp + this.depthBase >= this.maxDepth) throw new EtfEncodeError('too_deep', `term nested deeper than ${this.maxDepth}`);
    if (sp > 0) {
      // A value containing itself repeats forever down the path. Compare with one ancestor, the one at the
      // largest power of two not above this depth (Brent's cycle finding): a cycle of length p starting at
      // depth m is found by depth 4 * max(m, p), at the cost of one comparison a level.
      const anchor = this.frames[(1 << (31 - Math.clz32(sp))) - 1] as EFrame;
      if (anchor.obj === obj) throw new EtfEncodeError('cycle', `${describe(obj)} value contains itself (found ${sp + this.depthBase} levels deep)`);
    }
    let f = this.frames[sp];
    if (f === undefined) {
      f = new EFrame();
      this.frames[sp] = f;
    }
    this.sp = sp + 1;
    f.kind = kind;
    f.obj = obj;
    f.n = n;
    f.i = 0;
    f.trailer = trailer;
    return f;
  }

  private pop(f: EFrame): void {
    f.obj = NO_OBJECT;
    f.items = NO_ITEMS;
    f.record = NO_RECORD;
    f.keys = NO_KEYS;
    f.iter = undefined;
    f.pending = undefined;
    f.sorted = NO_SORTED;
    this.sp--;
    if (this.sp === 0 && this.frames.length > KEEP_FRAMES) this.frames.length = KEEP_FRAMES;
  }

  private string(w: EtfWriter, s: string): void {
    const len = s.length;
    if (len <= SHORT_STRING) {
      // Short ASCII strings are copied char by char (cheaper than a native call).
      w.ensure(5 + len * 3);
      const b = w.buf;
      const at = w.length;
      let p = at + 5;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[p++] = c;
      }
      if (i === len) {
        b[at] = Tag.BINARY;
        b[at + 1] = 0;
        b[at + 2] = 0;
        b[at + 3] = 0;
        b[at + 4] = len;
        w.length = p;
        return;
      }
    }
    // One native UTF-8 write (the writer measures long strings first rather than reserving 3 bytes a character).
    w.ensure(5);
    const at = w.length;
    w.length = at + 5;
    const n = w.utf8(s);
    const b = w.buf;
    b[at] = Tag.BINARY;
    b[at + 1] = n >>> 24;
    b[at + 2] = (n >>> 16) & 0xff;
    b[at + 3] = (n >>> 8) & 0xff;
    b[at + 4] = n & 0xff;
  }


  private number(w: EtfWriter, v: number): void {
    if (Number.isInteger(v) && v <= MAX_SAFE && v >= -MAX_SAFE && !(v === 0 && 1 / v < 0)) {
      this.integer(w, v);
    } else if (Number.isFinite(v)) {
      w.u8(Tag.NEW_FLOAT);
      w.f64(v);
    } else {
      throw new EtfEncodeError('bad_number', `cannot encode ${v}: Erlang floats are finite`);
    }
  }

  /** A safe integer. */
  private integer(w: EtfWriter, v: number): void {
    if (v >= 0 && v <= 255) {
      w.u8(Tag.SMALL_INTEGER);
      w.u8(v);
    } else if (v >= -2147483648 && v <= 2147483647) {
      w.tagU32(Tag.INTEGER, v >>> 0);
    } else {
      let m = Math.abs(v);
      const at = w.length;
      w.ensure(10);
      w.length += 3;
      let n = 0;
      while (m > 0) {
        w.buf[w.length++] = m % 256;
        m = Math.floor(m / 256);
        n++;
      }
      w.buf[at] = Tag.SMALL_BIG;
      w.buf[at + 1] = n;
      w.buf[at + 2] = v < 0 ? 1 : 0;
    }
  }

  private bigint(w: EtfWriter, v: bigint): void {
    if (v >= -9007199254740991n && v <= 9007199254740991n) {
      this.integer(w, Number(v));
      return;
    }
    const neg = v < 0n;
    let hex = (neg ? -v : v).toString(16);
    if (hex.length & 1) hex = `0${hex}`;
    const n = hex.length >>> 1;
    if (n > this.maxBigIntBytes) {
      throw new EtfEncodeError('bad_value', `an integer of ${n} bytes is wider than maxBigIntBytes (${this.maxBigIntBytes}; OTP 26 and later decode at most ${MAX_PORTABLE_BIGINT_BYTES})`);
    }
    const be = Buffer.from(hex, 'hex');
    if (n <= 255) {
      w.u8(Tag.SMALL_BIG);
      w.u8(n);
    } else {
      w.tagU32(Tag.LARGE_BIG, n);
    }
    w.u8(neg ? 1 : 0);
    w.ensure(n);
    const b = w.buf;
    let p = w.length;
    for (let i = n - 1; i >= 0; i--) b[p++] = be[i] as number;
    w.length = p;
  }

  private object(w: EtfWriter, v: object): void {
    // The common classes by constructor identity first (cheaper than a chain of instanceof).
    const ctor = (v as { constructor?: unknown }).constructor;
    if (ctor === Atom) return this.writeAtom(w, v as Atom);
    if (ctor === Tuple) return this.tuple(w, v as Tuple);
    if (ctor === Pid) return this.pid(w, v as Pid);
    if (ctor === Ref) return this.ref(w, v as Ref);
    if (ctor === Array) return this.list(w, v as unknown[]);
    if (v instanceof Atom) return this.writeAtom(w, v);
    if (Array.isArray(v)) return this.list(w, v);
    if (v instanceof Tuple) return this.tuple(w, v);
    if (v instanceof Uint8Array) return this.bytes(w, v);
    if (v instanceof Pid) return this.pid(w, v);
    if (v instanceof Ref) return this.ref(w, v);
    if (v instanceof Float) {
      if (!Number.isFinite(v.value)) throw new EtfEncodeError('bad_number', `cannot encode Float(${v.value})`);
      w.u8(Tag.NEW_FLOAT);
      w.f64(v.value);
      return;
    }
    if (isPlainObject(v)) return this.plainObject(w, v, v as Record<string, unknown>, undefined);
    if (v instanceof Map || v instanceof ErlMap) return this.map(w, v);
    if (v instanceof Charlist) return this.charlist(w, v);
    if (v instanceof ImproperList) return this.improper(w, v);
    if (v instanceof BitString) return this.bitString(w, v);
    if (v instanceof Port) return this.port(w, v);
    if (v instanceof ExportFun) return this.exportFun(w, v);
    if (v instanceof Fun) return this.fun(w, v);
    if (v instanceof NativeRecord) return this.nativeRecord(w, v);
    if (ArrayBuffer.isView(v)) throw new EtfEncodeError('unsupported', `cannot encode a ${v.constructor.name}; use a Uint8Array`);
    const reg = this.registry.forValue(v);
    if (reg !== undefined) return this.plainObject(w, v, reg.toFields(v), reg.struct);
    if (v instanceof Date) {
      const fields = dateToFields(v);
      if (fields === undefined) throw new EtfEncodeError('bad_value', 'cannot encode an invalid Date');
      return this.plainObject(w, v, fields, undefined);
    }
    if (v instanceof Error) return this.plainObject(w, v, errorToFields(v), undefined);
    throw new EtfEncodeError('unsupported', `cannot encode an instance of ${describe(v)}; register it with registerType`);
  }

  private list(w: EtfWriter, a: readonly unknown[]): void {
    const n = a.length;
    if (n === 0) {
      w.u8(Tag.NIL);
      return;
    }
    if (this.canonical && n <= 65535 && a.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255 && !Object.is(x, -0))) {
      w.u8(Tag.STRING);
      w.u16(n);
      for (let i = 0; i < n; i++) w.u8(a[i] as number);
      return;
    }
    w.tagU32(Tag.LIST, n);
    this.push(E_ITEMS, a, n, Tag.NIL).items = a;
  }

  /** RECORD_EXT: field count, exported byte, module, name and field names, then the values. */
  private nativeRecord(w: EtfWriter, r: NativeRecord): void {
    if (!this.nativeRecords) throw new EtfEncodeError('bad_value', `native record #${r.name.name}{} cannot be sent: the peer does not offer DFLAG_NATIVE_RECORDS (OTP 29)`);
    const n = r.fields.length;
    w.tagU32(Tag.RECORD, n);
    w.u8(r.exported ? 1 : 0);
    this.writeAtom(w, r.module);
    this.writeAtom(w, r.name);
    for (const f of r.fields) this.writeAtom(w, f);
    if (n > 0) this.push(E_ITEMS, r, n, NO_TRAILER).items = r.values;
  }

  private tuple(w: EtfWriter, t: Tuple): void {
    const a = t.elements;
    const n = a.length;
    if (n <= 255) {
      w.u8(Tag.SMALL_TUPLE);
      w.u8(n);
    } else {
      w.tagU32(Tag.LARGE_TUPLE, n);
    }
    if (n > 0) this.push(E_ITEMS, t, n, NO_TRAILER).items = a;
  }

  private bytes(w: EtfWriter, b: Uint8Array): void {
    if (this.canonical || b.length === 0) {
      // An empty Uint8Array has no faithful form: BIT_BINARY_EXT of 0 bytes is
      // rejected by OTP 26+ (the connection drops), so it goes as `<<>>`,
      // which decodes back as '' under `binaries: 'auto'`.
      w.tagU32(Tag.BINARY, b.length);
    } else {
      // BIT_BINARY_EXT with 8 bits in the last byte: Erlang decodes an
      // ordinary binary, Beamline decodes a Uint8Array (not a string).
      w.tagU32(Tag.BIT_BINARY, b.length);
      w.u8(8);
    }
    w.bytes(b);
  }

  private bitString(w: EtfWriter, b: BitString): void {
    if (this.canonical && b.bitsInLastByte === 8) {
      w.tagU32(Tag.BINARY, b.bytes.length);
    } else {
      w.tagU32(Tag.BIT_BINARY, b.bytes.length);
      w.u8(b.bitsInLastByte);
    }
    w.bytes(b.bytes);
  }

  private charlist(w: EtfWriter, c: Charlist): void {
    const s = c.value;
    if (s.length === 0) {
      w.u8(Tag.NIL);
      return;
    }
    let small = s.length <= 65535;
    if (small) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) > 0xff) {
          small = false;
          break;
        }
      }
    }
    if (small) {
      w.u8(Tag.STRING);
      w.u16(s.length);
      w.ensure(s.length);
      w.length += w.buf.write(s, w.length, s.length, 'latin1');
      return;
    }
    const codes = c.codes();
    if (this.canonical && codes.length <= 65535 && codes.every((x) => x <= 255)) {
      this.list(w, codes);
      return;
    }
    w.tagU32(Tag.LIST, codes.length);
    for (const code of codes) this.integer(w, code);
    w.u8(Tag.NIL);
  }

  private improper(w: EtfWriter, l: ImproperList): void {
    const n = l.items.length;
    if (n > 0) w.tagU32(Tag.LIST, n);
    // The items, then the tail as the last child.
    this.push(E_ITEMS, l, n + 1, NO_TRAILER).items = n === 0 ? [l.tail] : [...l.items, l.tail];
  }

  /** A map with atom keys from an object's own enumerable keys; `v` is the JS value being encoded. */
  private plainObject(w: EtfWriter, v: object, o: Record<string, unknown>, struct: Atom | undefined): void {
    const keys = Object.keys(o);
    const extra = struct !== undefined && !Object.hasOwn(o, '__struct__') ? 1 : 0;
    if (this.canonical) {
      const entries: Array<[unknown, unknown]> = keys.map((k) => [Atom.of(k), o[k]]);
      if (extra) entries.push([STRUCT_KEY, struct]);
      this.sortedEntries(w, v, entries);
      return;
    }
    w.tagU32(Tag.MAP, keys.length + extra);
    if (extra) {
      this.writeAtom(w, STRUCT_KEY);
      this.writeAtom(w, struct as Atom);
    }
    if (keys.length === 0) return;
    const f = this.push(E_OBJECT, v, keys.length, NO_TRAILER);
    f.keys = keys;
    f.record = o;
  }

  private map(w: EtfWriter, m: Map<unknown, unknown> | ErlMap): void {
    if (this.canonical) {
      this.sortedEntries(w, m, [...m.entries()]);
      return;
    }
    const n = m.size;
    w.tagU32(Tag.MAP, n);
    if (n > 0) this.push(E_MAP, m, 2 * n, NO_TRAILER).iter = m.entries();
  }

  private sortedEntries(w: EtfWriter, v: object, entries: Array<[unknown, unknown]>): void {
    const keyed: SortedEntry[] = entries.map(([k, val]) => {
      const kw = new EtfWriter(64);
      this.term(kw, k);
      return { key: kw.view().toString('latin1'), value: val };
    });
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    w.tagU32(Tag.MAP, keyed.length);
    if (keyed.length > 0) this.push(E_SORTED, v, keyed.length, NO_TRAILER).sorted = keyed;
  }

  private checkU32(v: number, what: string): number {
    if (v >>> 0 !== v) throw new EtfEncodeError('bad_value', `${what} ${v} is not a u32`);
    return v;
  }

  private pid(w: EtfWriter, p: Pid): void {
    const { id, serial, creation } = p;
    if (id >>> 0 !== id) this.checkU32(id, 'pid id');
    if (serial >>> 0 !== serial) this.checkU32(serial, 'pid serial');
    if (creation >>> 0 !== creation) this.checkU32(creation, 'pid creation');
    w.u8(Tag.NEW_PID);
    this.writeAtom(w, p.node);
    if (w.length + 12 > w.buf.length) w.ensure(12);
    const dv = w.dataView();
    const o = w.length;
    dv.setUint32(o, id);
    dv.setUint32(o + 4, serial);
    dv.setUint32(o + 8, creation);
    w.length = o + 12;
  }

  private ref(w: EtfWriter, r: Ref): void {
    const ids = r.ids;
    const n = ids.length;
    if (n < 1 || n > 5) throw new EtfEncodeError('bad_value', `a reference has 1..5 words, not ${n}`);
    const creation = r.creation;
    if (creation >>> 0 !== creation) this.checkU32(creation, 'ref creation');
    for (let i = 0; i < n; i++) {
      const x = ids[i] as number;
      if (x >>> 0 !== x) this.checkU32(x, 'ref word');
    }
    if (w.length + 3 > w.buf.length) w.ensure(3);
    const b = w.buf;
    let o = w.length;
    b[o] = Tag.NEWER_REFERENCE;
    b[o + 1] = 0;
    b[o + 2] = n;
    w.length = o + 3;
    this.writeAtom(w, r.node);
    if (w.length + 4 + 4 * n > w.buf.length) w.ensure(4 + 4 * n);
    const dv = w.dataView();
    o = w.length;
    dv.setUint32(o, creation);
    for (let i = 0; i < n; i++) dv.setUint32(o + 4 + 4 * i, ids[i] as number);
    w.length = o + 4 + 4 * n;
  }

  private port(w: EtfWriter, p: Port): void {
    const id = p.id;
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffffffff) {
      w.u8(Tag.NEW_PORT);
      this.writeAtom(w, p.node);
      w.u32(id);
    } else {
      const big = typeof id === 'bigint' ? id : Number.isSafeInteger(id) ? BigInt(id) : -1n;
      if (big < 0n || big > 0xffffffffffffffffn) throw new EtfEncodeError('bad_value', `port id ${id} is not a u64`);
      w.u8(Tag.V4_PORT);
      this.writeAtom(w, p.node);
      w.u32(Number(big >> 32n));
      w.u32(Number(big & 0xffffffffn));
    }
    w.u32(this.checkU32(p.creation, 'port creation'));
  }

  private exportFun(w: EtfWriter, f: ExportFun): void {
    if (!Number.isInteger(f.arity) || f.arity < 0 || f.arity > 255) throw new EtfEncodeError('bad_value', `fun arity ${f.arity} outside 0..255`);
    w.u8(Tag.EXPORT);
    this.writeAtom(w, f.module);
    this.writeAtom(w, f.function);
    w.u8(Tag.SMALL_INTEGER);
    w.u8(f.arity);
  }

  private fun(w: EtfWriter, f: Fun): void {
    if (f.uniq.length !== 16) throw new EtfEncodeError('bad_value', 'fun uniq must be 16 bytes');
    const at = w.length;
    w.u8(Tag.NEW_FUN);
    w.u32(0);
    w.u8(f.arity);
    w.bytes(f.uniq);
    w.u32(this.checkU32(f.index, 'fun index'));
    w.u32(f.freeVars.length);
    this.writeAtom(w, f.module);
    this.number(w, f.oldIndex);
    this.number(w, f.oldUniq);
    this.pid(w, f.pid);
    // The size is filled in when the last free variable is written.
    const frame = this.push(E_ITEMS, f, f.freeVars.length, TRAILER_FUN_SIZE);
    frame.items = f.freeVars;
    frame.at = at;
  }
}

/**
 * Node's Buffer class proper (`Buffer[Symbol.species]`, what `subarray` constructs after a species
 * lookup): a view made with it is a Buffer in every respect, made in a third of the time.
 */
const FastBuffer: new (ab: ArrayBufferLike, offset: number, length: number) => Buffer = (() => {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
  if (typeof species === 'function' && species !== Buffer && Object.getPrototypeOf(new (species as new (ab: ArrayBuffer, o: number, n: number) => object)(new ArrayBuffer(1), 0, 1)) === Buffer.prototype) {
    return species as new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
  }
  return class {
    constructor(ab: ArrayBufferLike, offset: number, length: number) {
      return Buffer.from(ab, offset, length);
    }
  } as unknown as new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
})();

/**
 * The encoding of an atom, kept to be copied: its bytes, and (4 bytes or more) the same bytes as
 * big-endian 32-bit words at offsets 0, 4, 8, ... and, last, at `length - 4` (overlapping the one
 * before when the length is not a multiple of 4), written a word at a time.
 */
class Encoded {
  readonly words: Int32Array;
  /** `bytes.length`, as a plain field (a typed array's length is a slower load, the more so as `bytes` is a Buffer or not). */
  readonly size: number;
  /** The bytes as a string of the same character codes when they are all ASCII (they can then join a run). */
  readonly text: string | undefined;
  /**
   * `text` followed by the BINARY_EXT header of a string value of `headerLength` characters (the last one
   * asked for); `flat` once it has been asked for twice in a row and made one flat string.
   */
  headerLength = -1;
  withHeader = '';
  flat = false;
  constructor(readonly bytes: Uint8Array) {
    const n = bytes.length;
    this.size = n;
    let ascii = 0;
    for (let i = 0; i < n; i++) ascii |= bytes[i] as number;
    this.text = ascii < 0x80 ? String.fromCharCode(...bytes) : undefined;
    const q = n < 4 ? 0 : Math.ceil(n / 4);
    this.words = new Int32Array(q);
    if (q > 0) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
      for (let j = 0; j < q - 1; j++) this.words[j] = dv.getInt32(4 * j);
      this.words[q - 1] = dv.getInt32(n - 4);
    }
  }

  /** Sets `withHeader` for a string value of `len` (<= RUN_STRING) characters and returns it (`text` is defined). */
  setHeader(len: number): string {
    this.headerLength = len;
    this.flat = false;
    this.withHeader = (this.text as string) + (BINARY_HEADERS[len] as string);
    return this.withHeader;
  }

  /**
   * Makes `withHeader` one flat string and returns it. V8 joins a run's pieces faster when each is flat
   * rather than itself a pair of strings, but making one costs more than the pair: done for a header
   * asked for again (values of one length, as in a stream of maps of one shape).
   */
  flatten(): string {
    const codes = Array.from(this.bytes);
    codes.push(Tag.BINARY, 0, 0, 0, this.headerLength);
    this.withHeader = String.fromCharCode(...codes);
    this.flat = true;
    return this.withHeader;
  }
}

const NO_ENCODED = new Encoded(new Uint8Array(0));

/** ATOM_CACHE_REF of each cache index. */
const CACHE_REFS: readonly Encoded[] = Array.from({ length: 256 }, (_, i) => new Encoded(Uint8Array.of(Tag.ATOM_CACHE_REF, i)));

/** ATOM_CACHE_REF of index `i`, given by an `atomCacheIndex` option (checked). */
function cacheRef(i: number): Encoded {
  if (!Number.isInteger(i) || i < 0 || i > 255) throw new EtfEncodeError('atom_cache', `atom cache index ${i} outside 0..255`);
  return CACHE_REFS[i] as Encoded;
}

/** Appends an {@link Encoded}. */
function copyEncoded(w: EtfWriter, e: Encoded): void {
  const n = e.size;
  if (w.length + n > w.buf.length) w.ensure(n);
  const p = w.length;
  if (n >= 4) {
    const dv = w.dataView();
    const words = e.words;
    const last = words.length - 1;
    for (let j = 0; j < last; j++) dv.setInt32(p + 4 * j, words[j] as number);
    dv.setInt32(p + n - 4, words[last] as number);
  } else {
    const b = w.buf;
    const bytes = e.bytes;
    for (let i = 0; i < n; i++) b[p + i] = bytes[i] as number;
  }
  w.length = p + n;
}

/** Node's Buffer with its native UTF-8 write (`write` without its argument parsing). */
type NodeBuffer = Buffer & { utf8Write(s: string, offset: number, max: number): number };

/** Stores `v` (a u32) big-endian at `b[o .. o+4)`; the caller made room. */
function writeU32(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** The term written in `w` from `start` (131 first), compressed when that makes it smaller; a Buffer of its own. */
function compress(w: EtfWriter, start: number, level: number): Buffer {
  const raw = w.buf.subarray(start + 1, w.length);
  const z = deflateSync(raw, { level });
  if (z.length + 5 >= raw.length) return Buffer.from(w.buf.subarray(start, w.length));
  const out = Buffer.allocUnsafe(6 + z.length);
  out[0] = VERSION;
  out[1] = Tag.COMPRESSED;
  out.writeUInt32BE(raw.length, 2);
  z.copy(out, 6);
  return out;
}

let canonicalEncoder: Encoder | undefined;
const keyWriter = new EtfWriter(256);
let keyWriterBusy = false;

/**
 * The canonical encoding of a term as a Latin-1 string: equal Erlang terms
 * give equal strings. Used by {@link ErlMap} for structured keys.
 */
export function canonicalKey(term: unknown): string {
  canonicalEncoder ??= new Encoder({ canonical: true, maxBigIntBytes: Infinity });
  const w = keyWriterBusy ? new EtfWriter(64) : keyWriter;
  const was = keyWriterBusy;
  keyWriterBusy = true;
  try {
    w.reset();
    canonicalEncoder.writeTerm(w, term);
    return w.buf.toString('latin1', 0, w.length);
  } finally {
    keyWriterBusy = was;
  }
}


/**
 * Exact Erlang term equality (`=:=`) of two JavaScript values, by their
 * canonical encodings: `termEquals(tuple(1), tuple(1))` is true,
 * `termEquals(1, new Float(1))` is false, `termEquals(5, 5n)` is true.
 *
 * @example
 * ```ts
 * termEquals(new Map([[1, 'a']]), new ErlMap([[1, 'a']])); // true
 * ```
 */
export function termEquals(a: unknown, b: unknown): boolean {
  return a === b || canonicalKey(a) === canonicalKey(b);
}
