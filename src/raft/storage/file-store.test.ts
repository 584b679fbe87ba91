// The file-backed Raft store: round trips, recovery, torn tails, corruption, compaction, batching.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import type { Entry } from '../core/types.js';
import { FileStore, StoreCorruptError } from './file-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raft-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const cmd = (index: number, term: number, command: string): Entry<string> => ({ kind: 'command', index, term, command });
const config = { voters: ['a', 'b', 'c'], learners: [] };

test('file store: a fresh store loads null; saved state survives reopening', async () => {
  const dir = tempDir();
  const s = await FileStore.open<string, string>({ dir });
  assert.equal(await s.load(), null);
  await s.save({ hardState: { term: 2, vote: 'b', commit: 1 }, snapshot: null, replacesLog: false, entries: [cmd(1, 1, 'x'), cmd(2, 2, 'y')] });
  await s.save({ hardState: null, snapshot: null, replacesLog: false, entries: [cmd(2, 3, 'z'), cmd(3, 3, 'w')] });
  await s.close();
  const again = await FileStore.open<string, string>({ dir });
  const st = await again.load();
  assert.deepEqual(st?.hardState, { term: 2, vote: 'b', commit: 1 });
  assert.deepEqual(st?.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 3], [3, 3]]);
  await again.close();
});

test('file store: concurrent saves share one fdatasync per burst', async () => {
  const s = await FileStore.open<string, string>({ dir: tempDir() });
  const saves = [];
  for (let i = 1; i <= 100; i++) saves.push(s.save({ hardState: null, snapshot: null, replacesLog: false, entries: [cmd(i, 1, `v${i}`)] }));
  await Promise.all(saves);
  assert.ok(s.bursts < 10, `${s.bursts} bursts for 100 saves`);
  assert.equal((await s.load())?.entries.length, 100);
  await s.close();
});

test('file store: a snapshot compacts the log and drops older files; recovery reads it back', async () => {
  const dir = tempDir();
  const s = await FileStore.open<string, { sum: number }>({ dir });
  for (let i = 1; i <= 5; i++) await s.save({ hardState: { term: 1, vote: 'a', commit: i }, snapshot: null, replacesLog: false, entries: [cmd(i, 1, `v${i}`)] });
  await s.save({ hardState: null, snapshot: { index: 3, term: 1, config, data: { sum: 6 } }, replacesLog: false, entries: [] });
  await s.save({ hardState: null, snapshot: null, replacesLog: false, entries: [cmd(6, 1, 'v6')] });
  await s.close();
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.log')).length, 1);
  const again = await FileStore.open<string, { sum: number }>({ dir });
  const st = await again.load();
  assert.deepEqual(st?.snapshot, { index: 3, term: 1, config, data: { sum: 6 } });
  assert.deepEqual(st?.entries.map((e) => e.index), [4, 5, 6]);
  // A leader's snapshot replaces the whole log.
  await again.save({ hardState: null, snapshot: { index: 10, term: 2, config, data: { sum: 55 } }, replacesLog: true, entries: [cmd(11, 2, 'v11')] });
  await again.close();
  const third = await FileStore.open<string, { sum: number }>({ dir });
  assert.deepEqual((await third.load())?.entries.map((e) => e.index), [11]);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('snap-')).length, 1);
  await third.close();
});

test('file store: a torn last record is cut; a bad checksum mid-file is refused', async () => {
  const dir = tempDir();
  const s = await FileStore.open<string, string>({ dir });
  for (let i = 1; i <= 3; i++) await s.save({ hardState: null, snapshot: null, replacesLog: false, entries: [cmd(i, 1, `v${i}`)] });
  await s.close();
  const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!);
  // A partial record right after the last whole one, in the preallocated zeros.
  const image = readFileSync(seg);
  let end = image.length;
  while (end > 0 && image[end - 1] === 0) end--;
  assert.ok(image.length > end, 'the segment is preallocated');
  const fd = openSync(seg, 'r+');
  writeSync(fd, Buffer.from([40, 0, 0, 0, 1, 2, 3]), 0, 7, end);
  closeSync(fd);
  const torn = await FileStore.open<string, string>({ dir });
  assert.equal((await torn.load())?.entries.length, 3);
  await torn.save({ hardState: null, snapshot: null, replacesLog: false, entries: [cmd(4, 1, 'v4')] });
  await torn.close();
  const ok = await FileStore.open<string, string>({ dir });
  assert.equal((await ok.load())?.entries.length, 4);
  await ok.close();
  const bytes = readFileSync(seg);
  bytes[12] = bytes[12]! ^ 0xff; // flip a byte inside the first record
  writeFileSync(seg, bytes);
  await assert.rejects(FileStore.open<string, string>({ dir }), StoreCorruptError);
});

test('file store: a closed store refuses saves', async () => {
  const s = await FileStore.open<string, string>({ dir: tempDir() });
  await s.close();
  await assert.rejects(s.save({ hardState: { term: 1, vote: null, commit: 0 }, snapshot: null, replacesLog: false, entries: [] }), /closed/);
});

test('file store: awaited saves (synced on the calling thread) and background saves mix, settle in call order and recover', async () => {
  const dir = tempDir();
  const s = await FileStore.open<string, string>({ dir });
  const order: number[] = [];
  const saves: Promise<void>[] = [];
  for (let i = 1; i <= 30; i++) {
    const awaited = i % 3 !== 0;
    saves.push(s.save({ hardState: { term: 1, vote: 'a', commit: i - 1 }, snapshot: null, replacesLog: false, entries: [cmd(i, 1, `v${i}`)] }, { awaited }).then(() => void order.push(i)));
    if (i % 7 === 0) await saves[saves.length - 1];
  }
  await Promise.all(saves);
  assert.deepEqual(order, Array.from({ length: 30 }, (_, i) => i + 1));
  await s.close();
  const again = await FileStore.open<string, string>({ dir });
  assert.deepEqual((await again.load())?.entries.map((e) => e.index), Array.from({ length: 30 }, (_, i) => i + 1));
  await again.close();
});
