/**
 * Stage: Elixir's GenStage for TypeScript (producers, consumers and
 * producer-consumers with back-pressure), wire-compatible with the real
 * library. See {@link startStage} and {@link StageBehavior}.
 * @module
 */
export * from './types.js';
export * from './results.js';
export { type StageTarget, type SubscribeOptions, type SubscribeTo, StageOptionsError, keyword } from './options.js';
export { type Dispatcher, type DispatcherContext, type DispatcherFactory, type DispatcherSpec, SubscriptionRefused } from './dispatcher.js';
export { demandDispatcher, type DemandDispatcherOptions } from './demand-dispatcher.js';
export { startStage, StartedStage } from './stage.js';
export * from './api.js';
export { broadcastDispatcher, remoteSelector, type BroadcastDispatcherOptions } from './broadcast-dispatcher.js';
export { partitionDispatcher, UnknownPartitionError, type PartitionDispatcherOptions } from './partition-dispatcher.js';
export { fromIterable, stageStream, StreamError, type FromIterableOptions, type StreamOptions } from './iterable.js';
export { startConsumerSupervisor, countConsumerChildren, type ConsumerSupervisorSpec, type ChildStarted } from './consumer-supervisor.js';
