/**
 * Typed protocols: a {@link ServerRef} carries the calls, casts and info
 * messages a process accepts, so a wrong request, reply or message type fails
 * to compile.
 *
 * A protocol lists its calls as `[request, reply]` pairs; the reply type of a
 * call is picked from the request type:
 *
 * @example
 * ```ts
 * type Counter = {
 *   call: [Tuple<[Atom<'get'>]>, number] | [Tuple<[Atom<'add'>, number]>, Atom<'ok'>];
 *   cast: Atom<'reset'>;
 * };
 * const counter = serverRef<Counter>('counter');
 * const n: number = await node.call(counter, tuple(atom('get')));
 * node.cast(counter, atom('reset'));
 * // node.cast(counter, atom('nope'));  // does not compile
 * ```
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import type { Tuple } from '../terms/tuple.js';

/** The shape of a protocol: call pairs, cast messages and plain messages. All optional. */
export interface Protocol {
  /** Union of `[request, reply]` pairs. */
  call?: readonly [unknown, unknown];
  /** Union of cast messages. */
  cast?: unknown;
  /** Union of plain messages (`send`). */
  info?: unknown;
}

/** A protocol that accepts anything: what an untyped destination speaks. */
export interface AnyProtocol {
  call: readonly [unknown, unknown];
  cast: unknown;
  info: unknown;
}

type CallPairs<P extends Protocol> = P extends { call: infer C } ? C : never;
/** Requests a protocol accepts. */
export type RequestOf<P extends Protocol> = CallPairs<P> extends readonly [infer Q, unknown] ? Q : never;
/** Every reply a protocol can give. */
export type ReplyOf<P extends Protocol> = CallPairs<P> extends readonly [unknown, infer R] ? R : never;
/** The reply to request `Q`: the replies of every pair whose request type `Q` matches. */
export type ReplyTo<P extends Protocol, Q> =
  CallPairs<P> extends infer C ? (C extends readonly [infer Rq, infer Rp] ? ([Q] extends [Rq] ? Rp : never) : never) : never;
/**
 * The reply every request of a protocol accepts (the intersection of its
 * replies): what an un-narrowed request, or the `from` of one, can be
 * answered with. `number` when every pair replies a number; nothing useful
 * (`number & Atom<'ok'>`) when the replies differ.
 */
export type SharedReplyOf<P extends Protocol> =
  (CallPairs<P> extends infer C ? (C extends readonly [unknown, infer R] ? (reply: R) => void : never) : never) extends (reply: infer I) => void ? I : never;
declare const replyMark: unique symbol;

/**
 * Marks a request with the reply it expects. It exists only in types (no
 * runtime property): `reply(request, value, state)` reads it to check `value`.
 */
export interface ReplyMark<R> {
  readonly [replyMark]?: (reply: R) => void;
}

/**
 * A request as a server's `handleCall` receives it: each request type carries
 * the reply type of its pair. Narrow it (`request === atom('get')`,
 * `isAtom(request, 'get')`, `isTagged(request, 'add')`, `typeof request`...)
 * and `reply(request, value, state)` only accepts that request's reply. A
 * request of type `unknown` stays opaque (`ReplyMark<R>`): narrow it like
 * `unknown`.
 */
export type CallRequest<P extends Protocol> =
  CallPairs<P> extends infer C ? (C extends readonly [infer Q, infer R] ? (unknown extends Q ? ReplyMark<R> : Q & ReplyMark<R>) : never) : never;
/** Cast messages a protocol accepts. */
export type CastOf<P extends Protocol> = P extends { cast: infer C } ? C : never;
/** Plain messages a protocol accepts. */
export type InfoOf<P extends Protocol> = P extends { info: infer I } ? I : never;

/** `{Name, Node}`: a process registered under `name` on another (or this) node. */
export interface RemoteName {
  readonly name: string | Atom;
  readonly node: string | Atom;
}

/**
 * Where a message can go: a pid, an alias, a local registered name (string or
 * atom), a `{name, node}` pair (as an object or a 2-tuple of atoms), or a
 * typed {@link ServerRef}.
 */
export type Destination = Address | ServerRef<Protocol>;

/** A destination without protocol: what the untyped `send`/`call`/`cast` overloads accept. */
export type Address = Pid | Ref | Atom | string | RemoteName | Tuple<[Atom, Atom]>;

declare const protocolBrand: unique symbol;

/**
 * A typed reference to a process that speaks protocol `P`. It wraps any
 * destination; it is only a type, checked at compile time.
 */
export class ServerRef<P extends Protocol> {
  declare readonly [protocolBrand]: P | undefined;
  constructor(
    /** Where the messages go. */
    readonly dest: Address,
  ) {}
  toString(): string {
    return `ServerRef(${String(this.dest)})`;
  }
}

/** A typed reference to `dest` (a pid, a name, `{name, node}`) that speaks `P`. */
export function serverRef<P extends Protocol = AnyProtocol>(dest: Address): ServerRef<P> {
  return new ServerRef<P>(dest);
}

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the reply; default 5000; `Infinity` waits forever. */
  readonly timeout?: number;
  /** Cancels the call: it rejects with CallAbortedError and a late reply is discarded. */
  readonly signal?: AbortSignal;
  /** The first element of the call message; default `'$gen_call'`. `sys` messages use `system`. */
  readonly label?: Atom;
}
