// fast-check arbitraries for every q value of the model in src/ipc/values.ts (nesting depth ≤ 4), a
// structural equality that compares vector payloads byte for byte, and a tap bridge for properties.
// Spec: ../shared/reference/kdb-ipc-and-tick.md §3 (types, nulls, infinities, attributes).
//
// NaN: vectors are typed arrays, and the codec copies their bytes, so float/real vectors here carry
// arbitrary bit patterns (quiet, signalling, negative NaNs) and `qDiff` compares them bit for bit. Atoms
// hold a JS number: an atom's NaN is written as the canonical NaN (0x7FF8… for float, 0x7FC0… for real)
// whatever its payload was on the wire, so atoms compare with Object.is (NaN equals NaN, -0 is not 0).
import fc from 'fast-check';
import type { Arbitrary, Parameters as FcParameters } from 'fast-check';
import { INF_INT, INF_LONG, INF_SHORT, NULL_INT, NULL_LONG, NULL_SHORT } from '../../src/ipc/types.js';
import type { Attr } from '../../src/ipc/types.js';
import { guidText } from '../../src/ipc/decode.js';
import type {
  QAtom, QDict, QErrorValue, QFunction, QList, QTable, QValue, QVector, QVectorType, QIntegralAtomType,
  QFloatAtomType, QBigAtomType,
} from '../../src/ipc/values.js';

// ---- scalars ---------------------------------------------------------------------------------

export const attr: Arbitrary<Attr> = fc.constantFrom<Attr>(0, 1, 2, 3, 4);

/** Mostly the edge values (null = min, +inf = max, -inf = min+1, 0, ±1), otherwise any value. */
function edged<T>(specials: T[], any: Arbitrary<T>): Arbitrary<T> {
  return fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...specials) }, { weight: 3, arbitrary: any });
}

export const int16 = edged([NULL_SHORT, INF_SHORT, -INF_SHORT, 0, 1, -1], fc.integer({ min: NULL_SHORT, max: INF_SHORT }));
export const int32 = edged([NULL_INT, INF_INT, -INF_INT, 0, 1, -1], fc.integer({ min: NULL_INT, max: INF_INT }));
export const int64 = edged([NULL_LONG, INF_LONG, -INF_LONG, 0n, 1n, -1n], fc.bigInt({ min: NULL_LONG, max: INF_LONG }));
/** 32-bit floats (fc.float is float32-exact), with NaN, ±Infinity and -0. */
export const float32 = edged([NaN, Infinity, -Infinity, -0, 0], fc.float());
export const float64 = edged([NaN, Infinity, -Infinity, -0, 0], fc.double());

/** Bit patterns of real/float vector elements: ordinary values and every kind of NaN. */
const f32Scratch = new Float32Array(1);
const f32Bits = new Uint32Array(f32Scratch.buffer);
const float32Bits: Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: float32.map((f) => { f32Scratch[0] = f; return f32Bits[0] as number; }) },
  { weight: 1, arbitrary: fc.constantFrom(0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff, 0x7fc00001) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const f64Scratch = new Float64Array(1);
const f64Bits = new BigUint64Array(f64Scratch.buffer);
const float64Bits: Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: float64.map((f) => { f64Scratch[0] = f; return f64Bits[0] as bigint; }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff0000000000001n, 0xffffffffffffffffn),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);

/** Non-empty unicode text without NUL (q stops a symbol at NUL); no lone surrogates, so UTF-8 is lossless. */
export const nonEmptySymbol: Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.fullUnicodeString({ minLength: 1, maxLength: 8 }),
).filter((s) => !s.includes('\0'));
/** A symbol's text: mostly non-empty, sometimes the empty symbol (q's null symbol). */
export const symbolText: Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 6, arbitrary: nonEmptySymbol },
);

/** 16 bytes → 8-4-4-4-12 text, as the codec writes a guid atom. */
export const guidOf = (bytes: Uint8Array): string => guidText(bytes, 0);
const guidBytes = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new Uint8Array(16)) },
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }) },
);

// ---- atoms -----------------------------------------------------------------------------------

/** Atom type codes: all 18 q types. */
export const ATOM_TYPES = [-1, -2, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19] as const;
export type AtomType = (typeof ATOM_TYPES)[number];

