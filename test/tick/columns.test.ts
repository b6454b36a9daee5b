// Column operations on the publish path (src/tick/columns.ts): a feed's atoms and lists to typed columns
// or q's 'type, row selection, and the batch-mode buffer that grows, truncates and drains.
import t from 'tap';
import { floats, guid, list, long, longs, str, sym, symbols, vector } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { atomToVector, ColumnBuffer, rows, take, toColumn } from '../../src/tick/columns.js';

const G1 = '0a369037-75d3-b24d-6721-5a1d44d4bed5';
const typeError = { name: 'QError', message: 'type' };

t.test('an atom becomes a one-row vector of its type: long, float, symbol, char, boolean and guid', async (t) => {
  t.same(Array.from((atomToVector(long(7n)) as { data: BigInt64Array }).data), [7n]);
  t.same(atomToVector(sym('IBM')), symbols(['IBM']));
  t.same(atomToVector({ type: -9, value: 1.5 }), floats([1.5]));
  t.same(Array.from(atomToVector({ type: -10, value: 'x' }).data as Uint8Array), [0x78]);
  t.same(Array.from(atomToVector({ type: -1, value: true }).data as Uint8Array), [1]);
  t.equal(Buffer.from(atomToVector(guid(G1)).data as Uint8Array).toString('hex'), G1.replace(/-/g, ''));
});

t.test('toColumn takes a vector of the schema type as it is', async (t) => {
  const v = floats([1, 2]);
  t.equal(toColumn(v, 9), v);
});

t.test('a general list of atoms of the schema type becomes a vector (as node-q sends symbol lists)', async (t) => {
  t.same(toColumn(list(sym('a'), sym('b')), 11), symbols(['a', 'b']));
  t.same(toColumn(list(long(1n), long(2n)), 7), longs([1n, 2n]));
});

t.test('a general list with one atom of another type, or a vector of another type, is a type error', async (t) => {
  t.throws(() => toColumn(list(sym('a'), long(1n)), 11), typeError);
  t.throws(() => toColumn(longs([1n]), 9), typeError);
  t.throws(() => toColumn(sym('a'), 11), typeError, 'an atom is not a column');
});

t.test('an untyped schema column takes a general list or any vector, not an atom or a table', async (t) => {
  const l = list(str('x'), long(1n));
  t.equal(toColumn(l, 0), l);
  const v = floats([1]);
  t.equal(toColumn(v, 0), v);
  t.throws(() => toColumn(long(1n), 0), typeError);
  t.throws(() => toColumn({ type: 98, attr: 0, columns: [], data: [] }, 0), typeError);
});

t.test('rows counts elements, guids 16 bytes each, and general lists their items', async (t) => {
  t.equal(rows(floats([1, 2, 3])), 3);
  t.equal(rows(vector(2, 4)), 4);
  t.equal(rows(list(long(1n), sym('a'))), 2);
});

t.test('take selects the rows at the given indexes, only the first n of them, for every layout', async (t) => {
  const idx = Int32Array.from([0, 2, 3, 99]);
  t.same(take(floats([10, 11, 12, 13]), idx, 3), floats([10, 12, 13]));
  t.same(take({ type: 11, attr: 4, data: ['a', 'b', 'c', 'd'] }, idx, 3), symbols(['a', 'c', 'd']), 'g# is dropped, as q does');
  const items: QValue[] = [long(0n), sym('one'), long(2n), str('three')];
  t.same(take(list(...items), idx, 3), list(long(0n), long(2n), str('three')));
  const g = vector(2, 4);
  (g.data as Uint8Array).forEach((_, i, a) => { a[i] = i; });
  const got = (take(g, Int32Array.from([3, 1]), 2) as { data: Uint8Array }).data;
  t.same(Array.from(got.subarray(0, 2)), [48, 49], 'guid rows move 16 bytes at a time');
  t.same(Array.from(got.subarray(16, 18)), [16, 17]);
  t.equal(rows(take(floats([1]), Int32Array.from([]), 0)), 0);
});

t.test('a ColumnBuffer grows past its first capacity and drains exactly what was appended, in order', async (t) => {
  const b = new ColumnBuffer(7);
  const want: bigint[] = [];
  for (let i = 0; i < 50; i++) {
    const chunk = Array.from({ length: 7 }, (_, k) => BigInt(i * 7 + k));
    want.push(...chunk);
    b.append(longs(chunk));
  }
  t.equal(b.size, 350);
  const out = b.drain();
  t.same(Array.from((out as { data: BigInt64Array }).data), want);
  t.equal(b.size, 0, 'drained empty');
  t.equal(rows(b.drain()), 0, 'a second drain has no rows');
  b.append(longs([5n]));
  t.same(Array.from((b.drain() as { data: BigInt64Array }).data), [5n], 'usable after draining');
});

t.test('a symbol buffer keeps g# on what it drains; guid and general-list buffers keep their rows', async (t) => {
  const s = new ColumnBuffer(11, 4);
  s.append(symbols(['a', 'b']));
  s.append(symbols(['c']));
  t.same(s.drain(), { type: 11, attr: 4, data: ['a', 'b', 'c'] });
  const g = new ColumnBuffer(2);
  for (let i = 0; i < 10; i++) g.append(atomToVector(guid(G1)));
  t.equal(rows(g.drain()), 10, 'ten guids past the 64-byte first allocation');
  const l = new ColumnBuffer(0);
  l.append(list(long(1n)));
  l.append(list(str('x'), sym('y')));
  t.same(l.drain(), list(long(1n), str('x'), sym('y')));
});

t.test('a general-list buffer takes a vector row by row, as atoms (toColumn lets an untyped column take any vector)', async (t) => {
  const l = new ColumnBuffer(0);
  l.append(list(str('x')));
  l.append(symbols(['h1', 'h2']));
  l.append(floats([1.5]));
  l.append(vector(1, 2));
  const g = vector(2, 1);
  (g.data as Uint8Array).set(Buffer.from(G1.replace(/-/g, ''), 'hex'));
  l.append(g);
  l.append(str('ab'));
  t.same(l.drain(), list(str('x'), sym('h1'), sym('h2'), { type: -9, value: 1.5 }, { type: -1, value: false }, { type: -1, value: false },
    guid(G1), { type: -10, value: 'a' }, { type: -10, value: 'b' }));
});

t.test('truncate keeps the first n rows; asking to keep more than there are changes nothing', async (t) => {
  for (const [type, make] of [
    [9, (xs: number[]) => floats(xs)], [11, (xs: number[]) => symbols(xs.map(String))], [0, (xs: number[]) => list(...xs.map((x) => long(BigInt(x))))],
  ] as const) {
    const b = new ColumnBuffer(type);
    b.append(make([1, 2, 3, 4]));
    b.truncate(9);
    t.equal(b.size, 4, `type ${type}: no-op`);
    b.truncate(2);
    t.equal(b.size, 2);
    b.append(make([5]));
    t.same(b.drain(), make([1, 2, 5]), `type ${type}: rows after the cut are gone, later appends follow the kept ones`);
  }
});
