// Our codec against node-q's (an independent JS implementation of the kdb+ codec) on the same bytes:
// node-q reads what we write, and we read what node-q writes. Spec: kdb-ipc-and-tick.md §3, §9.
//
// node-q's value mapping (lib/c.js, defaults nanos2date/flipTables/emptyChar2null/long2number on):
// short/int/long nulls → null, infinities → ±Infinity, long → nearest JS number; real/float NaN → null;
// char atom " " → null; char vector → UTF-8 string; empty symbol → null; null guid → null;
// timestamp/timespan/minute/second/time → Date (ms; the four times on 2000-01-01), month/date/datetime → Date;
// temporal ±infinity → Invalid Date; dict with symbol keys → object; table → array of row objects; keyed
// table → [keyRows, valueRows]; `::` → null; a lambda → its source text; other functions → "func";
// error → thrown Error.
// node-q quirks kept out of the generators (they are node-q's, not ours): negative months come back a year
// early (`rMonth` divides before flooring); timestamps it writes are rounded to a double first (so up to
// ~64 ns off); `typed.byte` only takes -128..127; dict keys longer in UTF-8 than in UTF-16 overflow its buffer.
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import { decodePayload } from '../../src/ipc/decode.js';
import { encodeMessage, encodePayload, HEADER_BYTES } from '../../src/ipc/encode.js';
import {
  EPOCH_OFFSET_DAYS, EPOCH_OFFSET_MS, INF_INT, INF_LONG, INF_SHORT, NULL_INT, NULL_LONG, NULL_SHORT,
} from '../../src/ipc/types.js';
import type {
  QAtom, QBigAtomType, QDict, QFloatAtomType, QIntegralAtomType, QList, QTable, QValue, QVector, QVectorType,
} from '../../src/ipc/values.js';
import {
  bool, byte, char, date, datetime, dict, error, float, floats, guid, int, list, long, longs, minute, month, real,
  second, short, str, sym, symbols, table, time, timespan, timestamp, vector, NULL,
} from '../../src/ipc/values.js';
import { attr, float32, float64, guidOf, holds, int16, int32, int64, nonEmptySymbol, qDiff, symbolText } from '../helpers/arbitrary.js';

// ---- node-q --------------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
interface NodeQCodec {
  serialize(x: unknown): Buffer;
  deserialize(b: Buffer, nanos2date?: boolean, flipTables?: boolean, emptyChar2null?: boolean, long2number?: boolean): unknown;
}
type Wrap = (x: unknown) => unknown;
type TypedName =
  | 'boolean' | 'guid' | 'byte' | 'short' | 'int' | 'long' | 'real' | 'float' | 'char' | 'symbol' | 'timestamp'
  | 'month' | 'date' | 'datetime' | 'timespan' | 'minute' | 'second' | 'time';
type TypedModule = { readonly [K in TypedName | `${TypedName}s` | 'mixedlist' | 'dict']: Wrap };
interface LongValue { readonly low: number; readonly high: number; toString(): string }
interface LongStatic { fromString(s: string): LongValue; isLong(x: unknown): boolean }

const nq = require('node-q/lib/c.js') as NodeQCodec;
const typed = require('node-q/lib/typed.js') as TypedModule;
// long.js as node-q itself loads it, so `Long.isLong` in node-q's asserts accepts our instances.
const Long = createRequire(require.resolve('node-q/lib/c.js'))('long') as LongStatic;

// ---- what node-q should make of our values (its mapping, from lib/c.js) ---------------------------------

const DAY_MS = 86_400_000;
const INVALID_DATE = new Date(NaN);
const floorDiv = (a: bigint, b: bigint): bigint => (a % b !== 0n && (a < 0n) !== (b < 0n) ? a / b - 1n : a / b);

