/**
 * The connected phase of a distribution connection: u32-length frames,
 * ticks, liveness, batched writes with backpressure reporting, fragment
 * reassembly and fragmentation, and atom-cache header parsing.
 *
 * - {@link FrameDecoder}: turns socket bytes into frame payloads; a length
 *   above `maxFrameSize` is refused before anything is allocated for it.
 * - {@link FrameParser}: turns payloads into {@link DistFrame}s (normal
 *   `131,68` frames, reassembled `131,69`/`131,70` fragments, pass-through
 *   `112` frames) with the resolved atom table and the control term's offset.
 * - {@link encodeMessageFrames}: builds outgoing frame payloads, fragmented at
 *   64 KiB when the peer accepts FRAGMENTS.
 * - {@link DistConnection}: all of the above on a socket after the handshake.
 *
 * Terms are not decoded here: a frame gives the bytes, the offset where the
 * control term starts and the atom table to decode ATOM_CACHE_REFs with.
 * @module
 */
import type { Socket } from 'node:net';
import { constants as bufferConstants } from 'node:buffer';
import type { Atom } from '../terms/atom.js';
import { AtomCacheReader, AtomCacheWriter } from './atom-cache.js';
import { DistError } from './errors.js';
import { DFLAG } from './flags.js';
import type { HandshakeResult } from './handshake.js';
import { Encoder } from '../etf/encoder.js';
import { EtfWriter } from '../etf/writer.js';
import { RESOLVED } from '../core/scheduler.js';
import { writeControl, writeMessage } from './control-codec.js';
import type { SocketSpin } from './socket-spin.js';
import { WRITES_TO_MEMORY } from './transport.js';

/**
 * Default largest accepted message, whole frame or reassembled fragments:
 * the largest Buffer Node.js can hold (4 GiB on 64-bit), since OTP sets no
 * limit of its own. Whether the decoded term fits the heap is checked when it
 * is decoded (see `maxHeapBytes` of the decoder).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = bufferConstants.MAX_LENGTH;
/**
 * Default largest single frame: 128 MiB. OTP sends anything above 64 KiB in
 * fragments, so only peers without FRAGMENTS send single frames this large;
 * a longer frame is refused on its own (skipped as it arrives, never held).
 */
export const DEFAULT_MAX_FRAME_SIZE = 128 * 1024 * 1024;
/** Fragment size OTP 25 uses, and our default: 64 KiB. */
export const DEFAULT_FRAGMENT_SIZE = 64 * 1024;

const VERSION = 131;
const TAG_HEADER = 68;
const TAG_FRAGMENT_START = 69;
const TAG_FRAGMENT_CONT = 70;
const TAG_PASS_THROUGH = 112;
const FRAGMENT_HEAD = 18; // 131, tag, SeqId u64, FragId u64
/** Size the outgoing batch keeps between flushes. */
const BATCH_KEEP = 64 * 1024;

/** One received distribution message, reassembled if it came in fragments. */
export interface DistFrame {
  /**
   * `header`: a `131,68` (or reassembled `131,69`) frame; its terms carry no
   * 131 version byte and may contain ATOM_CACHE_REFs into {@link DistFrame.atoms}.
   * `pass_through`: a `112` frame; each term starts with its own 131.
   */
  readonly kind: 'header' | 'pass_through';
  /** The frame bytes (for reassembled fragments: the first fragment followed by the continuations' bodies). */
  readonly payload: Buffer;
  /** Resolved atom cache refs of this frame (empty for pass-through). */
  readonly atoms: readonly Atom[];
  /** Offset in `payload` where the control term begins. The message term, if any, follows it. */
  readonly controlOffset: number;
  /** How many frames carried this message (1 unless fragmented). */
  readonly fragments: number;
}

