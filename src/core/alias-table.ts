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
 * aliases and its monitors are kept in these tables.
 * @module
 */

const RING = 4096;
const MASK = RING - 1;

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
  /** Key of each ring slot (-1: free). */
  private readonly keys = new Float64Array(RING).fill(-1);
  private readonly vals: (V | undefined)[] = new Array<V | undefined>(RING).fill(undefined);
  /** The ring of negative keys, by the low bits of `-key` (0: free), made on first use. */
  private nkeys: Float64Array | undefined;
  private nvals: (V | undefined)[] | undefined;
  private readonly other = new Map<number | string, V>();
  private inRing = 0;

  get size(): number {
    return this.inRing + this.other.size;
  }

  get(key: number | string): V | undefined {
    if (typeof key === 'number') {
      if (key >= 0) {
        if (this.keys[key & MASK] === key) return this.vals[key & MASK];
      } else if (this.nkeys !== undefined && this.nkeys[-key & MASK] === key) return (this.nvals as (V | undefined)[])[-key & MASK];
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
        i = key & MASK;
        free = -1;
      } else {
        if (this.nkeys === undefined) {
          this.nkeys = new Float64Array(RING);
          this.nvals = new Array<V | undefined>(RING).fill(undefined);
        }
        keys = this.nkeys;
        vals = this.nvals as (V | undefined)[];
        i = -key & MASK;
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
        const i = key & MASK;
        if (this.keys[i] === key) {
          this.keys[i] = -1;
          this.vals[i] = undefined;
          this.inRing--;
          return true;
        }
      } else if (this.nkeys !== undefined) {
        const i = -key & MASK;
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
      for (let i = 0; i < RING; i++) if ((this.keys[i] as number) !== -1) yield this.vals[i] as V;
      const nkeys = this.nkeys;
      if (nkeys !== undefined) for (let i = 0; i < RING; i++) if ((nkeys[i] as number) !== 0) yield (this.nvals as (V | undefined)[])[i] as V;
    }
    yield* this.other.values();
  }
}
