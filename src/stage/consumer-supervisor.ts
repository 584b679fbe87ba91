/**
 * ConsumerSupervisor (GenStage's ConsumerSupervisor): a consumer that starts
 * one child process per event, with `maxDemand` as the bound on children
 * alive at once per producer. When children exit, their demand is asked
 * again once `minDemand` of it has accumulated. Children are `temporary`
 * (never restarted) or `transient` (restarted with the same event after an
 * abnormal exit), within `maxRestarts` in `maxSeconds`; beyond that the
 * supervisor exits with `shutdown`. On the wire it is an ordinary consumer,
 * so it subscribes to Elixir producers too; it answers `count_children` as
 * Elixir's does (`%{specs, active, supervisors, workers}`). To place the
 * children round robin over the nodes of a cluster, see
 * `startSpreadConsumerSupervisor` (src/cluster).
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import type { Node } from '../core/node.js';
import type { Process } from '../core/process.js';
import { formatReason, isCleanExit, shutdown } from '../core/reasons.js';
import { noreply, stop, type StartOptions } from '../server/server.js';
import { ask } from './api.js';
import { keyword, type SubscribeTo } from './options.js';
import { consumer, manual, replyEmit } from './results.js';
import { startStage, type StartedStage } from './stage.js';
import { tagKey } from './subscription-key.js';
import type { StageBehavior, Subscription } from './types.js';

/** What `start` returns: the child's pid (or a started server), or null to ignore the event. */
export type ChildStarted = Pid | { readonly pid: Pid } | null;

/** The child template of a {@link startConsumerSupervisor}. */
export interface ConsumerSupervisorSpec<E> {
  /**
   * Starts the child for `event`, linked to the supervisor `ctx` (for example
   * `ctx.spawnLink(handler)` or `startServer(ctx, behavior, event, { link: true })`).
   * Throwing or rejecting is a start error: logged, and the demand is returned.
   */
  start(event: E, ctx: Process): ChildStarted | Promise<ChildStarted>;
  /** Default `'temporary'`. (`permanent` is refused, as in GenStage: a child per event cannot run forever.) */
  readonly restart?: 'temporary' | 'transient';
  /** Default 3. */
  readonly maxRestarts?: number;
  /** Default 5. */
  readonly maxSeconds?: number;
  /** Producers to subscribe to at start. `maxDemand` bounds the children per producer. */
  readonly subscribeTo?: readonly SubscribeTo[];
}

interface ChildEntry<E> {
  readonly pid: Pid;
  /** Key of the producer whose event started it. */
  readonly producer: string | number;
  readonly event: E;
}

interface ProducerDemand {
  readonly sub: Subscription;
  /** Children alive for this producer. */
  count: number;
  /** Demand freed and not asked yet. */
  pending: number;
  readonly min: number;
  readonly max: number;
}

interface SupState<E> {
  readonly children: Map<string | number, ChildEntry<E>>;
  readonly producers: Map<string | number, ProducerDemand>;
  restarts: number[];
}

const A_EXIT = atom('EXIT');
const A_COUNT_CHILDREN = atom('count_children');

function pidOf(started: ChildStarted): Pid | null {
  if (started === null) return null;
  return started instanceof Pid ? started : started.pid;
}

/**
 * Starts a ConsumerSupervisor.
 *
 * @example
 * ```ts
 * const sup = await startConsumerSupervisor<Job>(node, {
 *   start: (job, ctx) => ctx.spawnLink({ init: async (p) => { await run(job); p.exit('normal'); }, handleMessage() {} }),
 *   subscribeTo: [{ to: jobs, maxDemand: 10 }], // at most 10 jobs at once
 * });
 * ```
 */
