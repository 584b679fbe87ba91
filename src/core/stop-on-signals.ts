/**
 * `stopOnSignals`: stop a node cleanly when the OS asks the program to end
 * (SIGINT from Ctrl-C, SIGTERM from a service manager), the way an Erlang
 * release stops its applications in order on `init:stop/0`.
 * @module
 */
import type { Node } from './node.js';

/** Options of {@link stopOnSignals}. */
export interface StopOnSignalsOptions {
  /** The signals to handle. Default `['SIGINT', 'SIGTERM']`. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Exit the OS process once the node has stopped (code 0, or 1 when stopping failed). Default true. */
  readonly exit?: boolean;
  /** Where the one-line progress reports go. Default `console.error`. */
  readonly log?: (line: string) => void;
}

/**
 * On the first of `signals`, stops `node` (its applications and processes, in
 * order) and then exits; a second signal while it stops exits at once with
 * code 130. Returns a function that removes the handlers.
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'svc@127.0.0.1', cookie: 'c' });
 * stopOnSignals(node); // Ctrl-C: "SIGINT: stopping svc@127.0.0.1", then exit 0
 * ```
 */
export function stopOnSignals(node: Node, options: StopOnSignalsOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const exit = options.exit ?? true;
  const log = options.log ?? ((line: string) => console.error(line));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting without waiting for ${node.name.name} to stop`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: stopping ${node.name.name}`);
    node.stop().then(
      () => {
        log(`${node.name.name} stopped cleanly`);
        if (exit) process.exit(0);
      },
      (err: unknown) => {
        log(`stopping ${node.name.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        if (exit) process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
