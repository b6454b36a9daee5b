// Payload bytes → q values. Every read is bounds-checked against the frame, every allocation is
// checked against the bytes that remain, so a hostile length field cannot make us allocate.
// Spec: code.kx.com/q/kb/serialization.
import { IpcDecodeError } from '../errors.js';
import { Attr, ELEMENT_WIDTH, QType } from './types.js';
import type {
  QAtom, QDerived, QList, QTable, QValue, QVector, QIntegralAtomType, QFloatAtomType, QBigAtomType,
} from './values.js';

export interface DecodeOptions {
  /** Byte order of the message (header byte 0). [littleEndian=true] */
  readonly littleEndian?: boolean;
  /** Deepest nesting of lists/dicts/tables accepted. [maxDepth=64] */
  readonly maxDepth?: number;
  /**
   * Memory the decoded value may cost, as estimated below, in bytes.
   * [budget = DECODE_BUDGET_FACTOR × payload bytes + DECODE_BUDGET_FLOOR]
   */
  readonly budget?: number;
}

export const DEFAULT_MAX_DEPTH = 64;

// ---- work budget ------------------------------------------------------------------------------
// Bytes bound the wire, not the work: 2 bytes of `::` become a JS object and an array slot (~48 bytes),
// so a 256 MiB general list of 134M `::` would need gigabytes. Each value is charged an estimate of its
// heap cost before it is built (a list's items when its count is read, before the array exists), and
// decoding stops with IPC_ERR_TOO_LARGE once the estimate passes the budget. Typed vectors cost about
// their bytes, so columnar data (what feeds send) is never near the budget; only many small boxed values
// are. Estimates (64-bit V8): an object with its slot in the parent 48, a vector's header and typed
// array 96, a new string 24 + its length, a bigint 24.
/** Budget per payload byte. */
export const DECODE_BUDGET_FACTOR = 8;
/** Budget every message has whatever its size (small messages are never refused for their shape). */
export const DECODE_BUDGET_FLOOR = 1 << 20;
const COST_VALUE = 48;
const COST_VECTOR = 96;
const COST_STRING = 24;
const COST_BIGINT = 24;

/** The budget decodePayload applies to a payload of `bytes` bytes unless told otherwise. */
export function decodeBudget(bytes: number): number {
  return DECODE_BUDGET_FACTOR * bytes + DECODE_BUDGET_FLOOR;
}
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const truncated = (): IpcDecodeError => new IpcDecodeError('IPC_ERR_TRUNCATED', 'message truncated');
const badType = (t: number): IpcDecodeError => new IpcDecodeError('IPC_ERR_BAD_TYPE', `unknown type ${t}`);

/** Decodes one payload that must occupy exactly buf[offset, end). */
export function decodePayload(buf: Buffer, offset = 0, end = buf.length, options: DecodeOptions = {}): QValue {
  const { value, end: stop } = decodeAt(buf, offset, end, options);
  if (stop !== end) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', 'trailing bytes after the payload');
  return value;
}

/** Decodes the value starting at offset; returns it and the offset just past it. */
export function decodeAt(buf: Buffer, offset: number, end: number, options: DecodeOptions = {}):
  { value: QValue; end: number } {
  // The decoder is not re-entrant: its cursor lives in module state (cheaper than an object per message).
  if (end > buf.length || offset < 0 || offset > end) throw truncated();
  B = buf;
  view = buf.length <= SMALL ? smallView(buf) : new DataView(buf.buffer, buf.byteOffset, buf.length);
  pos = offset;
  END = end;
  LE = options.littleEndian ?? true;
  MAX_DEPTH = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  BUDGET = options.budget ?? decodeBudget(end - offset);
  LIMIT = BUDGET;
  try {
    charge(COST_VALUE);
    const value = readValue(0);
    return { value, end: pos };
  } finally {
    B = EMPTY;
  }
}

// ---- cursor state (one decode at a time) ----------------------------------------------------
const EMPTY = Buffer.alloc(0);
const SMALL = 4096;
/** Small messages are copied into one long-lived buffer so that one DataView serves them all. */
const smallCopy = Buffer.allocUnsafe(SMALL);
const smallDataView = new DataView(smallCopy.buffer, smallCopy.byteOffset, SMALL);
function smallView(buf: Buffer): DataView {
  smallCopy.set(buf);
  return smallDataView;
}
let B: Buffer = EMPTY;
let view: DataView = smallDataView;
let pos = 0;
let END = 0;
let LE = true;
let MAX_DEPTH = DEFAULT_MAX_DEPTH;
/** What the value being decoded may still cost, and its whole budget (for the message). */
let BUDGET = 0;
let LIMIT = 0;

