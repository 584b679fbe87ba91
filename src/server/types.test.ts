/**
 * Type tests: these lines must fail to compile. `tsc` (run by `npm test`)
 * reports an error if any `@ts-expect-error` line compiles, so a protocol
 * that stops catching a wrong message fails the build.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Atom, atom } from '../terms/atom.js';
import { type Tuple, tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import { serverRef } from '../core/protocol.js';
import { error, noreply, ok, reply, type ServerBehavior, startServer } from './server.js';

type Counter = {
  call: [Atom<'get'>, number] | [Tuple<[Atom<'add'>, number]>, Atom<'ok'>];
  cast: Atom<'reset'>;
  info: Atom<'tick'>;
};

const counter: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  handleCall(request, _from, n) {
    if (request === atom('get')) return reply(n, n);
    return reply(atom('ok'), n + (request as Tuple<[Atom<'add'>, number]>).elements[1]);
  },
  // @ts-expect-error the state is a number, not a string
  handleCast: (_msg, _n) => noreply('zero'),
};

const badReply: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  // @ts-expect-error a string is not a reply of this protocol
  handleCall: (_request, _from, n) => reply('negative', n),
};

const lifecycle: ServerBehavior<Counter, number, number> = {
  init: (start) => (start < 0 ? error('negative_start') : ok(start, { hibernate: true })),
  // @ts-expect-error error(R) is a result of init only, not of a call
  handleCall: (_request, _from, _n) => error('nope'),
  // @ts-expect-error hibernate is a boolean
  handleCast: (_msg, n) => noreply(n, { hibernate: 'yes' }),
};

async function typeChecks(node: Node): Promise<void> {
  const ref = await startServer(node, counter, 1);
  const n: number = await node.call(ref, atom('get'));
  const okAtom: Atom<'ok'> = await node.call(ref, tuple(atom('add'), 2));
  // @ts-expect-error the reply to `get` is a number, not a string
  const wrong: string = await node.call(ref, atom('get'));
  // @ts-expect-error `put` is not a request of this protocol
  await node.call(ref, tuple(atom('put'), 1)).catch(() => {});
  // @ts-expect-error the argument of `add` is a number
  await node.call(ref, tuple(atom('add'), 'two')).catch(() => {});
  node.cast(ref, atom('reset'));
  // @ts-expect-error `stop` is not a cast of this protocol
  node.cast(ref, atom('stop'));
  node.send(ref, atom('tick'));
  // @ts-expect-error only `tick` may be sent
  node.send(ref, 'tock');
  // @ts-expect-error start arguments are a number
  await startServer(node, counter, 'one').catch(() => {});
  const byName = serverRef<Counter>('counter');
  // @ts-expect-error typed refs by name check requests too
  await node.call(byName, atom('nope')).catch(() => {});
  // Untyped destinations accept anything and give unknown.
  const anything: unknown = await node.call(ref.pid, 'free-form').catch(() => undefined);
  void [n, okAtom, wrong, anything, badReply, lifecycle];
}

test('typed protocols: replies are typed per request (checked at compile time)', async () => {
  await using node = new Node({ name: 'types@127.0.0.1', logger: () => {} });
  const ref = await startServer(node, counter, 1);
  const n = await node.call(ref, atom('get'));
  assert.equal(n, 1);
  assert.equal(typeof typeChecks, 'function');
});
