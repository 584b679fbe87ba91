// Runs every compiled test file (build/**/*.test.js) with node:test.
// Usage: node scripts/test.mjs [--erlang | --no-erlang] [--exclude=substring ...] [substring ...]
//   substring: only files whose path contains one of the substrings;
//   --erlang:  only the interop test files (those that start erl or elixir),
//              to run them again against another Erlang/OTP release put first
//              on PATH (see scripts/otp-chroots.sh);
//   --no-erlang: every test file but those;
//   --exclude=substring: leave out files whose path contains it
//              (scripts/test-newer-node.sh leaves out the npm packaging test).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

function walk(dir, out) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const erlangOnly = args.includes('--erlang');
const noErlang = args.includes('--no-erlang');
const excludes = args.filter((a) => a.startsWith('--exclude=')).map((a) => a.slice('--exclude='.length));
const filters = args.filter((a) => !a.startsWith('--'));
const INTEROP = /test\/erl\.js|erlang-runner\.js|test\/elixir[\w-]*\.js|['"](erl|elixir|elixirc|iex)['"]/;
// The longest files start first: with two at a time, a long file that starts last runs alone at
// the end (the package test, about 170 s under CI load, added nearly all of that to the wall time);
// started first, it overlaps with the many short files. (node --test sorts the files it is given,
// so the files go to node:test's run(), which keeps their order.)
const LONG_FIRST = ['test/package.test.js', 'saga/fault.test.js', 'distribution/big-terms.test.js', 'observer/page.test.js', 'raft/testing/simulator.test.js', 'stage/interop.test.js', 'distribution/cluster.test.js', 'raft/testing/processes.test.js'];
const rank = (f) => {
  const i = LONG_FIRST.findIndex((s) => f.endsWith(s));
  return i < 0 ? LONG_FIRST.length : i;
};
const files = walk('build', [])
  .sort()
  .sort((a, b) => rank(a) - rank(b))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !excludes.some((s) => f.includes(s)))
  .filter((f) => (!erlangOnly && !noErlang) || INTEROP.test(readFileSync(f, 'utf8')) === erlangOnly);
if (files.length === 0) {
  console.error('no test files found under build/ (run tsc first)');
  process.exit(1);
}
// A file may take 600 s: the package test (npm pack, a git install that builds the package, tsc
// runs) took 166 s on a lightly loaded 2-core machine and over 300 s on a loaded one, where the
// old 300 s limit cancelled it. It declares 600 s itself; other files finish far sooner.
// Each file runs in its own process, two at a time, as with `node --test --test-concurrency=2`.
let failed = false;
const stream = run({ files, concurrency: 2, timeout: 600_000 });
stream.on('test:fail', (event) => {
  if (!event.todo) failed = true;
});
stream.on('end', () => {
  process.exitCode = failed ? 1 : 0;
});
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);
