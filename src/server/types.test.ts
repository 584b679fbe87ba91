/**
 * Type tests: these lines must fail to compile. `tsc` (run by `npm test`)
 * reports an error if any `@ts-expect-error` line compiles, so a protocol
 * that stops catching a wrong message fails the build.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Atom, atom, isAtom } from '../terms/atom.js';
import { isTagged, isTuple, type Tuple, tuple } from '../terms/tuple.js';
import { Node } from '../core/node.js';
import type { From } from '../core/process.js';
import { type RequestOf, serverRef } from '../core/protocol.js';
import type { StandardSchemaV1 } from '../core/standard-schema.js';
import { deferReply, error, noreply, ok, reply, type ServerBehavior, startServer, stopAndReply } from './server.js';

type Counter = {
  call: [Atom<'get'>, number] | [Tuple<[Atom<'add'>, number]>, Atom<'ok'>];
  cast: Atom<'reset'>;
  info: Atom<'tick'>;
};

const counter: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  handleCall(request, _from, n) {
    if (isTagged(request, 'add')) return reply(request, atom('ok'), n + request.elements[1]);
    return reply(request, n, n); // only `get` is left
  },
  // @ts-expect-error the state is a number, not a string
  handleCast: (_msg, _n) => noreply('zero'),
};

const badReply: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  // @ts-expect-error a string is not a reply of this protocol
  handleCall: (_request, _from, n) => reply(request, 'negative', n),
};

// Per-request replies: each request carries its pair's reply type.
const perRequest: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  handleCall(request, _from, n) {
    // Narrowing by comparison works in the true branch.
    if (request === atom('get')) {
      // @ts-expect-error `get` replies a number: the atom `ok` (the reply of `add`) does not compile
      return reply(request, atom('ok'), n);
    }
    if (isAtom(request, 'get')) return reply(request, n, n);
    // @ts-expect-error `add` replies the atom `ok`, not a number
    return reply(request, n, n);
  },
};

const unNarrowed: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  // @ts-expect-error an un-narrowed request may be `get` or `add`: no single reply fits both
  handleCall: (request, _from, n) => reply(request, n, n),
};

const stopping: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  handleCall(request, _from, n) {
    if (isAtom(request, 'get')) return stopAndReply(request, 'normal', n, n);
    // @ts-expect-error stopAndReply checks the reply like reply(): `add` does not reply a string
    return stopAndReply(request, 'normal', 'bye', n);
  },
};

const forged: ServerBehavior<Counter, number, number> = {
  init: (start) => ok(start),
  // @ts-expect-error a reply result is built by reply(request, ...) only, never by hand
  handleCall: (_request, _from, n) => ({ type: 'reply', reply: 'anything', state: n }),
};

// A protocol whose requests share one reply type: any request, narrowed or not, takes it.
type Shared = { call: [Atom<'a'>, number] | [Atom<'b'>, number] };
const shared: ServerBehavior<Shared, number> = {
  init: () => ok(0),
  handleCall: (request, _from, n) => reply(request, n, n),
};

// An untyped protocol: requests are opaque (narrow them like unknown), replies are unknown.
const untyped: ServerBehavior<{ call: [unknown, unknown] }, number> = {
  init: () => ok(0),
  handleCall(request, _from, n) {
    if (isTuple(request)) return reply(request, request.elements.length, n);
    // @ts-expect-error an opaque request is not a tuple until narrowed
    void request.elements;
    return reply(request, 'anything', n);
  },
};

const lifecycle: ServerBehavior<Counter, number, number> = {
  init: (start) => (start < 0 ? error('negative_start') : ok(start, { hibernate: true })),
  // @ts-expect-error error(R) is a result of init only, not of a call
  handleCall: (_request, _from, _n) => error('nope'),
  // @ts-expect-error hibernate is a boolean
  handleCast: (_msg, n) => noreply(n, { hibernate: 'yes' }),
};

// Deferred replies: `from` takes only a reply every request shares; deferReply(request, from) the narrowed request's.
const deferring: ServerBehavior<Counter, { waiting: From<number>[] }, undefined> = {
  init: () => ok({ waiting: [] }),
  handleCall(request, from, s, ctx) {
    if (isAtom(request, 'get')) {
      s.waiting.push(deferReply(request, from));
      // @ts-expect-error the un-narrowed from may be the from of `add`: it is not a From<number>
      s.waiting.push(from);
      // @ts-expect-error the from of `get` takes a number, not the atom `ok`
      ctx.reply(deferReply(request, from), atom('ok'));
      return noreply(s);
    }
    for (const waiter of s.waiting) ctx.reply(waiter, 1);
    const first = s.waiting[0];
    // @ts-expect-error a kept From<number> refuses a string
    if (first !== undefined) ctx.reply(first, 'one');
    // @ts-expect-error the un-narrowed from takes no reply of `get` or `add` alone
    ctx.reply(from, 1);
    // @ts-expect-error the from of `add` takes the atom `ok`, not a number
    ctx.reply(deferReply(request, from), 2);
    return reply(request, atom('ok'), s);
  },
};
// A from is where a reply goes: it is contravariant in its reply type.
const anyReply = {} as From<unknown>;
const numberReply: From<number> = anyReply;
// @ts-expect-error a From<number> widened to From<unknown> would accept any reply
const widened: From<unknown> = numberReply;
// With one reply type for every request (or a single pair), the from of handleCall takes it directly.
const sharedFrom: ServerBehavior<Shared, From<number>[]> = {
  init: () => ok([]),
  handleCall: (_request, from, waiting) => noreply([...waiting, from]),
};

// Schemas must validate into the protocol's messages; their input type is free (as Zod's are).
const requestSchema = {} as StandardSchemaV1<unknown, RequestOf<Counter>>;
const getOnly = {} as StandardSchemaV1<{ raw: string }, Atom<'get'>>;
const strings = {} as StandardSchemaV1<unknown, string>;
const resetSchema = {} as StandardSchemaV1<unknown, Atom<'reset'>>;
const validated: ServerBehavior<Counter, number> = {
  validate: { call: requestSchema, cast: resetSchema, info: {} as StandardSchemaV1<unknown, Atom<'tick'>> },
  init: () => ok(0),
};
const narrower: ServerBehavior<Counter, number> = { validate: { call: getOnly }, init: () => ok(0) };
const wrongCall: ServerBehavior<Counter, number> = {
  // @ts-expect-error the call schema validates into strings, not the requests of Counter
  validate: { call: strings },
  init: () => ok(0),
};
const wrongCast: ServerBehavior<Counter, number> = {
  // @ts-expect-error the cast schema must validate into Counter's casts (`reset`), not its requests
  validate: { cast: requestSchema },
  init: () => ok(0),
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
  void [n, okAtom, wrong, anything, badReply, lifecycle, perRequest, unNarrowed, stopping, forged, shared, untyped];
  void [deferring, numberReply, widened, sharedFrom, validated, narrower, wrongCall, wrongCast];
}

test('typed protocols: replies are typed per request (checked at compile time)', async () => {
  await using node = new Node({ name: 'types@127.0.0.1', logger: () => {} });
  const ref = await startServer(node, counter, 1);
  const n = await node.call(ref, atom('get'));
  assert.equal(n, 1);
  assert.equal(typeof typeChecks, 'function');
});

test('isTagged narrows on the first atom of a tuple, and checks the size when given', () => {
  assert.equal(isTagged(tuple(atom('add'), 1), 'add'), true);
  assert.equal(isTagged(tuple(atom('add'), 1), 'add', 2), true);
  assert.equal(isTagged(tuple(atom('add'), 1), 'add', 3), false);
  assert.equal(isTagged(tuple(atom('get'), 1), 'add'), false);
  assert.equal(isTagged(tuple('add', 1), 'add'), false, 'a string is not the atom');
  assert.equal(isTagged(tuple(), 'add'), false);
  assert.equal(isTagged([atom('add'), 1], 'add'), false, 'a list is not a tuple');
  assert.equal(isTagged(undefined, 'add'), false);
});

test('stopAndReply answers the call after terminate, then the server exits', async () => {
  await using node = new Node({ name: 'types2@127.0.0.1', logger: () => {} });
  const order: string[] = [];
  const ref = await startServer(
    node,
    {
      init: () => ok(0),
      handleCall: (request, _from, n) => stopAndReply(request, 'normal', 'bye', n),
      terminate: () => {
        order.push('terminate');
      },
    } satisfies ServerBehavior<{ call: [Atom<'quit'>, string] }, number>,
    undefined,
  );
  const exited = node.waitExit(ref.pid);
  const answer = await node.call(ref, atom('quit'));
  order.push(`reply ${answer}`);
  assert.deepEqual(order, ['terminate', 'reply bye']);
  assert.equal(await exited, atom('normal'));
});