function charge(bytes: number): void {
  BUDGET -= bytes;
  if (BUDGET < 0) {
    throw new IpcDecodeError('IPC_ERR_TOO_LARGE', `decoding would cost more than its budget of ${LIMIT} bytes`);
  }
}

function need(n: number): void {
  if (pos + n > END) throw truncated();
}

function u8(): number {
  if (pos >= END) throw truncated();
  return B[pos++] as number;
}

function i32(): number {
  need(4);
  const v = view.getInt32(pos, LE);
  pos += 4;
  return v;
}

/** A count that must fit in what remains, given at least `minBytesEach` per item. */
function readCount(minBytesEach: number): number {
  const n = i32();
  if (n < 0) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', `negative count ${n}`);
  if (n * minBytesEach > END - pos) throw truncated();
  return n;
}

// Symbols repeat (a few hundred tickers over millions of rows): short ASCII ones are interned by a
// hash of their bytes, verified byte by byte, so a repeat costs no allocation and no native call.
const INTERN_SLOTS = 4096;
const interned = new Array<string | undefined>(INTERN_SLOTS);

function cstring(): string {
  const buf = B;
  const start = pos;
  let p = start;
  let h = 0;
  let ascii = true;
  for (;;) {
    if (p >= END) throw new IpcDecodeError('IPC_ERR_TRUNCATED', 'unterminated symbol');
    const c = buf[p] as number;
    if (c === 0) break;
    h = (Math.imul(h, 31) + c) | 0;
    if (c > 0x7f) ascii = false;
    p++;
  }
  pos = p + 1;
  const n = p - start;
  if (n === 0) return '';
  if (!ascii || n > 32) {
    charge(COST_STRING + n);
    return buf.toString('utf8', start, p);
  }
  const slot = (h ^ n) & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  if (hit !== undefined && hit.length === n) {
    let k = 0;
    while (k < n && hit.charCodeAt(k) === buf[start + k]) k++;
    if (k === n) return hit;
  }
  charge(COST_STRING + n); // a repeat found above costs nothing
  const s = buf.toString('latin1', start, p);
  interned[slot] = s;
  return s;
}

function readValue(depth: number): QValue {
  const t = (u8() << 24) >> 24; // type byte is a signed int8
  if (t < 0) {
    if (t > -20) return readAtom(t);
    if (t === QType.Error) return { type: -128, message: cstring() };
    throw badType(t);
  }
  if (t > 0 && t < 20) {
    if (t === 3) throw badType(t);
    return readVector(t);
  }
  if (depth >= MAX_DEPTH) throw new IpcDecodeError('IPC_ERR_TOO_DEEP', 'nesting too deep');
  const d = depth + 1;
  switch (t) {
    case QType.List: {
      const attr = readAttr();
      const n = readCount(1);
      charge(COST_VALUE * n);
      const items = new Array<QValue>(n);
      for (let i = 0; i < n; i++) items[i] = readValue(d);
      const list: QList = { type: 0, attr, items };
      return list;
    }
    case QType.Table: return readTable(d);
    case QType.Dict:
    case QType.SortedDict: {
      charge(2 * COST_VALUE);
      const keys = readValue(d);
      const values = readValue(d);
      return { type: t, keys, values };
    }
    case QType.Lambda: {
      charge(COST_VALUE);
      const context = cstring();
      const src = readValue(d);
      if (src.type !== 10) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', 'lambda source is not a string');
      return { type: 100, context, source: src.data };
    }
    case QType.Unary:
    case QType.Binary:
    case QType.Ternary:
      return { type: t, index: u8() };
    case QType.Projection:
    case QType.Composition: {
      const n = readCount(1);
      charge(COST_VALUE * n);
      const items = new Array<QValue>(n);
      for (let i = 0; i < n; i++) items[i] = readValue(d);
      return { type: t, items };
    }
    case 106: case 107: case 108: case 109: case 110: case 111: {
      charge(COST_VALUE);
      const derived: QDerived = { type: t, fn: readValue(d) };
      return derived;
    }
    default:
      throw badType(t);
  }
}

function readAttr(): Attr {
  const a = u8();
  if (a > 4) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `unknown attribute ${a}`);
  return a as Attr;
}

