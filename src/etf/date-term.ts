/**
 * How a JavaScript `Date` travels as an Erlang term: as the Elixir struct
 * `%DateTime{}` in UTC with millisecond precision, which an Elixir node
 * uses directly (`DateTime.to_iso8601/1` works on it):
 *
 * ```elixir
 * %DateTime{calendar: Calendar.ISO, year: 2024, month: 5, day: 1, hour: 12,
 *           minute: 0, second: 0, microsecond: {123000, 3}, time_zone: "Etc/UTC",
 *           zone_abbr: "UTC", utc_offset: 0, std_offset: 0}
 * ```
 *
 * Decoding turns a DateTime back into a `Date` only when that loses nothing
 * (UTC, ISO calendar, precision 3, whole milliseconds); any other DateTime
 * stays a plain object, so it re-encodes exactly. An invalid Date cannot be
 * encoded.
 * @module
 */
import { Atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';

/** The `__struct__` of an encoded Date. */
export const DATETIME_STRUCT = Atom.of('Elixir.DateTime');
const ISO = Atom.of('Elixir.Calendar.ISO');

/** The DateTime struct fields of a valid `date` (with `__struct__` first), or undefined for an invalid Date. */
export function dateToFields(date: Date): Record<string, unknown> | undefined {
  const t = date.getTime();
  if (!Number.isFinite(t)) return undefined;
  return {
    __struct__: DATETIME_STRUCT,
    calendar: ISO,
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    microsecond: new Tuple([date.getUTCMilliseconds() * 1000, 3]),
    time_zone: 'Etc/UTC',
    zone_abbr: 'UTC',
    utc_offset: 0,
    std_offset: 0,
  };
}

const dateKeys = 13;

/** A Date for DateTime fields when the conversion is exact, else undefined. */
export function fieldsToDate(f: Record<string, unknown>): Date | undefined {
  if (Object.keys(f).length !== dateKeys) return undefined;
  const us = f['microsecond'];
  if (
    f['calendar'] !== ISO ||
    f['time_zone'] !== 'Etc/UTC' ||
    f['zone_abbr'] !== 'UTC' ||
    f['utc_offset'] !== 0 ||
    f['std_offset'] !== 0 ||
    !(us instanceof Tuple) ||
    us.size !== 2 ||
    us.elements[1] !== 3 ||
    typeof us.elements[0] !== 'number' ||
    us.elements[0] % 1000 !== 0
  ) {
    return undefined;
  }
  const parts = ['year', 'month', 'day', 'hour', 'minute', 'second'].map((k) => f[k]);
  if (!parts.every((p) => typeof p === 'number' && Number.isInteger(p))) return undefined;
  const [y, mo, d, h, mi, s] = parts as [number, number, number, number, number, number];
  const ms = us.elements[0] / 1000;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0 || ms > 999) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  return Number.isFinite(date.getTime()) ? date : undefined;
}
