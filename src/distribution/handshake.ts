/**
 * The Erlang distribution handshake, version 6 (OTP 23+), in both roles.
 *
 * - Initiator: sends `'N'` (send_name), reads the status, the challenge, sends
 *   the challenge reply and checks the acknowledgement.
 * - Acceptor: accepts `'N'`, and also the version 5 `'n'` from OTP 23/24
 *   nodes that skipped EPMD (followed by the `'c'` complement when the peer
 *   has HANDSHAKE_23).
 *
 * Digest = MD5(cookie ++ decimal text of the unsigned 32-bit challenge), as
 * `dist_util:gen_digest/2` computes it; digests are compared in constant time.
 * Every failure rejects with a {@link DistError} and destroys only the socket
 * concerned. Works over `net.Socket` and `tls.TLSSocket` alike.
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteReader, ByteWriter } from './bytes.js';
import { DistError } from './errors.js';
import { DEFAULT_FLAGS, DFLAG, MANDATORY_FLAGS, flagNames, missingMandatory, negotiateFlags } from './flags.js';
import { SocketReader } from './socket-reader.js';

/** Status an acceptor sends after reading the peer's name. */
export type HandshakeStatus = 'ok' | 'ok_simultaneous' | 'nok' | 'not_allowed' | 'alive';

/** Options shared by both roles. */
export interface HandshakeOptions {
  /** Our full node name, `name@host`. */
  name: string;
  /** The shared secret. Erlang cookies are atoms; only Latin-1 text can work with OTP. */
  cookie: string;
  /** Our creation (u32, non-zero), normally the one EPMD issued. */
  creation: number;
  /** Flags we offer; default {@link DEFAULT_FLAGS}. */
  flags?: bigint;
  /** Flags the peer must offer, else `not_allowed`; default {@link MANDATORY_FLAGS}. */
  mandatoryFlags?: bigint;
  /** Milliseconds for the whole handshake; default 7000 (OTP's net_setuptime). */
  timeout?: number;
  /**
   * Bytes of each handshake message's length: 2 over TCP (default), 4 over
   * TLS, as Erlang's `inet_tls_dist` keeps `{packet, 4}` for the handshake.
   */
  packetHeader?: 2 | 4;
}

/** What the initiator knows about the acceptor when it answers `alive`. */
export interface PeerInfo {
  /** The peer's node name (for the initiator: the expected name, if given). */
  name: string;
  /** The flags the peer offered. */
  flags: bigint;
  /** Handshake version the peer used: 6 for `'N'`, 5 for `'n'`. */
  version: 5 | 6;
  /** The peer's creation; 0 when a version 5 peer has not sent its complement yet. */
  creation: number;
}

/** Options of {@link initiateHandshake}. */
export interface InitiateOptions extends HandshakeOptions {
  /** The node we expect to reach; a challenge from another name fails with `peer_name_mismatch`. */
  peerName?: string;
  /**
   * Called when the acceptor answers `alive` (it already has a connection
   * with our name). Return true to replace that connection (we are a new
   * incarnation), false to give up. Default: true.
   */
  onAlive?: (peerName: string) => boolean | Promise<boolean>;
}

/** Options of {@link acceptHandshake}. */
export interface AcceptOptions extends HandshakeOptions {
  /**
   * Decides the status sent to a peer that offered acceptable flags. Return
   * `ok` normally; for a simultaneous connect (we are connecting to the same
   * node) return {@link simultaneousStatus}'s answer; `alive` when a
   * connection with that node already exists (the initiator then confirms).
   * Default: `ok`.
   */
  decide?: (peer: PeerInfo) => HandshakeStatus | Promise<HandshakeStatus>;
}

/** A completed handshake: the socket is ready for u32 framing. */
export interface HandshakeResult {
  /** The socket, paused, with no data listener attached. */
  socket: Socket;
  /** Which side we were. */
  role: 'initiator' | 'acceptor';
  /** The peer's node name. */
  peerName: string;
  /** The peer's creation. */
  peerCreation: number;
  /** The flags the peer offered. */
  peerFlags: bigint;
  /** The flags in effect: ours intersected with the peer's. */
  flags: bigint;
  /** Handshake version the peer used. */
  peerVersion: 5 | 6;
  /** Bytes received after the handshake, the start of the first frame(s). */
  buffered: Buffer;
}

