/**
 * Parsers for recorded histories: Jepsen's etcd register logs and the
 * key-value logs of Porcupine's test set (see ../shared/histories/README.md).
 * Lines of other shapes are skipped.
 * @module
 */
import { type Operation, unknown, type Unknown } from './linearizability.js';
import type { KvInput, KvOutput, RegisterInput, RegisterOutput } from './models.js';

/** A history file that cannot be parsed (a completion without its invoke, a malformed value). */
export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
}

interface Open<I> {
  readonly input: I;
  readonly call: number;
}

/** Operations whose outcome is unknown return after everything else, in call order. */
function closeOpen<I, O>(ops: Operation<I, O>[], open: Map<number, Open<I>>, after: number): void {
  let t = after;
  for (const [client, o] of [...open].sort((a, b) => a[1].call - b[1].call)) ops.push({ client, input: o.input, output: unknown, call: o.call, ret: ++t });
}

const jepsenLine = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;

/** Parses a Jepsen etcd log (`INFO jepsen.util - P :TYPE :F VALUE`) into register operations. */
export function parseJepsenRegister(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const ops: Operation<RegisterInput, RegisterOutput>[] = [];
  const open = new Map<number, Open<RegisterInput>>();
  const lines = text.split('\n');
  let time = 0;
  for (const line of lines) {
    const m = jepsenLine.exec(line);
    if (m === null) continue;
    time++;
    const client = Number(m[1]);
    const type = m[2]!;
    const f = m[3]!;
    const value = m[4]!;
    if (type === 'invoke') {
      if (open.has(client)) throw new HistoryFormatError(`line ${time}: process ${client} invokes while an operation is open`);
      open.set(client, { input: registerInput(f, value, time), call: time });
      continue;
    }
    const o = open.get(client);
    if (o === undefined) throw new HistoryFormatError(`line ${time}: process ${client} completes :${f} without an invoke`);
    if (o.input.f !== f) throw new HistoryFormatError(`line ${time}: process ${client} completes :${f} but invoked :${o.input.f}`);
    if (type === 'info') continue; // unknown outcome: stays open to the end
    open.delete(client);
    if (type === 'fail') {
      // A failed read or write had no effect; a failed cas ran and found another value.
      if (o.input.f === 'cas') ops.push({ client, input: o.input, output: false, call: o.call, ret: time });
      continue;
    }
    const output: RegisterOutput | Unknown = o.input.f === 'read' ? registerValue(value, time) : o.input.f === 'cas' ? true : null;
    ops.push({ client, input: o.input, output, call: o.call, ret: time });
  }
  closeOpen(ops, open, time);
  return ops;
}

function registerValue(v: string, line: number): string | null {
  if (v === 'nil') return null;
  if (!/^-?\d+$/.test(v)) throw new HistoryFormatError(`line ${line}: bad register value ${v}`);
  return v;
}

function registerInput(f: string, value: string, line: number): RegisterInput {
  if (f === 'read') return { f: 'read' };
  if (f === 'write') return { f: 'write', value: registerValue(value, line) ?? 'nil' };
  const m = /^\[(-?\d+)\s+(-?\d+)\]$/.exec(value);
  if (m === null) throw new HistoryFormatError(`line ${line}: bad cas value ${value}`);
  return { f: 'cas', from: m[1]!, to: m[2]! };
}

const kvLine = /^\{:process (\d+), :type :(invoke|ok|fail|info), :f :(get|put|append), :key "((?:[^"\\]|\\.)*)", :value (nil|"((?:[^"\\]|\\.)*)")\}\s*$/;

/** Parses a key-value log (`{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`). */
export function parseKv(text: string): Operation<KvInput, KvOutput>[] {
  const ops: Operation<KvInput, KvOutput>[] = [];
  const open = new Map<number, Open<KvInput>>();
  let time = 0;
  for (const line of text.split('\n')) {
    const m = kvLine.exec(line);
    if (m === null) continue;
    time++;
    const client = Number(m[1]);
    const type = m[2]!;
    const f = m[3] as KvInput['f'];
    const key = unescape(m[4]!);
    const value = m[5] === 'nil' ? null : unescape(m[6]!);
    if (type === 'invoke') {
      if (open.has(client)) throw new HistoryFormatError(`line ${time}: process ${client} invokes while an operation is open`);
      const input: KvInput = f === 'get' ? { f, key } : { f, key, value: value ?? '' };
      open.set(client, { input, call: time });
      continue;
    }
    const o = open.get(client);
    if (o === undefined) throw new HistoryFormatError(`line ${time}: process ${client} completes :${f} without an invoke`);
    if (type === 'info') continue;
    open.delete(client);
    if (type === 'fail') continue;
    ops.push({ client, input: o.input, output: o.input.f === 'get' ? (value ?? '') : null, call: o.call, ret: time });
  }
  closeOpen(ops, open, time);
  return ops;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
