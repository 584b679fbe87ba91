/**
 * TCP: a listener whose connections are served by a pool of restartable
 * handler processes, with framing and backpressure (ergo's gen.TCP).
 *
 * @example
 * ```ts
 * const tcp = await startTcp(node, { framing: 'line', handler: echo, args: undefined });
 * ```
 * @module
 */
export { StartedTcp, startTcp, type TcpSpec, type TcpSpecBase, type TcpStartOptions, type TcpState } from './listener.js';
export { type TcpData, type TcpHandler, unconsumed, Unconsumed } from './handler.js';
export { TcpConnection } from './connection.js';
export { type Framing, Framer, FramingError, framePacket, type TextEncoding, type TextLineFraming } from './framing.js';
export { tcpChild } from './child.js';
