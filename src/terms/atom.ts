/**
 * Atom: an interned Erlang atom.
 *
 * Atoms are interned, so two atoms with the same name are the same object and
 * `===` compares them. `true` and `false` are not atoms in Beamline: they are
 * JavaScript booleans, as the codec maps them.
 *
 * @example
 * ```ts
 * import { atom } from 'beamline';
 * atom('ok') === atom('ok'); // true
 * ```
 * @module
 */

const table = new Map<string, Atom>();

/** An interned Erlang atom. Create with {@link atom}; compare with `===`. */
export class Atom<N extends string = string> {
  /** The atom's text. */
  readonly name: N;
  /** @internal The distribution atom cache's facts about this atom (its slot, its UTF-8 text), set on first send. */
  distCache: { readonly slot: number; readonly text: Buffer } | undefined = undefined;
  /** @internal The codec's cached UTF-8 encoding of this atom (owned by src/etf), set on its first encode. */
  etf: unknown = undefined;
  private constructor(name: N) {
    this.name = name;
  }
  /** Returns the interned atom named `name` (created on first use). */
  static of<const N extends string>(name: N): Atom<N> {
    let a = table.get(name);
    if (a === undefined) {
      a = new Atom(name);
      table.set(name, a);
    }
    return a as Atom<N>;
  }
  /** Erlang syntax: `ok`, `'Elixir.Foo'`. */
  toString(): string {
    return /^[a-z][a-zA-Z0-9_@]*$/.test(this.name) ? this.name : `'${this.name.replace(/['\\]/g, '\\$&')}'`;
  }
  toJSON(): string {
    return this.name;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * The interned atom named `name`. The name is kept in the type, so protocols
 * can require a specific atom: `atom('get')` has type `Atom<'get'>`.
 */
export function atom<const N extends string>(name: N): Atom<N> {
  return Atom.of(name);
}

/** True when `value` is an Atom (optionally with the given name). */
export function isAtom<N extends string = string>(value: unknown, name?: N): value is Atom<N> {
  return value instanceof Atom && (name === undefined || value.name === name);
}