const TAG_SEND_NAME_V6 = 0x4e; // 'N'
const TAG_SEND_NAME_V5 = 0x6e; // 'n'
const TAG_STATUS = 0x73; // 's'
const TAG_REPLY = 0x72; // 'r'
const TAG_ACK = 0x61; // 'a'
const TAG_COMPLEMENT = 0x63; // 'c'
const MAX_NAME_BYTES = 1023;
/** Largest handshake packet accepted: an 'N' message with the longest name, plus slack for ignored extra bytes. */
const MAX_PACKET = 2048;

/** MD5(cookie ++ decimal unsigned challenge): the 16-byte digest of `dist_util:gen_digest/2`. */
export function genDigest(challenge: number, cookie: string): Buffer {
  return createHash('md5')
    .update(Buffer.from(cookie, 'latin1'))
    .update(String(challenge >>> 0))
    .digest();
}

/** Constant-time check of a received digest against the expected one. */
export function checkDigest(received: Uint8Array, challenge: number, cookie: string): boolean {
  const expected = genDigest(challenge, cookie);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** A fresh random 32-bit challenge. */
export function genChallenge(): number {
  return randomBytes(4).readUInt32BE(0);
}

/**
 * The status an acceptor sends when it is itself connecting to the same peer
 * (simultaneous connect): as in `net_kernel`, the node with the greater name
 * keeps its own outgoing connection (`nok` to the incoming one); the other
 * accepts the incoming one and abandons its own (`ok_simultaneous`).
 * Names compare as Erlang atoms do, by their UTF-8 bytes.
 */
export function simultaneousStatus(ourName: string, peerName: string): 'ok_simultaneous' | 'nok' {
  return Buffer.compare(Buffer.from(ourName, 'utf8'), Buffer.from(peerName, 'utf8')) > 0 ? 'nok' : 'ok_simultaneous';
}

function checkOptions(o: HandshakeOptions): void {
  if (!Number.isInteger(o.creation) || o.creation < 0 || o.creation > 0xffffffff) throw new RangeError('creation must be a u32');
  const n = Buffer.byteLength(o.name, 'utf8');
  if (n === 0 || n > MAX_NAME_BYTES || !o.name.includes('@')) throw new RangeError(`bad node name ${JSON.stringify(o.name)}`);
}

function decodeName(bytes: Buffer): string {
  const name = bytes.toString('utf8');
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES || !name.includes('@') || !Buffer.from(name, 'utf8').equals(bytes)) {
    throw new DistError('handshake_protocol', `invalid node name in handshake (${bytes.length} bytes)`);
  }
  return name;
}

function write(socket: Socket, packet: ByteWriter, header: 2 | 4 = 2): void {
  if (header === 2) {
    socket.write(packet.toPacket16());
    return;
  }
  const body = packet.toBuffer();
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length);
  socket.write(Buffer.concat([head, body]));
}

