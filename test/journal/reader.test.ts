// validate / replay / truncate: q's -11!(-2;L) and -11!(n;L) over real files, streamed in blocks.
// Spec: kdb-ipc-and-tick.md §7.1–7.2.
import t from 'tap';
import type { Test } from 'tap';
import fs from 'node:fs';
import { join } from 'node:path';
import { replay, truncate, validate } from '../../src/journal/reader.js';
import { JOURNAL_HEADER, updRecord } from '../../src/journal/format.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { float, floats, int, ints, list, longs, sym, symbols, timespan, timespans } from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';

const row = (s: string, price: number, size: number): QValue =>
  list(timespan(36_000_000_000_000n), sym(s), float(price), int(size));

const fixture = (name: string): Buffer =>
  Buffer.from(fs.readFileSync(new URL(`../fixtures/journal/${name}`, import.meta.url), 'latin1').trim(), 'hex');

/** A journal file of the given records, written by hand (header + payloads). */
function journal(dir: string, name: string, records: Buffer[]): { path: string; ends: number[] } {
  const path = join(dir, name);
  const ends: number[] = [];
  let n = 8;
  for (const r of records) { n += r.length; ends.push(n); }
  fs.writeFileSync(path, Buffer.concat([JOURNAL_HEADER, ...records]));
  return { path, ends };
}

/** Records every fs.readSync length until the test ends. */
function spyReads(t: Test): number[] {
  const lengths: number[] = [];
  const orig = fs.readSync;
  (fs as { readSync: unknown }).readSync = (...args: unknown[]): number => {
    if (typeof args[3] === 'number') lengths.push(args[3]);
    return (orig as (...a: unknown[]) => number).apply(fs, args);
  };
  t.teardown(() => { (fs as { readSync: unknown }).readSync = orig; });
  return lengths;
}

t.test('the SO 72488931 q dump (set () then h enlist (1 2;3)) is one chunk', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'out');
  // read1`:out as printed by q: the header, then -8!(1 2;3) without its 8-byte IPC header.
  fs.writeFileSync(path, fixture('so-72488931.hex'));
  t.same(validate(path), { chunks: 1, validBytes: 45, fileBytes: 45, ok: true });
  const got: QValue[] = [];
  replay(path, (v) => got.push(v));
  t.same(got, [list(longs([1n, 2n]), { type: -7, value: 3n })]);
});

t.test('a log holding only the header is valid with 0 chunks', async (t) => {
  const { path } = journal(t.testdir(), 'empty', []);
  t.same(validate(path), { chunks: 0, validBytes: 8, fileBytes: 8, ok: true });
  t.same(replay(path, () => t.fail('no records')), { chunks: 0, validBytes: 8, ok: true });
});

t.test('a file shorter than the header or with a wrong header is corrupt with validBytes 0', async (t) => {
  const dir = t.testdir({
    zero: '',
    three: Buffer.from('ff0100', 'hex'),
    seven: Buffer.from('ff010000000000', 'hex'),
    ipc: Buffer.concat([Buffer.from('0100000011000000', 'hex'), updRecord('trade', row('A', 1, 1))]),
    text: 'trade:([]time:`timespan$())\n',
  });
  for (const name of ['zero', 'three', 'seven', 'ipc', 'text']) {
    const size = fs.statSync(join(dir, name)).size;
    t.same(validate(join(dir, name)), { chunks: 0, validBytes: 0, fileBytes: size, ok: false }, name);
  }
});

t.test('a torn last record, cut at every byte, leaves the whole records before it', async (t) => {
  const dir = t.testdir();
  const recs = [updRecord('trade', row('IBM', 100, 10)), updRecord('quote', row('MSFT', 1.5, 2)),
    updRecord('trade', list(timespans([1n, 2n]), symbols(['A', 'B']), floats([1, 2]), ints([3, 4])))];
  const full = journal(dir, 'full', recs);
  const bytes = fs.readFileSync(full.path);
  const lastStart = full.ends[1] as number;
  for (let cut = lastStart; cut < bytes.length; cut++) {
    fs.writeFileSync(full.path, bytes.subarray(0, cut));
    const v = validate(full.path);
    t.same(v, { chunks: 2, validBytes: lastStart, fileBytes: cut, ok: cut === lastStart }, `cut at ${cut}`);
  }
  for (let cut = 8; cut < bytes.length; cut++) {
    fs.writeFileSync(full.path, bytes.subarray(0, cut));
    const whole = full.ends.filter((e) => e <= cut);
    const v = validate(full.path, { blockBytes: 16 });
    t.equal(v.chunks, whole.length, `16-byte blocks, cut at ${cut}`);
    t.equal(v.validBytes, whole.length === 0 ? 8 : whole[whole.length - 1]);
  }
});

