/**
 * The demo's HTTP API on the Web behavior: the key-value store as JSON
 * (`PUT /kv/:key`, `GET /kv/:key`, `DELETE /kv/:key`, `GET /kv`) and a page
 * listing the node's processes, applications and supervision tree.
 * @module
 */
import {
  atom,
  type Node,
  ok,
  respond,
  route,
  serverRef,
  text,
  tuple,
  Tuple,
  json,
  type WebHandler,
  type WebRoute,
  whichApplications,
  whichChildren,
  type Pid,
  type Process,
} from '../../src/index.js';
import { toJson } from './json.js';
import type { KvProtocol } from './kv.js';

const kv = serverRef<KvProtocol>('kv');

const kvApi: WebHandler<undefined> = {
  behavior: 'kv_http',
  init: () => ok(undefined),
  async handleRequest(req, s, ctx) {
    const key = req.params['key'];
    if (key === undefined) return respond(json((await ctx.call(kv, atom('keys'))).map(toJson)), s);
    switch (req.method) {
      case 'GET': {
        const found = await ctx.call(kv, tuple(atom('get'), key));
        if (found instanceof Tuple) return respond(json(toJson(found.elements[1])), s);
        return respond(json({ error: 'not_found', key }, 404), s);
      }
      case 'PUT': {
        let value: unknown;
        try {
          value = req.json();
        } catch {
          return respond(json({ error: 'the body must be JSON' }, 400), s);
        }
        await ctx.call(kv, tuple(atom('put'), key, value));
        return respond(json({ ok: true }), s);
      }
      default:
        await ctx.call(kv, tuple(atom('delete'), key));
        return respond(json({ ok: true }), s);
    }
  },
};

interface TreeNode {
  id: string;
  pid: string;
  type: string;
  children?: TreeNode[];
}

/** The supervision trees of the node: every supervisor that is nobody's child is a root. */
async function supervisionTrees(ctx: Process): Promise<TreeNode[]> {
  const node = ctx.node;
  const supervisors = node.processes().filter((p) => node.processInfo(p)?.behavior === 'supervisor');
  const childrenOf = new Map<string, { id: string; pid: Pid | string; type: string }[]>();
  for (const sup of supervisors) {
    const rows = await whichChildren(ctx, sup).catch(() => []);
    childrenOf.set(String(sup), rows.map((r) => ({ id: r.id ?? '', pid: r.pid, type: r.type })));
  }
  const isChild = new Set([...childrenOf.values()].flat().map((c) => String(c.pid)));
  const build = (pid: string, id: string, type: string): TreeNode => {
    const rows = childrenOf.get(pid);
    const nodeOut: TreeNode = { id, pid, type };
    if (rows !== undefined) nodeOut.children = rows.map((r) => build(String(r.pid), r.id, r.type));
    return nodeOut;
  };
  return supervisors.filter((s) => !isChild.has(String(s))).map((s) => build(String(s), node.processInfo(s)?.registeredName?.name ?? 'root', 'supervisor'));
}

function processRows(node: Node): string {
  return node
    .processes()
    .map((pid) => {
      const i = node.processInfo(pid);
      if (i === undefined) return '';
      return `<tr><td>${pid.toString()}</td><td>${i.registeredName?.name ?? ''}</td><td>${i.behavior ?? ''}</td><td>${i.status}</td><td>${i.messageQueueLength}</td><td>${i.links.length}</td></tr>`;
    })
    .join('\n');
}

function renderTree(nodes: TreeNode[]): string {
  return `<ul>${nodes.map((n) => `<li>${n.id} ${n.pid} (${n.type})${n.children ? renderTree(n.children) : ''}</li>`).join('')}</ul>`;
}

const statusPage: WebHandler<undefined> = {
  behavior: 'status_page',
  init: () => ok(undefined),
  async handleRequest(req, s, ctx) {
    const node = ctx.node;
    const trees = await supervisionTrees(ctx);
    const apps = whichApplications(node);
    if (req.query.get('format') === 'json') {
      return respond(
        json({
          node: node.name.name,
          applications: apps,
          processes: node.processes().map((p) => ({ pid: p.toString(), name: node.processInfo(p)?.registeredName?.name, behavior: node.processInfo(p)?.behavior })),
          supervision: trees,
        }),
        s,
      );
    }
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>${node.name.name}</title></head><body>
<h1>Beamline node ${node.name.name}</h1>
<h2>Applications</h2><ul>${apps.map((a) => `<li>${a.name} ${a.version}: ${a.description}</li>`).join('')}</ul>
<h2>Supervision tree</h2>${renderTree(trees)}
<h2>Processes (${node.processes().length})</h2>
<table border="1"><tr><th>pid</th><th>name</th><th>behavior</th><th>status</th><th>mailbox</th><th>links</th></tr>
${processRows(node)}
</table></body></html>`;
    return respond({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: html }, s);
  },
};

/** The demo's routes. */
export function demoRoutes(): WebRoute[] {
  return [
    route('GET', '/', statusPage),
    route('GET', '/kv', kvApi, { poolSize: 4 }),
    route('GET', '/kv/:key', kvApi, { poolSize: 4 }),
    route('PUT', '/kv/:key', kvApi, { poolSize: 4 }),
    route('DELETE', '/kv/:key', kvApi, { poolSize: 4 }),
    route('GET', '/health', { init: () => ok(undefined), handleRequest: (_r, st) => respond(text('ok'), st) }),
  ];
}
