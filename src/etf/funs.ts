/**
 * Erlang funs as values: {@link ExportFun} (`fun lists:map/2`, EXPORT_EXT)
 * and {@link Fun}, an opaque closure (NEW_FUN_EXT) that JavaScript cannot
 * run but can store and send back to Erlang unchanged.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * An external fun `fun Module:Function/Arity` (EXPORT_EXT).
 *
 * @example
 * ```ts
 * import { atom } from 'beamline';
 * import { ExportFun, encode } from 'beamline/etf';
 * const f = new ExportFun(atom('lists'), atom('map'), 2); // fun lists:map/2
 * encode(f);
 * ```
 */
export class ExportFun {
  /** The function name. */
  readonly function: Atom;
  constructor(
    readonly module: Atom,
    fn: Atom,
    /** 0..255. */
    readonly arity: number,
  ) {
    this.function = fn;
  }
  equals(other: unknown): boolean {
    return (
      other instanceof ExportFun &&
      other.module === this.module &&
      other.function === this.function &&
      other.arity === this.arity
    );
  }
  toString(): string {
    return `fun ${this.module.toString()}:${this.function.toString()}/${this.arity}`;
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}

/**
 * A closure created by Erlang code (NEW_FUN_EXT). It cannot run in
 * JavaScript: Beamline keeps its fields so that it can be sent back
 * and called by Erlang. The free variables are decoded terms; with the
 * default decode options they re-encode to the same bytes.
 *
 * @example
 * ```ts
 * const f = decode(bytes) as Fun;      // from fun(X) -> X + 1 end
 * f.module.name; f.arity;              // 'my_mod', 1
 * encode(tuple(atom('apply'), f));      // goes back as the same fun
 * ```
 */
export class Fun {
  constructor(
    readonly arity: number,
    /** 16-byte MD5 of the module's code. */
    readonly uniq: Uint8Array,
    readonly index: number,
    readonly module: Atom,
    readonly oldIndex: number,
    readonly oldUniq: number,
    /** The process that created the fun. */
    readonly pid: Pid,
    readonly freeVars: readonly unknown[],
  ) {}
  toString(): string {
    return `#Fun<${this.module.name}.${this.oldIndex}.${this.oldUniq}>`;
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}
