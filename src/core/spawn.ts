/**
 * Spawning: makes a process (its pid, environment, name, link to the
 * spawner) and puts it on the run queue; its `init` runs in its first slice.
 * @module
 */
import { diagnostics, type SpawnEvent } from './diagnostics.js';
import type { Atom } from '../terms/atom.js';
import type { Pid } from '../terms/identifiers.js';
import { BadArgumentError, NameTakenError, NodeStoppedError } from './errors.js';
import type { Exits } from './exits.js';
import { type Kernel, TWO32 } from './kernel.js';
import { type CoreHandler, ProcessCore } from './process-core.js';
import type { Registry } from './registry.js';

/** Options of a spawn. */
export interface SpawnOptions {
  /** Link the new process to the spawner. */
  readonly link?: boolean;
  /** Register the new process under this name (fails the spawn if taken). */
  readonly name?: string | Atom;
  /** Environment entries, added to what the process inherits from its parent. */
  readonly env?: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;
  /** Start trapping exits. */
  readonly trapExit?: boolean;
}

export class Spawner {
  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
    private readonly exits: Exits,
    /** Makes the `Process` handle of a new process. */
    private readonly makeHandle: (core: ProcessCore) => object,
  ) {}

  spawn(handler: CoreHandler, options: SpawnOptions, parent: ProcessCore | undefined): Pid {
    const k = this.kernel;
    if (k.closing) throw new NodeStoppedError(`node ${k.name.name} is stopping`);
    if (typeof handler?.handleMessage !== 'function') throw new BadArgumentError('a process handler needs a handleMessage function');
    const regName = options.name === undefined ? undefined : k.atom(options.name);
    if (regName !== undefined && this.registry.names.has(regName))
      throw new NameTakenError(regName.name, `name ${regName.name} is already registered`);
    const pid = k.nextPid();
    const core = new ProcessCore(k.runner, pid, pid.serial * TWO32 + pid.id, handler, parent?.pid);
    core.proc = this.makeHandle(core);
    if (parent?.env !== undefined && parent.env.size > 0) core.env = new Map(parent.env);
    if (options.env !== undefined) {
      const entries = options.env instanceof Map ? options.env.entries() : Object.entries(options.env);
      core.env ??= new Map();
      for (const [key, v] of entries) core.env.set(key, v);
    }
    if (options.trapExit === true) core.trapExit = true;
    k.procs.set(core.key, core);
    if (regName !== undefined) {
      this.registry.names.set(regName, core);
      core.name = regName;
    }
    if (options.link === true && parent !== undefined && parent !== k.outside) this.exits.addLink(parent, pid, core);
    k.scheduler.schedule(core);
    if (diagnostics.spawn.hasSubscribers)
      diagnostics.spawn.publish({ node: k.name, pid, parent: parent?.pid, name: regName, behavior: handler.behavior } satisfies SpawnEvent);
    return pid;
  }
}
