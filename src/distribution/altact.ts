/**
 * ALTACT_SIG_SEND (OTP 28, DFLAG_ALTACT_SIG): the control message that carries
 * alias sends, priority signals (EEP 76) and exits to aliases and names.
 * Builds the alias-send control for a connection's flags and dispatches an
 * incoming one to the runtime's {@link RemoteSignals}.
 * @module
 */
import type { RemoteSignals } from '../core/distribution.js';
import type { Pid, Ref } from '../terms/identifiers.js';
import { type Tuple, tuple } from '../terms/tuple.js';
import { ALTACT_FLAG, type ControlReader, OP } from './control.js';
import { DistError } from './errors.js';
import { DFLAG } from './flags.js';

/**
 * The control message of an alias send: ALTACT_SIG_SEND to a peer that offers
 * ALTACT_SIG (OTP 28+; OTP 30 drops ALIAS_SEND), ALIAS_SEND to an older one
 * (a priority send becomes ordinary there), nothing (dropped, as OTP does) to
 * a peer without aliases.
 */
export function aliasSendControl(flags: bigint, from: Pid, alias: Ref, priority: boolean): Tuple | undefined {
  if ((flags & DFLAG.ALTACT_SIG) !== 0n) return tuple(OP.ALTACT_SIG_SEND, priority ? ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO : ALTACT_FLAG.ALIAS, from, alias);
  return (flags & DFLAG.ALIAS) !== 0n ? tuple(OP.ALIAS_SEND, from, alias) : undefined;
}

/**
 * ALTACT_SIG_SEND in: `{37, Flags, From, To}` or `{37, Flags, From, To, Token}`
 * (dist.c's rules: the tuple may grow, only the flags' low byte counts, a
 * negative or non-integer flags field, ALIAS with NAME, or a `To` of the wrong
 * kind is a protocol error). A message goes to the pid, alias (priority if so
 * flagged) or name; with EXIT the payload is the reason of `exit(To, Reason)`.
 */
export function altactSignalIn(c: ControlReader, payload: unknown, remote: RemoteSignals): void {
  c.arity(4);
  const raw = c.int(1);
  if (raw < 0) throw new DistError('frame_protocol', 'malformed control message (opcode 37): negative flags');
  const flags = typeof raw === 'bigint' ? Number(raw & 0xffn) : raw & 0xff;
  const from = c.pid(2);
  if ((flags & ALTACT_FLAG.TOKEN) !== 0) c.arity(5);
  const exit = (flags & ALTACT_FLAG.EXIT) !== 0;
  if ((flags & ALTACT_FLAG.ALIAS) !== 0) {
    if ((flags & ALTACT_FLAG.NAME) !== 0) throw new DistError('frame_protocol', 'malformed control message (opcode 37): both ALIAS and NAME set');
    const alias = c.ref(3);
    if (exit) remote.exitVia(from, alias, payload);
    else remote.sendToAlias(alias, payload, (flags & ALTACT_FLAG.PRIO) !== 0);
  } else if ((flags & ALTACT_FLAG.NAME) !== 0) {
    const name = c.atom(3);
    if (exit) remote.exitVia(from, name, payload);
    else remote.sendToName(from, name, payload);
  } else {
    const to = c.pid(3);
    if (exit) remote.exit2(from, to, payload);
    else remote.send(to, payload);
  }
}
