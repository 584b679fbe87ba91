/**
 * startNode's `batchBytes`: the node's connections write a turn's burst of
 * frames in one socket write with `Infinity`, and split it with a small
 * value (the first bytes at once, the rest at the turn's end); messages
 * arrive whole and in order either way; a value below 1 is refused.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { Socket } from 'node:net';
import type { Node } from '../core/node.js';
import { atom, isTuple, tuple } from '../terms/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { eventually, freePort } from '../../test/support.js';

// Without `global`, whose sync after a connect would write to the socket in the middle of a test.
const quiet = { logger: (): void => {}, shutdownTimeout: 200, global: false };
const BURST = 200;

describe('startNode batchBytes', () => {
  let epmdPort = 0;
  let sink: Node;
  const got: number[] = [];
  const tag = randomInt(1e6);
  before(async () => {
    epmdPort = await freePort();
    sink = await startNode({ name: `sink${tag}@127.0.0.1`, cookie: 'c', epmdPort, ...quiet });
    sink.spawn(
      {
        handleMessage: (m) => {
          if (isTuple(m, 2) && m.elements[0] === atom('n')) got.push(m.elements[1] as number);
        },
      },
      { name: 'sink' },
    );
  });
  after(async () => {
    await sink.stop();
  });

  /** Socket writes of a node with `batchBytes` to the sink's node in the turn it sends BURST messages; the messages arrive in order. */
  async function writesOfBurst(name: string, batchBytes: number): Promise<number> {
    const node = await startNode({ name: `${name}${tag}@127.0.0.1`, cookie: 'c', epmdPort, embeddedEpmd: false, ...quiet, batchBytes });
    try {
      const to = { name: 'sink', node: sink.name.name };
      got.length = 0;
      node.send(to, tuple(atom('n'), -1)); // connects
      await eventually(() => got.length === 1, 10_000, 'connected');
      const port = distributionOf(sink).listenPort;
      let writes = 0;
      const write = Socket.prototype.write;
      Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
        if (this.remotePort === port) writes++;
        return write.apply(this, args);
      } as Socket['write'];
      try {
        for (let i = 0; i < BURST; i++) node.send(to, tuple(atom('n'), i)); // one turn
        // The turn's frames are written by its end (after its microtasks and ticks), before the next turn's immediates.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        Socket.prototype.write = write;
      }
      await eventually(() => got.length === BURST + 1, 10_000, 'the burst arrived');
      assert.deepEqual(got, [-1, ...Array.from({ length: BURST }, (_, i) => i)], 'whole and in order');
      return writes;
    } finally {
      await node.stop();
    }
  }

  it('Infinity writes a turn in one socket write; a small value writes its first bytes at once, the rest at its end', async () => {
    assert.equal(await writesOfBurst('whole', Infinity), 1);
    assert.equal(await writesOfBurst('split', 100), 2);
  });

  it('refuses a value below 1', async () => {
    for (const batchBytes of [0, -1, Number.NaN]) {
      await assert.rejects(startNode({ name: `bad${tag}@127.0.0.1`, cookie: 'c', epmdPort, embeddedEpmd: false, ...quiet, batchBytes }), RangeError);
    }
  });
});
