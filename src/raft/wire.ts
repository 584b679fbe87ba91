/**
 * What the Raft behavior puts on the wire between peers and clients: peer
 * identities, the validated shape of incoming Raft messages, and the call
 * requests and replies of the client API. Messages travel as plain objects
 * (Erlang maps with atom keys across nodes).
 * @module
 */
import type { Entry, Message } from './core/types.js';
import type { SessionRecord } from './sessions.js';

/** A Raft peer: the registered name of its server process and its node. */
export interface RaftPeer {
  readonly name: string;
  readonly node: string;
}

/** An appended command: ergo's `Append(key, value)`. */
export interface RaftCommand<V> {
  readonly key: string;
  readonly value: V;
}

/** What a snapshot holds: the user's image and the session table for exactly-once appends. */
export interface RaftSnapshotData {
  readonly user: unknown;
  readonly sessions: readonly SessionRecord<unknown>[];
}

export type WireMessage<V> = Message<RaftCommand<V>, RaftSnapshotData>;

/** The core's id for a peer. */
export function peerId(p: RaftPeer): string {
  return `${p.name}|${p.node}`;
}

/** The peer behind a core id. */
export function peerOf(id: string): RaftPeer {
  const i = id.indexOf('|');
  return { name: id.slice(0, i), node: id.slice(i + 1) };
}

const types = new Set(['vote', 'voteResp', 'append', 'appendResp', 'snapshot', 'timeoutNow', 'readIndex', 'readIndexResp']);

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const int = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function validEntry(e: unknown): boolean {
  if (!isObj(e) || !int(e['term']) || !int(e['index'])) return false;
  switch (e['kind']) {
    case 'noop':
      return true;
    case 'config':
      return isObj(e['config']) && Array.isArray(e['config']['voters']) && Array.isArray(e['config']['learners']);
    case 'command':
      return isObj(e['command']) && typeof e['command']['key'] === 'string';
    default:
      return false;
  }
}

/** The message if `x` has the shape of a Raft message, else null (bad input is dropped, never crashes the server). */
export function parseWireMessage<V>(x: unknown): WireMessage<V> | null {
  if (!isObj(x) || typeof x['type'] !== 'string' || !types.has(x['type'])) return null;
  if (typeof x['from'] !== 'string' || typeof x['to'] !== 'string' || !int(x['term'])) return null;
  switch (x['type']) {
    case 'append':
      if (!int(x['prevIndex']) || !int(x['prevTerm']) || !int(x['commit']) || !int(x['round']) || !Array.isArray(x['entries'])) return null;
      if (!x['entries'].every(validEntry)) return null;
      for (let i = 0; i < x['entries'].length; i++) if ((x['entries'][i] as Entry<V>).index !== (x['prevIndex'] as number) + 1 + i) return null;
      break;
    case 'appendResp':
      if (typeof x['success'] !== 'boolean' || !int(x['index']) || !int(x['hint']) || !int(x['round'])) return null;
      break;
    case 'vote':
      if (typeof x['pre'] !== 'boolean' || !int(x['lastIndex']) || !int(x['lastTerm']) || typeof x['transfer'] !== 'boolean') return null;
      break;
    case 'voteResp':
      if (typeof x['pre'] !== 'boolean' || typeof x['granted'] !== 'boolean') return null;
      break;
    case 'snapshot': {
      const s = x['snapshot'];
      if (!int(x['round']) || !isObj(s) || !int(s['index']) || !int(s['term']) || !isObj(s['config']) || !isObj(s['data'])) return null;
      if (!Array.isArray(s['data']['sessions'])) return null;
      break;
    }
    case 'readIndex':
      if (typeof x['ctx'] !== 'string') return null;
      break;
    case 'readIndexResp':
      if (typeof x['ctx'] !== 'string' || !int(x['index']) || typeof x['ok'] !== 'boolean') return null;
      break;
  }
  return x as unknown as WireMessage<V>;
}

/** Requests the client API sends to a Raft server. */
export type RaftRequest<V, Q> =
  | { readonly op: 'append'; readonly key: string; readonly value: V; readonly client: string; readonly seq: number; readonly ack: number; readonly timeout: number }
  | { readonly op: 'read'; readonly query: Q; readonly timeout: number }
  | { readonly op: 'change'; readonly change: 'addVoter' | 'addLearner' | 'remove'; readonly peer: RaftPeer; readonly timeout: number }
  | { readonly op: 'transfer'; readonly peer: RaftPeer }
  | { readonly op: 'status' };

/** Why a request failed at a server. */
export type RaftFailure = 'not_leader' | 'timeout' | 'bad_request' | 'refused';

/** A server's answer. */
export type RaftReply<R> =
  | { readonly ok: true; readonly serial: number; readonly value: R | null }
  | { readonly ok: false; readonly reason: RaftFailure; readonly leader: RaftPeer | null; readonly detail: string };