/**
 * Splits a byte stream into u32-length-prefixed frame payloads. A zero-length
 * frame is a tick. A frame longer than `maxFrameSize` is refused on its own:
 * its bytes are skipped as they arrive (never buffered) and `onRefuse` hears
 * of it; the frames after it are read as usual.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Read position in `chunks[0]`: consumed bytes are skipped, not sliced off. */
  private offset = 0;
  private total = 0;
  /** Bytes of a refused frame still to skip. */
  private skipping = 0;
  constructor(
    private readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
    private readonly onRefuse?: (reason: DistError) => void,
  ) {}

  /** Bytes received and not yet returned as a frame. */
  get pending(): number {
    return this.total;
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= 4) return first.readUInt32BE(this.offset);
    let v = 0;
    let k = 0;
    let off = this.offset;
    for (const c of this.chunks) {
      for (; off < c.length && k < 4; off++, k++) v = v * 256 + (c[off] as number);
      if (k === 4) break;
      off = 0;
    }
    return v;
  }

  /** Drops `n` bytes from the front. */
  private skip(n: number): void {
    this.total -= n;
    while (n > 0) {
      const c = this.chunks[0] as Buffer;
      const left = c.length - this.offset;
      if (left > n) {
        this.offset += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    const left = first.length - this.offset;
    if (left >= n) {
      // The common case: the whole frame is inside one chunk, one view and no copy.
      const out = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length - this.offset, n - filled);
      c.copy(out, filled, this.offset, this.offset + k);
      filled += k;
      this.skip(k);
    }
    return out;
  }

  /**
   * Adds received bytes and returns the complete frame payloads (empty
   * Buffers for ticks). A length above the limit is refused before any of
   * its bytes are held: with `onRefuse` the frame is skipped and reported,
   * without it `DistError('frame_too_large')` is thrown.
   */
  push(chunk: Buffer): Buffer[] {
    this.feed(chunk);
    const frames: Buffer[] = [];
    for (let f = this.next(); f !== undefined; f = this.next()) frames.push(f);
    return frames;
  }

  /** Adds received bytes; take the frames with {@link FrameDecoder.next}. */
  feed(chunk: Buffer): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.total += chunk.length;
    }
  }

  /** The next complete frame payload (an empty Buffer for a tick), or undefined when none is complete yet. Refusals as in {@link FrameDecoder.push}. */
  next(): Buffer | undefined {
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.total);
        this.skip(n);
        this.skipping -= n;
        if (this.skipping > 0) return undefined;
      }
      if (this.total < 4) return undefined;
      const len = this.peekLength();
      if (len > this.maxFrameSize) {
        const reason = new DistError('frame_too_large', `frame of ${len} bytes exceeds the ${this.maxFrameSize}-byte limit (raise maxFrameSize)`);
        if (this.onRefuse === undefined) throw reason;
        this.skip(4);
        this.skipping = len;
        this.onRefuse(reason);
        continue;
      }
      if (this.total < 4 + len) return undefined;
      this.skip(4);
      return len === 0 ? EMPTY_FRAME : this.take(len);
    }
  }
}

const EMPTY_FRAME = Buffer.alloc(0);

/** Limits of {@link FrameParser}. */
export interface FrameParserOptions {
  /**
   * Largest message reassembled from fragments; default
   * {@link DEFAULT_MAX_MESSAGE_BYTES}. A larger message is refused on its own
   * (its fragments are dropped as they come); the connection stays up.
   */
  maxMessageBytes?: number;
  /** Total bytes held for incomplete fragmented messages; default {@link DEFAULT_MAX_MESSAGE_BYTES}. Past it, the message that would cross it is refused. */
  maxReassemblyBytes?: number;
  /** Fragmented messages in progress at once; default 1024. More is a protocol violation (the connection closes). */
  maxReassemblies?: number;
  /** Hears of each refused message. Without it a refusal throws `DistError('reassembly_limit')`. */
  onRefuse?: (reason: DistError) => void;
}

interface Reassembly {
  readonly atoms: readonly Atom[];
  readonly controlOffset: number;
  readonly parts: Buffer[];
  bytes: number;
  next: bigint;
  /** Refused: the remaining fragments are dropped. */
  dropped: boolean;
}

/** Turns frame payloads into {@link DistFrame}s; keeps the connection's receive atom cache and fragment state. */
export class FrameParser {
  /** The receiving atom cache of the connection. */
  readonly atomCache = new AtomCacheReader();
  private readonly inFlight = new Map<bigint, Reassembly>();
  private reassemblyBytes = 0;
  private readonly maxMessageBytes: number;
  private readonly maxReassemblyBytes: number;
  private readonly maxReassemblies: number;
  private readonly onRefuse: ((reason: DistError) => void) | undefined;

  constructor(options: FrameParserOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxReassemblyBytes = options.maxReassemblyBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxReassemblies = options.maxReassemblies ?? 1024;
    this.onRefuse = options.onRefuse;
  }

  /** Bytes currently held for incomplete fragmented messages. */
  get heldBytes(): number {
    return this.reassemblyBytes;
  }

  /** Adds `bytes` to a message being reassembled; false (and the message dropped) when that passes a limit. */
  private hold(seqId: bigint, r: Reassembly, bytes: number): boolean {
    const message = r.bytes + bytes;
    const total = this.reassemblyBytes + bytes;
    if (message <= this.maxMessageBytes && total <= this.maxReassemblyBytes) {
      r.bytes = message;
      this.reassemblyBytes = total;
      return true;
    }
    const why =
      message > this.maxMessageBytes
        ? `a fragmented message passed ${this.maxMessageBytes} bytes (raise limits.maxMessageBytes)`
        : `${total} bytes of incomplete fragmented messages would exceed ${this.maxReassemblyBytes} (raise limits.maxReassemblyBytes)`;
    this.reassemblyBytes -= r.bytes;
    r.bytes = 0;
    r.parts.length = 0;
    r.dropped = true;
    const reason = new DistError('reassembly_limit', `sequence ${seqId}: ${why}; the message is refused`);
    if (this.onRefuse === undefined) throw reason;
    this.onRefuse(reason);
    return false;
  }

  /** The frame and atom table {@link FrameParser.parse} fills when asked to reuse them. */
  private readonly reused: { kind: 'header' | 'pass_through'; payload: Buffer; atoms: readonly Atom[]; controlOffset: number; fragments: number } = {
    kind: 'header',
    payload: EMPTY_FRAME,
    atoms: [],
    controlOffset: 0,
    fragments: 1,
  };

