// Run: npx tsc -p . && node build/examples/priority.js
/**
 * Example: priority messages (EEP 76, OTP 28's `alias([priority])`).
 *
 * A worker is busy with a slow job while ordinary work piles up in its
 * mailbox. A `cancel` sent with `sendPriority` to the worker's priority alias
 * skips the queue: the worker handles it next, before the queued work. The
 * same alias can be handed to an OTP 28+ node, where
 * `erlang:send(Alias, cancel, [priority])` has the same effect.
 * @module
 */
import { Node, type Process, type Ref } from '../src/index.js';
import { oneLineLogger } from './one-line-logger.js';

await using node = new Node({ name: 'priority@127.0.0.1', logger: oneLineLogger });

const handled: string[] = [];
let release!: () => void;
const slowJob = new Promise<void>((resolve) => (release = resolve));
let urgent!: Ref;
let ready!: () => void;
const started = new Promise<void>((resolve) => (ready = resolve));
const worker = node.spawn<string>({
  init(proc: Process) {
    urgent = proc.alias({ priority: true });
    ready();
  },
  async handleMessage(msg) {
    if (msg === 'slow job') return slowJob; // busy: the mailbox fills meanwhile
    handled.push(msg);
  },
});

await started;
node.send(worker, 'slow job');
for (let i = 1; i <= 3; i++) node.send(worker, `work ${i}`);
node.sendPriority(urgent, 'cancel'); // queued last, handled first
node.sendPriority(worker, 'not urgent'); // to a pid: an ordinary message, as in Erlang
console.log('messages queued:', node.processInfo(worker)?.messageQueueLength);
release();
await new Promise<void>((resolve) => {
  const poll = (): void => (handled.length === 5 ? resolve() : void setImmediate(poll));
  poll();
});
console.log('handled in order:', handled.join(', '));
if (handled[0] !== 'cancel') throw new Error('the priority message did not overtake the queue');
