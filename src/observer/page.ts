/**
 * The observer page: one self-contained HTML document (inline CSS and
 * JavaScript, no external resources, nothing to build). It follows the
 * live updates of the view it shows over Server-Sent Events, and builds
 * every element with `textContent` (no HTML from data).
 * @module
 */

const STYLE = `
:root { --bg:#0f1419; --panel:#171d24; --line:#2a333d; --fg:#d8dee6; --dim:#8a96a3; --accent:#4fb3ff; --ok:#5cd08d; --warn:#f0b541; --bad:#ff6b6b; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display:flex; gap:16px; align-items:center; padding:10px 18px; background:var(--panel); border-bottom:1px solid var(--line); flex-wrap:wrap; }
header h1 { font-size:16px; margin:0; font-weight:600; letter-spacing:.3px; }
header h1 span { color:var(--accent); }
nav { display:flex; gap:4px; }
nav a { color:var(--dim); text-decoration:none; padding:6px 12px; border-radius:6px; }
nav a.active, nav a:hover { color:var(--fg); background:#222b35; }
select, input, button { background:#0f1419; color:var(--fg); border:1px solid var(--line); border-radius:6px; padding:5px 8px; font:inherit; }
button { cursor:pointer; background:#1f2a36; }
button:hover { border-color:var(--accent); }
button.danger { border-color:#6b2b2b; background:#2a1717; }
.spacer { flex:1; }
#live { font-size:12px; color:var(--dim); }
#live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--bad); margin-right:6px; vertical-align:middle; }
#live.on::before { background:var(--ok); }
main { padding:18px; max-width:1400px; margin:0 auto; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(210px, 1fr)); gap:12px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .label { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.card .value { font-size:22px; font-weight:600; margin-top:2px; font-variant-numeric:tabular-nums; }
.card .sub { color:var(--dim); font-size:12px; }
canvas.spark { width:100%; height:36px; display:block; margin-top:6px; }
table { width:100%; border-collapse:collapse; background:var(--panel); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--dim); font-weight:500; font-size:12px; text-transform:uppercase; user-select:none; }
th.sortable { cursor:pointer; }
th.sorted { color:var(--accent); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:hover td { background:#1b232c; }
a.pid { color:var(--accent); text-decoration:none; font-family:ui-monospace, monospace; }
.mono { font-family:ui-monospace, monospace; }
.toolbar { display:flex; gap:10px; align-items:center; margin-bottom:12px; flex-wrap:wrap; }
.pager { display:flex; gap:8px; align-items:center; color:var(--dim); }
h2 { font-size:15px; margin:22px 0 10px; }
h2:first-child { margin-top:0; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px; }
dl.kv dt { color:var(--dim); }
dl.kv dd { margin:0; word-break:break-all; }
pre { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px; white-space:pre-wrap; word-break:break-all; margin:0; max-height:320px; overflow:auto; }
.status { margin:10px 0; min-height:20px; color:var(--dim); }
.status.err { color:var(--bad); }
.status.ok { color:var(--ok); }
.app { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:14px; }
.app h3 { margin:0 0 8px; font-size:14px; display:flex; gap:10px; align-items:center; }
.app h3 .dim { color:var(--dim); font-weight:400; }
ul.tree, ul.tree ul { list-style:none; margin:0; padding-left:22px; position:relative; }
ul.tree { padding-left:4px; }
ul.tree ul::before { content:""; position:absolute; left:8px; top:0; bottom:12px; border-left:1px solid var(--line); }
ul.tree li { position:relative; padding:3px 0; }
ul.tree ul > li::before { content:""; position:absolute; left:-14px; top:14px; width:12px; border-top:1px solid var(--line); }
.tnode { display:inline-flex; gap:8px; align-items:center; padding:2px 8px; border-radius:6px; border:1px solid var(--line); background:#111820; }
.tnode.supervisor { border-color:#2f5b80; }
.tnode .kind { font-size:11px; color:var(--dim); }
.tnode.restarted { border-color:var(--warn); animation: flash 1.5s ease-out 2; }
.tnode.down { border-color:var(--bad); color:var(--bad); }
.badge { font-size:11px; padding:1px 6px; border-radius:10px; background:#3a2f12; color:var(--warn); }
@keyframes flash { from { background:#4a3a10; } to { background:#111820; } }
.empty { color:var(--dim); padding:12px; }
`;

