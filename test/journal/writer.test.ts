// JournalWriter: header on create, staged appends written whole, fsync policies, I/O failures.
// Spec: kdb-ipc-and-tick.md §7.1–7.2.
import t from 'tap';
import type { Test } from 'tap';
import fs from 'node:fs';
import { join } from 'node:path';
import { JournalWriter, AUTO_FLUSH_BYTES } from '../../src/journal/writer.js';
import type { FsyncPolicy, JournalIo } from '../../src/journal/writer.js';
import { updRecord } from '../../src/journal/format.js';
import { validate } from '../../src/journal/reader.js';
import { float, int, list, longs, sym, timespan } from '../../src/ipc/values.js';

const row = (s: string, price: number, size: number) =>
  updRecord('trade', list(timespan(36_000_000_000_000n), sym(s), float(price), int(size)));

/** Counts calls to fs[name] (still calling through) until the test ends. */
function spy<K extends 'writeSync' | 'fdatasyncSync'>(t: Test, name: K): { calls: number; lengths: number[] } {
  const stats = { calls: 0, lengths: [] as number[] };
  const orig = fs[name] as (...args: unknown[]) => unknown;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
    stats.calls++;
    if (name === 'writeSync' && typeof args[3] === 'number') stats.lengths.push(args[3]);
    return orig.apply(fs, args);
  };
  t.teardown(() => { (fs as unknown as Record<string, unknown>)[name] = orig; });
  return stats;
}

t.test('a new journal holding one single-row update has exactly the §7.1 bytes', async (t) => {
  const path = join(t.testdir(), 'sym2024.01.02');
  const w = JournalWriter.open(path, { fsync: 'none' });
  w.append(row('IBM', 100, 10));
  w.close();
  const derived = 'ff01000000000000' + '000003000000' + 'f575706400' + 'f5747261646500' + '000004000000' +
    'f0004036e7bd200000' + 'f549424d00' + 'f70000000000005940' + 'fa0a000000';
  t.equal(fs.readFileSync(path).toString('hex'), derived);
  const fixture = fs.readFileSync(new URL('../fixtures/journal/single-row-update.hex', import.meta.url), 'latin1');
  t.equal(fixture.trim(), derived, 'and the fixture file holds the same bytes');
});

t.test('opening creates the header at once and an empty file gets one too', async (t) => {
  const dir = t.testdir({ empty: '' });
  const w = JournalWriter.open(join(dir, 'new'), { fsync: 'batch' });
  t.equal(fs.readFileSync(join(dir, 'new')).toString('hex'), 'ff01000000000000');
  t.equal(w.bytes, 8);
  t.equal(w.records, 0);
  w.close();
  JournalWriter.open(join(dir, 'empty'), { fsync: 'none' }).close();
  t.equal(fs.readFileSync(join(dir, 'empty')).toString('hex'), 'ff01000000000000');
});

t.test('reopening appends after the existing records and never rewrites the header', async (t) => {
  const path = join(t.testdir(), 'log');
  const a = JournalWriter.open(path, { fsync: 'none' });
  a.append(row('IBM', 100, 10));
  a.close();
  const before = fs.readFileSync(path);
  const b = JournalWriter.open(path, { fsync: 'none', records: 1 });
  t.equal(b.records, 1);
  t.equal(b.bytes, before.length);
  b.append(row('MSFT', 200, 20));
  t.equal(b.records, 2);
  b.close();
  const after = fs.readFileSync(path);
  t.same(after.subarray(0, before.length), before);
  t.equal(after.subarray(0, 8).toString('hex'), 'ff01000000000000');
  t.match(validate(path), { chunks: 2, ok: true });
});

t.test('a file too short to hold the header is refused', async (t) => {
  const dir = t.testdir({ short: Buffer.from('ff01', 'hex') });
  t.throws(() => JournalWriter.open(join(dir, 'short'), { fsync: 'none' }), { code: 'JOURNAL_ERR_CORRUPT' });
});

