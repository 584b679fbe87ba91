/**
 * The idle spin of a node's socket connections (TCP, TLS, Unix domain): an
 * {@link IdlePoller} fed by the event loop, so that a node that has just
 * written distribution frames (a request is out, a reply is likely) keeps
 * its thread running for a short bounded time instead of sleeping in
 * epoll and paying a wake-up for the reply, as BEAM's schedulers busy-wait
 * before they sleep (`+sbwt`).
 *
 * One per node, registered with the scheduler while at least one socket
 * connection is up; it spins only in an idle stretch that a write started
 * (`pollIdle(true)`), so in-host rings are polled at full speed otherwise. `poll()` says whether distribution bytes arrived since
 * the last poll (the connection's data handler sets {@link SocketSpin.arrived}):
 * the scheduler's moving average of spins that paid, and its back-off on a
 * loaded machine, are built on that. `park()` needs nothing: the socket's own
 * event wakes the thread. How long the spin lasts, and turning it off, is the
 * thread's setting (`maxSpinUs` of {@link startNode}, `setIdleSpin` in
 * src/core/scheduler.ts).
 * @module
 */
import { addIdlePoller, pollIdle, type IdlePoller } from '../core/scheduler.js';

export class SocketSpin implements IdlePoller {
  readonly eventLoop = true;
  /** Set by a connection's data handler; cleared by each poll. */
  arrived = false;
  private connections = 0;
  private remove: (() => void) | undefined;

  /** Connections counted, for tests and diagnostics. */
  get size(): number {
    return this.connections;
  }

  /** True while registered with the scheduler (at least one connection is up). */
  get registered(): boolean {
    return this.remove !== undefined;
  }

  /** A connection is up: registered with the scheduler from the first one. */
  attach(): void {
    if (this.connections++ === 0) this.remove = addIdlePoller(this);
  }

  /** A connection went down: removed from the scheduler with the last one. */
  detach(): void {
    if (this.connections === 0) return;
    if (--this.connections === 0) {
      this.remove?.();
      this.remove = undefined;
      this.arrived = false;
    }
  }

  /** A connection wrote frames: a reply may come soon, spin for it. */
  wrote(): void {
    pollIdle(true);
  }

  /** {@link IdlePoller}: whether distribution bytes arrived since the last poll. */
  poll(): boolean {
    const arrived = this.arrived;
    this.arrived = false;
    return arrived;
  }

  /** {@link IdlePoller}: nothing to arm; the socket's data event wakes the thread. */
  park(): void {}
}
