/**
 * A server's `validate` schemas: calls, casts and plain messages checked
 * with Standard Schemas before the callbacks see them. A refused call is
 * answered `{error, {invalid_message, Issues}}`; a refused cast or message
 * is logged and dropped; the state and a running timeout are kept. The same
 * from a real Erlang node: validate-interop.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deferred, eventually, quietLogger } from '../../test/support.js';
import { type Atom, atom } from '../terms/atom.js';
import { isTagged, type Tuple, Tuple as TupleClass, tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import type { StandardSchemaResult, StandardSchemaV1 } from '../core/standard-schema.js';
import { getServerState, isInvalidMessage, type MessageSchemas, noreply, ok, reply, type ServerBehavior, startServer } from './server.js';

/** A schema from a predicate: `check` returns the issue message (and path) or the value to pass on. */
function schema<T>(check: (v: unknown) => { value: T } | { message: string; path?: (string | number)[] }): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (v): StandardSchemaResult<T> => {
        const r = check(v);
        return 'value' in r ? { value: r.value } : { issues: [{ message: r.message, ...(r.path !== undefined ? { path: r.path } : {}) }] };
      },
    },
  };
}

/** The same schema, answering asynchronously. */
function later<T>(s: StandardSchemaV1<unknown, T>): StandardSchemaV1<unknown, T> {
  return { '~standard': { version: 1, vendor: 'test', validate: async (v) => s['~standard'].validate(v) } };
}

type Kv = {
  call: [Tuple<[Atom<'get'>, string]>, number | undefined] | [Tuple<[Atom<'put'>, string, number]>, Atom<'ok'>];
  cast: Tuple<[Atom<'incr'>, string]>;
  info: Tuple<[Atom<'set'>, string, number]>;
};
type State = Record<string, number>;

const keyed = (v: unknown, verb: string, arity: number): v is Tuple<unknown[]> => v instanceof TupleClass && v.elements[0] === atom(verb) && v.elements.length === arity;

const callSchema = schema<Kv['call'][0]>((v) => {
  if (!keyed(v, 'get', 2) && !keyed(v, 'put', 3)) return { message: 'expected {get, Key} or {put, Key, Number}' };
  if (typeof v.elements[1] !== 'string') return { message: 'the key must be a string', path: [1] };
  if (v.elements.length === 3 && typeof v.elements[2] !== 'number') return { message: 'the value must be a number', path: [2] };
  return { value: v as Kv['call'][0] };
});
// The cast schema transforms: a key given as an atom becomes its name.
const castSchema = schema<Kv['cast']>((v) => {
  if (!keyed(v, 'incr', 2)) return { message: 'expected {incr, Key}' };
  const key = v.elements[1];
  if (key instanceof Object && 'name' in key && typeof key.name === 'string' && key === atom(key.name)) return { value: tuple(atom('incr'), key.name) };
  if (typeof key !== 'string') return { message: 'the key must be a string or an atom', path: [1] };
  return { value: v as Kv['cast'] };
});
const infoSchema = schema<Kv['info']>((v) =>
  keyed(v, 'set', 3) && typeof v.elements[1] === 'string' && typeof v.elements[2] === 'number' ? { value: v as Kv['info'] } : { message: 'expected {set, Key, Number}' },
);

function kv(schemas: MessageSchemas<Kv>, seen: unknown[] = []): ServerBehavior<Kv, State> {
  return {
    validate: schemas,
    init: () => ok({}),
    handleCall(request, _from, s) {
      seen.push(request);
      if (isTagged(request, 'get')) return reply(request, s[request.elements[1]], s);
      return reply(request, atom('ok'), { ...s, [request.elements[1]]: request.elements[2] });
    },
    handleCast(message, s) {
      seen.push(message);
      const key = message.elements[1];
      return noreply({ ...s, [key]: (s[key] ?? 0) + 1 });
    },
    handleInfo(message, s) {
      seen.push(message);
      if (isTagged(message, 'set', 3) && typeof message.elements[1] === 'string' && typeof message.elements[2] === 'number')
        return noreply({ ...s, [message.elements[1]]: message.elements[2] });
      return noreply(s);
    },
  };
}

function newNode(name: string): { node: Node; lines: string[] } {
  const { lines, log } = quietLogger();
  return { node: new Node({ name: `${name}@127.0.0.1`, logger: log }), lines };
}