  /**
   * Parses one non-empty frame payload. Returns the completed message, or
   * undefined when the frame was a fragment of a message still incomplete
   * (or of a refused one). Throws `DistError` (`frame_protocol`,
   * `atom_cache`, `reassembly_limit`) for violations that close the connection.
   * With `reuse`, a whole `131,68` frame comes back in one object (and atom
   * table) that the next `parse(…, true)` overwrites, so nothing is allocated
   * per frame: read it before parsing the next one.
   */
  /** Lets go of the payload the reused frame still points to (a large message is not held until the next frame comes). */
  releaseReused(): void {
    this.reused.payload = EMPTY_FRAME;
  }

  parse(payload: Buffer, reuse = false): DistFrame | undefined {
    const tag0 = payload[0];
    if (tag0 === TAG_PASS_THROUGH) {
      if (payload[1] !== VERSION) throw new DistError('frame_protocol', 'pass-through frame without a 131 term');
      return { kind: 'pass_through', payload, atoms: [], controlOffset: 1, fragments: 1 };
    }
    if (tag0 !== VERSION) throw new DistError('frame_protocol', `frame starts with ${String(tag0)}, not 131 or 112`);
    const tag = payload[1];
    if (tag === TAG_HEADER) {
      if (reuse) {
        const f = this.reused;
        f.atoms = this.atomCache.read(payload, 2, true);
        f.payload = payload;
        f.controlOffset = this.atomCache.end;
        return f;
      }
      const atoms = this.atomCache.read(payload, 2);
      return { kind: 'header', payload, atoms, controlOffset: this.atomCache.end, fragments: 1 };
    }
    if (tag !== TAG_FRAGMENT_START && tag !== TAG_FRAGMENT_CONT) {
      throw new DistError('frame_protocol', `unknown distribution header tag ${String(tag)}`);
    }
    if (payload.length < FRAGMENT_HEAD) throw new DistError('frame_protocol', 'truncated fragment header');
    const seqId = payload.readBigUInt64BE(2);
    const fragId = payload.readBigUInt64BE(10);
    if (fragId === 0n) throw new DistError('frame_protocol', 'fragment id 0');
    if (tag === TAG_FRAGMENT_START) {
      if (this.inFlight.has(seqId)) throw new DistError('frame_protocol', `fragment sequence ${seqId} started twice`);
      const h = this.atomCache.parse(payload, FRAGMENT_HEAD);
      if (fragId === 1n) return { kind: 'header', payload, atoms: h.atoms, controlOffset: h.end, fragments: 1 };
      if (this.inFlight.size >= this.maxReassemblies) {
        throw new DistError('reassembly_limit', `more than ${this.maxReassemblies} fragmented messages in progress`);
      }
      const r: Reassembly = { atoms: h.atoms, controlOffset: h.end, parts: [], bytes: 0, next: fragId - 1n, dropped: false };
      this.inFlight.set(seqId, r);
      if (this.hold(seqId, r, payload.length)) r.parts.push(payload);
      return undefined;
    }
    const r = this.inFlight.get(seqId);
    if (r === undefined) throw new DistError('frame_protocol', `continuation of unknown fragment sequence ${seqId}`);
    if (fragId !== r.next) throw new DistError('frame_protocol', `sequence ${seqId}: fragment ${fragId} where ${r.next} was due`);
    if (!r.dropped) {
      const body = payload.subarray(FRAGMENT_HEAD);
      if (this.hold(seqId, r, body.length)) r.parts.push(body);
    }
    if (fragId > 1n) {
      r.next = fragId - 1n;
      return undefined;
    }
    this.inFlight.delete(seqId);
    if (r.dropped) return undefined;
    this.reassemblyBytes -= r.bytes;
    const whole = Buffer.concat(r.parts, r.bytes);
    return { kind: 'header', payload: whole, atoms: r.atoms, controlOffset: r.controlOffset, fragments: r.parts.length };
  }
}

/**
 * Resource limits of a node's incoming messages (the `limits` option of
 * `startNode`). The defaults accept what OTP 25 nodes accept from one
 * another; lower them for untrusted peers. A message beyond a limit is
 * refused on its own and logged with the option to raise; the connection stays up.
 */
export interface DistLimits {
  /** Largest message (reassembled fragments); default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** Bytes held for incomplete fragmented messages at once; default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  readonly maxReassemblyBytes?: number;
  /** Largest integer in bytes; default 4 MiB, the widest OTP 25 makes (2^25 bits). */
  readonly maxBigIntBytes?: number;
  /**
   * Widest integer this node sends, in bytes; default 524,280 (4,194,240
   * bits), the widest OTP 26 and later decode: a wider one throws to its
   * sender instead of closing the receiver's connection. Raise it (up to
   * 4 MiB) when every peer runs OTP 25.
   */
  readonly maxSentBigIntBytes?: number;
  /** Largest inflated compressed term; default 1 GiB. */
  readonly maxInflatedBytes?: number;
  /** Heap one decoded message may take; default: what the V8 heap has free (`v8.getHeapStatistics()`). */
  readonly maxHeapBytes?: number;
}

