// Run: npx tsc -p . && node build/examples/processes.js
/**
 * Example: processes, links, monitors and a timed send on one node.
 * @module
 */
import { atom, formatReason, Node, type Process, Tuple } from '../src/index.js';

await using node = new Node({ name: 'example@127.0.0.1' });

// A process that trap exits and reports what it sees.
const done = new Promise<void>((resolve) => {
  node.spawn(
    {
      init(proc: Process) {
        const worker = proc.spawnLink({
          handleMessage(msg, p) {
            if (msg === 'crash') throw new Error('worker gave up');
            console.log('worker got', msg);
          },
        });
        proc.monitor(worker);
        proc.send(worker, 'hello');
        proc.sendAfter(worker, 'crash', 10);
      },
      handleMessage(msg) {
        if (msg instanceof Tuple) {
          const [kind, , third, , fifth] = msg.elements;
          if (kind === atom('EXIT')) console.log('parent got EXIT:', formatReason(third));
          if (kind === atom('DOWN')) {
            console.log('and a DOWN with the same reason:', formatReason(fifth));
            resolve();
          }
        }
      },
    },
    { trapExit: true, name: 'parent' },
  );
});
await done;
console.log('processes alive:', node.processes().map(String), 'names:', node.registered().map(String));
