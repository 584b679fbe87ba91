// Run: npx tsc -p . && node build/examples/web.js
/**
 * Example: a Web gateway with a pool of 4 handlers; one request with a
 * route parameter and a query, answered with JSON.
 * @module
 */
import { json, Node, ok, respond, route, startWeb, stopServer, type WebHandler } from '../src/index.js';

const hello: WebHandler<number> = {
  init: () => ok(0),
  handleRequest: (req, served, ctx) => respond(json({ hello: req.params['name'], lang: req.query.get('lang'), served, by: String(ctx.self) }), served + 1),
};

const node = new Node({ name: 'web_example@127.0.0.1' });
const web = await startWeb(node, { port: 0, routes: [route('GET', '/hello/:name', hello, { poolSize: 4 })] });
const res = await fetch(`${web.url}/hello/joe?lang=erlang`);
console.log(res.status, await res.json());
await stopServer(node, web); // drains, closes the socket and the pool
await node.stop();
