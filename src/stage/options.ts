/**
 * Subscription options: the TypeScript form ({@link SubscribeOptions}), its
 * wire form (a keyword list with atom values, exactly what GenStage sends),
 * and GenStage's validation of `max_demand`, `min_demand` and `cancel`.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { RemoteName, ServerRef, Protocol } from '../core/protocol.js';
import { ExportFun } from '../etf/funs.js';
import type { CancelMode, KeywordList } from './types.js';
import { BeamlineError } from '../core/errors.js';

/** A producer to subscribe to: a pid, a local name, `{name, node}` (object or tuple), or a started stage. */
export type StageTarget = Pid | string | Atom | RemoteName | Tuple<[Atom, Atom]> | ServerRef<Protocol>;

/** Options of a subscription (GenStage's `sync_subscribe/3` options). */
export interface SubscribeOptions<E = unknown> {
  /** The producer. */
  readonly to: StageTarget;
  /** Most events asked at once; default 1000. */
  readonly maxDemand?: number;
  /** Ask again when pending demand falls to this; default `maxDemand / 2` (floored). */
  readonly minDemand?: number;
  /** Default `'permanent'`: the consumer exits when the producer cancels or exits. */
  readonly cancel?: CancelMode;
  /** Partition dispatcher: the partition to consume. */
  readonly partition?: unknown;
  /** Broadcast dispatcher: receive only events it returns true for (a JS function locally, `fun M:F/1` for an Elixir producer). */
  readonly selector?: ((event: E) => boolean) | ExportFun;
  /** More keyword options passed to the producer's `handleSubscribe` and dispatcher. */
  readonly extra?: KeywordList;
}

/** An entry of `subscribeTo`: a producer, or options with `to`. */
export type SubscribeTo = StageTarget | SubscribeOptions;

/** Invalid options: the message is GenStage's (`expected :max_demand to be ...`). */
export class StageOptionsError extends BeamlineError {
  override name = 'StageOptionsError';
}

const A_MAX = atom('max_demand');
const A_MIN = atom('min_demand');
const A_CANCEL = atom('cancel');
const A_PARTITION = atom('partition');
const A_SELECTOR = atom('selector');

/** The value of `key` in a keyword list (the first match), or undefined. */
export function keyword(options: KeywordList, key: string | Atom): unknown {
  const k = typeof key === 'string' ? atom(key) : key;
  for (const t of options) if (t.elements[0] === k) return t.elements[1];
  return undefined;
}

/** Reads a received keyword list defensively: anything that is not `[{atom, _}]` counts as empty. */
export function asKeywordList(value: unknown): KeywordList {
  if (!Array.isArray(value)) return [];
  for (const t of value) if (!(t instanceof Tuple) || t.elements.length !== 2 || !(t.elements[0] instanceof Atom)) return [];
  return value as KeywordList;
}

/** The destination of a target, as a term: pid, atom, or `{Name, Node}`. */
export function targetTerm(to: StageTarget): Pid | Atom | Tuple<[Atom, Atom]> {
  if (to instanceof Pid || to instanceof Atom || to instanceof Tuple) return to;
  if (typeof to === 'string') return atom(to);
  if ('dest' in to) {
    const d = to.dest;
    if (d instanceof Pid || d instanceof Atom || d instanceof Tuple) return d as Pid | Atom | Tuple<[Atom, Atom]>;
    if (typeof d === 'string') return atom(d);
    if (d !== null && typeof d === 'object' && 'name' in d) return remote(d);
    throw new StageOptionsError(`cannot subscribe to ${String(d)}`);
  }
  return remote(to);
}

function remote(r: RemoteName): Tuple<[Atom, Atom]> {
  return tuple(typeof r.name === 'string' ? atom(r.name) : r.name, typeof r.node === 'string' ? atom(r.node) : r.node);
}

/** The wire form of subscription options (without `to`): only the options given, in GenStage's names. */
export function toKeywordList(o: Omit<SubscribeOptions<never>, 'to'> | Omit<SubscribeOptions, 'to'>): KeywordList {
  const out: Tuple<[Atom, unknown]>[] = [];
  if (o.maxDemand !== undefined) out.push(tuple(A_MAX, o.maxDemand));
  if (o.minDemand !== undefined) out.push(tuple(A_MIN, o.minDemand));
  if (o.cancel !== undefined) out.push(tuple(A_CANCEL, atom(o.cancel)));
  if (o.partition !== undefined) out.push(tuple(A_PARTITION, o.partition));
  if (o.selector !== undefined) out.push(tuple(A_SELECTOR, o.selector));
  if (o.extra !== undefined) out.push(...o.extra);
  return out;
}

/** A consumer's validated demand settings. */
export interface DemandSettings {
  readonly max: number;
  readonly min: number;
  readonly cancel: CancelMode;
}

function integer(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function show(v: unknown): string {
  if (v instanceof Atom) return `:${v.name}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** GenStage's consumer-side validation; throws {@link StageOptionsError} with GenStage's message. */
export function validateDemand(options: KeywordList): DemandSettings {
  const rawMax = keyword(options, A_MAX);
  const max = rawMax === undefined ? 1000 : integer(rawMax);
  if (max === undefined) throw new StageOptionsError(`expected :max_demand to be an integer, got: ${show(rawMax)}`);
  if (max < 1) throw new StageOptionsError(`expected :max_demand to be equal to or greater than 1, got: ${max}`);
  const rawMin = keyword(options, A_MIN);
  const min = rawMin === undefined ? Math.floor(max / 2) : integer(rawMin);
  if (min === undefined) throw new StageOptionsError(`expected :min_demand to be an integer, got: ${show(rawMin)}`);
  if (min < 0) throw new StageOptionsError(`expected :min_demand to be equal to or greater than 0, got: ${min}`);
  if (min > max - 1) throw new StageOptionsError(`expected :min_demand to be equal to or less than ${max - 1}, got: ${min}`);
  const rawCancel = keyword(options, A_CANCEL);
  let cancel: CancelMode = 'permanent';
  if (rawCancel !== undefined) {
    const name = rawCancel instanceof Atom ? rawCancel.name : undefined;
    if (name !== 'permanent' && name !== 'transient' && name !== 'temporary')
      throw new StageOptionsError(`expected :cancel to be one of [:temporary, :transient, :permanent], got: ${show(rawCancel)}`);
    cancel = name;
  }
  return { max, min, cancel };
}

/** GenStage's producer-side buffer validation. */
export function validateBufferSize(v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (v === Infinity) return v;
  if (!Number.isSafeInteger(v)) throw new StageOptionsError(`expected :buffer_size to be an integer, got: ${String(v)}`);
  if (v < 0) throw new StageOptionsError(`expected :buffer_size to be equal to or greater than 0, got: ${v}`);
  return v;
}