/** How {@link encodeMessageFrames} frames a message. */
export interface EncodeFramesOptions {
  /** The connection's negotiated flags (DIST_HDR_ATOM_CACHE and FRAGMENTS matter). */
  flags: bigint;
  /** Largest frame payload when fragmenting; default 64 KiB. */
  fragmentSize?: number;
  /** Sequence id for fragments (unique among this connection's in-flight sequences). */
  seqId?: bigint;
}

/**
 * Frame payloads (without u32 lengths) for a control term and optional
 * message term, both encoded WITHOUT the 131 version byte. With
 * DIST_HDR_ATOM_CACHE: `131,68,0` + terms (no atom cache refs), split into
 * `131,69`/`131,70` fragments when larger than `fragmentSize` and the peer
 * has FRAGMENTS. Without it: a pass-through `112` frame with a 131 before
 * each term.
 */
export function encodeMessageFrames(control: Uint8Array, message: Uint8Array | undefined, options: EncodeFramesOptions): Buffer[] {
  const terms = message === undefined ? [control] : [control, message];
  if ((options.flags & DFLAG.DIST_HDR_ATOM_CACHE) === 0n) {
    const parts: Uint8Array[] = [Uint8Array.of(TAG_PASS_THROUGH)];
    for (const t of terms) parts.push(Uint8Array.of(VERSION), t);
    return [Buffer.concat(parts)];
  }
  const bodyLen = terms.reduce((n, t) => n + t.length, 0);
  const fragmentSize = options.fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
  if ((options.flags & DFLAG.FRAGMENTS) === 0n || 3 + bodyLen <= fragmentSize) {
    return [Buffer.concat([Uint8Array.of(VERSION, TAG_HEADER, 0), ...terms], 3 + bodyLen)];
  }
  if (fragmentSize <= FRAGMENT_HEAD + 1) throw new RangeError('fragmentSize too small');
  const body = Buffer.concat(terms, bodyLen);
  const firstRoom = fragmentSize - FRAGMENT_HEAD - 1;
  const room = fragmentSize - FRAGMENT_HEAD;
  const count = 1 + Math.ceil(Math.max(0, bodyLen - firstRoom) / room);
  const seqId = options.seqId ?? 1n;
  const frames: Buffer[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const first = i === 0;
    const take = Math.min(first ? firstRoom : room, bodyLen - pos);
    const head = Buffer.allocUnsafe(FRAGMENT_HEAD + (first ? 1 : 0));
    head[0] = VERSION;
    head[1] = first ? TAG_FRAGMENT_START : TAG_FRAGMENT_CONT;
    head.writeBigUInt64BE(seqId, 2);
    head.writeBigUInt64BE(BigInt(count - i), 10);
    if (first) head[FRAGMENT_HEAD] = 0;
    frames.push(Buffer.concat([head, body.subarray(pos, pos + take)]));
    pos += take;
  }
  return frames;
}

/** Options of {@link DistConnection}. */
export interface DistConnectionOptions extends Omit<FrameParserOptions, 'onRefuse'> {
  /** Largest accepted frame; default {@link DEFAULT_MAX_FRAME_SIZE}. A longer frame is refused on its own (skipped, `onRefuse`). */
  maxFrameSize?: number;
  /** Widest integer sent, in bytes (see {@link DistLimits.maxSentBigIntBytes}); default the widest OTP 26+ decodes. */
  maxSentBigIntBytes?: number;
  /** Send a tick when nothing was written for this many ms; default 15000. */
  tickInterval?: number;
  /** Close with `net_tick_timeout` when nothing was read for this many ms (checked every quarter of it, as OTP: closed after 1 to 1.25 times it); default 60000. */
  netTickTime?: number;
  /** Report backpressure when the socket holds more unsent bytes than this; default 8 MiB. */
  highWaterMark?: number;
  /** Fragment outgoing messages larger than this (peer with FRAGMENTS); default 64 KiB. */
  fragmentSize?: number;
  /**
   * Write the frames batched in a turn as soon as they hold this many bytes,
   * without waiting for the turn's end, once per turn (the turn's later
   * frames follow in one write at its end, in order); default
   * {@link DEFAULT_BATCH_BYTES}, `Infinity` for one write per turn. A burst
   * split this way lets the peer start on its first part while this node
   * produces the rest, so the two nodes work at once rather than taking
   * turns: 8 callers over loopback on two cores measured about 1.3x the calls
   * per second and less CPU per call (bench/distribution.ts, `remote_call_8`),
   * while a stream of sends pays one extra write per turn only.
   */
  batchBytes?: number;
  /**
   * Called for every received message. A throw closes the connection with
   * `frame_protocol`, except a `DistError('message_refused')`, which refuses
   * that one message (`onRefuse`) and reads on.
   */
  onFrame?: (frame: DistFrame) => void;
  /**
   * The frame given to `onFrame` (and its `atoms`) may be one object reused
   * for the next frame: `onFrame` reads what it needs before it returns and
   * keeps neither (the node's own connections do this: no allocation per
   * frame). Default false: every frame is a new object.
   */
  reuseFrames?: boolean;
  /**
   * Called for each message refused because it is beyond a resource limit
   * (frame size, reassembly, decoding limits): the message is dropped and
   * the connection stays up. Log it, naming the option to raise.
   */
  onRefuse?: (reason: DistError) => void;
  /** Called once when the connection closes, with the reason. */
  onClose?: (reason: DistError) => void;
  /** Called with true when unsent bytes pass the high-water mark, false when they drain below it. */
  onBackpressure?: (congested: boolean) => void;
  /**
   * The node's idle spin for socket connections (see `socket-spin.ts`): the
   * connection is counted in it while open, marks it when bytes arrive and
   * starts it when frames are written. Absent: no spin (a connection over
   * in-host rings, polled by their own poller).
   */
  spin?: SocketSpin;
}

