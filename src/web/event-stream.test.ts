/** Event streams (Server-Sent Events) on the Web behavior: a stopping gateway ends them instead of waiting out its drain. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietLogger } from '../../test/support.js';
import { Node } from '../core/node.js';
import { ok, stopServer } from '../server/server.js';
import { route, startWeb } from './gateway.js';
import { respond, type WebHandler } from './handler.js';
import { stream } from './response.js';

async function* ticks(): AsyncGenerator<string> {
  for (let i = 0; ; i++) {
    yield `data: ${i}\n\n`;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const events: WebHandler<undefined> = {
  init: () => ok(undefined),
  handleRequest: (_req, s) => respond(stream(ticks(), 200, { 'content-type': 'text/event-stream' }), s),
};

test('stopping the gateway ends its event streams cleanly, without waiting for the drain timeout', async () => {
  await using node = new Node({ name: 'sse@127.0.0.1', logger: quietLogger().log });
  // A drain timeout far longer than the test's: the stream must end because it is an event stream.
  const web = await startWeb(node, { routes: [route('GET', '/events', events)], shutdownTimeout: 600_000 });
  const res = await fetch(`${web.url}/events`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('data: 2')) text += new TextDecoder().decode((await reader.read()).value);
  const stopped = stopServer(node, web.pid);
  for (;;) if ((await reader.read()).done) break; // a clean end, not a reset
  await stopped;
  assert.match(text, /^data: 0\n\ndata: 1\n\n/);
});
