import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quietLogger } from '../../test/support.js';
import { Node } from '../core/node.js';
import { ok } from '../server/server.js';
import { route, startWeb } from './gateway.js';
import { respond, type WebHandler } from './handler.js';
import { json, text } from './response.js';
import type { RouteParams } from './route-params.js';
import type { StandardSchemaOutput, StandardSchemaV1 } from './standard-schema.js';

function newNode(): Node {
  return new Node({ name: 'webtypes@127.0.0.1', logger: quietLogger().log, shutdownTimeout: 2000 });
}

interface NewUser {
  readonly name: string;
  readonly age: number;
}

/** A hand-written Standard Schema: `{ name: non-empty string, age: integer ≥ 0 }`, output with `name` trimmed. */
const newUser: StandardSchemaV1<unknown, NewUser> = {
  '~standard': {
    version: 1,
    vendor: 'beamline-test',
    validate(value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { issues: [{ message: 'expected an object' }] };
      const v = value as Record<string, unknown>;
      const issues: { message: string; path: (PropertyKey | { key: PropertyKey })[] }[] = [];
      if (typeof v['name'] !== 'string' || v['name'].trim() === '') issues.push({ message: 'name: expected a non-empty string', path: ['name'] });
      if (typeof v['age'] !== 'number' || !Number.isInteger(v['age']) || v['age'] < 0) issues.push({ message: 'age: expected an integer ≥ 0', path: [{ key: 'age' }] });
      if (issues.length > 0) return { issues };
      return { value: { name: (v['name'] as string).trim(), age: v['age'] as number } };
    },
  },
};

/** The same schema answering through a promise (schemas may validate asynchronously). */
const newUserAsync: StandardSchemaV1<unknown, NewUser> = {
  '~standard': { version: 1, vendor: 'beamline-test', validate: (v) => Promise.resolve(newUser['~standard'].validate(v)) },
};

// ---- type tests: tsc checks these lines ----
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
const typeChecks: [
  Equal<RouteParams<'/users/:id/files/*rest'>, { id: string; rest: string }>,
  Equal<RouteParams<'/files/*'>, { rest: string }>,
  Equal<RouteParams<'/health'>, {}>,
  Equal<RouteParams<'/a/:x/b/:y'>, { x: string; y: string }>,
  Equal<RouteParams<string>, Record<string, string>>,
  Equal<StandardSchemaOutput<typeof newUser>, NewUser>,
] = [true, true, true, true, true, true];
void typeChecks;

/** Routes built only for their types (never started). */
export const typedRoutes = [
  route('GET', '/users/:id/files/*rest', {
    init: () => ok(0),
    handleRequest: (req, n) => {
      const id: string = req.params.id;
      const rest: string = req.params.rest;
      // @ts-expect-error: no such parameter in the pattern
      void req.params.nope;
      // @ts-expect-error: not by index either
      void req.params['nope'];
      return respond(text(`${id} ${rest}`), n + 1);
    },
  }),
  route('GET', '/health', {
    init: () => ok(undefined),
    // @ts-expect-error: a pattern without parameters gives no parameters
    handleRequest: (req, s) => respond(text(req.params.id), s),
  }),
  route(
    'POST',
    '/users',
    {
      init: () => ok(undefined),
      handleRequest: (req, s) => {
        const age: number = req.data.age;
        // @ts-expect-error: the validated body has no such field
        void req.data.email;
        return respond(json({ age }), s);
      },
    },
    { body: newUser },
  ),
  route(
    'POST',
    '/users/:org',
    {
      init: (prefix: string) => ok(prefix),
      handleRequest: (req, prefix) => respond(text(`${prefix}${req.params.org}${req.data.name}`), prefix),
    },
    { args: 'org:', body: newUser },
  ),
  // A handler typed without params (any parameter by name) still fits any route.
  route('GET', '/legacy/:what', { init: () => ok(0), handleRequest: (req, n) => respond(text(req.params['what'] ?? ''), n) } satisfies WebHandler<number>),
];

// @ts-expect-error: a handler that reads a parameter its route does not have
route('GET', '/users/:id', { init: () => ok(0), handleRequest: (req: { params: { name: string } }, n: number) => respond(text(req.params.name), n) });

/** A handler declared apart for `/u/:id`, and one that also expects a validated body. */
const forUser: WebHandler<number, undefined, RouteParams<'/u/:id'>> = { init: () => ok(0), handleRequest: (r, n) => respond(text(r.params.id), n) };
const forUserBody: WebHandler<number, undefined, RouteParams<'/u/:id'>, NewUser> = { init: () => ok(0), handleRequest: (r, n) => respond(text(r.data.name), n) };
export const declaredApart = [route('GET', '/u/:id', forUser), route('POST', '/u/:id', forUserBody, { body: newUser })];
// @ts-expect-error: its params are not this route's
route('GET', '/v/:other', forUser);
// @ts-expect-error: it expects a validated body and the route has no schema
route('POST', '/u/:id', forUserBody);

