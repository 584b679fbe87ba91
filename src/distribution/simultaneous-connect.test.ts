/**
 * Simultaneous connects between two Beamline nodes, in every order the two
 * handshakes can interleave, each forced deterministically: each node
 * reaches the other through a {@link Gate}, a relay that holds each
 * direction of its connection until the test opens it (the nodes look each
 * other up in two separate EPMDs where the test registered the gates).
 *
 * In every order both nodes must end with exactly one working connection,
 * no `nodedown` seen by a process monitoring the other node, no down event,
 * the signals queued before the settlement delivered in order and a call
 * working both ways. Then the same with the handshakes racing freely, many
 * times with fresh names.
 *
 * Name order decides who wins (`net_kernel`): `lo` < `hi`, so `hi` keeps its
 * own outgoing connection (`nok` to `lo`'s) and `lo` accepts `hi`'s
 * (`ok_simultaneous`).
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Node } from '../core/node.js';
import { atom, isTuple } from '../terms/index.js';
import { EpmdServer, registerNode, type EpmdRegistration } from './epmd/index.js';
import { distributionOf, exposeRpc, rpc, startNode, RpcError } from './node-dist.js';
import type { NodeEvent } from './node-events.js';
import { Inbox } from './testing/inbox.js';
import { deferred, eventually } from '../../test/support.js';

/** Generous: these wait for events; the deadline only turns a hang into a failure. */
const DEADLINE = 30_000;

