// An Erlang process takes part in a Beamline saga by following
// docs/saga-protocol.md: a real `erl` node runs a hand-written leaf that
// returns a result, votes, acknowledges the commit, and refuses when asked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Node } from '../core/index.js';
import { atom } from '../terms/atom.js';
import { Ref } from '../terms/identifiers.js';
import { tuple } from '../terms/tuple.js';
import { startNode } from '../distribution/node-dist.js';
import { Probe, freePort } from '../../test/support.js';
import { type ErlNode, erlSkipReason, startErl } from '../../test/erl.js';
import { has, testSaga, until } from '../../test/saga-support.js';
import { startSaga } from './saga.js';
import { MemoryJournal } from './journal.js';

const skip = erlSkipReason();
const LEAF = `Leaf = fun Loop() -> receive
  {'$saga_next', {P, _}, {N, Tx, V, Opts}} ->
    io:format("NEXT ~p~n", [maps:get(two_phase_commit, Opts)]),
    P ! {'$saga_result', {self(), leaf}, {Tx, N, maps:get(payload, V)}}, Loop();
  {'$saga_prepare', {P, _}, {Tx, N, _Timeout}} ->
    P ! {'$saga_vote', {self(), leaf}, {Tx, N, case get(refuse) of true -> {no, nope}; _ -> yes end}}, Loop();
  {'$saga_decision', {P, _}, {Tx, N, commit, Final}} ->
    io:format("COMMIT ~s~n", [Final]),
    P ! {'$saga_ack', {self(), leaf}, {Tx, N}}, Loop();
  {'$saga_cancel', _, {_, _, R}} -> io:format("CANCEL ~p~n", [R]), Loop();
  refuse -> put(refuse, true), Loop()
end end, register(leaf, spawn(Leaf)), io:format("READY~n").`;

describe('an Erlang process as a next saga', { skip }, () => {
  const tag = `e${randomInt(1e6)}`;
  const E = `erl${tag}@127.0.0.1`;
  let node: Node;
  let erl: ErlNode;
  let probe: Probe;
  before(async () => {
    const epmdPort = await freePort();
    node = await startNode({ name: `ts${tag}@127.0.0.1`, cookie: 'saga', epmdPort, node: { logger: () => {} } });
    erl = startErl({ name: E, cookie: 'saga', epmdPort, eval: LEAF.replace(/\n/g, ' ') });
    await erl.waitForOutput(/READY/);
    probe = new Probe(node);
    await startSaga(node, testSaga({ name: 'origin', probe: probe.pid }), undefined, { name: 'origin', journal: new MemoryJournal(), retryInterval: 100 });
  });
  after(async () => {
    await erl?.kill();
    await node?.stop();
  });

  it('two-phase commit with an Erlang leaf: result, yes vote, commit and ack', async () => {
    const tx = await node.call('origin', tuple(atom('start'), { route: [{ name: 'leaf', node: E }], payload: 'from-beamline' }, { twoPhaseCommit: true }));
    assert.ok(tx instanceof Ref);
    const ev = await until(probe, (es) => has(es, 'commit', 'origin') !== undefined);
    assert.equal(has(ev, 'done', 'origin')?.detail, 'origin>from-beamline');
    await erl.waitForOutput(/NEXT true/);
    await erl.waitForOutput(/COMMIT origin>from-beamline/);
  });

  it('an Erlang leaf that votes no cancels the transaction with its reason', async () => {
    node.send({ name: 'leaf', node: E }, atom('refuse'));
    await node.call('origin', tuple(atom('start'), { route: [{ name: 'leaf', node: E }], payload: 'x' }, { twoPhaseCommit: true }));
    const ev = await until(probe, (es) => has(es, 'cancel', 'origin') !== undefined);
    assert.equal(has(ev, 'cancel', 'origin')?.detail, atom('nope'));
  });
});