const TICK = Buffer.alloc(4);

/** {@link DistConnectionOptions.batchBytes}' default: about four calls' frames (monitor, request, demonitor) of the call benchmark, half its burst of 8 callers. */
export const DEFAULT_BATCH_BYTES = 800;


/**
 * A distribution connection after a successful handshake. Reads frames and
 * hands complete messages to `onFrame`; writes frames in batches (one
 * writev per event-loop turn); ticks and watches liveness. Any protocol
 * violation closes only this connection, with a typed {@link DistError}.
 */
export class DistConnection {
  /** The peer's node name. */
  readonly peerName: string;
  /** The peer's creation. */
  readonly peerCreation: number;
  /** Negotiated flags. */
  readonly flags: bigint;
  /** DIST_HDR_ATOM_CACHE is on: frames are `131,68` with atom cache refs (checked per frame, so kept as a boolean). */
  readonly atomCacheHeaders: boolean;
  /** The peer reassembles fragments (FRAGMENTS). */
  private readonly fragments: boolean;
  /** Our role in the handshake. */
  readonly role: 'initiator' | 'acceptor';
  /** Resolves with the close reason once the connection is closed. */
  readonly closed: Promise<DistError>;

  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly parser: FrameParser;
  private readonly opts: DistConnectionOptions;
  private readonly highWaterMark: number;
  private readonly fragmentSize: number;
  private readonly batchBytes: number;
  private readonly reuseFrames: boolean;
  private readonly spin: SocketSpin | undefined;
  /** What a frame's encoding queues as a microtask: {@link flushEarly} on a socket that writes to memory ({@link WRITES_TO_MEMORY}), else the tick that flushes. */
  private readonly flushSoon: () => void;
  private resolveClosed!: (reason: DistError) => void;
  private closeReason: DistError | undefined;
  private corked = false;
  private readonly batch = new EtfWriter(BATCH_KEEP);
  /** Outgoing atom cache (DIST_HDR_ATOM_CACHE), the encoder that uses it, and where a frame's terms are encoded before its header is known. */
  private readonly atomCache = new AtomCacheWriter();
  private readonly cachingEncoder: Encoder;
  /** Header size of the last frame of each kind (control opcode & 63; 0 for a control given as a term): the room left before its terms. */
  private readonly headerGuess = new Int32Array(64).fill(1);
  private flushQueued = false;
  /** This turn's batch was written early, on reaching batchBytes (once per turn: the flush at its end clears it). */
  private wroteEarly = false;
  private wrote = false;
  private isCongested = false;
  private nextSeqId = 1n;
  /** Frames (messages and signals, ticks excluded) received and sent. */
  framesIn = 0;
  framesOut = 0;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly livenessTimer: NodeJS.Timeout;
  /** Chunks read so far, and at the last liveness check; liveness checks in a row that saw none. */
  private receivedChunks = 0;
  private chunksAtCheck = 0;
  private silentChecks = 0;

  constructor(handshake: HandshakeResult, options: DistConnectionOptions = {}) {
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.atomCacheHeaders = (this.flags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n;
    this.fragments = (this.flags & DFLAG.FRAGMENTS) !== 0n;
    this.role = handshake.role;
    this.socket = handshake.socket;
    this.opts = options;
    const nativeRecords = (this.flags & DFLAG.NATIVE_RECORDS) !== 0n;
    this.cachingEncoder = new Encoder(
      options.maxSentBigIntBytes === undefined
        ? { atomCacheIndex: this.atomCache.index, nativeRecords }
        : { atomCacheIndex: this.atomCache.index, maxBigIntBytes: options.maxSentBigIntBytes, nativeRecords },
    );
    this.highWaterMark = options.highWaterMark ?? 8 * 1024 * 1024;
    this.reuseFrames = options.reuseFrames === true;
    this.fragmentSize = options.fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
    const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    if (!(batchBytes >= 1)) throw new RangeError(`batchBytes must be at least 1, got ${batchBytes}`);
    this.batchBytes = batchBytes;
    this.spin = options.spin;
    this.flushSoon = WRITES_TO_MEMORY in handshake.socket ? this.flushEarly : this.queueFlush;
    this.decoder = new FrameDecoder(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE, this.refuse);
    const parserOptions: FrameParserOptions = { onRefuse: this.refuse };
    if (options.maxMessageBytes !== undefined) parserOptions.maxMessageBytes = options.maxMessageBytes;
    if (options.maxReassemblyBytes !== undefined) parserOptions.maxReassemblyBytes = options.maxReassemblyBytes;
    if (options.maxReassemblies !== undefined) parserOptions.maxReassemblies = options.maxReassemblies;
    this.parser = new FrameParser(parserOptions);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });

