/**
 * The package as a user gets it: `npm pack` the checkout, install the tarball
 * (and, separately, a `git+file://` URL of the checkout) into a fresh project,
 * compile the README's first example under NodeNext and Bundler resolution,
 * and run it. Also lints the tarball with publint and
 * `@arethetypeswrong/cli` (ESM-only profile).
 *
 * The git install builds from the committed HEAD (what `npm install
 * git+…` clones), so uncommitted edits are not part of that half.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

/** The README's first TypeScript example (the block under "## A first example"). */
function firstExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.split(/^## A first example\s*$/m)[1];
  const block = section === undefined ? undefined : /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README.md has no ```ts block under "## A first example"');
  return block;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A fresh ESM project that has typescript and @types/node (linked from this checkout). */
function consumerProject(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }, null, 2));
  return dir;
}

function linkTypeScript(dir: string): void {
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(repo, 'node_modules', 'typescript'), join(dir, 'node_modules', 'typescript'), 'dir');
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
}

/** Compiles the README example under NodeNext and runs it; then type-checks it under Bundler resolution. */
function compileAndRunExample(dir: string): void {
  linkTypeScript(dir);
  writeFileSync(join(dir, 'index.ts'), firstExample());
  const common = {
    target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], strict: true, types: ['node'],
    noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { ...common, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, files: ['index.ts'],
  }));
  writeFileSync(join(dir, 'tsconfig.bundler.json'), JSON.stringify({
    compilerOptions: { ...common, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, files: ['index.ts'],
  }));
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
  run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], dir);
  const out = run(process.execPath, ['out/index.js'], dir);
  assert.equal(out.trim(), '1', 'the README example prints the counter');
}

test('package', { timeout: 600_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'beamline-package-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));

  // Build lib/ here and pack without running `prepare`: prepare also rebuilds
  // the demo into build/, which other test files are running from. The git
  // install below runs prepare for real, in its own clone.
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], repo);
  const packed = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', root], repo)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const entry = packed[0];
  assert.ok(entry !== undefined, 'npm pack reported its tarball');
  const tarball = join(root, entry.filename);

  await t.test('the tarball ships the library, its types and the license, and nothing else', () => {
    const paths = entry.files.map((f) => f.path);
    assert.ok(paths.includes('LICENSE'));
    assert.ok(paths.includes('lib/index.js') && paths.includes('lib/index.d.ts'));
    assert.ok(paths.includes('lib/distribution/index.js') && paths.includes('lib/etf/index.js'));
    const stray = paths.filter((p) => /\.test\.|\.map$|testing\/|test-support|test-fixtures|erlang-runner/.test(p) || !(p.startsWith('lib/') || ['LICENSE', 'README.md', 'package.json'].includes(p)));
    assert.deepEqual(stray, []);
  });

  await t.test('the shipped declarations hide internal members (stripInternal)', () => {
    const node = readFileSync(join(repo, 'lib', 'core', 'node.d.ts'), 'utf8');
    assert.match(node, /export declare class Node/);
    assert.deepEqual(node.match(/^\s+(?:readonly\s+|static\s+|get\s+)*_[a-zA-Z]\w*/gm) ?? [], [], 'Node has no _ members in lib/core/node.d.ts');
    // No declaration file in lib/ shows an `_` member or an @internal comment (`__x?` phantom type
    // brands, declared for their types only, are not internal members).
    const leaks: string[] = [];
    for (const file of entry.files.map((f) => f.path).filter((p) => p.endsWith('.d.ts'))) {
      const text = readFileSync(join(repo, file), 'utf8');
      for (const m of text.match(/^\s+(?:readonly\s+|static\s+|get\s+)*_[a-zA-Z]\w*\s*[(:<?]|@internal/gm) ?? []) leaks.push(`${file}: ${m.trim()}`);
    }
    assert.deepEqual(leaks, []);
  });

  await t.test('publint and arethetypeswrong find no problem', () => {
    run(process.execPath, [join(repo, 'node_modules', 'publint', 'src', 'cli.js'), 'run', '--strict', tarball], repo);
    run(process.execPath, [join(repo, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--profile', 'esm-only'], repo);
  });

  await t.test('installed from the tarball, the README example compiles and runs', () => {
    const dir = consumerProject(root, 'from-tarball');
    run(npm, ['install', '--no-save', '--offline', tarball], dir);
    compileAndRunExample(dir);
  });

  await t.test('installed from a git+file URL, the package builds on install and the README example runs', () => {
    assert.ok(existsSync(join(repo, '.git')), 'the checkout is a git repository');
    const dir = consumerProject(root, 'from-git');
    run(npm, ['install', '--no-save', '--prefer-offline', `git+file://${repo.replace(/\/$/, '')}`], dir);
    assert.ok(existsSync(join(dir, 'node_modules', 'beamline', 'lib', 'index.js')), 'prepare built lib/ on install');
    compileAndRunExample(dir);
  });
});
