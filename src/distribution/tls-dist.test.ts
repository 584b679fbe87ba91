/**
 * TLS distribution with Erlang's `-proto_dist inet_tls`, both ways, with
 * mutual TLS (each side verifies the other's certificate against its CA) and
 * a certificate from another CA refused both ways. Certificates are made in
 * the test with openssl. Skips with a one-line reason when erl is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Node } from '../core/node.js';
import { CallExitError } from '../core/errors.js';
import { ok, reply, startServer } from '../server/server.js';
import { atom, tuple } from '../terms/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { erlAtom, erlSkipReason, startErl, type ErlNode } from '../../test/erl.js';
import { createTestCa, writeSslDistOptfile, type TestCa } from '../../test/pki.js';
import { eventually, quietLogger, freePort } from '../../test/support.js';

const COOKIE = 'tlscookie';

describe('TLS distribution with Erlang inet_tls', { skip: erlSkipReason() }, () => {
  const tag = randomInt(1e6);
  let epmdPort = 0;
  const TS = `tlsts${tag}@127.0.0.1`;
  let ca: TestCa;
  let rogue: TestCa;
  let ts: Node;
  const erls: ErlNode[] = [];
  const logs = quietLogger();

  const tlsErl = async (name: string, evalExpr: string, issuer: TestCa = ca): Promise<ErlNode> => {
    const files = await issuer.issue(name);
    const optfile = writeSslDistOptfile(issuer.dir, name, files);
    const e = startErl({ name: `${name}@127.0.0.1`, cookie: COOKIE, epmdPort, args: ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', optfile], eval: evalExpr });
    erls.push(e);
    return e;
  };

  before(async () => {
    epmdPort = await freePort();
    ca = await createTestCa('good');
    rogue = await createTestCa('rogue');
    const files = await ca.issue('ts');
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, tls: { ...files, verifyPeer: true }, node: { logger: logs.log, shutdownTimeout: 200 } });
    await startServer<{ call: [unknown, unknown] }, undefined, undefined>(ts, { init: () => ok(undefined), handleCall: (r, _f, s) => reply(r, tuple(atom('tls_reply'), r), s) }, undefined, { name: 'kv' });
  });
  after(async () => {
    for (const e of erls) await e.kill();
    await ts?.stop();
    ca?.remove();
    rogue?.remove();
  });

  it('an Erlang TLS node connects to Beamline and calls its server', async () => {
    const e = await tlsErl(`tlse${tag}`, `pong = net_adm:ping(${erlAtom(TS)}), R = gen_server:call({kv, ${erlAtom(TS)}}, hello), io:format("RESULT ~p ~p~n", [R, nodes()]).`);
    await e.waitForOutput(/RESULT .*\n/);
    assert.match(e.output(), new RegExp(`RESULT \\{tls_reply,hello\\} \\['${TS.replace(/\./g, '\\.')}'\\]`));
    assert.ok(distributionOf(ts).nodes().includes(atom(`tlse${tag}@127.0.0.1`)));
  });

  it('Beamline connects to an Erlang TLS node and calls it', async () => {
    const E = `tlsf${tag}@127.0.0.1`;
    const e = await tlsErl(`tlsf${tag}`, `Echo = fun Loop() -> receive {'$gen_call', From, Req} -> gen:reply(From, {erl_echo, Req}), Loop() end end, register(erl_echo, spawn(Echo)), io:format("ready~n").`);
    await e.waitForOutput(/ready/);
    assert.deepEqual(await ts.call({ name: 'erl_echo', node: E }, 'over_tls', { timeout: 15_000 }), tuple(atom('erl_echo'), 'over_tls'));
  });

  it('refuses a certificate from another CA, both ways', async () => {
    // an Erlang node with a rogue certificate cannot reach Beamline
    const r = await tlsErl(`tlsr${tag}`, `io:format("PING ~p~n", [net_adm:ping(${erlAtom(TS)})]).`, rogue);
    await r.waitForOutput(/PING pang/, 30_000);
    assert.ok(!distributionOf(ts).nodes('connected').includes(atom(`tlsr${tag}@127.0.0.1`)));
    // a Beamline node with a rogue certificate cannot reach the Erlang node, and Beamline refuses the rogue Erlang node's server certificate
    const files = await rogue.issue('rogue-ts');
    const bad = await startNode({ name: `tlsbad${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, tls: { ...files, verifyPeer: true }, global: false, node: { logger: () => {}, shutdownTimeout: 200 } });
    try {
      await assert.rejects(bad.call({ name: 'erl_echo', node: `tlsf${tag}@127.0.0.1` }, 'x', { timeout: 15_000 }), (err: unknown) => err instanceof CallExitError);
      await assert.rejects(ts.call({ name: 'init', node: `tlsr${tag}@127.0.0.1` }, 'x', { timeout: 15_000 }), (err: unknown) => err instanceof CallExitError);
    } finally {
      await bad.stop();
    }
    await eventually(() => logs.lines.some((l) => /certificate|refused|cannot connect/i.test(l)), 5000, 'a logged refusal');
  });
});
