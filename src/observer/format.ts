/**
 * Observer formatting: pids to and from their `<0.X.Y>` text, terms as short
 * readable text, and kill reasons typed by a user.
 * @module
 */
import { inspect } from 'node:util';
import { type Atom, atom } from '../terms/atom.js';
import { Pid } from '../terms/identifiers.js';
import { ObserverRequestError } from './errors.js';

const PID_TEXT = /^<(\d{1,10})\.(\d{1,10})\.(\d{1,10})>$/;

/** `<0.42.0>` for a pid of the viewed node. */
export function pidText(pid: Pid): string {
  return `<0.${pid.id}.${pid.serial}>`;
}

/** Parses `<0.X.Y>` into id and serial; throws a 400 for anything else. */
export function parsePidText(text: string): { id: number; serial: number } {
  const m = PID_TEXT.exec(text);
  if (m === null) throw new ObserverRequestError(400, `malformed pid ${JSON.stringify(text.slice(0, 40))}: expected <0.X.Y>`);
  const id = Number(m[2]);
  const serial = Number(m[3]);
  if (m[1] !== '0' || id >= 2 ** 32 || serial >= 2 ** 32) throw new ObserverRequestError(400, `malformed pid ${text}: expected <0.X.Y> with X, Y below 2^32`);
  return { id, serial };
}

/** The pid `<0.X.Y>` on `node` with `creation`. */
export function pidOn(node: Atom, creation: number, text: string): Pid {
  const { id, serial } = parsePidText(text);
  return new Pid(node, id, serial, creation);
}

/** A term as one line of text, at most `max` characters. */
export function termText(term: unknown, max = 2000): string {
  const s = typeof term === 'string' ? JSON.stringify(term) : inspect(term, { depth: 6, breakLength: Infinity, maxArrayLength: 50, maxStringLength: 500, compact: true });
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const ATOM_TEXT = /^[a-z][a-zA-Z0-9_@]{0,254}$/;

/** A reason typed by a user: an atom when it reads like one (`kill`, `shutdown`, `normal`), a string otherwise. */
export function parseReason(text: string): Atom | string {
  if (text.length === 0) throw new ObserverRequestError(400, 'the reason is empty');
  if (text.length > 1000) throw new ObserverRequestError(400, 'the reason is longer than 1000 characters');
  return ATOM_TEXT.test(text) ? atom(text) : text;
}
