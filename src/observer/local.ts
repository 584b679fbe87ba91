/**
 * The local source: the views of the node the observer runs on, read from
 * its runtime (process info, applications, supervisors, distribution).
 * @module
 */
import type { Node } from '../core/node.js';
import type { ProcessInfo } from '../core/process.js';
import { applicationSupervisor, stopApplication, whichApplications } from '../application/controller.js';
import { NotStartedError } from '../application/errors.js';
import { NodeDistribution } from '../distribution/node-dist.js';
import { listNames } from '../distribution/epmd/client.js';
import { getServerState } from '../server/server.js';
import { whichChildren } from '../supervisor/api.js';
import type { Pid } from '../terms/identifiers.js';
import { ObserverRequestError } from './errors.js';
import { parseReason, pidOn, pidText, termText } from './format.js';
import { samplerOf } from './sampler.js';
import type { ObserverSource } from './source.js';
import type { ApplicationView, DistributionView, OverviewView, ProcessPage, ProcessQuery, ProcessRow, ProcessView, TracedMessage, TreeNode } from './views.js';

/** Messages kept per traced process. */
const TRACE_KEEP = 100;
/** Longest trace, in seconds. */
export const MAX_TRACE_SECONDS = 600;

interface Trace {
  until: number;
  timer: NodeJS.Timeout | undefined;
  readonly messages: TracedMessage[];
}

const traces = new WeakMap<Node, Map<string, Trace>>();

/** A process table row from the runtime's process info. */
function rowOf(pid: string, i: ProcessInfo): ProcessRow {
  return {
    pid,
    name: i.registeredName?.name ?? '',
    behavior: i.behavior ?? '',
    status: i.status,
    mailbox: i.messageQueueLength,
    reductions: i.reductions,
    memory: i.memory,
    links: i.links.length,
  };
}

function tracesOf(node: Node): Map<string, Trace> {
  let t = traces.get(node);
  if (t === undefined) traces.set(node, (t = new Map()));
  return t;
}

function compareRows(key: Exclude<ProcessQuery['sort'], 'pid'>): (a: ProcessRow, b: ProcessRow) => number {
  switch (key) {
    case 'name':
    case 'behavior':
    case 'status':
      return (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);
    default:
      return (a, b) => a[key] - b[key];
  }
}

/** Sort order of `<0.X.Y>`: serial, then id. */
function pidOrder(text: string): number {
  const a = text.indexOf('.') + 1;
  const b = text.indexOf('.', a);
  return Number(text.slice(b + 1, -1)) * 2 ** 32 + Number(text.slice(a, b));
}

/** Filters, sorts and pages process rows (shared by every source); `inPidOrder`: the rows come sorted by pid already. */
export function pageOf(rows: ProcessRow[], all: number, q: ProcessQuery, inPidOrder = false): ProcessPage {
  const f = q.filter.toLowerCase();
  const kept = f === '' ? rows : rows.filter((r) => r.pid.includes(f) || r.name.toLowerCase().includes(f) || r.behavior.toLowerCase().includes(f));
  const sign = q.dir === 'asc' ? 1 : -1;
  if (q.sort === 'pid' && inPidOrder) {
    if (q.dir === 'desc') kept.reverse();
    return { all, total: kept.length, offset: q.offset, limit: q.limit, rows: kept.slice(q.offset, q.offset + q.limit) };
  }
  if (q.sort === 'pid') {
    // Decorate once: parsing pids inside the comparator would cost n log n parses.
    const keys = new Float64Array(kept.length);
    for (let i = 0; i < kept.length; i++) keys[i] = sign * pidOrder((kept[i] as ProcessRow).pid);
    const order = Uint32Array.from(keys.keys()).sort((a, b) => (keys[a] as number) - (keys[b] as number));
    const sorted = Array.from(order, (i) => kept[i] as ProcessRow);
    return { all, total: sorted.length, offset: q.offset, limit: q.limit, rows: sorted.slice(q.offset, q.offset + q.limit) };
  }
  const cmp = compareRows(q.sort);
  kept.sort((a, b) => sign * cmp(a, b));
  return { all, total: kept.length, offset: q.offset, limit: q.limit, rows: kept.slice(q.offset, q.offset + q.limit) };
}

/** Builds a supervision tree from `root` with `children(sup)` (shared by every source). */
export async function buildTree(root: string, id: string, children: (sup: string) => Promise<{ id: string; pid: string; type: 'worker' | 'supervisor' }[]>, depth = 0): Promise<TreeNode> {
  if (depth > 32) return { id, pid: root, type: 'supervisor' };
  const rows = await children(root).catch(() => []);
  return {
    id,
    pid: root,
    type: 'supervisor',
    children: await Promise.all(rows.map((r) => (r.type === 'supervisor' && r.pid.startsWith('<') ? buildTree(r.pid, r.id, children, depth + 1) : Promise.resolve({ id: r.id, pid: r.pid, type: r.type })))),
  };
}

/** The views of the local node. */
export class LocalSource implements ObserverSource {
  readonly node: string;

  constructor(private readonly local: Node) {
    this.node = local.name.name;
  }

  private pid(text: string): Pid {
    return pidOn(this.local.name, this.local.creation, text);
  }

  private dist(): NodeDistribution | undefined {
    const d = this.local.distribution;
    return d instanceof NodeDistribution ? d : undefined;
  }

