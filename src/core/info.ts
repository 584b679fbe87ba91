/**
 * Process info: a snapshot of one process, as `erlang:process_info/1` gives it.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { type ProcessCore, State } from './process-core.js';

/** Where a process is in its life, as process info reports it. */
export type ProcessStatus = 'initializing' | 'waiting' | 'runnable' | 'running' | 'suspended' | 'exited';

/** A snapshot of a process, as `erlang:process_info/1` gives it. */
export interface ProcessInfo {
  readonly pid: Pid;
  /** `waiting`: no messages; `runnable`: queued to run; `running`: in a handler; `suspended`: awaiting an async handler. */
  readonly status: ProcessStatus;
  readonly messageQueueLength: number;
  readonly links: readonly Pid[];
  /** Monitors this process holds: the pid, or `{name, node}` for a monitor by name. */
  readonly monitors: readonly (Pid | { name: Atom; node: Atom })[];
  /** Processes monitoring this one. */
  readonly monitoredBy: readonly Pid[];
  readonly registeredName: Atom | undefined;
  readonly parent: Pid | undefined;
  readonly behavior: string | undefined;
  readonly trapExit: boolean;
  /** True while the process is hibernating: it called `hibernate()` and has not run since (OTP's `{erlang, hibernate, 3}`). */
  readonly hibernated: boolean;
  /** Messages the process has handled (its reductions: Beamline counts one per message). */
  readonly reductions: number;
  /**
   * Estimated bytes the process holds: its record, link and monitor tables
   * and mailbox (ring slots plus a flat per-message estimate). JavaScript
   * cannot measure the heap per object, so this is an estimate, good for
   * comparing processes, not for accounting.
   */
  readonly memory: number;
}

/** Estimated bytes of one process record with its handle, and of one table entry or queued message. */
const BASE_BYTES = 480;
const ENTRY_BYTES = 96;
const MESSAGE_BYTES = 64;

/** The estimated memory of `core` (see {@link ProcessInfo.memory}). */
export function memoryEstimate(core: ProcessCore): number {
  const entries = (core.links?.size ?? 0) + (core.monitors?.size ?? 0) + (core.monitoredBy?.size ?? 0) + (core.env?.size ?? 0);
  return BASE_BYTES + entries * ENTRY_BYTES + core.mailbox.capacity * 8 + core.mailbox.length * MESSAGE_BYTES;
}

/** The info of `core`. */
export function processInfo(core: ProcessCore): ProcessInfo {
  let status: ProcessStatus;
  switch (core.state) {
    case State.Init:
      status = 'initializing';
      break;
    case State.Running:
      status = 'running';
      break;
    case State.Suspended:
      status = 'suspended';
      break;
    case State.Exited:
      status = 'exited';
      break;
    default:
      status = core.queued ? 'runnable' : 'waiting';
  }
  const monitors: ProcessInfo['monitors'][number][] = [];
  for (const m of core.monitors?.values() ?? []) {
    if (m.onDown !== undefined) continue;
    monitors.push(m.name !== undefined ? { name: m.name, node: m.targetNode } : (m.target as Pid));
  }
  return {
    pid: core.pid,
    status,
    messageQueueLength: core.mailbox.length,
    links: [...(core.links?.values() ?? [])],
    monitors,
    monitoredBy: [...(core.monitoredBy?.values() ?? [])].map((m) => m.watcher),
    registeredName: core.name,
    parent: core.parent,
    behavior: core.handler.behavior,
    trapExit: core.trapExit,
    hibernated: core.hibernated,
    reductions: core.handled,
    memory: memoryEstimate(core),
  };
}
