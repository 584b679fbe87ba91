/**
 * Helpers shared by the codec's tests: a parser for the OTP test-vector
 * files, a strict structural equality for decoded values (Node's
 * deepStrictEqual cannot see ErlMap's private entries) and the reference
 * bytes of atoms and binaries. Not exported by the package.
 * @module
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Atom } from '../terms/atom.js';
import { Tuple } from '../terms/tuple.js';
import { Pid, Port, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Float } from './float.js';
import { Charlist } from './charlist.js';
import { BitString } from './bit-string.js';
import { ErlMap } from './erl-map.js';
import { ExportFun, Fun } from './funs.js';
import { Decoder } from './decoder.js';
import { EtfDecodeError } from './errors.js';
import assert from 'node:assert/strict';

/** The UTF-8 atom bytes of `name` (SMALL_ATOM_UTF8_EXT, or ATOM_UTF8_EXT past 255 bytes), as OTP writes them on a connection. */
export function atomBytes(name: string): number[] {
  const text = Buffer.from(name, 'utf8');
  return text.length <= 255 ? [119, text.length, ...text] : [118, text.length >> 8, text.length & 0xff, ...text];
}

/** BINARY_EXT bytes of a string: its UTF-8 (a lone surrogate becomes U+FFFD, as `Buffer.from` makes it). */
export function binBytes(s: string): number[] {
  const text = Buffer.from(s, 'utf8');
  const n = text.length;
  return [109, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...text];
}

/** One case of etf_vectors.txt. */
export interface Vector {
  title: string;
  opts: string;
  bytes: Buffer;
  tag: number;
  value: string;
}

/** The fixtures directory (src/etf/fixtures), found from build/src/etf or src/etf. */
export function fixturePath(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'fixtures', name), join(here, '..', '..', '..', 'src', 'etf', 'fixtures', name)]) {
    if (existsSync(p)) return p;
  }
  throw new Error(`fixture ${name} not found`);
}

/** Parses etf_vectors.txt. */
export function loadVectors(): Vector[] {
  const text = readFileSync(fixturePath('etf_vectors.txt'), 'utf8');
  const out: Vector[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => !l.startsWith('# ') && l.trim() !== '');
    const hexLine = lines.find((l) => l.startsWith('  hex: '));
    if (hexLine === undefined) continue;
    const title = lines[0] as string;
    const opts = /opts=(\[.*\])\s*$/.exec(title)?.[1] ?? '';
    const tag = Number(/tag: (\d+)/.exec(block)?.[1]);
    const value = block.slice(block.indexOf('  value: ') + 9).trim();
    out.push({ title: title.replace(/\s*opts=\[.*\]\s*$/, ''), opts, bytes: Buffer.from(hexLine.slice(7).trim(), 'hex'), tag, value });
  }
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Strict structural equality of decoded values: same JS types, same content. */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== typeof b || typeof a !== 'object' || a === null || b === null) return false;
  const x = a as object;
  const y = b as object;
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
  if (Array.isArray(x)) {
    const ya = y as unknown[];
    return x.length === ya.length && x.every((v, i) => same(v, ya[i]));
  }
  if (x instanceof Uint8Array) return bytesEqual(x, y as Uint8Array);
  if (x instanceof Tuple) return same(x.elements, (y as Tuple).elements);
  if (x instanceof Float) return Object.is(x.value, (y as Float).value);
  if (x instanceof Charlist) return x.value === (y as Charlist).value;
  if (x instanceof BitString) return x.equals(y);
  if (x instanceof ImproperList) return same(x.items, (y as ImproperList).items) && same(x.tail, (y as ImproperList).tail);
  if (x instanceof Pid || x instanceof Ref || x instanceof Port || x instanceof ExportFun) return x.equals(y);
  if (x instanceof Atom) return false;
  if (x instanceof Fun) {
    const g = y as Fun;
    return (
      x.arity === g.arity && bytesEqual(x.uniq, g.uniq) && x.index === g.index && x.module === g.module &&
      x.oldIndex === g.oldIndex && x.oldUniq === g.oldUniq && x.pid.equals(g.pid) && same(x.freeVars, g.freeVars)
    );
  }
  if (x instanceof Map || x instanceof ErlMap) {
    const ym = y as Map<unknown, unknown> | ErlMap;
    if (x.size !== ym.size) return false;
    const ea = [...x.entries()];
    const eb = [...ym.entries()];
    return ea.every(([k, v], i) => same(k, eb[i]?.[0]) && same(v, eb[i]?.[1]));
  }
  if (x instanceof Date) return x.getTime() === (y as Date).getTime();
  if (x instanceof Error) {
    const ye = y as Error;
    if (x.message !== ye.message || x.name !== ye.name || x.stack !== ye.stack) return false;
    if (('cause' in x) !== ('cause' in ye) || !same((x as { cause?: unknown }).cause, (ye as { cause?: unknown }).cause)) return false;
  }
  const ka = Object.keys(x);
  const kb = Object.keys(y);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]));
}

/** How `f` fails: `code@offset` of the EtfDecodeError it throws (any other error fails the test), or `no error`. */
export function decodeFailure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EtfDecodeError);
    return `${e.code}@${e.offset}`;
  }
  return 'no error';
}

/**
 * Every cut of `bytes` (a whole term) fails in `decode`, with the same code
 * and offset as in a decoder that never predicts map shapes (`maps: 'erlmap'`).
 */
export function assertCutsFailAsUnpredicted(bytes: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  const erlmaps = new Decoder({ maps: 'erlmap' });
  for (let cut = 1; cut < bytes.length; cut++) {
    const part = bytes.subarray(0, cut);
    const got = decodeFailure(() => decode(part));
    assert.notEqual(got, 'no error', `cut at ${cut}`);
    assert.equal(got, decodeFailure(() => erlmaps.decode(part)), `cut at ${cut}`);
  }
}
