// Run: npx tsc -p . && node build/examples/tcp.js
/**
 * Example: a TCP line-echo listener with a pool of 2 handlers; a `net`
 * client sends one line and reads it back. The lines come to the handler as
 * strings (text line framing, decoded as UTF-8); `framing: 'line'` would
 * give them as Buffers, to a `TcpHandler<undefined>`.
 * @module
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { Node, ok, startTcp, stopServer, type TcpHandler } from '../src/index.js';

const echo: TcpHandler<undefined, undefined, string> = {
  init: () => ok(undefined),
  handleConnect: (conn, s) => (console.log('connected', conn.remoteAddress), s),
  async handleData(conn, line, s) {
    if (!conn.send(`echo: ${line}`)) await conn.drain();
    return s;
  },
  handleDisconnect: (conn, s) => (console.log('disconnected', conn.id), s),
};

const node = new Node({ name: 'tcp_example@127.0.0.1' });
const tcp = await startTcp(node, { port: 0, framing: { type: 'line', encoding: 'utf8' }, handler: echo, args: undefined, poolSize: 2, idleTimeout: 10_000 });
const socket = connect(tcp.port, '127.0.0.1');
socket.write('hello\n');
const [reply] = (await once(socket, 'data')) as [Buffer];
console.log(reply.toString().trim()); // echo: hello
socket.end();
await once(socket, 'close');
await stopServer(node, tcp);
await node.stop();
