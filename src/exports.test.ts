/**
 * What the package root exports: the application-level API and the value
 * helpers of the README's value table, and none of the wire internals (those
 * stay in `beamline/distribution` and `beamline/etf`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as root from './index.js';
import * as distribution from './distribution/index.js';

test('the root exports the value helpers the README names', () => {
  for (const name of ['float', 'Float', 'charlist', 'Charlist', 'BitString', 'ErlMap', 'registerType', 'atom', 'tuple', 'startNode', 'rpc', 'Node', 'startServer']) {
    assert.ok(name in root, `${name} is exported from the root`);
  }
});

test('the root exports no wire internals; the distribution subpath still has them', () => {
  const wire = ['genChallenge', 'genDigest', 'initiateHandshake', 'acceptHandshake', 'encodeAlive2Req', 'decodePort2Resp', 'DFLAG', 'negotiateFlags', 'FrameDecoder', 'FrameParser', 'DistConnection', 'AtomCacheReader', 'CONTROL_OP', 'encodeMessageFrames'];
  assert.deepEqual(wire.filter((name) => name in root), []);
  assert.deepEqual(wire.filter((name) => !(name in distribution)), []);
});
