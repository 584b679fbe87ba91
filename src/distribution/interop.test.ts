/**
 * Interop tests against real Erlang/OTP nodes, with the embedded EPMD on a
 * private port: our initiator connects to an erl node (messages both ways,
 * fragments both ways, atom-cache frames, wrong cookie), and erl nodes
 * connect to our acceptor (`net_adm:ping` answered with pong; wrong cookie).
 * Skipped with a reason when erl is missing, failing instead when CI=true.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { Pid, Tuple, atom, tuple, isTuple, ImproperList, type Atom } from '../terms/index.js';
import { EpmdServer, lookupNode, registerNode, type EpmdRegistration } from './epmd/index.js';
import { acceptHandshake, initiateHandshake, type HandshakeResult } from './handshake.js';
import { DistConnection, type DistFrame } from './framing.js';
import { decodeFrameTerms, sendTerms, type FrameTerms } from './frame-terms.js';
import { connectTransport, listenTransport, type TransportServer } from './transport.js';
import { DFLAG } from './flags.js';
import { isDistError, type DistError } from './errors.js';
import { erlAtom, erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';

const COOKIE = 'interopcookie';

/** Collects decoded frames and lets a test wait for one that matches. */
class Inbox {
  readonly frames: { frame: DistFrame; terms: FrameTerms }[] = [];
  private waiters: (() => void)[] = [];
  push = (frame: DistFrame): void => {
    this.frames.push({ frame, terms: decodeFrameTerms(frame) });
    for (const w of this.waiters.splice(0)) w();
  };
  async waitFor(pred: (t: FrameTerms, f: DistFrame) => boolean, what: string, closed?: Promise<DistError>): Promise<{ frame: DistFrame; terms: FrameTerms }> {
    for (;;) {
      const hit = this.frames.find((x) => pred(x.terms, x.frame));
      if (hit !== undefined) return hit;
      const next = new Promise<void>((r) => this.waiters.push(r));
      if (closed === undefined) await next;
      else {
        const r = await Promise.race([next.then(() => undefined), closed]);
        if (r !== undefined) throw new Error(`connection closed (${r.message}) while waiting for ${what}`);
      }
    }
  }
}

function opcode(t: FrameTerms): unknown {
  return isTuple(t.control) ? t.control.elements[0] : undefined;
}

