// The in-memory q model (src/ipc/values.ts): constructors encode to q's own bytes, vectors are zeroed
// typed arrays of the right width, count and text behave as q's count and strings.
import t from 'tap';
import {
  bool, count, dict, encodePayload, error, float, guid, int, isAtom, isDict, isGenericNull, isList, isString,
  isSymbol, isSymbols, isTable, isVector, list, long, longs, NULL, short, str, sym, symbols, table, text, vector,
} from '../../src/ipc/index.js';
import type { QValue, QVectorType } from '../../src/ipc/index.js';
import { hex, readVectors } from '../helpers/vectors.js';

const q = new Map(readVectors('q3-expressions.txt').map((v) => [v.expr, hex(v.bytes)]));
const qBytes = (expr: string): string => {
  const b = q.get(expr);
  if (b === undefined) throw new Error(`no vector for ${expr}`);
  return b;
};

t.test('atom constructors encode to the bytes q writes for the same atoms', async (t) => {
  t.equal(hex(encodePayload(long(1n))), qBytes('1'));
  t.equal(hex(encodePayload(int(1))), qBytes('1i'));
  t.equal(hex(encodePayload(short(-234))), qBytes('-234h'));
  t.equal(hex(encodePayload(bool(true))), qBytes('1b'));
  t.equal(hex(encodePayload(float(3.234))), qBytes('3.234'));
  t.equal(hex(encodePayload(sym('abc'))), qBytes('`abc'));
  t.equal(hex(encodePayload(str('abc'))), qBytes('"abc"'));
  t.equal(hex(encodePayload(str(''))), qBytes('""'));
});

t.test('a guid atom is kept in canonical lower case whatever case it was given in', async (t) => {
  t.equal(guid('0A369037-75D3-B24D-6721-5A1D44D4BED5').value, '0a369037-75d3-b24d-6721-5a1d44d4bed5');
});

t.test('str encodes text as UTF-8 bytes and text reads them back, from char vectors and char atoms only', async (t) => {
  const s = str('Zürich');
  t.equal(s.data.length, 7, 'ü is two bytes');
  t.equal(text(s), 'Zürich');
  t.equal(text({ type: -10, value: 'x' }), 'x');
  t.equal(text(sym('abc')), undefined);
  t.equal(text(long(1n)), undefined);
});

t.test('vector allocates n zeroed elements in the typed array of each type; guids take 16 bytes each', async (t) => {
  const expect: Array<[QVectorType, string, number]> = [
    [1, 'Uint8Array', 1], [2, 'Uint8Array', 16], [4, 'Uint8Array', 1], [5, 'Int16Array', 1], [6, 'Int32Array', 1],
    [7, 'BigInt64Array', 1], [8, 'Float32Array', 1], [9, 'Float64Array', 1], [10, 'Uint8Array', 1],
    [12, 'BigInt64Array', 1], [13, 'Int32Array', 1], [14, 'Int32Array', 1], [15, 'Float64Array', 1],
    [16, 'BigInt64Array', 1], [17, 'Int32Array', 1], [18, 'Int32Array', 1], [19, 'Int32Array', 1],
  ];
  for (const [type, ctor, width] of expect) {
    const v = vector(type, 3);
    t.equal(v.type, type);
    t.equal(v.data.constructor.name, ctor, `type ${type}`);
    t.equal(v.data.length, 3 * width, `type ${type}`);
    t.equal(count(v), 3, `count of type ${type}`);
    t.ok(Array.from(v.data as ArrayLike<number | bigint>).every((x) => x === 0 || x === 0n), `type ${type} zeroed`);
  }
  const s = vector(11, 2);
  t.same(s.data, ['', ''], 'symbols start empty, not undefined');
  t.equal(vector(7, 0, 4).attr, 4, 'the attribute is kept');
});

t.test('count is q\'s count: atoms 1, lists their items, dicts their keys, tables their rows', async (t) => {
  t.equal(count(long(5n)), 1);
  t.equal(count(NULL), 1);
  t.equal(count(list(long(1n), sym('a'))), 2);
  t.equal(count(longs([1n, 2n, 3n])), 3);
  t.equal(count(dict(symbols(['a', 'b']), longs([1n, 2n]))), 2);
  t.equal(count(table(['a', 'b'], [longs([1n, 2n, 3n]), symbols(['x', 'y', 'z'])])), 3);
  t.equal(count(table([], [])), 0, 'a table without columns has no rows');
});

t.test('the guards tell atoms, vectors, lists, tables, dicts, symbols and strings apart', async (t) => {
  const values: Record<string, QValue> = {
    atom: long(1n), sym: sym('a'), syms: symbols(['a']), string: str('a'), list: list(), table: table([], []),
    dict: dict(symbols([]), list()), sorted: dict(symbols([]), list(), true), nul: NULL, err: error('type'),
  };
  const which = (f: (v: QValue) => boolean): string[] => Object.keys(values).filter((k) => f(values[k] as QValue));
  t.same(which(isAtom), ['atom', 'sym']);
  t.same(which(isVector), ['syms', 'string']);
  t.same(which(isList), ['list']);
  t.same(which(isTable), ['table']);
  t.same(which(isDict), ['dict', 'sorted']);
  t.same(which(isSymbol), ['sym']);
  t.same(which(isSymbols), ['syms']);
  t.same(which(isString), ['string']);
  t.same(which(isGenericNull), ['nul']);
});

t.test('the generic null is frozen: no caller can change :: for everyone', async (t) => {
  t.ok(Object.isFrozen(NULL));
  t.same(NULL, { type: 101, index: 0 });
});

t.test('longs accepts an array or a BigInt64Array, and keeps the given array rather than copying it', async (t) => {
  const a = new BigInt64Array([1n, 2n]);
  t.equal(longs(a).data, a);
  t.same(Array.from(longs([3n, 4n]).data), [3n, 4n]);
});
