/**
 * The durable Raft store: append-only segment files of checksummed records
 * (hard state, entries, snapshot references), snapshots in their own files,
 * one `fdatasync` per write burst (every save() waiting while a sync runs
 * joins the next one), and recovery on open that replays the segments,
 * cuts a torn last record and refuses any other corruption. Segments are
 * preallocated with zeros (as etcd's WAL does) so that a sync flushes data,
 * not a changed file size; a zero length marks the end of the records.
 *
 * Record layout: u32 length of body, u32 CRC-32 of body, body = u8 type + JSON.
 * @module
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Entry, HardState, PersistedState, Snapshot } from '../core/types.js';
import { crc32 } from './crc32.js';
import { applyBatch, type PersistBatch, type RaftStore, type SaveOptions } from './store.js';

/** Turns commands and snapshot data into JSON-safe values and back. Default: identity (they must be JSON values). */
export interface StoreCodec<C, S> {
  readonly encodeCommand: (c: C) => unknown;
  readonly decodeCommand: (v: unknown) => C;
  readonly encodeSnapshot: (s: S) => unknown;
  readonly decodeSnapshot: (v: unknown) => S;
}

/** Where and how a FileStore keeps its files. */
export interface FileStoreOptions<C, S> {
  readonly dir: string;
  readonly codec?: StoreCodec<C, S>;
  /** A segment rolls over past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** fdatasync each burst (default true; false only for throwaway benchmarks). */
  readonly sync?: boolean;
  /** Zeros written ahead of the records at a time. Default 1 MiB (at most segmentBytes). */
  readonly preallocateBytes?: number;
}

/** A store file failed its checksum or structure check somewhere other than a torn tail. */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
}

const recHard = 1;
const recEntry = 2;
const recSnapshot = 3;

type Image<C, S> = { hardState: HardState; snapshot: Snapshot<S> | null; entries: Entry<C>[] };

function identityCodec<C, S>(): StoreCodec<C, S> {
  return { encodeCommand: (c) => c, decodeCommand: (v) => v as C, encodeSnapshot: (s) => s, decodeSnapshot: (v) => v as S };
}

function segmentName(n: number): string {
  return `${String(n).padStart(10, '0')}.log`;
}

