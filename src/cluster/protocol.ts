/**
 * The messages between a local cluster's primary and its member nodes, over
 * node:cluster's IPC channel (the `advanced` serialization: structured clone)
 * or a worker thread's port. Internal to `src/cluster`.
 * @module
 */
import type { FromRingNode, ToRingNode } from './ring-transport.js';

/** How a member reaches the other nodes of its cluster without TCP. */
export type InHostConfig =
  /** Unix domain sockets in `dir` (nodes that are processes). */
  | { readonly kind: 'unix'; readonly dir: string }
  /** Shared-memory rings of `ringBytes` each way, polled for up to `maxSpinUs` when idle (nodes that are threads). */
  | { readonly kind: 'ring'; readonly ringBytes: number; readonly maxSpinUs: number };

/** What the primary tells a member at start: in the `BEAMLINE_CLUSTER_MEMBER` environment variable (JSON) of a process, in the `workerData` of a thread. */
export interface MemberConfig {
  readonly name: string;
  readonly cookie: string;
  readonly epmdPort: number;
  readonly index: number;
  readonly size: number;
  readonly base: string;
  /** `file:` URL of the module that exports the start function. */
  readonly module: string;
  readonly exportName: string;
  /** JSON-safe argument for the start function. */
  readonly args: unknown;
  /** Distribution's `net_ticktime` in ms. */
  readonly netTickTime: number;
  /** The in-host transport; undefined: nodes connect over TCP. */
  readonly inHost: InHostConfig | undefined;
}

/** Primary → member. */
export type ToMember =
  /** Connect to `peers`; at the first start each pair is connected from one side only (no simultaneous connects). */
  | { readonly type: 'connect'; readonly peers: readonly string[]; readonly initiateAll: boolean }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop' }
  /** The answer to a `listen`: the port's key and address, or why it cannot listen. */
  | { readonly type: 'listened'; readonly id: number; readonly key: string; readonly address: SharedAddress; readonly error?: undefined }
  | { readonly type: 'listened'; readonly id: number; readonly error: { readonly code: string; readonly message: string } }
  /** A connection of shared port `key` (its socket handle sent beside): answer `conn-ack` with `seq`. */
  | { readonly type: 'conn'; readonly key: string; readonly seq: number }
  | ToRingNode;

/** The address of a shared port, as `net.Server.address()` gives it. */
export interface SharedAddress {
  readonly address: string;
  readonly family: string;
  readonly port: number;
}

/** Member → primary. */
export type FromMember =
  | { readonly type: 'registered'; readonly creation: number }
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: MemberStats }
  /** A server of the member asks to serve `host:port`, shared by the cluster; on port 0, as the member's `index`-th server there (the n-th of every member share one port). */
  | { readonly type: 'listen'; readonly id: number; readonly host: string; readonly port: number; readonly index: number }
  /** The member's server of shared port `key` closed: hand it no more connections. */
  | { readonly type: 'unlisten'; readonly key: string }
  /** The member took (or, its server closed, gave back) the connection `seq`. */
  | { readonly type: 'conn-ack'; readonly seq: number; readonly accepted: boolean }
  /** A connection the member took from shared port `key` ended. */
  | { readonly type: 'conn-closed'; readonly key: string }
  | FromRingNode;

/** What a member says about itself (see `LocalCluster.stats`). */
export interface MemberStats {
  readonly processes: number;
  /** Messages waiting in the mailboxes of all its processes. */
  readonly queuedMessages: number;
  /** Event-loop utilization (0..1) since the previous stats call (since start for the first). */
  readonly eventLoopUtilization: number;
  /** Its thread id (`worker_threads.threadId`): 0 for a node that is a process. */
  readonly threadId: number;
  /** CPU time its thread (a node that is a thread) or process has used since it started, in ms. */
  readonly cpuMs: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** Nodes it is connected to. */
  readonly connectedNodes: readonly string[];
  /** Messages delivered to its processes' mailboxes since it started (signals that became messages included). */
  readonly messagesDelivered: number;
  /** Messages delivered per second since the previous stats call (since start for the first). */
  readonly messagesPerSecond: number;
  /** Distribution messages (frames) received over its open connections, from any node. */
  readonly distMessagesIn: number;
  /** Distribution messages (frames) sent over its open connections. */
  readonly distMessagesOut: number;
  /** Distribution connections it made over the in-host transport (Unix sockets or shared-memory rings, not TCP). */
  readonly inHostConnects: number;
}

export const MEMBER_ENV = 'BEAMLINE_CLUSTER_MEMBER';
