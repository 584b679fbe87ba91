// The linearizability checker against the labeled histories in ../shared/histories (recorded
// against real systems), hand-made histories for each rule, and the command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { checkHistoryText } from './check-history.js';
import { HistoryFormatError, parseJepsenRegister, parseKv } from './history-files.js';
import { checkOperations, type Operation, unknown } from './linearizability.js';
import { type RegisterInput, type RegisterOutput, registerModel } from './models.js';

// build/src/raft/testing/ -> the repo root -> ../shared beside it, as CI lays it out.
const histories = fileURLToPath(new URL('../../../../../shared/histories/', import.meta.url));
const cli = fileURLToPath(new URL('./check-history.js', import.meta.url));

// The verdict must not depend on the machine's load: the checker gets a budget far above the 10 s
// each history must take (etcd_002, the slowest, took 4 s at load 24 here and over 10 s in
// CI, where the 'unknown' verdict failed the test). The speed itself is a benchmark's business.
test('every labeled jepsen-etcd history is classified correctly', () => {
  const labels = readFileSync(`${histories}jepsen-etcd/LABELS`, 'utf8').trim().split('\n');
  assert.ok(labels.length >= 30);
  for (const line of labels) {
    const [file, label] = line.split(/\s+/);
    const verdict = checkHistoryText(readFileSync(`${histories}jepsen-etcd/${file!}`, 'utf8'), 'register', 120_000);
    assert.equal(verdict, label === 'linearizable' ? 'ok' : 'illegal', file);
  }
});

test('every kv history is classified correctly (-ok linearizable, -bad not)', () => {
  const files = readdirSync(`${histories}kv`).filter((f) => f.endsWith('.txt'));
  assert.ok(files.length >= 4);
  for (const file of files) {
    const verdict = checkHistoryText(readFileSync(`${histories}kv/${file}`, 'utf8'), 'kv');
    assert.equal(verdict, file.endsWith('-ok.txt') ? 'ok' : 'illegal', file);
  }
});

type RegOp = Operation<RegisterInput, RegisterOutput>;
const w = (client: number, value: string, call: number, ret: number): RegOp => ({ client, input: { f: 'write', value }, output: null, call, ret });
const r = (client: number, value: string | null, call: number, ret: number): RegOp => ({ client, input: { f: 'read' }, output: value, call, ret });

test('register: sequential rules, overlap, and stale reads', () => {
  assert.equal(checkOperations(registerModel, []), 'ok');
  assert.equal(checkOperations(registerModel, [r(0, null, 1, 2)]), 'ok');
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 2), r(1, '1', 3, 4)]), 'ok');
  // A read after a completed write must see it.
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 2), r(1, null, 3, 4)]), 'illegal');
  // Overlapping: either order is fine.
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 4), r(1, null, 2, 3)]), 'ok');
  // Two reads cannot see the new value and then the old one.
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 10), r(1, '1', 2, 3), r(2, null, 4, 5)]), 'illegal');
});

test('register: unknown outcomes may take effect late or never', () => {
  const timedOut: RegOp = { client: 0, input: { f: 'write', value: '7' }, output: unknown, call: 1, ret: Number.POSITIVE_INFINITY };
  assert.equal(checkOperations(registerModel, [timedOut, r(1, null, 2, 3), r(1, '7', 4, 5)]), 'ok');
  assert.equal(checkOperations(registerModel, [timedOut, r(1, null, 2, 3)]), 'ok');
  assert.equal(checkOperations(registerModel, [timedOut, r(1, '7', 2, 3), r(1, null, 4, 5)]), 'illegal');
  const cas = (output: boolean, call: number, ret: number): RegOp => ({ client: 2, input: { f: 'cas', from: '1', to: '2' }, output, call, ret });
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 2), cas(true, 3, 4), r(1, '2', 5, 6)]), 'ok');
  assert.equal(checkOperations(registerModel, [w(0, '1', 1, 2), cas(false, 3, 4)]), 'illegal');
});

test('parsers: jepsen lines, info stays open, timed-out reads dropped, bad input refused', () => {
  const ops = parseJepsenRegister(
    [
      'INFO  jepsen.util - 0\t:invoke\t:write\t3',
      'INFO  jepsen.util - 1\t:invoke\t:read\tnil',
      'some other line',
      'INFO  jepsen.util - 1\t:fail\t:read\t:timed-out',
      'INFO  jepsen.util - 0\t:info\t:write\t:timed-out',
      'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]',
      'INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]',
    ].join('\n'),
  );
  assert.equal(ops.length, 2);
  assert.deepEqual(ops[0], { client: 2, input: { f: 'cas', from: '3', to: '4' }, output: false, call: 5, ret: 6 });
  assert.equal(ops[1]!.output, unknown);
  assert.ok(ops[1]!.ret > 6);
  assert.throws(() => parseJepsenRegister('INFO  jepsen.util - 0\t:ok\t:read\t1'), HistoryFormatError);
  assert.throws(() => parseJepsenRegister('INFO  jepsen.util - 0\t:invoke\t:cas\t[x]'), HistoryFormatError);
  const kv = parseKv('{:process 3, :type :invoke, :f :put, :key "a", :value "x"}\n');
  assert.equal(kv.length, 1);
  assert.equal(kv[0]!.output, unknown);
  assert.throws(() => parseKv('{:process 3, :type :ok, :f :get, :key "a", :value ""}'), HistoryFormatError);
});

test('check-history command: verdicts as exit codes, usage errors', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const ok = run(`${histories}jepsen-etcd/etcd_005.log`, '--model', 'register');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /: linearizable/);
  const bad = run(`${histories}kv/c01-bad.txt`, '--model', 'kv');
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /not linearizable/);
  assert.equal(run(`${histories}kv/c01-bad.txt`).status, 2);
  assert.equal(run(`${histories}kv/c01-bad.txt`, '--model', 'queue').status, 2);
  assert.equal(run('/nonexistent/file', '--model', 'kv').status, 2);
});
