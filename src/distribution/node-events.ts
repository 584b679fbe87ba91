/**
 * Node events: the `nodeup` / `nodedown` notifications that
 * `net_kernel:monitor_nodes/1` gives in Erlang, and the visible / hidden
 * split of `nodes()` and `nodes(hidden)`.
 *
 * A connection is *visible* when both ends are published (neither set the
 * hidden flag), as in `dist_util`: a hidden node's connections are all
 * hidden. `pg` and `global` follow visible connections only, as in OTP.
 * @module
 */
import { Atom } from '../terms/atom.js';

/** What happened to a connection. */
export interface NodeEvent {
  readonly kind: 'up' | 'down';
  readonly node: Atom;
  /** True for a visible connection (it appears in `nodes()`), false for a hidden one. */
  readonly visible: boolean;
}

/** A listener of {@link NodeEvent}s. Called synchronously; must not throw. */
export type NodeEventListener = (event: NodeEvent) => void;

/** Which connected nodes to list, as `erlang:nodes/1` takes them. */
export type NodeKind = 'visible' | 'hidden' | 'connected';

/** The listeners of one node's distribution. */
export class NodeEvents {
  private readonly listeners = new Set<NodeEventListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: NodeEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Tells every listener; a listener that throws is removed and does not stop the others. */
  emit(event: NodeEvent, log: (message: string) => void): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.listeners.delete(l);
        log(`node event listener failed and was removed: ${String(err)}`);
      }
    }
  }
}

/**
 * The answer of `erlang:nodes(Arg)` for a node named `self` whose connected
 * nodes `list(kind)` gives: `Arg` is undefined (`nodes()`), `visible`,
 * `hidden`, `connected`, `this`, `known`, or a list of these. Throws
 * `badarg` (a `TypeError`) for anything else.
 */
export function nodesOf(arg: unknown, self: Atom, list: (kind: NodeKind) => Atom[]): Atom[] {
  const kinds: unknown[] = arg === undefined ? [Atom.of('visible')] : Array.isArray(arg) ? arg : [arg];
  const out = new Set<Atom>();
  for (const k of kinds) {
    const name = k instanceof Atom ? k.name : undefined;
    if (name === 'visible' || name === 'hidden' || name === 'connected') for (const n of list(name)) out.add(n);
    else if (name === 'this') out.add(self);
    else if (name === 'known') {
      out.add(self);
      for (const n of list('connected')) out.add(n);
    } else throw new TypeError(`badarg: erlang:nodes/1 does not take ${String(k)}`);
  }
  return [...out];
}
