/**
 * Sequential specifications for the linearizability checker: a register
 * with read, write and compare-and-set, and a key-value store with get, put
 * and append (checked per key).
 * @module
 */
import { type Model, type Operation, unknown, type Unknown } from './linearizability.js';

/** Splits a history into one per key (P-compositionality: each key is checked on its own). */
export function partitionByKey<I extends { readonly key: string }, O>(ops: readonly Operation<I, O>[]): Operation<I, O>[][] {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const list = byKey.get(op.input.key);
    if (list === undefined) byKey.set(op.input.key, [op]);
    else list.push(op);
  }
  return [...byKey.values()];
}

/** A register operation; the register starts empty (`null`). */
export type RegisterInput = { readonly f: 'read' } | { readonly f: 'write'; readonly value: string } | { readonly f: 'cas'; readonly from: string; readonly to: string };
/** A read's value, or whether a cas took effect; writes return `null`. */
export type RegisterOutput = string | null | boolean;

/** One register with read, write and compare-and-set. */
export const registerModel: Model<string | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  key: (s) => (s === null ? '\u0000' : s),
  step: (state, input, output) => {
    switch (input.f) {
      case 'read':
        return { ok: output === unknown || output === state, state };
      case 'write':
        return { ok: true, state: input.value };
      case 'cas': {
        const matches = state === input.from;
        if (output === unknown) return { ok: true, state: matches ? input.to : state };
        return output === true ? { ok: matches, state: input.to } : { ok: !matches, state };
      }
    }
  },
};

/** A key-value operation; every key starts as `""`. */
export type KvInput = { readonly f: 'get'; readonly key: string } | { readonly f: 'put' | 'append'; readonly key: string; readonly value: string };
/** A get's value; puts and appends return `null`. */
export type KvOutput = string | null;

/** The state of one key (the history is partitioned per key). */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  key: (s) => s,
  step: (state, input, output: KvOutput | Unknown) => {
    switch (input.f) {
      case 'get':
        return { ok: output === unknown || output === state, state };
      case 'put':
        return { ok: true, state: input.value };
      case 'append':
        return { ok: true, state: state + input.value };
    }
  },
  partition: partitionByKey,
};

/** A register operation on one of many keys. */
export type KeyedRegisterInput = RegisterInput & { readonly key: string };

/** Many independent registers (read, write, cas), checked per key. */
export const keyedRegisterModel: Model<string | null, KeyedRegisterInput, RegisterOutput> = {
  init: registerModel.init,
  key: registerModel.key,
  step: registerModel.step,
  partition: partitionByKey,
};