const SCRIPT = `
'use strict';
var VIEWS = ['overview', 'processes', 'applications', 'distribution'];
var state = { view: 'overview', pid: '', node: '', sort: 'reductions', dir: 'desc', filter: '', offset: 0, limit: 50, lastPids: {}, restarted: {}, history: [] };
var es = null;
var token = '';
(function () {
  var q = new URLSearchParams(location.search);
  token = q.get('token') || sessionStorage.getItem('observer-token') || '';
})();

function $(id) { return document.getElementById(id); }
function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'className') el.className = v;
    else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (var i = 2; i < arguments.length; i++) {
    var c = arguments[i];
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) c.forEach(function (x) { if (x) el.appendChild(x); });
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}
function bytes(n) {
  if (n === undefined || n === null) return '-';
  var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; var i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + u[i];
}
function int(n) { return n === undefined || n === null ? '-' : Math.round(n).toLocaleString('en-US'); }
function duration(ms) {
  var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + m + 'm ' + (s % 60) + 's';
}
function apiUrl(path, params) {
  var p = new URLSearchParams(params || {});
  if (state.node) p.set('node', state.node);
  if (token) p.set('token', token);
  return 'api/' + path + '?' + p.toString();
}
function pidLink(pid) {
  if (typeof pid !== 'string' || pid.indexOf('<0.') !== 0 || pid.indexOf(' @ ') >= 0) return h('span', { className: 'mono', text: pid });
  return h('a', { className: 'pid', href: '#process/' + pid, text: pid });
}
function setStatus(text, kind) { var s = $('action-status'); if (!s) return; s.textContent = text; s.className = 'status ' + (kind || ''); }

function readHash() {
  var hsh = decodeURIComponent(location.hash.replace(/^#/, ''));
  if (hsh.indexOf('process/') === 0) { state.view = 'process'; state.pid = hsh.slice(8); }
  else state.view = VIEWS.indexOf(hsh) >= 0 ? hsh : 'overview';
  document.querySelectorAll('nav a').forEach(function (a) { a.classList.toggle('active', a.getAttribute('data-view') === state.view); });
}

function streamParams() {
  var p = { view: state.view };
  if (state.view === 'processes') { p.sort = state.sort; p.dir = state.dir; p.filter = state.filter; p.offset = state.offset; p.limit = state.limit; }
  if (state.view === 'process') p.pid = state.pid;
  return p;
}

function connect() {
  if (es) es.close();
  $('live').className = ''; $('live').textContent = 'connecting';
  es = new EventSource(apiUrl('events', streamParams()));
  es.addEventListener('update', function (e) {
    $('live').className = 'on'; $('live').textContent = 'live';
    var msg = JSON.parse(e.data);
    render(msg);
  });
  es.addEventListener('problem', function (e) {
    var p = JSON.parse(e.data);
    showProblem(p.message);
  });
  es.onerror = function () {
    $('live').className = ''; $('live').textContent = 'reconnecting';
    if (es && es.readyState === EventSource.CLOSED) setTimeout(probe, 1000);
  };
}

/** Before streaming, and when a stream was refused: ask once with fetch to learn why. */
function probe() {
  fetch(apiUrl(state.view === 'process' ? 'process' : state.view === 'overview' ? 'overview' : state.view, streamParams())).then(function (r) {
    if (r.ok) { connect(); return; }
    return r.json().then(function (b) { showProblem(b.error || ('HTTP ' + r.status)); if (r.status >= 500) setTimeout(probe, 2000); });
  }).catch(function () { setTimeout(probe, 2000); });
}

function showProblem(text) {
  var m = $('main');
  m.textContent = '';
  m.appendChild(h('div', { className: 'status err', id: 'problem', text: text }));
}

function loadNodes() {
  return fetch(apiUrl('nodes')).then(function (r) { return r.ok ? r.json() : []; }).then(function (nodes) {
    var sel = $('node');
    var current = state.node || (nodes[0] && nodes[0].name) || '';
    sel.textContent = '';
    nodes.forEach(function (n) {
      sel.appendChild(h('option', { value: n.name, selected: n.name === current ? 'selected' : undefined, text: n.name + (n.local ? ' (this node)' : n.kind ? ' (' + n.kind + ')' : '') }));
    });
  }).catch(function () {});
}

function go() {
  readHash();
  if (state.view !== 'process') $('main').setAttribute('data-view', state.view);
  connect();
}

// ---------- views

function render(msg) {
  var m = $('main');
  if (msg.view !== state.view) return;
  document.title = msg.node + ' · Beamline observer';
  var fresh = m.getAttribute('data-rendered') !== msg.view + '|' + msg.node + '|' + state.pid;
  if (fresh) { m.textContent = ''; m.setAttribute('data-rendered', msg.view + '|' + msg.node + '|' + state.pid); }
  m.setAttribute('data-view', msg.view);
  if (msg.view === 'overview') renderOverview(m, msg.overview);
  else if (msg.view === 'processes') renderProcesses(m, msg.data, fresh);
  else if (msg.view === 'process') renderProcess(m, msg.data, fresh);
  else if (msg.view === 'applications') renderApplications(m, msg.data);
  else if (msg.view === 'distribution') renderDistribution(m, msg.data);
}

function spark(values, color) {
  var c = h('canvas', { className: 'spark', width: 200, height: 36 });
  var ctx = c.getContext('2d');
  var max = Math.max.apply(null, values.concat([1]));
  ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
  values.forEach(function (v, i) { var x = values.length < 2 ? 0 : i * 199 / (values.length - 1); var y = 34 - v / max * 32; if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
  ctx.stroke();
  return c;
}

function card(label, value, sub, extra) {
  return h('div', { className: 'card', 'data-card': label }, h('div', { className: 'label', text: label }), h('div', { className: 'value', text: value }), sub ? h('div', { className: 'sub', text: sub }) : null, extra);
}

function renderOverview(m, o) {
  state.history.push({ p: o.processes, r: o.messages ? o.messages.perSecond : 0, u: o.eventLoop ? o.eventLoop.utilization : 0 });
  if (state.history.length > 120) state.history.shift();
  var hist = state.history;
  var mem = o.memory;
  var memMain = mem.rss !== undefined ? mem.rss : mem.total;
  var memSub = Object.keys(mem).filter(function (k) { return k !== 'rss' && k !== 'total'; }).slice(0, 4).map(function (k) { return k + ' ' + bytes(mem[k]); }).join(' · ');
  var cards = [
    card('Processes', int(o.processes), o.kind === 'erlang' ? 'erlang:system_info(process_count)' : 'living processes', spark(hist.map(function (x) { return x.p; }), '#4fb3ff')),
    card('Memory', bytes(memMain), memSub),
    o.messages ? card('Messages / s', int(o.messages.perSecond), int(o.messages.total) + ' delivered', spark(hist.map(function (x) { return x.r; }), '#5cd08d')) : card('Reductions', int(o.reductions), 'statistics(reductions)'),
    o.eventLoop ? card('Event-loop delay', o.eventLoop.meanMs.toFixed(1) + ' ms', 'p99 ' + o.eventLoop.p99Ms.toFixed(1) + ' ms · max ' + o.eventLoop.maxMs.toFixed(1) + ' ms') : null,
    o.eventLoop ? card('Event-loop utilization', (o.eventLoop.utilization * 100).toFixed(1) + ' %', 'busy share of the last second', spark(hist.map(function (x) { return x.u; }), '#f0b541')) : null,
    card('Uptime', duration(o.uptimeMs), o.runtime),
    card('Connected nodes', String(o.connectedNodes.length), o.connectedNodes.join(', ') || 'none'),
  ];
  m.textContent = '';
  m.appendChild(h('h2', { text: 'Node ' + o.node + ' (' + o.kind + ')' }));
  m.appendChild(h('div', { className: 'cards', id: 'overview-cards' }, cards));
}

var COLUMNS = [['pid', 'Pid'], ['name', 'Name'], ['behavior', 'Behavior'], ['status', 'Status'], ['mailbox', 'Mailbox', 1], ['reductions', 'Reductions', 1], ['memory', 'Memory', 1]];

function renderProcesses(m, page, fresh) {
  if (fresh || !$('proc-table')) {
    var filter = h('input', { id: 'filter', type: 'search', placeholder: 'filter by pid, name or behavior', value: state.filter, size: 32 });
    var timer = null;
    filter.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.filter = filter.value; state.offset = 0; connect(); }, 250);
    });
    var limit = h('select', { id: 'limit' }, [25, 50, 100, 200].map(function (n) { return h('option', { value: n, selected: n === state.limit ? 'selected' : undefined, text: n + ' rows' }); }));
    limit.addEventListener('change', function () { state.limit = Number(limit.value); state.offset = 0; connect(); });
    var pager = h('div', { className: 'pager' },
      h('button', { id: 'prev', text: '‹ prev', onclick: function () { state.offset = Math.max(0, state.offset - state.limit); connect(); } }),
      h('span', { id: 'range' }),
      h('button', { id: 'next', text: 'next ›', onclick: function () { state.offset += state.limit; connect(); } }));
    var head = h('tr', null, COLUMNS.map(function (c) {
      return h('th', { className: 'sortable' + (c[2] ? ' num' : '') + (state.sort === c[0] ? ' sorted' : ''), 'data-sort': c[0], text: c[1] + (state.sort === c[0] ? (state.dir === 'asc' ? ' ▲' : ' ▼') : ''),
        onclick: function () {
          if (state.sort === c[0]) state.dir = state.dir === 'asc' ? 'desc' : 'asc';
          else { state.sort = c[0]; state.dir = c[2] ? 'desc' : 'asc'; }
          state.offset = 0; m.removeAttribute('data-rendered'); connect();
        } });
    }));
    m.appendChild(h('div', { className: 'toolbar' }, filter, limit, h('div', { className: 'spacer' }), pager));
    m.appendChild(h('table', { id: 'proc-table' }, h('thead', null, head), h('tbody', { id: 'proc-rows' })));
  }
  $('range').textContent = page.total === 0 ? 'no processes' : (page.offset + 1).toLocaleString('en-US') + '–' + Math.min(page.offset + page.rows.length, page.total).toLocaleString('en-US') + ' of ' + page.total.toLocaleString('en-US') + (page.total !== page.all ? ' (' + page.all.toLocaleString('en-US') + ' in all)' : '');
  $('prev').disabled = page.offset === 0;
  $('next').disabled = page.offset + page.limit >= page.total;
  var body = $('proc-rows');
  body.textContent = '';
  page.rows.forEach(function (r) {
    body.appendChild(h('tr', { 'data-pid': r.pid },
      h('td', null, pidLink(r.pid)), h('td', { text: r.name }), h('td', { text: r.behavior }), h('td', { text: r.status }),
      h('td', { className: 'num', text: int(r.mailbox) }), h('td', { className: 'num', text: int(r.reductions) }), h('td', { className: 'num', text: bytes(r.memory) })));
  });
}

function post(action, body) {
  if (!token) { setStatus('actions need the observer token: enter it above', 'err'); return Promise.resolve(); }
  if (state.node) body.node = state.node;
  setStatus(action + '…');
  return fetch('api/' + action, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body) })
    .then(function (r) { return r.json().then(function (b) { if (r.ok) setStatus(action + ': done', 'ok'); else setStatus(action + ' refused (' + r.status + '): ' + b.error, 'err'); return r.ok; }); })
    .catch(function (e) { setStatus(action + ' failed: ' + e.message, 'err'); });
}

function list(items) {
  if (!items || items.length === 0) return h('span', { className: 'dim', text: 'none' });
  var out = h('span');
  items.forEach(function (p, i) { if (i) out.appendChild(document.createTextNode(', ')); out.appendChild(pidLink(p)); });
  return out;
}

function loadState(pid) {
  var pre = $('server-state');
  if (!pre) return;
  fetch(apiUrl('state', { pid: pid })).then(function (r) { return r.json().then(function (b) { pre.textContent = r.ok ? (b.state === null ? b.reason : b.state) : b.error; }); }).catch(function (e) { pre.textContent = e.message; });
}

function renderProcess(m, p, fresh) {
  if (fresh || !$('proc-info')) {
    var reason = h('input', { id: 'kill-reason', value: 'kill', size: 12, 'aria-label': 'exit reason' });
    var secs = h('input', { id: 'trace-seconds', type: 'number', min: 1, max: 600, value: 10, style: 'width:70px', 'aria-label': 'seconds' });
    m.appendChild(h('h2', { id: 'proc-title', text: 'Process ' + p.pid + (p.name ? ' (' + p.name + ')' : '') }));
    m.appendChild(h('div', { className: 'toolbar' },
      h('button', { className: 'danger', id: 'kill', text: 'Kill', onclick: function () { post('kill', { pid: p.pid, reason: reason.value }); } }), h('span', { text: 'reason' }), reason,
      h('span', { className: 'spacer' }),
      h('button', { id: 'trace', text: 'Trace messages', onclick: function () { post('trace', { pid: p.pid, seconds: Number(secs.value) }); } }), h('span', { text: 'for' }), secs, h('span', { text: 's' })));
    m.appendChild(h('div', { className: 'status', id: 'action-status' }));
    m.appendChild(h('div', { className: 'grid2' }, h('dl', { className: 'kv', id: 'proc-info' }), h('div', null,
      h('h2', null, 'State ', h('button', { text: 'refresh', onclick: function () { loadState(p.pid); } })), h('pre', { id: 'server-state', text: p.behavior ? 'asking…' : 'not a Server' }),
      h('h2', { text: 'Traced messages' }), h('pre', { id: 'trace-log' }))));
    if (p.behavior) loadState(p.pid);
  }
  var dl = $('proc-info');
  dl.textContent = '';
  var rows = [['status', p.status], ['registered name', p.name || '-'], ['behavior', p.behavior || '-'], ['current function', p.currentFunction], ['mailbox', int(p.mailbox)], ['reductions', int(p.reductions)],
    ['memory', bytes(p.memory)], ['trap exit', p.trapExit === undefined ? undefined : String(p.trapExit)], ['hibernated', p.hibernated === undefined ? undefined : String(p.hibernated)],
    ['parent', p.parent ? pidLink(p.parent) : '-'], ['links', list(p.links_)], ['monitors', list(p.monitors)], ['monitored by', list(p.monitoredBy)]];
  rows.forEach(function (r) { if (r[1] === undefined) return; dl.appendChild(h('dt', { text: r[0] })); dl.appendChild(h('dd', { 'data-field': r[0] }, typeof r[1] === 'string' ? document.createTextNode(r[1]) : r[1])); });
  var log = $('trace-log');
  var tracing = p.trace.until > Date.now();
  log.textContent = (tracing ? 'tracing until ' + new Date(p.trace.until).toLocaleTimeString() + '\\n' : p.trace.messages.length ? 'trace ended\\n' : 'not traced: press "Trace messages"') +
    p.trace.messages.slice(-50).map(function (t) { return new Date(t.at).toLocaleTimeString() + '  ' + t.message; }).join('\\n');
}

function tree(node, path, pids) {
  var key = path + '/' + node.id;
  var prev = state.lastPids[key];
  if (prev && prev !== node.pid && node.pid.indexOf('<') === 0) state.restarted[key] = Date.now();
  pids[key] = node.pid;
  var recent = state.restarted[key] && Date.now() - state.restarted[key] < 10000;
  var down = node.pid.indexOf('<') !== 0;
  var label = h('span', { className: 'tnode ' + node.type + (recent ? ' restarted' : '') + (down ? ' down' : ''), 'data-id': node.id, 'data-pid': node.pid },
    h('strong', { text: node.id }), down ? h('span', { text: node.pid }) : pidLink(node.pid), h('span', { className: 'kind', text: node.type }), recent ? h('span', { className: 'badge', text: 'restarted' }) : null);
  return h('li', null, label, node.children && node.children.length ? h('ul', null, node.children.map(function (c) { return tree(c, key, pids); })) : null);
}

function renderApplications(m, apps) {
  m.textContent = '';
  m.appendChild(h('div', { className: 'status', id: 'action-status' }));
  if (!apps.length) m.appendChild(h('div', { className: 'empty', text: 'No applications running.' }));
  var pids = {};
  apps.forEach(function (a) {
    m.appendChild(h('div', { className: 'app', 'data-app': a.name },
      h('h3', null, a.name, h('span', { className: 'dim', text: a.version + (a.description ? ' · ' + a.description : '') }), h('span', { className: 'spacer' }),
        h('button', { className: 'danger', text: 'Stop', onclick: function () { if (confirm('Stop application ' + a.name + '?')) post('stop-application', { name: a.name }); } })),
      a.tree ? h('ul', { className: 'tree' }, tree(a.tree, a.name, pids)) : h('div', { className: 'empty', text: 'no supervision tree' })));
  });
  state.lastPids = pids;
}

function renderDistribution(m, d) {
  m.textContent = '';
  if (!d.distributed) { m.appendChild(h('div', { className: 'empty', text: 'This node is not distributed (start it with startNode).' })); return; }
  m.appendChild(h('h2', { text: 'Connections of ' + d.node + (d.listenPort ? ' (listening on port ' + d.listenPort + ')' : '') }));
  var t = h('table', { id: 'connections' }, h('thead', null, h('tr', null, ['Node', 'Bytes in', 'Bytes out', 'Messages in', 'Messages out', 'TLS'].map(function (x, i) { return h('th', { className: i ? 'num' : '', text: x }); }))));
  var b = h('tbody');
  d.connections.forEach(function (c) {
    b.appendChild(h('tr', { 'data-node': c.node }, h('td', { className: 'mono', text: c.node }), h('td', { className: 'num', text: bytes(c.bytesIn) }), h('td', { className: 'num', text: bytes(c.bytesOut) }),
      h('td', { className: 'num', text: int(c.messagesIn) }), h('td', { className: 'num', text: int(c.messagesOut) }), h('td', { className: 'num', text: c.tls ? 'yes' : 'no' })));
  });
  if (!d.connections.length) b.appendChild(h('tr', null, h('td', { colspan: 6, className: 'empty', text: 'no connections' })));
  t.appendChild(b);
  m.appendChild(t);
  m.appendChild(h('h2', { text: 'EPMD' + (d.epmd.port ? ' on port ' + d.epmd.port : '') + (d.epmd.embedded ? ' (embedded)' : '') }));
  if (d.epmd.error) m.appendChild(h('div', { className: 'status err', text: d.epmd.error }));
  m.appendChild(h('table', { id: 'epmd' }, h('thead', null, h('tr', null, h('th', { text: 'Name' }), h('th', { className: 'num', text: 'Port' }))),
    h('tbody', null, d.epmd.names.map(function (n) { return h('tr', null, h('td', { className: 'mono', text: n.name }), h('td', { className: 'num', text: n.port })); }))));
}

// ---------- start
document.addEventListener('DOMContentLoaded', function () {
  var tok = $('token');
  tok.value = token;
  tok.addEventListener('change', function () { token = tok.value.trim(); sessionStorage.setItem('observer-token', token); loadNodes(); connect(); });
  $('node').addEventListener('change', function () { state.node = $('node').value; state.offset = 0; state.history = []; state.lastPids = {}; location.hash = state.view === 'process' ? 'overview' : state.view; $('main').removeAttribute('data-rendered'); go(); });
  window.addEventListener('hashchange', go);
  setInterval(loadNodes, 5000);
  loadNodes().then(go);
});
`;

/** The observer page. */
export function observerPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beamline observer</title><link rel="icon" href="data:,">
<style>${STYLE}</style></head>
<body>
<header>
  <h1><span>◉</span> Beamline observer</h1>
  <select id="node" aria-label="node"></select>
  <nav>
    <a href="#overview" data-view="overview">Overview</a>
    <a href="#processes" data-view="processes">Processes</a>
    <a href="#applications" data-view="applications">Applications</a>
    <a href="#distribution" data-view="distribution">Distribution</a>
  </nav>
  <span class="spacer"></span>
  <input id="token" type="password" placeholder="token (for actions)" size="18" aria-label="token" autocomplete="off">
  <span id="live">connecting</span>
</header>
<main id="main"></main>
<script>${SCRIPT}</script>
</body></html>
`;
}
