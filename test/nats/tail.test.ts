// Reading a day's journal forward as it grows (src/nats/tail.ts): whole records only, byte for byte as
// written, a record still being written waits, and a resume point skips what was already sent.
// Spec: code.kx.com/q/kb/logging (a journal is a header then one q object per record, as -11! reads).
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { IpcDecodeError } from '../../src/errors.js';
import { floats, list, symbols, timespans } from '../../src/ipc/index.js';
import { JOURNAL_HEADER, JOURNAL_HEADER_BYTES, updRecord } from '../../src/journal/index.js';
import { JournalTail, TailMarks } from '../../src/nats/tail.js';

const rec = (i: number, n = 1): Buffer =>
  updRecord('trade', list(timespans(new Array<bigint>(n).fill(BigInt(i))), symbols(new Array<string>(n).fill('IBM')), floats(new Array<number>(n).fill(i))));

function journal(t: { testdir(): string }, records: Buffer[]): string {
  const path = join(t.testdir(), 'sym2026.01.01');
  writeFileSync(path, Buffer.concat([JOURNAL_HEADER, ...records]));
  return path;
}

function readAll(tail: JournalTail, max = 1000, maxBytes = 1 << 30): Array<[number, string]> {
  const got: Array<[number, string]> = [];
  tail.read(max, maxBytes, (r, i) => got.push([i, r.toString('hex')]));
  return got;
}

t.test('a journal that does not exist is a day without records: nothing read, size is the header', async (t) => {
  const tail = new JournalTail(join(t.testdir(), 'none'));
  t.equal(tail.open(), false);
  t.equal(tail.read(10, 1 << 20, () => t.fail('no record')), 0);
  t.equal(tail.size(), JOURNAL_HEADER_BYTES);
  t.equal(tail.seek(1), false);
});

t.test('every record is handed over with its index, byte for byte as journaled', async (t) => {
  const records = [rec(1), rec(2), rec(3)];
  const tail = new JournalTail(journal(t, records));
  t.teardown(() => tail.close());
  t.same(readAll(tail), records.map((r, i) => [i, r.toString('hex')]));
  t.equal(tail.index, 3);
  t.equal(tail.offset, tail.size(), 'everything written was read');
});

t.test('maxRecords bounds one read, and the next read goes on from there', async (t) => {
  const records = [rec(1), rec(2), rec(3)];
  const tail = new JournalTail(journal(t, records));
  t.teardown(() => tail.close());
  t.same(readAll(tail, 2).map(([i]) => i), [0, 1]);
  t.same(readAll(tail, 2).map(([i]) => i), [2]);
  t.same(readAll(tail, 2), []);
});

t.test('maxBytes bounds one read but always lets one whole record through', async (t) => {
  const records = [rec(1, 100), rec(2, 100), rec(3, 100)];
  const tail = new JournalTail(journal(t, records));
  t.teardown(() => tail.close());
  t.equal(readAll(tail, 10, 1).length, 1, 'one record though it is bigger than maxBytes');
  t.equal(readAll(tail, 10, (records[1] as Buffer).length + 1).length, 2, 'the rest: the bound is checked before each record');
});

t.test('a record still being written stops the read; it is read whole once the rest arrives', async (t) => {
  const r = rec(2);
  const path = journal(t, [rec(1), r.subarray(0, 10)]);
  const tail = new JournalTail(path);
  t.teardown(() => tail.close());
  t.same(readAll(tail).map(([i]) => i), [0]);
  t.same(readAll(tail), []);
  appendFileSync(path, r.subarray(10));
  t.same(readAll(tail), [[1, r.toString('hex')]]);
});

t.test('seek skips to a resume point, false when the file holds fewer records', async (t) => {
  const records = [rec(1), rec(2), rec(3)];
  const path = journal(t, records);
  const tail = new JournalTail(path);
  t.teardown(() => tail.close());
  t.equal(tail.seek(2), true);
  t.same(readAll(tail), [[2, (records[2] as Buffer).toString('hex')]]);
  const short = new JournalTail(path);
  t.teardown(() => short.close());
  t.equal(short.seek(4), false);
  t.equal(short.index, 3, 'it stops at the end of what is there');
});

t.test('a record larger than the 1 MiB read buffer is read whole', async (t) => {
  const big = rec(1, 100_000); // 100k rows of 8 + 4 + 8 bytes: about 2 MB
  t.ok(big.length > 1 << 20);
  const tail = new JournalTail(journal(t, [big, rec(2)]));
  t.teardown(() => tail.close());
  const got = readAll(tail);
  t.same(got.map(([i]) => i), [0, 1]);
  t.equal(got[0]?.[1], big.toString('hex'));
});

t.test('bytes that are no q object are an error, not a silent stop', async (t) => {
  const tail = new JournalTail(journal(t, [rec(1), Buffer.from([0x70, 0, 0, 0, 0, 0])]));
  t.teardown(() => tail.close());
  t.throws(() => readAll(tail), IpcDecodeError);
});

t.test('records are copies: a later read does not change what an earlier one handed over', async (t) => {
  const records = [rec(1), rec(2)];
  const tail = new JournalTail(journal(t, records));
  t.teardown(() => tail.close());
  const held: Buffer[] = [];
  tail.read(1, 1 << 20, (r) => held.push(r));
  tail.read(1, 1 << 20, (r) => held.push(r));
  t.same(held, records);
});

t.test('marks: a reader for record i starts at the last mark at or before it and reads what a reader from the start would', async (t) => {
  const records = Array.from({ length: 40 }, (_, i) => rec(i, 1 + (i % 3)));
  const path = journal(t, records);
  const marks = new TailMarks(100);
  const first = marks.reader(path, 7, 0);
  t.teardown(() => first.close());
  t.equal(first.read(1000, 1 << 20, () => {}), 40, 'one read of every record notes marks all along it');
  for (const i of [0, 1, 5, 17, 39, 40]) {
    const fromMark = marks.reader(path, 7, i);
    t.teardown(() => fromMark.close());
    t.ok(fromMark.index <= i, `record ${i}: the mark is not past it`);
    const fresh = new JournalTail(path);
    t.teardown(() => fresh.close());
    t.equal(fromMark.seek(i), fresh.seek(i));
    t.same(readAll(fromMark), readAll(fresh), `record ${i} on: the same records, with the same indexes`);
  }
  t.ok(marks.reader(path, 7, 39).index > 0, 'a late record starts past the header');
  t.equal(marks.reader(path, 8, 39).index, 0, "another day's journal starts at the header");
  marks.note(8, 1, 200);
  t.equal(marks.reader(path, 7, 39).index, 0, 'a new day forgets the last one');
});
