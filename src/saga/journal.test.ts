// The saga journals: records as terms, the file journal's replay (corrupt
// records skipped, a torn tail cut), group-committed fdatasync, compaction,
// and the memory journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atom } from '../terms/atom.js';
import { Pid, Ref } from '../terms/identifiers.js';
import { FileJournal, replayJournalBytes } from './file-journal.js';
import { type JournalRecord, MemoryJournal, recordToTerm, termToRecord } from './journal.js';

const node = atom('j@127.0.0.1');
let n = 0;
const ref = (): Ref => new Ref(node, 1, [++n, 0, 0]);
const pid = new Pid(node, 5, 0, 1);

function prepared(tx: Ref): JournalRecord {
  return { type: 'prepared', tx, parentPid: pid, parentName: atom('bank'), parentNext: ref(), children: [{ next: ref(), pid, name: undefined }] };
}

function tmp(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'saga-journal-'));
  return { dir, path: join(dir, 'j.log') };
}

test('records round-trip through terms; other terms are not records', () => {
  const tx = ref();
  for (const r of [prepared(tx), { type: 'decision', tx, final: ['a', 1], children: [] } as JournalRecord, { type: 'end', tx } as JournalRecord])
    assert.deepEqual(termToRecord(recordToTerm(r)), r);
  assert.equal(termToRecord('x'), undefined);
  assert.equal(termToRecord(recordToTerm({ type: 'end', tx }).elements[0]), undefined);
});

test('file journal: open records survive a reopen, ended ones do not', async () => {
  const { dir, path } = tmp();
  try {
    const a = ref();
    const b = ref();
    const j = await FileJournal.open(path);
    await j.append(prepared(a), true);
    await j.append({ type: 'decision', tx: b, final: 'f', children: [] }, true);
    await j.append({ type: 'end', tx: a }, false);
    await j.close();
    const j2 = await FileJournal.open(path);
    const live = await j2.load();
    assert.equal(live.length, 1);
    assert.equal(live[0]?.type, 'decision');
    assert.ok(live[0]?.tx.equals(b));
    assert.deepEqual(j2.replay, { records: 3, corrupt: 0, truncatedBytes: 0 });
    await j2.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('file journal: a torn tail is cut and a corrupt record skipped', async () => {
  const { dir, path } = tmp();
  try {
    const txs = [ref(), ref(), ref()];
    const j = await FileJournal.open(path);
    for (const tx of txs) await j.append(prepared(tx), true);
    await j.close();
    const bytes = readFileSync(path);
    // Flip a byte inside the second record's payload.
    const first = bytes.readUInt32BE(0) + 8;
    const corrupted = Buffer.from(bytes);
    corrupted[first + 8 + 3] = (corrupted[first + 8 + 3] ?? 0) ^ 0xff;
    writeFileSync(path, corrupted);
    appendFileSync(path, Buffer.from([0, 0, 0, 50, 1, 2, 3])); // a torn record
    const j2 = await FileJournal.open(path);
    assert.deepEqual(j2.replay, { records: 2, corrupt: 1, truncatedBytes: 7 });
    const live = await j2.load();
    assert.deepEqual(
      live.map((r) => r.tx),
      [txs[0], txs[2]],
    );
    assert.equal(statSync(path).size, bytes.length, 'the torn tail is gone from the file');
    await j2.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('file journal: garbage bytes never throw', () => {
  for (let i = 0; i < 200; i++) {
    const b = Buffer.alloc(i);
    for (let k = 0; k < i; k++) b[k] = (k * 7919 + i) & 0xff;
    const r = replayJournalBytes(b);
    assert.ok(r.end <= b.length);
  }
});

test('file journal: concurrent synced appends share fdatasyncs (group commit)', async () => {
  const { dir, path } = tmp();
  try {
    const j = await FileJournal.open(path);
    await Promise.all(Array.from({ length: 200 }, () => j.append(prepared(ref()), true)));
    assert.equal(j.appended, 200);
    assert.ok(j.syncs < 50, `${j.syncs} syncs for 200 appends`);
    await j.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('file journal: compaction keeps only open transactions', async () => {
  const { dir, path } = tmp();
  try {
    const j = await FileJournal.open(path, { compactAfter: 100 });
    const keep = ref();
    await j.append(prepared(keep), true);
    for (let i = 0; i < 100; i++) {
      const tx = ref();
      await j.append(prepared(tx), false);
      await j.append({ type: 'end', tx }, false);
    }
    assert.ok(j.compactions >= 1);
    assert.ok(statSync(path).size < 2000, `${statSync(path).size} bytes after compaction`);
    await j.append(prepared(ref()), true);
    await j.close();
    const j2 = await FileJournal.open(path);
    assert.equal((await j2.load()).length, 2);
    assert.ok((await j2.load())[0]?.tx.equals(keep));
    await j2.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('memory journal: open transactions and sync count', async () => {
  const j = new MemoryJournal();
  const tx = ref();
  await j.append(prepared(tx), true);
  assert.equal(j.open, 1);
  await j.append({ type: 'end', tx }, false);
  assert.equal(j.open, 0);
  assert.equal(j.syncs, 1);
  assert.equal(j.appended, 2);
});