// @ts-expect-error: the body schema must be a Standard Schema
route('POST', '/x', { init: () => ok(0), handleRequest: (_req, n) => respond(text(''), n) }, { body: { validate: () => true } });

/** A handler typed with the default (any-name) params, as before params were inferred. */
const untyped: WebHandler<number> = {
  init: () => ok(0),
  handleRequest: (req, n) => respond(json({ params: req.params, data: req.data ?? null }), n + 1),
};

describe('Web: typed routes and body schemas', () => {
  test('params inferred from the pattern arrive decoded; a handler typed without params still works', async () => {
    await using node = newNode();
    const web = await startWeb(node, {
      routes: [
        route('GET', '/users/:id/files/*rest', { init: () => ok(0), handleRequest: (req, n) => respond(json({ id: req.params.id, rest: req.params.rest }), n) }),
        route('GET', '/any/:x', untyped),
      ],
    });
    assert.deepEqual(await (await fetch(`${web.url}/users/j%20o/files/a/b.txt`)).json(), { id: 'j o', rest: 'a/b.txt' });
    assert.deepEqual(await (await fetch(`${web.url}/any/1`)).json(), { params: { x: '1' }, data: null });
  });

  for (const [label, schema] of [
    ['sync', newUser],
    ['async', newUserAsync],
  ] as const) {
    test(`body schema (${label}): a valid body reaches the handler validated; invalid or non-JSON is answered 400`, async () => {
      await using node = newNode();
      let calls = 0;
      const web = await startWeb(node, {
        routes: [
          route(
            'POST',
            '/orgs/:org/users',
            {
              init: () => ok(0),
              handleRequest: (req, n) => {
                calls++;
                return respond(json({ org: req.params.org, name: req.data.name, age: req.data.age, n }, 201), n + 1);
              },
            },
            { body: schema, poolSize: 1 },
          ),
        ],
      });
      const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
        fetch(`${web.url}/orgs/acme/users`, { method: 'POST', body, headers });

      const good = await post(JSON.stringify({ name: '  Joe ', age: 41 }));
      assert.equal(good.status, 201);
      assert.deepEqual(await good.json(), { org: 'acme', name: 'Joe', age: 41, n: 0 });

      const bad = await post(JSON.stringify({ name: '', age: -1 }));
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await bad.json(), {
        error: 'invalid_body',
        issues: [
          { message: 'name: expected a non-empty string', path: ['name'] },
          { message: 'age: expected an integer ≥ 0', path: ['age'] },
        ],
      });

      const notObject = await post('[1,2]');
      assert.equal(notObject.status, 400);
      assert.deepEqual(await notObject.json(), { error: 'invalid_body', issues: [{ message: 'expected an object', path: [] }] });

      for (const body of ['{"name": "Joe",', 'name=Joe', '']) {
        const r = await post(body, { 'content-type': 'text/plain' });
        assert.equal(r.status, 400, `body ${JSON.stringify(body)}`);
        const b = (await r.json()) as { error: string; message: string };
        assert.equal(b.error, 'invalid_json');
        assert.match(b.message, /^request body is not JSON/);
      }

      // The handler saw only the valid request and kept serving (same process, state 1 now).
      assert.equal(calls, 1);
      const again = await post(JSON.stringify({ name: 'Ann', age: 7 }));
      assert.deepEqual(await again.json(), { org: 'acme', name: 'Ann', age: 7, n: 1 });
    });
  }

  test('a schema that throws crashes the handler like any handler error: 500, and the route keeps serving', async () => {
    await using node = newNode();
    const throwing: StandardSchemaV1<unknown, { ok: true }> = {
      '~standard': {
        version: 1,
        vendor: 'beamline-test',
        validate: (v) => {
          if (v === 'boom') throw new Error('schema crash (test)');
          return { value: { ok: true } };
        },
      },
    };
    const web = await startWeb(node, {
      routes: [route('POST', '/s', { init: () => ok(0), handleRequest: (req, n) => respond(json(req.data), n) }, { body: throwing, poolSize: 1 })],
    });
    assert.equal((await fetch(`${web.url}/s`, { method: 'POST', body: '"boom"' })).status, 500);
    const r = await fetch(`${web.url}/s`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true });
  });
});

// A schema typed with the spec's own declarations (as Zod, Valibot and ArkType ship them), not with ours.
declare namespace SpecV1 {
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
  }
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  interface PathSegment {
    readonly key: PropertyKey;
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
}
declare const librarySchema: { readonly '~standard': SpecV1.Props<{ n: string }, { n: number }> };
export const libraryRoute = (): unknown =>
  route(
    'POST',
    '/n',
    {
      init: () => ok(0),
      handleRequest: (req, s) => {
        const n: number = req.data.n;
        // @ts-expect-error: the output type, not the input type
        const wrong: string = req.data.n;
        void wrong;
        return respond(json(n), s);
      },
    },
    { body: librarySchema },
  );