function readAtom(t: number): QAtom {
  const p = pos;
  switch (t) {
    case -1: need(1); pos = p + 1; return { type: -1, value: B[p] !== 0 };
    case -2: need(16); pos = p + 16; charge(COST_STRING + 36); return { type: -2, value: guidText(B, p) };
    case -4: need(1); pos = p + 1; return { type: -4, value: B[p] as number };
    case -5: need(2); pos = p + 2; return { type: -5, value: view.getInt16(p, LE) };
    case -6: case -13: case -14: case -17: case -18: case -19:
      need(4); pos = p + 4;
      return { type: t as QIntegralAtomType, value: view.getInt32(p, LE) };
    case -7: case -12: case -16:
      need(8); pos = p + 8;
      charge(COST_BIGINT);
      return { type: t as QBigAtomType, value: view.getBigInt64(p, LE) };
    case -8: need(4); pos = p + 4; return { type: -8, value: view.getFloat32(p, LE) };
    case -9: case -15:
      need(8); pos = p + 8;
      return { type: t as QFloatAtomType, value: view.getFloat64(p, LE) };
    case -10: need(1); pos = p + 1; return { type: -10, value: String.fromCharCode(B[p] as number) };
    case -11: return { type: -11, value: cstring() };
    default: throw badType(t);
  }
}

function readVector(t: number): QVector {
  const attr = readAttr();
  if (t === QType.Symbol) {
    const n = readCount(1);
    charge(COST_VECTOR + 8 * n);
    const data = new Array<string>(n);
    for (let i = 0; i < n; i++) data[i] = cstring();
    return { type: 11, attr, data };
  }
  const width = ELEMENT_WIDTH[t] as number;
  const n = readCount(width);
  const bytes = n * width;
  charge(COST_VECTOR + bytes);
  const src = B.subarray(pos, pos + bytes);
  pos += bytes;
  const swap = width > 1 && t !== QType.Guid && LE !== HOST_LITTLE_ENDIAN;
  switch (t) {
    case 1: case 4: case 10: return { type: t, attr, data: Uint8Array.prototype.slice.call(src) };
    case 2: return { type: 2, attr, data: Uint8Array.prototype.slice.call(src) };
    case 5: return { type: 5, attr, data: new Int16Array(copyOut(src, bytes, swap, 2)) };
    case 6: case 13: case 14: case 17: case 18: case 19:
      return { type: t, attr, data: new Int32Array(copyOut(src, bytes, swap, 4)) };
    case 7: case 12: case 16: return { type: t, attr, data: new BigInt64Array(copyOut(src, bytes, swap, 8)) };
    case 8: return { type: 8, attr, data: new Float32Array(copyOut(src, bytes, swap, 4)) };
    case 9: case 15: return { type: t, attr, data: new Float64Array(copyOut(src, bytes, swap, 8)) };
    default: throw badType(t);
  }
}

function readTable(depth: number): QTable {
  const attr = readAttr();
  charge(COST_VALUE);
  const inner = readValue(depth);
  if (inner.type !== QType.Dict || inner.keys.type !== QType.Symbol || inner.values.type !== QType.List ||
    inner.keys.data.length !== inner.values.items.length) {
    throw badTable();
  }
  // Every column a vector or general list, all of one length (q's flip requires it).
  const cols = inner.values.items;
  let rows = -1;
  for (const c of cols) {
    if (c.type < 0 || c.type > 19) throw badTable();
    const n = c.type === 0 ? c.items.length : c.type === 2 ? c.data.length / 16 : (c as QVector).data.length;
    if (rows === -1) rows = n; else if (n !== rows) throw badTable();
  }
  return { type: 98, attr, columns: inner.keys.data, data: cols };
}

/** Copies element bytes into a fresh, aligned ArrayBuffer, swapping byte order when needed. */
function copyOut(src: Buffer, bytes: number, swap: boolean, width: 2 | 4 | 8): ArrayBuffer {
  const out = new Uint8Array(bytes);
  out.set(src);
  if (swap) {
    if (width === 2) Buffer.from(out.buffer).swap16();
    else if (width === 4) Buffer.from(out.buffer).swap32();
    else Buffer.from(out.buffer).swap64();
  }
  return out.buffer;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 16 bytes in display order → 8-4-4-4-12 text (guids are never byte-swapped). */
export function guidText(buf: Uint8Array, p: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[buf[p + i] as number];
  }
  return s;
}

/**
 * Returns the offset just past the value at `offset` without building it: what -11!(-2;L) needs to
 * walk a journal. Throws IpcDecodeError on anything decodePayload would reject (little-endian only).
 */
export function skipValue(buf: Buffer, offset: number, end: number, maxDepth = DEFAULT_MAX_DEPTH): number {
  return skip(buf, offset, end, 0, maxDepth);
}