export function startConsumerSupervisor<E>(starter: Node | Process, spec: ConsumerSupervisorSpec<E>, options: StartOptions = {}): Promise<StartedStage<E, never>> {
  const restart = spec.restart ?? 'temporary';
  if (restart !== 'temporary' && restart !== 'transient')
    return Promise.reject(new RangeError(`a child restart of ${String(restart)} is not supported in ConsumerSupervisor: use 'temporary' or 'transient'`));
  const maxRestarts = spec.maxRestarts ?? 3;
  const maxSeconds = spec.maxSeconds ?? 5;

  const maybeAsk = (s: SupState<E>, key: string | number, ctx: Process, events: number, down: number): void => {
    const p = s.producers.get(key);
    if (p === undefined) return;
    if (p.count + events > p.max)
      ctx.node.log('error', `ConsumerSupervisor has received ${p.count + events - p.max} events in excess from: ${formatReason(p.sub)}`);
    const pending = p.pending + down;
    if (pending >= p.min && pending > 0) {
      ask(ctx, p.sub, pending);
      p.pending = 0;
    } else p.pending = pending;
    p.count = p.count + events - down;
  };

  const startOne = async (event: E, ctx: Process): Promise<Pid | null | Error> => {
    try {
      const pid = pidOf(await spec.start(event, ctx));
      if (pid !== null) ctx.link(pid);
      return pid;
    } catch (err) {
      ctx.node.log('error', `ConsumerSupervisor ${ctx.self.describe()} failed to start child for ${formatReason(event)}: ${formatReason(err)}`);
      return err instanceof Error ? err : new Error(formatReason(err));
    }
  };

  const behavior: StageBehavior<SupState<E>, undefined, E, never, { call: [Atom<'count_children'>, { specs: number; active: number; supervisors: number; workers: number }] }> = {
    behavior: 'consumer_supervisor',
    init: (_a, ctx) => {
      ctx.trapExit = true;
      return consumer({ children: new Map(), producers: new Map(), restarts: [] }, { subscribeTo: spec.subscribeTo ?? [] });
    },
    handleSubscribe: (_kind, opts, from, s, ctx) => {
      const max = (keyword(opts, 'max_demand') as number | undefined) ?? 1000;
      const min = (keyword(opts, 'min_demand') as number | undefined) ?? Math.floor(max / 2);
      ask(ctx, from, max);
      s.producers.set(tagKey(from.elements[1]), { sub: from, count: 0, pending: 0, min, max });
      return manual(s);
    },
    handleCancel: (_info, from, s) => {
      s.producers.delete(tagKey(from.elements[1]));
      return noreply(s);
    },
    async handleEvents(events, from, s, ctx) {
      const key = tagKey(from.elements[1]);
      let started = 0;
      let errors = 0;
      for (const event of events) {
        const pid = await startOne(event, ctx);
        if (pid instanceof Pid) {
          s.children.set(tagKey(pid), { pid, producer: key, event });
          started++;
        } else errors++;
      }
      maybeAsk(s, key, ctx, started + errors, errors);
      return noreply(s);
    },
    async handleInfo(message, s, ctx) {
      if (!(message instanceof Tuple) || message.elements[0] !== A_EXIT || !(message.elements[1] instanceof Pid)) return noreply(s);
      const pid = message.elements[1];
      const reason = message.elements[2];
      const child = s.children.get(tagKey(pid));
      if (child === undefined) return noreply(s);
      s.children.delete(tagKey(pid));
      if (isCleanExit(reason) || restart === 'temporary') {
        if (!isCleanExit(reason)) ctx.node.log('error', `ConsumerSupervisor ${ctx.self.describe()}: child ${pid.describe()} for ${formatReason(child.event)} terminated: ${formatReason(reason)}`);
        maybeAsk(s, child.producer, ctx, 0, 1);
        return noreply(s);
      }
      ctx.node.log('error', `ConsumerSupervisor ${ctx.self.describe()}: child ${pid.describe()} for ${formatReason(child.event)} terminated: ${formatReason(reason)}; restarting`);
      const now = Date.now() / 1000;
      s.restarts = [now, ...s.restarts.filter((t) => now <= t + maxSeconds)];
      if (s.restarts.length > maxRestarts) {
        ctx.node.log('error', `ConsumerSupervisor ${ctx.self.describe()}: reached_max_restart_intensity`);
        maybeAsk(s, child.producer, ctx, 0, 1);
        return stop(shutdown, s);
      }
      const again = await startOne(child.event, ctx);
      if (again instanceof Pid) s.children.set(tagKey(again), { pid: again, producer: child.producer, event: child.event });
      else maybeAsk(s, child.producer, ctx, 0, 1);
      return noreply(s);
    },
    handleCall: (_req, _from, s) => replyEmit({ specs: 1, active: s.children.size, supervisors: 0, workers: s.children.size }, [], s),
    terminate: (_reason, s, ctx) => {
      for (const c of s.children.values()) ctx.sendExit(c.pid, shutdown);
    },
  };
  return startStage(starter, behavior, undefined, options);
}

/** Children alive under a ConsumerSupervisor (its `count_children`). */
export async function countConsumerChildren(from: Node | Process, supervisor: Pid | { readonly pid: Pid }): Promise<number> {
  const dest = supervisor instanceof Pid ? supervisor : supervisor.pid;
  const r = (await from.call(dest, A_COUNT_CHILDREN)) as { active: number };
  return r.active;
}
