// Journal bytes and names: header, record payloads, tick.q's file naming. Spec: kdb-ipc-and-tick.md §4.4, §7.1.
import t from 'tap';
import { JOURNAL_HEADER, isJournalHeader, logPath, logSymbol, updRecord } from '../../src/journal/format.js';
import { float, floats, int, ints, list, sym, symbols, table, timespan, timespans } from '../../src/ipc/values.js';
import { Attr } from '../../src/ipc/types.js';

const TEN_AM = 36_000_000_000_000n; // 0D10:00 in ns

t.test('the header is what `L set ()` writes', async (t) => {
  t.equal(JOURNAL_HEADER.toString('hex'), 'ff01000000000000');
  t.ok(isJournalHeader(JOURNAL_HEADER));
  t.ok(isJournalHeader(Buffer.from('ff01000000000007', 'hex')), 'the never-maintained count is not checked');
  t.notOk(isJournalHeader(Buffer.from('ff010000000000', 'hex')), 'too short');
  t.notOk(isJournalHeader(Buffer.from('0100000000000000', 'hex')), 'an IPC header is not a log header');
  t.notOk(isJournalHeader(Buffer.from('ff010b0000000000', 'hex')), 'a symbol-vector file is not a log');
});

t.test('the log path is DST/SRC followed by the date, and .u.L prefixes a colon', async (t) => {
  t.equal(logPath('.', 'sym', 8767), './sym2024.01.02');
  t.equal(logPath('/var/tp', 'taq', 0), '/var/tp/taq2000.01.01');
  t.equal(logSymbol('./sym2024.01.02'), ':./sym2024.01.02');
  t.equal(logSymbol('/var/tp/sym2024.01.02'), ':/var/tp/sym2024.01.02');
  t.equal(logSymbol(':./sym2024.01.02'), ':./sym2024.01.02', 'already a file symbol');
});

t.test('a single-row record is (`upd;`trade;row) exactly as §7.1 derives it', async (t) => {
  const rec = updRecord('trade', list(timespan(TEN_AM), sym('IBM'), float(100), int(10)));
  t.equal(rec.toString('hex'), [
    '000003000000', 'f575706400', 'f5747261646500', '000004000000',
    'f0004036e7bd200000', 'f549424d00', 'f70000000000005940', 'fa0a000000',
  ].join(''));
});

t.test('a table record equals the payload of the §4.4 publish message', async (t) => {
  const tbl = table(['time', 'sym', 'price', 'size'],
    [timespans([TEN_AM]), symbols(['IBM'], Attr.None), floats([100]), ints([10])]);
  const msg = '010000006d000000000003000000f575706400f57472616465006200630b000400000074696d650073796d00' +
    '70726963650073697a6500000004000000100001000000004036e7bd2000000b000100000049424d000900010000000000' +
    '00000000594006000100000' + '00a000000';
  t.equal(updRecord('trade', tbl).toString('hex'), msg.slice(16));
});

t.test('updRecord returns a fresh buffer each time and rejects a NUL in the table name', async (t) => {
  const row = list(timespan(TEN_AM), sym('IBM'), float(100), int(10));
  const a = updRecord('trade', row);
  const b = updRecord('quote', row);
  t.equal(a.subarray(12, 18).toString('latin1'), 'trade\0');
  t.equal(b.subarray(12, 18).toString('latin1'), 'quote\0', 'a later call does not overwrite an earlier record');
  a.fill(0);
  t.equal(updRecord('quote', row).toString('hex'), b.toString('hex'));
  t.throws(() => updRecord('a\0b', row), { code: 'IPC_ERR_ENCODE' });
});

t.test('updRecord cost per single-row record is reported', async (t) => {
  const row = list(timespan(TEN_AM), sym('IBM'), float(100), int(10));
  const n = 200_000;
  for (let i = 0; i < n / 10; i++) updRecord('trade', row);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) updRecord('trade', row);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  t.comment(`updRecord: ${ns.toFixed(0)} ns per single-row record`);
  t.ok(ns < 50_000, 'well under a q tickerplant\'s ~13 µs log cost (generous bound for slow CI)');
});
