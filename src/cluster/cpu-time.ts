/**
 * The CPU time a node has used: its own thread's when it is a worker thread
 * (Linux: `/proc/thread-self/schedstat`, in ns), else its process's
 * (`process.cpuUsage`). A node that is a thread shares its process with the
 * others, so the process's figure would count theirs too.
 * @module
 */
import { readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

/** CPU ms used by this thread (in a worker thread on Linux) or else by this process. */
export function nodeCpuMs(): number {
  if (threadId !== 0) {
    try {
      return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
    } catch {
      // not Linux: the process's, shared by every thread
    }
  }
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
}
