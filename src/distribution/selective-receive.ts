/**
 * Selective receive for a process whose logic is a long-running async loop
 * (Erlang's `receive Pattern -> ... after T -> ... end`): messages wait in a
 * buffer until a `receive` whose matcher accepts them; the others stay, in
 * order, for later receives. Used by `global`'s locker.
 * @module
 */

/** Returned by {@link SelectiveMailbox.receive} when the timeout passed first. */
export const TIMEOUT: unique symbol = Symbol('timeout');

/** Thrown into a pending receive when the mailbox is closed (its process exited). */
export class MailboxClosed extends Error {
  override name = 'MailboxClosed';
}

interface Waiter {
  readonly match: (m: unknown) => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A buffer of messages with Erlang-style selective receive. */
export class SelectiveMailbox {
  private readonly buffer: unknown[] = [];
  private waiter: Waiter | undefined;
  private closed = false;

  /** Adds a message (from the process's `handleMessage`). */
  put(message: unknown): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w !== undefined) {
      const r = w.match(message);
      if (r !== undefined) {
        this.finish(w);
        w.resolve(r);
        return;
      }
    }
    this.buffer.push(message);
  }

  /**
   * The first buffered (or next arriving) message for which `match` returns
   * something other than undefined, mapped by `match`; {@link TIMEOUT} after
   * `timeoutMs` (infinite when undefined). One receive at a time.
   */
  receive<T>(match: (m: unknown) => T | undefined, timeoutMs?: number): Promise<T | typeof TIMEOUT> {
    if (this.closed) return Promise.reject(new MailboxClosed('mailbox closed'));
    for (let i = 0; i < this.buffer.length; i++) {
      const r = match(this.buffer[i]);
      if (r !== undefined) {
        this.buffer.splice(i, 1);
        return Promise.resolve(r);
      }
    }
    if (timeoutMs === 0) return Promise.resolve(TIMEOUT);
    return new Promise<T | typeof TIMEOUT>((resolve, reject) => {
      const w: Waiter = { match, resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.finish(w);
          resolve(TIMEOUT);
        }, timeoutMs);
      }
      this.waiter = w;
    });
  }

  /** Ends every pending and future receive with {@link MailboxClosed}. */
  close(): void {
    this.closed = true;
    this.buffer.length = 0;
    const w = this.waiter;
    if (w !== undefined) {
      this.finish(w);
      w.reject(new MailboxClosed('mailbox closed'));
    }
  }

  private finish(w: Waiter): void {
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (this.waiter === w) this.waiter = undefined;
  }
}
