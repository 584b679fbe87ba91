/**
 * freePort: ports below the ephemeral range, free when handed out, and never
 * the same one twice in a process (a test taking several ports for one child
 * starts nothing on them before it has them all).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort } from './free-port.js';

test('freePort hands out distinct ports in 10000-31999 that can be listened on', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 400; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, 'no port twice');
  assert.ok(ports.every((p) => Number.isInteger(p) && p >= 10_000 && p < 32_000));
  // Held by nobody: each one can be listened on (here all at once, a stronger check than one at a time).
  const servers = ports.slice(0, 20).map(() => createServer());
  try {
    await Promise.all(servers.map(async (s, i) => {
      s.listen(ports[i], '127.0.0.1');
      await once(s, 'listening');
    }));
  } finally {
    await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise((r) => s.close(r))));
  }
});
