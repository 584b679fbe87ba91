/**
 * Response batching for the Web gateway: the whole responses answered
 * during one event-loop turn are written together once the turn's I/O
 * callbacks have run (a `setImmediate`, the loop's check phase), as
 * src/tcp/turn-cork.ts does for TCP replies.
 *
 * Why: a request reaches its handler process and the answer comes back in
 * microtasks, so a gateway that wrote at once would write in the middle of
 * the poll phase, and each write wakes the client while the gateway still
 * has requests to read; on a busy machine the client then preempts the
 * gateway once per request. Writing the turn's answers after its reads
 * serves the same requests with far fewer context switches. The delay is
 * the rest of the current turn, never a timer; each response is still one
 * write. While turns carry a single response each (one client, a quiet
 * server), responses are written at once instead (see TurnBatch).
 * @module
 */
import { TurnBatch } from '../core/turn-batch.js';

/** A response waiting for the end of the turn. */
export interface TurnWrite {
  /** Writes the response now (must not throw). */
  writeNow(): void;
}

const batch = new TurnBatch<TurnWrite>((w) => w.writeNow());

/**
 * Queues `w` to be written at the end of the current event-loop turn, after
 * the responses queued before it.
 *
 * @example
 * ```ts
 * writeAtTurnEnd({ writeNow: () => res.end(body) });
 * ```
 */
export function writeAtTurnEnd(w: TurnWrite): void {
  batch.add(w);
}