for (const mode of ['sync', 'async'] as const) {
  const wrap = <T>(s: StandardSchemaV1<unknown, T>): StandardSchemaV1<unknown, T> => (mode === 'sync' ? s : later(s));

  describe(`Server validate (${mode} schemas)`, () => {
    test('a call that fails the schema is answered {error, {invalid_message, Issues}}; handleCall never sees it', async () => {
      const { node, lines } = newNode(`vcall${mode}`);
      await using _ = node;
      const seen: unknown[] = [];
      const ref = await startServer(node, kv({ call: wrap(callSchema) }, seen), undefined, { name: 'kv' });
      assert.equal(await node.call(ref, tuple(atom('put'), 'a', 1)), atom('ok'));
      // What an untyped caller (an Erlang node, a bare name) may send:
      const bad = await node.call('kv', tuple(atom('put'), 'a', 'one'));
      assert.ok(isInvalidMessage(bad), `reply: ${String(bad)}`);
      assert.deepEqual(bad, tuple(atom('error'), tuple(atom('invalid_message'), [{ message: 'the value must be a number', path: [2] }])));
      const unknownVerb = await node.call('kv', atom('nope'));
      assert.deepEqual(unknownVerb, tuple(atom('error'), tuple(atom('invalid_message'), [{ message: 'expected {get, Key} or {put, Key, Number}', path: [] }])));
      assert.equal(await node.call(ref, tuple(atom('get'), 'a')), 1, 'the state is unchanged');
      assert.deepEqual(seen, [tuple(atom('put'), 'a', 1), tuple(atom('get'), 'a')]);
      assert.ok(
        lines.some((l) => /^warning: server refused an invalid call from <\d+\.\d+\.\d+>: the value must be a number \(at 2\) \(/.test(l)),
        lines.join('\n'),
      );
      assert.ok(node.isAlive(ref.pid));
    });

    test('a cast that fails the schema is logged and dropped; a valid one arrives as the schema output', async () => {
      const { node, lines } = newNode(`vcast${mode}`);
      await using _ = node;
      const seen: unknown[] = [];
      const ref = await startServer(node, kv({ cast: wrap(castSchema) }, seen), undefined);
      node.cast(ref.pid, tuple(atom('incr'), 42));
      node.cast(ref.pid, tuple(atom('incr'), atom('hits')));
      node.cast(ref, tuple(atom('incr'), 'hits'));
      node.cast(ref.pid, 'garbage');
      assert.deepEqual(await getServerState(node, ref), { hits: 2 });
      assert.deepEqual(seen, [tuple(atom('incr'), 'hits'), tuple(atom('incr'), 'hits')], 'the atom key reached handleCast transformed');
      const refused = lines.filter((l) => l.startsWith('warning: server refused an invalid cast'));
      assert.equal(refused.length, 2, lines.join('\n'));
      assert.ok(refused[0]?.startsWith('warning: server refused an invalid cast: the key must be a string or an atom (at 1) ('), refused[0]);
      assert.ok(refused[1]?.startsWith('warning: server refused an invalid cast: expected {incr, Key} ('), refused[1]);
    });

    test('a plain message that fails the info schema is dropped; EXIT and DOWN messages bypass it', async () => {
      const { node, lines } = newNode(`vinfo${mode}`);
      await using _ = node;
      const seen: unknown[] = [];
      const ref = await startServer(node, kv({ info: wrap(infoSchema) }, seen), undefined, { trapExit: true });
      node.send(ref.pid, tuple(atom('set'), 'x', 'not a number'));
      node.send(ref.pid, tuple(atom('set'), 'x', 5));
      // A linked process that exits: the trapped {'EXIT', Pid, Reason} reaches handleInfo.
      const gone = deferred();
      const linked = node.spawn({
        init: (p) => {
          p.link(ref.pid);
          gone.resolve();
        },
        handleMessage: (_m, p) => p.exit(atom('bye')),
      });
      await gone.promise;
      node.send(linked, 'go');
      await eventually(() => seen.length === 2, 10_000, 'the EXIT message');
      assert.deepEqual(seen[0], tuple(atom('set'), 'x', 5));
      assert.ok(isTagged(seen[1], 'EXIT', 3) && seen[1].elements[2] === atom('bye'), String(seen[1]));
      assert.deepEqual(await getServerState(node, ref), { x: 5 });
      assert.equal(lines.filter((l) => l.startsWith('warning: server refused an invalid info: expected {set, Key, Number} (')).length, 1, lines.join('\n'));
    });

    test('a refused message keeps a running timeout: it starts again, as after a system message', async () => {
      const { node } = newNode(`vtimeout${mode}`);
      await using _ = node;
      const timedOut = deferred<number>();
      const started = Date.now();
      const ref = await startServer<Kv, State, undefined>(
        node,
        {
          validate: { info: wrap(infoSchema) },
          init: () => ok({}, { timeout: 200 }),
          handleInfo(message, s) {
            if (message === atom('timeout')) timedOut.resolve(Date.now() - started);
            return noreply(s);
          },
        },
        undefined,
      );
      node.send(ref.pid, 'garbage');
      assert.ok((await timedOut.promise) >= 200);
    });
  });
}

test('messages wait for an async schema in order: the server handles one message at a time', async () => {
  const { node } = newNode('vorder');
  await using _ = node;
  const gates: Array<() => void> = [];
  const slow: StandardSchemaV1<unknown, Kv['cast']> = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (v) =>
        new Promise((resolve) => gates.push(() => resolve(castSchema['~standard'].validate(v) as StandardSchemaResult<Kv['cast']>))),
    },
  };
  const seen: unknown[] = [];
  const ref = await startServer(node, kv({ cast: slow }, seen), undefined);
  node.cast(ref, tuple(atom('incr'), 'a'));
  node.cast(ref, tuple(atom('incr'), 'b'));
  await eventually(() => gates.length === 1, 10_000, 'the first validation');
  assert.equal(node.processInfo(ref.pid)?.messageQueueLength, 1, 'the second cast waits in the mailbox');
  gates[0]?.();
  await eventually(() => gates.length === 2, 10_000, 'the second validation');
  gates[1]?.();
  await eventually(() => seen.length === 2);
  assert.deepEqual(seen, [tuple(atom('incr'), 'a'), tuple(atom('incr'), 'b')]);
});

