/**
 * Beamline: Erlang/OTP's processes, behaviors and distribution for TypeScript.
 * @module
 */
export * from './terms/index.js';
export * from './core/index.js';
export * from './server/index.js';
export * from './supervisor/index.js';
export * from './application/index.js';
export * from './pool/index.js';
export * from './web/index.js';
export * from './tcp/index.js';
export * from './udp/index.js';
// Values with no native JavaScript form (the README's value table); the codec
// itself is `beamline/etf`.
export { Float, float, Charlist, charlist, BitString, NativeRecord, ErlMap, ExportFun, Fun, registerType, structAtom } from './etf/index.js';
export type { TypeCodec, RegisteredType, Constructor } from './etf/index.js';
// Distribution as an application uses it; the wire layer (handshake, framing,
// flags, EPMD messages) is `beamline/distribution`.
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
  DistError,
  isDistError,
  ErlangThrow,
  ErlangExit,
  EpmdServer,
  ensureEpmd,
  createSelfSignedCertificate,
  loadTlsFiles,
  startPgScope,
  pgJoin,
  pgLeave,
  pgMembers,
  pgLocalMembers,
  pgWhichGroups,
  pgMonitor,
  pgMonitorScope,
  pgDemonitor,
  PgError,
  DEFAULT_PG_SCOPE,
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
  nodesOf,
} from './distribution/index.js';
export type {
  StartNodeOptions,
  DistTlsOptions,
  RemoteSpawnOptions,
  RpcOptions,
  SpawnableFactory,
  DistErrorCode,
  RpcFunction,
  RpcModule,
  RpcOutcome,
  EpmdHandle,
  EpmdServerOptions,
  TlsCredentials,
  PgSubscription,
  NodeEvent,
  NodeEventListener,
  NodeKind,
} from './distribution/index.js';
export * from './stage/index.js';
export * from './saga/index.js';
export * from './raft/index.js';
export * from './observer/index.js';
export * from './cluster/index.js';
