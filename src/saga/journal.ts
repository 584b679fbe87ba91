/**
 * The saga journal: what a saga must remember across a crash to finish a
 * two-phase commit. Three records, kept as Erlang terms:
 *
 * - `{prepared, Tx, ParentPid, ParentName, ParentNext, Children}`: this saga
 *   voted yes (written and synced before the vote is sent);
 * - `{decision, Tx, Final, Children}`: the origin decided to commit (written
 *   and synced before anyone is told);
 * - `{'end', Tx}`: the transaction no longer matters here.
 *
 * `Children` is a list of `{NextRef, Pid, Name}`. A journal replays the
 * records of transactions that have not ended ({@link SagaJournal.load})
 * and may drop the rest (compaction). {@link MemoryJournal} keeps them in
 * memory (tests, or a saga restarted inside the same node); the file-backed
 * one is {@link FileJournal}.
 * @module
 */
import { Atom, atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { Tuple, tuple } from '../terms/tuple.js';
import { refKey } from './protocol.js';

/** A next saga as the journal remembers it: the edge id and where to reach it after a restart. */
export interface JournalChild {
  readonly next: Ref;
  readonly pid: Pid;
  readonly name: Atom | undefined;
}

/** One journal record. */
export type JournalRecord =
  | {
      readonly type: 'prepared';
      readonly tx: Ref;
      readonly parentPid: Pid;
      readonly parentName: Atom | undefined;
      readonly parentNext: Ref;
      readonly children: readonly JournalChild[];
    }
  | { readonly type: 'decision'; readonly tx: Ref; readonly final: unknown; readonly children: readonly JournalChild[] }
  | { readonly type: 'end'; readonly tx: Ref };

/**
 * Where a saga keeps its two-phase-commit records. `append` with `sync`
 * resolves once the record is durable; implementations batch the syncs of
 * records appended together (group commit).
 */
export interface SagaJournal {
  /** The records of transactions that have not ended, in append order. */
  load(): Promise<readonly JournalRecord[]>;
  /** Appends a record; with `sync`, resolves once it is durable. */
  append(record: JournalRecord, sync: boolean): Promise<void>;
  /** Releases the journal (files closed). */
  close(): Promise<void>;
}

const A_PREPARED = atom('prepared');
const A_DECISION = atom('decision');
const A_END = atom('end');

/** A record as an Erlang term. */
export function recordToTerm(r: JournalRecord): Tuple {
  const children = (cs: readonly JournalChild[]): Tuple[] => cs.map((c) => tuple(c.next, c.pid, c.name));
  switch (r.type) {
    case 'prepared':
      return tuple(A_PREPARED, r.tx, r.parentPid, r.parentName, r.parentNext, children(r.children));
    case 'decision':
      return tuple(A_DECISION, r.tx, r.final, children(r.children));
    case 'end':
      return tuple(A_END, r.tx);
  }
}

function termToChildren(t: unknown): JournalChild[] | undefined {
  if (!Array.isArray(t)) return undefined;
  const out: JournalChild[] = [];
  for (const c of t) {
    if (!(c instanceof Tuple) || c.elements.length !== 3) return undefined;
    const [next, pid, name] = c.elements;
    if (!(next instanceof Ref) || !(pid instanceof Pid) || !(name === undefined || name instanceof Atom)) return undefined;
    out.push({ next, pid, name });
  }
  return out;
}

/** A term back to a record; undefined if it is not one. */
export function termToRecord(t: unknown): JournalRecord | undefined {
  if (!(t instanceof Tuple)) return undefined;
  const e = t.elements;
  const tx = e[1];
  if (!(tx instanceof Ref)) return undefined;
  if (e[0] === A_END && e.length === 2) return { type: 'end', tx };
  if (e[0] === A_DECISION && e.length === 4) {
    const children = termToChildren(e[3]);
    return children === undefined ? undefined : { type: 'decision', tx, final: e[2], children };
  }
  if (e[0] === A_PREPARED && e.length === 6) {
    const [, , parentPid, parentName, parentNext, cs] = e;
    const children = termToChildren(cs);
    if (!(parentPid instanceof Pid) || !(parentName === undefined || parentName instanceof Atom) || !(parentNext instanceof Ref) || children === undefined)
      return undefined;
    return { type: 'prepared', tx, parentPid, parentName, parentNext, children };
  }
  return undefined;
}

/**
 * The records of transactions still open, given every record in order: a
 * later record of a transaction replaces an earlier one, `end` removes it.
 */
export class LiveRecords {
  private readonly live = new Map<string, JournalRecord>();
  apply(r: JournalRecord): void {
    const k = refKey(r.tx);
    if (r.type === 'end') this.live.delete(k);
    else {
      this.live.delete(k); // keep append order: a replaced record moves to the end
      this.live.set(k, r);
    }
  }
  get size(): number {
    return this.live.size;
  }
  records(): JournalRecord[] {
    return [...this.live.values()];
  }
}

/**
 * A journal in memory: it survives a saga's restart inside the same node
 * (pass the same instance), not the node. For tests and non-durable use.
 */
export class MemoryJournal implements SagaJournal {
  private readonly live = new LiveRecords();
  /** Records appended, `end` included (for tests). */
  appended = 0;
  /** Appends that asked for a sync. */
  syncs = 0;
  async load(): Promise<readonly JournalRecord[]> {
    return this.live.records();
  }
  async append(record: JournalRecord, sync: boolean): Promise<void> {
    this.appended++;
    if (sync) this.syncs++;
    this.live.apply(record);
  }
  /** Transactions with a record and no `end`: in doubt (prepared) or being committed (decision). */
  get open(): number {
    return this.live.size;
  }
  async close(): Promise<void> {}
}
