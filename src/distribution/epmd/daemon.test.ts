/**
 * The embedded EPMD outlives its node, as `epmd -daemon` outlives `erl`:
 * Beamline starts it, an erl node registers there, Beamline stops, a second
 * erl still reaches the first; Beamline restarts, finds the same EPMD and
 * reaches both. Skipped with a one-line reason when erl is missing.
 * @module
 */
import { after, describe, it } from 'node:test';
import { freePort } from '../../../test/support.js';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { atom } from '../../terms/index.js';
import { distributionOf, rpc, startNode } from '../node-dist.js';
import { killEpmd, listNames } from './index.js';
import { erlSkipReason, startErl, type ErlNode } from '../../../test/erl.js';

describe('the embedded EPMD survives its node', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `epd${tag}@127.0.0.1`;
  const E1 = `epd1x${tag}@127.0.0.1`;
  const E2 = `epd2x${tag}@127.0.0.1`;
  const erls: ErlNode[] = [];

  after(async () => {
    for (const e of erls) await e.kill();
    // the daemon agrees to exit once no node is registered
    for (let i = 0; i < 200; i++) {
      const names = await listNames({ port: epmdPort }).catch(() => undefined);
      if (names === undefined) break;
      if (names.nodes.length === 0 && (await killEpmd({ port: epmdPort }))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('an erl node registered there stays reachable while Beamline is down, and after it restarts', async () => {
    const quiet = { logger: () => {}, shutdownTimeout: 200 };
    epmdPort = await freePort(); // nothing there yet: this node starts the embedded EPMD
    const first = await startNode({ name: TS, cookie: 'daemon', epmdPort, node: quiet });
    assert.equal(distributionOf(first).epmdEmbedded, true);
    const e1 = startErl({ name: E1, cookie: 'daemon', epmdPort, eval: 'io:format("UP~n").' });
    erls.push(e1);
    await e1.waitForOutput(/UP/);
    await first.stop();

    // Beamline is down; the name server is not.
    const e2 = startErl({ name: E2, cookie: 'daemon', epmdPort, eval: `io:format("PING ~p~n", [net_adm:ping('${E1}')]).` });
    erls.push(e2);
    assert.equal(await e2.waitForOutput(/PING \w+/), 'PING pong');

    const again = await startNode({ name: TS, cookie: 'daemon', epmdPort, node: quiet });
    try {
      assert.equal(distributionOf(again).epmdEmbedded, false, 'the restarted node found the running EPMD');
      assert.equal(await rpc(again, E1, 'erlang', 'node', []), atom(E1));
      assert.equal(await rpc(again, E2, 'erlang', 'node', []), atom(E2));
    } finally {
      await again.stop();
    }
  });
});