/** Runs `body` with a reader and a deadline; on failure destroys the socket and rethrows a DistError. */
async function runHandshake(
  socket: Socket,
  timeout: number,
  body: (reader: SocketReader) => Promise<Omit<HandshakeResult, 'buffered' | 'socket'>>,
): Promise<HandshakeResult> {
  const reader = new SocketReader(socket, 'handshake_protocol');
  const timer = setTimeout(() => reader.fail(new DistError('handshake_timeout', `no handshake within ${timeout} ms`)), timeout);
  try {
    const result = await body(reader);
    const buffered = reader.release();
    return { ...result, socket, buffered };
  } catch (e) {
    reader.release();
    socket.destroy();
    if (e instanceof DistError) throw e;
    throw new DistError('handshake_protocol', e instanceof Error ? e.message : String(e), { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

function parseStatus(body: Buffer): string {
  if (body[0] !== TAG_STATUS) throw new DistError('handshake_protocol', `expected status 's', got tag ${body[0]}`);
  return body.subarray(1).toString('latin1');
}

function requireMandatory(flags: bigint, mandatory: bigint, who: string): void {
  const missing = missingMandatory(flags, mandatory);
  if (missing !== 0n) throw new DistError('not_allowed', `${who} lacks mandatory flags ${flagNames(missing).join(', ')}`);
}

/**
 * Runs the handshake as initiator over a connected socket (TCP or TLS).
 * Resolves when the acceptor's digest is verified; rejects with a
 * {@link DistError} (`bad_cookie`, `not_allowed`, `nok`, `alive`,
 * `handshake_timeout`, `handshake_protocol`, `connection_closed`, ...) and
 * destroys the socket otherwise.
 */
export function initiateHandshake(socket: Socket, options: InitiateOptions): Promise<HandshakeResult> {
  checkOptions(options);
  const ourFlags = options.flags ?? DEFAULT_FLAGS;
  const mandatory = options.mandatoryFlags ?? MANDATORY_FLAGS;
  return runHandshake(socket, options.timeout ?? 7000, async (reader) => {
    const nameBytes = Buffer.from(options.name, 'utf8');
    write(
      socket,
      new ByteWriter().u8(TAG_SEND_NAME_V6).u64(ourFlags).u32(options.creation).u16(nameBytes.length).bytes(nameBytes),
      options.packetHeader,
    );

    const status = parseStatus(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET));
    switch (status) {
      case 'ok':
      case 'ok_simultaneous':
        break;
      case 'nok':
        throw new DistError('nok', 'peer is connecting to us at the same time and keeps its own connection');
      case 'not_allowed':
        throw new DistError('not_allowed', 'peer refused our flags or our name');
      case 'alive': {
        const goOn = options.onAlive === undefined ? true : await options.onAlive(options.peerName ?? '');
        write(socket, new ByteWriter().u8(TAG_STATUS).bytes(Buffer.from(goOn ? 'true' : 'false')), options.packetHeader);
        if (!goOn) throw new DistError('alive', 'peer already has a connection with our name; gave up');
        break;
      }
      default:
        throw new DistError('bad_status', `unsupported handshake status ${JSON.stringify(status.slice(0, 32))}`);
    }

    const r = new ByteReader(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET), 'handshake_protocol');
    const tag = r.u8('challenge tag');
    if (tag !== TAG_SEND_NAME_V6) throw new DistError('unsupported_version', `expected challenge 'N', got tag ${tag}`);
    const peerFlags = r.u64('challenge flags');
    const challenge = r.u32('challenge');
    const peerCreation = r.u32('challenge creation');
    const peerName = decodeName(r.bytes(r.u16('challenge name length'), 'challenge name'));
    if (options.peerName !== undefined && peerName !== options.peerName) {
      throw new DistError('peer_name_mismatch', `expected ${options.peerName}, reached ${peerName}`);
    }
    requireMandatory(peerFlags, mandatory, `peer ${peerName}`);

    const ourChallenge = genChallenge();
    write(socket, new ByteWriter().u8(TAG_REPLY).u32(ourChallenge).bytes(genDigest(challenge, options.cookie)), options.packetHeader);

    const ack = new ByteReader(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET), 'handshake_protocol');
    const ackTag = ack.u8('ack tag');
    if (ackTag !== TAG_ACK) throw new DistError('handshake_protocol', `expected challenge ack 'a', got tag ${ackTag}`);
    if (!checkDigest(ack.bytes(16, 'ack digest'), ourChallenge, options.cookie)) {
      throw new DistError('bad_cookie', `${peerName} answered our challenge with a wrong digest`);
    }
    return {
      role: 'initiator',
      peerName,
      peerCreation,
      peerFlags,
      flags: negotiateFlags(ourFlags, peerFlags),
      peerVersion: 6,
    };
  });
}

/**
 * Runs the handshake as acceptor over an accepted socket (TCP or TLS).
 * Resolves when the initiator's digest is verified and our ack is sent;
 * rejects with a {@link DistError} (`bad_cookie` for a wrong cookie,
 * `not_allowed`, `nok`, `alive`, `handshake_timeout`, `handshake_protocol`,
 * ...) and destroys the socket otherwise.
 */
export function acceptHandshake(socket: Socket, options: AcceptOptions): Promise<HandshakeResult> {
  checkOptions(options);
  const ourFlags = options.flags ?? DEFAULT_FLAGS;
  const mandatory = options.mandatoryFlags ?? MANDATORY_FLAGS;
  return runHandshake(socket, options.timeout ?? 7000, async (reader) => {
    const r = new ByteReader(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET), 'handshake_protocol');
    const tag = r.u8('name tag');
    let peer: PeerInfo;
    if (tag === TAG_SEND_NAME_V6) {
      const flags = r.u64('name flags');
      const creation = r.u32('name creation');
      const name = decodeName(r.bytes(r.u16('name length'), 'name'));
      peer = { name, flags, creation, version: 6 };
    } else if (tag === TAG_SEND_NAME_V5) {
      const version = r.u16('name version');
      if (version !== 5) throw new DistError('unsupported_version', `'n' with version ${version}`);
      const flags = BigInt(r.u32('name flags'));
      peer = { name: decodeName(r.rest()), flags, creation: 0, version: 5 };
    } else {
      throw new DistError('handshake_protocol', `expected send_name 'N' or 'n', got tag ${tag}`);
    }

    const sendStatus = (s: string): void => write(socket, new ByteWriter().u8(TAG_STATUS).bytes(Buffer.from(s, 'latin1')), options.packetHeader);
    const missing = missingMandatory(peer.flags, mandatory);
    if (missing !== 0n) {
      sendStatus('not_allowed');
      throw new DistError('not_allowed', `${peer.name} lacks mandatory flags ${flagNames(missing).join(', ')}`);
    }
    const status = options.decide === undefined ? 'ok' : await options.decide(peer);
    sendStatus(status);
    if (status === 'nok') throw new DistError('nok', `refused simultaneous connection from ${peer.name}`);
    if (status === 'not_allowed') throw new DistError('not_allowed', `refused connection from ${peer.name}`);
    if (status === 'alive') {
      const answer = parseStatus(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET));
      if (answer !== 'true') throw new DistError('alive', `${peer.name} did not confirm replacing its live connection`);
    }

    const challenge = genChallenge();
    const nameBytes = Buffer.from(options.name, 'utf8');
    const withComplement = peer.version === 5 && (peer.flags & DFLAG.HANDSHAKE_23) !== 0n;
    if (peer.version === 6 || withComplement) {
      write(
        socket,
        new ByteWriter()
          .u8(TAG_SEND_NAME_V6)
          .u64(ourFlags)
          .u32(challenge)
          .u32(options.creation)
          .u16(nameBytes.length)
          .bytes(nameBytes),
        options.packetHeader,
      );
    } else {
      write(socket, new ByteWriter().u8(TAG_SEND_NAME_V5).u16(5).u32(Number(ourFlags & 0xffffffffn)).u32(challenge).bytes(nameBytes), options.packetHeader);
    }

    if (withComplement) {
      const c = new ByteReader(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET), 'handshake_protocol');
      const cTag = c.u8('complement tag');
      if (cTag !== TAG_COMPLEMENT) throw new DistError('handshake_protocol', `expected complement 'c', got tag ${cTag}`);
      const flagsHigh = c.u32('complement flags');
      peer = { ...peer, flags: peer.flags | (BigInt(flagsHigh) << 32n), creation: c.u32('complement creation') };
    }

    const reply = new ByteReader(await reader.readPacket(options.packetHeader ?? 2, MAX_PACKET), 'handshake_protocol');
    const rTag = reply.u8('reply tag');
    if (rTag !== TAG_REPLY) throw new DistError('handshake_protocol', `expected challenge reply 'r', got tag ${rTag}`);
    const peerChallenge = reply.u32('reply challenge');
    if (!checkDigest(reply.bytes(16, 'reply digest'), challenge, options.cookie)) {
      throw new DistError('bad_cookie', `connection attempt from ${peer.name} rejected: invalid challenge reply`);
    }
    write(socket, new ByteWriter().u8(TAG_ACK).bytes(genDigest(peerChallenge, options.cookie)), options.packetHeader);
    return {
      role: 'acceptor',
      peerName: peer.name,
      peerCreation: peer.creation,
      peerFlags: peer.flags,
      flags: negotiateFlags(ourFlags, peer.flags),
      peerVersion: peer.version,
    };
  });
}
