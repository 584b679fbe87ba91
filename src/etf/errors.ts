/**
 * Typed errors of the ETF codec: {@link EtfDecodeError} for malformed or
 * hostile input (with the byte offset where decoding failed) and
 * {@link EtfEncodeError} for JavaScript values that have no Erlang term.
 * @module
 */

/** Why decoding failed. */
export type EtfDecodeErrorCode =
  | 'truncated' // the input ends inside a term
  | 'bad_version' // the first byte is not 131
  | 'bad_tag' // unknown or unsupported tag (includes FUN_EXT and LOCAL_EXT)
  | 'bad_atom' // atom too long or not valid UTF-8
  | 'bad_float' // FLOAT_EXT text that is not a number
  | 'bad_value' // a field out of its valid range (bit count, reference length, ...)
  | 'duplicate_key' // a map holds the same key twice
  | 'atom_cache' // ATOM_CACHE_REF without a table, or to an empty slot
  | 'too_deep' // nesting deeper than `maxDepth` (unlimited by default)
  | 'limit' // a length beyond a configured limit or beyond the remaining input
  | 'memory' // the decoded term would not fit the heap budget (`maxHeapBytes`, else the free V8 heap)
  | 'compressed' // tag 80: bad zlib data, wrong size, or nested
  | 'trailing_bytes'; // bytes left over after the term

/**
 * Thrown by every decoding function on bad input. The decoder never throws
 * anything else, whatever the bytes.
 *
 * @example
 * ```ts
 * try { decode(bytes); } catch (e) {
 *   if (e instanceof EtfDecodeError) console.log(e.code, 'at byte', e.offset);
 * }
 * ```
 */
export class EtfDecodeError extends Error {
  override name = 'EtfDecodeError';
  constructor(
    /** Machine-readable reason. */
    readonly code: EtfDecodeErrorCode,
    /** Offset in the input where the failing item starts (inside the inflated data for compressed terms). */
    readonly offset: number,
    detail: string,
    /**
     * Set when a configured resource limit refused a well-formed term
     * (`maxBigIntBytes`, `maxInflatedBytes`, `maxHeapBytes`): the option to
     * raise. Undefined for malformed input.
     */
    readonly option?: 'maxBigIntBytes' | 'maxInflatedBytes' | 'maxHeapBytes',
  ) {
    super(`${detail} (${code} at byte ${offset})`);
  }
}

/** Why encoding failed. */
export type EtfEncodeErrorCode =
  | 'unsupported' // a value with no Erlang term (function, symbol, unregistered class instance)
  | 'bad_number' // NaN or an infinity
  | 'bad_atom' // an atom longer than 255 characters
  | 'bad_value' // a field out of range (pid id, bit count, ...)
  | 'too_deep' // nesting deeper than the `maxDepth` option (unlimited by default)
  | 'cycle' // a value contains itself (an object on its own path)
  | 'atom_cache'; // the atom-cache lookup returned an index outside 0..255

/**
 * Thrown when a value cannot be encoded.
 *
 * @example
 * ```ts
 * try { encode(NaN); } catch (e) {
 *   if (e instanceof EtfEncodeError) console.log(e.code); // 'bad_number'
 * }
 * ```
 */
export class EtfEncodeError extends Error {
  override name = 'EtfEncodeError';
  constructor(
    /** Machine-readable reason. */
    readonly code: EtfEncodeErrorCode,
    detail: string,
  ) {
    super(`${detail} (${code})`);
  }
}