t.test('appends are staged and one flush writes them all with a single write', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'none' });
  const writes = spy(t, 'writeSync');
  const recs = [row('A', 1, 1), row('BB', 2, 2), row('CCC', 3, 3)];
  for (const r of recs) w.append(r);
  t.equal(writes.calls, 0, 'nothing written before flush');
  t.equal(w.records, 3);
  t.equal(w.pendingBytes, recs.reduce((n, r) => n + r.length, 0));
  t.equal(w.bytes, 8 + w.pendingBytes);
  t.equal(fs.statSync(path).size, 8);
  w.flush();
  t.equal(writes.calls, 1);
  t.same(writes.lengths, [w.bytes - 8]);
  t.equal(w.pendingBytes, 0);
  w.flush();
  t.equal(writes.calls, 1, 'an empty flush writes nothing');
  w.close();
  t.equal(fs.statSync(path).size, 8 + recs.reduce((n, r) => n + r.length, 0));
});

t.test('coalesced appends produce the same file as appends flushed one by one', async (t) => {
  const dir = t.testdir();
  const recs = Array.from({ length: 50 }, (_, i) => row(`S${i}`, i, i));
  const one = JournalWriter.open(join(dir, 'one'), { fsync: 'none' });
  for (const r of recs) { one.append(r); one.flush(); }
  one.close();
  const all = JournalWriter.open(join(dir, 'all'), { fsync: 'none' });
  for (const r of recs) all.append(r);
  all.close();
  t.same(fs.readFileSync(join(dir, 'all')), fs.readFileSync(join(dir, 'one')));
});

t.test('every fsync policy writes identical bytes', async (t) => {
  const dir = t.testdir();
  const recs = Array.from({ length: 20 }, (_, i) => row(`S${i}`, i / 3, i));
  const files = (['none', 'batch', 'record'] as FsyncPolicy[]).map((fsync) => {
    const path = join(dir, fsync);
    const w = JournalWriter.open(path, { fsync });
    recs.forEach((r, i) => { w.append(r); if (i % 7 === 6) w.flush(); });
    w.close();
    return fs.readFileSync(path);
  });
  t.same(files[1], files[0]);
  t.same(files[2], files[0]);
});

t.test('fdatasync runs per record, per flush, or never, as the policy says', async (t) => {
  const dir = t.testdir();
  const count = (fsync: FsyncPolicy): { syncs: number; writes: number } => {
    const w = JournalWriter.open(join(dir, fsync), { fsync });
    const syncs = spy(t, 'fdatasyncSync');
    const writes = spy(t, 'writeSync');
    for (let i = 0; i < 5; i++) w.append(row('X', i, i));
    w.flush();
    w.flush();
    w.close();
    return { syncs: syncs.calls, writes: writes.calls };
  };
  t.same(count('record'), { syncs: 5, writes: 5 });
  t.same(count('batch'), { syncs: 1, writes: 1 });
  t.same(count('none'), { syncs: 0, writes: 1 });
});

t.test('staged bytes never exceed 1 MiB: append flushes first, and no record is split', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'none' });
  const writes = spy(t, 'writeSync');
  const rec = updRecord('trade', list(longs(new BigInt64Array(1000)))); // 8023 bytes
  const fit = Math.floor(AUTO_FLUSH_BYTES / rec.length);
  for (let i = 0; i < fit; i++) w.append(rec);
  t.equal(writes.calls, 0);
  w.append(rec);
  t.equal(writes.calls, 1, 'the record that would overflow the stage flushed the others');
  t.same(writes.lengths, [fit * rec.length]);
  t.equal(w.pendingBytes, rec.length);
  w.close();
  t.match(validate(path), { chunks: fit + 1, ok: true });
});