function skip(buf: Buffer, p: number, end: number, depth: number, maxDepth: number): number {
  if (p >= end) throw truncated();
  const t = ((buf[p] as number) << 24) >> 24;
  p++;
  if (t < 0 && t > -20) {
    if (t === -11) return skipString(buf, p, end);
    const w = ELEMENT_WIDTH[-t] as number;
    if (w === 0) throw badType(t);
    if (p + w > end) throw truncated();
    return p + w;
  }
  if (t === QType.Error) return skipString(buf, p, end);
  if (t > 0 && t < 20) {
    if (t === 3) throw badType(t);
    if (p + 5 > end) throw truncated();
    if ((buf[p] as number) > 4) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `unknown attribute ${buf[p]}`);
    const n = buf.readInt32LE(p + 1);
    p += 5;
    if (n < 0) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', `negative count ${n}`);
    if (t === QType.Symbol) {
      for (let i = 0; i < n; i++) p = skipString(buf, p, end);
      return p;
    }
    const bytes = n * (ELEMENT_WIDTH[t] as number);
    if (p + bytes > end) throw truncated();
    return p + bytes;
  }
  if (depth >= maxDepth) throw new IpcDecodeError('IPC_ERR_TOO_DEEP', 'nesting too deep');
  const d = depth + 1;
  switch (t) {
    case QType.List: {
      const n = listHeader(buf, p, end);
      p += 5;
      for (let i = 0; i < n; i++) p = skip(buf, p, end, d, maxDepth);
      return p;
    }
    case QType.Table:
      return skipTable(buf, p, end, d, maxDepth);
    case QType.Dict:
    case QType.SortedDict:
      return skip(buf, skip(buf, p, end, d, maxDepth), end, d, maxDepth);
    case QType.Lambda: {
      p = skipString(buf, p, end);
      if (p < end && buf[p] !== 10) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', 'lambda source is not a string');
      return skip(buf, p, end, d, maxDepth);
    }
    case QType.Unary: case QType.Binary: case QType.Ternary:
      if (p >= end) throw truncated();
      return p + 1;
    case QType.Projection: case QType.Composition: {
      if (p + 4 > end) throw truncated();
      const n = buf.readInt32LE(p);
      p += 4;
      if (n < 0) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', `negative count ${n}`);
      if (n > end - p) throw truncated();
      for (let i = 0; i < n; i++) p = skip(buf, p, end, d, maxDepth);
      return p;
    }
    case 106: case 107: case 108: case 109: case 110: case 111:
      return skip(buf, p, end, d, maxDepth);
    default:
      throw badType(t);
  }
}

/** Attribute and count of a general list at p (after its type byte), checked as decodePayload does. */
function listHeader(buf: Buffer, p: number, end: number): number {
  if (p + 5 > end) throw truncated();
  if ((buf[p] as number) > 4) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `unknown attribute ${buf[p]}`);
  const n = buf.readInt32LE(p + 1);
  if (n < 0) throw new IpcDecodeError('IPC_ERR_BAD_LENGTH', `negative count ${n}`);
  if (n > end - p - 5) throw truncated();
  return n;
}

/** A table: attr, then a dict of a symbol vector of names to a general list of equal-length columns. */
function skipTable(buf: Buffer, p: number, end: number, depth: number, maxDepth: number): number {
  if (p >= end) throw truncated();
  if ((buf[p] as number) > 4) throw new IpcDecodeError('IPC_ERR_BAD_TYPE', `unknown attribute ${buf[p]}`);
  // Walk the inner value first (its errors come first, as in decodePayload), then check its shape.
  const after = skip(buf, p + 1, end, depth, maxDepth);
  if (buf[p + 1] !== QType.Dict || buf[p + 2] !== QType.Symbol) throw badTable();
  const names = skipString0(buf, p + 2);
  if (buf[names] !== QType.List || buf.readInt32LE(names + 2) !== buf.readInt32LE(p + 4)) throw badTable();
  let q = names + 6;
  let rows = -1;
  for (let i = buf.readInt32LE(names + 2); i > 0; i--) {
    const t = buf[q] as number;
    if (t > 19 || t === 3) throw badTable();
    const count = buf.readInt32LE(q + 2);
    if (rows === -1) rows = count; else if (count !== rows) throw badTable();
    q = skip(buf, q, end, depth + 1, maxDepth);
  }
  return after;
}

/** End of an already-validated symbol vector starting at p. */
function skipString0(buf: Buffer, p: number): number {
  let q = p + 6;
  for (let n = buf.readInt32LE(p + 2); n > 0; n--) q = buf.indexOf(0, q) + 1;
  return q;
}

const badTable = (): IpcDecodeError =>
  new IpcDecodeError('IPC_ERR_BAD_TYPE', 'table is not a dict of names to columns');

function skipString(buf: Buffer, p: number, end: number): number {
  const z = buf.indexOf(0, p);
  if (z < 0 || z >= end) throw new IpcDecodeError('IPC_ERR_TRUNCATED', 'unterminated symbol');
  return z + 1;
}
