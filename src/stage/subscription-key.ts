/**
 * Subscription keys: subscriptions are keyed by their tag, which is a
 * reference in practice but may be any term. References compare
 * structurally, so they are turned into a string for Map lookups.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { formatReason } from '../core/reasons.js';
import type { Subscription } from './types.js';

const refKeys = new WeakMap<Ref, string>();

/** A Map key for a subscription tag: equal tags give equal keys. */
export function tagKey(tag: unknown): string | number {
  if (tag instanceof Ref) {
    // Local messages carry the same Ref object every time: remember its key.
    let k = refKeys.get(tag);
    if (k === undefined) refKeys.set(tag, (k = `r${tag.node.name}|${tag.creation}|${tag.ids.join('.')}`));
    return k;
  }
  if (typeof tag === 'number') return tag;
  if (typeof tag === 'string') return `s${tag}`;
  if (tag instanceof Atom) return `a${tag.name}`;
  if (tag instanceof Pid) return `p${tag.describe()}|${tag.creation}`;
  return `t${formatReason(tag)}`;
}

/** The key of a subscription `{Pid, Tag}`. */
export function subKey(sub: Subscription): string | number {
  return tagKey(sub.elements[1]);
}