t.test('a record larger than the stage is written whole, after what was staged', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'batch' });
  const small = row('A', 1, 1);
  const big = updRecord('trade', list(longs(new BigInt64Array(200_000)))); // 1.6 MB
  const writes = spy(t, 'writeSync');
  const syncs = spy(t, 'fdatasyncSync');
  w.append(small);
  w.append(big);
  t.same(writes.lengths, [small.length, big.length]);
  t.equal(syncs.calls, 1, 'the automatic flush of the staged record synced; the big record waits');
  w.flush();
  t.equal(syncs.calls, 2, 'the next flush syncs the big record though nothing was staged');
  w.close();
  const file = fs.readFileSync(path);
  t.same(file.subarray(8), Buffer.concat([small, big]));
});

t.test('a failed write throws JOURNAL_ERR_IO, leaves no partial record, and drops what was not durable', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'none' });
  w.append(row('A', 1, 1));
  w.flush();
  const good = fs.readFileSync(path);
  w.append(row('B', 2, 2));
  w.append(row('C', 3, 3));
  const orig = fs.writeSync;
  let calls = 0;
  // Disk fills up half-way: the first write gets 10 bytes out, the next fails with ENOSPC.
  (fs as { writeSync: unknown }).writeSync = (fd: number, buf: Buffer, off: number): number => {
    calls++;
    if (calls === 1) return orig(fd, buf, off, 10);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  t.teardown(() => { (fs as { writeSync: unknown }).writeSync = orig; });
  t.throws(() => w.flush(), { code: 'JOURNAL_ERR_IO', message: /ENOSPC/ });
  t.same(fs.readFileSync(path), good, 'the 10 written bytes were cut off again');
  t.equal(w.records, 1, 'the staged records are dropped: their rows are withdrawn by the caller, never published');
  t.equal(w.pendingBytes, 0);
  (fs as { writeSync: unknown }).writeSync = orig;
  w.append(row('D', 4, 4));
  w.flush();
  w.close();
  t.match(validate(path), { chunks: 2, ok: true });
});

/** A JournalIo over node:fs that fails writes with ENOSPC while `full` holds. */
function fillable(): { io: JournalIo; full: boolean; syncFails: boolean } {
  const state = {
    full: false,
    syncFails: false,
    io: {
      writeSync: (fd: number, buf: Buffer, off: number, len: number): number => {
        if (state.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return fs.writeSync(fd, buf, off, len);
      },
      fdatasyncSync: (fd: number): void => {
        if (state.syncFails) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        fs.fdatasyncSync(fd);
      },
      ftruncateSync: (fd: number, len: number): void => fs.ftruncateSync(fd, len),
    } satisfies JournalIo,
  };
  return state;
}

t.test('a full disk rolls back to the last successful flush; writing resumes when there is room', async (t) => {
  const path = join(t.testdir(), 'log');
  const disk = fillable();
  const w = JournalWriter.open(path, { fsync: 'none', io: disk.io });
  w.append(row('A', 1, 1));
  w.flush();
  w.append(row('B', 2, 2));
  t.equal(w.undurableRecords, 1, 'one record since the last flush');
  disk.full = true;
  t.throws(() => w.flush(), { code: 'JOURNAL_ERR_IO', message: /ENOSPC/ });
  t.equal(w.records, 1);
  t.equal(w.undurableRecords, 0);
  t.throws(() => { w.append(row('C', 3, 3)); w.flush(); }, { code: 'JOURNAL_ERR_IO' }, 'still full');
  disk.full = false;
  w.append(row('D', 4, 4));
  w.flush();
  w.close();
  t.match(validate(path), { chunks: 2, ok: true }, 'A and D: nothing that failed is in the file');
});

t.test('a failed fdatasync under the batch policy cuts the written records off again', async (t) => {
  const path = join(t.testdir(), 'log');
  const disk = fillable();
  const w = JournalWriter.open(path, { fsync: 'batch', io: disk.io });
  w.append(row('A', 1, 1));
  w.flush();
  const good = fs.readFileSync(path);
  w.append(row('B', 2, 2));
  disk.syncFails = true;
  t.throws(() => w.flush(), { code: 'JOURNAL_ERR_IO', message: /fdatasync/ });
  t.same(fs.readFileSync(path), good, 'B was written, not synced, and is gone');
  t.equal(w.records, 1);
  disk.syncFails = false;
  w.close();
  t.match(validate(path), { chunks: 1, ok: true });
});

t.test('under the record policy a failed append is not counted and leaves the file as it was', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'record' });
  w.append(row('A', 1, 1));
  const orig = fs.fdatasyncSync;
  (fs as { fdatasyncSync: unknown }).fdatasyncSync = (): void => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  };
  t.teardown(() => { (fs as { fdatasyncSync: unknown }).fdatasyncSync = orig; });
  const size = w.bytes;
  t.throws(() => w.append(row('B', 2, 2)), { code: 'JOURNAL_ERR_IO', message: /fdatasync/ });
  t.equal(w.records, 1);
  t.equal(w.bytes, size);
  t.equal(fs.statSync(path).size, size);
  (fs as { fdatasyncSync: unknown }).fdatasyncSync = orig;
  w.close();
});