export function atomOf(type: AtomType): Arbitrary<QAtom> {
  switch (type) {
    case -1: return fc.boolean().map((value): QAtom => ({ type, value }));
    case -2: return guidBytes.map((b): QAtom => ({ type, value: guidOf(b) }));
    case -4: return fc.integer({ min: 0, max: 255 }).map((value): QAtom => ({ type, value }));
    case -5: return int16.map((value): QAtom => ({ type, value }));
    case -6: case -13: case -14: case -17: case -18: case -19:
      return int32.map((value): QAtom => ({ type: type as QIntegralAtomType, value }));
    case -7: case -12: case -16: return int64.map((value): QAtom => ({ type: type as QBigAtomType, value }));
    case -8: return float32.map((value): QAtom => ({ type, value }));
    case -9: case -15: return float64.map((value): QAtom => ({ type: type as QFloatAtomType, value }));
    case -10: return fc.integer({ min: 0, max: 255 }).map((c): QAtom => ({ type, value: String.fromCharCode(c) }));
    case -11: return symbolText.map((value): QAtom => ({ type, value }));
  }
}

export const anyAtom: Arbitrary<QAtom> = fc.constantFrom(...ATOM_TYPES).chain(atomOf);

// ---- vectors ---------------------------------------------------------------------------------

export const VECTOR_TYPES = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const satisfies readonly QVectorType[];

/** Length bounds of a generated vector; `size: 'max'` lets fast-check use the whole range (it favours short ones). */
export interface Len { readonly minLength: number; readonly maxLength: number; readonly size?: 'max' }
const DEFAULT_LEN: Len = { minLength: 0, maxLength: 20 }; // both sides of the encoder's 16-element small-vector path

/** A vector of the given type, any attribute, length within `len`. */
export function vectorOf(type: QVectorType, len: Len = DEFAULT_LEN): Arbitrary<QVector> {
  const data = vectorData(type, len);
  return fc.tuple(attr, data).map(([a, d]) => ({ type, attr: a, data: d }) as QVector);
}

function vectorData(type: QVectorType, len: Len): Arbitrary<QVector['data']> {
  switch (type) {
    case 1: return fc.array(fc.constantFrom(0, 1), len).map((a) => Uint8Array.from(a));
    case 2: return fc.array(guidBytes, len).map((gs) => {
      const out = new Uint8Array(gs.length * 16);
      gs.forEach((g, i) => out.set(g, i * 16));
      return out;
    });
    case 4: case 10: return fc.uint8Array(len);
    case 5: return fc.array(int16, len).map((a) => Int16Array.from(a));
    case 6: case 13: case 14: case 17: case 18: case 19: return fc.array(int32, len).map((a) => Int32Array.from(a));
    case 7: case 12: case 16: return fc.array(int64, len).map((a) => BigInt64Array.from(a));
    case 8: return fc.array(float32Bits, len).map((a) => new Float32Array(Uint32Array.from(a).buffer));
    case 9: case 15: return fc.array(float64Bits, len).map((a) => new Float64Array(BigUint64Array.from(a).buffer));
    case 11: return fc.array(symbolText, len);
  }
}

export const anyVector: Arbitrary<QVector> = fc.constantFrom(...VECTOR_TYPES).chain((t) => vectorOf(t));

// ---- tables ----------------------------------------------------------------------------------

/** A column of exactly n rows: any vector, or a general list of strings (q's string columns). */
export function columnOf(n: number): Arbitrary<QValue> {
  const exact: Len = { minLength: n, maxLength: n };
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...VECTOR_TYPES).chain((t) => vectorOf(t, exact)) },
    {
      weight: 1,
      arbitrary: fc.array(vectorOf(10, { minLength: 0, maxLength: 6 }), exact)
        .map((items): QList => ({ type: 0, attr: 0, items })),
    },
  );
}

/** A table of n rows: 1–4 distinct non-empty column names, columns of equal length. */
export function tableOf(n: number): Arbitrary<QTable> {
  return fc.uniqueArray(nonEmptySymbol, { minLength: 1, maxLength: 4 }).chain((columns) =>
    fc.tuple(attr, fc.tuple(...columns.map(() => columnOf(n))))
      .map(([a, data]): QTable => ({ type: 98, attr: a, columns, data })));
}

export const anyTable: Arbitrary<QTable> = fc.integer({ min: 0, max: 5 }).chain(tableOf);

