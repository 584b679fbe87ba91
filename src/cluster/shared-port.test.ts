/**
 * The primary's side of a local cluster's shared ports, with members
 * stood in by functions that record what they are sent: connections go to
 * the member with the fewest open, ties in turn (N connections over 2
 * members: N/2 each, alternating); a member that has not listened gets
 * none, and connections wait for a first one; a member that dies gets none
 * and its connections on their way go to the other, and once it listens
 * again it takes the next ones; a connection given back or that the channel
 * could not carry goes to another member; an accepted one is closed in the
 * primary; the port closes when every member closed its server; port 0
 * shared per index; a port in use is an error reply.
 * (src/cluster/local-cluster.test.ts checks the same with real processes.)
 * @module
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { SharedPorts, type SendConnection } from './shared-port.js';
import type { ToMember } from './protocol.js';
import { eventually } from '../../test/support.js';

interface Handed {
  readonly member: number;
  readonly seq: number;
  readonly key: string;
  readonly socket: Socket;
}

type Listened = Extract<ToMember, { type: 'listened' }>;

/** A SharedPorts, members that record the connections they are handed, and clients. */
function rig() {
  const ports = new SharedPorts();
  const handed: Handed[] = [];
  const clients: Socket[] = [];
  let id = 0;
  const member =
    (i: number, sent = true): SendConnection =>
    (m, socket, done) => {
      if (m.type === 'conn') handed.push({ member: i, seq: m.seq, key: m.key, socket });
      done(sent);
    };
  return {
    ports,
    handed,
    /** Member `i` listens on `port` (its `index`-th server there); the primary's reply. */
    listen: (i: number, port = 0, index = 0, send = member(i), alive = () => true): Promise<Listened> =>
      ports.listen(i, send, { type: 'listen', id: ++id, host: '127.0.0.1', port, index }, alive),
    member,
    /** Opens `n` client connections to `port`. */
    connect(port: number, n: number): void {
      for (let k = 0; k < n; k++) {
        const c = connect(port, '127.0.0.1');
        c.on('error', () => {});
        clients.push(c);
      }
    },
    members: (from = 0): number[] => handed.slice(from).map((h) => h.member),
    close(): void {
      for (const c of clients) c.destroy();
      ports.close();
    },
  };
}

function serving(r: Listened): { key: string; port: number } {
  if (r.error !== undefined) throw new Error(`listen failed: ${r.error.code}`);
  return { key: r.key, port: r.address.port };
}

