/**
 * Observer sampler: the Node.js process's event-loop delay and utilization
 * and the node's message rate, sampled once a second while anyone watches.
 * @module
 */
import { type IntervalHistogram, monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Node } from '../core/node.js';

/** The last completed window. */
export interface Sample {
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly utilization: number;
  readonly messagesPerSecond: number;
}

const WINDOW_MS = 1000;

/** Samples one node; `acquire` starts it, the matching `release` stops it. */
export class Sampler {
  private users = 0;
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private elu: EventLoopUtilization | undefined;
  private messages = 0;
  private at = 0;
  last: Sample = { meanMs: 0, p99Ms: 0, maxMs: 0, utilization: 0, messagesPerSecond: 0 };

  constructor(private readonly node: Node) {}

  acquire(): void {
    if (this.users++ > 0) return;
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.elu = performance.eventLoopUtilization();
    this.messages = this.node.messagesDelivered();
    this.at = performance.now();
    this.timer = setInterval(() => this.sample(), WINDOW_MS).unref();
  }

  release(): void {
    if (this.users === 0 || --this.users > 0) return;
    clearInterval(this.timer);
    this.histogram?.disable();
    this.histogram = undefined;
    this.timer = undefined;
  }

  private touchTimer: NodeJS.Timeout | undefined;

  /** Someone read the sample (a remote observer's rpc): keep sampling for the next 10 s. */
  touch(): void {
    if (this.touchTimer === undefined) {
      this.acquire();
      this.touchTimer = setTimeout(() => {
        this.touchTimer = undefined;
        this.release();
      }, 10_000).unref();
    } else this.touchTimer.refresh();
  }

  private sample(): void {
    const h = this.histogram;
    if (h === undefined) return;
    const now = performance.now();
    const messages = this.node.messagesDelivered();
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    this.last = {
      meanMs: h.count > 0 ? h.mean / 1e6 : 0,
      p99Ms: h.count > 0 ? h.percentile(99) / 1e6 : 0,
      maxMs: h.count > 0 ? h.max / 1e6 : 0,
      utilization: elu.utilization,
      messagesPerSecond: ((messages - this.messages) * 1000) / Math.max(1, now - this.at),
    };
    h.reset();
    this.messages = messages;
    this.at = now;
  }
}

const samplers = new WeakMap<Node, Sampler>();

/** The sampler of `node` (one per node). */
export function samplerOf(node: Node): Sampler {
  let s = samplers.get(node);
  if (s === undefined) samplers.set(node, (s = new Sampler(node)));
  return s;
}
