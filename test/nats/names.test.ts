// The names operators and scripts see on NATS, and the Nats-Msg-Id that orders a stream's messages.
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { checkSource, compare, END, endSubject, leaseBucket, msgId, next, parseMsgId, streamName, streamSubjects, tableSubject } from '../../src/nats/names.js';

// q dates: days since 2000.01.01 (2000.01.01 is 0i, 2026.12.01 is 9831i: (2026.12.01-2000.01.01) in q).
const D_2026_12_01 = 9831;

t.test('a SRC that names a stream is letters, digits, _ or -; anything NATS would split is refused', async (t) => {
  for (const ok of ['sym', 'TP_1', 'eu-west', 'A9']) t.equal(checkSource(ok), ok);
  for (const bad of ['', 'a.b', 'a*', 'a>', 'a b', 'tab\t', 'é']) {
    const e = t.throws(() => checkSource(bad), ConfigError, JSON.stringify(bad)) as Error;
    t.match(e.message, /must be letters, digits, _ or - to name a stream/);
  }
});

t.test('stream, subjects and lease bucket are named from SRC', async (t) => {
  t.equal(streamName('sym'), 'TICK_sym');
  t.equal(tableSubject('sym', 'trade'), 'tick.sym.trade');
  t.equal(endSubject('sym'), 'tick.sym._end');
  t.equal(streamSubjects('sym'), 'tick.sym.>');
  t.equal(leaseBucket('sym'), 'TICK_sym_LEADER');
});

t.test('a message id is the q date and the record index, or end for the end of day', async (t) => {
  t.equal(msgId({ date: 0, index: 0 }), '2000.01.01:0');
  t.equal(msgId({ date: D_2026_12_01, index: 41 }), '2026.12.01:41');
  t.equal(msgId({ date: D_2026_12_01, index: END }), '2026.12.01:end');
  t.equal(msgId({ date: -1, index: 3 }), '1999.12.31:3', 'dates before q\'s epoch');
});

t.test('a message id reads back as the position it names', async (t) => {
  for (const p of [{ date: 0, index: 0 }, { date: D_2026_12_01, index: 41 }, { date: D_2026_12_01, index: END }, { date: -400, index: 7 }, { date: 366, index: 123456789 }]) {
    t.same(parseMsgId(msgId(p)), p, msgId(p));
  }
  t.same(parseMsgId('2024.02.29:5'), { date: 8825, index: 5 }, 'a leap day');
});

t.test('a message id this tickerplant did not write names no position', async (t) => {
  for (const id of [undefined, '', 'abc', '2026.12.01', '2026.12.01:', '2026-12-01:4', '2026.12.01:-1', '2026.12.01:END', ' 2026.12.01:1', '2026.12.01:1x']) {
    t.equal(parseMsgId(id), undefined, JSON.stringify(id));
  }
});

t.test('positions order by day then record, and a day\'s end comes after all its records', async (t) => {
  const a = { date: 5, index: 10 };
  t.ok(compare(a, { date: 5, index: 11 }) < 0);
  t.ok(compare(a, { date: 4, index: 999 }) > 0);
  t.equal(compare(a, { date: 5, index: 10 }), 0);
  t.ok(compare({ date: 5, index: END }, { date: 5, index: 1_000_000_000 }) > 0);
  t.ok(compare({ date: 5, index: END }, { date: 6, index: 0 }) < 0);
});

t.test('the position after a record is the next record; after a day\'s end, the next day\'s first', async (t) => {
  t.same(next({ date: 5, index: 10 }), { date: 5, index: 11 });
  t.same(next({ date: 5, index: END }), { date: 6, index: 0 });
});
