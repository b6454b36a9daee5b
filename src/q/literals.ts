// Numeric and temporal literals: atoms (42 -7 1i 2h 1.5e 2.5f 0N 0Ni 0n 0W 1b 0x2a 2024.01.02 10:00:00.000
// 0D10:00:00.000000000 2024.01.02D10:00) and space-separated vectors (1 2 3, 1 2 3h, 1 2.5, 101b, 0x2a3b).
// Spec: code.kx.com/q/basics/datatypes (literal forms). Input is a byte string (one char per byte).
import { QError } from '../errors.js';
import {
  INF_INT, INF_LONG, INF_SHORT, NANOS_PER_DAY, NULL_INT, NULL_LONG, NULL_SHORT,
} from '../ipc/types.js';
import { bool, byte, vector } from '../ipc/values.js';
import type { QAtom, QValue, QVector, QVectorType } from '../ipc/values.js';

/** Atom type codes a number or time literal can have (besides booleans and bytes). */
type NumType = -5 | -6 | -7 | -8 | -9 | -12 | -13 | -14 | -16 | -17 | -18 | -19;
type Special = 'null' | 'inf' | '-inf';

/** One item of a numeric literal, before the vector's common type is known. */
interface Piece {
  readonly type: NumType;
  /** A suffix or a temporal form fixed the type; otherwise ints may widen to float and 0N fits any type. */
  readonly explicit: boolean;
  readonly value: number | bigint | Special;
}

const access = (): QError => new QError('access');

const BYTES = /0x([0-9a-fA-F]*)/y;
const BOOLS = /([01]+)b/y;
const TIMESTAMP = /(\d{4})\.(\d\d)\.(\d\d)D(?:(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d*))?)?)?)?/y;
const DATE = /(\d{4})\.(\d\d)\.(\d\d)/y;
const MONTH = /(\d{4})\.(\d\d)m/y;
const TIMESPAN = /(-?)(\d+)D(?:(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d*))?)?)?)?/y;
const CLOCK = /(-?)(\d\d):(\d\d)(?::(\d\d)(?:(\.)(\d*))?)?/y;
const SPECIAL = /(-?)0([NWnw])([hijefpmdnuvt]?)/y;
const NUMBER = /(-?)(\d+\.?\d*|\.\d+)(?:e([+-]?\d+))?([hijef]?)/y;

const SUFFIX_TYPE: Readonly<Record<string, NumType>> = {
  h: -5, i: -6, j: -7, e: -8, f: -9, p: -12, m: -13, d: -14, n: -16, u: -17, v: -18, t: -19,
};

/** Characters that may not directly follow a literal (they would make it a different, unsupported token). */
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_.:]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** True if a number starts at i (a digit, `.5`, or a sign before either). */
export function startsNumber(src: string, i: number): boolean {
  const at = src[i] === '-' ? i + 1 : i;
  return isDigit(src[at]) || (src[at] === '.' && isDigit(src[at + 1]));
}

/** Reads the literal (atom or vector) starting at i; returns it and the index after it. */
export function readNumeric(src: string, i: number): { value: QValue; end: number } {
  const whole = readBytesOrBools(src, i);
  if (whole !== undefined) return whole;
  const pieces: Piece[] = [];
  let end = i;
  for (;;) {
    const { piece, next } = readPiece(src, end);
    pieces.push(piece);
    end = next;
    let look = end;
    while (src[look] === ' ' || src[look] === '\t') look++;
    if (look === end || !startsNumber(src, look)) break;
    end = look;
  }
  return { value: pieces.length === 1 ? atomFromPiece(pieces[0] as Piece) : vectorFromPieces(pieces), end };
}

function readBytesOrBools(src: string, i: number): { value: QValue; end: number } | undefined {
  BYTES.lastIndex = i;
  let m = BYTES.exec(src);
  if (m !== null) {
    const end = checkBoundary(src, BYTES.lastIndex);
    const hex = (m[1] ?? '').length % 2 === 1 ? `0${m[1] ?? ''}` : m[1] ?? '';
    const data = Uint8Array.from(Buffer.from(hex, 'hex'));
    return { value: data.length === 1 ? byte(data[0] ?? 0) : { type: 4, attr: 0, data }, end };
  }
  BOOLS.lastIndex = i;
  m = BOOLS.exec(src);
  if (m !== null) {
    const end = checkBoundary(src, BOOLS.lastIndex);
    const bits = m[1] ?? '';
    const data = Uint8Array.from(bits, (c) => (c === '1' ? 1 : 0));
    return { value: data.length === 1 ? bool(bits === '1') : { type: 1, attr: 0, data }, end };
  }
  return undefined;
}

