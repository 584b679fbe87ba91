/**
 * Using every core of a host: a local cluster of Beamline nodes, one process
 * or worker thread per core, joined by the Erlang distribution.
 * @module
 */
export { startLocalCluster, LocalCluster } from './local-cluster.js';
export type { LocalClusterOptions, ClusterStart, ClusterNodeContext, ClusterMember, ClusterNodeStats, ClusterEvent, MemberStats } from './local-cluster.js';
export { startSpreadPool, registerPoolWorker } from './spread-pool.js';
/** Your own `net.Server` (HTTP, TLS, plain) on a port the cluster shares, as the Web and TCP behaviors listen. */
export { listenServer, type ListenSpec } from '../core/listen.js';
export type { SpreadPoolSpec } from './spread-pool.js';
export { startSpreadConsumerSupervisor, registerConsumerChild } from './spread-consumer-supervisor.js';
export type { SpreadConsumerSupervisorSpec, ConsumerChildStart } from './spread-consumer-supervisor.js';
