/**
 * Turns stored Erlang terms into JSON for the HTTP API: tuples become
 * arrays, atoms their names, big integers strings, binaries base64,
 * structural maps objects keyed by the key's printed form.
 * @module
 */
import { Atom, Pid, Ref, Tuple } from '../../src/index.js';
import { Charlist, ErlMap } from '../../src/etf/index.js';

export function toJson(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Atom) return value.name;
  if (value instanceof Tuple) return value.elements.map(toJson);
  if (value instanceof Charlist) return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Pid || value instanceof Ref) return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof ErlMap || value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[typeof k === 'string' ? k : String(toJson(k))] = toJson(v);
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return String(value);
}
