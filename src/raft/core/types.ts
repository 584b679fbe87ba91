/**
 * The data types of the Raft core: log entries, cluster configurations,
 * snapshots, the persistent hard state, the messages peers exchange and the
 * `Ready` batch the core hands its driver after each step.
 * @module
 */

/** A peer's identity inside the core (the behavior maps it to a `{name, node}` address). */
export type PeerId = string;

/** The voting members and the non-voting learners of a cluster. */
export interface ClusterConfig {
  readonly voters: readonly PeerId[];
  readonly learners: readonly PeerId[];
}

/**
 * A client's request id: entries with the same `(client, seq)` are applied
 * once. `ack` is the lowest seq the client still waits for (default `seq`):
 * the state machine may forget results below it.
 */
export interface RequestId {
  readonly client: string;
  readonly seq: number;
  readonly ack?: number;
}

/** One log entry. `noop` is a new leader's first entry; `config` carries a membership change. */
export type Entry<C> =
  | { readonly kind: 'command'; readonly term: number; readonly index: number; readonly command: C; readonly request?: RequestId }
  | { readonly kind: 'noop'; readonly term: number; readonly index: number }
  | { readonly kind: 'config'; readonly term: number; readonly index: number; readonly config: ClusterConfig };

/** The user's state machine image at `index` (whose entry had `term`), with the membership then. */
export interface Snapshot<S> {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
  readonly data: S;
}

/** What must survive a crash besides the log: the current term, the vote cast in it, the commit index. */
export interface HardState {
  readonly term: number;
  readonly vote: PeerId | null;
  readonly commit: number;
}

/** Messages between peers. Every message carries the sender's term. */
export type Message<C, S> =
  | { readonly type: 'vote'; readonly from: PeerId; readonly to: PeerId; readonly term: number; readonly pre: boolean; readonly lastIndex: number; readonly lastTerm: number; readonly transfer: boolean }
  | { readonly type: 'voteResp'; readonly from: PeerId; readonly to: PeerId; readonly term: number; readonly pre: boolean; readonly granted: boolean }
  | {
      readonly type: 'append';
      readonly from: PeerId;
      readonly to: PeerId;
      readonly term: number;
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry<C>[];
      readonly commit: number;
      /** The leader's heartbeat round, echoed back; ReadIndex counts acknowledgements of rounds. */
      readonly round: number;
    }
  | {
      readonly type: 'appendResp';
      readonly from: PeerId;
      readonly to: PeerId;
      readonly term: number;
      readonly success: boolean;
      /** On success the highest index known to match the leader; on rejection the rejected prevIndex. */
      readonly index: number;
      /** On rejection the next index the leader should try. */
      readonly hint: number;
      readonly round: number;
    }
  | { readonly type: 'snapshot'; readonly from: PeerId; readonly to: PeerId; readonly term: number; readonly snapshot: Snapshot<S>; readonly round: number }
  | { readonly type: 'timeoutNow'; readonly from: PeerId; readonly to: PeerId; readonly term: number }
  | { readonly type: 'readIndex'; readonly from: PeerId; readonly to: PeerId; readonly term: number; readonly ctx: string }
  | { readonly type: 'readIndexResp'; readonly from: PeerId; readonly to: PeerId; readonly term: number; readonly ctx: string; readonly index: number; readonly ok: boolean };

/** A linearizable read is safe once the state machine has applied `index`. */
export interface ReadState {
  readonly ctx: string;
  readonly index: number;
}

/** The role of a peer. */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/**
 * Everything one step produced. The driver must, in this order: persist
 * `hardState`, `snapshot` and `entries` (entries overwrite the log from
 * `entries[0].index`, dropping anything after), then send `messages`, then
 * load `restore` into the state machine and apply `committed`, and serve
 * `readStates` once the state machine has applied their index. Taking the
 * Ready hands it over: the core counts `committed` as applied.
 */
export interface Ready<C, S> {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry<C>[];
  /** A snapshot to persist (received from the leader, or taken by `compact`). */
  readonly snapshot: Snapshot<S> | null;
  /** A snapshot to load into the state machine before applying `committed`. */
  readonly restore: Snapshot<S> | null;
  /** The log was compacted up to and including this index (the store may drop older entries). */
  readonly compactedTo: number;
  readonly messages: readonly Message<C, S>[];
  readonly committed: readonly Entry<C>[];
  readonly readStates: readonly ReadState[];
  /** Reads refused: this peer lost leadership or knows no leader. */
  readonly failedReads: readonly string[];
}

/** The state a restarting peer reads back from its store. */
export interface PersistedState<C, S> {
  readonly hardState: HardState;
  readonly snapshot: Snapshot<S> | null;
  readonly entries: readonly Entry<C>[];
}