function checkBoundary(src: string, end: number): number {
  if (isWordChar(src[end])) throw access();
  return end;
}

function readPiece(src: string, i: number): { piece: Piece; next: number } {
  for (const [form, build] of PIECE_FORMS) {
    form.lastIndex = i;
    const m = form.exec(src);
    if (m !== null) return { piece: build(m), next: checkBoundary(src, form.lastIndex) };
  }
  throw access();
}

type Groups = RegExpExecArray;
const PIECE_FORMS: readonly (readonly [RegExp, (m: Groups) => Piece])[] = [
  [TIMESTAMP, (m) => {
    const nanos = BigInt(civilDays(m)) * NANOS_PER_DAY + clockNanos(m[4], m[5], m[6], m[7], 24);
    return { type: -12, explicit: true, value: fitInteger(-12, nanos) };
  }],
  [MONTH, (m) => {
    const month = Number(m[2]);
    if (month < 1 || month > 12) throw access();
    return { type: -13, explicit: true, value: (Number(m[1]) - 2000) * 12 + month - 1 };
  }],
  [DATE, (m) => ({ type: -14, explicit: true, value: civilDays(m) })],
  [TIMESPAN, (m) => {
    const nanos = BigInt(m[2] ?? '0') * NANOS_PER_DAY + clockNanos(m[3], m[4], m[5], m[6], 100);
    return { type: -16, explicit: true, value: fitInteger(-16, m[1] === '-' ? -nanos : nanos) };
  }],
  [CLOCK, clockPiece],
  [SPECIAL, specialPiece],
  [NUMBER, numberPiece],
];

function clockPiece(m: Groups): Piece {
  const sign = m[1] === '-' ? -1 : 1;
  const [hh, mm, ss] = [Number(m[2]), Number(m[3]), Number(m[4] ?? '0')];
  if (mm > 59 || ss > 59) throw access();
  if (m[4] === undefined) return { type: -17, explicit: true, value: sign * (hh * 60 + mm) };
  const seconds = hh * 3600 + mm * 60 + ss;
  if (m[5] === undefined) return { type: -18, explicit: true, value: sign * seconds };
  const frac = m[6] ?? '';
  if (frac.length <= 3) {
    return { type: -19, explicit: true, value: sign * (seconds * 1000 + Number(frac.padEnd(3, '0'))) };
  }
  const nanos = clockNanos(m[2], m[3], m[4], frac, 100);
  return { type: -16, explicit: true, value: sign < 0 ? -nanos : nanos };
}

