/**
 * The idle spin of socket connections (`socket-spin.ts`), over TCP and TLS:
 * a node pair delivers calls (sequential and concurrent) with the spin on
 * (the default) and off (`maxSpinUs: 0`); a node's poller is registered with
 * the scheduler, fed by the event loop, while at least one connection is up
 * and removed when the last goes down (both ends); bad `maxSpinUs` is
 * refused before anything starts.
 * @module
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Node } from '../core/node.js';
import { idleSpinState, setIdleSpin } from '../core/scheduler.js';
import { distributionOf, startNode, type DistTlsOptions } from './node-dist.js';
import { createSelfSignedCertificate } from './transport.js';
import { eventually, freePort } from '../../test/support.js';
import { isTuple, type Pid, type Tuple } from '../terms/index.js';

const quiet = { logger: (): void => {}, shutdownTimeout: 200 };

/** Starts `names.length` nodes on a fresh EPMD port, each with an `echo` process answering `{'$gen_call', From, X}` with X. */
async function startNodes(count: number, extra: { tls?: DistTlsOptions; maxSpinUs?: number }): Promise<{ nodes: Node[]; names: string[] }> {
  const epmdPort = await freePort();
  const tag = randomInt(1e6);
  const names = Array.from({ length: count }, (_, i) => `spin${i}x${tag}@127.0.0.1`);
  const nodes: Node[] = [];
  for (const name of names) {
    const node = await startNode({ name, cookie: 'spin', epmdPort, ...quiet, ...extra });
    node.spawn(
      {
        handleMessage: (m, p) => {
          if (isTuple(m, 3)) p.reply(m.elements[1] as Tuple<[Pid, unknown]>, m.elements[2]);
        },
      },
      { name: 'echo' },
    );
    nodes.push(node);
  }
  return { nodes, names };
}

for (const mode of ['tcp', 'tls'] as const) {
  describe(`idle spin of ${mode} distribution connections`, () => {
    let started: Node[] = [];
    afterEach(async () => {
      for (const n of started) await n.stop();
      started = [];
      setIdleSpin({});
    });
    const tlsOption = async (): Promise<{ tls?: DistTlsOptions }> => (mode === 'tls' ? { tls: await createSelfSignedCertificate() } : {});

    for (const maxSpinUs of [undefined, 0] as const) {
      it(`a node pair delivers calls with the spin ${maxSpinUs === 0 ? 'off (maxSpinUs: 0)' : 'on (default)'}`, async () => {
        const { nodes, names } = await startNodes(2, { ...(await tlsOption()), ...(maxSpinUs === undefined ? {} : { maxSpinUs }) });
        started = nodes;
        const [a, b] = nodes as [Node, Node];
        assert.equal(idleSpinState().maxSpinUs, maxSpinUs ?? 500);
        const echo = { name: 'echo', node: names[1] as string };
        for (let i = 0; i < 200; i++) assert.equal(await a.call(echo, i), i);
        const replies = await Promise.all(
          Array.from({ length: 8 }, async (_, c) => {
            const got: unknown[] = [];
            for (let i = 0; i < 50; i++) got.push(await a.call(echo, [c, i]));
            return got;
          }),
        );
        replies.forEach((got, c) => assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => [c, i])));
        // Both directions, both nodes' pollers up.
        assert.equal(await b.call({ name: 'echo', node: names[0] as string }, 'back'), 'back');
        assert.ok(distributionOf(a).spin.registered && distributionOf(b).spin.registered);
        assert.equal(idleSpinState().eventLoopPollers, 2, 'one poller per node');
      });
    }

    it('a node registers its poller with its first connection and removes it with its last', async () => {
      const { nodes, names } = await startNodes(3, await tlsOption());
      started = nodes;
      const [a, b, c] = nodes as [Node, Node, Node];
      const spinA = distributionOf(a).spin;
      assert.equal(spinA.registered, false, 'no connection, no poller');
      assert.equal(idleSpinState().eventLoopPollers, 0);
      assert.equal(await a.call({ name: 'echo', node: names[1] as string }, 1), 1);
      assert.equal(await a.call({ name: 'echo', node: names[2] as string }, 2), 2);
      assert.equal(spinA.size, 2);
      assert.ok(spinA.registered);
      assert.ok(distributionOf(b).spin.registered && distributionOf(c).spin.registered);
      assert.equal(idleSpinState().eventLoopPollers, 3);

      assert.ok(distributionOf(a).disconnect(names[1] as string));
      await eventually(() => !distributionOf(b).spin.registered, 10_000, "b's poller removed with its only connection");
      assert.equal(spinA.size, 1);
      assert.ok(spinA.registered, 'still one connection up');
      assert.equal(idleSpinState().eventLoopPollers, 2);
      assert.equal(await a.call({ name: 'echo', node: names[2] as string }, 3), 3);

      assert.ok(distributionOf(a).disconnect(names[2] as string));
      await eventually(() => !spinA.registered && !distributionOf(c).spin.registered, 10_000, 'pollers removed with the last connections');
      assert.equal(spinA.size, 0);
      assert.deepEqual([idleSpinState().pollers, idleSpinState().eventLoopPollers], [0, 0]);

      // A new connection registers again, and calls go through.
      assert.equal(await a.call({ name: 'echo', node: names[1] as string }, 4), 4);
      assert.ok(spinA.registered);
    });
  });
}

describe('maxSpinUs option', () => {
  it('refuses a bad value before anything starts', async () => {
    for (const maxSpinUs of [-1, Number.NaN, 20_000]) {
      await assert.rejects(startNode({ name: `bad${randomInt(1e6)}@127.0.0.1`, cookie: 'c', epmdPort: await freePort(), ...quiet, maxSpinUs }), RangeError);
    }
    assert.equal(idleSpinState().maxSpinUs, 500, 'the thread setting is unchanged');
  });
});
