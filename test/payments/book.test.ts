// The invoice book (src/payments/book.ts): write-ahead (a mint the disk refuses throws, so the invoice is
// never handed out), closes kept and retried, compaction on load to what may still be paid, and an
// expiry by our clock held until lnd confirms it.
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
  book.close(entry(1).r_hash, 'canceled');
  t.equal(book.unwritten, 1);
  t.notOk(book.has(entry(1).r_hash), 'closed in memory at once');
  file.failing = undefined;
  clock.advanceMs(5000);
  t.equal(book.unwritten, 0);
  t.match(readFileSync(path, 'utf8'), /"op":"close".*"reason":"canceled"/);
});

const hashesIn = (path: string): string[] =>
  readFileSync(path, 'utf8').trim().split('\n').map((l) => { const r = JSON.parse(l) as { op: string; r_hash: string }; return `${r.op} ${r.r_hash.slice(-1)}`; });

t.test('on load, entries lnd closed and settled ones are dropped and the file compacted to what may still be paid', async (t) => {
  const path = join(t.testdir(), 'invoices.jsonl');
  const first = open(path);
  for (const n of [1, 2, 3, 4]) first.book.mint(entry(n));
  first.book.close(entry(2).r_hash, 'canceled');
  first.book.close(entry(4).r_hash, 'missing');
  first.book.shutdown();
  const second = open(path, (h) => h === entry(3).r_hash);
  t.same(second.book.unconfirmed().map((e) => e.add_index), ['1']);
  t.same(hashesIn(path), ['mint 1']);
});

t.test('an invoice our clock expired stays booked, across a restart too, until lnd confirms it or it settles', async (t) => {
  const path = join(t.testdir(), 'invoices.jsonl');
  const first = open(path);
  for (const n of [1, 2, 3]) first.book.mint(entry(n));
  for (const n of [1, 2, 3]) first.book.close(entry(n).r_hash, 'expired');
  first.book.close(entry(1).r_hash, 'expired');
  t.same(hashesIn(path), ['mint 1', 'mint 2', 'mint 3', 'close 1', 'close 2', 'close 3'], 'one close line each');
  t.ok(first.book.get(entry(1).r_hash), 'a settlement heard late is still ours');
  first.book.close(entry(2).r_hash, 'canceled');
  t.notOk(first.book.has(entry(2).r_hash), 'lnd confirmed it: forgotten');
  first.book.shutdown();
  const second = open(path);
  t.same(second.book.unconfirmed().map((e) => e.add_index), ['1', '3'], 'the unconfirmed ones survive the restart');
  t.same(hashesIn(path), ['mint 1', 'mint 3', 'close 1', 'close 3'], 'compacted, the expired marks kept');
  second.book.settled(entry(3).r_hash);
  t.notOk(second.book.has(entry(3).r_hash), 'settled: the ledger holds it now');
  second.book.shutdown();
  const third = open(path, (h) => h === entry(3).r_hash);
  t.same(third.book.unconfirmed().map((e) => e.add_index), ['1'], 'the ledger has 3; 1 is still unconfirmed');
  t.same(hashesIn(path), ['mint 1', 'close 1'], 'a load after a load keeps the mark');
});
