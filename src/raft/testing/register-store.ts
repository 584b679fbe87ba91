/**
 * A replicated register store for tests and benchmarks: put and
 * compare-and-set by append (cas answers whether it swapped), get by
 * linearizable read.
 * @module
 */
import { applied, type RaftBehavior } from '../server.js';

/** What the register store appends: a write, or a compare-and-set. */
export type RegisterCommand = { readonly op: 'put'; readonly value: string } | { readonly op: 'cas'; readonly from: string; readonly to: string };

/** The replicated registers: put and cas by append (cas answers whether it swapped), get by linearizable read. */
export const registerStore: RaftBehavior<Map<string, string>, RegisterCommand, string, string | null> = {
  init: () => ({ state: new Map() }),
  handleApply: (key, cmd, _serial, state) => {
    if (cmd.op === 'put') return state.set(key, cmd.value);
    if (state.get(key) !== cmd.from) return applied(state, false);
    return applied(state.set(key, cmd.to), true);
  },
  handleRead: (key, state) => state.get(key) ?? null,
  snapshot: (state) => [...state],
  restore: (image) => new Map(image as [string, string][]),
};

