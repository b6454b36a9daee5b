// The invoice book (src/payments/book.ts): write-ahead (a mint the disk refuses throws, so the invoice is
// never handed out), closes kept and retried, and compaction on load to what may still be paid.
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { InvoiceBook } from '../../src/payments/index.js';
import type { BookEntry } from '../../src/payments/index.js';
import { LogSink, T0 } from '../helpers/tp.js';
import { FlakyFile } from './harness.js';

const entry = (n: number): BookEntry => ({
  r_hash: String(n).padStart(64, '0'), add_index: String(n), payment_request: `lnbcrt${n}`, amount_sat: 100,
  requests: [{ table: 'trade', syms: ['IBM'] }], user: 'alice', handle: 5, peer: '10.0.0.1:5000',
  created: 1_700_000_000, expiry: 3600, kind: 'Invoice', renews: null,
});

function open(path: string, settled: (h: string) => boolean = () => false, file = new FlakyFile(path)) {
  const clock = new ManualClock(T0);
  const sink = new LogSink();
  return { book: new InvoiceBook({ file, after: clock.after.bind(clock), log: createLogger('debug', sink), settled }), file, clock, sink };
}

t.test('a minted invoice is on disk when mint returns; a refused write throws and books nothing', async (t) => {
  const path = join(t.testdir(), 'invoices.jsonl');
  const { book, file, sink } = open(path);
  book.mint(entry(1));
  t.match(JSON.parse(readFileSync(path, 'utf8').trim()), { op: 'mint', ...entry(1) });
  file.failing = 'EIO';
  t.throws(() => book.mint(entry(2)), /EIO/);
  t.notOk(book.has(entry(2).r_hash), 'not booked');
  t.equal(book.writeFailures, 1);
  t.ok(sink.messages().includes('payment record not written'));
});

t.test('a close the disk refuses is kept and written on a later retry', async (t) => {
  const path = join(t.testdir(), 'invoices.jsonl');
  const { book, file, clock } = open(path);
  book.mint(entry(1));
  file.failing = 'ENOSPC';
  book.close(entry(1).r_hash, 'expired');
  t.equal(book.unwritten, 1);
  t.same(book.open(), [], 'closed in memory at once');
  file.failing = undefined;
  clock.advanceMs(5000);
  t.equal(book.unwritten, 0);
  t.match(readFileSync(path, 'utf8'), /"op":"close".*"reason":"expired"/);
});

t.test('on load, closed and settled entries are dropped and the file compacted to the open ones', async (t) => {
  const path = join(t.testdir(), 'invoices.jsonl');
  const first = open(path);
  for (const n of [1, 2, 3]) first.book.mint(entry(n));
  first.book.close(entry(2).r_hash, 'canceled');
  first.book.shutdown();
  const second = open(path, (h) => h === entry(3).r_hash);
  t.same(second.book.open().map((e) => e.add_index), ['1']);
  t.same(readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as BookEntry).add_index), ['1']);
});
