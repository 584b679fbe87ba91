/**
 * The node runtime: nodes, processes, messages, links, monitors and calls.
 * @module
 */
export { Node, type NodeOptions, type SpawnOptions, type TimerHandle } from './node.js';
export { Process, type ProcessHandler, type ProcessInfo, type ProcessStatus, type From } from './process.js';
export {
  type Address,
  type AnyProtocol,
  type CallOptions,
  type CallRequest,
  type CastOf,
  type Destination,
  type InfoOf,
  type Protocol,
  type RemoteName,
  type ReplyMark,
  type ReplyOf,
  type ReplyTo,
  type RequestOf,
  type SharedReplyOf,
  ServerRef,
  serverRef,
} from './protocol.js';
export type { AliasOptions } from './registry.js';
export type { IssueJson, StandardSchemaIssue, StandardSchemaOutput, StandardSchemaPathSegment, StandardSchemaResult, StandardSchemaV1 } from './standard-schema.js';
export * from './errors.js';
export {
  type ExitReason,
  formatReason,
  isCleanExit,
  kill,
  killed,
  noconnection,
  noproc,
  normal,
  shutdown,
  shutdownWith,
} from './reasons.js';
export type { Distribution, RemoteSignals } from './distribution.js';
export {
  lineLogger,
  type LineLoggerOptions,
  type LogBindings,
  type LogFunction,
  type Logger,
  type LogLevel,
  type LogMethod,
  type NodeLogger,
} from './logger.js';
export {
  type CallEvent,
  diagnosticChannels,
  type ConnectionEvent,
  type ExitEvent,
  type RestartEvent,
  type SpawnEvent,
} from './diagnostics.js';
export { stopOnSignals, type StopOnSignalsOptions } from './stop-on-signals.js';
