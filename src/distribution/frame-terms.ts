/**
 * Bridges frames and the ETF codec: decodes a received {@link DistFrame}'s
 * control and message terms with its atom table, and encodes terms for
 * {@link DistConnection.sendMessage} (which wants them without the 131
 * version byte).
 * @module
 */
import { Decoder, EtfDecodeError, encode, type DecodeResult, type EncodeFunctionOptions } from '../etf/index.js';
import { DistError } from './errors.js';
import type { DistConnection, DistFrame } from './framing.js';

/** The terms of a frame. */
export interface FrameTerms {
  /** The control message, normally a tuple whose first element is the opcode. */
  control: unknown;
  /** True when a message (or exit reason) term follows the control message. */
  hasMessage: boolean;
  /** The message term; `undefined` when {@link FrameTerms.hasMessage} is false. */
  message: unknown;
}

const defaultDecoder = new Decoder();

/**
 * Decodes the control term and the optional message term of a frame.
 * Throws `DistError('frame_protocol')` when the bytes are not valid terms
 * (the codec's error is the `cause`): the connection closes, as OTP closes it
 * on a corrupted term. A well-formed term beyond a decoding limit
 * (`maxBigIntBytes`, `maxInflatedBytes`, the heap budget) throws
 * `DistError('message_refused')` instead: that one message is refused.
 */
export function decodeFrameTerms(frame: DistFrame, decoder: Decoder = defaultDecoder): FrameTerms {
  const p = frame.payload;
  let c: DecodeResult;
  try {
    c = decoder.decodeAt(p, termStart(frame, frame.controlOffset), frame.atoms);
  } catch (e) {
    throw frameError(e, p.length);
  }
  if (c.offset >= p.length) return { control: c.term, hasMessage: false, message: undefined };
  return { control: c.term, hasMessage: true, message: decodeMessageAt(frame, c.offset, decoder) };
}

/**
 * Decodes the message term of a frame, which starts at `offset` (just after
 * the control term) and must end the frame. Errors as {@link decodeFrameTerms}.
 */
export function decodeMessageAt(frame: DistFrame, offset: number, decoder: Decoder = defaultDecoder): unknown {
  const p = frame.payload;
  try {
    const m = decoder.decodeAt(p, termStart(frame, offset), frame.atoms);
    if (m.offset !== p.length) throw new DistError('frame_protocol', `${p.length - m.offset} bytes after the message term`);
    return m.term;
  } catch (e) {
    throw frameError(e, p.length);
  }
}

/** Where the term at `offset` starts: after its 131 in a pass-through frame. */
function termStart(frame: DistFrame, offset: number): number {
  if (frame.kind !== 'pass_through') return offset;
  if (frame.payload[offset] !== 131) throw new DistError('frame_protocol', `pass-through term at ${offset} without 131`);
  return offset + 1;
}

/** A decoding failure as the connection sees it: a refused message (a limit) or a protocol error. */
function frameError(e: unknown, bytes: number): DistError {
  if (e instanceof DistError) return e;
  if (e instanceof EtfDecodeError && e.option !== undefined) {
    return new DistError('message_refused', `a message of ${bytes} bytes is refused: ${e.message} (startNode option limits.${e.option})`, { cause: e });
  }
  return new DistError('frame_protocol', `undecodable frame: ${(e as Error).message}`, { cause: e });
}

/** Encodes a term without the 131 version byte, as distribution frames carry it. */
export function encodeBareTerm(term: unknown, options?: EncodeFunctionOptions): Buffer {
  return encode(term, options).subarray(1);
}

/**
 * Encodes and sends a control message and an optional message term. Returns
 * false when the connection is closed or congested (see {@link DistConnection.sendMessage}).
 */
export function sendTerms(connection: DistConnection, control: unknown, ...message: [] | [unknown]): boolean {
  const c = encodeBareTerm(control);
  return message.length === 0 ? connection.sendMessage(c) : connection.sendMessage(c, encodeBareTerm(message[0]));
}
