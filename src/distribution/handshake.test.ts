/**
 * Handshake tests: digest vectors captured from OTP 25.2.3, both roles
 * against each other over TCP and TLS, status codes, version 5 names, and
 * hostile or broken peers.
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_FLAGS, DFLAG, MANDATORY_FLAGS, missingMandatory, negotiateFlags, flagNames } from './flags.js';
import {
  acceptHandshake,
  checkDigest,
  genDigest,
  initiateHandshake,
  simultaneousStatus,
  type AcceptOptions,
  type InitiateOptions,
} from './handshake.js';
import { DistError, isDistError } from './errors.js';
import { closedSocket, collect, packet16, socketPair } from './testing/sockets.js';
import { createSelfSignedCertificate, listenTransport, connectTransport } from './transport.js';
import { ByteWriter } from './bytes.js';

const vectors = readFileSync(new URL('../../../src/distribution/testdata/handshake_vectors.txt', import.meta.url), 'utf8');

const A: InitiateOptions = { name: 'a@127.0.0.1', cookie: 'secret', creation: 0x1234 };
const B: AcceptOptions = { name: 'b@127.0.0.1', cookie: 'secret', creation: 0x5678 };

/** The promise, with its rejection marked handled now (it is still observed later). */
function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

async function rejectsWith(p: Promise<unknown>, code: DistError['code']): Promise<DistError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isDistError(e), `expected DistError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('digest and flags', () => {
  it('matches the captured OTP 25 digests', () => {
    assert.match(vectors, /76df173a56664d8a614d7073b6290475/);
    assert.equal(genDigest(0x1324c2f2, 'test').toString('hex'), '76df173a56664d8a614d7073b6290475');
    assert.equal(genDigest(0x330ae55b, 'test').toString('hex'), '7f404f0b519314bc7fffd7e085bdd6ef');
    assert.equal(genDigest(12345, 'test').toString('hex'), 'c06db68e819be6ec3d26c6038d8e8d1f');
    assert.equal(genDigest(4208150107, 'test').toString('hex'), 'd45d5a7b69396cb1673530fc1742fefb');
    assert.ok(checkDigest(Buffer.from('76df173a56664d8a614d7073b6290475', 'hex'), 321176306, 'test'));
    assert.ok(!checkDigest(Buffer.from('76df173a56664d8a614d7073b6290475', 'hex'), 321176306, 'tesT'));
    assert.ok(!checkDigest(Buffer.alloc(3), 321176306, 'test'));
  });

  it('has the OTP 25 flag values, plus OTP 28 ALTACT_SIG and OTP 29 NATIVE_RECORDS', () => {
    assert.equal(MANDATORY_FLAGS, 0x1070f94n);
    const otp28and29 = DFLAG.ALTACT_SIG | DFLAG.NATIVE_RECORDS;
    assert.equal(DEFAULT_FLAGS & ~otp28and29, 0xd07df7fbcn);
    assert.equal((DEFAULT_FLAGS & ~otp28and29) | DFLAG.PUBLISHED, 0xd07df7fbdn); // observed from OTP 25.2.3
    assert.equal(DEFAULT_FLAGS & otp28and29, otp28and29);
    assert.equal(missingMandatory(0xd07df7fbdn), 0n);
    assert.equal(missingMandatory(DFLAG.MANDATORY_25_DIGEST), 0n);
    assert.deepEqual(flagNames(missingMandatory(MANDATORY_FLAGS & ~DFLAG.UTF8_ATOMS)), ['UTF8_ATOMS']);
    assert.equal(negotiateFlags(DEFAULT_FLAGS, DFLAG.MANDATORY_25_DIGEST) & MANDATORY_FLAGS, MANDATORY_FLAGS);
  });

  it('resolves simultaneous connects like net_kernel', () => {
    assert.equal(simultaneousStatus('b@h', 'a@h'), 'nok');
    assert.equal(simultaneousStatus('a@h', 'b@h'), 'ok_simultaneous');
  });
});

describe('handshake between both roles', () => {
  it('completes over TCP with the same cookie', async () => {
    const [c, s] = await socketPair();
    s.write(Buffer.alloc(0));
    const [ri, ra] = await Promise.all([initiateHandshake(c, { ...A, peerName: B.name }), acceptHandshake(s, B)]);
    assert.equal(ri.peerName, B.name);
    assert.equal(ri.peerCreation, B.creation);
    assert.equal(ra.peerName, A.name);
    assert.equal(ra.peerCreation, A.creation);
    assert.equal(ri.flags, DEFAULT_FLAGS);
    assert.equal(ra.peerVersion, 6);
    assert.equal(ri.role, 'initiator');
    assert.equal(ra.role, 'acceptor');
    c.destroy();
    s.destroy();
  });

  it('keeps bytes that arrive right after the handshake', async () => {
    const [c, s] = await socketPair();
    const accepted = acceptHandshake(s, B).then((r) => {
      r.socket.write(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 7]));
      return r;
    });
    const ri = await initiateHandshake(c, A);
    await accepted;
    let early = ri.buffered;
    if (early.length < 9) {
      ri.socket.resume();
      early = Buffer.concat([early, await new Promise<Buffer>((resolve) => ri.socket.once('data', resolve))]);
    }
    assert.deepEqual([...early], [0, 0, 0, 0, 0, 0, 0, 1, 7]);
    c.destroy();
    s.destroy();
  });

  it('refuses a wrong cookie with bad_cookie on the acceptor, and the initiator sees the close', async () => {
    const [c, s] = await socketPair();
    const init = settle(initiateHandshake(c, { ...A, cookie: 'wrong' }));
    const acc = settle(acceptHandshake(s, B));
    await rejectsWith(acc, 'bad_cookie');
    await rejectsWith(init, 'connection_closed');
  });

  it('refuses a wrong acknowledgement with bad_cookie on the initiator', async () => {
    const [c, s] = await socketPair();
    // A fake acceptor that knows the initiator's cookie for the reply but answers with a bad ack.
    const fake = (async () => {
      const got: Buffer[] = [];
      s.on('data', (b: Buffer) => got.push(b));
      s.write(packet16(Buffer.from('sok')));
      s.write(
        packet16(new ByteWriter().u8(0x4e).u64(DEFAULT_FLAGS).u32(42).u32(7).u16(B.name.length).bytes(Buffer.from(B.name)).toBuffer()),
      );
      while (Buffer.concat(got).length < 2 + 1 + 8 + 4 + 2 + A.name.length + 2 + 21) {
        await new Promise((r) => s.once('data', r));
      }
      s.write(packet16(Buffer.concat([Buffer.from('a'), Buffer.alloc(16)])));
    })();
    await rejectsWith(initiateHandshake(c, A), 'bad_cookie');
    await fake;
    s.destroy();
  });

  it('answers not_allowed when mandatory flags are missing', async () => {
    const [c, s] = await socketPair();
    const init = settle(initiateHandshake(c, { ...A, flags: DEFAULT_FLAGS & ~DFLAG.UTF8_ATOMS & ~DFLAG.MANDATORY_25_DIGEST }));
    await rejectsWith(acceptHandshake(s, B), 'not_allowed');
    await rejectsWith(init, 'not_allowed');
  });

  it('initiator refuses an acceptor that lacks mandatory flags', async () => {
    const [c, s] = await socketPair();
    const acc = settle(acceptHandshake(s, { ...B, flags: DEFAULT_FLAGS & ~DFLAG.MAP_TAG & ~DFLAG.MANDATORY_25_DIGEST }));
    await rejectsWith(initiateHandshake(c, A), 'not_allowed');
    await rejectsWith(acc, 'connection_closed');
  });

  it('accepts a peer offering only MANDATORY_25_DIGEST + HANDSHAKE_23', async () => {
    const [c, s] = await socketPair();
    const [ri, ra] = await Promise.all([
      initiateHandshake(c, { ...A, flags: DFLAG.MANDATORY_25_DIGEST | DFLAG.HANDSHAKE_23 }),
      acceptHandshake(s, B),
    ]);
    assert.equal(ra.flags & MANDATORY_FLAGS, MANDATORY_FLAGS);
    assert.equal(ri.flags, DFLAG.MANDATORY_25_DIGEST | DFLAG.HANDSHAKE_23);
    c.destroy();
    s.destroy();
  });

  it('passes the simultaneous-connect decision through the hook', async () => {
    for (const status of ['nok', 'ok_simultaneous'] as const) {
      const [c, s] = await socketPair();
      const seen: string[] = [];
      const acc = settle(
        acceptHandshake(s, {
          ...B,
          decide: (peer) => {
            seen.push(peer.name);
            return status;
          },
        }),
      );
      const init = settle(initiateHandshake(c, A));
      if (status === 'nok') {
        await rejectsWith(init, 'nok');
        await rejectsWith(acc, 'nok');
      } else {
        await Promise.all([init, acc]);
        c.destroy();
        s.destroy();
      }
      assert.deepEqual(seen, [A.name]);
    }
  });

  it('handles alive: the initiator confirms or gives up', async () => {
    for (const goOn of [true, false]) {
      const [c, s] = await socketPair();
      const acc = settle(acceptHandshake(s, { ...B, decide: () => 'alive' }));
      const init = settle(initiateHandshake(c, { ...A, onAlive: () => goOn }));
      if (goOn) {
        await Promise.all([init, acc]);
        c.destroy();
        s.destroy();
      } else {
        await rejectsWith(init, 'alive');
        await rejectsWith(acc, 'alive');
      }
    }
  });

  it('accepts a version 5 name followed by the complement', async () => {
    const [c, s] = await socketPair();
    const acc = acceptHandshake(s, B);
    const flags = DEFAULT_FLAGS;
    const reply = collect(c);
    const received: Buffer[] = [];
    c.on('data', (b: Buffer) => received.push(b));
    c.write(packet16(new ByteWriter().u8(0x6e).u16(5).u32(Number(flags & 0xffffffffn)).bytes(Buffer.from(A.name)).toBuffer()));
    // wait for status + challenge
    const challengeLen = 2 + 3 + 2 + 1 + 8 + 4 + 4 + 2 + B.name.length;
    while (Buffer.concat(received).length < challengeLen) await new Promise((r) => c.once('data', r));
    const all = Buffer.concat(received);
    assert.equal(all.subarray(2, 5).toString(), 'sok');
    const ch = all.subarray(5 + 2);
    assert.equal(ch[0], 0x4e);
    const challenge = ch.readUInt32BE(9);
    c.write(packet16(new ByteWriter().u8(0x63).u32(Number(flags >> 32n)).u32(0xabcdef).toBuffer()));
    c.write(packet16(new ByteWriter().u8(0x72).u32(99).bytes(genDigest(challenge, 'secret')).toBuffer()));
    const ra = await acc;
    assert.equal(ra.peerVersion, 5);
    assert.equal(ra.peerCreation, 0xabcdef);
    assert.equal(ra.peerFlags, flags);
    s.destroy();
    const rest = await reply;
    assert.ok(rest.length > 0);
  });

  it('works over TLS with a self-signed certificate (openssl)', async (t) => {
    let creds;
    try {
      creds = await createSelfSignedCertificate();
    } catch (e) {
      if (process.env['CI'] === 'true') throw e;
      t.skip(`openssl unavailable: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    const accepted: Promise<unknown>[] = [];
    const server = await listenTransport({ tls: { cert: creds.cert, key: creds.key } }, (sock) => {
      accepted.push(acceptHandshake(sock, B).then((r) => r.socket.destroy()));
    });
    try {
      const sock = await connectTransport({ host: '127.0.0.1', port: server.port, tls: { ca: creds.ca ?? creds.cert } });
      const r = await initiateHandshake(sock, A);
      assert.equal(r.peerName, B.name);
      assert.ok((r.socket as TLSSocket).encrypted);
      r.socket.destroy();
      await Promise.all(accepted);
      // an untrusted certificate is refused before the handshake
      await assert.rejects(connectTransport({ host: '127.0.0.1', port: server.port, tls: {} }), (e) => isDistError(e, 'socket_error'));
    } finally {
      await server.close();
    }
  });
});

