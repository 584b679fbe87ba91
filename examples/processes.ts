// Run: npx tsc -p . && node build/examples/processes.js
/**
 * Example: processes, links, monitors and a timed send on one node.
 *
 * A parent that traps exits spawns a linked worker and monitors it, sends it
 * `hello`, then a `crash` 10 ms later; the worker crashes on purpose and the
 * parent sees both the exit signal (as an `{'EXIT', Pid, Reason}` message) and
 * the monitor's `DOWN`, with the same reason. When the node stops, the parent
 * gets `{'EXIT', _, shutdown}` and exits as an OTP process would.
 * @module
 */
import { atom, formatReason, Node, type Process, Tuple } from '../src/index.js';
import { oneLineLogger } from './one-line-logger.js';

await using node = new Node({ name: 'example@127.0.0.1', logger: oneLineLogger });

console.log('spawning a parent that traps exits, with a linked and monitored worker');
const done = new Promise<void>((resolve) => {
  node.spawn(
    {
      init(proc: Process) {
        const worker = proc.spawnLink({
          handleMessage(msg) {
            if (msg === 'crash') throw new Error('worker gave up (on purpose)');
            console.log('worker got', msg);
          },
        });
        proc.monitor(worker);
        proc.send(worker, 'hello');
        proc.sendAfter(worker, 'crash', 10);
      },
      handleMessage(msg, proc) {
        if (!(msg instanceof Tuple)) return;
        const [kind, , third, , fifth] = msg.elements;
        if (kind === atom('EXIT') && third === atom('shutdown')) {
          console.log('parent got EXIT: shutdown (the node is stopping), and exits');
          proc.exit(atom('shutdown'));
        }
        if (kind === atom('EXIT')) console.log('parent got EXIT:', formatReason(third));
        if (kind === atom('DOWN')) {
          console.log('and a DOWN with the same reason:', formatReason(fifth));
          resolve();
        }
      },
    },
    { trapExit: true, name: 'parent' },
  );
});
await done;
console.log('processes alive:', node.processes().map(String), 'names:', node.registered().map(String));
console.log('stopping the node');
