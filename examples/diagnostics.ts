// Run: npx tsc -p . && node build/examples/diagnostics.js
/**
 * Example: forward Beamline's `node:diagnostics_channel` events to
 * OpenTelemetry-style spans. The tracer here is a plain object with the shape
 * of OpenTelemetry's API (`startSpan`, `setAttribute`, `addEvent`,
 * `setStatus`, `end`), so the same subscriber code works with
 * `trace.getTracer('beamline')` from `@opentelemetry/api`; this example
 * needs no dependency and prints the finished spans.
 *
 * Calls become spans (start to end, error status on failure), processes
 * become spans from spawn to exit, and supervisor restarts and connection
 * changes become span events.
 * @module
 */
import { subscribe } from 'node:diagnostics_channel';
import {
  type Atom,
  atom,
  type CallEvent,
  diagnosticChannels,
  type ExitEvent,
  formatReason,
  isAtom,
  Node,
  ok,
  type Pid,
  reply,
  type RestartEvent,
  type ServerBehavior,
  serverStart,
  type SpawnEvent,
  startSupervisor,
} from '../src/index.js';

// ---- A minimal OpenTelemetry-shaped tracer (plain objects, no dependency).
type Attributes = Record<string, string | number | boolean>;
interface Span {
  setAttribute(key: string, value: string | number | boolean): Span;
  addEvent(name: string, attributes?: Attributes): Span;
  setStatus(status: { code: 'OK' | 'ERROR'; message?: string }): Span;
  end(): void;
}
interface Tracer {
  startSpan(name: string, options?: { attributes?: Attributes }): Span;
}

function printingTracer(): Tracer {
  return {
    startSpan(name, options) {
      const started = performance.now();
      const attributes: Attributes = { ...(options?.attributes ?? {}) };
      const events: string[] = [];
      let status = 'UNSET';
      const span: Span = {
        setAttribute: (k, v) => ((attributes[k] = v), span),
        addEvent: (n, a) => (events.push(a === undefined ? n : `${n} ${JSON.stringify(a)}`), span),
        setStatus: (s) => ((status = s.message === undefined ? s.code : `${s.code} ${s.message}`), span),
        end: () => {
          const ms = (performance.now() - started).toFixed(2);
          console.log(`span ${name} ${ms} ms [${status}] ${JSON.stringify(attributes)}${events.length > 0 ? ` events: ${events.join('; ')}` : ''}`);
        },
      };
      return span;
    },
  };
}

// ---- The bridge: channels to spans.
function forwardToSpans(tracer: Tracer): void {
  const calls = new WeakMap<CallEvent, Span>();
  const processes = new Map<string, Span>();
  const key = (pid: Pid): string => pid.toString();

  subscribe(diagnosticChannels.callStart, (m) => {
    const e = m as CallEvent;
    calls.set(e, tracer.startSpan('beamline.call', { attributes: { 'beamline.caller': String(e.caller), 'beamline.target': formatReason(e.target), 'beamline.request': formatReason(e.request) } }));
  });
  subscribe(diagnosticChannels.callEnd, (m) => {
    const e = m as CallEvent;
    const span = calls.get(e);
    if (span === undefined) return;
    if (e.error === undefined) span.setStatus({ code: 'OK' });
    else span.setStatus({ code: 'ERROR', message: e.error.message });
    span.end();
  });
  subscribe(diagnosticChannels.spawn, (m) => {
    const e = m as SpawnEvent;
    const attributes: Attributes = { 'beamline.pid': String(e.pid) };
    if (e.name !== undefined) attributes['beamline.name'] = e.name.name;
    if (e.behavior !== undefined) attributes['beamline.behavior'] = e.behavior;
    processes.set(key(e.pid), tracer.startSpan('beamline.process', { attributes }));
  });
  subscribe(diagnosticChannels.exit, (m) => {
    const e = m as ExitEvent;
    const span = processes.get(key(e.pid));
    if (span === undefined) return;
    processes.delete(key(e.pid));
    const reason = formatReason(e.reason);
    span.setAttribute('beamline.exit_reason', reason);
    span.setStatus(reason === 'normal' || reason === 'shutdown' ? { code: 'OK' } : { code: 'ERROR', message: reason });
    span.end();
  });
  subscribe(diagnosticChannels.restart, (m) => {
    const e = m as RestartEvent;
    processes.get(key(e.supervisor))?.addEvent('restart', { child: e.childId, reason: formatReason(e.reason) });
  });
}

// ---- A small system to trace: a supervised counter that crashes once.
forwardToSpans(printingTracer());

type Counter = { call: [Atom<'get'>, number] | [Atom<'crash'>, never] };
const counter: ServerBehavior<Counter, number> = {
  init: () => ok(0),
  handleCall(request, _from, n) {
    if (isAtom(request, 'get')) return reply(request, n, n);
    throw new Error('crash on purpose');
  },
};

console.log('tracing a supervisor, a counter, its calls and a restart:');
const node = new Node({ name: 'diagnostics@127.0.0.1', logger: () => {} });
await startSupervisor(node, { strategy: 'one_for_one', children: [{ id: 'counter', start: serverStart(counter, undefined, { name: 'counter' }) }] });
await node.call('counter', atom('get'));
await node.call('counter', atom('crash')).catch(() => {});
await node.call('counter', atom('get'));
await node.stop();
console.log('node stopped: every span above has ended');