function int32View(v: number, nul: number, inf: number): number | null {
  if (v === nul) return null;
  if (v === inf) return Infinity;
  if (v === -inf) return -Infinity;
  return v;
}
function longView(v: bigint): number | null {
  if (v === NULL_LONG) return null;
  if (v === INF_LONG) return Infinity;
  if (v === -INF_LONG) return -Infinity;
  return Number(v);
}
/** Timestamps and timespans: a Date (2000-01-01 + ns, in whole ms), or null / Invalid Date. */
function nanosView(v: bigint): Date | null {
  if (v === NULL_LONG) return null;
  if (v === INF_LONG || v === -INF_LONG) return INVALID_DATE;
  return new Date(EPOCH_OFFSET_MS + Number(floorDiv(v, 1_000_000n)));
}
function int32TemporalView(type: number, v: number): Date | null {
  if (v === NULL_INT) return null;
  if (v === INF_INT || v === -INF_INT) return INVALID_DATE;
  switch (type) {
    case 13: return new Date(Date.UTC(2000 + Math.floor(v / 12), v % 12, 1));
    case 14: return new Date(EPOCH_OFFSET_MS + v * DAY_MS);
    case 17: return new Date(EPOCH_OFFSET_MS + v * 60_000);
    case 18: return new Date(EPOCH_OFFSET_MS + v * 1000);
    default: return new Date(EPOCH_OFFSET_MS + v);
  }
}
const nanView = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** Element i of a vector as node-q reads it. */
function elementView(v: QVector, i: number): unknown {
  switch (v.type) {
    case 1: return v.data[i] === 1;
    case 2: {
      const g = guidOf(v.data.subarray(i * 16, i * 16 + 16));
      return g === '00000000-0000-0000-0000-000000000000' ? null : g;
    }
    case 4: return v.data[i];
    case 10: return String.fromCharCode(v.data[i] as number);
    case 5: return int32View(v.data[i] as number, NULL_SHORT, INF_SHORT);
    case 6: return int32View(v.data[i] as number, NULL_INT, INF_INT);
    case 13: case 14: case 17: case 18: case 19: return int32TemporalView(v.type, v.data[i] as number);
    case 7: return longView(v.data[i] as bigint);
    case 12: case 16: return nanosView(v.data[i] as bigint);
    case 8: case 9: return nanView(v.data[i] as number);
    case 15: return datetimeView(v.data[i] as number);
    case 11: return v.data[i] === '' ? null : v.data[i];
  }
}
function datetimeView(v: number): Date | null {
  if (Number.isNaN(v)) return null;
  if (!Number.isFinite(v)) return INVALID_DATE;
  return new Date(Math.floor(EPOCH_OFFSET_MS + v * DAY_MS));
}
function atomView(a: QAtom): unknown {
  switch (a.type) {
    case -1: return a.value;
    case -2: return a.value === '00000000-0000-0000-0000-000000000000' ? null : a.value;
    case -4: return a.value;
    case -5: return int32View(a.value, NULL_SHORT, INF_SHORT);
    case -6: return int32View(a.value, NULL_INT, INF_INT);
    case -13: case -14: case -17: case -18: case -19: return int32TemporalView(-a.type, a.value);
    case -7: return longView(a.value);
    case -12: case -16: return nanosView(a.value);
    case -8: case -9: return nanView(a.value);
    case -15: return datetimeView(a.value);
    case -10: return a.value === ' ' ? null : a.value;
    case -11: return a.value === '' ? null : a.value;
  }
}
function vectorView(v: QVector): unknown {
  if (v.type === 10) return Buffer.from(v.data).toString('utf8');
  const n = v.type === 2 ? v.data.length / 16 : v.data.length;
  return Array.from({ length: n }, (_, i) => elementView(v, i));
}
function rowsView(tb: QTable): unknown {
  const cols = tb.data.map((c) => nodeQView(c) as ArrayLike<unknown>);
  const n = cols[0]?.length ?? 0;
  return Array.from({ length: n }, (_, j) => Object.fromEntries(tb.columns.map((name, i) => [name, cols[i]?.[j]])));
}
/** What node-q's deserialize returns for v with its default options. */
function nodeQView(v: QValue): unknown {
  if (v.type < 0 && v.type > -20) return atomView(v as QAtom);
  if (v.type > 0 && v.type < 20) return vectorView(v as QVector);
  switch (v.type) {
    case 0: return v.items.map(nodeQView);
    case 98: return rowsView(v);
    case 99: {
      if (v.keys.type === 98 && v.values.type === 98) return [rowsView(v.keys), rowsView(v.values)];
      const keys = nodeQView(v.keys) as string[];
      const values = nodeQView(v.values) as ArrayLike<unknown>;
      return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    }
    case 101: return v.index === 0 ? null : 'func';
    case 100: return Buffer.from(v.source).toString('utf8'); // rSymbol() the context, then r() the source string
    case 102: case 103: case 104: case 105: case 106: case 107: case 108: case 109: case 110: case 111:
      return 'func';
    default: throw new Error(`no node-q view for type ${v.type}`);
  }
}

