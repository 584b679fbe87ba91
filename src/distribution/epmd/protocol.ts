/**
 * EPMD wire format: request and response encoders and bounds-checked
 * decoders, shared by the client and the embedded server.
 *
 * Every request is `u16 length` + body; integers are big-endian. See
 * `erl_dist_protocol.md` §EPMD and the interop notes §4.
 * @module
 */
import { ByteReader, ByteWriter } from '../bytes.js';
import { DistError } from '../errors.js';

/** Request and response tags. */
export const EPMD = {
  ALIVE2_REQ: 120,
  ALIVE2_X_RESP: 118,
  ALIVE2_RESP: 121,
  PORT_PLEASE2_REQ: 122,
  PORT2_RESP: 119,
  NAMES_REQ: 110,
  DUMP_REQ: 100,
  KILL_REQ: 107,
  STOP_REQ: 115,
} as const;

/** The port EPMD listens on unless ERL_EPMD_PORT says otherwise. */
export const DEFAULT_EPMD_PORT = 4369;

/** Node type in ALIVE2_REQ / PORT2_RESP. */
export const NODE_TYPE = { NORMAL: 77, HIDDEN: 72 } as const;

/** Largest node name part accepted in EPMD messages (Erlang atoms hold at most 255 characters). */
export const MAX_EPMD_NAME_BYTES = 1020;

/** A node as registered in EPMD (the body of ALIVE2_REQ and PORT2_RESP). */
export interface EpmdNodeInfo {
  /** The name part before `@`. */
  name: string;
  /** The node's distribution listen port. */
  port: number;
  /** 77 normal, 72 hidden. */
  nodeType: number;
  /** 0 = TCP/IPv4. */
  protocol: number;
  /** Highest distribution version the node speaks (6 for OTP 23+). */
  highestVersion: number;
  /** Lowest distribution version the node speaks (OTP 25.2.3 registers 5). */
  lowestVersion: number;
  /** Extra bytes, usually empty. */
  extra: Uint8Array;
}

function nameBytes(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > MAX_EPMD_NAME_BYTES) throw new RangeError(`bad EPMD node name ${JSON.stringify(name)}`);
  return b;
}

function decodeEpmdName(b: Buffer): string {
  const s = b.toString('utf8');
  if (b.length === 0 || b.length > MAX_EPMD_NAME_BYTES || !Buffer.from(s, 'utf8').equals(b)) {
    throw new DistError('epmd_protocol', 'invalid node name');
  }
  return s;
}

function writeNodeInfo(w: ByteWriter, info: EpmdNodeInfo): ByteWriter {
  const n = nameBytes(info.name);
  return w
    .u16(info.port)
    .u8(info.nodeType)
    .u8(info.protocol)
    .u16(info.highestVersion)
    .u16(info.lowestVersion)
    .u16(n.length)
    .bytes(n)
    .u16(info.extra.length)
    .bytes(info.extra);
}

function readNodeInfo(r: ByteReader): EpmdNodeInfo {
  const port = r.u16('port');
  const nodeType = r.u8('node type');
  const protocol = r.u8('protocol');
  const highestVersion = r.u16('highest version');
  const lowestVersion = r.u16('lowest version');
  const name = decodeEpmdName(r.bytes(r.u16('name length'), 'name'));
  const extra = Uint8Array.from(r.bytes(r.u16('extra length'), 'extra'));
  return { name, port, nodeType, protocol, highestVersion, lowestVersion, extra };
}

/** ALIVE2_REQ packet (with its u16 length). */
export function encodeAlive2Req(info: EpmdNodeInfo): Buffer {
  return writeNodeInfo(new ByteWriter().u8(EPMD.ALIVE2_REQ), info).toPacket16();
}

/** Decodes an ALIVE2_REQ body (after the tag). */
export function decodeAlive2Req(r: ByteReader): EpmdNodeInfo {
  return readNodeInfo(r);
}

/** ALIVE2_X_RESP (result + 32-bit creation), no length prefix. */
export function encodeAlive2XResp(result: number, creation: number): Buffer {
  return new ByteWriter().u8(EPMD.ALIVE2_X_RESP).u8(result).u32(creation).toBuffer();
}

/** PORT_PLEASE2_REQ packet for the name part of a node. */
export function encodePortPlease2Req(name: string): Buffer {
  return new ByteWriter().u8(EPMD.PORT_PLEASE2_REQ).bytes(nameBytes(name)).toPacket16();
}

/** Decodes a PORT_PLEASE2_REQ body (after the tag). */
export function decodePortPlease2Req(r: ByteReader): string {
  return decodeEpmdName(r.rest());
}

/** PORT2_RESP: the node's info, or `[119, 1]` when not registered. No length prefix. */
export function encodePort2Resp(info: EpmdNodeInfo | undefined): Buffer {
  const w = new ByteWriter().u8(EPMD.PORT2_RESP);
  return (info === undefined ? w.u8(1) : writeNodeInfo(w.u8(0), info)).toBuffer();
}

/** Decodes a complete PORT2_RESP (including its tag); undefined when the node is not registered. */
export function decodePort2Resp(buf: Buffer): EpmdNodeInfo | undefined {
  const r = new ByteReader(buf, 'epmd_protocol');
  const tag = r.u8('tag');
  if (tag !== EPMD.PORT2_RESP) throw new DistError('epmd_protocol', `expected PORT2_RESP, got tag ${tag}`);
  const result = r.u8('result');
  if (result !== 0) return undefined;
  return readNodeInfo(r);
}

/** NAMES_REQ packet. */
export function encodeNamesReq(): Buffer {
  return new ByteWriter().u8(EPMD.NAMES_REQ).toPacket16();
}

/** NAMES response: EPMD's port, then `name <n> at port <p>\n` lines. */
export function encodeNamesResp(epmdPort: number, nodes: readonly { name: string; port: number }[]): Buffer {
  const text = nodes.map((n) => `name ${n.name} at port ${n.port}\n`).join('');
  return new ByteWriter().u32(epmdPort).bytes(Buffer.from(text, 'utf8')).toBuffer();
}

/** A parsed NAMES response. */
export interface EpmdNames {
  /** The port EPMD reported. */
  epmdPort: number;
  /** Registered nodes. */
  nodes: { name: string; port: number }[];
}

/** Decodes a complete NAMES response. Lines that do not match the format are skipped. */
export function decodeNamesResp(buf: Buffer): EpmdNames {
  const r = new ByteReader(buf, 'epmd_protocol');
  const epmdPort = r.u32('epmd port');
  const nodes: { name: string; port: number }[] = [];
  for (const line of r.rest().toString('utf8').split('\n')) {
    const m = /^name (.+) at port (\d+)$/.exec(line);
    if (m !== null) nodes.push({ name: m[1] as string, port: Number(m[2]) });
  }
  return { epmdPort, nodes };
}
