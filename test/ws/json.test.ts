// q values → JSON: columnar tables, q-style temporal strings, safe longs, nulls; tick events → JSON events.
import t from 'tap';
import {
  bool, date, dict, encodeMessage, float, floats, guid, int, ints, list, long, longs, MsgType, NULL_INT, NULL_LONG,
  Outbound, str, sym, symbols, table, timespan, timespans, timestamp, INF_LONG,
} from '../../src/ipc/index.js';
import { endJson, toJson, updJson } from '../../src/ws/json.js';

const NS = 1_000_000_000n;
/** 2024.01.02 as a q date. */
const D = 8767;

t.test('a table becomes {columns, data} with one array per column', async (t) => {
  const trade = table(['time', 'sym', 'price', 'size'], [
    timespans([10n * 3600n * NS, 10n * 3600n * NS + 1n]),
    symbols(['AAPL', 'MSFT']),
    floats([189.5, 402.25]),
    ints([100, 200]),
  ]);
  t.same(toJson(trade), {
    columns: ['time', 'sym', 'price', 'size'],
    data: {
      time: ['0D10:00:00.000000000', '0D10:00:00.000000001'],
      sym: ['AAPL', 'MSFT'],
      price: [189.5, 402.25],
      size: [100, 200],
    },
  });
});

t.test('temporal values are q-style strings: dates, timespans, timestamps as ISO with nanoseconds', async (t) => {
  t.equal(toJson(date(D)), '2024.01.02');
  t.equal(toJson(date(-1)), '1999.12.31');
  t.equal(toJson(timespan(-(90n * NS))), '-0D00:01:30.000000000');
  t.equal(toJson(timestamp(BigInt(D) * 86_400n * NS + 34_200n * NS + 123_456_789n)), '2024-01-02T09:30:00.123456789Z');
  t.equal(toJson(timestamp(-1n)), '1999-12-31T23:59:59.999999999Z', 'before 2000 rounds down to the second');
  t.equal(toJson({ type: -13, value: 288 }), '2024.01m', 'month');
  t.equal(toJson({ type: -17, value: 605 }), '10:05', 'minute');
  t.equal(toJson({ type: -18, value: 36_005 }), '10:00:05', 'second');
  t.equal(toJson({ type: -19, value: 36_000_007 }), '10:00:00.007', 'time');
  t.equal(toJson({ type: -15, value: D + 0.5 }), '2024-01-02T12:00:00.000Z', 'datetime');
});

t.test('longs are numbers when exact and strings beyond 2^53; nulls are null', async (t) => {
  t.same(toJson(longs([1n, 2n ** 53n + 1n, -(2n ** 60n), NULL_LONG])), [1, '9007199254740993', '-1152921504606846976', null]);
  t.equal(toJson(long(INF_LONG)), '9223372036854775807', "a long's infinity is just a big number");
  t.equal(toJson(timespan(INF_LONG)), '0W', "a timespan's infinity is q's 0W");
  t.same(toJson(ints([1, NULL_INT])), [1, null]);
  t.same(toJson(floats([1.5, NaN, Infinity, -Infinity])), [1.5, null, '0w', '-0w']);
  t.same(toJson(timespans([NULL_LONG])), [null]);
  t.equal(toJson(float(NaN)), null);
  t.equal(toJson(int(NULL_INT)), null);
  t.equal(toJson(date(NULL_INT)), null);
});

t.test('symbols, strings, booleans, guids, lists and dicts', async (t) => {
  t.equal(toJson(sym('AAPL')), 'AAPL');
  t.equal(toJson(str('héllo')), 'héllo', 'a char vector is one UTF-8 string');
  t.same(toJson(bool(true)), true);
  t.same(toJson({ type: 1, attr: 0, data: Uint8Array.from([1, 0]) }), [true, false]);
  t.equal(toJson(guid('0A0B0C0D-0000-0000-0000-000000000001')), '0a0b0c0d-0000-0000-0000-000000000001');
  t.same(toJson({ type: 2, attr: 0, data: Uint8Array.from({ length: 16 }, (_, i) => i) }), ['00010203-0405-0607-0809-0a0b0c0d0e0f']);
  t.same(toJson(list(sym('a'), long(1n), str('b'))), ['a', 1, 'b']);
  t.same(toJson(dict(symbols(['r_hash', 'payment_request']), list(str('qg=='), str('lnbcrt1')))),
    { r_hash: 'qg==', payment_request: 'lnbcrt1' }, 'a dict with symbol keys is an object');
  t.same(toJson(dict(ints([1, 2]), symbols(['x', 'y']))), { keys: [1, 2], values: ['x', 'y'] }, 'other dicts: keys and values');
  const strings = table(['sym', 'note'], [symbols(['A']), list(str('first note'))]);
  t.same(toJson(strings), { columns: ['sym', 'note'], data: { sym: ['A'], note: ['first note'] } }, 'a string column');
});

t.test('update and end-of-day events become upd and end JSON events, rendered from their columns', async (t) => {
  const cols = [timespans([0n]), symbols(['IBM']), floats([1]), ints([2])];
  // The message is deliberately not the rows' encoding: the JSON must come from the columns, not a decode.
  const message = new Outbound(encodeMessage(list(sym('x')), MsgType.Async));
  const e = { kind: 'upd' as const, table: 'trade', names: ['time', 'sym', 'price', 'size'], rows: 1, columns: () => cols, message };
  t.same(JSON.parse(updJson(e).toString('utf8')), {
    type: 'upd', table: 'trade',
    data: { columns: ['time', 'sym', 'price', 'size'], data: { time: ['0D00:00:00.000000000'], sym: ['IBM'], price: [1], size: [2] } },
  });
  const end = { kind: 'end' as const, date: D, message: new Outbound(encodeMessage(list(sym('.u.end'), date(D)), MsgType.Async)) };
  t.equal(endJson(end).toString('utf8'), '{"type":"end","date":"2024.01.02"}');
});

t.test('an event is rendered to JSON once however many clients read it', async (t) => {
  let built = 0;
  const cols = [timespans([0n]), symbols(['IBM'])];
  const message = new Outbound(encodeMessage(list(sym('x')), MsgType.Async));
  const e = { kind: 'upd' as const, table: 'trade', names: ['time', 'sym'], rows: 1, columns: () => { built++; return cols; }, message };
  const a = updJson(e);
  const b = updJson(e);
  t.equal(a, b, 'the same bytes: computed once per event');
  t.equal(built, 1, 'the columns were asked for once');
});
