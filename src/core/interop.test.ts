/**
 * Ordering and calls across nodes, against a real erl node: a distribution
 * connection is one ordered stream, so signals from one process to another
 * keep their order across it, both ways; and a hand-written Erlang server
 * that replies with `Pid ! {Tag, Reply}` completes a Beamline call.
 * Skipped with a one-line reason when erl is missing, failing when CI=true.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { erlSkipReason, type ErlNode, startErl } from '../../test/erl.js';
import { deferred, eventually, freePort } from '../../test/support.js';
import { startNode } from '../distribution/node-dist.js';
import { type Atom, atom } from '../terms/atom.js';
import { Tuple, tuple } from '../terms/tuple.js';
import type { Node } from './node.js';

describe('signal ordering and calls across a real Erlang node', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  const E = `ord${tag}@127.0.0.1`;
  let epmdPort = 0;
  let ts: Node;
  let erl: ErlNode;

  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: `tsord${tag}@127.0.0.1`, cookie: 'ordcookie', epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    erl = startErl({
      name: E,
      cookie: 'ordcookie',
      epmdPort,
      eval: [
        // A hand-written server: replies to the caller's pid, as pre-OTP-24 code does.
        "register(hw, spawn(fun L() -> receive {'$gen_call', {P, T}, R} -> P ! {T, {echo, R}}, L() end end))",
        // Links to a Beamline process, sends it 1, 2, 3, then exits.
        'register(sender, spawn(fun() -> receive {go, To} -> link(To), [To ! N || N <- [1, 2, 3]], exit(bye) end end))',
        // Traps exits and prints the first four things it receives.
        "register(trapper, spawn(fun() -> process_flag(trap_exit, true), Got = [receive {'EXIT', _, R} -> {'EXIT', R}; M -> M end || _ <- [1, 2, 3, 4]], io:format(\"GOT ~w~n\", [Got]) end))",
        'io:format("READY~n")',
      ].join(', ') + '.',
    });
    await erl.waitForOutput(/READY/);
  });

  after(async () => {
    await erl?.kill();
    await ts?.stop();
  });

  test('messages an Erlang process sent before it exited arrive before its EXIT', async () => {
    const gate = deferred();
    const seen: unknown[] = [];
    const probe = ts.spawn(
      {
        async handleMessage(msg) {
          if (msg === 'hold') return gate.promise;
          seen.push(msg instanceof Tuple ? [(msg.elements[0] as Atom).name, msg.elements[2]] : msg);
        },
      },
      { trapExit: true },
    );
    ts.send(probe, 'hold');
    ts.send({ name: 'sender', node: E }, tuple(atom('go'), probe));
    await eventually(() => ts.processInfo(probe)?.messageQueueLength === 4, 30_000, 'four signals queued');
    gate.resolve();
    await eventually(() => seen.length === 4);
    assert.deepEqual(seen, [1, 2, 3, ['EXIT', atom('bye')]]);
  });

  test('messages a Beamline process sent before it exited arrive at Erlang before its EXIT', async () => {
    const sender = ts.spawn({
      handleMessage(msg: unknown, proc) {
        if (!(msg instanceof Tuple)) return;
        const to = msg.elements[1] as Parameters<typeof proc.link>[0];
        proc.link(to);
        for (const n of [1, 2, 3]) proc.send(to, n);
        proc.exit('bye');
      },
    });
    // The trapper's pid, through erl's rpc server (rex).
    const trapper = await ts.call({ name: 'rex', node: E }, tuple(atom('call'), atom('erlang'), atom('whereis'), [atom('trapper')], atom('user')), {
      timeout: 30_000,
    });
    ts.send(sender, tuple(atom('go'), trapper));
    const out = await erl.waitForOutput(/GOT .*\n/);
    assert.equal(out.trim(), 'GOT [1,2,3,{\'EXIT\',bye}]');
  });

  test('a hand-written Erlang server replying Pid ! {Tag, Reply} completes the call; nothing stray is left', async () => {
    const seen: unknown[] = [];
    let result: unknown;
    const caller = ts.spawn({
      async handleMessage(msg, proc) {
        if (msg === 'go') result = await proc.call({ name: 'hw', node: E }, 7, { timeout: 30_000 });
        else seen.push(msg);
      },
    });
    ts.send(caller, 'go');
    await eventually(() => result !== undefined, 30_000, 'the call completed');
    assert.deepEqual((result as Tuple).elements, [atom('echo'), 7]);
    ts.send(caller, 'after');
    await eventually(() => seen.length === 1);
    assert.deepEqual(seen, ['after']);
    // And from outside any process.
    assert.deepEqual(((await ts.call({ name: 'hw', node: E }, 8, { timeout: 30_000 })) as Tuple).elements, [atom('echo'), 8]);
  });
});
