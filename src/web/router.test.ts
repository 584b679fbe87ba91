import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from './router.js';

function router(): Router<string> {
  const r = new Router<string>();
  r.add('GET', '/kv', 'list');
  r.add('GET', '/kv/:key', 'get');
  r.add('GET', '/files/*path', 'files');
  r.add('GET', '/', 'root');
  r.add('POST', '/u/:id/x', 'post');
  return r;
}

test('literal, parameter and rest segments; parameters decoded, only when escaped', () => {
  const r = router();
  assert.deepEqual(r.match('GET', '/kv'), { type: 'found', target: 'list', params: {}, pattern: '/kv' });
  assert.deepEqual(r.match('GET', '/kv/greeting'), { type: 'found', target: 'get', params: { key: 'greeting' }, pattern: '/kv/:key' });
  assert.deepEqual(r.match('GET', '/kv/a%20b'), { type: 'found', target: 'get', params: { key: 'a b' }, pattern: '/kv/:key' });
  assert.deepEqual(r.match('GET', '/files/a/b%2Fc'), { type: 'found', target: 'files', params: { path: 'a/b/c' }, pattern: '/files/*path' });
  assert.deepEqual(r.match('GET', '/files'), { type: 'found', target: 'files', params: { path: '' }, pattern: '/files/*path' });
  assert.deepEqual(r.match('GET', '/'), { type: 'found', target: 'root', params: {}, pattern: '/' });
  assert.deepEqual(r.match('HEAD', '/kv'), { type: 'found', target: 'list', params: {}, pattern: '/kv' }, 'HEAD is served by GET');
});

test('a path with a segment too many or too few, an empty parameter or a bad escape does not match', () => {
  const r = router();
  for (const path of ['/kv/', '/kv/a/b', '/kv/greeting/', '//', '/u//x', '/kv/%zz', 'http://host/kv', '*', ''])
    assert.deepEqual(r.match('GET', path), { type: 'not_found' }, path);
});

test('a path served by another method gives method_not_allowed with the methods that serve it', () => {
  assert.deepEqual(router().match('GET', '/u/1/x'), { type: 'method_not_allowed', allow: ['POST'] });
  assert.throws(() => new Router().add('GET', 'no-slash', 'x'), TypeError);
  assert.throws(() => new Router().add('GET', '/a/*rest/b', 'x'), TypeError);
});
