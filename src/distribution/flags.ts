/**
 * Distribution capability flags (DFLAG_*), exchanged in the handshake.
 *
 * Flags are 64-bit, so they are `bigint`s here. Values follow
 * `erts/doc/guides/erl_dist_protocol.md` and OTP 25.2.3's `dist.hrl`;
 * {@link DEFAULT_FLAGS} is what an OTP 25 node offers, minus PUBLISHED
 * (Beamline nodes are hidden unless asked otherwise, see the interop notes §6).
 * @module
 */

/** Every DFLAG_* bit by name. */
export const DFLAG = {
  PUBLISHED: 0x1n,
  ATOM_CACHE: 0x2n,
  EXTENDED_REFERENCES: 0x4n,
  DIST_MONITOR: 0x8n,
  FUN_TAGS: 0x10n,
  DIST_MONITOR_NAME: 0x20n,
  HIDDEN_ATOM_CACHE: 0x40n,
  NEW_FUN_TAGS: 0x80n,
  EXTENDED_PIDS_PORTS: 0x100n,
  EXPORT_PTR_TAG: 0x200n,
  BIT_BINARIES: 0x400n,
  NEW_FLOATS: 0x800n,
  UNICODE_IO: 0x1000n,
  DIST_HDR_ATOM_CACHE: 0x2000n,
  SMALL_ATOM_TAGS: 0x4000n,
  ETS_COMPRESSED: 0x8000n,
  UTF8_ATOMS: 0x10000n,
  MAP_TAG: 0x20000n,
  BIG_CREATION: 0x40000n,
  SEND_SENDER: 0x80000n,
  BIG_SEQTRACE_LABELS: 0x100000n,
  PENDING_CONNECT: 0x200000n,
  EXIT_PAYLOAD: 0x400000n,
  FRAGMENTS: 0x800000n,
  HANDSHAKE_23: 0x1000000n,
  UNLINK_ID: 0x2000000n,
  MANDATORY_25_DIGEST: 1n << 26n,
  SPAWN: 1n << 32n,
  NAME_ME: 1n << 33n,
  V4_NC: 1n << 34n,
  ALIAS: 1n << 35n,
  LOCAL_EXT: 1n << 36n,
  ALTACT_SIG: 1n << 37n,
  NATIVE_RECORDS: 1n << 38n,
} as const;

/** A DFLAG name. */
export type DFlagName = keyof typeof DFLAG;

/** Flags an OTP 25 peer requires (`erts_internal:get_dflags()` mandatory = 0x1070F94). */
export const MANDATORY_FLAGS: bigint =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.FUN_TAGS |
  DFLAG.NEW_FUN_TAGS |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.EXPORT_PTR_TAG |
  DFLAG.BIT_BINARIES |
  DFLAG.NEW_FLOATS |
  DFLAG.UTF8_ATOMS |
  DFLAG.MAP_TAG |
  DFLAG.BIG_CREATION |
  DFLAG.HANDSHAKE_23;

/**
 * Beamline's default offer: every capability OTP 25.2.3 sends (0xD07DF7FBC,
 * observed 0xD07DF7FBD with PUBLISHED), plus MANDATORY_25_DIGEST,
 * ALTACT_SIG (OTP 28: alias and priority sends as ALTACT_SIG_SEND) and
 * NATIVE_RECORDS (OTP 29: RECORD_EXT round-trips, see etf/native-record.ts). Add
 * {@link DFLAG}.PUBLISHED to appear in `nodes()` rather than `nodes(hidden)`.
 */
export const DEFAULT_FLAGS: bigint =
  MANDATORY_FLAGS |
  DFLAG.DIST_MONITOR |
  DFLAG.DIST_MONITOR_NAME |
  DFLAG.UNICODE_IO |
  DFLAG.DIST_HDR_ATOM_CACHE |
  DFLAG.SMALL_ATOM_TAGS |
  DFLAG.SEND_SENDER |
  DFLAG.BIG_SEQTRACE_LABELS |
  DFLAG.EXIT_PAYLOAD |
  DFLAG.FRAGMENTS |
  DFLAG.UNLINK_ID |
  DFLAG.MANDATORY_25_DIGEST |
  DFLAG.SPAWN |
  DFLAG.V4_NC |
  DFLAG.ALIAS |
  DFLAG.ALTACT_SIG |
  DFLAG.NATIVE_RECORDS;

/**
 * The mandatory flags `flags` lacks (0n when none). A peer that sets
 * MANDATORY_25_DIGEST counts as offering all of them, as OTP 25 does.
 */
export function missingMandatory(flags: bigint, mandatory: bigint = MANDATORY_FLAGS): bigint {
  if ((flags & DFLAG.MANDATORY_25_DIGEST) !== 0n) return 0n;
  return mandatory & ~flags;
}

/** True when every bit of `flag` is set in `flags`. */
export function hasFlag(flags: bigint, flag: bigint): boolean {
  return (flags & flag) === flag;
}

/** Names of the known flags set in `flags`, in bit order (for logs and errors). */
export function flagNames(flags: bigint): DFlagName[] {
  const out: DFlagName[] = [];
  for (const [name, bit] of Object.entries(DFLAG) as [DFlagName, bigint][]) if ((flags & bit) !== 0n) out.push(name);
  return out.sort((a, b) => (DFLAG[a] < DFLAG[b] ? -1 : 1));
}

/**
 * The flags in effect on a connection: the intersection of both offers. A
 * peer with MANDATORY_25_DIGEST is treated as offering every mandatory flag.
 */
export function negotiateFlags(ours: bigint, theirs: bigint): bigint {
  const effective = (theirs & DFLAG.MANDATORY_25_DIGEST) !== 0n ? theirs | MANDATORY_FLAGS : theirs;
  return ours & effective;
}
