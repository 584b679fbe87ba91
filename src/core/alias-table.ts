/**
 * Alias table: the node's aliases by ref key, as a `Map` would hold them,
 * without a Map's cost on the call path. Every call registers its alias and
 * drops it when it returns, so a busy node adds and removes thousands of
 * keys a second; a `Map` rehashes (and allocates) as it grows and shrinks
 * around the calls in flight. The keys of refs made here are consecutive
 * numbers, so they go to a ring indexed by the key's low bits: a slot
 * holds its key and its target, and setting or deleting one allocates
 * nothing. A key whose slot is taken by an older live entry (an alias that
 * lived through a ring's worth of newer refs), a ref made elsewhere
 * (negative key) or a string key goes to an ordinary `Map` beside it.
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
  private readonly other = new Map<number | string, V>();
  private inRing = 0;

  get size(): number {
    return this.inRing + this.other.size;
  }

  get(key: number | string): V | undefined {
    if (typeof key === 'number' && key >= 0 && this.keys[key & MASK] === key) return this.vals[key & MASK];
    return this.other.size === 0 ? undefined : this.other.get(key);
  }

  has(key: number | string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number | string, value: V): this {
    if (typeof key === 'number' && key >= 0 && Number.isSafeInteger(key)) {
      const i = key & MASK;
      const k = this.keys[i] as number;
      if (k === key) {
        this.vals[i] = value;
        return this;
      }
      if (k === -1 && (this.other.size === 0 || !this.other.has(key))) {
        this.keys[i] = key;
        this.vals[i] = value;
        this.inRing++;
        return this;
      }
    }
    this.other.set(key, value);
    return this;
  }

  delete(key: number | string): boolean {
    if (typeof key === 'number' && key >= 0 && this.keys[key & MASK] === key) {
      const i = key & MASK;
      this.keys[i] = -1;
      this.vals[i] = undefined;
      this.inRing--;
      return true;
    }
    return this.other.size === 0 ? false : this.other.delete(key);
  }

  /** Every target (a snapshot is not taken: do not add while iterating). */
  *values(): IterableIterator<V> {
    if (this.inRing > 0) for (let i = 0; i < RING; i++) if ((this.keys[i] as number) !== -1) yield this.vals[i] as V;
    yield* this.other.values();
  }
}
