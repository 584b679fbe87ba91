/**
 * Command line for the Raft simulator: run a range of seeds, or replay one
 * with a trace.
 *
 *   node build/src/raft/testing/simulate.js --seed 1234 [--trace]
 *   node build/src/raft/testing/simulate.js --seeds 5000 [--from 1]
 * @module
 */
import { runSimulation, SafetyViolation } from './simulator.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const single = arg('--seed');
const trace = process.argv.includes('--trace');
const from = Number(arg('--from') ?? '1');
const count = single !== undefined ? 1 : Number(arg('--seeds') ?? '1000');
const first = single !== undefined ? Number(single) : from;
if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1) {
  console.error('usage: simulate.js --seed N [--trace] | --seeds COUNT [--from N]');
  process.exit(2);
}
let failed = 0;
const started = Date.now();
for (let seed = first; seed < first + count; seed++) {
  try {
    const stats = runSimulation({ seed, trace });
    if (single !== undefined) console.log(JSON.stringify(stats));
  } catch (e) {
    if (!(e instanceof SafetyViolation)) throw e;
    failed++;
    console.log(e.message);
  }
}
console.log(`${count} seeds, ${failed} failed, ${Date.now() - started} ms`);
process.exit(failed === 0 ? 0 : 1);