function specialPiece(m: Groups): Piece {
  const [sign, letter, suffix] = [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
  const lower = letter === 'n' || letter === 'w';
  if (lower && suffix !== '') throw access();
  if (sign === '-' && letter !== 'W' && letter !== 'w') throw access();
  const type: NumType = lower ? -9 : SUFFIX_TYPE[suffix] ?? -7;
  const value: Special = letter === 'N' || letter === 'n' ? 'null' : sign === '-' ? '-inf' : 'inf';
  // 0n and 0w are floats but, like unsuffixed numbers, do not fix a vector's type on their own.
  return { type, explicit: suffix !== '', value };
}

function numberPiece(m: Groups): Piece {
  const [sign, digits, exponent, suffix] = [m[1] ?? '', m[2] ?? '', m[3], m[4] ?? ''];
  const integral = exponent === undefined && !digits.includes('.');
  const explicit = suffix !== '';
  if (!integral || suffix === 'e' || suffix === 'f') {
    if (suffix === 'h' || suffix === 'i' || suffix === 'j') throw access();
    const value = Number(`${sign}${digits}${exponent === undefined ? '' : `e${exponent}`}`);
    return { type: suffix === 'e' ? -8 : -9, explicit, value };
  }
  const value = BigInt(`${sign}${digits}`);
  const type: NumType = suffix === 'h' ? -5 : suffix === 'i' ? -6 : -7;
  return { type, explicit, value: fitInteger(type, value) };
}

// ---- temporal arithmetic -------------------------------------------------------------------

/** Days from 2000.01.01 to the date in groups 1–3 (yyyy, mm, dd), validating the calendar. */
function civilDays(m: Groups): number {
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw access();
  // Days-from-civil on the proleptic Gregorian calendar, shifted so that 2000-03-01 is an era start.
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 730425; // 730425 = days from 0000-03-01 to 2000-01-01
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(mo) ? 30 : 31;
}

/** Nanoseconds of hh[:mm[:ss[.fff…]]]; at most 9 fraction digits; hours below maxHours. */
function clockNanos(hh?: string, mm?: string, ss?: string, frac?: string, maxHours = 24): bigint {
  const [h, mi, s] = [Number(hh ?? '0'), Number(mm ?? '0'), Number(ss ?? '0')];
  if (h >= maxHours || mi > 59 || s > 59 || (frac ?? '').length > 9) throw access();
  const fraction = BigInt((frac ?? '').padEnd(9, '0'));
  return BigInt((h * 60 + mi) * 60 + s) * 1_000_000_000n + fraction;
}

// ---- assembling atoms and vectors ----------------------------------------------------------

const isBig = (t: NumType): t is -7 | -12 | -16 => t === -7 || t === -12 || t === -16;
const isFloat = (t: NumType): t is -8 | -9 => t === -8 || t === -9;

/** Checks an integer fits the type (q's nulls and infinities included), returning it unchanged. */
function fitInteger(type: NumType, v: bigint): bigint {
  const bits = type === -5 ? 16n : isBig(type) ? 64n : 32n;
  const limit = 1n << (bits - 1n);
  if (v < -limit || v >= limit) throw access();
  return v;
}

function specialValue(type: NumType, s: Special): number | bigint {
  if (isFloat(type)) return s === 'null' ? Number.NaN : s === 'inf' ? Infinity : -Infinity;
  if (isBig(type)) return s === 'null' ? NULL_LONG : s === 'inf' ? INF_LONG : -INF_LONG;
  const [nul, inf] = type === -5 ? [NULL_SHORT, INF_SHORT] : [NULL_INT, INF_INT];
  return s === 'null' ? nul : s === 'inf' ? inf : -inf;
}

/** The piece's value as the target type, or 'access when q would not accept it in that vector. */
function convert(p: Piece, target: NumType): number | bigint {
  if (typeof p.value === 'string') {
    // 0Ni fits only ints; 0n and 0w only floats; a bare 0N or 0W fits any type.
    if ((p.explicit || (isFloat(p.type) && !isFloat(target))) && p.type !== target) throw access();
    return specialValue(target, p.value);
  }
  if (p.type === target) return p.value;
  if (p.explicit) throw access();
  if (isFloat(target)) return Number(p.value);
  if (typeof p.value === 'number' || target < -9) throw access(); // floats and temporals do not narrow
  const v = fitInteger(target, p.value);
  return isBig(target) ? v : Number(v);
}

function atomFromPiece(p: Piece): QAtom {
  return atom(p.type, convert(p, p.type));
}

function atom(type: NumType, v: number | bigint): QAtom {
  switch (type) {
    case -7: case -12: case -16: return { type, value: BigInt(v) };
    default: return { type, value: Number(v) };
  }
}

function vectorFromPieces(pieces: readonly Piece[]): QVector {
  const fixed = new Set(pieces.filter((p) => p.explicit).map((p) => p.type));
  if (fixed.size > 1) throw access();
  const [only] = fixed;
  const target: NumType = only ?? (pieces.some((p) => isFloat(p.type)) ? -9 : -7);
  const out = vector(-target as QVectorType, pieces.length);
  pieces.forEach((p, k) => {
    const v = convert(p, target);
    if (out.data instanceof BigInt64Array) out.data[k] = BigInt(v);
    else if (!Array.isArray(out.data)) out.data[k] = Number(v);
  });
  return out;
}
