/**
 * Runtime: the parts of a node's runtime, wired together once by the node.
 * A process's handle acts through them.
 * @module
 */
import type { Calls } from './calls.js';
import type { Exits } from './exits.js';
import type { Kernel } from './kernel.js';
import type { Monitors } from './monitors.js';
import type { Registry } from './registry.js';
import type { Router } from './routing.js';
import type { Spawner } from './spawn.js';
import type { Timers } from './timers.js';

export interface Runtime {
  readonly kernel: Kernel;
  readonly registry: Registry;
  readonly router: Router;
  readonly monitors: Monitors;
  readonly exits: Exits;
  readonly calls: Calls;
  readonly timers: Timers;
  readonly spawner: Spawner;
  /** The node these parts belong to (typed as `Node` by process.ts's `ProcessNodeType`). */
  readonly node: object;
}