test('a schema that throws crashes the server like a callback that throws (terminate runs)', async () => {
  const { node } = newNode('vthrow');
  await using _ = node;
  const terminated = deferred<unknown>();
  const broken: StandardSchemaV1<unknown, Kv['cast']> = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: () => {
        throw new RangeError('schema bug');
      },
    },
  };
  const ref = await startServer(node, { ...kv({ cast: broken }), terminate: (reason) => terminated.resolve(reason) }, undefined);
  const exit = node.waitExit(ref.pid);
  node.cast(ref, tuple(atom('incr'), 'a'));
  const reason = await exit;
  assert.ok(reason instanceof RangeError && reason.message === 'schema bug');
  assert.equal(await terminated.promise, reason);
});

test('an async schema that rejects crashes the server too', async () => {
  const { node } = newNode('vreject');
  await using _ = node;
  const broken: StandardSchemaV1<unknown, Kv['cast']> = {
    '~standard': { version: 1, vendor: 'test', validate: () => Promise.reject(new RangeError('async schema bug')) },
  };
  const ref = await startServer(node, kv({ cast: broken }), undefined);
  const exit = node.waitExit(ref.pid);
  node.cast(ref, tuple(atom('incr'), 'a'));
  const reason = await exit;
  assert.ok(reason instanceof RangeError && reason.message === 'async schema bug');
});

test('isInvalidMessage recognizes exactly the invalid_message reply', () => {
  assert.equal(isInvalidMessage(tuple(atom('error'), tuple(atom('invalid_message'), []))), true);
  assert.equal(isInvalidMessage(tuple(atom('error'), tuple(atom('invalid_message'), 'x'))), false);
  assert.equal(isInvalidMessage(tuple(atom('error'), atom('invalid_message'))), false);
  assert.equal(isInvalidMessage(tuple(atom('ok'), tuple(atom('invalid_message'), []))), false);
  assert.equal(isInvalidMessage([atom('error')]), false);
  assert.equal(isInvalidMessage(undefined), false);
});

test('symbol path keys become their description in the issues', async () => {
  const { node } = newNode('vsymbol');
  await using _ = node;
  const s: StandardSchemaV1<unknown, Kv['call'][0]> = {
    '~standard': { version: 1, vendor: 'test', validate: () => ({ issues: [{ message: 'no', path: [Symbol('field'), { key: 3 }] }] }) },
  };
  await startServer(node, kv({ call: s }), undefined, { name: 'sym' });
  assert.deepEqual(await node.call('sym', 'x'), tuple(atom('error'), tuple(atom('invalid_message'), [{ message: 'no', path: ['field', 3] }])));
});
