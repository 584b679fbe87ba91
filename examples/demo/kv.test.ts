/**
 * The demo's `kv` Server on its own: its call and cast protocol, bad input,
 * and a store that outlives the worker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietLogger } from '../../test/support.js';
import { ErlMap } from '../../src/etf/index.js';
import { atom, Node, serverRef, startServer, stopServer, Tuple, tuple } from '../../src/index.js';
import { type KvProtocol, type KvStore, kvServer } from './kv.js';

const kv = serverRef<KvProtocol>('kv');
const OK = atom('ok');

function newNode(): { node: Node; lines: string[] } {
  const logger = quietLogger();
  return { node: new Node({ name: 'kvtest@127.0.0.1', logger: logger.log }), lines: logger.lines };
}

test('put, get, delete and keys: get answers {ok, Value} or not_found; keys compare structurally', async () => {
  const { node } = newNode();
  await using _ = node;
  await startServer(node, kvServer(), undefined, { name: 'kv' });
  assert.equal(await node.call(kv, tuple(atom('get'), 'k')), atom('not_found'));
  assert.equal(await node.call(kv, tuple(atom('put'), 'k', 42)), OK);
  assert.equal(await node.call(kv, tuple(atom('put'), tuple(atom('a'), 1), null)), OK);
  const found = await node.call(kv, tuple(atom('get'), 'k'));
  assert.ok(found instanceof Tuple);
  assert.deepEqual(found.elements, [OK, 42]);
  const nul = await node.call(kv, tuple(atom('get'), tuple(atom('a'), 1)));
  assert.ok(nul instanceof Tuple, 'a stored null is found, with an equal tuple as its key');
  assert.deepEqual(nul.elements, [OK, null]);
  assert.equal((await node.call(kv, atom('keys'))).length, 2);
  assert.equal(await node.call(kv, tuple(atom('delete'), 'k')), OK);
  assert.equal(await node.call(kv, tuple(atom('get'), 'k')), atom('not_found'));
  assert.equal(await node.call(kv, tuple(atom('delete'), 'nothing')), OK, 'deleting a missing key is ok');
});

test('casts put and delete; an unknown cast or call is answered or logged, never a crash', async () => {
  const { node, lines } = newNode();
  await using _ = node;
  const started = await startServer(node, kvServer(), undefined, { name: 'kv' });
  node.cast(kv, tuple(atom('put'), 'c', 'cast'));
  node.cast('kv', atom('nonsense'));
  const found = await node.call(kv, tuple(atom('get'), 'c'));
  assert.ok(found instanceof Tuple);
  assert.deepEqual(found.elements, [OK, 'cast']);
  node.cast(kv, tuple(atom('delete'), 'c'));
  assert.equal(await node.call(kv, tuple(atom('get'), 'c')), atom('not_found'));
  const bad = await node.call('kv', tuple(atom('frobnicate'), 1));
  assert.ok(bad instanceof Tuple);
  assert.deepEqual(bad.elements, [atom('error'), atom('bad_request')]);
  assert.ok(lines.some((l) => l.includes('dropped an unknown cast')));
  assert.ok(node.isAlive(started.pid));
});

test('the store outlives the worker: a new worker over the same store finds its entries', async () => {
  const { node } = newNode();
  await using _ = node;
  const store: KvStore = new ErlMap();
  const first = await startServer(node, kvServer(store), undefined, { name: 'kv' });
  await node.call(kv, tuple(atom('put'), 'kept', [1, 2]));
  await stopServer(node, first.pid);
  await startServer(node, kvServer(store), undefined, { name: 'kv' });
  const found = await node.call(kv, tuple(atom('get'), 'kept'));
  assert.ok(found instanceof Tuple);
  assert.deepEqual(found.elements, [OK, [1, 2]]);
});
