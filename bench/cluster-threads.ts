/**
 * The in-host transport that the shared-memory rings replaced, measured
 * beside them: nodes as worker threads whose distribution runs over
 * MessagePorts wrapped as a stream. Two Beamline nodes, each in its own worker
 * thread, running bench/cores-node.ts (an `echo` server and the `bench` rpc
 * module); their connection is a {@link PortSocket}: a Duplex over a
 * MessagePort whose writes move each batch of frames as one transferred
 * ArrayBuffer (one copy out of the distribution's batch, no clone on the way).
 * The same handshake, frames and control messages as over a socket.
 *
 * `bench/cores.ts` measures it beside the rings and the process-based
 * in-host transport (`inhost_call`, row `threads (messageport)`):
 * sequential calls node 0 → node 1 and the CPU both nodes spent on them.
 * @module
 */
import { Duplex } from 'node:stream';
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type { Socket } from 'node:net';
import { setInHostTransport, type InHostTransport } from '../src/distribution/transport.js';
import { startNode } from '../src/distribution/index.js';
import type { Node } from '../src/core/node.js';

/** A byte stream over a MessagePort, shaped as the `net.Socket` the distribution reads and writes. */
class PortSocket extends Duplex {
  bytesRead = 0;
  bytesWritten = 0;
  constructor(private readonly port: MessagePort) {
    super({ allowHalfOpen: false });
    port.on('message', (ab: ArrayBuffer | null) => {
      if (ab === null) {
        this.push(null);
        return;
      }
      this.bytesRead += ab.byteLength;
      this.push(Buffer.from(ab));
    });
    port.on('close', () => this.destroy());
  }
  override _read(): void {}
  private post(chunks: readonly Buffer[], total: number): void {
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.bytesWritten += total;
    this.port.postMessage(out.buffer, [out.buffer]);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.post([chunk], chunk.length);
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    this.post(
      chunks.map((c) => c.chunk),
      total,
    );
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.port.postMessage(null);
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.port.close();
    cb(err);
  }
  setNoDelay(): this {
    return this;
  }
}

type ToSwitch = { type: 'listen'; tcpPort: number } | { type: 'connect'; tcpPort: number; port: MessagePort };
type FromSwitch = { type: 'known'; tcpPort: number } | { type: 'accept'; tcpPort: number; port: MessagePort };

/** In a node's thread: an {@link InHostTransport} whose connections are MessagePorts handed over by the main thread. */
function portTransport(): InHostTransport {
  const up = parentPort as MessagePort;
  const known = new Set<number>();
  const listeners = new Map<number, (s: Socket) => void>();
  up.on('message', (m: FromSwitch) => {
    if (m.type === 'known') known.add(m.tcpPort);
    else listeners.get(m.tcpPort)?.(new PortSocket(m.port) as unknown as Socket);
  });
  return {
    listen(tcpPort, onSocket) {
      listeners.set(tcpPort, onSocket);
      up.postMessage({ type: 'listen', tcpPort } satisfies ToSwitch);
      return Promise.resolve(() => {
        listeners.delete(tcpPort);
        return Promise.resolve();
      });
    },
    connect(host, tcpPort) {
      if (host !== '127.0.0.1' || !known.has(tcpPort)) return undefined;
      const { port1, port2 } = new MessageChannel();
      up.postMessage({ type: 'connect', tcpPort, port: port2 } satisfies ToSwitch, [port2]);
      return Promise.resolve(new PortSocket(port1) as unknown as Socket);
    },
  };
}

/** What the main thread gives each node thread. */
interface ThreadConfig {
  readonly name: string;
  readonly cookie: string;
  readonly epmdPort: number;
  readonly start: string;
  readonly peers: readonly string[];
}

/** Two (or more) nodes in worker threads of this process, joined over MessagePorts; `stop` ends them. */
export interface ThreadNodes {
  readonly names: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts one node per name, each in a worker thread running `start` (a module
 * exporting a cores-node style start function), connected to each other over
 * MessagePorts; resolves once every node has run its start function.
 */
export async function startThreadNodes(names: readonly string[], cookie: string, epmdPort: number, start: URL): Promise<ThreadNodes> {
  const portOwner = new Map<number, Worker>();
  const workers = names.map(
    (name) => new Worker(new URL(import.meta.url), { workerData: { name, cookie, epmdPort, start: start.href, peers: names.filter((n) => n !== name) } satisfies ThreadConfig }),
  );
  const ready = workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        w.on('message', (m: ToSwitch | 'ready') => {
          if (m === 'ready') return resolve();
          if (m.type === 'listen') {
            portOwner.set(m.tcpPort, w);
            for (const x of workers) x.postMessage({ type: 'known', tcpPort: m.tcpPort } satisfies FromSwitch);
          } else portOwner.get(m.tcpPort)?.postMessage({ type: 'accept', tcpPort: m.tcpPort, port: m.port } satisfies FromSwitch, [m.port]);
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`a node thread exited (code ${code}) before it started`)));
      }),
  );
  await Promise.all(ready);
  return {
    names,
    stop: async () => {
      for (const w of workers) w.postMessage('stop');
      await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    },
  };
}

async function threadMain(config: ThreadConfig): Promise<void> {
  setInHostTransport(portTransport());
  const node: Node = await startNode({ name: config.name, cookie: config.cookie, epmdPort: config.epmdPort, embeddedEpmd: false, node: { logger: () => {} } });
  const mod = (await import(config.start)) as { start: (node: Node, context: { index: number; size: number; base: string; peers: readonly string[]; args: unknown }) => Promise<void> };
  // Each node's Web gateway on a port of its own (threads cannot share one).
  await mod.start(node, { index: 0, size: config.peers.length + 1, base: '', peers: config.peers, args: { webPort: 0 } });
  const up = parentPort as MessagePort;
  up.on('message', (m: unknown) => {
    if (m === 'stop') void node.stop().finally(() => process.exit(0));
  });
  up.postMessage('ready');
}

if (!isMainThread && (workerData as Partial<ThreadConfig> | undefined)?.start !== undefined) await threadMain(workerData as ThreadConfig);