  overview(): Promise<OverviewView> {
    const mem = process.memoryUsage();
    const sampler = samplerOf(this.local);
    sampler.touch(); // read without an event stream here (JSON, or a remote observer): sample from now on
    const s = sampler.last;
    return Promise.resolve({
      node: this.node,
      kind: 'beamline',
      runtime: `Node.js ${process.version}`,
      uptimeMs: Math.round(process.uptime() * 1000),
      processes: this.local.processes().length,
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external },
      eventLoop: { meanMs: s.meanMs, p99Ms: s.p99Ms, maxMs: s.maxMs, utilization: s.utilization },
      messages: { total: this.local.messagesDelivered(), perSecond: s.messagesPerSecond },
      reductions: undefined,
      connectedNodes: (this.dist()?.connectedNodes() ?? []).map((n) => n.name),
    });
  }

  processes(q: ProcessQuery): Promise<ProcessPage> {
    const node = this.local;
    const rows: ProcessRow[] = [];
    for (const pid of node.processes()) {
      const i = node.processInfo(pid);
      if (i === undefined) continue;
      rows.push(rowOf(pidText(pid), i));
    }
    // Pids grow with each spawn and processes() lists them in spawn order: already in pid order.
    return Promise.resolve(pageOf(rows, rows.length, q, true));
  }

  process(text: string): Promise<ProcessView | undefined> {
    const pid = this.pid(text);
    const i = this.local.processInfo(pid);
    if (i === undefined) return Promise.resolve(undefined);
    const other = (p: Pid): string => (p.node === this.local.name ? pidText(p) : p.describe());
    const trace = tracesOf(this.local).get(text);
    return Promise.resolve({
      ...rowOf(text, i),
      trapExit: i.trapExit,
      hibernated: i.hibernated,
      links_: i.links.map(other),
      monitors: i.monitors.map((m) => ('name' in m ? `${m.name.name}@${m.node.name}` : other(m))),
      monitoredBy: i.monitoredBy.map(other),
      parent: i.parent === undefined ? undefined : other(i.parent),
      currentFunction: undefined,
      state: undefined,
      trace: { until: trace?.until ?? 0, messages: trace?.messages ?? [] },
    });
  }

  async serverState(text: string): Promise<string> {
    const pid = this.pid(text);
    const info = this.local.processInfo(pid);
    if (info === undefined) throw new ObserverRequestError(404, `no process ${text} on ${this.node}`);
    if (info.behavior === undefined) throw new ObserverRequestError(409, `${text} is not a Server (it has no behavior)`);
    try {
      return termText(await getServerState(this.local, pid, 1000));
    } catch (err) {
      throw new ObserverRequestError(409, `${text} did not answer getServerState: ${(err as Error).message}`);
    }
  }

  async applications(): Promise<ApplicationView[]> {
    const out: ApplicationView[] = [];
    for (const a of whichApplications(this.local)) {
      const root = applicationSupervisor(this.local, a.name);
      const tree = root === undefined ? undefined : await buildTree(pidText(root), a.name, (sup) => this.children(sup));
      out.push({ name: a.name, version: a.version, description: a.description, tree });
    }
    return out;
  }

  private async children(sup: string): Promise<{ id: string; pid: string; type: 'worker' | 'supervisor' }[]> {
    const rows = await whichChildren(this.local, this.pid(sup));
    return rows.map((r, i) => ({ id: r.id ?? `#${i + 1}`, pid: typeof r.pid === 'string' ? r.pid : pidText(r.pid), type: r.type }));
  }

  async distribution(): Promise<DistributionView> {
    const d = this.dist();
    if (d === undefined) return { node: this.node, distributed: false, listenPort: undefined, epmd: { port: undefined, embedded: false, names: [] }, connections: [] };
    const host = this.node.slice(this.node.indexOf('@') + 1);
    let names: { name: string; port: number }[] = [];
    let error: string | undefined;
    try {
      names = (await listNames({ host, port: d.epmdPort, timeout: 1000 })).nodes;
    } catch (err) {
      error = (err as Error).message;
    }
    return {
      node: this.node,
      distributed: true,
      listenPort: d.listenPort,
      epmd: { port: d.epmdPort, embedded: d.epmdEmbedded, names, ...(error === undefined ? {} : { error }) },
      connections: d.connectionStats().map((c) => ({ ...c, node: c.node.name })),
    };
  }

  kill(text: string, reason: string): Promise<boolean> {
    const pid = this.pid(text);
    const r = parseReason(reason);
    if (!this.local.isAlive(pid)) return Promise.resolve(false);
    this.local.exit(pid, r);
    return Promise.resolve(true);
  }

  trace(text: string, seconds: number): Promise<boolean> {
    const pid = this.pid(text);
    const all = tracesOf(this.local);
    const old = all.get(text);
    const t: Trace = { until: Date.now() + seconds * 1000, timer: undefined, messages: old?.messages ?? [] };
    const traced = this.local.traceMessages(pid, (m) => {
      if (t.messages.push({ at: Date.now(), message: termText(m, 300) }) > TRACE_KEEP) t.messages.shift();
    });
    if (!traced) return Promise.resolve(false);
    clearTimeout(old?.timer);
    t.timer = setTimeout(() => {
      t.until = 0;
      t.timer = undefined;
      this.local.traceMessages(pid, undefined);
    }, seconds * 1000).unref();
    all.set(text, t);
    // Forget the trace once the process is gone.
    void this.local.waitExit(pid).then(() => {
      clearTimeout(t.timer);
      if (all.get(text) === t) all.delete(text);
    });
    return Promise.resolve(true);
  }

  async stopApplication(name: string): Promise<boolean> {
    try {
      await stopApplication(this.local, name);
      return true;
    } catch (err) {
      if (err instanceof NotStartedError) return false;
      throw err;
    }
  }
}
