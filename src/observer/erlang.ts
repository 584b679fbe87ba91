/**
 * The Erlang source: the views of a connected Erlang (or Elixir) node, read
 * through `rpc` with the functions OTP's own observer uses:
 * `erlang:processes/0`, `erlang:process_info/2`,
 * `application:which_applications/0`, `supervisor:which_children/1`.
 * @module
 */
import type { Node } from '../core/node.js';
import { rpc, RpcError } from '../distribution/node-dist.js';
import { Charlist, charlist } from '../etf/charlist.js';
import { type Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { Tuple } from '../terms/tuple.js';
import { ObserverRequestError } from './errors.js';
import { parsePidText, parseReason, pidText, termText } from './format.js';
import { buildTree, pageOf } from './local.js';
import type { ObserverSource } from './source.js';
import type { ApplicationView, DistributionView, OverviewView, ProcessPage, ProcessQuery, ProcessRow, ProcessView } from './views.js';

/** Processes detailed for the table; the rest are counted. */
const MAX_ROWS = 5000;
/** How long process rows are reused between refreshes. */
const ROWS_TTL_MS = 1000;

const ROW_ITEMS = ['registered_name', 'status', 'message_queue_len', 'reductions', 'memory', 'links', 'initial_call'].map((k) => atom(k));
const PAGE_ITEMS = ['registered_name', 'status', 'message_queue_len', 'reductions', 'memory', 'links', 'monitors', 'monitored_by', 'trap_exit', 'current_function', 'initial_call', 'parent'].map((k) => atom(k));

/** `[{Key, Value}]` as a map by key name. */
function proplist(value: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(value)) return out;
  for (const item of value as unknown[]) {
    if (item instanceof Tuple && item.elements.length === 2) {
      const k = item.elements[0];
      out.set(typeof k === 'object' && k !== null && 'name' in k ? String((k as Atom).name) : String(k), item.elements[1]);
    }
  }
  return out;
}

