/**
 * UDP: a socket owner whose datagrams are handled by a pool of restartable
 * handler processes that can reply to the sender (ergo's gen.UDP).
 *
 * @example
 * ```ts
 * const udp = await startUdp(node, { handler: echo, args: undefined });
 * ```
 * @module
 */
export { StartedUdp, startUdp, type UdpSpec, type UdpStartOptions, type UdpState } from './socket.js';
export { type UdpHandler, UdpPacket } from './handler.js';
export { udpChild } from './child.js';
