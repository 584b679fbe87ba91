/**
 * Native records (OTP 29, RECORD_EXT 67): decoding the bytes OTP 29.1's
 * `term_to_binary` makes, encoding them back byte for byte, bad input, and
 * (with an OTP 29 `erl` on PATH) a record made on OTP 29 round-tripping
 * equal through a Beamline echo. OTP 29 sends RECORD_EXT whatever flags the
 * peer offers, so Beamline decodes it without offering DFLAG_NATIVE_RECORDS.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atom } from '../terms/atom.js';
import { tuple, isTuple, type Tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import { distributionOf, rpc, startNode } from '../distribution/node-dist.js';
import { erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { freePort } from '../../test/support.js';
import { Charlist } from './charlist.js';
import { decode, encode } from './codec.js';
import { Encoder } from './encoder.js';
import { EtfDecodeError, EtfEncodeError } from './errors.js';
import { NativeRecord } from './native-record.js';

/** `term_to_binary(#pub{a = 1, c = <<"s">>})` on OTP 29.1, with `-export_record([pub])` and `-record #pub{a, b = x, c}` in module nr2. */
const OTP29_PUB = Buffer.from([131, 67, 0, 0, 0, 3, 1, 119, 3, 110, 114, 50, 119, 3, 112, 117, 98, 119, 1, 97, 119, 1, 98, 119, 1, 99, 97, 1, 119, 1, 120, 109, 0, 0, 0, 1, 115]);
/** `term_to_binary(#priv{z = 1})`: not exported. */
const OTP29_PRIV = Buffer.from([131, 67, 0, 0, 0, 1, 0, 119, 3, 110, 114, 50, 119, 4, 112, 114, 105, 118, 119, 1, 122, 97, 1]);

describe('NativeRecord (RECORD_EXT)', () => {
  it('decodes what OTP 29 makes, and encodes it back to the same bytes', () => {
    const pub = decode(OTP29_PUB, { binaries: 'bytes' });
    assert.ok(pub instanceof NativeRecord);
    assert.equal(pub.module, atom('nr2'));
    assert.equal(pub.name, atom('pub'));
    assert.deepEqual(pub.fields, [atom('a'), atom('b'), atom('c')]);
    assert.equal(pub.exported, true);
    assert.equal(pub.get('a'), 1);
    assert.equal(pub.get(atom('b')), atom('x'));
    assert.equal(pub.get('nope'), undefined);
    const priv = decode(OTP29_PRIV);
    assert.deepEqual(priv, new NativeRecord(atom('nr2'), atom('priv'), [atom('z')], [1], false));
    assert.deepEqual(encode(priv), OTP29_PRIV);
    assert.equal(String(priv), '#nr2:priv{z = 1}');
  });

  it('round-trips nested records, records in containers and a record without fields', () => {
    const inner = new NativeRecord(atom('m'), atom('inner'), [atom('v')], [[1, 'two', tuple(atom('three'))]], true);
    const outer = new NativeRecord(atom('m'), atom('outer'), [atom('a'), atom('b')], [inner, { k: inner }]);
    const empty = new NativeRecord(atom('m'), atom('empty'), [], []);
    for (const v of [inner, outer, empty, [outer, empty], tuple(empty, outer)]) assert.deepEqual(decode(encode(v)), v);
  });

  it('an encoder with nativeRecords: false refuses a record (nested too) with a typed error and writes nothing', () => {
    const enc = new Encoder({ nativeRecords: false });
    const r = new NativeRecord(atom('m'), atom('r'), [atom('a')], [1]);
    for (const v of [r, [1, { k: tuple(r) }]]) {
      assert.throws(() => enc.encode(v), (e: unknown) => e instanceof EtfEncodeError && e.code === 'bad_value' && /NATIVE_RECORDS/.test(e.message));
    }
    assert.deepEqual(decode(enc.encode([1, atom('ok')])), [1, atom('ok')]);
  });

  it('rejects a field count that does not match the values', () => {
    assert.throws(() => new NativeRecord(atom('m'), atom('r'), [atom('a')], []), RangeError);
  });

  it('refuses malformed RECORD_EXT with typed errors', () => {
    const code = (bytes: number[]): string => {
      try {
        decode(Buffer.from(bytes));
      } catch (e) {
        assert.ok(e instanceof EtfDecodeError, String(e));
        return e.code;
      }
      return 'decoded';
    };
    // module is an integer
    assert.equal(code([131, 67, 0, 0, 0, 0, 0, 97, 1, 119, 1, 114]), 'bad_value');
    // field name is an integer
    assert.equal(code([131, 67, 0, 0, 0, 1, 0, 119, 1, 109, 119, 1, 114, 97, 1, 97, 2]), 'bad_value');
    // truncated after the name
    assert.equal(code([131, 67, 0, 0, 0, 1, 0, 119, 1, 109, 119, 1, 114]), 'truncated');
    // a count the input cannot hold
    assert.equal(code([131, 67, 0xff, 0xff, 0xff, 0xff, 0, 119, 1, 109]), 'limit');
  });
});

const NR_MOD = `-module(beamline_nr).
-export([make/0, same/1]).
-export_record([point]).
-record #point{x = 0, y = 0, label = none}.
make() -> #point{x = 3, y = -4, label = {tag, <<"p">>, [1,2]}}.
same(R) -> R =:= make().
`;

describe('native records with the erl on PATH', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const TS = `tr${tag}@127.0.0.1`;
  const E = `er${tag}@127.0.0.1`;
  let epmdPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'beamline-nr-'));
  let ts: Node;
  let erl: ErlNode;
  let release = 0;

  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: 'nrcookie', epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    erl = startErl({ name: E, cookie: 'nrcookie', epmdPort, eval: `io:format("READY~n").` });
    await erl.waitForOutput(/READY/);
    const rel = await rpc(ts, E, 'erlang', 'system_info', [atom('otp_release')]);
    assert.ok(rel instanceof Charlist);
    release = Number(rel.value);
  });

  after(async () => {
    await erl?.kill();
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a native record made on OTP 29 comes to Beamline and goes back equal; the connection stays up (OTP 29+)', async () => {
    if (release < 29) {
      // no native records before OTP 29: the syntax does not compile there
      writeFileSync(join(dir, 'beamline_nr.erl'), NR_MOD);
      const r = await rpc(ts, E, 'compile', 'file', [new Charlist(join(dir, 'beamline_nr')), [atom('return_errors'), tuple(atom('outdir'), new Charlist(dir))]]);
      assert.ok(isTuple(r) && (r as Tuple).elements[0] === atom('error'), String(r));
      return;
    }
    writeFileSync(join(dir, 'beamline_nr.erl'), NR_MOD);
    const r = await rpc(ts, E, 'compile', 'file', [new Charlist(join(dir, 'beamline_nr')), [tuple(atom('outdir'), new Charlist(dir))]]);
    assert.deepEqual(r, tuple(atom('ok'), atom('beamline_nr')));
    await rpc(ts, E, 'code', 'add_patha', [new Charlist(dir)]);
    const rec = await rpc(ts, E, 'beamline_nr', 'make', []);
    assert.ok(rec instanceof NativeRecord, String(rec));
    assert.equal(rec.name, atom('point'));
    assert.equal(rec.exported, true);
    assert.equal(rec.get('y'), -4);
    assert.equal(await rpc(ts, E, 'beamline_nr', 'same', [rec]), true);
    assert.ok(distributionOf(ts).nodes('connected').includes(atom(E)), 'still connected');
  });
});
