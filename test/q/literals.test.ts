// Literal forms of q (code.kx.com/q/basics/datatypes): what each one evaluates to in the value model.
import t from 'tap';
import { INF_INT, INF_LONG, NULL_INT, NULL_LONG, NULL_SHORT } from '../../src/ipc/types.js';
import {
  NULL, bool, byte, char, date, float, floats, int, ints, list, long, longs, minute, month, real, second, short,
  str, sym, symbols, time, timespan, timestamp,
} from '../../src/ipc/values.js';
import type { QValue } from '../../src/ipc/values.js';
import { Env } from '../../src/q/env.js';
import { evaluateString } from '../../src/q/eval.js';
import { ctx, qError, sync } from './fixture.js';

const value = (src: string): QValue => sync(evaluateString(src, new Env(), ctx));
const DAY = 86_400_000_000_000n;

t.test('symbols, symbol vectors and the null symbol', async (t) => {
  t.strictSame(value('`a'), sym('a'));
  t.strictSame(value('`'), sym(''));
  t.strictSame(value('`a`b`MSFT.O'), symbols(['a', 'b', 'MSFT.O']));
  t.strictSame(value('``'), symbols(['', '']));
  t.strictSame(value('`:./sym2024.01.02'), sym(':./sym2024.01.02'));
  t.strictSame(value('`:host:5010:user'), sym(':host:5010:user'));
  t.strictSame(value('`9a_b.c'), sym('9a_b.c'));
});

t.test('integers: long by default, suffixes for int, short and long', async (t) => {
  t.strictSame(value('42'), long(42n));
  t.strictSame(value('-7'), long(-7n));
  t.strictSame(value('1i'), int(1));
  t.strictSame(value('2h'), short(2));
  t.strictSame(value('3j'), long(3n));
  t.strictSame(value('9223372036854775807'), long(INF_LONG));
  t.equal(qError(() => evaluateString('9223372036854775808', new Env(), ctx)), "'access");
  t.equal(qError(() => evaluateString('40000h', new Env(), ctx)), "'access");
});

t.test('floats and reals: decimals, exponents and the e and f suffixes', async (t) => {
  t.strictSame(value('1.5'), float(1.5));
  t.strictSame(value('.25'), float(0.25));
  t.strictSame(value('2.'), float(2));
  t.strictSame(value('1e3'), float(1000));
  t.strictSame(value('-1.5e-2'), float(-0.015));
  t.strictSame(value('1.5e'), real(1.5));
  t.strictSame(value('2.5f'), float(2.5));
  t.strictSame(value('100f'), float(100));
  t.strictSame(value('3e'), real(3));
});

t.test('nulls and infinities of each type', async (t) => {
  t.strictSame(value('0N'), long(NULL_LONG));
  t.strictSame(value('0Nj'), long(NULL_LONG));
  t.strictSame(value('0Ni'), int(NULL_INT));
  t.strictSame(value('0Nh'), short(NULL_SHORT));
  t.strictSame(value('0W'), long(INF_LONG));
  t.strictSame(value('-0W'), long(-INF_LONG));
  t.strictSame(value('0Wi'), int(INF_INT));
  t.strictSame(value('0Nd'), date(NULL_INT));
  t.strictSame(value('0Np'), timestamp(NULL_LONG));
  t.strictSame(value('0Nn'), timespan(NULL_LONG));
  t.ok(Number.isNaN((value('0n') as { value: number }).value));
  t.strictSame(value('0w'), float(Infinity));
  t.strictSame(value('-0w'), float(-Infinity));
});

t.test('booleans and bytes', async (t) => {
  t.strictSame(value('1b'), bool(true));
  t.strictSame(value('0b'), bool(false));
  t.strictSame(value('101b'), { type: 1, attr: 0, data: Uint8Array.from([1, 0, 1]) });
  t.strictSame(value('0x2a'), byte(42));
  t.strictSame(value('0x2aff'), { type: 4, attr: 0, data: Uint8Array.from([0x2a, 0xff]) });
  t.strictSame(value('0x'), { type: 4, attr: 0, data: new Uint8Array(0) });
});

