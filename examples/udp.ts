// Run: npx tsc -p . && node build/examples/udp.js
/**
 * Example: a UDP socket owner with a pool of 2 handlers; a `dgram` client
 * sends one datagram and gets the reply.
 * @module
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Node, ok, startUdp, stopServer, type UdpHandler } from '../src/index.js';

const upper: UdpHandler<undefined> = {
  init: () => ok(undefined),
  async handlePacket(packet, s) {
    await packet.reply(packet.data.toString().toUpperCase());
    return s;
  },
};

const node = new Node({ name: 'udp_example@127.0.0.1' });
const udp = await startUdp(node, { port: 0, handler: upper, args: undefined, poolSize: 2 });
const client = createSocket('udp4');
client.send('hello over udp', udp.port, '127.0.0.1');
const [msg] = (await once(client, 'message')) as [Buffer];
console.log(msg.toString()); // HELLO OVER UDP
client.close();
await stopServer(node, udp);
await node.stop();
