/**
 * Standard Schema types for the Web layer: they live in core (servers
 * validate messages with them too); re-exported here for the Web's imports.
 * @module
 */
export * from '../core/standard-schema.js';
