/**
 * Test support: a probe process whose messages a test awaits, and event
 * waiting helpers. Tests wait for events, never for fixed sleeps; a deadline
 * only turns a hang into a failure.
 * @module
 */
import type { Node, SpawnOptions } from '../src/core/node.js';
import type { Process } from '../src/core/process.js';
import { atom } from '../src/terms/atom.js';
import type { Pid } from '../src/terms/identifiers.js';
import { Tuple } from '../src/terms/tuple.js';

/** A process that records every message; `next()` resolves with the next one. */
export class Probe {
  readonly pid: Pid;
  proc!: Process;
  private readonly buffered: unknown[] = [];
  private readonly waiters: ((m: unknown) => void)[] = [];

  constructor(node: Node, options: SpawnOptions = {}) {
    this.pid = node.spawn(
      {
        behavior: 'probe',
        init: (proc) => {
          this.proc = proc;
        },
        handleMessage: (msg, proc) => {
          // A trapping probe leaves when its node stops, instead of making stop() wait for its timeout.
          if (!node.alive && msg instanceof Tuple && msg.elements[0] === atom('EXIT')) proc.exit(msg.elements[2]);
          const w = this.waiters.shift();
          if (w !== undefined) w(msg);
          else this.buffered.push(msg);
        },
      },
      options,
    );
  }

  /** The next message, failing after `deadlineMs` (a hang guard, not a timing assumption). */
  next(deadlineMs = 10_000): Promise<unknown> {
    const m = this.buffered.shift();
    if (m !== undefined || this.buffered.length > 0) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('probe: no message arrived')), deadlineMs);
      this.waiters.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
  }

  /** Messages received and not yet taken. */
  get pending(): readonly unknown[] {
    return this.buffered;
  }
}

/**
 * Resolves once `predicate()` is true, checking on every turn of the event
 * loop (for state that changes without a message to wait for, such as a
 * signal crossing the wire); fails after `deadlineMs` with `what` in the error.
 */
export async function eventually(predicate: () => boolean, deadlineMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > deadlineMs) throw new Error(`eventually: ${what} not met within ${deadlineMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Resolves with the first value of `probe()` that `accept` takes, asking
 * again after each answer (for state on another OS process, such as an erl
 * node queried with erl_call); fails after `deadlineMs` with the last value.
 */
export async function eventuallyAsync<T>(probe: () => Promise<T>, accept: (v: T) => boolean, deadlineMs = 15_000, what = 'condition'): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (accept(v)) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`eventually: ${what} not met within ${deadlineMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise and its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A logger that keeps lines, for nodes in tests. */
export function quietLogger(): { lines: string[]; log: (level: string, message: string) => void } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level}: ${message}`) };
}

/** A port free now on 127.0.0.1, below Linux's ephemeral range (see free-port.ts for why). */
export { freePort } from '../src/raft/testing/free-port.js';
