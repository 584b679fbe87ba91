/**
 * Alias table: the node's aliases by ref key, as a `Map` would hold them,
 * without a Map's cost on the call path. Every call registers its alias and
 * drops it when it returns, so a busy node adds and removes thousands of
 * keys a second; a `Map` rehashes (and allocates) as it grows and shrinks
 * around the calls in flight. The keys of refs made here are consecutive
 * numbers, so they go to a ring indexed by the key's low bits: a slot
 * holds its key and its target, and setting or deleting one allocates
 * nothing. The numeric keys of refs made on another node (negative, see
 * `Kernel.refKey`) are consecutive too for the refs of one node: they go
 * to a second ring, made on first use (the monitors a remote caller's
 * calls set up come and go that way). A key whose slot is taken by an
 * older live entry (one that lived through a ring's worth of newer refs)
 * or a string key goes to an ordinary `Map` beside them. The node's
 * aliases and its monitors are kept in these tables, and so are each
 * process's monitors (held and on it), in tables with small rings.
 *
 * Why not a `Map`, beyond the rehashing: a `Map` that keys come and go
 * through rehashes into a new table every so many deletions, and the old
 * table keeps a link to the new one (for live iterators) and the entries
 * it held. A long-lived `Map` (in V8's old generation) so chains every
 * table made since the last full GC, and a young-generation GC, which
 * takes whatever an old object points to as alive, copies and then
 * promotes all of them and the records they hold: a server called over
 * the network by 8 callers kept about 500 KB alive per young GC that way
 * (each GC took 2 ms instead of 0.3). A ring slot is cleared in place.
 * @module
 */

/** Ring size of the node-wide tables. */
const RING = 4096;
/** Ring size of a process's own tables ({@link AliasTable.forProcess}): its calls' monitors in flight, or its remote callers'. */
export const PROCESS_RING = 32;

/**
 * A `Map<number | string, V>` for alias keys: `get`, `set`, `delete`, `has`,
 * `size` and `values` as a Map has them.
 *
 * @example
 * ```ts
 * const aliases = new AliasTable<string>();
 * aliases.set(7, 'waiter');
 * aliases.get(7); // 'waiter'
 * aliases.delete(7);
 * ```
 */
export class AliasTable<V> {
  /** Ring slots minus one (the ring size is a power of two). */
  private readonly mask: number;
  /** Key of each ring slot (-1: free). */
  private readonly keys: Float64Array;
  private readonly vals: (V | undefined)[];
  /** The ring of negative keys, by the low bits of `-key` (0: free), made on first use. */
  private nkeys: Float64Array | undefined;
  private nvals: (V | undefined)[] | undefined;
  private readonly other = new Map<number | string, V>();
  private inRing = 0;

  /** `ring`: slots per ring, a power of two (default 4096: the node's tables); each ring holds one key per slot. */
  constructor(ring = RING) {
    if (!(Number.isInteger(ring) && ring >= 1 && ring <= 1 << 20 && (ring & (ring - 1)) === 0)) {
      throw new RangeError(`AliasTable ring must be a power of two from 1 to 2^20, got ${ring}`);
    }
    this.mask = ring - 1;
    this.keys = new Float64Array(ring).fill(-1);
    this.vals = new Array<V | undefined>(ring).fill(undefined);
  }

  /** A table for one process's monitors: a small ring ({@link PROCESS_RING}). */
  static forProcess<V>(): AliasTable<V> {
    return new AliasTable<V>(PROCESS_RING);
  }

  get size(): number {
    return this.inRing + this.other.size;
  }

  get(key: number | string): V | undefined {
    if (typeof key === 'number') {
      const mask = this.mask;
      if (key >= 0) {
        if (this.keys[key & mask] === key) return this.vals[key & mask];
      } else if (this.nkeys !== undefined && this.nkeys[-key & mask] === key) return (this.nvals as (V | undefined)[])[-key & mask];
    }
    return this.other.size === 0 ? undefined : this.other.get(key);
  }

  has(key: number | string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number | string, value: V): this {
    if (typeof key === 'number' && Number.isSafeInteger(key)) {
      let keys: Float64Array;
      let vals: (V | undefined)[];
      let i: number;
      let free: number;
      if (key >= 0) {
        keys = this.keys;
        vals = this.vals;
        i = key & this.mask;
        free = -1;
      } else {
        if (this.nkeys === undefined) {
          this.nkeys = new Float64Array(this.mask + 1);
          this.nvals = new Array<V | undefined>(this.mask + 1).fill(undefined);
        }
        keys = this.nkeys;
        vals = this.nvals as (V | undefined)[];
        i = -key & this.mask;
        free = 0;
      }
      const k = keys[i] as number;
      if (k === key) {
        vals[i] = value;
        return this;
      }
      if (k === free && (this.other.size === 0 || !this.other.has(key))) {
        keys[i] = key;
        vals[i] = value;
        this.inRing++;
        return this;
      }
    }
    this.other.set(key, value);
    return this;
  }

  delete(key: number | string): boolean {
    if (typeof key === 'number') {
      if (key >= 0) {
        const i = key & this.mask;
        if (this.keys[i] === key) {
          this.keys[i] = -1;
          this.vals[i] = undefined;
          this.inRing--;
          return true;
        }
      } else if (this.nkeys !== undefined) {
        const i = -key & this.mask;
        if (this.nkeys[i] === key) {
          this.nkeys[i] = 0;
          (this.nvals as (V | undefined)[])[i] = undefined;
          this.inRing--;
          return true;
        }
      }
    }
    return this.other.size === 0 ? false : this.other.delete(key);
  }

  /** Every value (a snapshot is not taken: do not add while iterating). */
  *values(): IterableIterator<V> {
    if (this.inRing > 0) {
      const ring = this.mask + 1;
      for (let i = 0; i < ring; i++) if ((this.keys[i] as number) !== -1) yield this.vals[i] as V;
      const nkeys = this.nkeys;
      if (nkeys !== undefined) for (let i = 0; i < ring; i++) if ((nkeys[i] as number) !== 0) yield (this.nvals as (V | undefined)[])[i] as V;
    }
    yield* this.other.values();
  }
}
