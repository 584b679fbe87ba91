/**
 * Raft: replicated state machines with ergo's Raft concepts on real
 * consensus. {@link startRaft} runs a peer, {@link RaftClient} appends and
 * reads; the deterministic core ({@link RaftCore}) and the stores are
 * exported for custom drivers.
 * @module
 */
export { Applied, applied, startRaft, type RaftBehavior, type RaftInit, type RaftQuorum, type RaftStartOptions, type RaftStatusReply, type RaftProtocol } from './server.js';
export { RaftClient, RaftRequestError, RaftTimeoutError, type RaftCallOptions, type RaftCaller } from './client.js';
export type { RaftPeer, RaftCommand, RaftSnapshotData, RaftFailure, RaftReply, RaftRequest } from './wire.js';
export { RaftCore, type RaftOptions, type RaftStatus, type ProposeResult, type ProposeRefusal } from './core/raft.js';
export { ConfigError, defaultVoterPolicy, quorum, type MembershipChange, type VoterPolicy } from './core/config.js';
export type { ClusterConfig, Entry, HardState, Message as RaftMessage, PeerId, PersistedState, ReadState, Ready, RequestId, Role, Snapshot } from './core/types.js';
export { Sessions, type SessionRecord } from './sessions.js';
export { FileStore, StoreCorruptError, type FileStoreOptions, type StoreCodec } from './storage/file-store.js';
export { MemoryStore } from './storage/memory-store.js';
export { persistBatch, type PersistBatch, type RaftStore } from './storage/store.js';