describe('real erl nodes', { skip: erlSkipReason() }, () => {
  let epmd: EpmdServer;
  const nodes: ErlNode[] = [];
  const sockets: Socket[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  before(async () => {
    epmd = await EpmdServer.start({ port: 0 });
  });
  after(async () => {
    for (const c of cleanups) await c();
    for (const s of sockets) s.destroy();
    await Promise.all(nodes.map((n) => n.kill()));
    await epmd.close();
  });
  const erl = (name: string, evalText: string, cookie = COOKIE): ErlNode => {
    const n = startErl({ name, cookie, epmdPort: epmd.port, eval: evalText });
    nodes.push(n);
    return n;
  };

  describe('our initiator to an erl acceptor', () => {
    const SINK = [
      'Sink = fun Loop() -> receive',
      '  {echo, To, T} -> To ! T, Loop();',
      '  {echo_big, To, N} -> To ! {big_back, binary:copy(<<"y">>, N)}, Loop();',
      '  {big, B} -> io:format("got big ~p~n", [byte_size(B)]), Loop();',
      '  M -> io:format("got ~p~n", [M]), Loop()',
      'end end,',
      'register(sink, spawn(Sink)), io:format("ready~n").',
    ].join(' ');
    let srv: ErlNode;
    let port: number;
    before(async () => {
      srv = erl('srv@127.0.0.1', SINK);
      await srv.waitForOutput(/ready/);
      const info = await lookupNode({ port: epmd.port, name: 'srv' });
      assert.ok(info !== undefined);
      port = info.port;
    });

    it('handshakes, exchanges messages, fragments and atom-cache frames', async () => {
      const creation = randomInt(1, 0xffffffff);
      const me = 'ts1@127.0.0.1';
      const sock = await connectTransport({ host: '127.0.0.1', port });
      sockets.push(sock);
      const hs: HandshakeResult = await initiateHandshake(sock, { name: me, cookie: COOKIE, creation, peerName: 'srv@127.0.0.1', timeout: 20_000 });
      assert.equal(hs.peerVersion, 6);
      assert.ok((hs.peerFlags & DFLAG.FRAGMENTS) !== 0n && (hs.peerFlags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n);
      assert.equal(hs.flags & DFLAG.PUBLISHED, 0n);
      const inbox = new Inbox();
      const conn = new DistConnection(hs, { onFrame: inbox.push });
      cleanups.push(() => conn.close());
      const myPid = new Pid(atom(me), 1, 0, creation);
      const empty = atom('');

      // REG_SEND to sink; erl prints the term
      sendTerms(conn, tuple(6, myPid, empty, atom('sink')), tuple(atom('hello'), atom('from_ts')));
      await srv.waitForOutput(/got \{hello,from_ts\}/);

      // a 200 kB message goes out in 64 KiB fragments and arrives whole
      sendTerms(conn, tuple(6, myPid, empty, atom('sink')), tuple(atom('big'), new Uint8Array(200_000).fill(120)));
      await srv.waitForOutput(/got big 200000/);

      // echoes come back as SEND_SENDER frames; repeated atoms use the atom cache
      for (let i = 0; i < 3; i++) sendTerms(conn, tuple(6, myPid, empty, atom('sink')), tuple(atom('echo'), myPid, tuple(atom('pong_atom'), i)));
      const echoed = await inbox.waitFor(
        (t) => isTuple(t.message) && t.message.elements[0] === atom('pong_atom') && t.message.elements[1] === 2,
        'third echo',
        conn.closed,
      );
      assert.equal(opcode(echoed.terms), 22);
      assert.ok((echoed.terms.control as Tuple).elements[2] instanceof Pid);
      assert.ok(((echoed.terms.control as Tuple).elements[2] as Pid).equals(myPid));
      assert.ok(inbox.frames.some((f) => f.frame.atoms.length > 0), 'erl used atom cache refs');

      // a 200 kB message from erl arrives in fragments and is reassembled
      sendTerms(conn, tuple(6, myPid, empty, atom('sink')), tuple(atom('echo_big'), myPid, 200_000));
      const big = await inbox.waitFor((t) => isTuple(t.message) && t.message.elements[0] === atom('big_back'), 'big_back', conn.closed);
      assert.ok(big.frame.fragments >= 4, `fragments: ${big.frame.fragments}`);
      const body = (big.terms.message as Tuple).elements[1];
      assert.equal(typeof body === 'string' ? body.length : (body as Uint8Array).length, 200_000);
      assert.equal(conn.isOpen, true);
    });

    it('a wrong cookie is refused, and erl logs the rejection', async () => {
      const sock = await connectTransport({ host: '127.0.0.1', port });
      sockets.push(sock);
      await assert.rejects(
        initiateHandshake(sock, { name: 'tsbad@127.0.0.1', cookie: 'not-the-cookie', creation: 7, timeout: 20_000 }),
        (e) => isDistError(e) && (e.code === 'connection_closed' || e.code === 'bad_cookie'),
      );
      await srv.waitForOutput(/Connection attempt from node 'tsbad@127\.0\.0\.1' rejected\. Invalid challenge reply/);
      // the erl node is unharmed: a correct connection still works
      const again = await connectTransport({ host: '127.0.0.1', port });
      sockets.push(again);
      const hs = await initiateHandshake(again, { name: 'tsok@127.0.0.1', cookie: COOKIE, creation: 8, timeout: 20_000 });
      hs.socket.destroy();
    });
  });

  describe('erl initiators to our acceptor', () => {
    const me = 'ts3@127.0.0.1';
    let server: TransportServer;
    let reg: EpmdRegistration;
    let creation = 0;
    const results: Promise<{ hs: HandshakeResult; conn: DistConnection; inbox: Inbox } | DistError>[] = [];
    before(async () => {
      server = await listenTransport({}, (sock) => {
        results.push(
          acceptHandshake(sock, { name: me, cookie: COOKIE, creation, timeout: 20_000 }).then(
            (hs) => {
              const inbox = new Inbox();
              const conn = new DistConnection(hs, {
                onFrame: (f) => {
                  inbox.push(f);
                  const { control, message } = inbox.frames[inbox.frames.length - 1]!.terms;
                  // net_adm:ping: {6, From, '', net_kernel} + {'$gen_call', {From, Tag}, {is_auth, Node}} -> {Tag, yes}
                  if (isTuple(control, 4) && control.elements[0] === 6 && control.elements[3] === atom('net_kernel') && isTuple(message, 3)) {
                    const from = message.elements[1] as Tuple<[Pid, ImproperList | unknown]>;
                    sendTerms(conn, tuple(2, atom(''), from.elements[0]), tuple(from.elements[1], atom('yes')));
                  }
                },
              });
              cleanups.push(() => conn.close());
              return { hs, conn, inbox };
            },
            (e: DistError) => e,
          ),
        );
      });
      reg = await registerNode({ port: epmd.port, name: 'ts3', nodePort: server.port });
      creation = reg.creation;
      cleanups.push(async () => {
        await reg.close();
        await server.close();
      });
    });

    it('net_adm:ping from erl returns pong, and we are a hidden node there', async () => {
      const drv = erl(
        'drv@127.0.0.1',
        `R = net_adm:ping(${erlAtom(me)}), io:format("ping=~p hidden=~p visible=~p~n", [R, nodes(hidden), nodes()]), halt(0).`,
      );
      const line = await drv.waitForOutput(/ping=\w+ hidden=\S* visible=\S*/);
      assert.equal(line, `ping=pong hidden=['${me}'] visible=[]`);
      const r = await results[0]!;
      assert.ok(!isDistError(r));
      assert.equal(r.hs.peerName, 'drv@127.0.0.1');
      assert.equal(r.hs.peerVersion, 6);
      const monitor = await r.inbox.waitFor((t) => opcode(t) === 19, 'MONITOR_P');
      assert.equal((monitor.terms.control as Tuple).elements[2], atom('net_kernel') as Atom);
      assert.equal(await drv.exited, 0);
      assert.equal((await r.conn.closed).code, 'connection_closed');
    });

    it('an erl node with a wrong cookie is refused with bad_cookie and gets pang', async () => {
      const drv = erl('drvbad@127.0.0.1', `R = net_adm:ping(${erlAtom(me)}), io:format("ping=~p~n", [R]), halt(0).`, 'wrongcookie');
      assert.equal(await drv.waitForOutput(/ping=\w+/), 'ping=pang');
      const r = await results[1]!;
      assert.ok(isDistError(r, 'bad_cookie'), String(r));
    });
  });
});
