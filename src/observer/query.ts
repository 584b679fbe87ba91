/**
 * Observer requests: reading and checking the query parameters and JSON
 * bodies the page sends. Anything malformed is an {@link ObserverRequestError} 400.
 * @module
 */
import { ObserverRequestError } from './errors.js';
import { SORT_KEYS, type ProcessQuery, type SortKey } from './views.js';

/** Most rows a page may ask for. */
export const MAX_LIMIT = 500;

function integer(params: URLSearchParams, key: string, fallback: number, min: number, max: number): number {
  const raw = params.get(key);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new ObserverRequestError(400, `${key} must be an integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ObserverRequestError(400, `${key} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** The process table query in `params` (`sort`, `dir`, `filter`, `offset`, `limit`). */
export function processQuery(params: URLSearchParams): ProcessQuery {
  const sort = params.get('sort') ?? 'pid';
  if (!(SORT_KEYS as readonly string[]).includes(sort)) throw new ObserverRequestError(400, `sort must be one of ${SORT_KEYS.join(', ')}, got ${JSON.stringify(sort.slice(0, 40))}`);
  const dir = params.get('dir') ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc') throw new ObserverRequestError(400, `dir must be asc or desc, got ${JSON.stringify(dir.slice(0, 40))}`);
  const filter = params.get('filter') ?? '';
  if (filter.length > 200) throw new ObserverRequestError(400, 'filter is longer than 200 characters');
  return { sort: sort as SortKey, dir, filter, offset: integer(params, 'offset', 0, 0, 1e9), limit: integer(params, 'limit', 50, 1, MAX_LIMIT) };
}

/** A process table query received as JSON (from a remote observer): checked like the query parameters. */
export function processQueryFromJson(value: unknown): ProcessQuery {
  if (typeof value !== 'object' || value === null) throw new ObserverRequestError(400, 'the query must be an object');
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number') params.set(k, String(v));
  return processQuery(params);
}

/** A required string parameter. */
export function required(params: URLSearchParams, key: string): string {
  const v = params.get(key);
  if (v === null || v === '') throw new ObserverRequestError(400, `missing the ${key} parameter`);
  return v;
}

/** The JSON object body of an action. */
export function jsonBody(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ObserverRequestError(400, 'the body must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ObserverRequestError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A string field of an action body. */
export function field(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new ObserverRequestError(400, `the body needs a non-empty string ${key}`);
  return v;
}

/** Trace duration in seconds: an integer in 1..max. */
export function seconds(body: Record<string, unknown>, max: number): number {
  const v = body['seconds'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new ObserverRequestError(400, `seconds must be an integer from 1 to ${max}`);
  return v;
}