/** Text of an atom, charlist, string or other term. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Charlist) return v.toString();
  if (Array.isArray(v) && v.length === 0) return '';
  if (typeof v === 'object' && v !== null && 'name' in v && typeof (v as Atom).name === 'string' && !(v instanceof Pid)) return (v as Atom).name;
  return termText(v, 200);
}

function mfa(v: unknown): string {
  if (v instanceof Tuple && v.elements.length === 3) return `${text(v.elements[0])}:${text(v.elements[1])}/${String(v.elements[2])}`;
  return v === undefined ? '' : text(v);
}

/** A process table row from the answer of `erlang:process_info/2`. */
function rowOf(pid: string, i: Map<string, unknown>, behavior: string): ProcessRow {
  const links = i.get('links');
  return {
    pid,
    name: text(i.get('registered_name')),
    behavior,
    status: text(i.get('status')),
    mailbox: num(i.get('message_queue_len')),
    reductions: num(i.get('reductions')),
    memory: num(i.get('memory')),
    links: Array.isArray(links) ? links.length : 0,
  };
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/** The views of the Erlang node `remote`, read through `local`'s distribution. */
export class ErlangSource implements ObserverSource {
  readonly node: string;
  private readonly target: Atom;
  private rows: { at: number; rows: Promise<{ rows: ProcessRow[]; all: number }> } | undefined;

  constructor(
    private readonly local: Node,
    remote: string,
  ) {
    this.node = remote;
    this.target = atom(remote);
  }

  /** An rpc; a node that cannot be reached is a 502. */
  private call(module: string, fn: string, args: unknown[] = []): Promise<unknown> {
    return rpc(this.local, this.target, module, fn, args, { timeout: 5000 }).catch((err: unknown) => {
      if (err instanceof RpcError) throw err;
      throw new ObserverRequestError(502, `${this.node}: ${(err as Error).message}`);
    });
  }

  /** An rpc about one pid: `badrpc` (a pid the node rejects) reads as no such process. */
  private about(pid: Pid, module: string, fn: string, args: unknown[]): Promise<unknown> {
    return this.call(module, fn, args).catch((err: unknown) => {
      if (err instanceof RpcError) return undefined;
      throw err;
    });
  }

  /**
   * The pid `<0.X.Y>` made on the Erlang node itself (`erlang:list_to_pid/1`):
   * a pid it would reject on the wire (out of range) must never be sent, as
   * it would close the connection. Not a pid there: 404.
   */
  private async pid(t: string): Promise<Pid> {
    parsePidText(t);
    const pid = await this.call('erlang', 'list_to_pid', [charlist(t)]).catch((err: unknown) => {
      if (err instanceof RpcError) return undefined;
      throw err;
    });
    if (!(pid instanceof Pid)) throw new ObserverRequestError(404, `no process ${t} on ${this.node}`);
    return pid;
  }

  async overview(): Promise<OverviewView> {
    const [count, memory, wall, release, nodes, reductions] = await Promise.all([
      this.call('erlang', 'system_info', [atom('process_count')]),
      this.call('erlang', 'memory'),
      this.call('erlang', 'statistics', [atom('wall_clock')]),
      this.call('erlang', 'system_info', [atom('otp_release')]),
      this.call('erlang', 'nodes', [[atom('visible'), atom('hidden')]]),
      this.call('erlang', 'statistics', [atom('reductions')]),
    ]);
    const mem: Record<string, number> = {};
    for (const [k, v] of proplist(memory)) mem[k] = num(v);
    return {
      node: this.node,
      kind: 'erlang',
      runtime: `Erlang/OTP ${text(release)}`,
      uptimeMs: wall instanceof Tuple ? num(wall.elements[0]) : 0,
      processes: num(count),
      memory: mem,
      eventLoop: undefined,
      messages: undefined,
      reductions: reductions instanceof Tuple ? num(reductions.elements[0]) : undefined,
      connectedNodes: Array.isArray(nodes) ? (nodes as unknown[]).map(text) : [],
    };
  }

  /** What a process runs: its initial call, or for proc_lib processes (gen_server, supervisor...) the module behind it. */
  private async behaviorOf(pid: Pid, i: Map<string, unknown>): Promise<string> {
    const initial = mfa(i.get('initial_call'));
    if (initial !== 'proc_lib:init_p/5') return initial;
    return mfa(await this.call('proc_lib', 'translate_initial_call', [pid]).catch(() => undefined)) || initial;
  }

  private loadRows(): Promise<{ rows: ProcessRow[]; all: number }> {
    const now = Date.now();
    if (this.rows !== undefined && now - this.rows.at < ROWS_TTL_MS) return this.rows.rows;
    const rows = (async () => {
      const pids = await this.call('erlang', 'processes');
      const list = Array.isArray(pids) ? (pids as unknown[]).filter((p): p is Pid => p instanceof Pid) : [];
      const out = await Promise.all(
        list.slice(0, MAX_ROWS).map(async (p): Promise<ProcessRow | undefined> => {
          const info = await this.call('erlang', 'process_info', [p, ROW_ITEMS]).catch(() => undefined);
          if (!Array.isArray(info)) return undefined; // exited meanwhile
          const i = proplist(info);
          return rowOf(pidText(p), i, await this.behaviorOf(p, i));
        }),
      );
      return { rows: out.filter((r): r is ProcessRow => r !== undefined), all: list.length };
    })();
    this.rows = { at: now, rows };
    rows.catch(() => (this.rows = undefined));
    return rows;
  }

  async processes(q: ProcessQuery): Promise<ProcessPage> {
    const { rows, all } = await this.loadRows();
    return pageOf([...rows], all, q);
  }

  async process(t: string): Promise<ProcessView | undefined> {
    const pid = await this.pid(t);
    const info = await this.about(pid, 'erlang', 'process_info', [pid, PAGE_ITEMS]);
    if (!Array.isArray(info)) return undefined;
    const i = proplist(info);
    const pids = (v: unknown): string[] => (Array.isArray(v) ? (v as unknown[]).map((p) => (p instanceof Pid ? (p.node === this.target ? pidText(p) : p.describe()) : text(p))) : []);
    const monitors = Array.isArray(i.get('monitors'))
      ? (i.get('monitors') as unknown[]).map((m) => {
          const target = m instanceof Tuple ? m.elements[1] : m;
          if (target instanceof Pid) return target.node === this.target ? pidText(target) : target.describe();
          if (target instanceof Tuple) return `${text(target.elements[0])}@${text(target.elements[1])}`;
          return text(target);
        })
      : [];
    const parent = i.get('parent');
    return {
      ...rowOf(t, i, await this.behaviorOf(pid, i)),
      trapExit: i.get('trap_exit') === true,
      hibernated: undefined,
      links_: pids(i.get('links')),
      monitors,
      monitoredBy: pids(i.get('monitored_by')),
      parent: parent instanceof Pid ? pidText(parent) : undefined,
      currentFunction: mfa(i.get('current_function')),
      state: undefined,
      trace: { until: 0, messages: [] },
    };
  }

  async serverState(t: string): Promise<string> {
    const pid = await this.pid(t);
    try {
      return termText(await this.call('sys', 'get_state', [pid, 1000]));
    } catch (err) {
      throw new ObserverRequestError(409, `${t} did not answer sys:get_state: ${(err as Error).message}`);
    }
  }

  async applications(): Promise<ApplicationView[]> {
    const apps = await this.call('application', 'which_applications');
    if (!Array.isArray(apps)) return [];
    return Promise.all(
      (apps as unknown[]).filter((a): a is Tuple => a instanceof Tuple && a.elements.length === 3).map(async (a) => {
        const name = a.elements[0];
        let tree;
        const master = await this.call('application_controller', 'get_master', [name]).catch(() => undefined);
        if (master instanceof Pid) {
          const child = await this.call('application_master', 'get_child', [master]).catch(() => undefined);
          const root = child instanceof Tuple ? child.elements[0] : undefined;
          if (root instanceof Pid) tree = await buildTree(pidText(root), text(name), (sup) => this.children(sup));
        }
        return { name: text(name), description: text(a.elements[1]), version: text(a.elements[2]), tree };
      }),
    );
  }

  private async children(sup: string): Promise<{ id: string; pid: string; type: 'worker' | 'supervisor' }[]> {
    const rows = await this.call('supervisor', 'which_children', [await this.pid(sup)]);
    if (!Array.isArray(rows)) return [];
    return (rows as unknown[])
      .filter((r): r is Tuple => r instanceof Tuple && r.elements.length === 4)
      .map((r) => {
        const child = r.elements[1];
        return { id: text(r.elements[0]), pid: child instanceof Pid ? pidText(child) : text(child), type: text(r.elements[2]) === 'supervisor' ? 'supervisor' : 'worker' };
      });
  }

  async distribution(): Promise<DistributionView> {
    const [ctrl, names] = await Promise.all([this.call('erlang', 'system_info', [atom('dist_ctrl')]), this.call('erl_epmd', 'names').catch((e: Error) => e)]);
    const connections = await Promise.all(
      (Array.isArray(ctrl) ? (ctrl as unknown[]) : []).filter((c): c is Tuple => c instanceof Tuple).map(async (c) => {
        const stat = await this.call('inet', 'getstat', [c.elements[1], [atom('recv_oct'), atom('send_oct'), atom('recv_cnt'), atom('send_cnt')]]).catch(() => undefined);
        const s = stat instanceof Tuple ? proplist(stat.elements[1]) : new Map<string, unknown>();
        return { node: text(c.elements[0]), bytesIn: num(s.get('recv_oct')), bytesOut: num(s.get('send_oct')), messagesIn: num(s.get('recv_cnt')), messagesOut: num(s.get('send_cnt')), tls: false };
      }),
    );
    const listed = names instanceof Tuple && Array.isArray(names.elements[1]) ? (names.elements[1] as unknown[]) : [];
    return {
      node: this.node,
      distributed: true,
      listenPort: undefined,
      epmd: {
        port: undefined,
        embedded: false,
        names: listed.filter((n): n is Tuple => n instanceof Tuple).map((n) => ({ name: text(n.elements[0]), port: num(n.elements[1]) })),
        ...(names instanceof Error ? { error: names.message } : {}),
      },
      connections,
    };
  }

  async kill(t: string, reason: string): Promise<boolean> {
    const r = parseReason(reason);
    const pid = await this.pid(t);
    if ((await this.about(pid, 'erlang', 'is_process_alive', [pid])) !== true) return false;
    this.local.exit(pid, r);
    return true;
  }

  trace(): Promise<boolean> {
    return Promise.reject(new ObserverRequestError(409, `tracing is not available for the Erlang node ${this.node}`));
  }

  async stopApplication(name: string): Promise<boolean> {
    // Only names of running applications become atoms there (atoms are never collected).
    if (!(await this.applications()).some((a) => a.name === name)) return false;
    const r = await this.call('application', 'stop', [atom(name)]);
    return r === atom('ok');
  }
}
