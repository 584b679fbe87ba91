/**
 * Run loop: runs one process's slice for the scheduler. `init` first, then
 * one message at a time up to the reduction budget; a handler that returns a
 * promise suspends the process until it settles; a throw or a rejection ends
 * the process with the error as its reason.
 * @module
 */
import { atom } from '../terms/atom.js';
import type { Exits } from './exits.js';
import type { Kernel } from './kernel.js';
import { type CoreRunner, exited, type ProcessCore, ProcessExit, RESUME, State } from './process-core.js';

/** Takes a rejection nobody needs (see RunLoop's continueAfter). */
const IGNORE = (): void => {};

export class RunLoop implements CoreRunner {
  constructor(
    private readonly kernel: Kernel,
    private readonly exits: Exits,
  ) {}

  /** Called by the scheduler. Returns true if the process has more to do now. */
  runSlice(core: ProcessCore, budget: number): boolean {
    const handler = core.handler;
    const proc = core.proc;
    const k = this.kernel;
    if (core.state === State.Init) {
      core.state = State.Running;
      if (handler.init !== undefined) {
        let result: void | PromiseLike<void>;
        try {
          result = handler.init(proc);
        } catch (err) {
          this.crashed(core, err);
          return false;
        }
        if (!this.continueAfter(core, result)) return false;
      } else core.state = State.Waiting;
    }
    if (core.state !== State.Waiting) return false;
    const mailbox = core.mailbox;
    // A slice ends after `budget` reductions: each message handled and each message sent counts,
    // so a process that floods another yields as often as the one it floods.
    k.reductions = 0;
    while (k.reductions++ < budget) {
      if (mailbox.length === 0) return false;
      const message = mailbox.shift();
      core.handled++;
      core.state = State.Running;
      core.hibernated = false;
      let result: void | PromiseLike<void>;
      try {
        result = handler.handleMessage(message, proc);
      } catch (err) {
        this.crashed(core, err);
        return false;
      }
      if (!this.continueAfter(core, result)) return false;
    }
    return core.hasMessages();
  }

  /** After a handler returned: true when the process may take its next message now; false when it exited or awaits a promise. */
  private continueAfter(core: ProcessCore, result: void | PromiseLike<void>): boolean {
    const thenable = result !== undefined && typeof result.then === 'function';
    if (exited(core)) {
      // Ended while its handler ran (killed, or a linked process crashed, inside a call run to its end):
      // what the handler still awaits may reject (the call it made failed), with nobody left to care.
      if (thenable) result.then(undefined, IGNORE);
      return false;
    }
    if (thenable) {
      core.state = State.Suspended;
      if (core.onSettled === undefined) this.makeContinuations(core);
      result.then(core.onSettled, core.onRejected);
      return false;
    }
    core.state = State.Waiting;
    return true;
  }

  /**
   * The process's continuations for its async handlers ({@link ProcessCore.onSettled}, made once).
   * Their closures capture `core`: made here, not in {@link RunLoop.continueAfter}, whose every call
   * would otherwise allocate the context they share (V8 makes a function's context on entry), once
   * optimized code has seen a handler return a promise.
   */
  private makeContinuations(core: ProcessCore): void {
    core.onSettled = (value: unknown) => this.settled(core, value, true);
    core.onRejected = (err: unknown) => this.settled(core, err, false);
  }

  /** An async handler settled (`ok`) or rejected; a handler with a continuation ({@link RESUME}) gets the outcome. */
  private settled(core: ProcessCore, value: unknown, ok: boolean): void {
    if (core.state !== State.Suspended) {
      if (!ok) this.crashed(core, value);
      return;
    }
    const resume = core.handler[RESUME];
    if (resume !== undefined) {
      core.state = State.Running;
      let next: void | PromiseLike<void>;
      try {
        next = resume.call(core.handler, value, core.proc, ok);
      } catch (err) {
        this.crashed(core, err);
        return;
      }
      if (!this.continueAfter(core, next)) return;
    } else if (!ok) {
      this.crashed(core, value);
      return;
    } else core.state = State.Waiting;
    if (core.hasMessages()) this.kernel.scheduler.schedule(core);
  }

  /** A handler threw or its promise rejected. */
  crashed(core: ProcessCore, err: unknown): void {
    if (core.state === State.Exited) return;
    if (err instanceof ProcessExit) {
      this.exits.terminate(core, err.reason);
      return;
    }
    const reason = err === undefined ? atom('undefined') : err;
    if (reason instanceof Error)
      this.kernel.logger.error(
        { pid: String(core.pid), name: core.name?.name, behavior: core.handler.behavior, err: reason },
        `process crashed: ${reason.message}`,
      );
    this.exits.terminate(core, reason);
  }
}