describe('shared ports of a local cluster (the primary)', () => {
  let current: ReturnType<typeof rig> | undefined;
  const start = (): ReturnType<typeof rig> => (current = rig());
  afterEach(() => current?.close());

  it('hands N connections to 2 members in turn: N/2 each, alternating', async () => {
    const r = start();
    const { key, port } = serving(await r.listen(0));
    assert.equal(serving(await r.listen(1)).port, port, 'the second member serves the same port');
    r.connect(port, 10);
    await eventually(() => r.handed.length === 10, 10_000, '10 connections handed');
    assert.deepEqual(r.members(), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert.ok(r.handed.every((h) => h.key === key));
    assert.deepEqual([r.ports.counts(0), r.ports.counts(1)], [{ taken: 5, open: 5 }, { taken: 5, open: 5 }]);
  });

  it('least connections: the member whose connections closed takes the next ones', async () => {
    const r = start();
    const { key, port } = serving(await r.listen(0));
    await r.listen(1);
    r.connect(port, 4);
    await eventually(() => r.handed.length === 4, 10_000, '4 connections handed');
    r.ports.closed(0, key);
    r.ports.closed(0, key);
    assert.deepEqual(r.ports.counts(0), { taken: 2, open: 0 });
    r.connect(port, 3);
    await eventually(() => r.handed.length === 7, 10_000, '3 more handed');
    // Member 0 had none open, member 1 two: the next two go to 0, then they are even and 1 is next in turn.
    assert.deepEqual(r.members(4), [0, 0, 1]);
  });

  it('a member that has not listened gets none; connections wait for a first member', async () => {
    const r = start();
    const { key, port } = serving(await r.listen(1));
    r.connect(port, 3);
    await eventually(() => r.handed.length === 3, 10_000, '3 connections handed');
    assert.deepEqual(r.members(), [1, 1, 1]);
    assert.deepEqual(r.ports.counts(0), { taken: 0, open: 0 });
    for (const h of r.handed) r.ports.ack(h.seq, true);
    // Member 1 dies: the port stays open (it may come back), new connections wait.
    r.ports.gone(1);
    r.connect(port, 2);
    await eventually(() => r.ports.queued(key) === 2, 10_000, '2 connections waiting');
    assert.equal(r.handed.length, 3);
    await r.listen(0);
    await eventually(() => r.handed.length === 5, 10_000, 'the waiting connections handed');
    assert.deepEqual(r.members(3), [0, 0]);
    assert.equal(r.ports.queued(key), 0);
  });

  it('a member that dies gets none, its connections on their way go to the other; listening again, it takes the next ones', async () => {
    const r = start();
    const { port } = serving(await r.listen(0));
    await r.listen(1);
    r.connect(port, 2);
    await eventually(() => r.handed.length === 2, 10_000, '2 connections handed');
    const toZero = r.handed.find((h) => h.member === 0);
    // Member 0 dies before it said it took its connection: member 1 gets that socket.
    r.ports.gone(0);
    await eventually(() => r.handed.length === 3, 10_000, 'the connection handed again');
    assert.equal(r.handed[2]?.member, 1);
    assert.equal(r.handed[2]?.socket, toZero?.socket);
    assert.deepEqual(r.ports.counts(0), { taken: 0, open: 0 });
    r.connect(port, 2);
    await eventually(() => r.handed.length === 5, 10_000, '2 more handed');
    assert.deepEqual(r.members(3), [1, 1]);
    // Restarted: it listens again and, having none open, takes the next ones until even.
    await r.listen(0);
    r.ports.ready(0);
    r.connect(port, 5);
    await eventually(() => r.handed.length === 10, 10_000, '5 more handed');
    assert.deepEqual(r.members(5), [0, 0, 0, 0, 1]);
    assert.deepEqual(r.ports.counts(0), { taken: 4, open: 4 });
  });

  it('a member whose server closed gives the connection back: the other member takes it and, from then on, every one', async () => {
    const r = start();
    const { port } = serving(await r.listen(0));
    await r.listen(1);
    r.connect(port, 1);
    await eventually(() => r.handed.length === 1, 10_000, 'a connection handed');
    const first = r.handed[0] as Handed;
    assert.equal(first.member, 0);
    r.ports.ack(first.seq, false);
    await eventually(() => r.handed.length === 2, 10_000, 'handed again');
    assert.equal(r.handed[1]?.member, 1);
    assert.equal(r.handed[1]?.socket, first.socket);
    assert.deepEqual(r.ports.counts(0), { taken: 0, open: 0 });
    r.connect(port, 2);
    await eventually(() => r.handed.length === 4, 10_000, '2 more handed');
    assert.deepEqual(r.members(2), [1, 1]);
  });

  it('a connection its member channel could not carry goes to another member', async () => {
    const r = start();
    const { port } = serving(await r.listen(0, 0, 0, r.member(0, false)));
    await r.listen(1);
    r.connect(port, 2);
    await eventually(() => r.handed.length === 3, 10_000, 'handed twice then once');
    // Member 0's channel failed: the connection went on to 1, and 0 serves no more.
    assert.deepEqual(r.members(), [0, 1, 1]);
    assert.equal(r.handed[0]?.socket, r.handed[1]?.socket);
  });

  it('an accepted connection is closed in the primary (the member has its own descriptor)', async () => {
    const r = start();
    const { port } = serving(await r.listen(0));
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    await eventually(() => r.handed.length === 1, 10_000, 'handed');
    const h = r.handed[0] as Handed;
    assert.equal(h.socket.destroyed, false);
    r.ports.ack(h.seq, true);
    assert.equal(h.socket.destroyed, true);
    // No member holds it here: the client sees it end.
    await once(client, 'close');
    r.ports.ack(h.seq, true); // a second answer is ignored
  });

  it('a member that died while the port opened serves nothing', async () => {
    const r = start();
    const { port } = serving(await r.listen(0, 0, 0, r.member(0), () => false));
    await r.listen(1);
    r.connect(port, 2);
    await eventually(() => r.handed.length === 2, 10_000, 'handed');
    assert.deepEqual(r.members(), [1, 1]);
  });

  it('the port closes once every member closed its server, or came back up without it', async () => {
    const r = start();
    const { key, port } = serving(await r.listen(0));
    await r.listen(1);
    r.ports.unlisten(0, key);
    assert.ok(r.ports.isOpen(key), 'member 1 still serves it');
    r.ports.gone(1);
    assert.ok(r.ports.isOpen(key), 'member 1 may come back');
    r.ports.ready(1);
    assert.equal(r.ports.isOpen(key), false, 'member 1 came back without it');
    const client = connect(port, '127.0.0.1');
    const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });

  it('port 0: the n-th server of each member shares one port; another index, another port', async () => {
    const r = start();
    const a = serving(await r.listen(0, 0, 0));
    const b = serving(await r.listen(1, 0, 0));
    const c = serving(await r.listen(0, 0, 1));
    assert.equal(a.port, b.port);
    assert.equal(a.key, b.key);
    assert.notEqual(c.port, a.port);
  });

  it('a node that already serves a port cannot serve it twice', async () => {
    const r = start();
    const { port } = serving(await r.listen(0));
    assert.equal((await r.listen(0, port)).error?.code, 'EADDRINUSE');
    await r.listen(1, port);
    r.connect(port, 2);
    await eventually(() => r.handed.length === 2, 10_000, 'handed');
    assert.deepEqual(r.members(), [0, 1], 'its first server still serves it');
  });

  it('a port in use: an error reply with its code, and the members stay as they were', async () => {
    const r = start();
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const reply = await r.listen(0, (busy.address() as AddressInfo).port);
      assert.equal(reply.error?.code, 'EADDRINUSE');
      assert.deepEqual(r.ports.counts(0), { taken: 0, open: 0 });
    } finally {
      busy.close();
    }
  });

  it('stopped: new listens fail, waiting and in-flight connections are closed', async () => {
    const r = start();
    const { port } = serving(await r.listen(0));
    r.connect(port, 1);
    await eventually(() => r.handed.length === 1, 10_000, 'handed');
    r.ports.close();
    assert.equal(r.handed[0]?.socket.destroyed, true);
    assert.equal((await r.listen(1, 0, 5)).error?.code, 'ECANCELED');
  });
});
