/**
 * The demo's start failures as a newcomer meets them: a taken HTTP or TCP port
 * or a node name already registered on this host prints one line naming the
 * variable to set (no stack trace), and the demo exits with code 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { randomInt } from 'node:crypto';
import { EpmdServer, registerNode } from '../../src/distribution/epmd/index.js';
import { freePort } from '../../test/support.js';

async function holdPort(): Promise<Server> {
  const server = createServer();
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return server;
}

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['build/examples/demo/main.js'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test('a taken HTTP port, TCP port or node name is one line naming the variable to set', async (t) => {
  const epmd = await EpmdServer.start({ host: '127.0.0.1', port: await freePort() });
  const taken = await holdPort();
  // Free, and below the ephemeral range: no outgoing connection takes it before the demo listens there.
  const unused = await freePort();
  const takenPort = (taken.address() as AddressInfo).port;
  t.after(async () => {
    taken.close();
    await epmd.close();
  });
  const base = { ERL_EPMD_PORT: String(epmd.port), BEAMLINE_NODE: `demo${randomInt(1e6)}@127.0.0.1` };

  const http = await runDemo({ ...base, PORT: String(takenPort), TCP_PORT: String(unused) });
  assert.equal(http.code, 1);
  assert.equal(http.stderr, `demo failed to start: port ${takenPort} is already in use: set PORT to a free port\n`);

  const tcp = await runDemo({ ...base, PORT: String(unused), TCP_PORT: String(takenPort) });
  assert.equal(tcp.code, 1);
  assert.equal(tcp.stderr, `demo failed to start: port ${takenPort} is already in use: set TCP_PORT to a free port\n`);

  const name = `held${randomInt(1e6)}`;
  const registration = await registerNode({ host: '127.0.0.1', port: epmd.port, name, nodePort: takenPort });
  try {
    const dup = await runDemo({ ...base, BEAMLINE_NODE: `${name}@127.0.0.1`, PORT: String(unused), TCP_PORT: String(unused) });
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, `demo failed to start: the node name ${name}@127.0.0.1 is taken on this host: set BEAMLINE_NODE to another name\n`);
  } finally {
    await registration.close();
  }
});
