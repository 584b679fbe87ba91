/**
 * Registered types: TypeScript classes that travel as Elixir structs.
 *
 * An instance of a registered class encodes as a map with atom keys plus
 * `__struct__: :"Elixir.<Name>"`, which an Elixir node sees as the struct
 * `%Name{...}`; decoding such a map gives back an instance of the class.
 * @module
 */
import { Atom } from '../terms/atom.js';

/** A class whose instances can be registered (any constructor). */
export type Constructor<T extends object = object> = abstract new (...args: never[]) => T;

/** How a registered class converts to and from its struct fields. */
export interface TypeCodec<T extends object> {
  /** The struct fields (without `__struct__`). Default: the instance's own enumerable properties. */
  toFields?: (value: T) => Record<string, unknown>;
  /**
   * Builds an instance from decoded fields (without `__struct__`). Default:
   * an object with the class's prototype and the fields assigned; the
   * constructor is not called.
   */
  fromFields?: (fields: Record<string, unknown>) => T;
}

/** One registration. */
export interface RegisteredType<T extends object = object> {
  /** The `__struct__` atom, e.g. `'Elixir.MyApp.User'`. */
  readonly struct: Atom;
  readonly ctor: Constructor<T>;
  readonly toFields: (value: T) => Record<string, unknown>;
  readonly fromFields: (fields: Record<string, unknown>) => T;
}

/** The struct atom for a registration name: `'User'` → `'Elixir.User'`; names already starting with `Elixir.` are kept. */
export function structAtom(name: string): Atom {
  return Atom.of(name.startsWith('Elixir.') ? name : `Elixir.${name}`);
}

/**
 * A set of registered types, looked up by class when encoding and by
 * `__struct__` atom when decoding. Most code uses the default registry
 * through {@link registerType}; pass another one in the codec options to
 * keep registrations apart.
 *
 * @example
 * ```ts
 * const reg = new TypeRegistry();
 * reg.register('MyApp.Point', Point);
 * encode(new Point(1, 2), { registry: reg });
 * ```
 */
export class TypeRegistry {
  private readonly byCtor = new Map<Constructor, RegisteredType>();
  private readonly byStruct = new Map<Atom, RegisteredType>();

  /** Registers `ctor` under `name` (see {@link registerType}). Replaces an earlier registration of the same class or name. */
  register<T extends object>(name: string, ctor: Constructor<T>, codec: TypeCodec<T> = {}): RegisteredType<T> {
    const struct = structAtom(name);
    const entry: RegisteredType<T> = {
      struct,
      ctor,
      toFields: codec.toFields ?? ((v: T) => ({ ...(v as Record<string, unknown>) })),
      fromFields:
        codec.fromFields ?? ((fields: Record<string, unknown>) => Object.assign(Object.create(ctor.prototype) as T, fields)),
    };
    const old = this.byCtor.get(ctor);
    if (old !== undefined) this.byStruct.delete(old.struct);
    const oldByName = this.byStruct.get(struct);
    if (oldByName !== undefined) this.byCtor.delete(oldByName.ctor);
    this.byCtor.set(ctor, entry as unknown as RegisteredType);
    this.byStruct.set(struct, entry as unknown as RegisteredType);
    return entry;
  }

  /** Removes the registration of `ctor`. */
  unregister(ctor: Constructor): void {
    const entry = this.byCtor.get(ctor);
    if (entry === undefined) return;
    this.byCtor.delete(ctor);
    this.byStruct.delete(entry.struct);
  }

  /** The registration for a value's class (exact class first, then its base classes). */
  forValue(value: object): RegisteredType | undefined {
    if (this.byCtor.size === 0) return undefined;
    let proto: unknown = Object.getPrototypeOf(value);
    while (proto !== null && proto !== Object.prototype) {
      const ctor = (proto as { constructor?: unknown }).constructor;
      const hit = typeof ctor === 'function' ? this.byCtor.get(ctor as Constructor) : undefined;
      if (hit !== undefined) return hit;
      proto = Object.getPrototypeOf(proto);
    }
    return undefined;
  }

  /** The registration for a `__struct__` atom. */
  forStruct(struct: Atom): RegisteredType | undefined {
    return this.byStruct.get(struct);
  }
}

/** The registry used when the codec options name none. */
export const defaultRegistry = new TypeRegistry();

/**
 * Registers a class so that its instances travel as the Elixir struct
 * `%Name{}` (`__struct__: :"Elixir.Name"`) and decode back into instances.
 *
 * @example
 * ```ts
 * import { registerType, encode, decode } from 'beamline/etf';
 * class User { constructor(public name: string, public age: number) {} }
 * registerType('MyApp.User', User);
 * const u = decode(encode(new User('ann', 3))) as User; // u instanceof User
 * // an Elixir node receives %MyApp.User{name: "ann", age: 3}
 * ```
 */
export function registerType<T extends object>(name: string, ctor: Constructor<T>, codec: TypeCodec<T> = {}): RegisteredType<T> {
  return defaultRegistry.register(name, ctor, codec);
}
