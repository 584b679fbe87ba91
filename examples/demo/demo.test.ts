/**
 * The demo as a newcomer runs it: start `build/examples/demo/main.js` (what
 * `npm start` runs after compiling), then run the README's curl commands and
 * its Erlang command exactly as written, with only the ports changed to free
 * ones, and the TCP line protocol with a socket.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { assertErl, erlSkipReason } from '../../test/erl.js';
import { freePort } from '../../test/support.js';

const run = promisify(execFile);

/**
 * `request`'s result; a failure says why: the error's causes (their codes and
 * messages, e.g. ECONNRESET or undici's "other side closed", and a command's
 * stderr), the sockets on the demo's ports now (`ss`), and everything the
 * demo printed (with NODE_DEBUG=net,http: its own account of each connection).
 */
async function explained<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    const causes: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) causes.push(`${e.name}${'code' in e ? ` ${String(e.code)}` : ''}: ${e.message}`);
    const sockets = await run('ss', ['-tanp']).then(
      ({ stdout }) => stdout.split('\n').filter((l, i) => i === 0 || [httpPort, tcpPort, epmdPort].some((p) => l.includes(`:${p} `))).join('\n'),
      (e: Error) => `ss failed: ${e.message}`,
    );
    throw new Error(`${what} failed: ${causes.join(' <- ')}\nsockets on the demo's ports:\n${sockets}\ndemo output:\n${output}`, { cause: err });
  }
}

/** The shell lines of the fenced block after `<!-- demo:<label> -->` in README.md. */
function readmeCommands(label: string): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const at = readme.indexOf(`<!-- demo:${label} -->`);
  assert.ok(at >= 0, `README.md has a demo:${label} block`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block?.[1] !== undefined);
  return block[1].split('\n').filter((l) => l.trim() !== '');
}

let demo: ChildProcess;
let output = '';
let httpPort = 0;
let tcpPort = 0;
let epmdPort = 0;
let cwd = '';

before(async () => {
  [httpPort, tcpPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  cwd = mkdtempSync(join(tmpdir(), 'beamline-demo-'));
  // NODE_DEBUG: the demo's own account of each connection and request (net, http), shown if a request fails.
  demo = spawn(process.execPath, ['build/examples/demo/main.js'], {
    env: { ...process.env, PORT: String(httpPort), TCP_PORT: String(tcpPort), ERL_EPMD_PORT: String(epmdPort), NODE_DEBUG: 'net,http' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (output.includes('Press Ctrl-C to stop.')) resolve();
    };
    demo.stdout?.on('data', check);
    demo.once('exit', (code) => reject(new Error(`demo exited early (${code}): ${output}`)));
  });
});

after(async () => {
  if (demo.exitCode === null) {
    demo.kill('SIGINT');
    await once(demo, 'exit');
  }
  rmSync(cwd, { recursive: true, force: true });
});

test('the README curl commands work against the demo', async () => {
  const lines = readmeCommands('curl').map((l) => l.replaceAll('127.0.0.1:8080', `127.0.0.1:${httpPort}`));
  const results: string[] = [];
  for (const line of lines) results.push((await explained(line, run('bash', ['-c', line]))).stdout);
  assert.deepEqual(JSON.parse(results[0] as string), { ok: true });
  assert.deepEqual(JSON.parse(results[1] as string), { lang: 'erlang' });
  assert.ok((JSON.parse(results[2] as string) as string[]).includes('greeting'));
  assert.deepEqual(JSON.parse(results[3] as string), { ok: true });
  assert.match(results[4] as string, /^HTTP\/1\.1 404/);
  // The observer at `/`: its page, and the supervision tree with kv in its applications view.
  const page = await explained('fetch /', fetch(`http://127.0.0.1:${httpPort}/`));
  assert.match(await page.text(), /Beamline observer/);
  const apps = await explained('fetch /api/applications', fetch(`http://127.0.0.1:${httpPort}/api/applications`));
  assert.match(await apps.text(), /"name":"demo".*"id":"kv","pid":"<0\.\d+\.\d+>"/);
});

test('the TCP line protocol', async () => {
  const socket = connect(tcpPort, '127.0.0.1');
  await once(socket, 'connect');
  const replies: string[] = [];
  let buffered = '';
  const got = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      replies.push(...parts);
      if (replies.length === 6) resolve();
    });
  });
  socket.write('PUT tcpkey {"n":1}\nGET tcpkey\nDEL tcpkey\nGET tcpkey\nPUT bad notjson\nHELLO\n');
  await got;
  socket.end();
  assert.deepEqual(replies.slice(0, 4), ['OK', 'VALUE {"n":1}', 'OK', 'NOT_FOUND']);
  assert.match(replies[4] as string, /^ERROR/);
  assert.match(replies[5] as string, /^ERROR/);
});

test('the README Erlang command talks to kv', { skip: erlSkipReason() }, async () => {
  assertErl();
  const line = readmeCommands('erl')[0] ?? '';
  assert.ok(line.startsWith('erl -name'));
  const { stdout } = await run('bash', ['-c', line], {
    cwd,
    env: { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' },
    timeout: 60_000,
  });
  assert.match(stdout, /<<"hello">> \[.*<<"greeting">>.*\]/);
});

test('kv keeps its data across stray casts and a restart of the worker', { skip: erlSkipReason() }, async () => {
  assertErl();
  // Ten stray casts (more than the supervisor's restart intensity), a cast write, then the worker is
  // stopped through sys:terminate and restarted by its supervisor: the data is still there.
  const script = [
    `N = list_to_atom("demo@127.0.0.1")`,
    `ok = gen_server:call({kv, N}, {put, <<"kept">>, 1})`,
    `[gen_server:cast({kv, N}, {stray, I}) || I <- lists:seq(1, 10)]`,
    `gen_server:cast({kv, N}, {put, <<"cast">>, 2})`,
    `{ok, 1} = gen_server:call({kv, N}, {get, <<"kept">>})`,
    `Old = erlang:monitor(process, {kv, N})`,
    `ok = sys:terminate({kv, N}, restart_me)`,
    `receive {'DOWN', Old, process, _, _} -> ok end`,
    `Wait = fun W(0) -> gave_up; W(K) -> case catch gen_server:call({kv, N}, {get, <<"kept">>}) of {ok, V} -> {ok, V}; _ -> timer:sleep(50), W(K - 1) end end`,
    `io:format("AFTER ~p ~p~n", [Wait(100), gen_server:call({kv, N}, {get, <<"cast">>})])`,
    `halt()`,
  ].join(', ');
  const { stdout } = await run('erl', ['-name', 'strays@127.0.0.1', '-setcookie', 'beamline', '-noshell', '-eval', `${script}.`], {
    cwd,
    env: { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_CRASH_DUMP_SECONDS: '0' },
    timeout: 60_000,
  });
  assert.match(stdout, /AFTER \{ok,1\} \{ok,2\}/);
  assert.match(output, /kv: dropped an unknown cast: \{stray,1\}/);
});

test('Ctrl-C stops the demo cleanly', async () => {
  demo.kill('SIGINT');
  const [code] = (await once(demo, 'exit')) as [number];
  assert.equal(code, 0);
  assert.match(output, /stopped cleanly/);
});