/** First difference between node-q's output and the expected view; Dates may differ by node-q's float rounding (≤ 1 ms). */
function jsDiff(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected instanceof Date) {
    if (!(actual instanceof Date)) return `${path}: expected a Date, got ${String(actual)}`;
    const a = actual.getTime();
    const e = expected.getTime();
    if (Number.isNaN(a) && Number.isNaN(e)) return undefined;
    return Math.abs(a - e) <= 1 ? undefined : `${path}: ${actual.toISOString()} vs ${Number.isNaN(e) ? 'Invalid Date' : expected.toISOString()}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${String(actual)}`;
    if (actual.length !== expected.length) return `${path}: length ${actual.length} vs ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = jsDiff(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${path}: expected an object, got ${String(actual)}`;
    const ek = Object.keys(expected).sort();
    const ak = Object.keys(actual).sort();
    if (ek.join('\u0001') !== ak.join('\u0001')) return `${path}: keys ${JSON.stringify(ak)} vs ${JSON.stringify(ek)}`;
    for (const k of ek) {
      const d = jsDiff((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} vs ${String(expected)}`;
}

// ---- generators of values node-q can represent -------------------------------------------------------

const AFTER_1970_NS = -BigInt(EPOCH_OFFSET_MS) * 1_000_000n + 1_000_000n;
const specials32 = [NULL_INT, INF_INT, -INF_INT];
const specials64 = [NULL_LONG, INF_LONG, -INF_LONG];
const edged32 = (min: number, max: number): Arbitrary<number> =>
  fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...specials32) }, { weight: 4, arbitrary: fc.integer({ min, max }) });
const edged64 = (min: bigint, max: bigint): Arbitrary<bigint> =>
  fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...specials64) }, { weight: 4, arbitrary: fc.bigInt({ min, max }) });

// Temporal ranges keep node-q's Dates after 1970 (its Date arithmetic truncates toward 1970) and months ≥ 2000.01.
const TEMPORAL = {
  12: edged64(AFTER_1970_NS, 4_000_000_000_000_000_000n),
  13: edged32(0, 12 * 500),
  14: edged32(-EPOCH_OFFSET_DAYS + 1, 100_000),
  16: edged64(-315_000_000_000_000_000n, 315_000_000_000_000_000n),
  17: edged32(-10_000_000, 10_000_000),
  18: edged32(-500_000_000, 500_000_000),
  19: int32,
  15: fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity), fc.double({ min: -EPOCH_OFFSET_DAYS + 1, max: 70_000, noNaN: true })),
} as const;

const NQ_TYPES = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const;
type NqType = (typeof NQ_TYPES)[number];

function elements(type: NqType, len: { minLength: number; maxLength: number }): Arbitrary<QVector['data']> {
  switch (type) {
    case 1: return fc.array(fc.constantFrom(0, 1), len).map((a) => Uint8Array.from(a));
    case 2: return fc.array(fc.oneof(fc.constant(new Uint8Array(16)), fc.uint8Array({ minLength: 16, maxLength: 16 })), len)
      .map((gs) => { const out = new Uint8Array(gs.length * 16); gs.forEach((g, i) => out.set(g, i * 16)); return out; });
    case 4: case 10: return fc.uint8Array(len);
    case 5: return fc.array(int16, len).map((a) => Int16Array.from(a));
    case 6: return fc.array(int32, len).map((a) => Int32Array.from(a));
    case 7: return fc.array(int64, len).map((a) => BigInt64Array.from(a));
    case 8: return fc.array(float32, len).map((a) => Float32Array.from(a));
    case 9: return fc.array(float64, len).map((a) => Float64Array.from(a));
    case 11: return fc.array(symbolText, len);
    case 12: case 16: return fc.array(TEMPORAL[type], len).map((a) => BigInt64Array.from(a));
    case 13: case 14: case 17: case 18: case 19: return fc.array(TEMPORAL[type], len).map((a) => Int32Array.from(a));
    case 15: return fc.array(TEMPORAL[15], len).map((a) => Float64Array.from(a));
  }
}
const nqVectorOf = (type: NqType, len = { minLength: 0, maxLength: 6 }): Arbitrary<QVector> =>
  fc.tuple(attr, elements(type, len)).map(([a, data]) => ({ type, attr: a, data }) as QVector);
const nqAtom: Arbitrary<QValue> = fc.constantFrom(...NQ_TYPES).chain((type) =>
  elements(type, { minLength: 1, maxLength: 1 }).map((data): QValue => elementAtom({ type, attr: 0, data } as QVector)));
/** The atom of a one-element vector. */
function elementAtom(v: QVector): QAtom {
  switch (v.type) {
    case 1: return bool(v.data[0] === 1);
    case 2: return guid(guidOf(v.data));
    case 4: return byte(v.data[0] as number);
    case 10: return char(String.fromCharCode(v.data[0] as number));
    case 5: return short(v.data[0] as number);
    case 6: case 13: case 14: case 17: case 18: case 19: return { type: -v.type as QIntegralAtomType, value: v.data[0] as number };
    case 7: case 12: case 16: return { type: -v.type as QBigAtomType, value: v.data[0] as bigint };
    case 8: return real(v.data[0] as number);
    case 9: case 15: return { type: -v.type as QFloatAtomType, value: v.data[0] as number };
    case 11: return sym(v.data[0] as string);
  }
}
const nqVector: Arbitrary<QVector> = fc.constantFrom(...NQ_TYPES).chain((type) => nqVectorOf(type));
const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,7}$/);

/** A column of n rows node-q can flip: non-char vectors, ASCII strings, or a list of strings. */
const columnOf = (n: number): Arbitrary<QValue> => fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NQ_TYPES.filter((x) => x !== 10)).chain((type) => nqVectorOf(type, { minLength: n, maxLength: n })) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: n, maxLength: n }).map((cs) => str(String.fromCharCode(...cs))) },
  { weight: 1, arbitrary: fc.array(fc.fullUnicodeString({ maxLength: 6 }), { minLength: n, maxLength: n }).map((ss): QList => list(...ss.map((s) => str(s)))) },
);
const nqTableOf = (n: number): Arbitrary<QTable> =>
  fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).chain((names) =>
    fc.tuple(...names.map(() => columnOf(n))).map((cols) => table(names, cols)));
const nqTable = fc.integer({ min: 0, max: 4 }).chain(nqTableOf);
const nqKeyedTable = fc.integer({ min: 0, max: 4 }).chain((n) =>
  fc.tuple(nqTableOf(n), nqTableOf(n)).map(([k, v]): QDict => dict(k, v)));
const nqFunction: Arbitrary<QValue> = fc.oneof(
  fc.constant<QValue>(NULL),
  fc.constantFrom<QValue>({ type: 101, index: 15 }, { type: 102, index: 1 }, { type: 103, index: 2 }),
  fc.constant<QValue>({ type: 100, context: '', source: new Uint8Array(Buffer.from('{x+y}')) }),
  fc.constant<QValue>({ type: 104, items: [{ type: 102, index: 1 }, long(1n)] }),
  fc.constant<QValue>({ type: 107, fn: { type: 102, index: 1 } }),
);

const nqLeaf: Arbitrary<QValue> = fc.oneof({ weight: 4, arbitrary: nqAtom }, { weight: 4, arbitrary: nqVector }, { weight: 1, arbitrary: nqFunction });
const nqDictOf = (inner: Arbitrary<QValue>): Arbitrary<QDict> =>
  fc.uniqueArray(key, { maxLength: 4 }).chain((names) => fc.oneof(
    fc.tuple(...names.map(() => inner)).map((items) => dict(symbols(names), list(...items))),
    fc.constantFrom(...NQ_TYPES.filter((x) => x !== 10))
      .chain((type) => nqVectorOf(type, { minLength: names.length, maxLength: names.length }))
      .map((values) => dict(symbols(names), values)),
  ));
const nqLevel1: Arbitrary<QValue> = fc.oneof(
  { weight: 6, arbitrary: nqLeaf },
  { weight: 2, arbitrary: fc.array(nqLeaf, { maxLength: 5 }).map((items) => list(...items)) },
  { weight: 1, arbitrary: nqDictOf(nqLeaf) },
  { weight: 1, arbitrary: nqTable },
);
/** Values node-q can represent, nested up to two levels. */
const nqValue: Arbitrary<QValue> = fc.oneof(
  { weight: 4, arbitrary: nqLevel1 },
  { weight: 2, arbitrary: fc.array(nqLevel1, { maxLength: 4 }).map((items) => list(...items)) },
  { weight: 1, arbitrary: nqDictOf(nqLevel1) },
  { weight: 1, arbitrary: nqKeyedTable },
);

const UPD_TIME = 34_200_123_000_000n; // 0D09:30:00.123
const updMessage = list(sym('upd'), sym('trade'), list(timespan(UPD_TIME), sym('AAPL'), float(189.25), long(100n)));

// ---- (a) node-q reads what we write --------------------------------------------------------------

t.test('node-q reads every value we encode as its documented JS mapping', async (t) => {
  holds(t, 'nq.deserialize(encodeMessage(v)) matches the mapping', nqValue, (v) => {
    const diff = jsDiff(nq.deserialize(encodeMessage(v)), nodeQView(v));
    if (diff !== undefined) throw new Error(diff);
  });
});

t.test('node-q reads our single-row upd message as upd, the table name and one row of values', async (t) => {
  const got = nq.deserialize(encodeMessage(updMessage));
  t.ok(isDeepStrictEqual(got, ['upd', 'trade', [new Date('2000-01-01T09:30:00.123Z'), 'AAPL', 189.25, 100]]), JSON.stringify(got));
});

t.test('node-q reads our atoms, nulls and infinities as exact JS values', async (t) => {
  const cases: Array<[QValue, unknown]> = [
    [bool(true), true], [bool(false), false], [byte(255), 255],
    [short(-2), -2], [short(NULL_SHORT), null], [short(INF_SHORT), Infinity], [short(-INF_SHORT), -Infinity],
    [int(7), 7], [int(NULL_INT), null], [int(INF_INT), Infinity], [int(-INF_INT), -Infinity],
    [long(9_007_199_254_740_991n), 9_007_199_254_740_991], [long(-5n), -5], [long(NULL_LONG), null],
    [long(INF_LONG), Infinity], [long(-INF_LONG), -Infinity],
    [real(5.5), 5.5], [real(NaN), null], [real(-Infinity), -Infinity], [float(3.234), 3.234], [float(NaN), null],
    [char('a'), 'a'], [char(' '), null], [sym('abc'), 'abc'], [sym(''), null], [sym('ünï'), 'ünï'],
    [guid('8c680a01-5a49-5aab-5a65-d4bfddb6a661'), '8c680a01-5a49-5aab-5a65-d4bfddb6a661'],
    [guid('00000000-0000-0000-0000-000000000000'), null],
    [timestamp(279_417_600_000_000n), new Date('2000-01-04T05:36:57.600Z')], [timestamp(NULL_LONG), null],
    [month(12), new Date('2001-01-01T00:00:00Z')], [date(366), new Date('2001-01-01T00:00:00Z')],
    [date(-7386), new Date('1979-10-12T00:00:00Z')], [date(NULL_INT), null],
    [datetime(3.234), new Date('2000-01-04T05:36:57.600Z')],
    [timespan(20_217_600_000_000n), new Date('2000-01-01T05:36:57.600Z')],
    [minute(721), new Date('2000-01-01T12:01:00Z')], [second(43_500), new Date('2000-01-01T12:05:00Z')],
    [time(43_499_123), new Date('2000-01-01T12:04:59.123Z')], [time(NULL_INT), null],
    [str('quick brown fox'), 'quick brown fox'], [str(''), ''],
    [symbols(['a', '', 'ü']), ['a', null, 'ü']], [longs([1n, NULL_LONG, 3n]), [1, null, 3]],
    [floats([1.5, NaN]), [1.5, null]], [list(), []], [NULL, null],
    [{ type: 100, context: '', source: new Uint8Array(Buffer.from('{x+y}')) }, '{x+y}'],
    [{ type: 102, index: 1 }, 'func'], [{ type: 104, items: [{ type: 102, index: 1 }, long(1n)] }, 'func'],
  ];
  for (const [v, want] of cases) {
    const got = nq.deserialize(encodeMessage(v));
    t.ok(isDeepStrictEqual(got, want), `${encodePayload(v).toString('hex')} → ${String(got)}`);
  }
});

t.test('node-q reads our tables as row objects, or as columns with flipTables off', async (t) => {
  const tb = table(['sym', 'price', 'size'], [symbols(['a', 'b']), floats([1.5, 2.5]), longs([10n, 20n])]);
  const bytes = encodeMessage(tb);
  t.same(nq.deserialize(bytes), [{ sym: 'a', price: 1.5, size: 10 }, { sym: 'b', price: 2.5, size: 20 }]);
  t.same(nq.deserialize(bytes, true, false), { sym: ['a', 'b'], price: [1.5, 2.5], size: [10, 20] });
  const upd = encodeMessage(list(sym('upd'), sym('trade'), tb));
  t.same(nq.deserialize(upd), ['upd', 'trade', [{ sym: 'a', price: 1.5, size: 10 }, { sym: 'b', price: 2.5, size: 20 }]]);
  const keyed = dict(table(['k'], [longs([1n])]), table(['v'], [symbols(['x'])]));
  t.same(nq.deserialize(encodeMessage(keyed)), [[{ k: 1 }], [{ v: 'x' }]]);
});

t.test('node-q with long2number, nanos2date and emptyChar2null off reads our longs, nanos and spaces raw', async (t) => {
  const big = 9_223_372_036_854_775_000n;
  const l = nq.deserialize(encodeMessage(long(big)), true, true, true, false);
  t.ok(Long.isLong(l), 'a long.js Long');
  t.equal(String(l), String(big));
  t.equal(nq.deserialize(encodeMessage(long(NULL_LONG)), true, true, true, false), null);
  const ts = 762_948_672_345_000_123n;
  const raw = nq.deserialize(encodeMessage(timestamp(ts)), false) as number;
  t.ok(Math.abs(raw - (Number(ts) + EPOCH_OFFSET_MS * 1e6)) < 1024, `timestamp as ns since 1970: ${raw}`);
  t.equal(nq.deserialize(encodeMessage(timespan(UPD_TIME)), false), Number(UPD_TIME));
  t.equal(nq.deserialize(encodeMessage(char(' ')), true, true, false), ' ');
});

t.test('node-q raises our error payload as an Error carrying its text', async (t) => {
  t.throws(() => nq.deserialize(encodeMessage(error('type'), 2)), { message: 'type' });
});

// ---- (b) we read what node-q writes ----------------------------------------------------------------

/** One node-q atom input: the typed wrapper, the raw JS value it wraps, and the q atom we must decode. */
interface NqInput { readonly input: unknown; readonly raw: unknown; readonly expect: QAtom }
const atomIn = (name: TypedName, raw: unknown, expect: QAtom): NqInput => ({ input: typed[name](raw), raw, expect });
const wholeDate = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T23:59:59.999Z') })
  .filter((d) => !Number.isNaN(d.getTime()));
const midnight = wholeDate.map((d) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS));
const msOfDay = (d: Date): number => d.getTime() - Math.floor(d.getTime() / DAY_MS) * DAY_MS;
const nullable = <T>(arb: Arbitrary<T>): Arbitrary<T | null> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 6, arbitrary: arb });
const withInf = (min: number, max: number): Arbitrary<number> =>
  fc.oneof(fc.constantFrom(Infinity, -Infinity), fc.integer({ min, max }));

const nqInputs: Record<TypedName, Arbitrary<NqInput>> = {
  boolean: fc.boolean().map((b) => atomIn('boolean', b, bool(b))),
  guid: nullable(fc.uint8Array({ minLength: 16, maxLength: 16 }).map(guidOf))
    .map((g) => atomIn('guid', g, guid(g ?? '00000000-0000-0000-0000-000000000000'))),
  byte: fc.integer({ min: -128, max: 127 }).map((n) => atomIn('byte', n, byte(n & 0xff))),
  short: nullable(withInf(-INF_SHORT, INF_SHORT - 1)).map((n) =>
    atomIn('short', n, short(n === null ? NULL_SHORT : n === Infinity ? INF_SHORT : n === -Infinity ? -INF_SHORT : n))),
  int: nullable(withInf(-INF_INT, INF_INT - 1)).map((n) =>
    atomIn('int', n, int(n === null ? NULL_INT : n === Infinity ? INF_INT : n === -Infinity ? -INF_INT : n))),
  long: fc.oneof(
    fc.bigInt({ min: NULL_LONG, max: INF_LONG }).map((n) => ({ input: typed.long(Long.fromString(String(n))), raw: Long.fromString(String(n)), expect: long(n) })),
    fc.constantFrom<[number | null, bigint]>([null, NULL_LONG], [Infinity, INF_LONG], [-Infinity, -INF_LONG])
      .map(([x, n]) => atomIn('long', x, long(n))),
  ),
  real: nullable(float32).map((x) => atomIn('real', x, real(x ?? NaN))),
  float: nullable(float64).map((x) => atomIn('float', x, float(x ?? NaN))),
  char: nullable(fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)))
    .map((c) => atomIn('char', c, char(c ?? ' '))),
  symbol: nullable(nonEmptySymbol).map((s) => atomIn('symbol', s, sym(s ?? ''))),
  timestamp: nullable(wholeDate).map((d) => atomIn('timestamp', d, timestamp(d === null ? NULL_LONG : nodeQTimestampNs(d)))),
  month: nullable(wholeDate).map((d) => atomIn('month', d,
    month(d === null ? NULL_INT : (d.getUTCFullYear() - 2000) * 12 + d.getUTCMonth()))),
  date: nullable(midnight).map((d) => atomIn('date', d, date(d === null ? NULL_INT : d.getTime() / DAY_MS - EPOCH_OFFSET_DAYS))),
  datetime: nullable(wholeDate).map((d) => atomIn('datetime', d, datetime(d === null ? NaN : d.getTime() / DAY_MS - EPOCH_OFFSET_DAYS))),
  timespan: nullable(wholeDate).map((d) => atomIn('timespan', d, timespan(d === null ? NULL_LONG : BigInt(msOfDay(d)) * 1_000_000n))),
  minute: nullable(wholeDate).map((d) => atomIn('minute', d, minute(d === null ? NULL_INT : Math.floor(msOfDay(d) / 60_000)))),
  second: nullable(wholeDate).map((d) => atomIn('second', d, second(d === null ? NULL_INT : Math.floor(msOfDay(d) / 1000)))),
  time: nullable(wholeDate).map((d) => atomIn('time', d, time(d === null ? NULL_INT : msOfDay(d)))),
};
const TYPED_NAMES = Object.keys(nqInputs) as TypedName[];

/**
 * The nanoseconds node-q writes for typed.timestamp(d). It computes them exactly with long.js, then passes the
 * Long to Long.fromNumber, which (1) rounds it through a double and (2) tests `value + 1 >= 2^63` — with a Long
 * that is string concatenation ("…" + 1), so from 2029-03-24T04:46:43.686Z on node-q writes 0Wp (INT64_MAX).
 */
function nodeQTimestampNs(d: Date): bigint {
  const exact = BigInt(d.getTime() - EPOCH_OFFSET_MS) * 1_000_000n;
  if (exact >= 0n && Number(`${exact}1`) >= 2 ** 63) return INF_LONG;
  return BigInt(Number(exact));
}

const TYPE_CODE: Record<TypedName, QVectorType> = {
  boolean: 1, guid: 2, byte: 4, short: 5, int: 6, long: 7, real: 8, float: 9, char: 10, symbol: 11, timestamp: 12,
  month: 13, date: 14, datetime: 15, timespan: 16, minute: 17, second: 18, time: 19,
};

/** The vector node-q writes for atoms of one type; nulls keep node-q's own bit patterns (NaN with the sign bit). */
function vectorOfInputs(type: QVectorType, items: readonly NqInput[]): QVector {
  if (type === 11) return symbols(items.map(({ expect }) => (expect.type === -11 ? expect.value : '')));
  const v = vector(type, items.length) as Exclude<QVector, { type: 11 }>;
  const buf = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  const w = buf.length / Math.max(items.length, 1);
  items.forEach(({ raw, expect }, i) => {
    const p = i * w;
    switch (expect.type) {
      case -1: buf[p] = expect.value ? 1 : 0; break;
      case -2: buf.write(expect.value.replace(/-/g, ''), p, 'hex'); break;
      case -4: buf[p] = expect.value; break;
      case -10: buf[p] = expect.value.charCodeAt(0); break;
      case -5: buf.writeInt16LE(expect.value, p); break;
      case -6: case -13: case -14: case -17: case -18: case -19: buf.writeInt32LE(expect.value, p); break;
      case -7: case -12: case -16: buf.writeBigInt64LE(expect.value, p); break;
      case -8: if (raw === null) buf.writeUInt32LE(0xffc00000, p); else buf.writeFloatLE(expect.value, p); break;
      case -9: case -15:
        if (raw === null) buf.writeBigUInt64LE(0xfff8000000000000n, p); else buf.writeDoubleLE(expect.value, p);
        break;
      case -11: break;
    }
  });
  return v;
}

/** A pair: what we hand node-q's serialize, and the q value we must decode from its bytes. */
interface Case { readonly input: unknown; readonly expect: QValue }
const nqAtomInput: Arbitrary<NqInput> = fc.constantFrom(...TYPED_NAMES).chain((name) => nqInputs[name]);
const nqAtomCase: Arbitrary<Case> = nqAtomInput.map(({ input, expect }) => ({ input, expect }));
// node-q's typed lists take no nulls, and typed.longs only long.js Longs (its asserts reject the rest).
const listable = (name: TypedName, raw: unknown): boolean => raw !== null && (name !== 'long' || Long.isLong(raw));
const nqVectorCase: Arbitrary<Case> = fc.constantFrom(...TYPED_NAMES).chain((name) =>
  fc.array(nqInputs[name].filter((x) => listable(name, x.raw)), { maxLength: 6 }).map((items): Case => ({
    input: typed[`${name}s`](items.map((x) => x.raw)),
    expect: vectorOfInputs(TYPE_CODE[name], items),
  })));
const nqMixedCase: Arbitrary<Case> = fc.array(nqAtomCase, { maxLength: 5 }).map((cs) => ({
  input: typed.mixedlist(cs.map((c) => c.input)),
  expect: list(...cs.map((c) => c.expect)),
}));
// node-q cannot size a dict whose values are all symbols when one is null (calcN calls Buffer.byteLength(null)).
const noNullSymbol = (x: NqInput): boolean => !(x.expect.type === -11 && x.raw === null);
const nqDictCase: Arbitrary<Case> = fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).chain((names) =>
  fc.oneof(
    fc.tuple(...names.map(() => nqAtomInput.filter(noNullSymbol))),
    fc.constantFrom(...TYPED_NAMES).chain((name) => fc.tuple(...names.map(() => nqInputs[name].filter(noNullSymbol)))),
  ).map((items): Case => {
    const obj: Record<string, unknown> = {};
    names.forEach((k, i) => { obj[k] = items[i]?.input; });
    // node-q sends the values as a vector when every one has the same type, else as a general list.
    const first = items[0]?.expect.type as number;
    const values: QValue = items.every((x) => x.expect.type === first)
      ? vectorOfInputs(-first as QVectorType, items)
      : list(...items.map((x) => x.expect));
    return { input: typed.dict(obj), expect: dict(symbols(names), values) };
  }));

/** Plain JS as node-q infers it: number → float, string → char vector (or symbol for "`x"), boolean, null → ::. */
const plainItem: Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.double() },
  { weight: 3, arbitrary: fc.fullUnicodeString({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 6 }).map((s) => '`' + s) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
function plainExpect(x: unknown): QValue {
  if (x === null) return NULL;
  if (typeof x === 'number') return float(x);
  if (typeof x === 'boolean') return bool(x);
  const s = x as string;
  return /^`\S+$/.test(s) ? sym(s.slice(1)) : str(s);
}
function plainArrayExpect(xs: unknown[]): QValue {
  if (xs.length > 0 && xs.every((x) => typeof x === 'number')) return floats(xs as number[]);
  if (xs.length > 0 && xs.every((x) => typeof x === 'boolean')) {
    return { type: 1, attr: 0, data: Uint8Array.from(xs as boolean[], (b) => (b ? 1 : 0)) };
  }
  return list(...xs.map(plainExpect));
}
const noNulInSymbols = (xs: unknown[]): boolean => xs.every((x) => typeof x !== 'string' || !x.includes('\0') || !/^`\S+$/.test(x));
const plainArrays: Arbitrary<unknown[]> = fc.oneof(
  fc.array(plainItem, { maxLength: 8 }),
  fc.array(fc.double(), { minLength: 1, maxLength: 8 }),
  fc.array(fc.fullUnicodeString({ maxLength: 8 }), { maxLength: 6 }),
).filter(noNulInSymbols);

function decodeNq(bytes: Buffer): QValue {
  if (bytes.readUInt32LE(4) !== bytes.length) throw new Error('node-q header length is not the message length');
  return decodePayload(bytes, HEADER_BYTES, bytes.length);
}

t.test('we decode every typed atom node-q serializes, nulls and infinities included', async (t) => {
  holds(t, 'decode(nq.serialize(typed atom)) is the q atom', nqAtomCase, ({ input, expect }) => {
    const diff = qDiff(expect, decodeNq(nq.serialize(input)));
    if (diff !== undefined) throw new Error(diff);
  });
});

t.test('we decode every typed vector, general list and dict node-q serializes', async (t) => {
  holds(t, 'decode(nq.serialize(typed list or dict)) is the q value', fc.oneof(nqVectorCase, nqMixedCase, nqDictCase), ({ input, expect }) => {
    const diff = qDiff(expect, decodeNq(nq.serialize(input)));
    if (diff !== undefined) throw new Error(diff);
  });
});

t.test('we decode random arrays of plain numbers and strings as node-q infers their types', async (t) => {
  holds(t, 'decode(nq.serialize(array)) is a float vector or a general list', plainArrays, (xs) => {
    const diff = qDiff(plainArrayExpect(xs), decodeNq(nq.serialize(xs)));
    if (diff !== undefined) throw new Error(diff);
  });
});

t.test('we decode node-q\'s single-row upd message, and its bytes are the ones we would write', async (t) => {
  const ts = new Date(Date.UTC(2000, 0, 1, 9, 30, 0, 123));
  const bytes = nq.serialize([
    typed.symbol('upd'), typed.symbol('trade'),
    [typed.timespan(ts), typed.symbol('AAPL'), typed.float(189.25), typed.long(Long.fromString('100'))],
  ]);
  t.equal(qDiff(updMessage, decodeNq(bytes)), undefined);
  t.equal(bytes.toString('hex'), encodeMessage(updMessage).toString('hex'));
  // The untyped spelling node-q users write: backtick strings become symbol atoms, numbers floats.
  const plain = nq.serialize(['`upd', '`trade', [typed.timespan(ts), '`AAPL', 189.25, typed.long(Long.fromString('100'))]]);
  t.equal(qDiff(updMessage, decodeNq(plain)), undefined);
});

t.test('we decode node-q\'s typed vectors of every temporal type to q\'s epoch-2000 integers', async (t) => {
  const d = new Date('2001-01-01T12:04:59.123Z');
  const check = (name: string, input: unknown, expect: QValue): void => {
    t.equal(qDiff(expect, decodeNq(nq.serialize(input))), undefined, name);
  };
  check('timestamps', typed.timestamps([d]), { type: 12, attr: 0, data: BigInt64Array.from([31_665_899_123_000_000n]) });
  check('months', typed.months([d]), { type: 13, attr: 0, data: Int32Array.from([12]) });
  check('dates', typed.dates([new Date('2001-01-01T00:00:00Z')]), { type: 14, attr: 0, data: Int32Array.from([366]) });
  check('timespans', typed.timespans([d]), { type: 16, attr: 0, data: BigInt64Array.from([43_499_123_000_000n]) });
  check('minutes', typed.minutes([d]), { type: 17, attr: 0, data: Int32Array.from([724]) });
  check('seconds', typed.seconds([d]), { type: 18, attr: 0, data: Int32Array.from([43_499]) });
  check('times', typed.times([d]), { type: 19, attr: 0, data: Int32Array.from([43_499_123]) });
  const dt = decodeNq(nq.serialize(typed.datetime(new Date('2000-01-04T05:36:57.600Z'))));
  t.ok(dt.type === -15 && Math.abs(dt.value - 3.234) < 1e-9, 'datetime is fractional days since 2000.01.01');
});

t.test('we decode node-q\'s timestamps from 2029-03-24T04:46:43.686Z on as 0Wp, which is what node-q writes', async (t) => {
  // A node-q bug (long.js string concatenation, see nodeQTimestampNs), pinned so a TP author knows 0Wp can arrive.
  const before = decodeNq(nq.serialize(typed.timestamp(new Date('2029-03-24T04:46:43.685Z'))));
  const rounded = BigInt(Number(922_337_203_685_000_000n)); // node-q rounds through a double: …685000064
  t.equal(qDiff(timestamp(rounded), before), undefined, 'the last millisecond node-q writes as a timestamp');
  const after = decodeNq(nq.serialize(typed.timestamp(new Date('2029-03-24T04:46:43.686Z'))));
  t.equal(qDiff(timestamp(INF_LONG), after), undefined, 'one millisecond later node-q writes 0Wp');
  const dates = decodeNq(nq.serialize(typed.timestamps([new Date('2100-01-01T00:00:00Z')])));
  t.equal(qDiff({ type: 12, attr: 0, data: BigInt64Array.from([INF_LONG]) }, dates), undefined);
});
