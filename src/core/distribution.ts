/**
 * The one interface through which distribution plugs into the runtime.
 *
 * The runtime calls a {@link Distribution} whenever a signal leaves for a
 * process on another node; the distribution layer calls the node's
 * {@link RemoteSignals} methods (`node.remote`) when a signal arrives. The
 * runtime never sees sockets, frames or the term codec.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import type { ExitReason } from './reasons.js';

/** Outgoing signals, called by the runtime for processes on other nodes. Every method must not throw. */
export interface Distribution {
  /** Message to a remote pid (`from` is the sender when known: SEND_SENDER). */
  send(from: Pid | undefined, to: Pid, message: unknown): void;
  /** Message to a name registered on `node` (REG_SEND). */
  sendToName(from: Pid, name: Atom, node: Atom, message: unknown): void;
  /** Message to an alias created on another node (ALTACT_SIG_SEND, or ALIAS_SEND before OTP 28); `priority`: an EEP 76 priority send. */
  sendToAlias(from: Pid, alias: Ref, message: unknown, priority?: boolean): void;
  /** Create a link from local `from` to remote `to`. */
  link(from: Pid, to: Pid): void;
  /** Remove the link (UNLINK_ID). */
  unlink(from: Pid, to: Pid): void;
  /** A linked local process exited: the exit signal travels along the link. */
  exitLink(from: Pid, to: Pid, reason: ExitReason): void;
  /** `exit(To, Reason)` from a local process to a remote one (EXIT2). */
  exit2(from: Pid, to: Pid, reason: ExitReason): void;
  /** Monitor a remote pid or a name on a remote node. */
  monitor(from: Pid, target: Pid | Atom, node: Atom, ref: Ref): void;
  /** Remove a monitor set with {@link Distribution.monitor}. */
  demonitor(from: Pid, target: Pid | Atom, node: Atom, ref: Ref): void;
  /** A local process that a remote process monitored has exited (MONITOR_P_EXIT). `target` is the pid or the name it was monitored by. */
  monitorExit(target: Pid | Atom, watcher: Pid, ref: Ref, reason: ExitReason): void;
  /**
   * Make sure a connection to `node` exists or is being set up, for a node
   * monitor. Returns false when the node cannot be reached at all, so the
   * runtime delivers `nodedown` at once.
   */
  ensureConnected(node: Atom): boolean;
  /** Names of the connected nodes. */
  connectedNodes(): Atom[];
  /** Close every connection; called when the node stops. */
  stop(): Promise<void>;
}

/**
 * Incoming signals: the distribution layer calls these on `node.remote` when a
 * control message arrives. They apply Erlang's semantics to local processes
 * and answer through {@link Distribution} where Erlang answers (for example,
 * a monitor of an unknown name gets `noproc` at once).
 */
export interface RemoteSignals {
  /** SEND / SEND_SENDER: deliver to a local pid, or drop. */
  send(to: Pid, message: unknown): void;
  /** REG_SEND: deliver to a local registered name, or drop. Returns false when no such name. */
  sendToName(from: Pid, name: Atom, message: unknown): boolean;
  /** ALIAS_SEND / ALTACT_SIG_SEND: deliver to the local process (or call) that owns the alias, or drop; `priority` as sent (EEP 76). */
  sendToAlias(alias: Ref, message: unknown, priority?: boolean): void;
  /**
   * ALIAS_SEND / ALTACT_SIG_SEND of a call reply `{[alias | Alias], Reply}`
   * to `alias` itself, read without building its tag: the same as
   * `sendToAlias(alias, {[alias | alias], reply})` (the waiting call gets
   * `reply`; a process that owns the alias gets the whole message).
   */
  replyToAlias(alias: Ref, reply: unknown): void;
  /** ALTACT_SIG_SEND with EXIT: `exit(To, Reason)` to a local alias or registered name; dropped when it names nothing. */
  exitVia(from: Pid, to: Ref | Atom, reason: ExitReason): void;
  /** LINK from a remote pid to a local one; answers `noproc` through exitLink when the local one is dead. */
  link(from: Pid, to: Pid): void;
  /** UNLINK_ID from a remote pid. */
  unlink(from: Pid, to: Pid): void;
  /** EXIT along a link. */
  exitLink(from: Pid, to: Pid, reason: ExitReason): void;
  /** EXIT2: `exit(To, Reason)` sent by a remote process. */
  exit2(from: Pid, to: Pid, reason: ExitReason): void;
  /** MONITOR_P from a remote watcher on a local pid or name. */
  monitor(watcher: Pid, target: Pid | Atom, ref: Ref): void;
  /** DEMONITOR_P. */
  demonitor(watcher: Pid, target: Pid | Atom, ref: Ref): void;
  /** MONITOR_P_EXIT: a remote process that a local process monitors has exited. */
  monitorExit(target: Pid | Atom, watcher: Pid, ref: Ref, reason: ExitReason): void;
  /** The connection to `node` is up. */
  nodeUp(node: Atom): void;
  /** The connection to `node` is lost: links and monitors through it fire with `noconnection`, node monitors with `nodedown`. */
  /** The connection to `node` is gone; `cause` is the error behind it (EPMD, socket, handshake), given to calls that fail with `{nodedown, Node}`. */
  nodeDown(node: Atom, reason: ExitReason, cause?: Error): void;
}
