// The in-memory model of q values. Columnar: every vector is one typed array (or a string array for
// symbols); a table is a list of column names and one vector per column. No row objects anywhere.
//
// Representation choices:
// - 64-bit integers (long, timestamp, timespan) are bigint, never rounded.
// - char vectors are Uint8Array (q strings are bytes, not text); `str()`/`text()` convert.
// - char atoms are one-character strings (latin1 of the byte); symbols are strings (UTF-8 on the wire).
// - guid atoms are canonical lower-case strings; guid vectors are 16 bytes per element.
// - temporal values are the raw q integers/floats on the 2000.01.01 epoch (see temporal.ts).
import { Attr, QType } from './types.js';

export type QIntegralAtomType = -4 | -5 | -6 | -13 | -14 | -17 | -18 | -19;
export type QFloatAtomType = -8 | -9 | -15;
export type QBigAtomType = -7 | -12 | -16;

export interface QBooleanAtom { readonly type: -1; readonly value: boolean }
export interface QGuidAtom { readonly type: -2; readonly value: string }
export interface QIntegralAtom { readonly type: QIntegralAtomType; readonly value: number }
export interface QFloatAtom { readonly type: QFloatAtomType; readonly value: number }
export interface QBigAtom { readonly type: QBigAtomType; readonly value: bigint }
export interface QCharAtom { readonly type: -10; readonly value: string }
export interface QSymbolAtom { readonly type: -11; readonly value: string }
export type QAtom =
  | QBooleanAtom | QGuidAtom | QIntegralAtom | QFloatAtom | QBigAtom | QCharAtom | QSymbolAtom;

export type QByteVectorType = 1 | 2 | 4 | 10;
export type QInt32VectorType = 6 | 13 | 14 | 17 | 18 | 19;
export type QBigVectorType = 7 | 12 | 16;
export type QFloat64VectorType = 9 | 15;

/** boolean, guid (16 bytes each), byte and char vectors. */
export interface QByteVector { readonly type: QByteVectorType; attr: Attr; readonly data: Uint8Array }
export interface QShortVector { readonly type: 5; attr: Attr; readonly data: Int16Array }
export interface QInt32Vector { readonly type: QInt32VectorType; attr: Attr; readonly data: Int32Array }
export interface QBigVector { readonly type: QBigVectorType; attr: Attr; readonly data: BigInt64Array }
export interface QRealVector { readonly type: 8; attr: Attr; readonly data: Float32Array }
export interface QFloat64Vector { readonly type: QFloat64VectorType; attr: Attr; readonly data: Float64Array }
export interface QSymbolVector { readonly type: 11; attr: Attr; readonly data: string[] }
export type QVector =
  | QByteVector | QShortVector | QInt32Vector | QBigVector | QRealVector | QFloat64Vector | QSymbolVector;
export type QVectorType = QVector['type'];

export interface QList { readonly type: 0; attr: Attr; readonly items: QValue[] }
/** Dict (99) or sorted dict (127). A keyed table is a dict whose keys and values are both tables. */
export interface QDict { readonly type: 99 | 127; readonly keys: QValue; readonly values: QValue }
/** Table (98): column names and one column (usually a vector) per name, all the same length. */
export interface QTable { readonly type: 98; attr: Attr; readonly columns: string[]; readonly data: QValue[] }
/** Lambda (100): context name ('' for root) and the source text bytes. */
export interface QLambda { readonly type: 100; readonly context: string; readonly source: Uint8Array }
/** Primitives (101–103): one byte index. Generic null `::` is unary 0. */
export interface QPrimitive { readonly type: 101 | 102 | 103; readonly index: number }
/** Projection (104) and composition (105): n objects. */
export interface QCompound { readonly type: 104 | 105; readonly items: QValue[] }
/** Derived functions f' f/ f\ f': f/: f\: (106–111): one object. */
export interface QDerived { readonly type: 106 | 107 | 108 | 109 | 110 | 111; readonly fn: QValue }
/** Error (-128), only ever the whole payload of a response. */
export interface QErrorValue { readonly type: -128; readonly message: string }

export type QFunction = QLambda | QPrimitive | QCompound | QDerived;
export type QValue = QAtom | QVector | QList | QDict | QTable | QFunction | QErrorValue;

// ---- constructors ---------------------------------------------------------------------------

export const NULL: QPrimitive = Object.freeze({ type: 101, index: 0 }) as QPrimitive;

