/**
 * ErlMap: an Erlang map with structural key equality, for maps whose keys a
 * JavaScript `Map` cannot compare (tuples, lists, pids, refs, floats, binaries
 * as bytes, nested maps).
 *
 * Keys are compared as Erlang terms: `tuple(1, 2)` finds an entry stored
 * under another `tuple(1, 2)`; `1` and `new Float(1)` are different keys;
 * `5` and `5n` are the same key (the integer 5); `null` and `atom('nil')` are
 * the same key, as are `undefined` and `atom('undefined')`, `true` and
 * `atom('true')`. A `string` and a `Uint8Array` holding the same bytes are
 * distinct keys here although Erlang sees the same binary: don't mix them.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { canonicalKey } from './encoder.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const NIL = Atom.of('nil');
const UNDEFINED = Atom.of('undefined');
const TRUE = Atom.of('true');
const FALSE = Atom.of('false');

interface Entry {
  key: unknown;
  value: unknown;
}

/** Marker: the key needs a canonical encoding. */
const STRUCTURED: unique symbol = Symbol('structured');

function primitiveKey(k: unknown): unknown {
  switch (typeof k) {
    case 'string':
      return k;
    case 'number':
      return Number.isSafeInteger(k) && !Object.is(k, -0) ? k : STRUCTURED;
    case 'bigint':
      return k >= -9007199254740991n && k <= 9007199254740991n ? Number(k) : k;
    case 'boolean':
      return k ? TRUE : FALSE;
    case 'undefined':
      return UNDEFINED;
    case 'object':
      if (k === null) return NIL;
      return k instanceof Atom ? k : STRUCTURED;
    default:
      return STRUCTURED;
  }
}

/**
 * A map from Erlang terms to Erlang terms with structural key equality,
 * iterated in insertion order. Encodes as MAP_EXT.
 *
 * @example
 * ```ts
 * import { tuple, atom } from 'beamline';
 * import { ErlMap, Float } from 'beamline/etf';
 * const m = new ErlMap<unknown, number>([[tuple(atom('connection_id'), atom('js@vm')), 9323241]]);
 * m.get(tuple(atom('connection_id'), atom('js@vm'))); // 9323241
 * m.set(1, 'int').set(new Float(1), 'float').size;   // 3
 * ```
 */
export class ErlMap<K = unknown, V = unknown> implements Iterable<[K, V]> {
  /** Primitive keys map to their entry; structured entries are keyed by the entry itself (keeps one insertion order). */
  readonly #entries = new Map<unknown, Entry>();
  readonly #structured = new Map<string, Entry>();

  constructor(entries?: Iterable<readonly [K, V]>) {
    if (entries !== undefined) for (const [k, v] of entries) this.set(k, v);
  }

  /** Number of entries (Erlang's `map_size/1`). */
  get size(): number {
    return this.#entries.size;
  }

  #find(key: unknown): Entry | undefined {
    const p = primitiveKey(key);
    if (p !== STRUCTURED) return this.#entries.get(p);
    return this.#structured.get(canonicalKey(key));
  }

  get(key: K): V | undefined {
    return this.#find(key)?.value as V | undefined;
  }

  has(key: K): boolean {
    return this.#find(key) !== undefined;
  }

  /** Adds or replaces an entry; the original key object is kept on replace. */
  set(key: K, value: V): this {
    const p = primitiveKey(key);
    if (p !== STRUCTURED) {
      const e = this.#entries.get(p);
      if (e !== undefined) e.value = value;
      else this.#entries.set(p, { key, value });
      return this;
    }
    const c = canonicalKey(key);
    const e = this.#structured.get(c);
    if (e !== undefined) {
      e.value = value;
    } else {
      const entry: Entry = { key, value };
      this.#structured.set(c, entry);
      this.#entries.set(entry, entry);
    }
    return this;
  }

  delete(key: K): boolean {
    const p = primitiveKey(key);
    if (p !== STRUCTURED) return this.#entries.delete(p);
    const c = canonicalKey(key);
    const e = this.#structured.get(c);
    if (e === undefined) return false;
    this.#structured.delete(c);
    this.#entries.delete(e);
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#structured.clear();
  }

  *entries(): IterableIterator<[K, V]> {
    for (const e of this.#entries.values()) yield [e.key as K, e.value as V];
  }

  *keys(): IterableIterator<K> {
    for (const e of this.#entries.values()) yield e.key as K;
  }

  *values(): IterableIterator<V> {
    for (const e of this.#entries.values()) yield e.value as V;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: this) => void): void {
    for (const e of this.#entries.values()) fn(e.value as V, e.key as K, this);
  }

  /** Erlang syntax: `#{k => v}`. */
  toString(): string {
    const parts: string[] = [];
    for (const e of this.#entries.values()) parts.push(`${String(e.key)} => ${String(e.value)}`);
    return `#{${parts.join(',')}}`;
  }

  [inspectSymbol](depth: number, options: object, inspect: (v: unknown, o: object) => string): string {
    const parts: string[] = [];
    for (const e of this.#entries.values()) parts.push(`${inspect(e.key, options)} => ${inspect(e.value, options)}`);
    return `ErlMap #{${parts.join(', ')}}`;
  }
}
