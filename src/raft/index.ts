/**
 * Raft: replicated state machines with ergo's Raft concepts on real
 * consensus. {@link startRaft} runs a peer, {@link RaftClient} appends and
 * reads; the deterministic core ({@link RaftCore}) and the stores are
 * exported for custom drivers. Generic names carry a `Raft` prefix here.
 * @module
 */
export { Applied, applied, startRaft, type RaftBehavior, type RaftInit, type RaftQuorum, type RaftStartOptions, type RaftStatusReply, type RaftProtocol } from './server.js';
export { RaftClient, RaftRequestError, RaftTimeoutError, type RaftCallOptions, type RaftCaller } from './client.js';
export type { RaftPeer, RaftCommand, RaftSnapshotData, RaftFailure, RaftReply, RaftRequest } from './wire.js';
export { RaftCore, type RaftOptions, type RaftStatus, type ProposeResult as RaftProposeResult, type ProposeRefusal as RaftProposeRefusal } from './core/raft.js';
export {
  ConfigError as RaftConfigError,
  defaultVoterPolicy as raftDefaultVoterPolicy,
  quorum as raftQuorum,
  type MembershipChange as RaftMembershipChange,
  type VoterPolicy as RaftVoterPolicy,
} from './core/config.js';
export type {
  ClusterConfig as RaftClusterConfig,
  Entry as RaftEntry,
  HardState as RaftHardState,
  Message as RaftMessage,
  PeerId as RaftPeerId,
  PersistedState as RaftPersistedState,
  ReadState as RaftReadState,
  Ready as RaftReady,
  RequestId as RaftRequestId,
  Role as RaftRole,
  Snapshot as RaftSnapshot,
} from './core/types.js';
export { Sessions as RaftSessions, type SessionRecord as RaftSessionRecord } from './sessions.js';
export { FileStore as RaftFileStore, StoreCorruptError as RaftStoreCorruptError, type FileStoreOptions as RaftFileStoreOptions, type StoreCodec as RaftStoreCodec } from './storage/file-store.js';
export { MemoryStore as RaftMemoryStore } from './storage/memory-store.js';
export { persistBatch as raftPersistBatch, type PersistBatch as RaftPersistBatch, type RaftStore } from './storage/store.js';