/** A directory of Raft state that survives crashes. Open it with {@link FileStore.open}. */
export class FileStore<C, S> implements RaftStore<C, S> {
  private readonly codec: StoreCodec<C, S>;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  private image: Image<C, S> = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };
  private fresh = true;
  private segment = 0;
  /** Where the next record goes in the current segment. */
  private segmentSize = 0;
  /** The current segment's file size (records and zeros after them). */
  private allocated = 0;
  private fd = -1;
  private readonly preallocate: number;
  private queue: { chunks: Buffer[]; snapshot: Snapshot<S> | null; durable: boolean; awaited: boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  private savedTerm = 0;
  private savedVote: string | null = null;
  private writing = false;
  private closed = false;
  private failed: Error | null = null;
  /** Write bursts made durable so far (one fdatasync each); for tests and benchmarks. */
  bursts = 0;

  private constructor(
    readonly dir: string,
    options: FileStoreOptions<C, S>,
  ) {
    this.codec = options.codec ?? identityCodec();
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.sync = options.sync ?? true;
    this.preallocate = Math.max(0, Math.min(options.preallocateBytes ?? 1024 * 1024, this.segmentBytes));
  }

  /** Opens (creating if needed) the store in `options.dir`, recovering what it holds. */
  static async open<C, S>(options: FileStoreOptions<C, S>): Promise<FileStore<C, S>> {
    mkdirSync(options.dir, { recursive: true });
    const store = new FileStore<C, S>(options.dir, options);
    store.recover();
    store.openSegment();
    return store;
  }

  load(): Promise<PersistedState<C, S> | null> {
    if (this.fresh) return Promise.resolve(null);
    const i = this.image;
    return Promise.resolve({ hardState: i.hardState, snapshot: i.snapshot, entries: [...i.entries] });
  }

  /**
   * Writes `batch` with the bursts' other saves and resolves once it is on
   * disk. With `awaited` (and every save of the burst awaited) the sync runs
   * on this thread after the current microtasks (sends already made leave
   * first): no worker-thread round trip, at the cost of blocking the event
   * loop for the sync. Otherwise it runs on libuv's thread pool.
   */
  save(batch: PersistBatch<C, S>, options: SaveOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store closed'));
    if (this.failed !== null) return Promise.reject(this.failed);
    this.fresh = false;
    applyBatch(this.image, batch);
    const hs = batch.hardState;
    // A change of the commit index alone is written lazily, with the next durable record: a lower
    // commit index after a crash is safe (the leader tells it again). Term and vote are never lazy.
    const durable = batch.snapshot !== null || batch.entries.length > 0 || (hs !== null && (hs.term !== this.savedTerm || hs.vote !== this.savedVote));
    if (hs !== null) {
      this.savedTerm = hs.term;
      this.savedVote = hs.vote;
    }
    if (!durable) return Promise.resolve();
    const chunks: Buffer[] = [];
    let snapshot: Snapshot<S> | null = null;
    if (batch.snapshot !== null) {
      // A snapshot starts a new segment holding the full state; older files go.
      snapshot = batch.snapshot;
    } else {
      // The latest hard state (it may carry a lazily kept commit index).
      chunks.push(this.record(recHard, this.image.hardState));
      for (const e of batch.entries) chunks.push(this.entryRecord(e));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ chunks, snapshot, durable, awaited: options.awaited === true, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    this.closed = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  // ----------------------------------------------------------------- writes

  private record(type: number, value: unknown): Buffer {
    const json = Buffer.from(JSON.stringify(value));
    const buf = Buffer.allocUnsafe(9 + json.length);
    buf.writeUInt32LE(json.length + 1, 0);
    buf[8] = type;
    json.copy(buf, 9);
    buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
    return buf;
  }

  private entryRecord(e: Entry<C>): Buffer {
    return this.record(recEntry, e.kind === 'command' ? { ...e, command: this.codec.encodeCommand(e.command) } : e);
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const burst = this.queue;
        this.queue = [];
        try {
          // A snapshot in the burst rewrites the whole state into a new segment; everything before it is covered.
          if (burst.some((b) => b.snapshot !== null)) await this.rotateWithImage();
          else {
            const data = Buffer.concat(burst.flatMap((b) => b.chunks));
            if (data.length > 0) {
              this.append(data);
              if (this.sync && burst.some((b) => b.durable)) {
                if (burst.every((b) => b.awaited)) {
                  await undefined; // let this turn's socket writes go out before the thread blocks
                  fdatasyncSync(this.fd);
                } else await syncData(this.fd);
              }
              this.bursts++;
            }
            if (this.segmentSize > this.segmentBytes) await this.rotateWithImage();
          }
          for (const b of burst) b.resolve();
        } catch (e) {
          this.failed = e as Error;
          for (const b of [...burst, ...this.queue]) b.reject(this.failed);
          this.queue = [];
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Writes the current image (snapshot file + a new segment with hard state and entries) and drops older files. */
  private async rotateWithImage(): Promise<void> {
    const img = this.image;
    const next = this.segment + 1;
    const chunks: Buffer[] = [this.record(recHard, img.hardState)];
    if (img.snapshot !== null) {
      const s = img.snapshot;
      const snapFile = `snap-${String(s.index).padStart(12, '0')}.bin`;
      if (!existsFile(join(this.dir, snapFile))) this.writeAtomically(snapFile, this.record(recSnapshot, { ...s, data: this.codec.encodeSnapshot(s.data) }));
      chunks.push(this.record(recSnapshot, { file: snapFile, index: s.index }));
    }
    for (const e of img.entries) chunks.push(this.entryRecord(e));
    const data = Buffer.concat(chunks);
    const tmp = `${segmentName(next)}.tmp`;
    this.writeAtomically(tmp, data);
    renameSync(join(this.dir, tmp), join(this.dir, segmentName(next)));
    this.syncDir();
    closeSync(this.fd);
    this.segment = next;
    this.openSegment();
    this.segmentSize = data.length;
    const keepSnap = img.snapshot === null ? null : `snap-${String(img.snapshot.index).padStart(12, '0')}.bin`;
    for (const f of readdirSync(this.dir)) {
      if ((f.endsWith('.log') && f < segmentName(next)) || (f.startsWith('snap-') && f !== keepSnap)) rmSync(join(this.dir, f), { force: true });
    }
  }

  /** Opens the current segment for positional writes after its records. */
  private openSegment(): void {
    const path = join(this.dir, segmentName(this.segment));
    this.fd = openSync(path, existsFile(path) ? 'r+' : 'w+');
    this.allocated = fstatSync(this.fd).size;
  }

  /** Into the page cache synchronously (a copy, no disk wait); only the sync goes to the thread pool. */
  private append(data: Buffer): void {
    const end = this.segmentSize + data.length;
    if (end > this.allocated) {
      // Extend with zeros ahead of need, and make the new size durable once.
      const target = Math.max(end, this.allocated + this.preallocate);
      const zeros = Buffer.alloc(Math.min(1024 * 1024, target - this.allocated));
      for (let pos = this.allocated; pos < target; pos += zeros.length) writeSync(this.fd, zeros, 0, Math.min(zeros.length, target - pos), pos);
      if (this.sync) fsyncSync(this.fd);
      this.allocated = target;
    }
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, this.segmentSize + done);
    this.segmentSize = end;
  }

  private writeAtomically(name: string, data: Buffer): void {
    const path = join(this.dir, name);
    const fd = openSync(`${path}.part`, 'w');
    try {
      writeSync(fd, data);
      if (this.sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.part`, path);
    this.syncDir();
  }

  private syncDir(): void {
    if (!this.sync) return;
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  // --------------------------------------------------------------- recovery

  private recover(): void {
    const segments = readdirSync(this.dir)
      .filter((f) => /^\d{10}\.log$/.test(f))
      .sort();
    for (const f of readdirSync(this.dir)) if (f.endsWith('.part') || f.endsWith('.tmp')) rmSync(join(this.dir, f), { force: true });
    if (segments.length === 0) {
      this.segment = 1;
      return;
    }
    // Only the newest segment matters: each rotation rewrites the whole state into a new one.
    const last = segments[segments.length - 1]!;
    this.segment = Number(last.slice(0, 10));
    const path = join(this.dir, last);
    const buf = readFileSync(path);
    let off = 0;
    while (off < buf.length) {
      if (off + 4 <= buf.length && buf.readUInt32LE(off) === 0) break; // the preallocated zeros: the end
      const rec = readRecord(buf, off);
      if (rec === 'torn') {
        // A crash mid-write: zero the partial tail so the next record starts clean.
        let last = buf.length;
        while (last > off && buf[last - 1] === 0) last--;
        const fd = openSync(path, 'r+');
        try {
          writeSync(fd, Buffer.alloc(last - off), 0, last - off, off);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        break;
      }
      if (rec === 'corrupt') throw new StoreCorruptError(`${path}: record at byte ${off} fails its checksum`);
      this.fresh = false;
      this.replay(rec.type, rec.value, path);
      off = rec.end;
    }
    this.segmentSize = off;
    this.savedTerm = this.image.hardState.term;
    this.savedVote = this.image.hardState.vote;
  }

  private replay(type: number, value: unknown, path: string): void {
    const v = value as Record<string, unknown>;
    switch (type) {
      case recHard:
        this.image.hardState = value as HardState;
        break;
      case recEntry: {
        const e = (v['kind'] === 'command' ? { ...v, command: this.codec.decodeCommand(v['command']) } : v) as unknown as Entry<C>;
        applyBatch(this.image, { hardState: null, snapshot: null, replacesLog: false, entries: [e] });
        break;
      }
      case recSnapshot: {
        const file = join(this.dir, String(v['file']));
        const raw = readFileSync(file);
        const rec = readRecord(raw, 0);
        if (rec === 'torn' || rec === 'corrupt' || rec.type !== recSnapshot) throw new StoreCorruptError(`${file}: snapshot fails its checksum`);
        const s = rec.value as Snapshot<unknown>;
        const snapshot: Snapshot<S> = { index: s.index, term: s.term, config: s.config, data: this.codec.decodeSnapshot(s.data) };
        applyBatch(this.image, { hardState: null, snapshot, replacesLog: true, entries: [] });
        break;
      }
      default:
        throw new StoreCorruptError(`${path}: unknown record type ${type}`);
    }
  }
}

function existsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** One record at `off`: its type and value, 'torn' when it runs past the end, 'corrupt' when its checksum fails mid-file. */
function readRecord(buf: Buffer, off: number): { type: number; value: unknown; end: number } | 'torn' | 'corrupt' {
  if (off + 8 > buf.length) return 'torn';
  const len = buf.readUInt32LE(off);
  const end = off + 8 + len;
  if (len < 1 || end > buf.length) return 'torn';
  const body = buf.subarray(off + 8, end);
  if (crc32(body) !== buf.readUInt32LE(off + 4)) return allZero(buf, end) ? 'torn' : 'corrupt';
  let value: unknown;
  try {
    value = JSON.parse(body.subarray(1).toString('utf8'));
  } catch {
    return 'corrupt';
  }
  return { type: body[0]!, value, end };
}

/** True when every byte from `from` on is zero (what follows a torn last record). */
function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

const syncData = promisify(fdatasync);
