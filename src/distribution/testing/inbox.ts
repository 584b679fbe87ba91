/**
 * Test support: a process that records every message it gets, so tests can
 * wait for a matching message (event-driven, no sleeps).
 * @module
 */
import type { Node } from '../../core/node.js';
import type { Pid } from '../../terms/identifiers.js';

/** A recording process. */
export class Inbox {
  readonly messages: unknown[] = [];
  readonly pid: Pid;
  private waiters: (() => void)[] = [];
  constructor(node: Node, options: { name?: string; trapExit?: boolean } = {}) {
    this.pid = node.spawn(
      {
        handleMessage: (m) => {
          this.messages.push(m);
          for (const w of this.waiters.splice(0)) w();
        },
      },
      { ...(options.name === undefined ? {} : { name: options.name }), trapExit: options.trapExit ?? true },
    );
  }
  /** Resolves with the first message matching `pred` (removing it); rejects after `timeout` ms. */
  waitFor<T = unknown>(pred: (m: unknown) => boolean, what = 'a message', timeout = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const i = this.messages.findIndex(pred);
        if (i < 0) return false;
        const [m] = this.messages.splice(i, 1);
        clearTimeout(timer);
        resolve(m as T);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== loop);
        reject(new Error(`timed out waiting for ${what}; have ${this.messages.map(String).join(' | ').slice(0, 500)}`));
      }, timeout);
      const loop = (): void => {
        if (!check()) this.waiters.push(loop);
      };
      loop();
    });
  }
}
