// openJournal: tick.q's .u.ld — create, count, refuse or truncate a corrupt log, then append.
// Spec: kdb-ipc-and-tick.md §6.4, §7.2.
import t from 'tap';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { JournalCorruptError, openJournal, updRecord, validate } from '../../src/journal/index.js';
import { TpError } from '../../src/errors.js';
import { float, int, list, sym, timespan } from '../../src/ipc/values.js';

const rec = (s: string): Buffer => updRecord('trade', list(timespan(1n), sym(s), float(1), int(1)));

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb): void { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

t.test('a missing log is created with the header and starts at 0 chunks', async (t) => {
  const path = join(t.testdir(), 'sym2024.01.02');
  const { writer, chunks, truncatedFrom } = openJournal(path, { truncate: false, fsync: 'batch' });
  t.equal(chunks, 0);
  t.equal(truncatedFrom, undefined);
  t.equal(writer.records, 0);
  writer.append(rec('A'));
  writer.close();
  t.match(validate(path), { chunks: 1, ok: true });
});

t.test('a new log and the DST folder made for it are not readable by other users (the rows are sold)', async (t) => {
  const dst = join(t.testdir(), 'tplog');
  const path = join(dst, 'sym2024.01.02');
  const { writer } = openJournal(path, { truncate: false, fsync: 'none' });
  writer.close();
  t.equal(fs.statSync(path).mode & 0o600, 0o600, 'the owner reads and writes it');
  t.equal(fs.statSync(path).mode & 0o027, 0, 'the group may only read; others nothing, whatever the umask');
  t.equal(fs.statSync(dst).mode & 0o007, 0, 'nor can others list the folder');
});

t.test('an existing valid log is counted and appended to', async (t) => {
  const path = join(t.testdir(), 'log');
  const first = openJournal(path, { truncate: false, fsync: 'none' });
  for (const s of ['A', 'B', 'C']) first.writer.append(rec(s));
  first.writer.close();
  const again = openJournal(path, { truncate: false, fsync: 'none' });
  t.equal(again.chunks, 3);
  t.equal(again.writer.records, 3);
  t.equal(again.writer.bytes, fs.statSync(path).size);
  again.writer.append(rec('D'));
  again.writer.close();
  t.match(validate(path), { chunks: 4, ok: true });
});

t.test('a corrupt log is refused with tick.q\'s message unless truncation is allowed', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'sym2024.01.02');
  const w = openJournal(path, { truncate: false, fsync: 'none' }).writer;
  w.append(rec('A'));
  w.append(rec('B'));
  w.close();
  const good = fs.statSync(path).size;
  fs.appendFileSync(path, rec('C').subarray(0, 9));
  const err = t.throws(() => openJournal(path, { truncate: false, fsync: 'none' })) as unknown;
  t.ok(err instanceof JournalCorruptError);
  t.ok(err instanceof TpError);
  t.match(err, {
    code: 'JOURNAL_ERR_CORRUPT', path, chunks: 2, validBytes: good,
    message: `:${path} is a corrupt log. Truncate to length ${good} and restart`,
  });
  t.equal(fs.statSync(path).size, good + 9, 'refusing leaves the file untouched');

  const { log, lines } = capture();
  const opened = openJournal(path, { truncate: true, fsync: 'none', log });
  t.equal(opened.chunks, 2);
  t.equal(opened.truncatedFrom, good + 9);
  t.equal(fs.statSync(path).size, good);
  t.match(lines[0], { msg: 'journal tail truncated', path, chunks: 2, validBytes: good, fileBytes: good + 9 });
  opened.writer.append(rec('C'));
  opened.writer.close();
  t.match(validate(path), { chunks: 3, ok: true });
});

t.test('the message names the log as tick.q prints .u.L, e.g. :./sym2024.01.02', async (t) => {
  t.equal(new JournalCorruptError('./sym2024.01.02', 5, 1234).message,
    ':./sym2024.01.02 is a corrupt log. Truncate to length 1234 and restart');
});

t.test('a zero-byte log is treated as new; a bad header is corrupt at length 0', async (t) => {
  const dir = t.testdir({ zero: '', bad: 'not a q log file\n' });
  const zero = openJournal(join(dir, 'zero'), { truncate: false, fsync: 'none' });
  t.equal(zero.chunks, 0);
  zero.writer.close();
  t.equal(fs.readFileSync(join(dir, 'zero')).toString('hex'), 'ff01000000000000');

  t.throws(() => openJournal(join(dir, 'bad'), { truncate: false, fsync: 'none' }),
    { code: 'JOURNAL_ERR_CORRUPT', validBytes: 0, chunks: 0, message: /Truncate to length 0 and restart$/ });
  const bad = openJournal(join(dir, 'bad'), { truncate: true, fsync: 'none' });
  t.equal(bad.truncatedFrom, 17);
  bad.writer.append(rec('A'));
  bad.writer.close();
  t.same(validate(join(dir, 'bad')), { chunks: 1, validBytes: 8 + rec('A').length, fileBytes: 8 + rec('A').length, ok: true });
});
