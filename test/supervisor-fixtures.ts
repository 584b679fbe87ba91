/**
 * Test fixtures of the supervisor tests (not exported by the package): an
 * event log that children write to synchronously (`start a` when started,
 * `exit a killed` when gone, from the process's cleanup), logging workers,
 * reason formatting in Erlang's `~w` style, and the scenario runner shared
 * by the table-driven tests and the Erlang conformance test.
 * @module
 */
import { Atom, atom } from '../src/terms/atom.js';
import { Pid } from '../src/terms/identifiers.js';
import { Tuple, tuple } from '../src/terms/tuple.js';
import { Node } from '../src/core/node.js';
import type { Process, ProcessHandler } from '../src/core/process.js';
import { type ExitReason, kill } from '../src/core/reasons.js';
import { stopServer } from '../src/server/server.js';
import type { RestartType, Shutdown, StartFunction } from '../src/supervisor/child-spec.js';
import type { Strategy } from '../src/supervisor/spec.js';
import { startSupervisor, type SupervisorRef } from '../src/supervisor/start.js';
import { deleteChild, restartChild, startChild, terminateChild, whichChildren } from '../src/supervisor/api.js';

/** Formats a reason as Erlang's `~w` would (atoms, tuples); an Error as `error`. */
export function fmt(reason: ExitReason): string {
  if (reason instanceof Atom) return reason.name;
  if (reason instanceof Tuple) return `{${reason.elements.map(fmt).join(',')}}`;
  if (reason instanceof Error) return 'error';
  if (reason instanceof Pid) return 'pid';
  return String(reason);
}