    const tickInterval = options.tickInterval ?? 15_000;
    const netTickTime = options.netTickTime ?? 60_000;
    this.tickTimer = setInterval(() => this.tick(), tickInterval).unref();
    // As OTP: every quarter of net_ticktime, a check; four in a row with nothing received close the
    // connection (after T to 1.25 T of silence). Reading only bumps a counter.
    this.livenessTimer = setInterval(() => {
      if (this.receivedChunks !== this.chunksAtCheck) {
        this.chunksAtCheck = this.receivedChunks;
        this.silentChecks = 0;
      } else if (++this.silentChecks >= 4) {
        this.fail(new DistError('net_tick_timeout', `nothing received from ${this.peerName} for ${netTickTime} ms`));
      }
    }, netTickTime / 4).unref();

    const s = this.socket;
    this.spin?.attach();
    s.on('data', (chunk: Buffer) => this.receive(chunk));
    s.on('error', (err) => this.fail(new DistError('socket_error', err.message, { cause: err })));
    s.on('end', () => this.fail(new DistError('connection_closed', `${this.peerName} closed the connection`)));
    s.on('close', () => this.fail(new DistError('connection_closed', `connection to ${this.peerName} closed`)));
    s.on('drain', () => this.checkDrained());
    const early = handshake.buffered;
    queueMicrotask(() => {
      if (this.closeReason !== undefined) return;
      if (s.destroyed) {
        this.fail(new DistError('connection_closed', `connection to ${this.peerName} closed`));
        return;
      }
      if (early.length > 0) this.receive(early);
      s.resume();
    });
  }

  /** True until the connection closes. */
  get isOpen(): boolean {
    return this.closeReason === undefined;
  }

  /** True while the socket holds more unsent bytes than the high-water mark. */
  get congested(): boolean {
    return this.isCongested;
  }

  /** Bytes written and not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.batch.length;
  }

  /** Bytes received and sent on the socket since the connection was set up (handshake included). */
  get bytesIn(): number {
    return this.socket.bytesRead;
  }
  get bytesOut(): number {
    return this.socket.bytesWritten + this.batch.length;
  }

  /** Bytes held for incomplete incoming fragmented messages. */
  get reassemblyBytes(): number {
    return this.parser.heldBytes;
  }

  /** Messages refused so far (beyond a resource limit; the connection stayed up). */
  get refusedMessages(): number {
    return this.refused;
  }

  private refused = 0;

  private readonly refuse = (reason: DistError): void => {
    this.refused++;
    this.opts.onRefuse?.(reason);
  };

  private receive(chunk: Buffer): void {
    if (this.closeReason !== undefined) return;
    this.receivedChunks++;
    if (this.spin !== undefined) this.spin.arrived = true;
    try {
      const decoder = this.decoder;
      decoder.feed(chunk);
      for (let payload = decoder.next(); payload !== undefined; payload = decoder.next()) {
        if (payload.length === 0) continue; // tick
        this.framesIn++;
        const frame = this.parser.parse(payload, this.reuseFrames);
        if (frame !== undefined) {
          try {
            this.opts.onFrame?.(frame);
          } catch (e) {
            if (!(e instanceof DistError && e.code === 'message_refused')) throw e;
            this.refuse(e);
          }
        }
        if (this.closeReason !== undefined) return;
      }
      if (this.reuseFrames) this.parser.releaseReused();
    } catch (e) {
      this.fail(
        e instanceof DistError ? e : new DistError('frame_protocol', e instanceof Error ? e.message : String(e), { cause: e }),
      );
    }
  }

  private tick(): void {
    if (!this.wrote) this.writeRaw([TICK]);
    this.wrote = false;
  }

  /**
   * The hot path of sending: encodes `control` (and `message`) into the
   * connection's outgoing batch as one `131,68` frame whose header carries
   * the atom cache refs (OTP's outgoing atom cache: an atom's text is sent
   * once per connection, then a 2-byte ref); every frame of the current turn
   * leaves in a single socket write. A message larger than `fragmentSize`
   * (peer with FRAGMENTS) leaves in fragments with its atoms inline,
   * encoded by `encoder` (one without a cache) if the cached encoding used
   * refs. Returns false, having written nothing, when the peer lacks
   * DIST_HDR_ATOM_CACHE: use {@link DistConnection.sendMessage} then.
   * Encoding errors are thrown with the batch left as it was.
   */
  sendTerms(encoder: Encoder, control: unknown, hasMessage: boolean, message: unknown): boolean {
    return this.sendFrameOf(encoder, 0, 0, control, undefined, undefined, hasMessage, message);
  }

  /**
   * {@link DistConnection.sendTerms} for the control tuple `{Op, E1[, E2[, E3]]}`
   * (`arity` 2 to 4) given by its elements: small integers, atoms, pids and
   * references are written straight into the frame (see `control-codec.ts`),
   * without a Tuple.
   */
  sendControl(encoder: Encoder, arity: number, op: number, e1: unknown, e2: unknown, e3: unknown, hasMessage: boolean, message: unknown): boolean {
    return this.sendFrameOf(encoder, arity, op, e1, e2, e3, hasMessage, message);
  }

  /**
   * Writes the control (the term `e1` when `arity` is 0, else the tuple of `op`
   * and the elements) and the message into the batch as one `131,68` frame.
   * The terms are encoded in place, after a gap for the atom cache header,
   * whose size is known only once they are written: the gap is the size this
   * kind of frame's header had last time, so in the steady state nothing
   * moves; otherwise the terms are moved by the difference (no copy elsewhere).
   */
  private sendFrameOf(encoder: Encoder, arity: number, op: number, e1: unknown, e2: unknown, e3: unknown, hasMessage: boolean, message: unknown): boolean {
    if (this.closeReason !== undefined) return true;
    if (!this.atomCacheHeaders) return false;
    const w = this.batch;
    const cache = this.atomCache;
    const enc = this.cachingEncoder;
    const start = w.length;
    const kind = arity === 0 ? 0 : op & 63;
    const gap = this.headerGuess[kind] as number;
    const termsAt = start + 6 + gap;
    w.ensure(6 + gap);
    w.length = termsAt;
    cache.begin();
    try {
      if (arity === 0) enc.writeTerm(w, e1);
      else writeControl(enc, w, arity, op, e1, e2, e3);
      if (hasMessage) writeMessage(enc, w, message);
    } catch (err) {
      w.length = start; // nothing written
      throw err;
    }
    const termsEnd = w.length;
    if (termsEnd - termsAt > this.fragmentSize && this.fragments) {
      // Too large for one frame: fragments, with the atoms inline (no cache refs, whose header would have to fit the first fragment).
      let body: Buffer;
      if (cache.refCount === 0) body = Buffer.from(w.buf.subarray(termsAt, termsEnd));
      else {
        const s = new EtfWriter(termsEnd - termsAt);
        if (arity === 0) encoder.writeTerm(s, e1);
        else writeControl(encoder, s, arity, op, e1, e2, e3);
        if (hasMessage) encoder.writeTerm(s, message);
        body = s.buf.subarray(0, s.length);
      }
      w.length = start;
      if (w.buf.length > BATCH_KEEP && start === 0) w.buf = Buffer.allocUnsafe(BATCH_KEEP);
      this.writeFragments(body);
      return true;
    }
    const header = cache.headerSize();
    if (header !== gap) {
      // Move the terms to just after the header (copyWithin handles the overlap).
      const shift = header - gap;
      if (shift > 0) w.ensure(shift);
      w.buf.copyWithin(termsAt + shift, termsAt, termsEnd);
      this.headerGuess[kind] = header;
    }
    w.length = start;
    w.u32(6 + header - 4 + (termsEnd - termsAt));
    w.u8(VERSION);
    w.u8(TAG_HEADER);
    cache.writeHeader(w);
    w.length = termsEnd + header - gap;
    this.framesOut++;
    if (w.length >= this.batchBytes && !this.wroteEarly) {
      // The turn's first batchBytes leave now (the whole batch: frames stay in order), once per turn;
      // the flush queued for the turn's end writes the rest in one write.
      this.wroteEarly = true;
      this.writeBatch();
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      // After every microtask of this turn: frames queued by continuations (the next call of each
      // caller that just got its reply, however many promise hops away) join the same write. A
      // microtask queues a tick, and Node runs ticks queued by microtasks only once the microtask
      // queue is empty, still before the event loop moves on. Over memory that the peer polls (WRITES_TO_MEMORY)
      // a write costs nothing: the frames leave as soon as this microtask is done (flushSoon is flushEarly).
      void RESOLVED.then(this.flushSoon);
    }
    return true;
  }

  /**
   * Writes the batched frames in one socket write. When the socket has
   * nothing queued, the batch's own memory is written (no copy): the kernel
   * normally takes it at once, and the batch is reused; if the socket had
   * to keep some of it, the batch gets new memory. When the socket is
   * already backed up, an exact-size copy is queued instead (so a congested
   * connection holds only the bytes it has to send).
   */
  private readonly queueFlush = (): void => {
    process.nextTick(this.flushBatch);
  };

  /** The flush over memory: at once while the peer polls it, else (a write would wake the peer) after the turn's ticks, in one write. */
  private readonly flushEarly = (): void => {
    if ((this.socket as unknown as { readonly [WRITES_TO_MEMORY]: boolean })[WRITES_TO_MEMORY]) this.flushBatch();
    else process.nextTick(this.flushBatch);
  };

  private readonly flushBatch = (): void => {
    this.flushQueued = false;
    this.wroteEarly = false;
    this.writeBatch();
  };

  /** {@link flushBatch} without touching the queued flush (a full batch written early: the flush queued for the turn's end still runs). */
  private writeBatch(): void {
    const w = this.batch;
    if (w.length === 0 || this.closeReason !== undefined) {
      w.reset();
      return;
    }
    const socket = this.socket;
    if (socket.writableLength === 0) {
      const view = w.buf.subarray(0, w.length);
      w.reset();
      socket.write(view);
      // Still held by the socket (a partial write): leave that memory to it. Else a burst may have grown the batch: give it back.
      if (socket.writableLength !== 0 || w.buf.length > BATCH_KEEP) w.buf = Buffer.allocUnsafe(BATCH_KEEP);
    } else {
      const out = Buffer.allocUnsafe(w.length);
      w.buf.copy(out, 0, 0, w.length);
      if (w.buf.length > BATCH_KEEP) w.buf = Buffer.allocUnsafe(BATCH_KEEP);
      w.reset();
      socket.write(out);
    }
    this.wrote = true;
    this.spin?.wrote();
    if (!this.isCongested && socket.writableLength > this.highWaterMark) {
      this.isCongested = true;
      this.opts.onBackpressure?.(true);
    }
  }

  private writeRaw(buffers: Buffer[]): void {
    if (this.closeReason !== undefined) return;
    if (this.batch.length > 0) this.flushBatch(); // keep frames in order
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const b of buffers) this.socket.write(b);
    this.wrote = true;
    this.spin?.wrote();
    if (!this.isCongested && this.socket.writableLength > this.highWaterMark) {
      this.isCongested = true;
      this.opts.onBackpressure?.(true);
    }
  }

  private checkDrained(): void {
    if (this.isCongested && this.socket.writableLength <= this.highWaterMark) {
      this.isCongested = false;
      this.opts.onBackpressure?.(false);
    }
  }

  /** Writes `body` (terms without 131) as `131,69`/`131,70` fragments of at most `fragmentSize` bytes, views into `body`. */
  private writeFragments(body: Buffer): void {
    const firstRoom = this.fragmentSize - FRAGMENT_HEAD - 1;
    const room = this.fragmentSize - FRAGMENT_HEAD;
    const count = 1 + Math.ceil(Math.max(0, body.length - firstRoom) / room);
    const seqId = this.nextSeqId++;
    const out: Buffer[] = [];
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const first = i === 0;
      const take = Math.min(first ? firstRoom : room, body.length - pos);
      const headLen = FRAGMENT_HEAD + (first ? 1 : 0);
      const head = Buffer.allocUnsafe(4 + headLen);
      head.writeUInt32BE(headLen + take, 0);
      head[4] = VERSION;
      head[5] = first ? TAG_FRAGMENT_START : TAG_FRAGMENT_CONT;
      head.writeBigUInt64BE(seqId, 6);
      head.writeBigUInt64BE(BigInt(count - i), 14);
      if (first) head[4 + FRAGMENT_HEAD] = 0;
      out.push(head, body.subarray(pos, pos + take));
      pos += take;
    }
    this.writeRaw(out);
  }

  /**
   * Sends one raw frame payload (the u32 length is added). Returns false
   * when the connection is closed or congested (the frame is still queued
   * when only congested).
   */
  sendFrame(payload: Uint8Array): boolean {
    if (this.closeReason !== undefined) return false;
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(payload.length);
    this.writeRaw([head, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]);
    return !this.isCongested;
  }

  /**
   * Sends a control message and optional payload term, both encoded without
   * the 131 version byte, framed by {@link encodeMessageFrames} (fragmented
   * when large and the peer has FRAGMENTS). Returns false when closed or congested.
   */
  sendMessage(control: Uint8Array, message?: Uint8Array): boolean {
    if (this.closeReason !== undefined) return false;
    const frames = encodeMessageFrames(control, message, {
      flags: this.flags,
      fragmentSize: this.fragmentSize,
      seqId: this.nextSeqId,
    });
    if (frames.length > 1) this.nextSeqId++;
    this.framesOut++;
    for (const f of frames) this.sendFrame(f);
    return !this.isCongested;
  }

  private fail(reason: DistError): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearInterval(this.tickTimer);
    clearInterval(this.livenessTimer);
    this.spin?.detach();
    this.socket.destroy();
    this.resolveClosed(reason);
    this.opts.onClose?.(reason);
  }

  /** Closes the connection (reason `closed_locally`); unsent data is dropped. */
  close(): void {
    this.fail(new DistError('closed_locally', `closed connection to ${this.peerName}`));
  }

  /** Sends what is queued, then closes (reason `closed_locally`). */
  async end(): Promise<void> {
    if (this.closeReason !== undefined) return;
    if (this.batch.length > 0) this.flushBatch(); // frames of this turn not yet written leave first
    await new Promise<void>((resolve) => this.socket.end(resolve));
    this.close();
  }
}
