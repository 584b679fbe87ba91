/**
 * Idle timeouts for a listener's connections: one interval timer per
 * listener instead of a socket timer re-armed on every read and write.
 * A connection marks itself active when it reads or writes (a flag, no
 * timer); each sweep records when it last saw activity and tells the
 * connections idle for the timeout, once per idle period, as
 * `socket.setTimeout` would. A timeout fires no earlier than `timeout` ms
 * after the last activity and at most two sweep periods (a quarter of the
 * timeout, and never more than 2 s) later.
 * @module
 */
/** What the sweep reads and writes of a connection (TcpConnection has these fields, internal to the package). */
export interface IdleTracked {
  /** Read or written since the last sweep: set by the connection, cleared by the sweep. */
  active: boolean;
  /** When a sweep last saw activity (ms, `Date.now()`); set by the listener at accept. */
  activeAt: number;
  /** The timeout fired and no activity came since. */
  idleFired: boolean;
}

/** Sweeps per timeout: the timeout fires at most 2/SWEEPS of it late. */
const SWEEPS = 8;

/**
 * Starts sweeping `connections` every `timeout / 8` ms (at least 5, at most 1000); `onIdle` is told of each
 * connection idle for `timeout` ms, once until it is active again. Returns the function that stops the sweep.
 *
 * @example
 * ```ts
 * const stop = sweepIdle(connections, 60_000, (conn) => notifyOwner(conn));
 * ```
 */
export function sweepIdle<C extends IdleTracked>(connections: ReadonlySet<C>, timeout: number, onIdle: (conn: C) => void): () => void {
  const period = Math.max(5, Math.min(1000, Math.floor(timeout / SWEEPS)));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const conn of connections) {
      if (conn.active) {
        conn.active = false;
        conn.activeAt = now;
        conn.idleFired = false;
      } else if (!conn.idleFired && now - conn.activeAt >= timeout) {
        conn.idleFired = true;
        onIdle(conn);
      }
    }
  }, period);
  timer.unref();
  return () => clearInterval(timer);
}
