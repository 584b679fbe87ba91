/**
 * The one-call API: {@link encode} and {@link decode}, backed by shared
 * Encoder/Decoder instances for the default options.
 * @module
 */
import { Encoder, type EncodeOptions, type EncodeToBufferOptions } from './encoder.js';
import { Decoder, type DecodeOptions } from './decoder.js';

let defaultEncoder: Encoder | undefined;
let defaultDecoder: Decoder | undefined;

/** Options of {@link encode}. */
export type EncodeFunctionOptions = EncodeOptions & EncodeToBufferOptions;

/**
 * Encodes `term` as a stand-alone ETF binary (starting with 131), as
 * Erlang's `term_to_binary/1,2` does. Throws {@link EtfEncodeError} for
 * values with no Erlang term. With options, prefer a reused {@link Encoder}
 * on hot paths.
 *
 * @example
 * ```ts
 * import { encode } from 'beamline/etf';
 * import { atom, tuple } from 'beamline';
 * encode(tuple(atom('ok'), 42));           // <Buffer 83 68 02 77 02 6f 6b 61 2a>
 * encode('x'.repeat(1000), { compressed: true });
 * ```
 */
export function encode(term: unknown, opts?: EncodeFunctionOptions): Buffer {
  if (opts === undefined) return (defaultEncoder ??= new Encoder()).encode(term);
  return new Encoder(opts).encode(term, opts);
}

/**
 * Decodes a stand-alone ETF binary (starting with 131, possibly compressed),
 * as Erlang's `binary_to_term/1`. Throws {@link EtfDecodeError} on any bad
 * input. With options, prefer a reused {@link Decoder} on hot paths.
 *
 * @example
 * ```ts
 * import { decode } from 'beamline/etf';
 * decode(Buffer.from([131, 100, 0, 2, 111, 107]));        // Atom ok
 * decode(bytes, { binaries: 'bytes', maps: 'erlmap' });
 * ```
 */
export function decode(input: Uint8Array, opts?: DecodeOptions): unknown {
  if (opts === undefined) return (defaultDecoder ??= new Decoder()).decode(input);
  return new Decoder(opts).decode(input);
}
