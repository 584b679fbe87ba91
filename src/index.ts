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
export * from './distribution/index.js';
export * from './raft/index.js';