/** A keyed table: a dict (99, or 127 for s#) whose keys and values are tables of the same row count. */
export const keyedTable: Arbitrary<QDict> = fc.integer({ min: 0, max: 5 }).chain((n) =>
  fc.tuple(fc.constantFrom<99 | 127>(99, 127), tableOf(n), tableOf(n))
    .map(([type, keys, values]): QDict => ({ type, keys, values })));

// ---- functions -------------------------------------------------------------------------------

const lambdaSource = fc.oneof(
  fc.string({ maxLength: 24 }).map((s) => '{' + s + '}'),
  fc.fullUnicodeString({ maxLength: 12 }),
).map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
export const lambda: Arbitrary<QFunction> = fc.tuple(symbolText, fc.oneof(lambdaSource, fc.uint8Array({ maxLength: 16 })))
  .map(([context, source]): QFunction => ({ type: 100, context, source }));
export const primitive: Arbitrary<QFunction> = fc.tuple(fc.constantFrom<101 | 102 | 103>(101, 102, 103), fc.integer({ min: 0, max: 255 }))
  .map(([type, index]): QFunction => ({ type, index }));

// ---- composite values, bounded depth -------------------------------------------------------------

export const MAX_DEPTH = 4;

const leaf: Arbitrary<QValue> = fc.oneof(
  { weight: 5, arbitrary: anyAtom },
  { weight: 5, arbitrary: anyVector },
  { weight: 1, arbitrary: lambda },
  { weight: 1, arbitrary: primitive },
);

const fnMemo: Arbitrary<QFunction>[] = [];
/** Functions nested at most `depth` levels: lambdas, primitives, projections, compositions, derived. */
export function functionAt(depth: number): Arbitrary<QFunction> {
  const memo = fnMemo[depth];
  if (memo) return memo;
  const arb = depth === 0
    ? fc.oneof(lambda, primitive)
    : fc.oneof(
      { weight: 2, arbitrary: fc.oneof(lambda, primitive) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom<104 | 105>(104, 105), fc.array(valueAt(depth - 1), { maxLength: 4 }))
          .map(([type, items]): QFunction => ({ type, items })),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom<106 | 107 | 108 | 109 | 110 | 111>(106, 107, 108, 109, 110, 111), functionAt(depth - 1))
          .map(([type, fn]): QFunction => ({ type, fn })),
      },
    );
  fnMemo[depth] = arb;
  return arb;
}

const valueMemo: Arbitrary<QValue>[] = [];
/** Any q value (never an error) whose lists, dicts, tables and functions nest at most `depth` levels. */
export function valueAt(depth: number): Arbitrary<QValue> {
  const memo = valueMemo[depth];
  if (memo) return memo;
  let arb: Arbitrary<QValue>;
  if (depth === 0) {
    arb = leaf;
  } else {
    const inner = valueAt(depth - 1);
    arb = fc.oneof(
      { weight: 8, arbitrary: leaf },
      {
        weight: 3,
        arbitrary: fc.tuple(attr, fc.array(inner, { maxLength: 5 }))
          .map(([a, items]): QList => ({ type: 0, attr: a, items })),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.constantFrom<99 | 127>(99, 127), fc.oneof(anyVector, inner), inner)
          .map(([type, keys, values]): QDict => ({ type, keys, values })),
      },
      {
        // q's usual dict: symbol keys to a general list of the same count.
        weight: 1,
        arbitrary: fc.uniqueArray(symbolText, { maxLength: 4 }).chain((names) =>
          fc.tuple(...names.map(() => inner)).map((items): QDict => ({
            type: 99,
            keys: { type: 11, attr: 0, data: names },
            values: { type: 0, attr: 0, items },
          }))),
      },
      { weight: 1, arbitrary: anyTable },
      { weight: 1, arbitrary: keyedTable },
      { weight: 2, arbitrary: functionAt(depth) },
    );
  }
  valueMemo[depth] = arb;
  return arb;
}

/** Any q value nested at most MAX_DEPTH levels. Errors are excluded: they are only ever a whole payload. */
export const qValue: Arbitrary<QValue> = valueAt(MAX_DEPTH);

export const qError: Arbitrary<QErrorValue> = symbolText.map((message): QErrorValue => ({ type: -128, message }));

