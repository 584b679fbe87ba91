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
import type { Atom } from '../terms/atom.js';

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