/** Waits for `p`, failing after {@link DEADLINE} with `what` (a hang guard). */
async function within<T>(p: Promise<T>, what: string, diag: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${DEADLINE} ms ${diag()}`)), DEADLINE);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A TCP relay to `target` that holds the bytes of each direction until
 * `openUp()` (client to node) and `openDown()` (node to client). The relay
 * connects to the node only when `up` opens, so the node's handshake timer
 * does not run while the test holds the connection.
 */
class Gate {
  private client: Socket | undefined;
  private upstream: Socket | undefined;
  private readonly upHeld: Buffer[] = [];
  private readonly downHeld: Buffer[] = [];
  private up = false;
  private down = false;
  /** The client connected and sent its first bytes (its handshake name). */
  readonly arrived = deferred();
  /** The node answered the first bytes (the handshake status). */
  readonly answered = deferred();
  /** Both ends are closed. */
  readonly closed = deferred();
  private clientClosed = false;
  private upstreamClosed = false;

  private constructor(
    private readonly server: Server,
    private readonly target: number,
  ) {
    server.on('connection', (c) => this.onClient(c));
  }

  static async start(target: number): Promise<Gate> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Gate(server, target);
  }

  /** True once a client connected through the gate. */
  get used(): boolean {
    return this.client !== undefined;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private onClient(c: Socket): void {
    assert.equal(this.client, undefined, 'one connection through a gate');
    this.client = c;
    c.on('error', () => {});
    c.on('data', (d: Buffer) => {
      this.arrived.resolve();
      if (this.up && this.upstream !== undefined) this.upstream.write(d);
      else this.upHeld.push(d);
    });
    c.on('close', () => {
      this.clientClosed = true;
      if (this.upstream === undefined) this.upstreamClosed = true;
      else this.upstream.end();
      this.settle();
    });
  }

  openUp(): void {
    this.up = true;
    const c = this.client;
    assert.ok(c !== undefined, 'a client before opening up');
    const u = connect(this.target, '127.0.0.1');
    this.upstream = u;
    u.on('error', () => {});
    for (const d of this.upHeld.splice(0)) u.write(d);
    if (this.clientClosed) u.end();
    u.on('data', (d: Buffer) => {
      this.answered.resolve();
      if (this.down) c.write(d);
      else this.downHeld.push(d);
    });
    u.on('close', () => {
      this.upstreamClosed = true;
      if (this.down) c.end();
      this.settle();
    });
  }

  openDown(): void {
    this.down = true;
    const c = this.client;
    assert.ok(c !== undefined, 'a client before opening down');
    for (const d of this.downHeld.splice(0)) c.write(d);
    if (this.upstreamClosed) c.end();
  }

  open(): void {
    this.openUp();
    this.openDown();
  }

  private settle(): void {
    if (this.clientClosed && this.upstreamClosed) this.closed.resolve();
  }

  /** Kills the connection through the gate, as a node that dies mid-handshake would. */
  cut(): void {
    this.client?.destroy();
    this.upstream?.destroy();
  }

  close(): void {
    this.client?.destroy();
    this.upstream?.destroy();
    this.server.close();
  }
}

/** What one node of a pair saw. */
interface Side {
  readonly node: Node;
  readonly events: string[];
  /** What the process that monitors the other node (`monitor_node`, see {@link begin}) received. */
  readonly watched: unknown[];
  readonly inbox: Inbox;
  readonly log: string[];
}

const quietLog =
  (lines: string[]) =>
  (level: string, message: string): void => {
    lines.push(`${level}: ${message}`);
  };

async function side(name: string, epmdPort: number): Promise<Side> {
  const log: string[] = [];
  const node = await startNode({ name, cookie: 'c', epmdPort, embeddedEpmd: false, logger: quietLog(log), shutdownTimeout: 500 });
  const events: string[] = [];
  distributionOf(node).monitorNodes((e: NodeEvent) => events.push(`${e.kind} ${e.node.name}`));
  exposeRpc(node, 'sim', { echo: (x: unknown) => x });
  return { node, events, watched: [], inbox: new Inbox(node, { name: 'inbox', trapExit: false }), log };
}

/**
 * Starts `from`'s connection to `to` as an application would, before any
 * connection exists: three messages, a process that monitors the node, and
 * a call. Resolves with the call's answer.
 */
function begin(from: Side, to: Side): Promise<unknown> {
  const target = to.node.name.name;
  for (let i = 1; i <= 3; i++) from.node.send({ name: 'inbox', node: target }, `${from.node.name.name} ${i}`);
  from.node.spawn({ init: (proc) => proc.monitorNode(target), handleMessage: (m) => void from.watched.push(m) });
  const call = rpc(from.node, target, 'sim', 'echo', [`call from ${from.node.name.name}`], { timeout: DEADLINE });
  call.catch(() => {}); // observed by settled(); a test that fails earlier stops the node, which rejects it
  return call;
}

/** What the two nodes saw and logged, for failure messages. */
function diag(x: Side, y: Side): string {
  return `\n${x.node.name.name}: ${x.events.join(', ')} | ${x.log.join(' | ')}\n${y.node.name.name}: ${y.events.join(', ')} | ${y.log.join(' | ')}`;
}

/** The checks every order must pass once the attempts have settled. */
async function settled(x: Side, y: Side, calls: Promise<unknown>[], what: string): Promise<void> {
  const why = (): string => `${what}${diag(x, y)}`;
  const results = await Promise.allSettled(calls);
  for (const r of results) {
    assert.equal(r.status, 'fulfilled', `${why()}\n${r.status === 'rejected' ? String(r.reason) : ''}`);
    assert.match(String(r.value), /^call from /);
  }
  for (const [s, o] of [
    [x, y],
    [y, x],
  ] as const) {
    const other = o.node.name.name;
    await s.inbox.waitFor((m) => m === `${other} 3`, `the third message from ${other}`, DEADLINE);
    assert.deepEqual(
      s.inbox.messages.filter((m) => typeof m === 'string' && m.startsWith(other)),
      [`${other} 1`, `${other} 2`],
      `messages from ${other} in order, none lost: ${why()}`,
    );
    assert.deepEqual(s.events, [`up ${other}`], `one connection, never down: ${why()}`);
    assert.deepEqual(
      distributionOf(s.node)
        .connectedNodes()
        .map((n) => n.name),
      [other],
      why(),
    );
    assert.ok(!s.watched.some((m) => isTuple(m, 2) && m.elements[0] === atom('nodedown')), `no nodedown: ${why()}`);
  }
  // The connection works both ways after the settlement, and nothing went down meanwhile.
  assert.equal(await rpc(x.node, y.node.name, 'sim', 'echo', ['after'], { timeout: DEADLINE }), 'after');
  assert.equal(await rpc(y.node, x.node.name, 'sim', 'echo', ['after'], { timeout: DEADLINE }), 'after');
  assert.deepEqual(x.events, [`up ${y.node.name.name}`], why());
  assert.deepEqual(y.events, [`up ${x.node.name.name}`], why());
}

describe('simultaneous connects between two Beamline nodes', () => {
  let epmdLo: EpmdServer;
  let epmdHi: EpmdServer;
  before(async () => {
    epmdLo = await EpmdServer.start({ host: '127.0.0.1', port: 0 });
    epmdHi = await EpmdServer.start({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await epmdLo.close();
    await epmdHi.close();
  });

  /**
   * Two fresh nodes, `lo` < `hi`, each registered in its own EPMD, where the
   * other is registered behind a gate: `toHi` carries `lo`'s connection to
   * `hi`, `toLo` carries `hi`'s connection to `lo`.
   */
  async function gatedPair(): Promise<{ lo: Side; hi: Side; toLo: Gate; toHi: Gate; bypassToHi: () => Promise<void>; done: () => Promise<void> }> {
    const tag = randomInt(1e9);
    const lo = await side(`alo${tag}@127.0.0.1`, epmdLo.port);
    const hi = await side(`bhi${tag}@127.0.0.1`, epmdHi.port);
    const toHi = await Gate.start(distributionOf(hi.node).listenPort);
    const toLo = await Gate.start(distributionOf(lo.node).listenPort);
    const regs: EpmdRegistration[] = [
      await registerNode({ port: epmdLo.port, name: `bhi${tag}`, nodePort: toHi.port, hidden: false }),
      await registerNode({ port: epmdHi.port, name: `alo${tag}`, nodePort: toLo.port, hidden: false }),
    ];
    return {
      lo,
      hi,
      toLo,
      toHi,
      // lo's next lookup of hi finds hi's own port, not the gate
      bypassToHi: async () => {
        await regs[0]?.close();
        await eventually(() => !epmdLo.nodes().some((n) => n.name === `bhi${tag}`), DEADLINE, 'the gate unregistered');
        regs.push(await registerNode({ port: epmdLo.port, name: `bhi${tag}`, nodePort: distributionOf(hi.node).listenPort, hidden: false }));
      },
      done: async () => {
        await lo.node.stop();
        await hi.node.stop();
        for (const r of regs) await r.close();
        toLo.close();
        toHi.close();
      },
    };
  }

  it("the lesser node's attempt reaches the greater after the greater's connection is up ('alive', the CI flake)", async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, done } = await gatedPair();
      try {
        const calls = [begin(lo, hi)];
        await within(toHi.arrived.promise, 'toHi arrived', () => diag(lo, hi)); // lo's name waits in front of hi
        calls.push(begin(hi, lo));
        await within(toLo.arrived.promise, 'toLo arrived', () => diag(lo, hi));
        toLo.open(); // hi's attempt: lo has its own pending, answers ok_simultaneous; it completes
        await eventually(() => lo.events.length > 0 && hi.events.length > 0, DEADLINE, `the connection from hi up on both ${diag(lo, hi)}`);
        toHi.open(); // lo's name reaches hi, which is connected: hi answers 'alive', lo must decline
        await within(toHi.closed.promise, 'toHi closed', () => diag(lo, hi));
        await settled(lo, hi, calls, 'alive');
      } finally {
        await done();
      }
    }
  });

  it('both names are answered while both attempts are pending (nok and ok_simultaneous)', async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, done } = await gatedPair();
      try {
        const calls = [begin(lo, hi), begin(hi, lo)];
        await within(Promise.all([toHi.arrived.promise, toLo.arrived.promise]), 'both arrived', () => diag(lo, hi));
        toHi.openUp();
        toLo.openUp();
        // both statuses are decided before either initiator reads its own
        await within(Promise.all([toHi.answered.promise, toLo.answered.promise]), 'both answered', () => diag(lo, hi));
        toHi.openDown();
        toLo.openDown();
        await within(toHi.closed.promise, 'toHi closed', () => diag(lo, hi)); // lo's attempt lost (nok)
        await settled(lo, hi, calls, 'both pending');
      } finally {
        await done();
      }
    }
  });

  it("the lesser node's attempt is refused before the greater's reaches it (nok, then ok)", async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, done } = await gatedPair();
      try {
        const calls = [begin(lo, hi), begin(hi, lo)];
        await within(Promise.all([toHi.arrived.promise, toLo.arrived.promise]), 'both arrived', () => diag(lo, hi));
        toHi.open(); // hi is connecting: nok; lo keeps its queue and waits for hi's connection
        await within(toHi.closed.promise, 'toHi closed', () => diag(lo, hi));
        toLo.open(); // lo has nothing pending now: ok
        await settled(lo, hi, calls, 'nok then ok');
      } finally {
        await done();
      }
    }
  });

  it("the greater node's attempt is answered first, the lesser's after it is accepted (ok_simultaneous, then nok)", async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, done } = await gatedPair();
      try {
        const calls = [begin(lo, hi), begin(hi, lo)];
        await within(Promise.all([toHi.arrived.promise, toLo.arrived.promise]), 'both arrived', () => diag(lo, hi));
        toLo.openUp(); // lo decides hi's attempt (ok_simultaneous), hi does not hear it yet
        await within(toLo.answered.promise, 'toLo answered', () => diag(lo, hi));
        toHi.open(); // hi is still connecting: nok
        await within(toHi.closed.promise, 'toHi closed', () => diag(lo, hi));
        toLo.openDown();
        await settled(lo, hi, calls, 'ok_simultaneous then nok');
      } finally {
        await done();
      }
    }
  });

  it("the lesser node's attempt is refused and the greater's never comes (it died): the lesser's next send connects", async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, bypassToHi, done } = await gatedPair();
      try {
        const loCall = begin(lo, hi);
        const hiCall = begin(hi, lo);
        await within(Promise.all([toHi.arrived.promise, toLo.arrived.promise]), 'both arrived', () => diag(lo, hi));
        toHi.open(); // hi is connecting: nok; lo waits for hi's connection
        await within(toHi.closed.promise, 'toHi closed', () => diag(lo, hi));
        toLo.cut(); // hi's attempt dies before reaching lo
        await assert.rejects(hiCall, (e) => e instanceof RpcError && e.reason === atom('nodedown'));
        await bypassToHi();
        // Without a retry this call would wait in the queue of the lost attempt until the wait for hi's connection expires (nodedown).
        const again = rpc(lo.node, hi.node.name, 'sim', 'echo', ['call from lo again'], { timeout: DEADLINE });
        assert.equal(await within(again, 'the call after the lost attempt', () => diag(lo, hi)), 'call from lo again', diag(lo, hi));
        assert.equal(await loCall, `call from ${lo.node.name.name}`, 'the call queued before the loss went out too');
        const from = lo.node.name.name;
        await hi.inbox.waitFor((m) => m === `${from} 3`, 'the third message from lo', DEADLINE);
        assert.deepEqual(hi.inbox.messages, [`${from} 1`, `${from} 2`], 'in order, none lost');
        assert.deepEqual(lo.events, [`up ${hi.node.name.name}`], diag(lo, hi));
        assert.deepEqual(hi.events, [`up ${from}`], diag(lo, hi));
        assert.equal(await rpc(hi.node, lo.node.name, 'sim', 'echo', ['back'], { timeout: DEADLINE }), 'back');
      } finally {
        await done();
      }
    }
  });

  it('a node whose attempt is being accepted by the other side connects once when it sends meanwhile', async () => {
    for (let i = 0; i < 3; i++) {
      const { lo, hi, toLo, toHi, done } = await gatedPair();
      try {
        const calls = [begin(hi, lo)];
        await within(toLo.arrived.promise, 'toLo arrived', () => diag(lo, hi));
        toLo.openUp(); // lo accepts hi's attempt (ok): lo has a pending incoming connection
        await within(toLo.answered.promise, 'toLo answered', () => diag(lo, hi));
        calls.push(begin(lo, hi)); // queued on that pending connection, no attempt of its own
        toLo.openDown();
        await settled(lo, hi, calls, 'one-sided');
        assert.equal(toHi.used, false, 'lo made no attempt of its own');
      } finally {
        await done();
      }
    }
  });

  it('two nodes that connect to each other at the same moment, many times, settle on one connection', async () => {
    for (let i = 0; i < 100; i++) {
      const tag = randomInt(1e9);
      // one EPMD, real ports: the two attempts race freely; a few turns of the event loop apart
      const x = await side(`x${tag}@127.0.0.1`, epmdLo.port);
      const y = await side(`y${tag}@127.0.0.1`, epmdLo.port);
      try {
        const [first, second] = i % 2 === 0 ? [x, y] : [y, x];
        const calls = [begin(first, second)];
        for (let k = i % 7; k > 0; k--) await new Promise((r) => setImmediate(r));
        calls.push(begin(second, first));
        await settled(x, y, calls, `free race ${i}`);
      } finally {
        await x.node.stop();
        await y.node.stop();
      }
    }
  });
});
