/**
 * The saga wire protocol: every message two sagas (or a saga and its
 * workers) exchange, as Erlang terms, with constructors and a parser. The
 * shapes are documented in docs/saga-protocol.md so an Erlang or Elixir
 * process can take part.
 *
 * Between sagas, every message is `{Tag, From, Body}` where `From` is
 * `{Pid, Name}` (`Name` is the sender's registered name or `undefined`) and
 * `Tag` one of `'$saga_next'`, `'$saga_result'`, `'$saga_interim'`,
 * `'$saga_cancel'`, `'$saga_prepare'`, `'$saga_vote'`, `'$saga_decision'`,
 * `'$saga_ack'`, `'$saga_query'`.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';

export const A_NEXT = atom('$saga_next');
export const A_RESULT = atom('$saga_result');
export const A_INTERIM = atom('$saga_interim');
export const A_CANCEL = atom('$saga_cancel');
export const A_PREPARE = atom('$saga_prepare');
export const A_VOTE = atom('$saga_vote');
export const A_DECISION = atom('$saga_decision');
export const A_ACK = atom('$saga_ack');
export const A_QUERY = atom('$saga_query');
/** Worker to saga: `{'$saga_job_result' | '$saga_job_interim' | '$saga_job_vote', JobRef, Term}`. */
export const A_JOB_RESULT = atom('$saga_job_result');
export const A_JOB_INTERIM = atom('$saga_job_interim');
export const A_JOB_VOTE = atom('$saga_job_vote');
/** Saga to worker: `{'$saga_job_cancel', JobRef, Reason}`, `{'$saga_job_prepare', JobRef, TimeoutMs}`, `{'$saga_job_commit', JobRef, Final}`. */
export const A_JOB_CANCEL = atom('$saga_job_cancel');
export const A_JOB_PREPARE = atom('$saga_job_prepare');
export const A_JOB_COMMIT = atom('$saga_job_commit');

export const A_YES = atom('yes');
export const A_NO = atom('no');
export const A_COMMIT = atom('commit');
export const A_INFINITY = atom('infinity');
export const A_UNDEFINED = undefined;

/** Who sent a saga message: its pid and registered name (for addressing it after a restart). */
export interface Peer {
  readonly pid: Pid;
  readonly name: Atom | undefined;
}

/** A saga message, parsed. */
export type SagaMessage =
  | { readonly tag: 'next'; readonly from: Peer; readonly next: Ref; readonly tx: Ref; readonly value: unknown; readonly options: WireTxOptions }
  | { readonly tag: 'result' | 'interim'; readonly from: Peer; readonly tx: Ref; readonly next: Ref; readonly value: unknown }
  | { readonly tag: 'cancel'; readonly from: Peer; readonly tx: Ref; readonly next: Ref; readonly reason: unknown }
  | { readonly tag: 'prepare'; readonly from: Peer; readonly tx: Ref; readonly next: Ref; readonly timeout: number }
  | { readonly tag: 'vote'; readonly from: Peer; readonly tx: Ref; readonly next: Ref; readonly yes: boolean; readonly reason: unknown }
  | { readonly tag: 'decision'; readonly from: Peer; readonly tx: Ref; readonly next: Ref; readonly final: unknown }
  | { readonly tag: 'ack' | 'query'; readonly from: Peer; readonly tx: Ref; readonly next: Ref };

/** Transaction options as they travel in `'$saga_next'`: a map with atom keys. */
export interface WireTxOptions {
  /** Remaining lifespan in ms, or `infinity`. */
  readonly lifespan: number | Atom;
  readonly two_phase_commit: boolean;
  readonly hop_limit: number;
  /** Hops so far (the origin is hop 0). */
  readonly hops: number;
}

/** `{Pid, Name}` of a sender. */
export function peerTerm(pid: Pid, name: Atom | undefined): Tuple {
  return tuple(pid, name);
}