t.test('garbage after the last record is detected and the valid prefix reported', async (t) => {
  const dir = t.testdir();
  const recs = [updRecord('trade', row('IBM', 100, 10)), updRecord('trade', row('IBM', 101, 11))];
  const good = Buffer.concat([JOURNAL_HEADER, ...recs]);
  const tails: Record<string, Buffer> = {
    'a newline': Buffer.from('\n'),
    'text': Buffer.from('hello world'),
    'an unknown type byte': Buffer.from([3, 0, 0, 0, 0, 0]),
    'a bad attribute': Buffer.from([7, 9, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
    'a negative vector count': Buffer.from([7, 0, 0xff, 0xff, 0xff, 0xff]),
    'a huge list count': Buffer.from([0, 0, 0xff, 0xff, 0xff, 0x7f, 0xf5, 0x41, 0]),
    'an unterminated symbol': Buffer.from([0xf5, 0x41, 0x42]),
    'a lone ff': Buffer.from([0xff]),
  };
  for (const [what, tail] of Object.entries(tails)) {
    const path = join(dir, 'log');
    fs.writeFileSync(path, Buffer.concat([good, tail]));
    t.same(validate(path), { chunks: 2, validBytes: good.length, fileBytes: good.length + tail.length, ok: false }, what);
    const seen: number[] = [];
    t.same(replay(path, (_, i) => seen.push(i)), { chunks: 2, validBytes: good.length, ok: false }, `replay, ${what}`);
    t.same(seen, [0, 1]);
  }
});

t.test('a malformed record ends the valid prefix for validate and replay alike', async (t) => {
  // A table (98) whose inside is not a dict: neither skipValue nor decodePayload accepts it.
  const bad = Buffer.from('6200f90100000000000000', 'hex');
  const { path } = journal(t.testdir(), 'log', [updRecord('trade', row('A', 1, 1)), bad]);
  const good = 8 + updRecord('trade', row('A', 1, 1)).length;
  t.match(validate(path), { chunks: 1, validBytes: good, ok: false }, 'validate stops before it');
  t.same(replay(path, () => undefined), { chunks: 1, validBytes: good, ok: false }, 'replay agrees');
});

t.test('truncating to validBytes, reopening and appending gives a valid log again', async (t) => {
  const dir = t.testdir();
  const recs = [updRecord('trade', row('IBM', 100, 10)), updRecord('trade', row('IBM', 101, 11))];
  const { path } = journal(dir, 'log', recs);
  fs.appendFileSync(path, Buffer.from('000003000000f5757064', 'hex')); // a torn third record
  const v = validate(path);
  t.match(v, { chunks: 2, ok: false });
  truncate(path, v.validBytes);
  t.same(validate(path), { chunks: 2, validBytes: v.validBytes, fileBytes: v.validBytes, ok: true });
  const w = JournalWriter.open(path, { fsync: 'batch', records: 2 });
  w.append(updRecord('trade', row('IBM', 102, 12)));
  w.close();
  t.match(validate(path), { chunks: 3, ok: true });
  t.throws(() => truncate(path, v.validBytes + 1000), RangeError);
  t.throws(() => truncate(join(dir, 'nope'), 8), { code: 'JOURNAL_ERR_IO' });
});

t.test('replay delivers exactly the records, in order, and honours limit', async (t) => {
  const values = Array.from({ length: 25 }, (_, i) => row(`S${i}`, i * 1.5, i));
  const { path, ends } = journal(t.testdir(), 'log', values.map((v, i) => updRecord(i % 2 ? 'quote' : 'trade', v)));
  const all: QValue[] = [];
  const idx: number[] = [];
  t.same(replay(path, (v, i) => { all.push(v); idx.push(i); }), { chunks: 25, validBytes: ends[24], ok: true });
  t.same(idx, Array.from({ length: 25 }, (_, i) => i));
  t.same(all, values.map((v, i) => list(sym('upd'), sym(i % 2 ? 'quote' : 'trade'), v)));
  for (const limit of [0, 1, 7, 25, 100]) {
    const got: QValue[] = [];
    const r = replay(path, (v) => got.push(v), { limit, blockBytes: 64 });
    const n = Math.min(limit, 25);
    t.same(r, { chunks: n, validBytes: n === 0 ? 8 : ends[n - 1], ok: true }, `limit ${limit}`);
    t.same(got, all.slice(0, n));
  }
  const got: QValue[] = [];
  replay(path, (v) => got.push(v), { limit: -1 });
  t.equal(got.length, 25, 'a negative limit means all, as -11!(-1;L)');
});

t.test('a reader resuming at a position gets the records from there, the ones before walked over undecoded', async (t) => {
  const values = Array.from({ length: 12 }, (_, i) => row(`S${i}`, i, i));
  const { path, ends } = journal(t.testdir(), 'log', values.map((v) => updRecord('trade', v)));
  for (const [from, limit] of [[0, 12], [5, 12], [5, 9], [11, 12], [12, 12], [3, -1]] as const) {
    const got: QValue[] = [];
    const idx: number[] = [];
    const r = replay(path, (v, i) => { got.push(v); idx.push(i); }, { from, limit, blockBytes: 64 });
    const end = limit < 0 ? 12 : limit;
    t.same(idx, Array.from({ length: end - from }, (_, i) => from + i), `from ${from} limit ${limit}: indexes`);
    t.same(got, values.slice(from, end).map((v) => list(sym('upd'), sym('trade'), v)));
    t.same(r, { chunks: end, validBytes: ends[end - 1], ok: true }, 'skipped records count in chunks and bytes');
  }
});

t.test('an error thrown by the callback stops replay and propagates', async (t) => {
  const { path } = journal(t.testdir(), 'log', [updRecord('trade', row('A', 1, 1)), updRecord('trade', row('B', 1, 1))]);
  let n = 0;
  t.throws(() => replay(path, () => { n++; throw new Error('upd'); }), { message: 'upd' });
  t.equal(n, 1);
});

t.test('a record larger than the block grows the block', async (t) => {
  const big = updRecord('trade', list(longs(new BigInt64Array(10_000).fill(7n))));
  const { path } = journal(t.testdir(), 'log', [updRecord('trade', row('A', 1, 1)), big, updRecord('trade', row('B', 1, 1))]);
  const size = fs.statSync(path).size;
  t.same(validate(path, { blockBytes: 1024 }), { chunks: 3, validBytes: size, fileBytes: size, ok: true });
  const got: QValue[] = [];
  t.match(replay(path, (v) => got.push(v), { blockBytes: 1024 }), { chunks: 3, ok: true });
  t.same((got[1] as { items: QValue[] }).items[2], list(longs(new BigInt64Array(10_000).fill(7n))));
  t.match(validate(path, { blockBytes: 1024, maxRecordBytes: 4096 }), { chunks: 1, ok: false },
    'a record longer than maxRecordBytes counts as corrupt');
});

t.test('onProgress reports growing byte counts ending at the valid length', async (t) => {
  const { path, ends } = journal(t.testdir(), 'log', Array.from({ length: 100 }, (_, i) => updRecord('trade', row('S', i, i))));
  const seen: Array<[number, number]> = [];
  replay(path, () => undefined, { blockBytes: 256, onProgress: (done, total) => seen.push([done, total]) });
  t.ok(seen.length > 5);
  t.ok(seen.every(([d], i) => i === 0 || d >= (seen[i - 1] as [number, number])[0]));
  t.same(seen[seen.length - 1], [ends[99], ends[99]]);
});

t.test('validating a 50 MB journal streams it in blocks and counts every record', async (t) => {
  const path = join(t.testdir(), 'big');
  const w = JournalWriter.open(path, { fsync: 'none' });
  const n = 40;
  const rec = updRecord('trade', list(timespans(new BigInt64Array(n)), symbols(Array.from({ length: n }, (_, i) => `SYM${i}`)),
    floats(new Float64Array(n)), ints(new Int32Array(n))));
  const count = Math.ceil(50_000_000 / rec.length);
  for (let i = 0; i < count; i++) w.append(rec);
  w.close();
  const size = fs.statSync(path).size;
  t.ok(size >= 50_000_000);
  const reads = spyReads(t);
  const block = 8 << 20;
  t.same(validate(path), { chunks: count, validBytes: size, fileBytes: size, ok: true });
  t.ok(reads.length >= Math.floor(size / block), `${reads.length} reads`);
  t.ok(Math.max(...reads) <= block, 'no read is larger than one 8 MiB block');
  t.equal(reads.reduce((a, b) => a + b, 0), size, 'each byte is read once');
});
