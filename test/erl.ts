/**
 * Test support: start real `erl` nodes against a private EPMD port, wait for
 * their output, and stop them. Shared by every interop test (codec, supervisor
 * conformance, distribution, demo).
 *
 * Interop rule: when `erl` is missing, tests skip with a one-line reason,
 * except with `CI=true`, where {@link erlSkipReason} returns false so the
 * tests run and fail.
 * @module
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let available: boolean | undefined;

/** True when `erl` can be run. */
export function erlAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync('erl', ['-noshell', '-eval', 'halt(0).'], { stdio: 'ignore', timeout: 60_000 });
    available = r.status === 0;
  }
  return available;
}

/** A `skip` value for node:test: a reason when erl is missing (outside CI), else false. */
export function erlSkipReason(): string | false {
  if (erlAvailable()) return false;
  if (process.env['CI'] === 'true') return false; // must fail in CI
  return 'erl not found on PATH (install erlang to run the interop tests)';
}

/** Throws when erl is missing (the CI=true case). */
export function assertErl(): void {
  if (!erlAvailable()) throw new Error('erl is required for interop tests (CI=true) but was not found');
}

/** A running erl node. */
export interface ErlNode {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything the node printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the output matches `pattern`; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeout?: number): Promise<string>;
  /** Resolves with the exit code when the node exits. */
  readonly exited: Promise<number | null>;
  /** Stops the node (SIGTERM, then SIGKILL after 5 s) and removes its temp directory. */
  kill(): Promise<void>;
}

/** Options of {@link startErl}. */
export interface StartErlOptions {
  /** Full node name, for example `a@127.0.0.1`. */
  name: string;
  cookie: string;
  epmdPort: number;
  /** An `-eval` expression. */
  eval?: string;
  /** Extra arguments. */
  args?: string[];
  /** `-sname` for a short name (`a@host` without dots); default `-name`. */
  nameFlag?: '-name' | '-sname';
}

/** Starts `erl -name ... -noshell` in a temp directory, with a private EPMD port and no crash dumps. */
export function startErl(options: StartErlOptions): ErlNode {
  assertErl();
  const args = [
    options.nameFlag ?? '-name', options.name, '-setcookie', options.cookie, '-noshell',
    '-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}',
    ...(options.args ?? []),
  ];
  if (options.eval !== undefined) args.push('-eval', options.eval);
  return startProgram('erl', args, options.name, options.epmdPort);
}

/** Runs `program` (erl, elixir, node) in a temp directory with a private EPMD port; see {@link ErlNode}. */
export function startProgram(program: string, args: string[], name: string, epmdPort: number, extraEnv: Record<string, string> = {}): ErlNode {
  const cwd = mkdtempSync(join(tmpdir(), 'beamline-erl-'));
  const proc = spawn(program, args, {
    cwd,
    env: { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const watchers = new Set<() => void>();
  const onOut = (b: Buffer): void => {
    out += b.toString('utf8');
    for (const w of [...watchers]) w();
  };
  proc.stdout?.on('data', onOut);
  proc.stderr?.on('data', onOut);
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      hasExited = true;
      for (const w of [...watchers]) w();
      resolve(code);
    });
    proc.once('error', () => {
      hasExited = true;
      resolve(null);
    });
  });
  return {
    name,
    process: proc,
    output: () => out,
    exited,
    waitForOutput(pattern, timeout = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m !== null) {
            done();
            resolve(m[0]);
          } else if (hasExited) {
            done();
            reject(new Error(`${name} exited before printing ${pattern}; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not print ${pattern} within ${timeout} ms; output:\n${out}`));
        }, timeout);
        const done = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    async kill() {
      if (!hasExited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** The erl string for a quoted atom: `'a@127.0.0.1'`. */
export function erlAtom(name: string): string {
  return `'${name.replace(/['\\]/g, '\\$&')}'`;
}

/**
 * Evaluates Erlang expressions on a running node with `erl_call` (about
 * 0.03 s, no VM boot). Whitespace is removed from the output: erl_call
 * pretty-prints terms with spaces. `nameFlag` is `-sname` for short names.
 */
export function erlCall(options: { node: string; cookie: string; epmdPort: number; expr: string; nameFlag?: '-name' | '-sname' }): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ERL_EPMD_PORT: String(options.epmdPort), ERL_CRASH_DUMP_SECONDS: '0' };
    const child = execFile('erl_call', [options.nameFlag ?? '-name', options.node, '-c', options.cookie, '-e'], { env, timeout: 30_000, cwd: tmpdir() }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: (stdout + stderr).replace(/\s+/g, '') }),
    );
    child.stdin?.end(`${options.expr}\n`);
  });
}

/** Starts `elixir` with the node flags of {@link startErl} and a `-e` script; same handle as an erl node. */
export function startElixir(options: { name: string; cookie: string; epmdPort: number; script: string; nameFlag?: '--name' | '--sname' }): ErlNode {
  return startProgram('elixir', [
    options.nameFlag ?? '--name', options.name, '--cookie', options.cookie,
    '--erl', '-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}',
    '-e', options.script,
  ], options.name, options.epmdPort);
}

/** True when `elixir` runs (it needs erl too). */
export function elixirSkipReason(): string | false {
  const e = erlSkipReason();
  if (e !== false) return e;
  const ok = spawnSync('elixir', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  if (ok || process.env['CI'] === 'true') return false;
  return 'elixir not found on PATH';
}
