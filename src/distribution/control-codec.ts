/**
 * The hot path of control messages: their tuples written and read straight
 * from the bytes, without building a Tuple or going through the generic ETF
 * codec. Every control message of sends, calls and monitors (SEND,
 * SEND_SENDER, REG_SEND, ALIAS_SEND, ALTACT_SIG_SEND, MONITOR_P,
 * DEMONITOR_P...) is a small tuple of small integers, atoms, pids and
 * references; those are what this module handles. Anything else (a trace
 * token, an exit reason inside the tuple, an inline atom...) goes through
 * the generic codec, which also reports malformed terms. The envelopes of a
 * call's request and reply ({@link writeMessage}) are written here too.
 * @module
 */
import type { Encoder } from '../etf/encoder.js';
import type { EtfWriter } from '../etf/writer.js';
import { Tag } from '../etf/tags.js';
import { Atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { ImproperList } from '../terms/improper-list.js';
import { Tuple } from '../terms/tuple.js';

/** Largest control tuple {@link ControlDecoder} reads (SPAWN_REQUEST has 6 elements). */
const MAX_ARITY = 6;
/** Decoded pids kept for reuse: the same few remote processes appear in frame after frame. */
const PID_CACHE = 8;
/**
 * Recent 3-word references the control reader returns again when their bytes come back: a remote
 * caller's `DEMONITOR_P` names the ref of its `MONITOR_P`, a few frames earlier (8 callers: 8 other
 * monitors in between), so the demonitor allocates no Ref.
 */
const REF_CACHE = 16;

const isU32 = (v: number): boolean => v >>> 0 === v;

/** Writes one control element: a small integer, atom, pid or reference directly; anything else through `enc`. */
function writeElement(enc: Encoder, w: EtfWriter, v: unknown): void {
  if (typeof v === 'number') {
    if (v >= 0 && v <= 255 && (v | 0) === v) {
      w.u8(Tag.SMALL_INTEGER);
      w.u8(v);
      return;
    }
  } else if (v instanceof Pid) {
    if (isU32(v.id) && isU32(v.serial) && isU32(v.creation)) {
      w.u8(Tag.NEW_PID);
      enc.writeAtom(w, v.node);
      w.u32(v.id);
      w.u32(v.serial);
      w.u32(v.creation);
      return;
    }
  } else if (v instanceof Ref) {
    const ids = v.ids;
    const n = ids.length;
    let ok = n >= 1 && n <= 5 && isU32(v.creation);
    for (let i = 0; ok && i < n; i++) ok = isU32(ids[i] as number);
    if (ok) {
      w.u8(Tag.NEWER_REFERENCE);
      w.u16(n);
      enc.writeAtom(w, v.node);
      w.u32(v.creation);
      for (let i = 0; i < n; i++) w.u32(ids[i] as number);
      return;
    }
  } else if (v instanceof Atom) {
    enc.writeAtom(w, v);
    return;
  }
  enc.writeTerm(w, v); // other values, and the out-of-range ones above (which it refuses with a typed error)
}

/**
 * Writes the control tuple `{Op, E1[, E2[, E3]]}` (`arity` 2 to 4) with `enc`
 * (normally the connection's atom-caching encoder). The same bytes as the
 * generic encoder writes for `tuple(op, e1, e2, e3)`.
 */
export function writeControl(enc: Encoder, w: EtfWriter, arity: number, op: number, e1: unknown, e2: unknown, e3: unknown): void {
  w.u8(Tag.SMALL_TUPLE);
  w.u8(arity);
  writeElement(enc, w, op);
  writeElement(enc, w, e1);
  if (arity > 2) writeElement(enc, w, e2);
  if (arity > 3) writeElement(enc, w, e3);
}

/** `[Atom | Ref]`: a call's tag (`[alias | Ref]`). */
function isAliasTag(v: unknown): v is ImproperList<Atom, Ref> {
  return v instanceof ImproperList && v.items.length === 1 && v.items[0] instanceof Atom && v.tail instanceof Ref;
}

/** Writes the call tag `[alias | Ref]`: a one-element list whose tail is the ref. */
function writeAliasTag(enc: Encoder, w: EtfWriter, tag: ImproperList<Atom, Ref>): void {
  w.tagU32(Tag.LIST, 1);
  enc.writeAtom(w, tag.items[0] as Atom);
  writeElement(enc, w, tag.tail);
}

/**
 * Writes a message term with `enc`: the same bytes as `enc.writeTerm(w, m)`.
 * The envelopes of a call, the request `{'$gen_call', {Pid, [alias | Ref]}, Request}`
 * and the reply `{[alias | Ref], Reply}`, are written here directly; only
 * Request and Reply go through the generic encoder.
 */
export function writeMessage(enc: Encoder, w: EtfWriter, m: unknown): void {
  if (m instanceof Tuple) {
    const e = m.elements;
    if (e.length === 2) {
      const tag = e[0];
      if (isAliasTag(tag)) {
        w.u8(Tag.SMALL_TUPLE);
        w.u8(2);
        writeAliasTag(enc, w, tag);
        enc.writeTerm(w, e[1]);
        return;
      }
    } else if (e.length === 3 && e[0] instanceof Atom) {
      const from = e[1];
      if (from instanceof Tuple && from.elements.length === 2) {
        const [pid, tag] = from.elements;
        if (pid instanceof Pid && isAliasTag(tag)) {
          w.u8(Tag.SMALL_TUPLE);
          w.u8(3);
          enc.writeAtom(w, e[0]);
          w.u8(Tag.SMALL_TUPLE);
          w.u8(2);
          writeElement(enc, w, pid);
          writeAliasTag(enc, w, tag);
          enc.writeTerm(w, e[2]);
          return;
        }
      }
    }
  }
  enc.writeTerm(w, m);
}

/**
 * Reads control tuples made only of small integers, integers, atom cache
 * refs, pids and references (with their node as an atom cache ref) straight
 * from a frame. One per connection side; the elements it returns are valid
 * until its next read.
 */
export class ControlDecoder {
  /** The elements of the tuple last read (`elements[0]` is the opcode). */
  readonly elements: unknown[] = new Array<unknown>(MAX_ARITY).fill(undefined);
  /** Offset just after the tuple last read: where the message term starts, if any. */
  end = 0;
  /** Where the bytes of the last reference read start and end. */
  refStart = 0;
  refEnd = 0;
  private readonly pids: (Pid | undefined)[] = new Array<Pid | undefined>(PID_CACHE).fill(undefined);
  private nextPid = 0;
  private readonly refs: (Ref | undefined)[] = new Array<Ref | undefined>(REF_CACHE).fill(undefined);
  private nextRef = 0;

  /**
   * Reads the control tuple at `pos` of a `131,68` frame whose atom cache
   * refs are `atoms`. Returns its arity, or -1 when it holds anything else
   * (or is malformed): then decode it with the generic decoder, which
   * reports what is wrong.
   */
  read(b: Uint8Array, pos: number, atoms: readonly Atom[]): number {
    const len = b.length;
    if (pos + 2 > len || b[pos] !== Tag.SMALL_TUPLE) return -1;
    const arity = b[pos + 1] as number;
    if (arity < 1 || arity > MAX_ARITY) return -1;
    pos += 2;
    const el = this.elements;
    for (let i = 0; i < arity; i++) {
      if (pos >= len) return -1;
      switch (b[pos]) {
        case Tag.SMALL_INTEGER:
          if (pos + 2 > len) return -1;
          el[i] = b[pos + 1];
          pos += 2;
          break;
        case Tag.INTEGER:
          if (pos + 5 > len) return -1;
          el[i] = ((b[pos + 1] as number) << 24) | ((b[pos + 2] as number) << 16) | ((b[pos + 3] as number) << 8) | (b[pos + 4] as number);
          pos += 5;
          break;
        case Tag.ATOM_CACHE_REF: {
          if (pos + 2 > len) return -1;
          const a = atoms[b[pos + 1] as number];
          if (a === undefined) return -1;
          el[i] = a;
          pos += 2;
          break;
        }
        case Tag.NEW_PID: {
          // 88, node (ATOM_CACHE_REF i), id, serial, creation
          if (pos + 15 > len || b[pos + 1] !== Tag.ATOM_CACHE_REF) return -1;
          const node = atoms[b[pos + 2] as number];
          if (node === undefined) return -1;
          el[i] = this.pid(node, u32(b, pos + 3), u32(b, pos + 7), u32(b, pos + 11));
          pos += 15;
          break;
        }
        case Tag.NEWER_REFERENCE: {
          // 90, word count (u16), node (ATOM_CACHE_REF i), creation, words
          if (pos + 5 > len) return -1;
          const n = ((b[pos + 1] as number) << 8) | (b[pos + 2] as number);
          if (n < 1 || n > 5 || pos + 9 + 4 * n > len || b[pos + 3] !== Tag.ATOM_CACHE_REF) return -1;
          const node = atoms[b[pos + 4] as number];
          if (node === undefined) return -1;
          const creation = u32(b, pos + 5);
          if (n === 3) el[i] = this.ref3(node, creation, u32(b, pos + 9), u32(b, pos + 13), u32(b, pos + 17)); // every ref Erlang and Beamline make
          else {
            const ids = new Array<number>(n);
            for (let k = 0; k < n; k++) ids[k] = u32(b, pos + 9 + 4 * k);
            el[i] = new Ref(node, creation, ids);
          }
          this.refStart = pos;
          pos += 9 + 4 * n;
          this.refEnd = pos;
          break;
        }
        default:
          return -1;
      }
    }
    this.end = pos;
    return arity;
  }

  /** A 3-word ref with these fields: the same object as last time when it was seen lately (refs are immutable). */
  private ref3(node: Atom, creation: number, id0: number, id1: number, id2: number): Ref {
    const cache = this.refs;
    for (let i = 0; i < REF_CACHE; i++) {
      const r = cache[i];
      if (r !== undefined) {
        const ids = r.ids;
        if (ids[0] === id0 && ids[1] === id1 && ids[2] === id2 && r.node === node && r.creation === creation) return r;
      }
    }
    const r = new Ref(node, creation, [id0, id1, id2]);
    cache[this.nextRef] = r;
    this.nextRef = (this.nextRef + 1) & (REF_CACHE - 1);
    return r;
  }

  /** A pid with these fields: the same object as last time when it was seen lately (pids are immutable). */
  private pid(node: Atom, id: number, serial: number, creation: number): Pid {
    const cache = this.pids;
    for (let i = 0; i < PID_CACHE; i++) {
      const p = cache[i];
      if (p !== undefined && p.id === id && p.node === node && p.serial === serial && p.creation === creation) return p;
    }
    const p = new Pid(node, id, serial, creation);
    cache[this.nextPid] = p;
    this.nextPid = (this.nextPid + 1) % PID_CACHE;
    return p;
  }
}

/**
 * Where the reply starts in a call reply `{[alias | Ref], Reply}` at `at`,
 * when its Ref is written exactly as the bytes `b[refStart, refEnd)` (the
 * alias of the control message that carries it) and `alias` is its atom
 * (ATOM_CACHE_REF into `atoms`); -1 for anything else.
 */
export function callReplyAt(b: Uint8Array, at: number, atoms: readonly Atom[], alias: Atom, refStart: number, refEnd: number): number {
  const n = refEnd - refStart;
  const replyAt = at + 9 + n;
  if (replyAt > b.length) return -1;
  // SMALL_TUPLE 2, LIST_EXT of 1 element, ATOM_CACHE_REF
  if (b[at] !== Tag.SMALL_TUPLE || b[at + 1] !== 2 || b[at + 2] !== Tag.LIST || b[at + 3] !== 0 || b[at + 4] !== 0 || b[at + 5] !== 0 || b[at + 6] !== 1) return -1;
  if (b[at + 7] !== Tag.ATOM_CACHE_REF || atoms[b[at + 8] as number] !== alias) return -1;
  for (let i = 0; i < n; i++) if (b[at + 9 + i] !== b[refStart + i]) return -1;
  return replyAt;
}

function u32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
}
