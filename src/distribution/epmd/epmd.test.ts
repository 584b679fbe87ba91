/**
 * EPMD tests: the embedded server with our client, hostile clients, the old
 * ALIVE2_RESP, ensureEpmd, and real `erl` nodes plus the `epmd -names`
 * client against the embedded server.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { EpmdServer, ensureEpmd, killEpmd, listNames, lookupNode, registerNode, encodeAlive2Req, NODE_TYPE } from './index.js';
import { isDistError } from '../errors.js';
import { collect } from '../testing/sockets.js';
import { erlSkipReason, startErl, type ErlNode } from '../../../test/erl.js';
import { eventually, freePort } from '../../../test/support.js';

describe('embedded EPMD server with our client', () => {
  let epmd: EpmdServer;
  before(async () => {
    epmd = await EpmdServer.start({ port: 0 });
  });
  after(() => epmd.close());
  const addr = (): { port: number } => ({ port: epmd.port });

  it('registers, looks up, lists, and unregisters on close', async () => {
    const reg = await registerNode({ ...addr(), name: 'n1', nodePort: 40001 });
    assert.ok(reg.creation > 0 && reg.creation <= 0xffffffff);
    assert.equal(epmd.lookup('n1')?.creation, reg.creation);
    const info = await lookupNode({ ...addr(), name: 'n1' });
    assert.equal(info?.port, 40001);
    assert.equal(info?.nodeType, NODE_TYPE.HIDDEN);
    assert.equal(info?.highestVersion, 6);
    assert.equal(info?.lowestVersion, 5);
    const names = await listNames(addr());
    assert.equal(names.epmdPort, epmd.port);
    assert.deepEqual(names.nodes, [{ name: 'n1', port: 40001 }]);
    const gone = epmd.waitForUnregister('n1');
    await reg.close();
    await gone;
    assert.equal(reg.active, false);
    assert.equal(await lookupNode({ ...addr(), name: 'n1' }), undefined);
  });

  it('refuses a duplicate name while the first registration lives', async () => {
    const reg = await registerNode({ ...addr(), name: 'dup', nodePort: 40002, hidden: false });
    await assert.rejects(registerNode({ ...addr(), name: 'dup', nodePort: 40003 }), (e) => isDistError(e, 'epmd_name_taken'));
    assert.equal(epmd.lookup('dup')?.port, 40002);
    assert.equal(epmd.lookup('dup')?.nodeType, NODE_TYPE.NORMAL);
    await reg.close();
    await epmd.waitForUnregister('dup');
    const again = await registerNode({ ...addr(), name: 'dup', nodePort: 40004 });
    await again.close();
  });

  it('closes only hostile sockets', async () => {
    const reg = await registerNode({ ...addr(), name: 'keep', nodePort: 40005 });
    const hostile = [
      Buffer.from([0, 0]), // empty request
      Buffer.from([0, 1, 99]), // unknown request
      Buffer.from([0, 3, 120, 1, 2]), // truncated ALIVE2_REQ
      Buffer.from('GET / HTTP/1.1\r\n\r\n'), // garbage: bytes beyond the declared request
      Buffer.concat([encodeAlive2Req({ name: 'x', port: 1, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5, extra: new Uint8Array() }), Buffer.from([1])]),
    ];
    const replies = await Promise.all(
      hostile.map(async (bytes) => {
        const s = connect({ host: '127.0.0.1', port: epmd.port });
        const got = collect(s);
        s.write(bytes);
        return got;
      }),
    );
    for (const r of replies) assert.equal(r.length, 0);
    assert.equal(epmd.lookup('x'), undefined);
    assert.equal(epmd.lookup('keep')?.port, 40005);
    await reg.close();
  });

  it('times out clients that never finish a request', async () => {
    const quick = await EpmdServer.start({ port: 0, requestTimeout: 100 });
    try {
      const s = connect({ host: '127.0.0.1', port: quick.port });
      const got = collect(s);
      s.write(Buffer.from([0, 50, 120]));
      assert.equal((await got).length, 0);
    } finally {
      await quick.close();
    }
  });

  it('client rejects a hostile server reply, and reports an unreachable EPMD', async () => {
    const evil = createServer((s) => {
      s.on('data', () => s.end(Buffer.from([0x42, 0x00, 0x00])));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => evil.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (evil.address() as AddressInfo).port;
    try {
      await assert.rejects(registerNode({ port, name: 'z', nodePort: 1 }), (e) => isDistError(e, 'epmd_protocol'));
      await assert.rejects(lookupNode({ port, name: 'z' }), (e) => isDistError(e, 'epmd_protocol'));
    } finally {
      await new Promise((r) => evil.close(r));
    }
    await assert.rejects(listNames({ port }), (e) => isDistError(e, 'epmd_unreachable'));
  });

  it('client accepts the old ALIVE2_RESP with a 16-bit creation', async () => {
    const old = createServer((s) => {
      s.on('data', () => s.write(Buffer.from([121, 0, 0x00, 0x03])));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => old.listen({ host: '127.0.0.1', port: 0 }, r));
    try {
      const reg = await registerNode({ port: (old.address() as AddressInfo).port, name: 'o', nodePort: 1 });
      assert.equal(reg.creation, 3);
      await reg.close();
    } finally {
      await new Promise((r) => old.close(r));
    }
  });

  it('ensureEpmd starts an embedded server on a free port and reuses a running one', async () => {
    const free = await freePort();
    const first = await ensureEpmd({ port: free, detached: false });
    assert.equal(first.embedded, true);
    const second = await ensureEpmd({ port: free, detached: false });
    assert.equal(second.embedded, false);
    const reg = await registerNode({ port: second.port, name: 'via2', nodePort: 5 });
    assert.equal(first.server?.lookup('via2')?.port, 5);
    await reg.close();
    await second.close();
    await first.close();
  });
});

describe('the detached EPMD daemon', () => {
  it('is started once, outlives its starter, is found again, and exits on KILL_REQ once empty', async () => {
    const free = await freePort();
    const first = await ensureEpmd({ port: free });
    assert.equal(first.embedded, true);
    assert.equal(first.server, undefined);
    assert.ok(typeof first.pid === 'number');
    await first.close(); // does not stop the daemon
    const reg = await registerNode({ port: free, name: 'daemonized', nodePort: 7 });
    const again = await ensureEpmd({ port: free });
    assert.equal(again.embedded, false, 'a second start finds the running daemon');
    assert.equal((await lookupNode({ port: free, name: 'daemonized' }))?.port, 7);
    assert.equal(await killEpmd({ port: free }), false, 'refused while a node is registered');
    await reg.close();
    for (let i = 0; i < 1000 && (await listNames({ port: free })).nodes.length > 0; i++);
    assert.equal((await listNames({ port: free })).nodes.length, 0);
    assert.equal(await killEpmd({ port: free }), true);
    // the process is gone
    await eventually(() => {
      try {
        process.kill(first.pid as number, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('exits by itself once no node has been registered for idleExitMs', async () => {
    const free = await freePort();
    const h = await ensureEpmd({ port: free, idleExitMs: 200 });
    const reg = await registerNode({ port: free, name: 'brief', nodePort: 9 });
    await reg.close();
    await eventually(() => {
      try {
        process.kill(h.pid as number, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});

describe('embedded EPMD with real erl and epmd -names', { skip: erlSkipReason() }, () => {
  let epmd: EpmdServer;
  const nodes: ErlNode[] = [];
  before(async () => {
    epmd = await EpmdServer.start({ port: 0 });
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await epmd.close();
  });

  it('a real erl node registers, gets a 32-bit creation, and epmd -names lists it', async () => {
    const node = startErl({
      name: 'epmdreg@127.0.0.1',
      cookie: 'c1',
      epmdPort: epmd.port,
      eval: 'io:format("creation=~p~n", [erlang:system_info(creation)]).',
    });
    nodes.push(node);
    const reg = await epmd.waitForNode('epmdreg');
    assert.equal(reg.nodeType, NODE_TYPE.NORMAL);
    assert.equal(reg.highestVersion, 6);
    const line = await node.waitForOutput(/creation=\d+/);
    assert.equal(line, `creation=${reg.creation}`);

    const info = await lookupNode({ port: epmd.port, name: 'epmdreg' });
    assert.equal(info?.port, reg.port);

    const out = await new Promise<string>((resolve, reject) =>
      execFile('epmd', ['-port', String(epmd.port), '-names'], { timeout: 20_000 }, (err, stdout) =>
        err === null ? resolve(stdout) : reject(err),
      ),
    );
    assert.match(out, new RegExp(`epmd: up and running on port ${epmd.port} with data:`));
    assert.match(out, new RegExp(`name epmdreg at port ${reg.port}`));

    const gone = epmd.waitForUnregister('epmdreg');
    await node.kill();
    await gone;
  });
});