/** What a whole payload can be: any value, or (top level only) an error. */
export const qPayload: Arbitrary<QValue> = fc.oneof(
  { weight: 20, arbitrary: qValue },
  { weight: 1, arbitrary: qError },
);

// ---- equality --------------------------------------------------------------------------------

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Where two q values first differ (a path and a reason), or undefined when they are equal. Vectors
 * compare their raw bytes (NaN payloads included), atoms compare numbers with Object.is.
 */
export function qDiff(a: QValue, b: QValue, path = '$'): string | undefined {
  if (a.type !== b.type) return `${path}: type ${a.type} vs ${b.type}`;
  if ('attr' in a && 'attr' in b && a.attr !== b.attr) return `${path}: attr ${a.attr} vs ${b.attr}`;
  switch (a.type) {
    case -128: return a.message === (b as QErrorValue).message ? undefined : `${path}: error text`;
    case 0: case 104: case 105: {
      const x = a.items;
      const y = (b as typeof a).items;
      if (x.length !== y.length) return `${path}: ${x.length} items vs ${y.length}`;
      for (let i = 0; i < x.length; i++) {
        const d = qDiff(x[i] as QValue, y[i] as QValue, `${path}[${i}]`);
        if (d) return d;
      }
      return undefined;
    }
    case 98: {
      const y = b as QTable;
      if (a.columns.length !== y.columns.length || a.columns.some((c, i) => c !== y.columns[i])) {
        return `${path}: columns ${JSON.stringify(a.columns)} vs ${JSON.stringify(y.columns)}`;
      }
      if (a.data.length !== y.data.length) return `${path}: ${a.data.length} columns vs ${y.data.length}`;
      for (let i = 0; i < a.data.length; i++) {
        const d = qDiff(a.data[i] as QValue, y.data[i] as QValue, `${path}.${a.columns[i] ?? i}`);
        if (d) return d;
      }
      return undefined;
    }
    case 99: case 127: {
      const y = b as QDict;
      return qDiff(a.keys, y.keys, `${path}.keys`) ?? qDiff(a.values, y.values, `${path}.values`);
    }
    case 100: {
      const y = b as typeof a;
      if (a.context !== y.context) return `${path}: context ${JSON.stringify(a.context)} vs ${JSON.stringify(y.context)}`;
      return bytesOf(a.source).equals(bytesOf(y.source)) ? undefined : `${path}: lambda source`;
    }
    case 101: case 102: case 103:
      return a.index === (b as typeof a).index ? undefined : `${path}: index ${a.index} vs ${(b as typeof a).index}`;
    case 106: case 107: case 108: case 109: case 110: case 111:
      return qDiff(a.fn, (b as typeof a).fn, `${path}.fn`);
    case 11: {
      const y = (b as typeof a).data;
      if (a.data.length !== y.length) return `${path}: ${a.data.length} symbols vs ${y.length}`;
      for (let i = 0; i < y.length; i++) {
        if (a.data[i] !== y[i]) return `${path}[${i}]: ${JSON.stringify(a.data[i])} vs ${JSON.stringify(y[i])}`;
      }
      return undefined;
    }
    default:
      if (a.type > 0) {
        const x = bytesOf((a as Exclude<QVector, { type: 11 }>).data);
        const y = bytesOf((b as Exclude<QVector, { type: 11 }>).data);
        return x.equals(y) ? undefined : `${path}: bytes ${x.toString('hex')} vs ${y.toString('hex')}`;
      }
      return Object.is((a as QAtom).value, (b as QAtom).value)
        ? undefined
        : `${path}: ${String((a as QAtom).value)} vs ${String((b as QAtom).value)}`;
  }
}

// ---- tap bridge --------------------------------------------------------------------------------

interface Reporter { pass(message: string): void; fail(message: string): void }

/** Runs a property and reports it as one tap assertion (with fast-check's counterexample on failure). */
export function holds<T>(t: Reporter, name: string, arb: Arbitrary<T>, predicate: (v: T) => boolean | void,
  params: FcParameters<[T]> = {}): void {
  const details = fc.check(fc.property(arb, predicate), { numRuns: 2000, ...params });
  if (details.failed) t.fail(`${name}\n${fc.defaultReportMessage(details) ?? 'property failed'}`);
  else t.pass(`${name} (${details.numRuns} runs)`);
}