t.test('an unwritable path is a JOURNAL_ERR_IO', async (t) => {
  const dir = t.testdir();
  t.throws(() => JournalWriter.open(join(dir, 'missing-dir', 'log'), { fsync: 'none' }), { code: 'JOURNAL_ERR_IO' });
});

t.test('close flushes, is idempotent, and a closed writer refuses appends', async (t) => {
  const path = join(t.testdir(), 'log');
  const w = JournalWriter.open(path, { fsync: 'none' });
  w.append(row('A', 1, 1));
  w.close();
  w.close();
  t.ok(w.closed);
  t.match(validate(path), { chunks: 1, ok: true });
  t.throws(() => w.append(row('B', 1, 1)), { code: 'JOURNAL_ERR_IO' });
  t.throws(() => w.append(Buffer.alloc(0)), { code: 'JOURNAL_ERR_IO' });
  const w2 = JournalWriter.open(path, { fsync: 'none' });
  t.throws(() => w2.append(Buffer.alloc(0)), RangeError);
  w2.close();
});

t.test('records written in place (reserve, commit) are rolled back by a failed flush, and a reserve whose flush fails throws', async (t) => {
  const path = join(t.testdir(), 'log');
  const disk = fillable();
  const w = JournalWriter.open(path, { fsync: 'batch', io: disk.io });
  const inPlace = (r: Buffer): void => {
    const at = w.reserve(r.length);
    t.ok(at >= 0, 'room in the stage');
    r.copy(w.stage, at);
    w.commit(r.length);
  };
  inPlace(row('A', 1, 1));
  w.flush();
  const good = fs.readFileSync(path);
  inPlace(row('B', 2, 2));
  inPlace(row('C', 3, 3));
  t.equal(w.undurableRecords, 2);
  disk.full = true;
  t.throws(() => w.flush(), { code: 'JOURNAL_ERR_IO', message: /ENOSPC/ });
  t.equal(w.records, 1, 'B and C are gone');
  t.equal(w.pendingBytes, 0);
  t.same(fs.readFileSync(path), good);
  // Fill the stage so that the next reserve must flush first, then make that flush fail.
  disk.full = false;
  const big = Buffer.alloc(AUTO_FLUSH_BYTES - 64, 1);
  const at = w.reserve(big.length);
  big.copy(w.stage, at);
  w.commit(big.length);
  disk.full = true;
  t.throws(() => w.reserve(128), { code: 'JOURNAL_ERR_IO' }, 'the flush a reserve needs fails');
  t.equal(w.records, 1, 'what it would have flushed is rolled back');
  t.equal(w.pendingBytes, 0);
  disk.full = false;
  inPlace(row('D', 4, 4));
  w.close();
  t.match(validate(path), { chunks: 2, ok: true }, 'A and D');
});