/** An ordered log of events with waiting by predicate (no polling, no sleeps). */
export class EventLog {
  readonly events: string[] = [];
  private readonly waiters: { pred: (events: readonly string[]) => boolean; resolve: () => void }[] = [];
  push(event: string): void {
    this.events.push(event);
    for (const w of [...this.waiters]) {
      if (w.pred(this.events)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
  /** Resolves when `pred(events)` holds; fails after `deadlineMs` (a hang guard). */
  waitFor(pred: (events: readonly string[]) => boolean, deadlineMs = 20_000): Promise<void> {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`event log: condition not met; events: ${this.events.join(' | ')}`)), deadlineMs);
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
  /** Events since index `from`. */
  since(from: number): string[] {
    return this.events.slice(from);
  }
}

/** Options of {@link logWorker}. */
export interface LogWorkerOptions {
  /** Trap exits; with `ignoreShutdown`, an exit from the parent is ignored (so it must be killed). */
  readonly trapExit?: boolean;
  readonly ignoreShutdown?: boolean;
  /** Called at each start; returning an error makes the start throw it. */
  readonly failStart?: () => Error | undefined;
  /** Registered pids by id, updated at each start. */
  readonly pids?: Map<string, Pid>;
}

const A_DIE = atom('die');
const A_EXIT = atom('EXIT');

/** A message that makes a {@link logWorker} exit with `reason`. */
export function die(reason: ExitReason): Tuple {
  return tuple(A_DIE, reason);
}

/**
 * A start function of a worker that logs `start <id>` when spawned and
 * `exit <id> <reason>` when it exits, and exits on `{die, Reason}`.
 */
export function logWorker(log: EventLog, id: string, options: LogWorkerOptions = {}): StartFunction<[]> {
  return (parent: Process) => {
    const err = options.failStart?.();
    if (err !== undefined) {
      log.push(`startfail ${id} boom`);
      throw err;
    }
    const handler: ProcessHandler = {
      behavior: 'test-worker',
      handleMessage(msg, proc) {
        if (msg instanceof Tuple && msg.elements[0] === A_DIE) {
          const r = msg.elements[1];
          if (r instanceof Error) throw r;
          proc.exit(r);
        }
        if (msg instanceof Tuple && msg.elements[0] === A_EXIT && options.ignoreShutdown !== true) proc.exit(msg.elements[2]);
      },
      cleanup(reason) {
        log.push(`exit ${id} ${fmt(reason)}`);
      },
    };
    const pid = parent.spawnLink(handler, options.trapExit === true ? { trapExit: true } : {});
    options.pids?.set(id, pid);
    log.push(`start ${id}`);
    return pid;
  };
}

/** A step of a scenario. */
export type ScenarioStep =
  | { readonly exit: string; readonly reason: StepReason }
  | { readonly kill: string }
  | { readonly startChild: string; readonly restart?: RestartType }
  | { readonly terminateChild: string }
  | { readonly restartChild: string }
  | { readonly deleteChild: string }
  | { readonly failStarts: string; readonly times: number };

/** A supervision scenario run the same way on Beamline and on Erlang. */
export interface Scenario {
  readonly name: string;
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  /** For simple_one_for_one: the template's restart and shutdown come from the first entry; ids are the extra argument. */
  readonly children: readonly { readonly id: string; readonly restart: RestartType; readonly shutdown?: Shutdown }[];
  readonly steps: readonly ScenarioStep[];
}

/** The exit reasons a step can make a child exit with; `error` is a thrown Error (Beamline only). */
export type StepReason = 'normal' | 'shutdown' | '{shutdown,x}' | 'boom' | 'error';

/** Reads an exit step's reason as a term. */
export function stepReason(r: StepReason): ExitReason {
  if (r === 'error') return new Error('boom');
  return r === '{shutdown,x}' ? tuple(atom('shutdown'), atom('x')) : atom(r);
}

/**
 * Runs a scenario on a fresh node and returns its events: starts and exits
 * of children, `startfail`, `sup exit R` if the supervisor gave up, then
 * `running [ids]` and the events of the final ordered stop (`stop`).
 */
export async function runScenario(sc: Scenario): Promise<string[]> {
  const log = new EventLog();
  const node = new Node({ logger: () => {} });
  try {
    const pids = new Map<string, Pid>();
    const failures = new Map<string, number>();
    const failStart = (id: string) => (): Error | undefined => {
      const n = failures.get(id) ?? 0;
      if (n <= 0) return undefined;
      failures.set(id, n - 1);
      return new Error('boom');
    };
    const spec = (id: string, restart: RestartType, shutdown: Shutdown | undefined) => ({
      id,
      start: logWorker(log, id, { pids, failStart: failStart(id) }),
      restart,
      ...(shutdown !== undefined ? { shutdown } : {}),
    });
    const first = sc.children[0];
    let sup: SupervisorRef<readonly unknown[]>;
    if (sc.strategy === 'simple_one_for_one') {
      const restart = first?.restart ?? 'permanent';
      sup = await startSupervisor(node, {
        strategy: 'simple_one_for_one',
        intensity: sc.intensity,
        period: sc.period,
        template: {
          id: 'template',
          restart,
          ...(first?.shutdown !== undefined ? { shutdown: first.shutdown } : {}),
          start: (parent: Process, id: string) => logWorker(log, id, { pids, failStart: failStart(id) })(parent),
        },
      });
      for (const c of sc.children) await startChild(node, sup, [c.id]);
    } else {
      sup = await startSupervisor(node, {
        strategy: sc.strategy,
        intensity: sc.intensity,
        period: sc.period,
        children: sc.children.map((c) => spec(c.id, c.restart, c.shutdown)),
      });
    }
    const supExit = node.waitExit(sup.pid).then((r) => {
      log.push(`sup exit ${fmt(r)}`);
      return r;
    });
    const settle = async (): Promise<void> => {
      for (;;) {
        if (!node.isAlive(sup.pid)) return;
        let children;
        try {
          children = await whichChildren(node, sup);
        } catch {
          return;
        }
        if (!children.some((c) => c.pid === 'restarting')) return;
      }
    };
    for (const step of sc.steps) {
      if ('exit' in step || 'kill' in step) {
        const id = 'exit' in step ? step.exit : step.kill;
        const pid = pids.get(id);
        if (pid === undefined || !node.isAlive(pid)) throw new Error(`scenario ${sc.name}: ${id} is not running`);
        const gone = node.waitExit(pid);
        if ('exit' in step) node.send(pid, die(stepReason(step.reason)));
        else node.exit(pid, kill);
        await gone;
      } else if ('startChild' in step) {
        const id = step.startChild;
        if (sc.strategy === 'simple_one_for_one') await startChild(node, sup, [id]);
        else await startChild(node, sup.pid, spec(id, step.restart ?? 'permanent', undefined));
      } else if ('terminateChild' in step) {
        const id = step.terminateChild;
        await terminateChild(node, sup, sc.strategy === 'simple_one_for_one' ? (pids.get(id) as Pid) : id);
      } else if ('restartChild' in step) {
        await restartChild(node, sup, step.restartChild);
      } else if ('deleteChild' in step) {
        await deleteChild(node, sup, step.deleteChild);
      } else {
        failures.set(step.failStarts, step.times);
      }
      await settle();
    }
    if (node.isAlive(sup.pid)) {
      const rows = (await whichChildren(node, sup)).map((c) => `${c.id ?? 'undefined'}:${c.pid instanceof Pid ? 'pid' : c.pid}`);
      log.push(`children [${rows.join(',')}]`);
      const running: string[] = [];
      for (const [id, pid] of pids) if (node.isAlive(pid)) running.push(id);
      log.push(`running [${running.sort().join(',')}]`);
      log.push('stop');
      await stopServer(node, sup.pid, 'shutdown');
    }
    await supExit;
    return log.events;
  } finally {
    await node.stop();
  }
}

/** The table scenario: children a, b (restart type `type`), c; b exits with `reason`. */
export function tableScenario(strategy: Strategy, type: RestartType, reason: StepReason | 'killed'): Scenario {
  return {
    name: `${strategy} ${type} ${reason}`,
    strategy,
    intensity: 10,
    period: 5,
    children:
      strategy === 'simple_one_for_one'
        ? ['a', 'b', 'c'].map((id) => ({ id, restart: type }))
        : [
            { id: 'a', restart: 'permanent' },
            { id: 'b', restart: type },
            { id: 'c', restart: 'permanent' },
          ],
    steps: [reason === 'killed' ? { kill: 'b' } : { exit: 'b', reason }],
  };
}
