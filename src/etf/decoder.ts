/**
 * Decoder: External Term Format → JavaScript values. Reads a Buffer or
 * Uint8Array in place with an offset (no slicing, except to copy binaries),
 * checks every length against the remaining input and the configured limits
 * before allocating, and reports any problem as an {@link EtfDecodeError}
 * with the byte offset where it happened.
 * @module
 */
import { NativeRecord } from './native-record.js';
import { inflateSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { getHeapStatistics } from 'node:v8';
import { Atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';
import { Pid, Port, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tag, VERSION } from './tags.js';
import { EtfDecodeError, type EtfDecodeErrorCode } from './errors.js';
import { Float } from './float.js';
import { Charlist } from './charlist.js';
import { BitString } from './bit-string.js';
import { ExportFun, Fun } from './funs.js';
import { ErlMap } from './erl-map.js';
import { defaultRegistry, type TypeRegistry } from './registry.js';
import { sharedAtomCache } from './atom-cache.js';
import { ERROR_STRUCT, fieldsToError } from './error-term.js';
import { DATETIME_STRUCT, fieldsToDate } from './date-term.js';

/** Options of {@link Decoder}. Every option has a default that round-trips losslessly. */
export interface DecodeOptions {
  /**
   * BINARY_EXT (109), the tag of every Erlang binary and Elixir string:
   * - `'auto'` (default): a `string` when the bytes are valid UTF-8, else a `Uint8Array`;
   * - `'string'`: always a string (invalid UTF-8 becomes U+FFFD: lossy);
   * - `'bytes'`: always a `Uint8Array`.
   *
   * BIT_BINARY_EXT with 8 bits in the last byte (how Beamline sends a
   * Uint8Array) is always a Uint8Array.
   */
  binaries?: 'auto' | 'string' | 'bytes';
  /**
   * `true` (default): every Uint8Array is a copy, so the input buffer can be
   * reused at once. `false`: views into the input (no copy; they keep the
   * whole input alive and change if it is overwritten).
   */
  copyBinaries?: boolean;
  /**
   * Floats: `'auto'` (default) gives a plain number, except for integral
   * values in the safe range (`2.0`), which a plain number would send back as
   * an integer: those give a {@link Float}. `-0.0` gives `-0`. `'number'`
   * always gives numbers (lossy: 2.0 comes back as 2); `'box'` always gives Floats.
   */
  floats?: 'auto' | 'number' | 'box';
  /**
   * STRING_EXT (OTP's form of any list of 0..255 integers):
   * `'charlist'` (default) gives a {@link Charlist}; `'array'` a `number[]`.
   */
  strings?: 'charlist' | 'array';
  /**
   * Maps: `'auto'` (default) gives a plain object when every key is an atom
   * (a registered struct, Error or Date when it has `__struct__`), a JS `Map`
   * when every key is a string, an integer, a non-integral float, a bigint,
   * a boolean, nil/undefined or an atom, and an {@link ErlMap} otherwise.
   * `'erlmap'`: always an ErlMap (structs are still decoded when `structs`).
   */
  maps?: 'auto' | 'erlmap';
  /** Decode maps with a known `__struct__` (registered types, Error, Date) to instances. Default true. */
  structs?: boolean;
  /** Atoms `nil` → `null` and `undefined` → `undefined` (default true). `true`/`false` are always booleans. */
  nullAtoms?: boolean;
  /** The atom table for ATOM_CACHE_REF (tag 82): slot i holds the atom of cache reference i. */
  atomCache?: ReadonlyArray<Atom | undefined>;
  /**
   * Deepest nesting accepted. Default: unlimited (the decoder keeps its own
   * stack, so nesting costs memory, not call stack, as in Erlang).
   */
  maxDepth?: number;
  /**
   * Largest estimated JavaScript heap one decoded term may take. A term
   * beyond it fails with code `'memory'` before it can exhaust the heap.
   * Default: budgeted against what the V8 heap has free
   * (`v8.getHeapStatistics()`, keeping an eighth of the limit in reserve),
   * checked only for inputs large enough to matter (above ~1 MiB).
   */
  maxHeapBytes?: number;
  /** Largest inflated size of a compressed term (tag 80). Default 1 GiB. */
  maxInflatedBytes?: number;
  /**
   * Largest integer magnitude in bytes (SMALL/LARGE_BIG_EXT). Default
   * 4 MiB: the largest integer OTP 25 makes is `1 bsl 33554367` (2^25
   * bits; `1 bsl 8000000` is 1 MB); OTP 26+ makes none above 4,194,240
   * bits (512 KiB).
   */
  maxBigIntBytes?: number;
  /** Accept bytes after the term in `decode` (Erlang's `binary_to_term` ignores them). Default false. */
  allowTrailing?: boolean;
  /** Registered struct types. Default: the registry of {@link registerType}. */
  registry?: TypeRegistry;
}

/** The result of {@link Decoder.decodeAt}. */
export interface DecodeResult {
  /** The decoded term. */
  term: unknown;
  /** Offset of the first byte after the term. */
  offset: number;
}

const TRUE = Atom.of('true');
const FALSE = Atom.of('false');
const NIL = Atom.of('nil');
const UNDEFINED = Atom.of('undefined');
const STRUCT_KEY = Atom.of('__struct__');
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Default of {@link DecodeOptions.maxBigIntBytes}: 4 MiB, the widest integer OTP 25 makes (2^25 bits). */
export const DEFAULT_MAX_BIGINT_BYTES = 4 * 1024 * 1024;
/** Default of {@link DecodeOptions.maxInflatedBytes}: 1 GiB. */
export const DEFAULT_MAX_INFLATED_BYTES = 1024 * 1024 * 1024;
/** Most heap bytes one input byte can become (a 1-byte `[]` is a 32-byte array plus its 8-byte slot). */
const EXPANSION = 48;
/** Inputs whose worst case stays under this need no heap budget. */
const SMALL_INPUT_HEAP = 48 * 1024 * 1024;
const HEAP_RESERVE = 64 * 1024 * 1024;
/** Frames kept between decodes (beyond this, a very deep term's frames are let go). */
const KEEP_FRAMES = 1 << 16;
/**
 * Nesting to which {@link Decoder} reads containers by plain recursion (most terms are shallow);
 * a container deeper than this is read with the explicit stack, which has no depth limit.
 */
const FAST_DEPTH = 64;
/** Binaries up to this size are decoded as UTF-8 at once under `binaries: 'auto'` (larger ones are validated first). */
const DECODE_FIRST = 64 * 1024;
/** The most input memory a decoder keeps between decodes (for the DataView of its last input). */
const KEEP_VIEW_OF = 64 * 1024;
/** Binaries copied out of the input from this size on go into memory that is not zeroed first. */
const LARGE_COPY = 64 * 1024;
const K_TUPLE = 0;
const K_LIST = 1;
const K_MAP = 2;
const K_FUN = 3;
const K_RECORD = 4;
const NO_ITEMS: unknown[] = [];
/** `{}`: immutable, so every empty tuple is this one (no allocation each); `[]` and `#{}` are mutable JS values and are not shared. */
const EMPTY_TUPLE = new Tuple(Object.freeze([]) as readonly unknown[]);
/** What `buf` holds between decodes (the input is let go). */
const NO_INPUT = Buffer.alloc(0);

function mb(n: number): string {
  return `${Math.round(n / 1048576)} MiB`;
}

/** A sequence of atom keys seen in maps, and once seen again, a compiled maker of objects with those keys. */
interface Shape {
  readonly keys: readonly Atom[];
  seen: number;
  make: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
  /** `__struct__`, `__proto__` or a generated-code failure: never compiled. */
  plain: boolean;
  /**
   * Once compiled: each key as SMALL_ATOM_UTF8_EXT bytes, for maps read by
   * prediction (see `predictedShapes`); undefined when a key is `nil` or
   * `undefined` (those decode by option) or longer than 255 bytes.
   */
  keyBytes: Uint8Array[] | undefined;
  /** Once compiled, with `keyBytes`: each key's bytes as 32-bit words (see `keyWords`). */
  keyWords: Int32Array[] | undefined;
}

/** The compiled shape last made, by key count: the next map with that many keys is compared with it byte by byte. */
const predictedShapes: Array<Shape | undefined> = [];

const shapesByFirstKey = new Map<Atom, Shape[]>();
let compiledShapes = 0;
const MAX_SHAPES = 512;
const SHAPES_PER_KEY = 8;
const MAX_SHAPE_KEYS = 64;

function shapeOf(keys: readonly unknown[]): Shape | undefined {
  const n = keys.length;
  if (n > MAX_SHAPE_KEYS) return undefined;
  const list = shapesByFirstKey.get(keys[0] as Atom);
  if (list === undefined) return undefined;
  outer: for (const s of list) {
    const k = s.keys;
    if (k.length !== n) continue;
    for (let i = 1; i < n; i++) if (k[i] !== keys[i]) continue outer;
    return s;
  }
  return undefined;
}

function rememberShape(keys: readonly unknown[]): void {
  const n = keys.length;
  if (n > MAX_SHAPE_KEYS || compiledShapes >= MAX_SHAPES) return;
  const first = keys[0] as Atom;
  let list = shapesByFirstKey.get(first);
  if (list === undefined) {
    list = [];
    shapesByFirstKey.set(first, list);
  }
  if (list.length >= SHAPES_PER_KEY) return;
  const atoms = keys as readonly Atom[];
  const plain = atoms.some((a) => a === STRUCT_KEY || a.name === '__proto__');
  list.push({ keys: atoms.slice(), seen: 1, make: undefined, plain, keyBytes: undefined, keyWords: undefined });
}

function compileShape(shape: Shape): void {
  if (shape.plain || compiledShapes >= MAX_SHAPES) return;
  compiledShapes++;
  // Property names are JSON string literals (valid JS, no code can be injected); values come by index.
  const body = shape.keys.map((k, i) => `${JSON.stringify(k.name)}: v[${i}]`).join(', ');
  try {
    shape.make = new Function('v', `return { ${body} };`) as (values: readonly unknown[]) => Record<string, unknown>;
  } catch {
    shape.plain = true; // code generation disallowed (--disallow-code-generation-from-strings)
    return;
  }
  const keyBytes: Uint8Array[] = [];
  for (const k of shape.keys) {
    const text = Buffer.from(k.name, 'utf8');
    if (k === NIL || k === UNDEFINED || text.length > 255) return;
    const bytes = new Uint8Array(2 + text.length);
    bytes[0] = Tag.SMALL_ATOM_UTF8;
    bytes[1] = text.length;
    bytes.set(text, 2);
    keyBytes.push(bytes);
  }
  shape.keyWords = keyBytes.map(keyWords);
  shape.keyBytes = keyBytes;
}

/**
 * A key's bytes (4 or more) as big-endian 32-bit words at offsets 0, 4, 8, ... and, last, at
 * `length - 4` (overlapping the one before when the length is not a multiple of 4).
 */
function keyWords(bytes: Uint8Array): Int32Array {
  const len = bytes.length;
  if (len < 4) return new Int32Array(0);
  const q = Math.ceil(len / 4);
  const out = new Int32Array(q);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  for (let j = 0; j < q - 1; j++) out[j] = dv.getInt32(4 * j);
  out[q - 1] = dv.getInt32(len - 4);
  return out;
}

/** NEW_FUN_EXT read up to its free variables. */
interface FunHead {
  readonly size: number;
  readonly end: number;
  readonly arity: number;
  readonly uniq: Uint8Array;
  readonly index: number;
  readonly numFree: number;
  readonly module: Atom;
  readonly oldIndex: number;
  readonly oldUniq: number;
  readonly pid: Pid;
  readonly free: unknown[];
}

/** One container being decoded on the explicit stack (reused across decodes). */
class Frame {
  kind = 0;
  /** Items still to come in total: tuple/list elements, 2 × map entries, fun free variables. */
  n = 0;
  i = 0;
  /** Offset of the container's tag, for error reports. */
  at = 0;
  /** Tuple elements, list items or map keys. */
  items: unknown[] = NO_ITEMS;
  /** Map values. */
  values: unknown[] = NO_ITEMS;
  /** List: the elements are done and the tail is being decoded. */
  tail = false;
  allAtoms = false;
  allPrimitive = false;
  fun: FunHead | undefined = undefined;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Node's undocumented but long-standing Buffer slice methods: `toString` without argument checks. */
type FastSlices = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** The big-endian u32 at `b[p .. p+4)`; the caller checked the bounds. */
function readU32(b: Buffer, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
}

/** Binaries up to this many bytes are tried as ASCII in JavaScript before a native UTF-8 slice. */
const SHORT_TEXT = 16;
/** Binaries up to this many bytes are checked for ASCII a word at a time and then sliced as Latin-1. */
const WORD_TEXT = 1024;
/** A medium binary makes the input's DataView when at least this much input is left from its tag. */
const MAKE_VIEW_FROM = 256;
const fromCode = String.fromCharCode;

/** Whether the `n` bytes (n >= 4) at `q` of `dv` are all ASCII, read a 32-bit word at a time (the last word may overlap). */
function isAsciiWords(dv: DataView, q: number, n: number): boolean {
  const last = q + n - 4;
  let acc = dv.getInt32(last);
  for (let j = q; j < last; j += 4) acc |= dv.getInt32(j);
  return (acc & 0x80808080) === 0;
}

/** `b[p .. p+n)` as a string when every byte is ASCII (n <= SHORT_TEXT), else undefined. */
function shortAscii(b: Buffer, p: number, n: number): string | undefined {
  let acc = 0;
  for (let i = 0; i < n; i++) acc |= b[p + i] as number;
  if (acc > 0x7f) return undefined;
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCode(b[p] as number);
    case 2:
      return fromCode(b[p] as number, b[p + 1] as number);
    case 3:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number);
    case 4:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number);
    case 5:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number);
    case 6:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number);
    case 7:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number);
    case 8:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number);
    case 9:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number);
    case 10:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number);
    case 11:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number);
    case 12:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number, b[p + 11] as number);
    case 13:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number, b[p + 11] as number, b[p + 12] as number);
    case 14:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number, b[p + 11] as number, b[p + 12] as number, b[p + 13] as number);
    case 15:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number, b[p + 11] as number, b[p + 12] as number, b[p + 13] as number, b[p + 14] as number);
    case 16:
      return fromCode(b[p] as number, b[p + 1] as number, b[p + 2] as number, b[p + 3] as number, b[p + 4] as number, b[p + 5] as number, b[p + 6] as number, b[p + 7] as number, b[p + 8] as number, b[p + 9] as number, b[p + 10] as number, b[p + 11] as number, b[p + 12] as number, b[p + 13] as number, b[p + 14] as number, b[p + 15] as number);
    default:
      return undefined;
  }
}

