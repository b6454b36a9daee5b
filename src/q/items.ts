// Items of q values: the atom at an index of a vector, each type's null atom, q's list collapse (a general
// list of same-typed atoms is a vector: (1;2) is 1 2) and atom equality as `in` needs it.
import { NULL_INT, NULL_LONG, NULL_SHORT } from '../ipc/types.js';
import { bool, guid, list, sym, vector } from '../ipc/values.js';
import type {
  QAtom, QBigAtom, QBigAtomType, QFloatAtom, QFloatAtomType, QIntegralAtom, QIntegralAtomType, QValue,
  QVector, QVectorType,
} from '../ipc/values.js';

/** The item at index i of a vector, as an atom (i must be in range). */
export function atomAt(v: QVector, i: number): QAtom {
  switch (v.type) {
    case 1: return bool(v.data[i] === 1);
    case 2: return guid(guidText(v.data.subarray(i * 16, i * 16 + 16)));
    case 4: return { type: -4, value: v.data[i] ?? 0 };
    case 10: return { type: -10, value: String.fromCharCode(v.data[i] ?? 0) };
    case 5: return { type: -5, value: v.data[i] ?? 0 };
    case 6: case 13: case 14: case 17: case 18: case 19:
      return { type: -v.type as QIntegralAtomType, value: v.data[i] ?? 0 };
    case 7: case 12: case 16: return { type: -v.type as QBigAtomType, value: v.data[i] ?? 0n };
    case 8: return { type: -8, value: v.data[i] ?? 0 };
    case 9: case 15: return { type: -v.type as QFloatAtomType, value: v.data[i] ?? 0 };
    case 11: return sym(v.data[i] ?? '');
  }
}

/** q's null of a vector type (booleans and bytes have none; their zero is used, as q does). */
export function nullAtom(type: QVectorType): QAtom {
  switch (type) {
    case 1: return bool(false);
    case 2: return guid('00000000-0000-0000-0000-000000000000');
    case 4: return { type: -4, value: 0 };
    case 10: return { type: -10, value: ' ' };
    case 5: return { type: -5, value: NULL_SHORT };
    case 6: case 13: case 14: case 17: case 18: case 19: return { type: -type as QIntegralAtomType, value: NULL_INT };
    case 7: case 12: case 16: return { type: -type as QBigAtomType, value: NULL_LONG };
    case 8: case 9: case 15: return { type: -type as QFloatAtomType, value: Number.NaN };
    case 11: return sym('');
  }
}

/** q's `null` on an atom. */
export function isNullAtom(a: QAtom): boolean {
  switch (a.type) {
    case -1: case -4: return false;
    case -2: return /^[0-]+$/.test(a.value);
    case -10: return a.value === ' ';
    case -11: return a.value === '';
    case -5: return a.value === NULL_SHORT;
    case -7: case -12: case -16: return a.value === NULL_LONG;
    case -8: case -9: case -15: return Number.isNaN(a.value);
    default: return a.value === NULL_INT;
  }
}

export const isAtomValue = (v: QValue): v is QAtom => v.type < 0 && v.type > -20;

/** A general list of the items, or a vector when every item is an atom of one type (q's collapse). */
export function collapse(items: QValue[]): QValue {
  const first = items[0];
  if (first === undefined || !isAtomValue(first) || !items.every((x) => x.type === first.type)) {
    return list(...items);
  }
  return vectorOfAtoms(-first.type as QVectorType, items as QAtom[]);
}

function vectorOfAtoms(type: QVectorType, atoms: readonly QAtom[]): QVector {
  const out = vector(type, atoms.length);
  atoms.forEach((a, k) => {
    if (out.type === 2) out.data.set(guidBytes(String(a.value)), k * 16);
    else if (out.type === 11) out.data[k] = String(a.value);
    else if (out.type === 10) out.data[k] = String(a.value).charCodeAt(0);
    else if (out.data instanceof BigInt64Array) out.data[k] = a.value as bigint;
    else if (!Array.isArray(out.data)) out.data[k] = Number(a.value); // booleans become 0 and 1
  });
  return out;
}

const isNumericAtom = (a: QAtom): a is QIntegralAtom | QFloatAtom | QBigAtom =>
  a.type === -4 || (a.type <= -5 && a.type >= -9);

/**
 * A string equal for atoms that `in` treats as equal: booleans and numbers by numeric value (1b, 1i, 1 and 1f
 * alike; nulls of a type match each other), every other atom by type and value. Lets `in` use a Set.
 */
export function atomKey(a: QAtom): string {
  if (isNumericAtom(a) || a.type === -1) {
    const v = a.value;
    if (typeof v === 'bigint') return `n${v}`;
    const n = Number(v);
    return Number.isInteger(n) ? `n${BigInt(n)}` : `n${n}`;
  }
  return `${a.type}:${a.value}`;
}

export const atomEquals = (a: QAtom, b: QAtom): boolean => atomKey(a) === atomKey(b);

function guidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function guidBytes(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/-/g, ''), 'hex'));
}
