/**
 * `beamline/etf`: the Erlang External Term Format codec, wire-compatible with
 * Erlang/OTP 25 (`term_to_binary/1`, `binary_to_term/1` and distribution).
 *
 * ## JavaScript ↔ Erlang mapping (default options)
 *
 * | JavaScript | Erlang (encode, tag) | decodes back as |
 * |---|---|---|
 * | `Atom` (`atom('ok')`) | atom (SMALL_ATOM_UTF8_EXT 119 / ATOM_UTF8_EXT 118) | the same interned `Atom` |
 * | `true` / `false` | atoms `true` / `false` | `true` / `false` |
 * | `null` | atom `nil` (Elixir's nil) | `null` |
 * | `undefined` | atom `undefined` | `undefined` |
 * | `number`, safe integer | integer (97 / 98 / 110) | `number` |
 * | `number`, otherwise (`1.5`, `1e300`, `-0`) | float (NEW_FLOAT_EXT 70) | `number` |
 * | `Float` (`float(1)`) | float, even when integral (`1.0`) | `Float` if integral, else `number` |
 * | `bigint` | integer (97/98/110/111) | `bigint` beyond ±(2^53−1), else `number` |
 * | `string` | UTF-8 binary (BINARY_EXT 109), Elixir's string | `string` |
 * | `Uint8Array` / `Buffer` | binary, sent as BIT_BINARY_EXT (77) with 8 bits in the last byte; Erlang sees an ordinary binary | `Uint8Array` (a copy) |
 * | empty `Uint8Array` | `<<>>` as BINARY_EXT (109): BIT_BINARY_EXT of 0 bytes is rejected by OTP 26+ | `''` (an empty `Uint8Array` with `binaries: 'bytes'`) |
 * | `BitString` | bitstring (BIT_BINARY_EXT 77) | `BitString` |
 * | `Charlist` (`charlist('abc')`) | list of integers: STRING_EXT (107) when all ≤ 255 and ≤ 65535 long, else LIST_EXT | `Charlist` when STRING_EXT, else `number[]` |
 * | `Array` | proper list (LIST_EXT 108 / NIL_EXT 106); never STRING_EXT | `Array` |
 * | `ImproperList` | improper list `[a, b \| tail]` | `ImproperList` |
 * | `Tuple` (`tuple(a, b)`) | tuple (104 / 105) | `Tuple` |
 * | plain object `{a: 1}` | map with atom keys `#{a => 1}` (Elixir `%{a: 1}`) | plain object |
 * | `Map` | map (MAP_EXT 116) | `Map` when all keys are strings, integers, non-integral floats, bigints, booleans, null/undefined or atoms (not all atoms); see `ErlMap` |
 * | `ErlMap` | map, any keys | plain object / `Map` / `ErlMap` by the keys, as above |
 * | `Pid`, `Ref` (also aliases), `Port` | NEW_PID_EXT 88, NEWER_REFERENCE_EXT 90, NEW_PORT_EXT 89 (V4_PORT_EXT 120 for ids > 32 bits) | `Pid`, `Ref`, `Port` |
 * | `ExportFun` | `fun M:F/A` (EXPORT_EXT 113) | `ExportFun` |
 * | `Fun` (from Erlang only) | closure (NEW_FUN_EXT 112) | `Fun` (opaque; can be sent back) |
 * | `Date` (valid) | `%DateTime{}` in UTC, millisecond precision | `Date` |
 * | `Error` | `%{__struct__: :"Elixir.Beamline.Error", __exception__: true, message, name, stack}` (+ `cause` and own enumerable properties) | `Error` (standard subclass by `name`) |
 * | instance of a class registered with `registerType('Name', C)` | `%{__struct__: :"Elixir.Name", ...fields}` | instance of `C` |
 *
 * Decoding also accepts every other tag an OTP 25 node can send: Latin-1
 * atoms (100, 115), ATOM_CACHE_REF (82) through a caller's table, old
 * FLOAT_EXT (99), PID_EXT / PORT_EXT / REFERENCE_EXT / NEW_REFERENCE_EXT,
 * V4_PORT_EXT, and compressed terms (tag 80). FUN_EXT (117) and LOCAL_EXT
 * (121) are rejected as OTP 25 does.
 *
 * Round trips: JS → ETF → JS gives back an equal value for every row above,
 * with these documented normalisations: a `Float` with a non-integral value
 * comes back as a `number`; a `bigint` in the safe range comes back as a
 * `number` (so does a `Port` id); a `Map` whose keys are all atoms (including an empty `Map`) comes
 * back as a plain object; a `Charlist` with a code above 255 comes back as a
 * `number[]`; a string with lone surrogates is sent with U+FFFD in their place;
 * an empty `Uint8Array` comes back as `''`.
 * Erlang → JS → Erlang gives back a term `=:=` to the original under the
 * default decode options (`floats: 'number'` and `binaries: 'string'` are lossy).
 *
 * Binaries: decoded `Uint8Array`s are copies by default (`copyBinaries: false`
 * gives views into the input buffer). Binaries from Erlang that are valid
 * UTF-8 decode as strings under the default `binaries: 'auto'`; they re-encode
 * as the same bytes, so Erlang sees no difference.
 *
 * @example
 * ```ts
 * import { encode, decode, charlist, Float } from 'beamline/etf';
 * import { atom, tuple } from 'beamline';
 * const bytes = encode(tuple(atom('ok'), { name: 'ann', tags: [1, 2] }));
 * decode(bytes); // Tuple [Atom ok, { name: 'ann', tags: [1, 2] }]
 * ```
 * @module
 */
export { encode, decode, type EncodeFunctionOptions } from './codec.js';
export { Encoder, canonicalKey, termEquals, MAX_PORTABLE_BIGINT_BYTES, type EncodeOptions, type EncodeToBufferOptions } from './encoder.js';
export { Decoder, type DecodeOptions, type DecodeResult } from './decoder.js';
export { EtfWriter } from './writer.js';
export { EtfDecodeError, EtfEncodeError, type EtfDecodeErrorCode, type EtfEncodeErrorCode } from './errors.js';
export { Float, float } from './float.js';
export { Charlist, charlist } from './charlist.js';
export { BitString } from './bit-string.js';
export { NativeRecord } from './native-record.js';
export { ErlMap } from './erl-map.js';
export { ExportFun, Fun } from './funs.js';
export {
  registerType,
  TypeRegistry,
  defaultRegistry,
  structAtom,
  type TypeCodec,
  type RegisteredType,
  type Constructor,
} from './registry.js';
export { ERROR_STRUCT } from './error-term.js';
export { DATETIME_STRUCT } from './date-term.js';
export { Tag, VERSION } from './tags.js';
export { Atom, atom, isAtom, Tuple, tuple, isTuple, Pid, Ref, Port, ImproperList } from '../terms/index.js';
