/**
 * A ConsumerSupervisor whose children are spread over the nodes of a
 * cluster, round robin: the child for the `i`-th event starts on
 * `nodes[i % n]` (by remote spawn), or on the next node that answers when
 * that one is down. Demand is counted as for local children: at most
 * `maxDemand` children alive per producer, a slot freed when its child exits.
 * A child on a node that goes down exits `noconnection` (the supervisor is
 * linked to it), which frees its slot, or restarts it elsewhere when
 * `transient`. Children cross nodes by name: each node registers the child's
 * start function with {@link registerConsumerChild}, and events are terms.
 * @module
 */
import type { Atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import type { Node } from '../core/node.js';
import type { StartOptions } from '../server/server.js';
import { registerSpawnable, remoteSpawn } from '../distribution/node-dist.js';
import { startConsumerSupervisor, type ConsumerSupervisorSpec } from '../stage/consumer-supervisor.js';
import type { StartedStage } from '../stage/stage.js';
import type { Process } from '../core/process.js';
import { placeRoundRobin } from './placement.js';

/** Starts the child for `event` on `node` (not linked: the supervisor links to it). */
export type ConsumerChildStart<E> = (event: E, node: Node) => Pid | { readonly pid: Pid } | Promise<Pid | { readonly pid: Pid }>;

/** The start functions registered on each node, for children placed on the supervisor's own node. */
const registered = new WeakMap<Node, Map<string, ConsumerChildStart<never>>>();

function spawnableName(name: string): string {
  return `$consumer_child:${name}`;
}

async function startHere<E>(start: ConsumerChildStart<E>, event: E, node: Node): Promise<Pid> {
  const started = await start(event, node);
  return started instanceof Pid ? started : started.pid;
}

/**
 * Makes `start` startable on `node` by spread ConsumerSupervisors of any node
 * of the cluster, under `name`. Call it on every node (in the cluster's start function).
 *
 * @example
 * ```ts
 * export function start(node: Node) {
 *   registerConsumerChild<Job>(node, 'job', (job, on) => on.spawn({ init: async (p) => { await run(job); p.exit('normal'); }, handleMessage() {} }));
 * }
 * ```
 */
export function registerConsumerChild<E>(node: Node, name: string, start: ConsumerChildStart<E>): void {
  let map = registered.get(node);
  if (map === undefined) registered.set(node, (map = new Map()));
  map.set(name, start as ConsumerChildStart<never>);
  registerSpawnable(node, spawnableName(name), (args, on) => startHere(start, args[0] as E, on));
}

/** What {@link startSpreadConsumerSupervisor} runs. */
export interface SpreadConsumerSupervisorSpec extends Omit<ConsumerSupervisorSpec<never>, 'start'> {
  /** The name every node registered the child under ({@link registerConsumerChild}). */
  readonly name: string;
  /** The nodes to place children on, round robin (the local node may be one of them). */
  readonly nodes: readonly (string | Atom)[];
}

/**
 * Starts a ConsumerSupervisor on `starter`'s node whose children (one per
 * event, events being terms) are placed round robin over `nodes`. A child that
 * no node can start is a start error: logged, and its demand returned.
 *
 * @example
 * ```ts
 * // in each node's start function: registerConsumerChild<Job>(node, 'job', startJob);
 * const sup = await startSpreadConsumerSupervisor<Job>(node, {
 *   name: 'job',
 *   nodes: [node.name, ...context.peers],
 *   subscribeTo: [{ to: jobs, maxDemand: 16 }], // at most 16 jobs at once, over the whole cluster
 * });
 * ```
 */
export function startSpreadConsumerSupervisor<E>(starter: Node | Process, spec: SpreadConsumerSupervisorSpec, options: StartOptions = {}): Promise<StartedStage<E, never>> {
  let next = 0;
  const { name, nodes, ...rest } = spec;
  const full: ConsumerSupervisorSpec<E> = {
    ...rest,
    start: (event, ctx) =>
      placeRoundRobin(
        ctx,
        nodes,
        next++,
        () => {
          const start = registered.get(ctx.node)?.get(name) as ConsumerChildStart<E> | undefined;
          if (start === undefined) return Promise.reject(new Error(`no consumer child ${name} is registered on ${ctx.node.name.name}`));
          return startHere(start, event, ctx.node);
        },
        (node) => remoteSpawn(ctx.node, node, spawnableName(name), [event]),
      ),
  };
  return startConsumerSupervisor(starter, full, options);
}
