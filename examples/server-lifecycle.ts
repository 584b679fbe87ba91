// Run: npx tsc -p . && node build/examples/server-lifecycle.js
/**
 * Example: a Server's lifecycle as OTP 26+ defines it: `init` returning
 * `error(reason)`, a stop whose reply goes out after `terminate`, a server
 * that hibernates between messages, and a supervisor that shuts itself down
 * when its significant child is done.
 * @module
 */
import {
  error,
  InitFailedError,
  Node,
  Pid,
  noreply,
  ok,
  reply,
  type ServerBehavior,
  serverStart,
  startServer,
  startSupervisor,
  stop,
  stopAndReply,
  whichChildren,
} from '../src/index.js';

await using node = new Node({ name: 'lifecycle@127.0.0.1', logger: () => {} });

// init returning error(R): the start rejects with R; the process exits normal, no crash report.
const needsConfig: ServerBehavior<{ call: [unknown, unknown] }, undefined, string | undefined> = {
  init: (url) => (url === undefined ? error('missing_url') : ok(undefined)),
};
await startServer(node, needsConfig, undefined).catch((e: unknown) => {
  if (e instanceof InitFailedError) console.log('start failed with', String(e.reason));
});

// A stop with a reply: terminate runs first, then the caller gets 'bye'.
type Session = { call: ['quit', string] | ['count', number]; cast: 'hit' };
const session: ServerBehavior<Session, number> = {
  init: () => ok(0),
  handleCall: (req, _from, n) => (req === 'quit' ? stopAndReply(req, 'normal', 'bye', n) : reply(req, n, n)),
  // Hibernate between hits: the mailbox buffer is released until the next message.
  handleCast: (_msg, n) => noreply(n + 1, { hibernate: true }),
  terminate: (reason, n) => console.log(`terminate(${String(reason)}) after ${n} hits`),
};
const s = await startServer(node, session, undefined);
for (let i = 0; i < 3; i++) node.cast(s, 'hit');
console.log('hits:', await node.call(s, 'count'), 'hibernated now (the call woke it)?', node.processInfo(s.pid)?.hibernated);
console.log('quit ->', await node.call(s, 'quit'));

// A supervisor that ends when its significant (transient) child finishes normally.
const job: ServerBehavior<{ cast: 'finish' }, undefined> = {
  init: () => ok(undefined),
  handleCast: () => stop('normal'),
};
const sup = await startSupervisor(node, {
  strategy: 'one_for_one',
  autoShutdown: 'any_significant',
  children: [{ id: 'job', start: serverStart(job, undefined), restart: 'transient', significant: true }],
});
const supDone = node.waitExit(sup.pid);
const [row] = await whichChildren(node, sup);
if (row !== undefined && row.pid instanceof Pid) node.cast(row.pid, 'finish');
console.log('supervisor exited with', String(await supDone));
