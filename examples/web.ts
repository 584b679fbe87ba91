// Run: npx tsc -p . && node build/examples/web.js
/**
 * Example: a Web gateway with a pool of 4 handlers. `req.params` is typed
 * from the route pattern (`req.params.name`); a POST route validates its
 * JSON body with a Standard Schema (any library's, here one by hand) and
 * answers 400 with the issues when it does not fit.
 * @module
 */
import { json, Node, ok, respond, route, startWeb, stopServer, type StandardSchemaV1 } from '../src/index.js';

/** `{ name: string }`: Zod, Valibot or ArkType schemas fit here the same way. */
const greeting: StandardSchemaV1<unknown, { name: string }> = {
  '~standard': {
    version: 1,
    vendor: 'example',
    validate: (v) =>
      typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string'
        ? { value: { name: (v as { name: string }).name } }
        : { issues: [{ message: 'expected a string', path: ['name'] }] },
  },
};

const node = new Node({ name: 'web_example@127.0.0.1' });
const web = await startWeb(node, {
  port: 0,
  routes: [
    route(
      'GET',
      '/hello/:name',
      {
        init: () => ok(0),
        // req.params is { name: string }: req.params.nmae would not compile
        handleRequest: (req, served, ctx) => respond(json({ hello: req.params.name, lang: req.query.get('lang'), served, by: String(ctx.self) }), served + 1),
      },
      { poolSize: 4 },
    ),
    route('POST', '/greetings', { init: () => ok(undefined), handleRequest: (req, s) => respond(json({ hello: req.data.name }, 201), s) }, { body: greeting }),
  ],
});
const res = await fetch(`${web.url}/hello/joe?lang=erlang`);
console.log(res.status, await res.json());
const created = await fetch(`${web.url}/greetings`, { method: 'POST', body: JSON.stringify({ name: 'Robert' }) });
console.log(created.status, await created.json());
const refused = await fetch(`${web.url}/greetings`, { method: 'POST', body: JSON.stringify({ name: 42 }) });
console.log(refused.status, await refused.json()); // 400 { error: 'invalid_body', issues: [{ message: 'expected a string', path: ['name'] }] }
await stopServer(node, web); // drains, closes the socket and the pool
await node.stop();