/** Builds `{Tag, From, {A, B, C}}` (or a 2-element body when `c` is omitted). */
export function sagaMessage(tag: Atom, from: Tuple, ...body: unknown[]): Tuple {
  return tuple(tag, from, new Tuple(body));
}

function parsePeer(t: unknown): Peer | undefined {
  if (!(t instanceof Tuple) || t.elements.length !== 2) return undefined;
  const [pid, name] = t.elements;
  if (!(pid instanceof Pid)) return undefined;
  if (name !== undefined && !(name instanceof Atom)) return undefined;
  return { pid, name: name as Atom | undefined };
}

function isWireOptions(o: unknown): o is WireTxOptions {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  const lifespan = r['lifespan'];
  return (
    (lifespan === A_INFINITY || (typeof lifespan === 'number' && lifespan > 0)) &&
    typeof r['two_phase_commit'] === 'boolean' &&
    typeof r['hop_limit'] === 'number' &&
    typeof r['hops'] === 'number'
  );
}

const TAGS = new Map<Atom, SagaMessage['tag']>([
  [A_NEXT, 'next'],
  [A_RESULT, 'result'],
  [A_INTERIM, 'interim'],
  [A_CANCEL, 'cancel'],
  [A_PREPARE, 'prepare'],
  [A_VOTE, 'vote'],
  [A_DECISION, 'decision'],
  [A_ACK, 'ack'],
  [A_QUERY, 'query'],
]);

/** Whether `message` claims to be a saga message (its first element is a saga tag). */
export function isSagaTag(message: unknown): boolean {
  return message instanceof Tuple && message.elements.length === 3 && TAGS.has(message.elements[0] as Atom);
}

/**
 * Parses a saga message; undefined when it is not one or is malformed
 * (the caller logs and drops it: bad input never crashes the saga).
 */
export function parseSagaMessage(message: unknown): SagaMessage | undefined {
  if (!(message instanceof Tuple) || message.elements.length !== 3) return undefined;
  const tag = TAGS.get(message.elements[0] as Atom);
  if (tag === undefined) return undefined;
  const from = parsePeer(message.elements[1]);
  const body = message.elements[2];
  if (from === undefined || !(body instanceof Tuple)) return undefined;
  const b = body.elements;
  if (tag === 'next') {
    if (b.length !== 4 || !(b[0] instanceof Ref) || !(b[1] instanceof Ref) || !isWireOptions(b[3])) return undefined;
    return { tag, from, next: b[0], tx: b[1], value: b[2], options: b[3] };
  }
  const tx = b[0];
  const next = b[1];
  if (!(tx instanceof Ref) || !(next instanceof Ref)) return undefined;
  switch (tag) {
    case 'result':
    case 'interim':
      return b.length === 3 ? { tag, from, tx, next, value: b[2] } : undefined;
    case 'cancel':
      return b.length === 3 ? { tag, from, tx, next, reason: b[2] } : undefined;
    case 'prepare':
      return b.length === 3 && typeof b[2] === 'number' && b[2] >= 0 ? { tag, from, tx, next, timeout: b[2] } : undefined;
    case 'vote': {
      if (b.length !== 3) return undefined;
      const v = b[2];
      if (v === A_YES) return { tag, from, tx, next, yes: true, reason: undefined };
      if (v instanceof Tuple && v.elements.length === 2 && v.elements[0] === A_NO) return { tag, from, tx, next, yes: false, reason: v.elements[1] };
      return undefined;
    }
    case 'decision':
      return b.length === 4 && b[2] === A_COMMIT ? { tag, from, tx, next, final: b[3] } : undefined;
    case 'ack':
    case 'query':
      return b.length === 2 ? { tag, from, tx, next } : undefined;
  }
}

/** A map key for a reference: node, creation and words (refs of an earlier incarnation never collide). */
export function refKey(ref: Ref): string {
  return `${ref.node.name}/${ref.creation}/${ref.ids.join('.')}`;
}
