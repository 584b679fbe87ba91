/**
 * Observer views: the JSON shapes the observer serves and pushes, the same
 * for the local node, another Beamline node and an Erlang node.
 * @module
 */

/** What kind of node a view describes. */
export type NodeKind = 'beamline' | 'erlang';

/** The node overview. Times in ms, sizes in bytes. */
export interface OverviewView {
  readonly node: string;
  readonly kind: NodeKind;
  /** Erlang: the OTP release; Beamline: the Node.js version. */
  readonly runtime: string;
  readonly uptimeMs: number;
  readonly processes: number;
  /** Beamline: the Node.js process's `rss`, `heapUsed`, `heapTotal`, `external`; Erlang: `erlang:memory()`. */
  readonly memory: Readonly<Record<string, number>>;
  /** Event-loop delay (mean, p99, max over the last sampling window) and utilization (0..1); undefined for Erlang nodes. */
  readonly eventLoop: { readonly meanMs: number; readonly p99Ms: number; readonly maxMs: number; readonly utilization: number } | undefined;
  /** Messages delivered since start and per second over the last window (Beamline); undefined for Erlang nodes. */
  readonly messages: { readonly total: number; readonly perSecond: number } | undefined;
  /** Erlang: total reductions; Beamline: messages handled by live processes is per process, so undefined. */
  readonly reductions: number | undefined;
  readonly connectedNodes: readonly string[];
}

/** One row of the process table. */
export interface ProcessRow {
  /** `<0.42.0>` (relative to the viewed node). */
  readonly pid: string;
  readonly name: string;
  readonly behavior: string;
  readonly status: string;
  readonly mailbox: number;
  readonly reductions: number;
  readonly memory: number;
  readonly links: number;
}

/** The process table columns that sort. */
export const SORT_KEYS = ['pid', 'name', 'behavior', 'status', 'mailbox', 'reductions', 'memory'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** A page of the process table. */
export interface ProcessQuery {
  readonly sort: SortKey;
  readonly dir: 'asc' | 'desc';
  /** Case-insensitive substring of pid, name or behavior; empty: all. */
  readonly filter: string;
  readonly offset: number;
  readonly limit: number;
}

/** What a process table query answers. */
export interface ProcessPage {
  /** Processes on the node. */
  readonly all: number;
  /** Processes that pass the filter. */
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly rows: readonly ProcessRow[];
}

/** A traced message. */
export interface TracedMessage {
  readonly at: number;
  readonly message: string;
}

/** The process page. */
export interface ProcessView extends ProcessRow {
  readonly trapExit: boolean | undefined;
  readonly hibernated: boolean | undefined;
  readonly links_: readonly string[];
  readonly monitors: readonly string[];
  readonly monitoredBy: readonly string[];
  readonly parent: string | undefined;
  /** Erlang: `current_function`; Beamline: undefined. */
  readonly currentFunction: string | undefined;
  /** The server's state as text, when the process is a Server that answered `getServerState`. */
  readonly state: string | undefined;
  /** Tracing of its messages: until when (epoch ms; 0 when off) and the recent messages. */
  readonly trace: { readonly until: number; readonly messages: readonly TracedMessage[] };
}

/** A supervision tree node. */
export interface TreeNode {
  readonly id: string;
  /** The pid, or `restarting` / `undefined`. */
  readonly pid: string;
  readonly type: 'worker' | 'supervisor';
  readonly children?: readonly TreeNode[];
}

/** A running application and its supervision tree. */
export interface ApplicationView {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly tree: TreeNode | undefined;
}

/** One distribution connection. */
export interface ConnectionView {
  readonly node: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly tls: boolean;
}

/** The distribution view. */
export interface DistributionView {
  readonly node: string;
  readonly distributed: boolean;
  readonly listenPort: number | undefined;
  readonly epmd: { readonly port: number | undefined; readonly embedded: boolean; readonly names: readonly { readonly name: string; readonly port: number }[]; readonly error?: string };
  readonly connections: readonly ConnectionView[];
}
