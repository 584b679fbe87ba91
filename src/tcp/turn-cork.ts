/**
 * Write batching for sockets served by processes: the first write to a
 * socket in an event-loop turn corks it, and every socket corked in the
 * turn is uncorked together once the turn's I/O callbacks have run (a
 * `setImmediate`, the loop's check phase).
 *
 * Why: a request reaches its handler process and the reply comes back in
 * microtasks, so a server that answers at once writes in the middle of the
 * poll phase, and each write wakes the client while the server still has
 * readable sockets to serve; on a busy machine the client then preempts
 * the server once per request. Holding the replies of one turn until its
 * reads are done answers the same requests with one write per response and
 * far fewer context switches. The delay is the rest of the current turn,
 * never a timer. While turns carry a single socket's writes each, sockets
 * are not held (see TurnBatch's direct mode).
 * @module
 */
import { TurnBatch } from '../core/turn-batch.js';

/** What {@link corkForTurn} needs of a socket (`net.Socket`, `tls.TLSSocket`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writableCorked: number;
  readonly destroyed: boolean;
}

// A socket corked while a batch is uncorked (a write from an uncork callback) waits for the next turn.
const corked = new TurnBatch<Corkable>((s) => {
  if (!s.destroyed && s.writableCorked > 0) s.uncork();
});

/**
 * Corks `socket` until the end of the current event-loop turn (once per
 * turn; a socket already corked by its owner is left alone).
 *
 * @example
 * ```ts
 * corkForTurn(socket);
 * socket.write(reply); // leaves with the other replies of this turn
 * ```
 */
export function corkForTurn(socket: Corkable): void {
  if (socket.writableCorked > 0 || socket.destroyed) return;
  socket.cork();
  corked.add(socket);
}