t.test('space-separated numbers form one vector, typed by q rules', async (t) => {
  t.strictSame(value('1 2 3'), longs([1n, 2n, 3n]));
  t.strictSame(value('1 -2  3'), longs([1n, -2n, 3n]));
  t.strictSame(value('1 2 3i'), ints([1, 2, 3]));
  t.strictSame(value('1 2.5'), floats([1, 2.5]));
  t.strictSame(value('1 0N 3'), longs([1n, NULL_LONG, 3n]));
  t.strictSame(value('1 0N 3i'), ints([1, NULL_INT, 3]));
  t.strictSame(value('1.5 0N'), floats([1.5, Number.NaN]));
  t.strictSame(value('1 2e'), { type: 8, attr: 0, data: Float32Array.from([1, 2]) });
  t.strictSame(value('2024.01.02 2024.01.03'), { type: 14, attr: 0, data: Int32Array.from([8767, 8768]) });
  t.equal(qError(() => evaluateString('1i 2h', new Env(), ctx)), "'access");
  t.equal(qError(() => evaluateString('1.5 2i', new Env(), ctx)), "'access");
  t.equal(qError(() => evaluateString('2024.01.02 5', new Env(), ctx)), "'access");
});

t.test('dates, months, timestamps and the times of day', async (t) => {
  t.strictSame(value('2000.01.01'), date(0));
  t.strictSame(value('2024.01.02'), date(8767));
  t.strictSame(value('1999.12.31'), date(-1));
  t.strictSame(value('2024.02.29'), date(8825));
  t.strictSame(value('2024.01m'), month(288));
  t.strictSame(value('2024.01.02D10:00:00.000'), timestamp(8767n * DAY + 36_000_000_000_000n));
  t.strictSame(value('2024.01.02D'), timestamp(8767n * DAY));
  t.strictSame(value('2000.01.01D00:00:00.000000001'), timestamp(1n));
  t.strictSame(value('10:00:00.000'), time(36_000_000));
  t.strictSame(value('10:00:00.5'), time(36_000_500));
  t.strictSame(value('10:00:00'), second(36_000));
  t.strictSame(value('10:30'), minute(630));
  t.strictSame(value('10:00:00.000000001'), timespan(36_000_000_000_001n));
  t.equal(qError(() => evaluateString('2023.02.29', new Env(), ctx)), "'access");
  t.equal(qError(() => evaluateString('2024.01.02D24:00', new Env(), ctx)), "'access");
  t.equal(qError(() => evaluateString('10:60', new Env(), ctx)), "'access");
});

t.test('timespans with days, hours, minutes, seconds and nanoseconds', async (t) => {
  t.strictSame(value('0D10:00:00.000000000'), timespan(36_000_000_000_000n));
  t.strictSame(value('0D'), timespan(0n));
  t.strictSame(value('1D02'), timespan(DAY + 7_200_000_000_000n));
  t.strictSame(value('-0D00:00:01'), timespan(-1_000_000_000n));
  t.strictSame(value('0D00:00:00.5'), timespan(500_000_000n));
  t.equal(qError(() => evaluateString('0D00:00:00.0000000001', new Env(), ctx)), "'access");
});

t.test('strings, char atoms and escapes', async (t) => {
  t.strictSame(value('"abc"'), str('abc'));
  t.strictSame(value('""'), str(''));
  t.strictSame(value('"a"'), char('a'));
  t.strictSame(value('"\\""'), char('"'));
  t.strictSame(value('"\\\\\\n\\t\\r\\101\\377"'),
    { type: 10, attr: 0, data: Uint8Array.from([92, 10, 9, 13, 65, 255]) });
  t.strictSame(value('"a;b]`)"'), str('a;b]`)'));
});

t.test('generic null, the empty list and general lists that collapse like q', async (t) => {
  t.strictSame(value('::'), NULL);
  t.strictSame(value('()'), list());
  t.strictSame(value('(1;2;3)'), longs([1n, 2n, 3n]));
  t.strictSame(value('(`a;`b)'), symbols(['a', 'b']));
  t.strictSame(value('("a";"b")'), str('ab'));
  t.strictSame(value('(`a;1)'), list(sym('a'), long(1n)));
  t.strictSame(value('(1 2;3)'), list(longs([1n, 2n]), long(3n)));
  t.strictSame(value('(::;1)'), list(NULL, long(1n)));
  t.strictSame(value('((1))'), long(1n));
});
