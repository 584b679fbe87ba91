/**
 * Erlang distribution transport: EPMD client and embedded server, the
 * version 6 handshake, TCP/TLS sockets, and the framed connection (ticks,
 * liveness, fragments, atom cache headers). Terms are decoded by `etf`; the
 * runtime plugs in through `core/distribution`. Cluster membership: `global`
 * names, `pg` process groups, node events and `nodes()`/`nodes(hidden)`.
 * @module
 */
export { DistError, isDistError } from './errors.js';
export type { DistErrorCode } from './errors.js';
export { DFLAG, DEFAULT_FLAGS, MANDATORY_FLAGS, missingMandatory, hasFlag, flagNames, negotiateFlags } from './flags.js';
export type { DFlagName } from './flags.js';
export {
  initiateHandshake,
  acceptHandshake,
  genDigest,
  checkDigest,
  genChallenge,
  simultaneousStatus,
} from './handshake.js';
export type { HandshakeOptions, InitiateOptions, AcceptOptions, HandshakeResult, HandshakeStatus, PeerInfo } from './handshake.js';
export { AtomCacheReader, ATOM_CACHE_SIZE } from './atom-cache.js';
export type { DistHeader } from './atom-cache.js';
export {
  DistConnection,
  FrameDecoder,
  FrameParser,
  encodeMessageFrames,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_FRAGMENT_SIZE,
  DEFAULT_BATCH_BYTES,
} from './framing.js';
export type { DistFrame, DistConnectionOptions, DistLimits, FrameParserOptions, EncodeFramesOptions } from './framing.js';
export { connectTransport, listenTransport, loadTlsFiles, createSelfSignedCertificate } from './transport.js';
export type { ConnectOptions, ListenOptions, TransportServer, TlsCredentials } from './transport.js';
export * from './epmd/index.js';
export {
  startNode,
  distributionOf,
  exposeRpc,
  rpc,
  registerSpawnable,
  remoteSpawn,
  NodeDistribution,
  RpcError,
  RemoteSpawnError,
} from './node-dist.js';
export type { StartNodeOptions, DistTlsOptions, RemoteSpawnOptions, RpcOptions, SpawnableFactory } from './node-dist.js';
export { ErlangThrow, ErlangExit, RpcRegistry } from './rpc.js';
export type { RpcFunction, RpcModule, RpcOutcome } from './rpc.js';
export { OP as CONTROL_OP } from './control.js';
export { startPgScope, pgJoin, pgLeave, pgMembers, pgLocalMembers, pgWhichGroups, pgMonitor, pgMonitorScope, pgDemonitor, PgError, DEFAULT_PG_SCOPE } from './pg.js';
export type { PgSubscription } from './pg.js';
export {
  startGlobal,
  globalRegister,
  globalReRegister,
  globalServerRef,
  globalUnregister,
  globalWhereis,
  globalRegisteredNames,
  globalSync,
  globalSend,
  GlobalError,
  GLOBAL_PROTOCOL_VERSION,
  RANDOM_EXIT_NAME,
  RANDOM_NOTIFY_NAME,
  NOTIFY_ALL_NAME,
} from './global.js';
export { splitNodeName, nameDomainOf, connectProblem, ownNameProblem } from './node-names.js';
export type { NameDomain } from './node-names.js';
export { nodesOf } from './node-events.js';
export type { NodeEvent, NodeEventListener, NodeKind } from './node-events.js';