export const bool = (value: boolean): QBooleanAtom => ({ type: -1, value });
export const byte = (value: number): QIntegralAtom => ({ type: -4, value });
export const short = (value: number): QIntegralAtom => ({ type: -5, value });
export const int = (value: number): QIntegralAtom => ({ type: -6, value });
export const long = (value: bigint): QBigAtom => ({ type: -7, value });
export const real = (value: number): QFloatAtom => ({ type: -8, value });
export const float = (value: number): QFloatAtom => ({ type: -9, value });
export const char = (value: string): QCharAtom => ({ type: -10, value });
export const sym = (value: string): QSymbolAtom => ({ type: -11, value });
export const timestamp = (nanos: bigint): QBigAtom => ({ type: -12, value: nanos });
export const month = (months: number): QIntegralAtom => ({ type: -13, value: months });
export const date = (days: number): QIntegralAtom => ({ type: -14, value: days });
export const datetime = (days: number): QFloatAtom => ({ type: -15, value: days });
export const timespan = (nanos: bigint): QBigAtom => ({ type: -16, value: nanos });
export const minute = (v: number): QIntegralAtom => ({ type: -17, value: v });
export const second = (v: number): QIntegralAtom => ({ type: -18, value: v });
export const time = (ms: number): QIntegralAtom => ({ type: -19, value: ms });
export const guid = (value: string): QGuidAtom => ({ type: -2, value: value.toLowerCase() });
export const error = (message: string): QErrorValue => ({ type: -128, message });

/** A q string (char vector) from JS text, UTF-8 encoded. */
export const str = (text: string, attr: Attr = Attr.None): QByteVector =>
  ({ type: 10, attr, data: new Uint8Array(Buffer.from(text, 'utf8')) });
export const symbols = (data: string[], attr: Attr = Attr.None): QSymbolVector => ({ type: 11, attr, data });
export const longs = (data: BigInt64Array | bigint[], attr: Attr = Attr.None): QBigVector =>
  ({ type: 7, attr, data: data instanceof BigInt64Array ? data : BigInt64Array.from(data) });
export const ints = (data: Int32Array | number[], attr: Attr = Attr.None): QInt32Vector =>
  ({ type: 6, attr, data: data instanceof Int32Array ? data : Int32Array.from(data) });
export const floats = (data: Float64Array | number[], attr: Attr = Attr.None): QFloat64Vector =>
  ({ type: 9, attr, data: data instanceof Float64Array ? data : Float64Array.from(data) });
export const timespans = (data: BigInt64Array | bigint[], attr: Attr = Attr.None): QBigVector =>
  ({ type: 16, attr, data: data instanceof BigInt64Array ? data : BigInt64Array.from(data) });
export const list = (...items: QValue[]): QList => ({ type: 0, attr: Attr.None, items });
export const dict = (keys: QValue, values: QValue, sorted = false): QDict =>
  ({ type: sorted ? 127 : 99, keys, values });
export const table = (columns: string[], data: QValue[], attr: Attr = Attr.None): QTable =>
  ({ type: 98, attr, columns, data });

/** Allocates an empty vector of type t with n elements (zeroed). */
export function vector(type: QVectorType, n: number, attr: Attr = Attr.None): QVector {
  switch (type) {
    case 1: case 4: case 10: return { type, attr, data: new Uint8Array(n) };
    case 2: return { type, attr, data: new Uint8Array(n * 16) };
    case 5: return { type, attr, data: new Int16Array(n) };
    case 6: case 13: case 14: case 17: case 18: case 19: return { type, attr, data: new Int32Array(n) };
    case 7: case 12: case 16: return { type, attr, data: new BigInt64Array(n) };
    case 8: return { type, attr, data: new Float32Array(n) };
    case 9: case 15: return { type, attr, data: new Float64Array(n) };
    case 11: return { type, attr, data: new Array<string>(n).fill('') };
  }
}

// ---- guards and helpers ---------------------------------------------------------------------

export const isAtom = (v: QValue): v is QAtom => v.type < 0 && v.type > -20;
export const isVector = (v: QValue): v is QVector => v.type > 0 && v.type < 20;
export const isList = (v: QValue): v is QList => v.type === QType.List;
export const isTable = (v: QValue): v is QTable => v.type === QType.Table;
export const isDict = (v: QValue): v is QDict => v.type === QType.Dict || v.type === QType.SortedDict;
export const isGenericNull = (v: QValue): boolean => v.type === 101 && v.index === 0;
export const isSymbol = (v: QValue): v is QSymbolAtom => v.type === -11;
export const isSymbols = (v: QValue): v is QSymbolVector => v.type === 11;
export const isString = (v: QValue): v is QByteVector => v.type === 10;

/** Text of a char vector (UTF-8) or char atom. */
export function text(v: QValue): string | undefined {
  if (v.type === 10) return Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('utf8');
  if (v.type === -10) return v.value;
  return undefined;
}

/** Number of items: q's `count`. Atoms count 1; dicts count their keys; tables their rows. */
export function count(v: QValue): number {
  if (v.type === 0) return v.items.length;
  if (v.type === 2) return v.data.length / 16;
  if (v.type > 0 && v.type < 20) return (v as QVector).data.length;
  if (v.type === 98) return v.data.length === 0 ? 0 : count(v.data[0] as QValue);
  if (v.type === 99 || v.type === 127) return count(v.keys);
  return 1;
}
