/**
 * Tuple: Erlang's fixed-size tuple, distinct from a list (a JS array).
 *
 * The element types are kept in the type parameter, so `tuple(atom('ok'), 1)`
 * has type `Tuple<[Atom, number]>` and `t.at(1)` is a `number`.
 *
 * @example
 * ```ts
 * import { tuple, atom } from 'beamline';
 * const t = tuple(atom('ok'), 42);
 * t.size;        // 2
 * t.elements[1]; // 42
 * ```
 * @module
 */

import { Atom } from './atom.js';

/** An Erlang tuple with typed elements. */
export class Tuple<T extends readonly unknown[] = readonly unknown[]> {
  /**
   * The elements, in order. Assigned by the constructor, not declared as a class field: a subclass
   * may define it as an accessor (calls.ts's CallWaiter makes its elements on first read), which a
   * field would shadow.
   */
  declare readonly elements: T;
  constructor(elements: T) {
    this.elements = elements;
  }
  /** Number of elements (Erlang's `tuple_size/1`). */
  get size(): number {
    return this.elements.length;
  }
  /** Element at zero-based index `i`. */
  at<I extends number & keyof T>(i: I): T[I] {
    return this.elements[i];
  }
  toString(): string {
    return `{${this.elements.map(String).join(',')}}`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (v: unknown, o: object) => string): string {
    return `{${this.elements.map((e) => inspect(e, options)).join(', ')}}`;
  }
}

/** Builds a tuple from its elements: `tuple(atom('ok'), 1)` is `{ok, 1}`. */
export function tuple<const T extends readonly unknown[]>(...elements: T): Tuple<[...T]> {
  return new Tuple<[...T]>(elements as [...T]);
}

/**
 * True when `value` is a tuple whose first element is the atom `tag`
 * (optionally of `size` elements). It narrows a union of tagged tuples, such
 * as a protocol's requests, to the ones with that tag:
 *
 * @example
 * ```ts
 * if (isTagged(request, 'add')) return reply(request, atom('ok'), n + request.elements[1]);
 * ```
 */
export function isTagged<const N extends string>(value: unknown, tag: N, size?: number): value is Tuple<readonly [Atom<N>, ...unknown[]]> {
  if (!(value instanceof Tuple)) return false;
  const e = value.elements;
  return e.length > 0 && (size === undefined || e.length === size) && e[0] instanceof Atom && e[0].name === tag;
}

/** True when `value` is a Tuple (optionally of the given size). */
export function isTuple(value: unknown, size?: number): value is Tuple {
  return value instanceof Tuple && (size === undefined || value.elements.length === size);
}