function fail(code: EtfDecodeErrorCode, offset: number, detail: string): never {
  throw new EtfDecodeError(code, offset, detail);
}

/** A decoded RECORD_EXT's parts `[module, name, ...fields, ...values]` as a {@link NativeRecord}; anything but atoms where atoms belong is `bad_value`. */
function recordOf(items: unknown[], exported: boolean, at: number): NativeRecord {
  const n = (items.length - 2) / 2;
  const [module, name] = items;
  if (!(module instanceof Atom) || !(name instanceof Atom)) return fail('bad_value', at, 'native record module or name is not an atom');
  const fields = items.slice(2, 2 + n);
  for (const f of fields) if (!(f instanceof Atom)) return fail('bad_value', at, `native record #${name.name}: a field name is not an atom`);
  return new NativeRecord(module, name, fields as Atom[], items.slice(2 + n), exported);
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Is `k` a key a JS Map compares correctly (by value, and one Erlang term per JS value)? */
function isPrimitiveKey(k: unknown): boolean {
  switch (typeof k) {
    case 'string':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return true;
    case 'number':
      return !Object.is(k, -0);
    case 'object':
      return k === null || k instanceof Atom;
    default:
      return false;
  }
}

/**
 * Decodes ETF. Reuse one Decoder per set of options; it is not re-entrant
 * across threads but is safe to call from a registered type's `fromFields`.
 *
 * @example
 * ```ts
 * import { Decoder } from 'beamline/etf';
 * const dec = new Decoder({ binaries: 'bytes' });
 * dec.decode(Buffer.from([131, 109, 0, 0, 0, 2, 104, 105])); // Uint8Array [104, 105]
 * // inside a distribution frame (no 131), with the frame's atom cache:
 * const { term, offset } = dec.decodeAt(frame, 12, cacheAtoms);
 * ```
 */
export class Decoder {
  private readonly binMode: 0 | 1 | 2; // auto, string, bytes
  private readonly copy: boolean;
  private readonly floatMode: 0 | 1 | 2; // auto, number, box
  private readonly charlists: boolean;
  private readonly erlmaps: boolean;
  private readonly structs: boolean;
  private readonly nullAtoms: boolean;
  private readonly defaultCache: ReadonlyArray<Atom | undefined> | undefined;
  private readonly maxDepth: number;
  private readonly maxHeap: number | undefined;
  private readonly maxInflated: number;
  private readonly maxBig: number;
  private readonly allowTrailing: boolean;
  private readonly registry: TypeRegistry;
  private readonly opts: DecodeOptions;

  private buf: Buffer = NO_INPUT;
  /**
   * A DataView of `dvOf`, the memory of the input (or of the last input, when it is at most
   * KEEP_VIEW_OF bytes): a DataView takes ~55 ns to make, and the frames of one socket read share
   * its memory, so a small one is kept for the next decode.
   */
  private dv: DataView | undefined = undefined;
  private dvOf: ArrayBufferLike | undefined = undefined;
  /** `dv` is the view of this decode's input, which starts at `viewBase` in it. */
  private viewReady = false;
  private viewBase = 0;
  private pos = 0;
  private end = 0;
  private cache: ReadonlyArray<Atom | undefined> | undefined;
  private busy = false;
  /** The explicit stack: frames[0 .. sp) are the containers being decoded. */
  private readonly frames: Frame[] = [];
  private sp = 0;
  /** Nesting above the explicit stack's bottom frame (the recursive path's depth when it handed over). */
  private depthBase = 0;
  /** Containers nested this deep or deeper go to the explicit stack: `min(FAST_DEPTH, maxDepth)`. */
  private readonly fastDepth: number;
  /** Estimated heap taken by the term so far, and the most it may take. */
  private mem = 0;
  private budget = Infinity;
  /** `[]` elements already charged by their container (see `chargeElements`). */
  private nilCredit = 0;
  private budgetSource = '';
  private budgetOption = '';

  constructor(opts: DecodeOptions = {}) {
    this.opts = opts;
    this.binMode = opts.binaries === 'string' ? 1 : opts.binaries === 'bytes' ? 2 : 0;
    this.copy = opts.copyBinaries !== false;
    this.floatMode = opts.floats === 'number' ? 1 : opts.floats === 'box' ? 2 : 0;
    this.charlists = opts.strings !== 'array';
    this.erlmaps = opts.maps === 'erlmap';
    this.structs = opts.structs !== false;
    this.nullAtoms = opts.nullAtoms !== false;
    this.defaultCache = opts.atomCache;
    this.maxDepth = opts.maxDepth ?? Infinity;
    this.maxHeap = opts.maxHeapBytes;
    this.maxInflated = opts.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
    this.maxBig = opts.maxBigIntBytes ?? DEFAULT_MAX_BIGINT_BYTES;
    this.allowTrailing = opts.allowTrailing === true;
    this.registry = opts.registry ?? defaultRegistry;
    this.fastDepth = Math.min(FAST_DEPTH, this.maxDepth);
  }

  /** Decodes a stand-alone term: 131, then the term (possibly compressed). */
  decode(input: Uint8Array): unknown {
    if (this.busy) return new Decoder(this.opts).decode(input);
    const buf = asBuffer(input);
    if (buf.length < 1) fail('truncated', 0, 'empty input');
    if (buf[0] !== VERSION) fail('bad_version', 0, `expected version byte 131, got ${buf[0]}`);
    const term = this.run(buf, 1, this.defaultCache);
    const offset = this.pos;
    if (offset !== buf.length && !this.allowTrailing) fail('trailing_bytes', offset, `${buf.length - offset} bytes after the term`);
    return term;
  }

  /**
   * Decodes one term starting at `offset`, without a 131 prefix (as inside
   * distribution frames), and returns it with the offset after it.
   * `atomCache` resolves ATOM_CACHE_REF for this call (else the option's table).
   * A compressed term (tag 80) is accepted here too and consumes the rest of the input.
   */
  decodeAt(input: Uint8Array, offset: number, atomCache?: ReadonlyArray<Atom | undefined>): DecodeResult {
    if (this.busy) return new Decoder(this.opts).decodeAt(input, offset, atomCache);
    const buf = asBuffer(input);
    if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) fail('truncated', offset, 'offset outside the input');
    const term = this.run(buf, offset, atomCache ?? this.defaultCache);
    return { term, offset: this.pos };
  }

  /** Decodes the term at `offset` of `buf`; `pos` is after it on return. */
  private run(buf: Buffer, offset: number, cache: ReadonlyArray<Atom | undefined> | undefined): unknown {
    this.busy = true;
    this.buf = buf;
    this.viewReady = false;
    this.pos = offset;
    this.end = buf.length;
    this.cache = cache;
    try {
      if (this.pos < this.end && buf[this.pos] === Tag.COMPRESSED) return this.compressed();
      this.setBudget();
      return this.fast(0);
    } catch (e) {
      this.release();
      if (e instanceof EtfDecodeError) throw e;
      // A registered type's fromFields that throws, an array beyond V8's length limit: still a typed error.
      if (e instanceof RangeError) throw new EtfDecodeError('memory', this.pos, `decoder failed: ${String(e)}`, 'maxHeapBytes');
      throw new EtfDecodeError('bad_value', this.pos, `decoder failed: ${String(e)}`);
    } finally {
      this.busy = false;
      this.buf = NO_INPUT;
      this.viewReady = false;
      // The view of a small input is kept for the next decode of the same input; a larger one is let go.
      if (this.dv !== undefined && this.dv.buffer.byteLength > KEEP_VIEW_OF) {
        this.dv = undefined;
        this.dvOf = undefined;
      }
        this.cache = undefined;
      if (this.frames.length > KEEP_FRAMES) this.frames.length = KEEP_FRAMES;
    }
  }

  /** The DataView of the input's memory (made or found once per decode; `viewBase` is the input's offset in it). */
  private inputView(): DataView {
    const b = this.buf;
    const ab = b.buffer;
    if (this.dvOf !== ab) {
      this.dvOf = ab;
      this.dv = new DataView(ab);
    }
    this.viewBase = b.byteOffset;
    this.viewReady = true;
    return this.dv as DataView;
  }

  /** After an error: the frames still hold parts of the term; let them go. */
  private release(): void {
    for (let i = 0; i < this.sp; i++) {
      const f = this.frames[i] as Frame;
      f.items = NO_ITEMS;
      f.values = NO_ITEMS;
      f.fun = undefined;
    }
    this.sp = 0;
  }

  // ---- primitive readers (bounds are checked by `need`) ----

  private need(n: number, at: number): void {
    if (n > this.end - this.pos) fail('truncated', at, `need ${n} bytes, ${this.end - this.pos} left`);
  }

  private u8(): number {
    if (this.pos >= this.end) fail('truncated', this.pos, 'input ends inside a term');
    return this.buf[this.pos++] as number;
  }

  private u16(): number {
    this.need(2, this.pos);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  private u32(): number {
    this.need(4, this.pos);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
  }

  /** A length field for `n` items of at least `minBytes` each: rejected before any allocation if the input cannot hold them. */
  private checkCount(n: number, minBytes: number, at: number, what: string): void {
    if (n * minBytes > this.end - this.pos) fail('limit', at, `${what} claims ${n} elements but only ${this.end - this.pos} bytes are left`);
  }

  // ---- terms ----

  /** Adds `bytes` to the estimate of the heap the term takes; past the budget the message is refused. */
  private charge(bytes: number, at: number): void {
    this.mem += bytes;
    if (this.mem > this.budget) this.overBudget(at);
  }

  /**
   * Charges a container of `n` elements before any is allocated. The counts
   * come before the elements, so a lower bound of what they take is known
   * now: every element needs 2 bytes of input except `[]` (1 byte), so when
   * `n` elements share fewer than `2n` bytes, at least `2n - left` of them
   * are `[]`, an allocation each (charged here, then not again).
   */
  private chargeElements(n: number, head: number, perSlot: number, at: number): void {
    const nils = 2 * n - (this.end - this.pos);
    if (nils > 0) {
      this.nilCredit += nils;
      this.charge(head + perSlot * n + 32 * nils, at);
    } else {
      this.charge(head + perSlot * n, at);
    }
  }

  private overBudget(at: number): never {
    throw new EtfDecodeError(
      'memory',
      at,
      `the decoded term needs more than ${mb(this.budget)} of JavaScript heap (${this.budgetSource}); raise ${this.budgetOption}`,
      'maxHeapBytes',
    );
  }

  /**
   * Sets the heap budget of one decode. Small inputs cannot outgrow the heap
   * (one input byte makes at most ~48 bytes of heap): no budget. Larger ones
   * are budgeted against `maxHeapBytes`, else against what V8 has free.
   */
  private setBudget(): void {
    this.mem = 0;
    this.nilCredit = 0;
    const explicit = this.maxHeap;
    if (explicit !== undefined) {
      this.budget = explicit;
      this.budgetSource = 'maxHeapBytes';
      this.budgetOption = 'maxHeapBytes';
      return;
    }
    if ((this.end - this.pos) * EXPANSION < SMALL_INPUT_HEAP) {
      this.budget = Infinity;
      return;
    }
    const h = getHeapStatistics();
    const limit = h.heap_size_limit;
    this.budget = Math.max(0, limit - h.used_heap_size - Math.max(HEAP_RESERVE, limit / 8));
    this.budgetSource = `free heap of ${mb(limit)} (v8.getHeapStatistics)`;
    this.budgetOption = 'the heap limit (node --max-old-space-size) or set maxHeapBytes';
  }

  private frame(kind: number, n: number, at: number): Frame {
    const sp = this.sp++;
    let f = this.frames[sp];
    if (f === undefined) {
      f = new Frame();
      this.frames[sp] = f;
    }
    f.kind = kind;
    f.n = n;
    f.i = 0;
    f.at = at;
    if (this.sp + this.depthBase > this.maxDepth) fail('too_deep', at, `nesting deeper than ${this.maxDepth}`);
    return f;
  }

  /**
   * Decodes the term at `pos`, `depth` containers deep, by recursion for the
   * common shapes (integers, atoms, binaries, tuples, lists, maps), with the
   * same checks and heap charges as the explicit stack. Anything else, and any
   * container at `fastDepth` or deeper, goes to the explicit stack
   * ({@link Decoder.deep}), so the call stack stays bounded.
   */
  private fast(depth: number): unknown {
    const at = this.pos;
    if (at >= this.end) fail('truncated', at, 'input ends inside a term');
    const buf = this.buf;
    const tag = buf[at] as number;
    switch (tag) {
      case Tag.SMALL_INTEGER:
        if (at + 2 > this.end) fail('truncated', at + 1, 'input ends inside a term');
        this.pos = at + 2;
        return buf[at + 1];
      case Tag.INTEGER:
        this.pos = at + 1;
        this.need(4, at);
        this.pos = at + 5;
        return buf.readInt32BE(at + 1);
      case Tag.SMALL_ATOM_UTF8: {
        if (at + 2 > this.end) fail('truncated', at + 1, 'input ends inside a term');
        const len = buf[at + 1] as number;
        this.pos = at + 2;
        this.need(len, at);
        const a = sharedAtomCache.lookup(buf, at + 2, len, true);
        if (a === undefined) fail('bad_atom', at, 'atom is not valid UTF-8');
        this.pos = at + 2 + len;
        return this.special(a);
      }
      case Tag.BINARY:
        this.pos = at + 1;
        return this.binary(at);
      case Tag.NIL:
        this.pos = at + 1;
        if (this.nilCredit > 0) this.nilCredit--;
        else if ((this.mem += 32) > this.budget) this.overBudget(at);
        return [];
      case Tag.NEW_PID:
        this.pos = at + 1;
        this.charge(96, at);
        return this.pid(tag);
      case Tag.NEWER_REFERENCE:
        this.pos = at + 1;
        this.charge(160, at);
        return this.ref(tag, at);
      case Tag.SMALL_TUPLE:
      case Tag.LARGE_TUPLE: {
        if (depth >= this.fastDepth) break;
        this.pos = at + 1;
        const n = tag === Tag.SMALL_TUPLE ? this.u8() : this.u32();
        this.checkCount(n, 1, at, 'tuple');
        if (n === 0) return EMPTY_TUPLE;
        this.chargeElements(n, 64, 8, at);
        const items = n <= 65536 ? new Array<unknown>(n) : [];
        const d = depth + 1;
        if (n <= 65536) for (let i = 0; i < n; i++) items[i] = this.fast(d);
        else for (let i = 0; i < n; i++) items.push(this.fast(d));
        return new Tuple(items);
      }
      case Tag.LIST: {
        if (depth >= this.fastDepth) break;
        this.pos = at + 1;
        let n = this.u32();
        this.checkCount(n + 1, 1, at, 'list');
        this.chargeElements(n, 32, 12, at);
        const items: unknown[] = [];
        const d = depth + 1;
        for (;;) {
          for (let i = 0; i < n; i++) items.push(this.fast(d));
          // The tail: a chain of LIST_EXT continues the list, `[]` and a STRING_EXT end it, anything else is an improper tail.
          const tailAt = this.pos;
          if (tailAt >= this.end) fail('truncated', tailAt, 'input ends inside a list');
          const t = this.buf[tailAt];
          if (t === Tag.NIL) {
            this.pos++;
            return items;
          }
          if (t === Tag.LIST) {
            this.pos++;
            n = this.u32();
            this.checkCount(n + 1, 1, tailAt, 'list');
            this.chargeElements(n, 0, 12, tailAt);
            continue;
          }
          if (t === Tag.STRING) {
            this.pos++;
            const len = this.u16();
            this.need(len, tailAt);
            this.charge(12 * len, tailAt);
            const b = this.buf;
            for (let i = 0; i < len; i++) items.push(b[this.pos + i] as number);
            this.pos += len;
            return items;
          }
          const tail = this.fast(d);
          return items.length === 0 ? tail : new ImproperList(items, tail);
        }
      }
      case Tag.MAP: {
        if (depth >= this.fastDepth) break;
        this.pos = at + 1;
        const n = this.u32();
        this.checkCount(n, 2, at, 'map');
        this.charge(64 + 40 * n, at);
        if (n === 0) return this.erlmaps ? new ErlMap() : {};
        const values = new Array<unknown>(n);
        const d = depth + 1;
        let i = 0;
        // Maps shaped like the last compiled one of this size (records, structs, JSON-like data): its keys'
        // bytes are compared in place, no atom is looked up and no key array is built.
        const predicted = this.erlmaps ? undefined : predictedShapes[n];
        if (predicted !== undefined) {
          const expected = predicted.keyBytes as Uint8Array[];
          const words = predicted.keyWords as Int32Array[];
          const dv = this.viewReady ? (this.dv as DataView) : this.inputView();
          const base = this.viewBase;
          // Keys of 4 bytes or more are compared a 32-bit word at a time (the last word overlaps when the length is not a multiple of 4).
          for (; i < n; i++) {
            const kb = expected[i] as Uint8Array;
            const len = kb.length;
            const p = this.pos;
            if (len > this.end - p) break;
            if (len >= 4) {
              const kw = words[i] as Int32Array;
              const last = kw.length - 1;
              let j = 0;
              while (j < last && dv.getInt32(base + p + 4 * j) === kw[j]) j++;
              if (j < last || dv.getInt32(base + p + len - 4) !== kw[last]) break;
            } else {
              let j = 0;
              while (j < len && buf[p + j] === kb[j]) j++;
              if (j < len) break;
            }
            // A binary value (the common case: strings) without the general dispatch.
            const vp = p + len;
            if (vp < this.end && buf[vp] === Tag.BINARY) {
              // Medium ASCII text (the usual string value), read here; anything else by `binary`, from its tag.
              const bp = vp + 5;
              if (this.binMode !== 2 && bp <= this.end) {
                const bn = dv.getUint32(base + vp + 1);
                if (bn > SHORT_TEXT && bn <= WORD_TEXT && bn <= this.end - bp && isAsciiWords(dv, base + bp, bn)) {
                  this.pos = bp + bn;
                  this.charge(32 + 2 * bn, vp);
                  values[i] = (buf as FastSlices).latin1Slice(bp, bp + bn);
                  continue;
                }
              }
              this.pos = vp + 1;
              values[i] = this.binary(vp);
            } else {
              this.pos = vp;
              values[i] = this.fast(d);
            }
          }
          if (i === n) return (predicted.make as (values: readonly unknown[]) => Record<string, unknown>)(values);
        }
        // Keys read so far were the predicted shape's atoms.
        const keys = new Array<unknown>(n);
        for (let j = 0; j < i; j++) keys[j] = (predicted as Shape).keys[j];
        let allAtoms = !this.erlmaps;
        let allPrimitive = !this.erlmaps;
        for (; i < n; i++) {
          const k = this.fast(d);
          keys[i] = k;
          if (allAtoms && !(k instanceof Atom)) {
            allAtoms = false;
            if (k !== null && k !== undefined) allPrimitive = allPrimitive && isPrimitiveKey(k);
          } else if (!allAtoms && allPrimitive) {
            allPrimitive = isPrimitiveKey(k);
          }
          values[i] = this.fast(d);
        }
        return this.mapOf(keys, values, allAtoms, allPrimitive, at);
      }
      default:
        break;
    }
    return this.deep(depth);
  }

  /** Decodes the term at `pos` with the explicit stack, as the subterm `depth` containers deep. */
  private deep(depth: number): unknown {
    const was = this.depthBase;
    this.depthBase = depth;
    try {
      return this.term();
    } finally {
      this.depthBase = was;
    }
  }

  /**
   * Decodes one term at `pos` with an explicit stack: containers push a
   * frame, every finished value is handed to the frame on top. Nesting is
   * bounded only by memory.
   */
  private term(): unknown {
    const base = this.sp;
    let v: unknown;
    next: for (;;) {
      const at = this.pos;
      if (at >= this.end) fail('truncated', at, 'input ends inside a term');
      const buf = this.buf;
      const tag = buf[this.pos++] as number;
      switch (tag) {
        case Tag.SMALL_INTEGER:
          v = this.u8();
          break;
        case Tag.INTEGER:
          this.need(4, at);
          v = buf.readInt32BE(this.pos);
          this.pos += 4;
          break;
        case Tag.SMALL_ATOM_UTF8:
        case Tag.ATOM_UTF8:
        case Tag.ATOM:
        case Tag.SMALL_ATOM:
        case Tag.ATOM_CACHE_REF:
          v = this.special(this.atomBody(tag, at));
          break;
        case Tag.SMALL_TUPLE:
        case Tag.LARGE_TUPLE: {
          const n = tag === Tag.SMALL_TUPLE ? this.u8() : this.u32();
          this.checkCount(n, 1, at, 'tuple');
          if (n === 0) {
            v = EMPTY_TUPLE;
            break;
          }
          this.chargeElements(n, 64, 8, at);
          const f = this.frame(K_TUPLE, n, at);
          f.items = n <= 65536 ? new Array<unknown>(n) : [];
          continue next;
        }
        case Tag.NIL:
          if (this.nilCredit > 0) this.nilCredit--;
          else if ((this.mem += 32) > this.budget) this.overBudget(at);
          v = [];
          break;
        case Tag.STRING:
          v = this.string(at);
          break;
        case Tag.LIST: {
          const n = this.u32();
          this.checkCount(n + 1, 1, at, 'list');
          this.chargeElements(n, 32, 12, at);
          const f = this.frame(K_LIST, n, at);
          f.items = [];
          f.tail = false;
          if (n > 0) continue next;
          // LIST_EXT with no elements: only a tail follows
          if (this.listTail(f)) continue next;
          v = this.popList(f);
          break;
        }
        case Tag.BINARY:
          v = this.binary(at);
          break;
        case Tag.BIT_BINARY:
          v = this.bitBinary(at);
          break;
        case Tag.MAP: {
          const n = this.u32();
          this.checkCount(n, 2, at, 'map');
          this.charge(64 + 40 * n, at);
          if (n === 0) {
            v = this.erlmaps ? new ErlMap() : {};
            break;
          }
          const f = this.frame(K_MAP, 2 * n, at);
          f.items = new Array<unknown>(n);
          f.values = new Array<unknown>(n);
          f.allAtoms = !this.erlmaps;
          f.allPrimitive = !this.erlmaps;
          continue next;
        }
        case Tag.NEW_FLOAT: {
          this.need(8, at);
          const x = buf.readDoubleBE(this.pos);
          this.pos += 8;
          this.charge(48, at);
          v = this.float(x, at);
          break;
        }
        case Tag.FLOAT:
          v = this.oldFloat(at);
          break;
        case Tag.SMALL_BIG:
        case Tag.LARGE_BIG:
          v = this.big(tag, at);
          break;
        case Tag.NEW_PID:
        case Tag.PID:
          this.charge(96, at);
          v = this.pid(tag);
          break;
        case Tag.NEWER_REFERENCE:
        case Tag.NEW_REFERENCE:
        case Tag.REFERENCE:
          this.charge(160, at);
          v = this.ref(tag, at);
          break;
        case Tag.NEW_PORT:
        case Tag.V4_PORT:
        case Tag.PORT:
          this.charge(96, at);
          v = this.port(tag);
          break;
        case Tag.EXPORT:
          v = this.exportFun();
          break;
        case Tag.NEW_FUN: {
          const head = this.funHead(at);
          if (head.free.length === 0 && head.numFree === 0) {
            v = this.funEnd(head, at);
            break;
          }
          const f = this.frame(K_FUN, head.numFree, at);
          f.fun = head;
          continue next;
        }
        case Tag.RECORD: {
          // RECORD_EXT: u32 field count, exported byte, module, name, field names, values
          const n = this.u32();
          const exported = this.u8();
          this.checkCount(2 * n + 2, 1, at, 'native record');
          this.charge(96 + 48 * n, at);
          const f = this.frame(K_RECORD, 2 * n + 2, at);
          f.items = [];
          f.allAtoms = exported !== 0;
          continue next;
        }
        case Tag.COMPRESSED:
          return fail('compressed', at, 'a compressed term may only appear at the top level');
        case Tag.FUN:
          return fail('bad_tag', at, 'FUN_EXT (117) is obsolete and not accepted since OTP 23');
        case Tag.LOCAL:
          return fail('bad_tag', at, 'LOCAL_EXT (121) is node-local and cannot be decoded');
        default:
          return fail('bad_tag', at, `unknown tag ${tag}`);
      }
      // Hand `v` to the frame on top; finished frames hand on their value.
      for (;;) {
        if (this.sp === base) return v;
        const f = this.frames[this.sp - 1] as Frame;
        switch (f.kind) {
          case K_TUPLE: {
            const i = f.i++;
            if (i < 65536) f.items[i] = v;
            else f.items.push(v);
            if (f.i < f.n) continue next;
            v = new Tuple(f.items);
            break;
          }
          case K_LIST:
            if (f.tail) {
              v = f.items.length === 0 ? v : new ImproperList(f.items, v);
              break;
            }
            f.items.push(v);
            if (++f.i < f.n) continue next;
            if (this.listTail(f)) continue next;
            v = f.items;
            break;
          case K_MAP: {
            const i = f.i++;
            if ((i & 1) === 0) {
              f.items[i >>> 1] = v;
              if (f.allAtoms && !(v instanceof Atom)) {
                f.allAtoms = false;
                if (v !== null && v !== undefined) f.allPrimitive = f.allPrimitive && isPrimitiveKey(v);
              } else if (!f.allAtoms && f.allPrimitive) {
                f.allPrimitive = isPrimitiveKey(v);
              }
            } else {
              f.values[i >>> 1] = v;
            }
            if (f.i < f.n) continue next;
            v = this.mapOf(f.items, f.values, f.allAtoms, f.allPrimitive, f.at);
            break;
          }
          case K_RECORD:
            f.items.push(v);
            if (++f.i < f.n) continue next;
            v = recordOf(f.items, f.allAtoms, f.at);
            break;
          default: {
            const head = f.fun as FunHead;
            head.free.push(v);
            if (++f.i < f.n) continue next;
            v = this.funEnd(head, f.at);
            f.fun = undefined;
            break;
          }
        }
        f.items = NO_ITEMS;
        f.values = NO_ITEMS;
        this.sp--;
      }
    }
  }

  /** Pops a list frame whose tail ended it right away. */
  private popList(f: Frame): unknown {
    const items = f.items;
    f.items = NO_ITEMS;
    this.sp--;
    return items;
  }

  /**
   * The elements of a list frame are done: reads its tail. A chain of
   * LIST_EXT continues the same list, `[]` and a STRING_EXT end it (false);
   * any other tail is a term still to decode (true, with the frame marked).
   */
  private listTail(f: Frame): boolean {
    for (;;) {
      const tailAt = this.pos;
      if (tailAt >= this.end) fail('truncated', tailAt, 'input ends inside a list');
      const tag = this.buf[tailAt];
      if (tag === Tag.NIL) {
        this.pos++;
        return false;
      }
      if (tag === Tag.LIST) {
        this.pos++;
        const n = this.u32();
        this.checkCount(n + 1, 1, tailAt, 'list');
        this.chargeElements(n, 0, 12, tailAt);
        if (n === 0) continue;
        f.n = n;
        f.i = 0;
        return true;
      }
      if (tag === Tag.STRING) {
        this.pos++;
        const len = this.u16();
        this.need(len, tailAt);
        this.charge(12 * len, tailAt);
        const items = f.items;
        for (let i = 0; i < len; i++) items.push(this.buf[this.pos + i] as number);
        this.pos += len;
        return false;
      }
      f.tail = true;
      return true;
    }
  }

  private special(a: Atom): unknown {
    if (a === TRUE) return true;
    if (a === FALSE) return false;
    if (this.nullAtoms) {
      if (a === NIL) return null;
      if (a === UNDEFINED) return undefined;
    }
    return a;
  }

  /** An atom whose tag has been read. */
  private atomBody(tag: number, at: number): Atom {
    let len: number;
    let utf8: boolean;
    switch (tag) {
      case Tag.SMALL_ATOM_UTF8:
        len = this.u8();
        utf8 = true;
        break;
      case Tag.ATOM_UTF8:
        len = this.u16();
        utf8 = true;
        break;
      case Tag.ATOM:
        len = this.u16();
        utf8 = false;
        break;
      case Tag.SMALL_ATOM:
        len = this.u8();
        utf8 = false;
        break;
      case Tag.ATOM_CACHE_REF: {
        const i = this.u8();
        const table = this.cache;
        if (table === undefined) fail('atom_cache', at, 'ATOM_CACHE_REF without an atom cache table');
        const a = table[i];
        if (a === undefined) fail('atom_cache', at, `atom cache slot ${i} is empty`);
        return a;
      }
      default:
        return fail('bad_tag', at, `expected an atom, got tag ${tag}`);
    }
    if (len > (utf8 ? 1020 : 255)) fail('bad_atom', at, `atom of ${len} bytes`);
    this.need(len, at);
    const a = sharedAtomCache.lookup(this.buf, this.pos, len, utf8);
    if (a === undefined) fail('bad_atom', at, 'atom is not valid UTF-8');
    if (len > 255) {
      let chars = 0;
      for (const _ of a.name) chars++;
      if (chars > 255) fail('bad_atom', at, `atom of ${chars} characters (Erlang allows 255)`);
    }
    this.pos += len;
    return a;
  }

  /** The next item must be an atom (inside pids, refs, funs...). */
  private atom(): Atom {
    const at = this.pos;
    return this.atomBody(this.u8(), at);
  }

  private float(v: number, at: number): unknown {
    if (!Number.isFinite(v)) fail('bad_float', at, 'NaN or infinite float');
    if (this.floatMode === 1) return v;
    if (this.floatMode === 2) return new Float(v);
    // auto: a Float only where a plain number would come back as an integer
    return Number.isInteger(v) && v <= MAX_SAFE && v >= -MAX_SAFE && !Object.is(v, -0) ? new Float(v) : v;
  }

  private oldFloat(at: number): unknown {
    this.need(31, at);
    let e = this.pos;
    const stop = this.pos + 31;
    while (e < stop && this.buf[e] !== 0) e++;
    const text = this.buf.toString('latin1', this.pos, e);
    this.pos = stop;
    if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)) fail('bad_float', at, `FLOAT_EXT text ${JSON.stringify(text)}`);
    return this.float(Number.parseFloat(text), at);
  }

  private big(tag: number, at: number): number | bigint {
    const n = tag === Tag.SMALL_BIG ? this.u8() : this.u32();
    if (n > this.maxBig) throw new EtfDecodeError('limit', at, `integer of ${n} bytes exceeds maxBigIntBytes (${this.maxBig})`, 'maxBigIntBytes');
    if (n > 64) this.charge(64 + 2 * n, at);
    this.need(n + 1, at);
    const sign = this.buf[this.pos++] as number;
    if (sign > 1) fail('bad_value', at, `integer sign byte ${sign}`);
    const b = this.buf;
    const p = this.pos;
    this.pos += n;
    if (n <= 6) {
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[p + i] as number);
      return sign ? (v === 0 ? 0 : -v) : v;
    }
    let hi = n - 1;
    while (hi >= 0 && b[p + hi] === 0) hi--;
    if (hi < 0) return 0;
    let hex: string;
    if (hi < 64) {
      hex = '0x';
      for (let i = hi; i >= 0; i--) hex += HEX[b[p + i] as number] as string;
    } else {
      // Big-endian copy, then one native hex conversion.
      const be = Buffer.allocUnsafe(hi + 1);
      for (let i = hi, j = 0; i >= 0; i--, j++) be[j] = b[p + i] as number;
      hex = `0x${be.toString('hex')}`;
    }
    let v = BigInt(hex);
    if (sign) v = -v;
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }

  private string(at: number): unknown {
    const n = this.u16();
    this.need(n, at);
    const p = this.pos;
    this.pos += n;
    this.charge(48 + 8 * n, at);
    if (this.charlists) return new Charlist((this.buf as FastSlices).latin1Slice(p, p + n));
    const a: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) a[i] = this.buf[p + i] as number;
    return a;
  }

  private bytesOut(p: number, n: number): Uint8Array {
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + p, n);
    if (!this.copy) return view;
    if (n < LARGE_COPY) return view.slice(); // a plain Uint8Array: one allocation, one memcpy
    // Large: memory that is not zeroed first (every byte is overwritten at once).
    const out = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    out.set(view);
    return out;
  }

  private binary(at: number): unknown {
    const n = this.u32();
    this.need(n, at);
    const p = this.pos;
    this.pos += n;
    this.charge(this.binMode === 2 ? 96 + n : 32 + 2 * n, at);
    if (this.binMode === 2) return this.bytesOut(p, n);
    const b = this.buf as FastSlices;
    if (n <= SHORT_TEXT) {
      // Short ASCII text is made in JavaScript: String.fromCharCode with the bytes as arguments makes a
      // flat string in a fraction of a native slice's set-up cost. Anything else takes the general path.
      const s = shortAscii(b, p, n);
      if (s !== undefined) return s;
    } else if (n <= WORD_TEXT) {
      // Medium text: checked for ASCII a word at a time (through the input's DataView, when there is one or
      // the input has enough left to pay for making it), then sliced as Latin-1, which for ASCII is the same
      // string, made without UTF-8 decoding and without the search for U+FFFD.
      if (this.viewReady || this.end - at >= MAKE_VIEW_FROM) {
        const dv = this.viewReady ? (this.dv as DataView) : this.inputView();
        if (isAsciiWords(dv, this.viewBase + p, n)) return b.latin1Slice(p, p + n);
      }
    }
    if (this.binMode === 1) return b.utf8Slice(p, p + n);
    // auto. Up to 64 KiB: decoded at once; the decoder turns every invalid sequence into U+FFFD, so a
    // string without U+FFFD came from valid UTF-8 (one pass). With U+FFFD (a real one, or invalid input), the
    // bytes are validated. Larger binaries: validated first (simdutf, far cheaper than building the string).
    if (n <= DECODE_FIRST) {
      const text = b.utf8Slice(p, p + n);
      if (text.indexOf('\uFFFD') < 0 || isUtf8(this.buf.subarray(p, p + n))) return text;
      return this.bytesOut(p, n);
    }
    return isUtf8(this.buf.subarray(p, p + n)) ? b.utf8Slice(p, p + n) : this.bytesOut(p, n);
  }

  private bitBinary(at: number): unknown {
    const n = this.u32();
    const bits = this.u8();
    if (n === 0 ? bits !== 0 : bits < 1 || bits > 8) fail('bad_value', at, `BIT_BINARY_EXT of ${n} bytes with ${bits} bits in the last byte`);
    this.need(n, at);
    const p = this.pos;
    this.pos += n;
    this.charge(128 + n, at);
    if (bits === 8 || n === 0) return this.bytesOut(p, n);
    const bytes = this.bytesOut(p, n);
    return new BitString(bytes, bits);
  }

  /** A finished map: a plain object, struct, `Map` or {@link ErlMap} by its keys. */
  private mapOf(keys: unknown[], values: unknown[], allAtoms: boolean, allPrimitive: boolean, at: number): unknown {
    const n = keys.length;
    if (allAtoms) {
      // Maps of the same atom keys in the same order (records, structs, JSON-like data) are built by a
      // compiled object literal: one allocation with a stable shape, no per-key stores or duplicate checks.
      const shape = shapeOf(keys);
      if (shape?.make !== undefined) {
        if (shape.keyBytes !== undefined) predictedShapes[n] = shape;
        return shape.make(values);
      }
      const obj = this.objectFrom(keys, values, at, false);
      if (shape === undefined) rememberShape(keys);
      else if (++shape.seen >= 2) compileShape(shape);
      return obj;
    }
    if (this.erlmaps && this.structs && keys.every((k) => k instanceof Atom)) {
      const struct = this.objectFrom(keys, values, at, true);
      if (struct !== undefined) return struct;
    }
    if (allPrimitive) {
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = keys[i];
        // nil and undefined keys were turned into null/undefined: keep them as one Erlang term each
        if (m.has(k)) fail('duplicate_key', at, `map key ${String(k)} appears twice`);
        m.set(k, values[i]);
      }
      return m;
    }
    const em = new ErlMap();
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      if (em.has(k)) fail('duplicate_key', at, `map key ${String(k)} appears twice`);
      em.set(k, values[i]);
    }
    return em;
  }

  /**
   * A plain object, or a struct instance when `__struct__` names a known
   * type, from atom keys. With `onlyStruct`, undefined unless it is a known struct.
   */
  private objectFrom(keys: readonly unknown[], values: readonly unknown[], at: number, onlyStruct: boolean): unknown {
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const name = (k as Atom).name;
      if (Object.hasOwn(obj, name)) fail('duplicate_key', at, `map key ${name} appears twice`);
      if (name === '__proto__') Object.defineProperty(obj, name, { value: values[i], writable: true, enumerable: true, configurable: true });
      else obj[name] = values[i];
    }
    const plain = onlyStruct ? undefined : obj;
    if (!this.structs) return plain;
    const struct = obj['__struct__'];
    if (!(struct instanceof Atom)) return plain;
    if (struct === ERROR_STRUCT) return fieldsToError(obj);
    if (struct === DATETIME_STRUCT) return fieldsToDate(obj) ?? plain;
    const reg = this.registry.forStruct(struct);
    if (reg === undefined) return plain;
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      if (k === '__struct__') continue;
      if (k === '__proto__') Object.defineProperty(fields, k, { value: obj[k], writable: true, enumerable: true, configurable: true });
      else fields[k] = obj[k];
    }
    return reg.fromFields(fields);
  }

  private pid(tag: number): Pid {
    const node = this.atom();
    if (tag === Tag.NEW_PID) {
      this.need(12, this.pos);
      const p = this.pos;
      this.pos = p + 12;
      return new Pid(node, readU32(this.buf, p), readU32(this.buf, p + 4), readU32(this.buf, p + 8));
    }
    const id = this.u32();
    const serial = this.u32();
    return new Pid(node, id, serial, this.u8());
  }

  private ref(tag: number, at: number): Ref {
    if (tag === Tag.REFERENCE) {
      const node = this.atom();
      const id = this.u32();
      const creation = this.u8();
      return new Ref(node, creation, [id]);
    }
    const n = this.u16();
    if (n < 1 || n > 5) fail('bad_value', at, `reference with ${n} words (1..5 allowed)`);
    const node = this.atom();
    const creation = tag === Tag.NEWER_REFERENCE ? this.u32() : this.u8();
    this.need(4 * n, this.pos);
    const p = this.pos;
    this.pos = p + 4 * n;
    const ids: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) ids[i] = readU32(this.buf, p + 4 * i);
    return new Ref(node, creation, ids);
  }

  private port(tag: number): Port {
    const node = this.atom();
    let id: number | bigint;
    if (tag === Tag.V4_PORT) {
      const hi = this.u32();
      const lo = this.u32();
      const v = hi * 4294967296 + lo;
      id = v <= MAX_SAFE ? v : (BigInt(hi) << 32n) | BigInt(lo);
    } else {
      id = this.u32();
    }
    const creation = tag === Tag.PORT ? this.u8() : this.u32();
    return new Port(node, id, creation);
  }

  private smallInt(what: string): number {
    const at = this.pos;
    const tag = this.u8();
    if (tag === Tag.SMALL_INTEGER) return this.u8();
    if (tag === Tag.INTEGER) {
      this.need(4, at);
      const v = this.buf.readInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (tag === Tag.SMALL_BIG) {
      const v = this.big(tag, at);
      if (typeof v === 'number') return v;
    }
    return fail('bad_value', at, `${what} must be an integer`);
  }

  private exportFun(): ExportFun {
    const module = this.atom();
    const fn = this.atom();
    const arityAt = this.pos;
    if (this.u8() !== Tag.SMALL_INTEGER) fail('bad_value', arityAt, 'EXPORT_EXT arity must be SMALL_INTEGER_EXT');
    return new ExportFun(module, fn, this.u8());
  }

  /** NEW_FUN_EXT up to its free variables, which follow as terms. */
  private funHead(at: number): FunHead {
    const size = this.u32();
    if (size < 4) fail('bad_value', at, `NEW_FUN_EXT size ${size}`);
    this.need(size - 4, at);
    const end = at + 1 + size;
    const arity = this.u8();
    this.need(16, at);
    const uniq = this.bytesOut(this.pos, 16);
    this.pos += 16;
    const index = this.u32();
    const numFree = this.u32();
    this.checkCount(numFree, 1, at, 'fun free variables');
    const module = this.atom();
    const oldIndex = this.smallInt('fun OldIndex');
    const oldUniq = this.smallInt('fun OldUniq');
    const pidAt = this.pos;
    const pidTag = this.u8();
    if (pidTag !== Tag.NEW_PID && pidTag !== Tag.PID) fail('bad_value', pidAt, 'fun Pid must be a pid');
    const pid = this.pid(pidTag);
    this.charge(128 + 8 * numFree, at);
    return { size, end, arity, uniq, index, numFree, module, oldIndex, oldUniq, pid, free: [] };
  }

  private funEnd(h: FunHead, at: number): Fun {
    if (this.pos !== h.end) fail('bad_value', at, `NEW_FUN_EXT size ${h.size} does not match its content`);
    return new Fun(h.arity, h.uniq, h.index, h.module, h.oldIndex, h.oldUniq, h.pid, h.free);
  }

  private compressed(): unknown {
    const at = this.pos;
    this.pos++;
    const size = this.u32();
    if (size > this.maxInflated) {
      throw new EtfDecodeError('limit', at, `compressed term inflates to ${size} bytes (maxInflatedBytes ${this.maxInflated})`, 'maxInflatedBytes');
    }
    let inflated: Buffer;
    try {
      inflated = inflateSync(this.buf.subarray(this.pos, this.end), { maxOutputLength: Math.max(1, size) });
    } catch (e) {
      return fail('compressed', at, `bad zlib data: ${(e as Error).message}`);
    }
    if (inflated.length !== size) fail('compressed', at, `inflated to ${inflated.length} bytes, header says ${size}`);
    const outerEnd = this.end;
    this.buf = inflated;
    this.viewReady = false;
    this.pos = 0;
    this.end = inflated.length;
    this.setBudget();
    const term = this.fast(0);
    if (this.pos !== this.end) fail('compressed', this.pos, 'bytes left over inside the compressed term');
    this.pos = outerEnd;
    this.end = outerEnd;
    return term;
  }
}
