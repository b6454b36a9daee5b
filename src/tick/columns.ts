// Column operations the tickerplant needs on the hot path: atoms to 1-row vectors, type checks,
// row selection by index, and growable column buffers for batch mode. Typed arrays throughout.
import { QError } from '../errors.js';
import { guidText, vector } from '../ipc/index.js';
import type { QAtom, QList, QValue, QVector, QVectorType } from '../ipc/index.js';

/** A column: a typed vector, or a general list for untyped schema columns. */
export type Column = QVector | QList;

/** A one-element vector holding an atom's value (u.q: `enlist cols!x` for a single row). */
export function atomToVector(a: QAtom): QVector {
  const v = vector(-a.type as QVectorType, 1);
  setItem(v, 0, a);
  return v;
}

/** Row i of a typed vector as an atom (setItem's inverse): a vector's rows going into an untyped column. */
function atomAt(v: QVector, i: number): QAtom {
  switch (v.type) {
    case 1: return { type: -1, value: v.data[i] !== 0 };
    case 2: return { type: -2, value: guidText(v.data, i * 16) };
    case 10: return { type: -10, value: String.fromCharCode(v.data[i] as number) };
    default: return { type: -v.type, value: v.data[i] } as QAtom;
  }
}

function setItem(v: QVector, i: number, a: QAtom): void {
  switch (v.type) {
    case 1: v.data[i] = a.value ? 1 : 0; return;
    case 2: v.data.set(Buffer.from((a.value as string).replace(/-/g, ''), 'hex'), i * 16); return;
    case 10: v.data[i] = (a.value as string).charCodeAt(0) & 0xff; return;
    case 11: v.data[i] = a.value as string; return;
    case 7: case 12: case 16: v.data[i] = a.value as bigint; return;
    default: (v.data as Float64Array)[i] = a.value as number;
  }
}

/**
 * The column for schema type `type` (0 = untyped) from what a feed sent, or a q 'type error.
 * A general list whose items are all atoms of the right type is accepted and made a vector:
 * clients such as node-q send symbol lists that way.
 */
export function toColumn(x: QValue, type: number): Column {
  if (type === 0) {
    if (x.type === 0 || (x.type > 0 && x.type < 20)) return x as Column;
    throw new QError('type');
  }
  if (x.type === type) return x as QVector;
  if (x.type === 0) {
    const v = vector(type as QVectorType, x.items.length);
    for (let i = 0; i < x.items.length; i++) {
      const item = x.items[i] as QValue;
      if (item.type !== -type) throw new QError('type');
      setItem(v, i, item as QAtom);
    }
    return v;
  }
  throw new QError('type');
}

/** Number of rows in a column. */
export function rows(c: Column): number {
  if (c.type === 0) return c.items.length;
  return c.type === 2 ? c.data.length / 16 : c.data.length;
}

/** The rows of `c` at the given indexes (ascending), as a new column of the same type. */
export function take(c: Column, idx: Int32Array, n: number): Column {
  if (c.type === 0) {
    const items = new Array<QValue>(n);
    for (let k = 0; k < n; k++) items[k] = c.items[idx[k] as number] as QValue;
    return { type: 0, attr: 0, items };
  }
  if (c.type === 11) {
    const data = new Array<string>(n);
    for (let k = 0; k < n; k++) data[k] = c.data[idx[k] as number] as string;
    return { type: 11, attr: 0, data }; // indexing drops g#, as q's sel does
  }
  const out = vector(c.type, n);
  if (c.type === 2) {
    for (let k = 0; k < n; k++) {
      const i = idx[k] as number;
      (out.data as Uint8Array).set((c.data as Uint8Array).subarray(i * 16, i * 16 + 16), k * 16);
    }
    return out;
  }
  if (c.type === 8 || c.type === 9 || c.type === 15) {
    // Byte for byte: a number read from a float vector may come back as another NaN (a real's
    // signalling NaN is quieted on the way to a double); q's indexing keeps every bit.
    const w = c.type === 8 ? 4 : 8;
    const from = c.data as Float32Array | Float64Array;
    const to = out.data as Float32Array | Float64Array;
    const sb = new Uint8Array(from.buffer, from.byteOffset, from.byteLength);
    const db = new Uint8Array(to.buffer, to.byteOffset, to.byteLength);
    for (let k = 0; k < n; k++) {
      const at = (idx[k] as number) * w;
      for (let q = 0; q < w; q++) db[k * w + q] = sb[at + q] as number;
    }
    return out;
  }
  const src = c.data as Float64Array;
  const dst = out.data as Float64Array;
  for (let k = 0; k < n; k++) dst[k] = src[idx[k] as number] as number;
  return out;
}

/** A growable column for batch mode: appends whole columns, hands back the contents and resets. */
export class ColumnBuffer {
  private data: QVector | QList;
  private length = 0;

  constructor(readonly type: number, private readonly attr: 0 | 4 = 0) {
    this.data = this.alloc(64);
  }

  get size(): number { return this.length; }

  private alloc(capacity: number): Column {
    if (this.type === 0) return { type: 0, attr: 0, items: [] };
    return vector(this.type as QVectorType, capacity);
  }

  append(c: Column): void {
    const n = rows(c);
    if (c.type === 0 || this.data.type === 0) {
      // An untyped column takes any vector (toColumn), so its buffer does too: row by row, as atoms.
      const items = (this.data as QList).items;
      if (c.type === 0) for (const item of c.items) items.push(item);
      else for (let i = 0; i < n; i++) items.push(atomAt(c, i));
      this.length += n;
      return;
    }
    if (this.data.type === 11) {
      const dst = this.data.data;
      const src = (c as QVector).data as string[];
      for (let i = 0; i < n; i++) dst[this.length + i] = src[i] as string;
      this.length += n;
      return;
    }
    const width = this.data.type === 2 ? 16 : 1;
    const need = (this.length + n) * width;
    if (need > this.data.data.length) this.grow(need);
    (this.data.data as Float64Array).set((c as QVector).data as Float64Array, this.length * width);
    this.length += n;
  }

  private grow(need: number): void {
    let cap = this.data.type === 0 ? 0 : this.data.data.length;
    while (cap < need) cap *= 2;
    const next = vector(this.type as QVectorType, this.type === 2 ? cap / 16 : cap);
    (next.data as Float64Array).set((this.data as QVector).data as Float64Array);
    this.data = next;
  }

  /** The buffered rows as an exact-length column (g# kept on sym), then empties the buffer. */
  /** Keeps the first n rows (a failed journal flush withdraws the rows after them). */
  truncate(n: number): void {
    if (n >= this.length) return;
    this.length = n;
    if (this.data.type === 0) this.data.items.length = n;
    else if (this.data.type === 11) this.data.data.length = n;
  }

  drain(): Column {
    const n = this.length;
    const d = this.data;
    this.length = 0;
    if (d.type === 0) {
      this.data = this.alloc(0);
      return { type: 0, attr: 0, items: d.items.slice(0, n) };
    }
    if (d.type === 11) {
      this.data = vector(11, 0);
      return { type: 11, attr: this.attr, data: d.data.length === n ? d.data : d.data.slice(0, n) };
    }
    const width = d.type === 2 ? 16 : 1;
    const out = vector(d.type, n, this.attr);
    (out.data as Float64Array).set((d.data as Float64Array).subarray(0, n * width));
    return out;
  }
}
