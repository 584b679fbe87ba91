/**
 * ImproperList: an Erlang list whose tail is not `[]`, such as `[alias | Ref]`,
 * the tag OTP 24+ puts in gen_server calls. Proper lists are JS arrays.
 * @module
 */

/** `[a, b | tail]`: the items, then a tail that is not the empty list. */
export class ImproperList<T = unknown, Tail = unknown> {
  constructor(
    readonly items: readonly T[],
    readonly tail: Tail,
  ) {}
  toString(): string {
    return `[${this.items.map(String).join(',')}|${String(this.tail)}]`;
  }
}
