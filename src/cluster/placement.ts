/**
 * Round-robin placement over a cluster's nodes, shared by the spread Pool and
 * the spread ConsumerSupervisor: item `index` goes to `nodes[index % n]`, or
 * to the next node that answers when that one is down or refuses. Internal
 * to `src/cluster`.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import type { Process } from '../core/process.js';

/**
 * Starts one item on the first node, from `nodes[index % n]` on, where it
 * starts: `here()` on `ctx`'s own node, `there(name)` on another. Rejects
 * with the last node's error when none can start it.
 */
export async function placeRoundRobin(
  ctx: Process,
  nodes: readonly (string | Atom)[],
  index: number,
  here: () => Promise<Pid>,
  there: (node: string) => Promise<Pid>,
): Promise<Pid> {
  const n = nodes.length;
  let last: unknown = new RangeError('placing over a cluster needs at least one node');
  for (let k = 0; k < n; k++) {
    const target = nodes[(index + k) % n] as string | Atom;
    const name = typeof target === 'string' ? target : target.name;
    try {
      return name === ctx.node.name.name ? await here() : await there(name);
    } catch (err) {
      last = err; // that node is down or refuses: try the next one
    }
  }
  throw last;
}
