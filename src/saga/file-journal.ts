/**
 * FileJournal: the file-backed {@link SagaJournal}. Append-only; each record
 * is framed as `<<Length:32, Crc32:32, Etf/binary>>`. A record appended with
 * `sync` resolves after an `fdatasync` that covers it; appends that arrive
 * while a sync runs share the next one (group commit), so the number of
 * syncs follows the disk, not the transaction rate.
 *
 * Replay tolerates corruption: a record whose checksum or term is bad is
 * skipped, a torn tail (a crash in the middle of a write) is cut off.
 * Compaction rewrites the file with the open transactions only (write to a
 * temporary file, sync, rename, sync the directory) once enough records
 * have ended.
 *
 * @example
 * ```ts
 * const journal = await FileJournal.open('/var/lib/app/bank.journal');
 * await startSaga(node, bank, undefined, { name: 'bank', journal });
 * ```
 * @module
 */
import { closeSync, fdatasync, fsyncSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { decode, encode } from '../etf/codec.js';
import { type JournalRecord, LiveRecords, type SagaJournal, recordToTerm, termToRecord } from './journal.js';

/** Options of {@link FileJournal.open}. */
export interface FileJournalOptions {
  /** Compact once this many records were appended since the last compaction (and most have ended). Default 4096. */
  readonly compactAfter?: number;
}

/** What a replay found. */
export interface ReplayReport {
  readonly records: number;
  /** Records skipped for a bad checksum or a term that is not a record. */
  readonly corrupt: number;
  /** Bytes cut from a torn tail. */
  readonly truncatedBytes: number;
}

const HEADER = 8;

/** Parses a journal file's bytes: the good records, and where the good part ends. */
export function replayJournalBytes(bytes: Uint8Array): { records: JournalRecord[]; corrupt: number; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let corrupt = 0;
  let off = 0;
  while (off + HEADER <= bytes.length) {
    const len = view.getUint32(off);
    const sum = view.getUint32(off + 4);
    if (len === 0 || off + HEADER + len > bytes.length) break; // torn tail
    const payload = bytes.subarray(off + HEADER, off + HEADER + len);
    off += HEADER + len;
    if (crc32(payload) !== sum) {
      corrupt++;
      continue;
    }
    let rec: JournalRecord | undefined;
    try {
      rec = termToRecord(decode(payload));
    } catch {
      rec = undefined;
    }
    if (rec === undefined) corrupt++;
    else records.push(rec);
  }
  return { records, corrupt, end: off };
}

function frame(record: JournalRecord): Buffer {
  const payload = encode(recordToTerm(record));
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
}

/** A file-backed, append-only saga journal with group-committed `fdatasync`. */
export class FileJournal implements SagaJournal {
  private fd: number;
  private readonly live = new LiveRecords();
  private sinceCompaction = 0;
  private syncing = false;
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  /** `fdatasync` calls made. */
  syncs = 0;
  /** Records appended. */
  appended = 0;
  /** Compactions done. */
  compactions = 0;

  private constructor(
    readonly path: string,
    private readonly compactAfter: number,
    /** What the replay at open found. */
    readonly replay: ReplayReport,
  ) {
    this.fd = openSync(path, 'a');
  }

  /** Opens (or creates) the journal at `path`, replaying what it holds and cutting a torn tail. */
  static async open(path: string, options: FileJournalOptions = {}): Promise<FileJournal> {
    let report: ReplayReport = { records: 0, corrupt: 0, truncatedBytes: 0 };
    let records: JournalRecord[] = [];
    if (existsSync(path)) {
      const bytes = readFileSync(path);
      const r = replayJournalBytes(bytes);
      records = r.records;
      report = { records: r.records.length, corrupt: r.corrupt, truncatedBytes: bytes.length - r.end };
      if (r.end < bytes.length) {
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, r.end);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    const j = new FileJournal(path, options.compactAfter ?? 4096, report);
    for (const r of records) j.live.apply(r);
    return j;
  }

  async load(): Promise<readonly JournalRecord[]> {
    return this.live.records();
  }

  append(record: JournalRecord, sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`journal ${this.path} is closed`));
    try {
      writeSync(this.fd, frame(record));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.appended++;
    this.sinceCompaction++;
    this.live.apply(record);
    if (record.type === 'end' && !this.syncing && this.sinceCompaction >= this.compactAfter && this.live.size * 4 < this.sinceCompaction) this.compact();
    if (!sync) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.syncing) this.flush();
    });
  }

  /** One `fdatasync` for every append waiting now; appends made meanwhile wait for the next. */
  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.syncing = true;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      this.syncs++;
      for (const w of batch) err === null ? w.resolve() : w.reject(err);
      if (this.waiting.length > 0) this.flush();
    });
  }

  /** Rewrites the file with the open transactions only. */
  private compact(): void {
    const tmp = `${this.path}.compact`;
    const fd = openSync(tmp, 'w');
    try {
      for (const r of this.live.records()) writeSync(fd, frame(r));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.sinceCompaction = 0;
    this.compactions++;
  }

  /** Transactions still open in the journal. */
  get open(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.syncing) await new Promise((r) => setImmediate(r));
    closeSync(this.fd);
  }
}
