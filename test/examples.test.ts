/**
 * Every runnable example under examples/ runs to completion: exit code 0,
 * no stack trace (crashes caused on purpose log one line), in bounded time. Each gets its own EPMD port
 * (`ERL_EPMD_PORT`) so examples that start distribution do not collide
 * with other tests. The demo has its own test (examples/demo/demo.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { freePort } from './support.js';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const SUPPORT = new Set(['one-line-logger.js']);
const examples = readdirSync(dir).filter((f) => f.endsWith('.js') && !SUPPORT.has(f)).sort();

async function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const epmdPort = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: dir,
      env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('there are examples to run', () => {
  assert.ok(examples.length >= 10, `found ${examples.join(', ')}`);
});

for (const file of examples) {
  test(`examples/${file.replace(/\.js$/, '.ts')} runs to completion`, { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runExample(file);
    assert.doesNotMatch(stderr, /^\s+at |Unhandled|Uncaught/m, `no stack trace on stderr of ${file}:\n${stderr}`);
    assert.equal(code, 0, `exit code of ${file}; output:\n${stdout}`);
    assert.ok(stdout.length > 0, 'the example says what it does');
  });
}
