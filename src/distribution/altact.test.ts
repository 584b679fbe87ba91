/**
 * ALTACT_SIG_SEND (OTP 28): building the alias-send control for each peer
 * generation, and dispatching incoming `{37, Flags, From, To[, Token]}` with
 * dist.c's checks (bad input is a `frame_protocol` error, never a crash).
 * @module
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RemoteSignals } from '../core/distribution.js';
import { atom, type Atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { aliasSendControl, altactSignalIn } from './altact.js';
import { ALTACT_FLAG, ControlReader, OP } from './control.js';
import { DistError } from './errors.js';
import { DEFAULT_FLAGS, DFLAG } from './flags.js';

const peer = atom('erl@127.0.0.1');
const here = atom('ts@127.0.0.1');
const from = new Pid(peer, 40, 0, 7);
const to = new Pid(here, 41, 0, 9);
const alias = new Ref(here, 9, [1, 2, 3]);

/** Records what the dispatcher asked the runtime to do. */
function recorder(): { calls: unknown[][]; remote: RemoteSignals } {
  const calls: unknown[][] = [];
  const rec = (name: string) => (...args: unknown[]) => {
    calls.push([name, ...args]);
    return true;
  };
  const remote = {
    send: rec('send'), sendToName: rec('sendToName'), sendToAlias: rec('sendToAlias'), replyToAlias: rec('replyToAlias'), exitVia: rec('exitVia'),
    link: rec('link'), unlink: rec('unlink'), exitLink: rec('exitLink'), exit2: rec('exit2'), monitor: rec('monitor'),
    demonitor: rec('demonitor'), monitorExit: rec('monitorExit'), nodeUp: rec('nodeUp'), nodeDown: rec('nodeDown'),
  } as RemoteSignals;
  return { calls, remote };
}

function dispatch(control: unknown[], payload: unknown = 'msg'): unknown[][] {
  const { calls, remote } = recorder();
  altactSignalIn(new ControlReader(tuple(...control)), payload, remote);
  return calls;
}

function protocolError(control: unknown[]): void {
  assert.throws(() => dispatch(control), (e) => e instanceof DistError && e.code === 'frame_protocol', String(control));
}

describe('ALTACT_SIG_SEND', () => {
  it('Beamline offers DFLAG_ALTACT_SIG (bit 37) and NATIVE_RECORDS (bit 38)', () => {
    assert.equal(DFLAG.ALTACT_SIG, 1n << 37n);
    assert.equal(DFLAG.NATIVE_RECORDS, 1n << 38n);
    assert.notEqual(DEFAULT_FLAGS & DFLAG.ALTACT_SIG, 0n);
    assert.notEqual(DEFAULT_FLAGS & DFLAG.NATIVE_RECORDS, 0n);
    assert.deepEqual(ALTACT_FLAG, { PRIO: 1, TOKEN: 2, ALIAS: 4, NAME: 8, EXIT: 16 });
  });

  it('alias sends: ALTACT_SIG_SEND to OTP 28+, ALIAS_SEND to older peers, nothing to peers without aliases', () => {
    assert.deepEqual(aliasSendControl(DEFAULT_FLAGS, from, alias, false), tuple(OP.ALTACT_SIG_SEND, ALTACT_FLAG.ALIAS, from, alias));
    assert.deepEqual(aliasSendControl(DEFAULT_FLAGS, from, alias, true), tuple(OP.ALTACT_SIG_SEND, ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO, from, alias));
    const otp27 = DEFAULT_FLAGS & ~DFLAG.ALTACT_SIG;
    assert.deepEqual(aliasSendControl(otp27, from, alias, true), tuple(OP.ALIAS_SEND, from, alias));
    assert.equal(aliasSendControl(otp27 & ~DFLAG.ALIAS, from, alias, false), undefined);
  });

  it('dispatches messages to a pid, a name and an alias, with the priority bit', () => {
    assert.deepEqual(dispatch([37, 0, from, to]), [['send', to, 'msg']]);
    assert.deepEqual(dispatch([37, ALTACT_FLAG.NAME, from, atom('svc')]), [['sendToName', from, atom('svc'), 'msg']]);
    assert.deepEqual(dispatch([37, ALTACT_FLAG.ALIAS, from, alias]), [['sendToAlias', alias, 'msg', false]]);
    assert.deepEqual(dispatch([37, ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO, from, alias]), [['sendToAlias', alias, 'msg', true]]);
    // a priority message to a pid is an ordinary message (only priority aliases take priority)
    assert.deepEqual(dispatch([37, ALTACT_FLAG.PRIO, from, to]), [['send', to, 'msg']]);
  });

  it('dispatches exit signals to a pid, an alias and a name (the payload is the reason)', () => {
    assert.deepEqual(dispatch([37, ALTACT_FLAG.EXIT, from, to], 'why'), [['exit2', from, to, 'why']]);
    assert.deepEqual(dispatch([37, ALTACT_FLAG.EXIT | ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO, from, alias], 'why'), [['exitVia', from, alias, 'why']]);
    assert.deepEqual(dispatch([37, ALTACT_FLAG.EXIT | ALTACT_FLAG.NAME, from, atom('svc')], 'why'), [['exitVia', from, atom('svc'), 'why']]);
  });

  it('takes a token (5-tuple), extra elements, unknown high flag bits and a bignum flags field', () => {
    assert.deepEqual(dispatch([37, ALTACT_FLAG.TOKEN | ALTACT_FLAG.ALIAS, from, alias, tuple(atom('token'))]), [['sendToAlias', alias, 'msg', false]]);
    assert.deepEqual(dispatch([37, 0, from, to, 'future', 'fields']), [['send', to, 'msg']]);
    assert.deepEqual(dispatch([37, 0x100 | ALTACT_FLAG.ALIAS, from, alias]), [['sendToAlias', alias, 'msg', false]]);
    assert.deepEqual(dispatch([37, (1n << 70n) | BigInt(ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO), from, alias]), [['sendToAlias', alias, 'msg', true]]);
  });

  it('rejects malformed ALTACT_SIG_SEND with a frame_protocol error', () => {
    protocolError([37, 0, from]); // too short
    protocolError([37, -1, from, to]); // negative flags
    protocolError([37, -(1n << 70n), from, to]);
    protocolError([37, atom('x'), from, to]); // flags not an integer
    protocolError([37, 0, atom('nopid'), to]); // sender not a pid
    protocolError([37, ALTACT_FLAG.TOKEN, from, to]); // TOKEN without a token
    protocolError([37, ALTACT_FLAG.ALIAS | ALTACT_FLAG.NAME, from, alias]); // both
    protocolError([37, ALTACT_FLAG.ALIAS, from, to]); // alias flag, pid target
    protocolError([37, ALTACT_FLAG.NAME, from, to]); // name flag, pid target
    protocolError([37, 0, from, atom('svc') as Atom]); // neither flag, atom target
  });
});
