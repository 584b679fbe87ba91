/**
 * Short node names (`name@host` without dots) and OTP's rules for mixing
 * short and long names; `iex --sname` calling a short-named Beamline server.
 * The interop part skips with a one-line reason when elixir is missing.
 * @module
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../core/node.js';
import { CallExitError } from '../core/errors.js';
import { ok, reply, startServer } from '../server/server.js';
import { atom, tuple } from '../terms/index.js';
import { distributionOf, startNode } from './node-dist.js';
import { connectProblem, nameDomainOf, ownNameProblem, splitNodeName } from './node-names.js';
import { elixirSkipReason, erlCall, startErl, type ErlNode } from '../../test/erl.js';
import { eventually, quietLogger, freePort } from '../../test/support.js';

const COOKIE = 'shortcookie';
const HOST = hostname();

describe('node name rules', () => {
  it('splits names and tells short from long', () => {
    assert.deepEqual(splitNodeName('a@vm'), { name: 'a', host: 'vm' });
    for (const bad of ['a', '@vm', 'a@', 'a@b@c', 'a b@vm']) assert.equal(splitNodeName(bad), undefined, bad);
    assert.equal(nameDomainOf('a@vm'), 'shortnames');
    assert.equal(nameDomainOf('a@127.0.0.1'), 'longnames');
    assert.equal(nameDomainOf('a@host.example.com'), 'longnames');
    assert.equal(nameDomainOf('a@::1'), 'longnames');
  });

  it('checks a node\'s own name as net_kernel does', () => {
    assert.equal(ownNameProblem('a@vm', 'shortnames'), undefined);
    assert.equal(ownNameProblem('a-b_1@vm', 'shortnames'), undefined);
    assert.match(ownNameProblem('a@h.example', 'shortnames') ?? '', /not a short name/);
    assert.equal(ownNameProblem('a@vm', 'longnames'), undefined, 'erl -name a@vm is allowed');
    assert.match(ownNameProblem('a.b@vm', 'shortnames') ?? '', /letters, digits/);
    assert.match(ownNameProblem('nohost', 'longnames') ?? '', /name@host/);
  });

  it('refuses to connect across name domains as inet_tcp_dist does', () => {
    assert.equal(connectProblem('b@vm', 'shortnames'), undefined);
    assert.match(connectProblem('b@127.0.0.1', 'shortnames') ?? '', /NOT running to use fully qualified/);
    assert.equal(connectProblem('b@127.0.0.1', 'longnames'), undefined);
    assert.equal(connectProblem('b@host.example', 'longnames'), undefined);
    assert.match(connectProblem('b@vm', 'longnames') ?? '', /System running to use fully qualified hostnames/);
    assert.equal(connectProblem('b@::1', 'longnames'), undefined, 'an IP address is fine');
  });

  it('startNode rejects a short name with dots and a bad name part', async () => {
    await assert.rejects(startNode({ name: 'a@h.example', cookie: 'c', nameDomain: 'shortnames' }), RangeError);
    await assert.rejects(startNode({ name: 'a.b@vm', cookie: 'c' }), RangeError);
  });
});

describe('short-named Beamline nodes', () => {
  let epmdPort = 0;
  const tag = randomInt(1e6);
  let s1: Node;
  let s2: Node;
  let long: Node;
  const logs = quietLogger();
  before(async () => {
    epmdPort = await freePort();
    s1 = await startNode({ name: `sa${tag}@${HOST}`, cookie: COOKIE, epmdPort, node: { logger: logs.log, shutdownTimeout: 200 } });
    s2 = await startNode({ name: `sb${tag}@${HOST}`, cookie: COOKIE, epmdPort, node: { logger: logs.log, shutdownTimeout: 200 } });
    long = await startNode({ name: `sl${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, node: { logger: logs.log, shutdownTimeout: 200 } });
  });
  after(async () => {
    await long?.stop();
    await s2?.stop();
    await s1?.stop();
  });

  it('connect to each other through EPMD at the host', async () => {
    assert.equal(distributionOf(s1).nameDomain, 'shortnames');
    await startServer<{ call: [unknown, unknown] }, undefined, undefined>(s2, { init: () => ok(undefined), handleCall: (r, _f, st) => reply(r, tuple(atom('got'), r), st) }, undefined, { name: 'srv' });
    assert.deepEqual(await s1.call({ name: 'srv', node: s2.name.name }, 'x'), tuple(atom('got'), 'x'));
    assert.ok(distributionOf(s1).nodes().includes(s2.name));
  });

  it('do not mix with long names, in either direction', async () => {
    await assert.rejects(s1.call({ name: 'rex', node: long.name.name }, 'x', { timeout: 5000 }), (e: unknown) => e instanceof CallExitError);
    await assert.rejects(long.call({ name: 'rex', node: s2.name.name }, 'x', { timeout: 5000 }), (e: unknown) => e instanceof CallExitError);
    assert.ok(!distributionOf(s1).nodes('connected').includes(long.name));
    assert.ok(logs.lines.some((l) => l.includes('NOT running to use fully qualified')));
    assert.ok(logs.lines.some((l) => l.includes('System running to use fully qualified')));
  });
});

describe('iex --sname and erl -sname with a short-named Beamline node', { skip: elixirSkipReason() }, () => {
  let epmdPort = 0;
  const tag = randomInt(1e6);
  const TS = `sts${tag}@${HOST}`;
  let ts: Node;
  let erl: ErlNode;
  before(async () => {
    epmdPort = await freePort();
    ts = await startNode({ name: TS, cookie: COOKIE, epmdPort, node: { logger: () => {}, shutdownTimeout: 200 } });
    await startServer<{ call: [unknown, unknown] }, number, undefined>(
      ts,
      { init: () => ok(0), handleCall: (r, _f, n) => reply(r, tuple(atom('beamline'), r, n + 1), n + 1) },
      undefined,
      { name: 'kv' },
    );
  });
  after(async () => {
    await erl?.kill();
    await ts?.stop();
  });

  it('iex --sname calls the Beamline server by {name, node}', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'beamline-iex-'));
    try {
      const iex = spawn('iex', ['--sname', `iex${tag}`, '--cookie', COOKIE, '--erl', '-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}'], {
        cwd,
        env: { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      iex.stdout.on('data', (b: Buffer) => (out += b.toString()));
      iex.stderr.on('data', (b: Buffer) => (out += b.toString()));
      iex.stdin.end(`IO.inspect(GenServer.call({:kv, :"${TS}"}, :hello), label: "REPLY")\nIO.inspect(Node.list(), label: "NODES")\nSystem.halt(0)\n`);
      const code = await new Promise<number | null>((r) => iex.once('exit', r));
      assert.equal(code, 0, out);
      assert.match(out, /REPLY: \{:beamline, :hello, 1\}/);
      assert.match(out, new RegExp(`NODES: \\[:"?${TS}"?\\]`));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('erl -sname pings it; erl -name cannot', async () => {
    erl = startErl({ name: `esn${tag}`, nameFlag: '-sname', cookie: COOKIE, epmdPort, eval: 'io:format("ready~n").' });
    await erl.waitForOutput(/ready/);
    const r = await erlCall({ node: `esn${tag}@${HOST}`, nameFlag: '-sname', cookie: COOKIE, epmdPort, expr: `net_adm:ping('${TS}').` });
    assert.equal(r.out, '{ok,pong}');
    await eventually(() => distributionOf(ts).nodes().includes(atom(`esn${tag}@${HOST}`)), 10_000, 'erl visible');
    const longErl = startErl({ name: `eln${tag}@127.0.0.1`, cookie: COOKIE, epmdPort, eval: `io:format("~p~n", [net_adm:ping('${TS}')]).` });
    try {
      await longErl.waitForOutput(/pang/);
    } finally {
      await longErl.kill();
    }
  });
});