describe('hostile peers close only their own socket', () => {
  async function acceptorGets(bytes: Buffer, code: DistError['code'], opts: Partial<AcceptOptions> = {}): Promise<void> {
    const [c, s] = await socketPair();
    c.on('error', () => {});
    const acc = settle(acceptHandshake(s, { ...B, ...opts }));
    c.write(bytes);
    await rejectsWith(acc, code);
    await closedSocket(c);
    assert.ok(s.destroyed);
  }

  it('garbage', () => acceptorGets(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'handshake_protocol'));
  it('zero length packet', () => acceptorGets(Buffer.from([0, 0]), 'handshake_protocol'));
  it('huge declared length', () => acceptorGets(Buffer.from([0xff, 0xff, 0x4e]), 'handshake_protocol'));
  it('silence (timeout)', () => acceptorGets(Buffer.from([0x00, 0x20, 0x4e]), 'handshake_timeout', { timeout: 200 }));
  it('truncated send_name', () => acceptorGets(packet16(Buffer.from([0x4e, 0, 0, 0])), 'handshake_protocol'));
  it('name length beyond the packet', () =>
    acceptorGets(packet16(new ByteWriter().u8(0x4e).u64(DEFAULT_FLAGS).u32(1).u16(500).bytes(Buffer.from('x@y')).toBuffer()), 'handshake_protocol'));
  it('name without @', () =>
    acceptorGets(packet16(new ByteWriter().u8(0x4e).u64(DEFAULT_FLAGS).u32(1).u16(3).bytes(Buffer.from('xyz')).toBuffer()), 'handshake_protocol'));
  it('invalid UTF-8 name', () =>
    acceptorGets(packet16(new ByteWriter().u8(0x4e).u64(DEFAULT_FLAGS).u32(1).u16(3).bytes(Buffer.from([0x61, 0x40, 0xff])).toBuffer()), 'handshake_protocol'));
  it('unknown version in n', () => acceptorGets(packet16(new ByteWriter().u8(0x6e).u16(9).u32(0).bytes(Buffer.from('a@b')).toBuffer()), 'unsupported_version'));
  it('close mid-handshake', async () => {
    const [c, s] = await socketPair();
    const acc = acceptHandshake(s, B);
    c.end(Buffer.from([0, 10, 0x4e]));
    await rejectsWith(acc, 'connection_closed');
  });
  it('initiator: bad status', async () => {
    const [c, s] = await socketPair();
    s.on('data', () => {});
    const init = initiateHandshake(c, A);
    s.write(packet16(Buffer.from('sbogus')));
    await rejectsWith(init, 'bad_status');
    await closedSocket(s);
  });
  it('initiator: peer name mismatch', async () => {
    const [c, s] = await socketPair();
    const acc = acceptHandshake(s, B).catch((e: unknown) => e);
    await rejectsWith(initiateHandshake(c, { ...A, peerName: 'other@127.0.0.1' }), 'peer_name_mismatch');
    assert.ok(isDistError(await acc));
  });
  it('many hostile clients in parallel do not disturb a good one', async () => {
    const bad = Array.from({ length: 20 }, async (_, i) => {
      const [c, s] = await socketPair();
      c.on('error', () => {});
      const acc = acceptHandshake(s, B).catch((e: unknown) => e);
      c.write(i % 2 === 0 ? Buffer.from([0, 0]) : Buffer.from('\x00\x05hello'));
      return acc;
    });
    const [c, s] = await socketPair();
    const good = Promise.all([initiateHandshake(c, A), acceptHandshake(s, B)]);
    const results = await Promise.all(bad);
    for (const r of results) assert.ok(isDistError(r));
    await good;
    c.destroy();
    s.destroy();
  });
});

