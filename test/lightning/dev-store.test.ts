// The dev node's invoice file (src/lightning/dev-store.ts): JSON lines, the last line per r_hash wins, a
// torn last line is dropped, any other bad line is corruption, and a rewrite leaves one line per invoice.
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { DevInvoiceFile } from '../../src/lightning/dev-store.js';
import type { DevInvoiceRecord } from '../../src/lightning/dev-store.js';

const b32 = (n: number): Buffer => Buffer.alloc(32, n);

function record(n: number, extra: Partial<DevInvoiceRecord> = {}): DevInvoiceRecord {
  return {
    rHash: b32(n), preimage: b32(n + 100), paymentSecret: b32(n + 200), paymentRequest: `lnbcrt${n}`,
    addIndex: BigInt(n), valueSat: 21_000_000n * 100_000_000n, memo: `memo ${n} ✓`, creationDate: 1_767_225_600,
    expirySeconds: 600, state: 'OPEN', settleIndex: 0n, amountPaidSat: 0n, settleDate: 0, ...extra,
  };
}

function fileIn(t: { testdir(): string }): DevInvoiceFile {
  return new DevInvoiceFile(join(t.testdir(), 'dev-invoices.jsonl'));
}

t.test('a missing file loads as no invoices', async (t) => {
  t.same(fileIn(t).load(), { records: [], lines: 0, tornTail: false });
});

t.test('appended records load back equal, bigints and buffers included, in add_index order', async (t) => {
  const f = fileIn(t);
  f.open();
  f.append(record(2));
  f.append(record(1));
  f.close();
  const loaded = f.load();
  t.same(loaded.records, [record(1), record(2)]);
  t.equal(loaded.lines, 2);
  t.equal(statSync(f.path).mode & 0o777, 0o600, 'it holds preimages: owner only');
});

t.test('the last line for an r_hash wins: a settlement after the add', async (t) => {
  const f = fileIn(t);
  f.open();
  f.append(record(1));
  const settled = record(1, { state: 'SETTLED', settleIndex: 1n, amountPaidSat: 5n, settleDate: 1_767_225_700 });
  f.append(settled);
  f.close();
  const loaded = f.load();
  t.same(loaded.records, [settled]);
  t.equal(loaded.lines, 2, 'superseded lines are counted');
});

t.test('a torn last line is dropped and reported; one that only lost its newline is kept', async (t) => {
  const f = fileIn(t);
  f.open();
  f.append(record(1));
  f.close();
  const whole = readFileSync(f.path, 'utf8');
  appendFileSync(f.path, whole.slice(0, 40));
  const torn = f.load();
  t.same(torn.records, [record(1)]);
  t.equal(torn.tornTail, true);
  writeFileSync(f.path, whole + whole.replace('"OPEN"', '"SETTLED"').trimEnd());
  const unterminated = f.load();
  t.equal(unterminated.tornTail, true);
  t.equal(unterminated.records[0]?.state, 'SETTLED');
});

t.test('a malformed line before the last is corruption naming its line number', async (t) => {
  const f = fileIn(t);
  f.open();
  f.append(record(1));
  f.close();
  const good = readFileSync(f.path, 'utf8');
  const bad: Array<[string, string]> = [
    ['not json', 'not json'],
    ['an array', '[]'],
    ['a short hash', good.replace(/"rHash":"[0-9a-f]+"/, '"rHash":"abcd"').trimEnd()],
    ['an unknown state', good.replace('"OPEN"', '"PAID"').trimEnd()],
    ['a number where a decimal string belongs', good.replace(/"addIndex":"1"/, '"addIndex":1').trimEnd()],
    ['a leading zero', good.replace(/"addIndex":"1"/, '"addIndex":"01"').trimEnd()],
    ['a negative date', good.replace(/"settleDate":0/, '"settleDate":-1').trimEnd()],
  ];
  for (const [what, line] of bad) {
    writeFileSync(f.path, good + line + '\n');
    t.throws(() => f.load(), { code: 'JOURNAL_ERR_CORRUPT', message: `${f.path} line 2 is not an invoice record` }, what);
  }
});

t.test('rewrite replaces the file with one line per record and keeps appending after it when it was open', async (t) => {
  const f = fileIn(t);
  f.open();
  for (let i = 1; i <= 3; i++) f.append(record(i));
  f.append(record(1, { state: 'CANCELED' }));
  f.rewrite([record(1, { state: 'CANCELED' }), record(3)]);
  f.append(record(4));
  f.close();
  const loaded = f.load();
  t.same(loaded.records.map((r) => [r.addIndex, r.state]), [[1n, 'CANCELED'], [3n, 'OPEN'], [4n, 'OPEN']]);
  t.equal(loaded.lines, 3);
  t.equal(statSync(f.path).mode & 0o777, 0o600);
});

t.test('appending to a file that is not open is an error; opening twice and closing twice are harmless', async (t) => {
  const f = fileIn(t);
  t.throws(() => f.append(record(1)), { code: 'JOURNAL_ERR_IO', message: /is not open/ });
  f.open();
  f.open();
  f.close();
  f.close();
  t.throws(() => f.append(record(1)), { code: 'JOURNAL_ERR_IO' });
});

t.test('a path that cannot be opened, read or rewritten is an I/O error naming the action', async (t) => {
  const dir = t.testdir();
  const f = new DevInvoiceFile(join(dir, 'missing-dir', 'dev-invoices.jsonl'));
  t.throws(() => f.open(), { code: 'JOURNAL_ERR_IO', message: /^cannot open / });
  t.throws(() => f.rewrite([]), { code: 'JOURNAL_ERR_IO', message: /^cannot rewrite / });
  t.throws(() => new DevInvoiceFile(dir).load(), { code: 'JOURNAL_ERR_IO', message: /^cannot read / });
});

t.test('an append that fails part-way (a full disk) is cut off: the next record does not land on its bytes', async (t) => {
  const f = fileIn(t);
  f.open();
  f.append(record(1));
  const fs = createRequire(import.meta.url)('node:fs') as Record<string, (...a: unknown[]) => unknown>;
  const real = fs['writeSync']!;
  fs['writeSync'] = (fd: unknown, b: unknown, off: unknown) => {
    real(fd, b, off, 10); // 10 bytes reach the file, then ENOSPC
    throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
  };
  syncBuiltinESMExports();
  t.teardown(() => { fs['writeSync'] = real; syncBuiltinESMExports(); });
  t.throws(() => f.append(record(2)), { code: 'JOURNAL_ERR_IO' });
  fs['writeSync'] = real;
  syncBuiltinESMExports();
  f.append(record(3));
  f.close();
  const loaded = f.load();
  t.same(loaded.records, [record(1), record(3)], 'both whole records load; the failed one left nothing');
  t.equal(loaded.tornTail, false);
});
