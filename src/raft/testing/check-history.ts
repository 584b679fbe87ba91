/**
 * Prints whether a recorded history is linearizable.
 *
 *   node build/src/raft/testing/check-history.js FILE --model register|kv [--timeout MS]
 *
 * Exit status: 0 linearizable, 1 not linearizable, 3 undecided within the
 * timeout, 2 bad usage or input.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseJepsenRegister, parseKv } from './history-files.js';
import { checkOperations, type Verdict } from './linearizability.js';
import { kvModel, registerModel } from './models.js';

/** Checks the history in `text` against `model`. */
export function checkHistoryText(text: string, model: 'register' | 'kv', timeoutMs = 10_000): Verdict {
  return model === 'register' ? checkOperations(registerModel, parseJepsenRegister(text), timeoutMs) : checkOperations(kvModel, parseKv(text), timeoutMs);
}

function main(argv: readonly string[]): number {
  const file = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--model' && argv[i - 1] !== '--timeout');
  const model = argv[argv.indexOf('--model') + 1];
  const timeoutArg = argv.indexOf('--timeout') >= 0 ? Number(argv[argv.indexOf('--timeout') + 1]) : 10_000;
  if (file === undefined || argv.indexOf('--model') < 0 || (model !== 'register' && model !== 'kv') || !(timeoutArg > 0)) {
    console.error('usage: check-history.js FILE --model register|kv [--timeout MS]');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  const started = Date.now();
  let verdict: Verdict;
  try {
    verdict = checkHistoryText(text, model, timeoutArg);
  } catch (e) {
    console.error(`${file}: ${(e as Error).message}`);
    return 2;
  }
  const words = { ok: 'linearizable', illegal: 'not linearizable', unknown: 'undecided (timeout)' } as const;
  console.log(`${file}: ${words[verdict]} (${Date.now() - started} ms)`);
  return verdict === 'ok' ? 0 : verdict === 'illegal' ? 1 : 3;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) process.exitCode = main(process.argv.slice(2));
