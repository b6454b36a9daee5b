// Zero re-encoding on the hot path: a feed's update already holds, byte for byte, most of what the
// journal record and the published table need. Both are assembled from a per-table prefix and slices
// of the feed's own bytes of x (little-endian), plus the time column when tick.q's rule stamps one.
// Layouts: kdb-ipc-and-tick.md §3 (vectors, lists, tables), §7.1 (journal record = payload of (`upd;t;x)).
import { skipValue } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';

/** Per-table constant bytes: the start of a journal record and of a published message. */
export interface TablePrefixes {
  /** `00 00 03000000 f5 upd 00 f5 <t> 00`: before x in a journal record. */
  readonly record: Buffer;
  /** Header + list(3) + `upd + `t + `62 00 63` + column names + `00 00 <ncols>`: before the columns. */
  readonly message: Buffer;
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n, 0);
  return b;
}

export function tablePrefixes(table: string, columns: readonly string[]): TablePrefixes {
  const head = Buffer.concat([Buffer.from([0, 0]), int32(3), Buffer.from([0xf5]), cstr('upd'), Buffer.from([0xf5]), cstr(table)]);
  const message = Buffer.concat([
    Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), head,
    Buffer.from([98, 0, 99, 11, 0]), int32(columns.length), ...columns.map(cstr),
    Buffer.from([0, 0]), int32(columns.length),
  ]);
  return { record: head, message };
}

/** The time column tick.q prepends: a timespan atom for one row, a vector of `count` copies otherwise. */
export interface Stamp {
  readonly time: bigint;
  readonly single: boolean;
  readonly count: number;
}

/** Bytes of the stamp as the time column of a published table (a vector, one element for one row). */
function stampColumnBytes(s: Stamp): number { return 6 + 8 * s.count; }

function writeStampColumn(out: Buffer, pos: number, s: Stamp): number {
  out[pos] = 16; out[pos + 1] = 0;
  out.writeInt32LE(s.count, pos + 2);
  pos += 6;
  for (let i = 0; i < s.count; i++, pos += 8) out.writeBigInt64LE(s.time, pos);
  return pos;
}

/** Journal record of (`upd;t;x) where rawX are the feed's bytes of x (a general list). */
export function journalRecord(p: TablePrefixes, rawX: Buffer, stamp: Stamp | undefined): Buffer {
  if (!stamp) return Buffer.concat([p.record, rawX], p.record.length + rawX.length);
  // x with the time prepended: a list of n+1 items whose first is the stamp (atom or vector).
  const stampLen = stamp.single ? 9 : stampColumnBytes(stamp);
  const out = Buffer.allocUnsafe(p.record.length + 6 + stampLen + rawX.length - 6);
  let pos = p.record.copy(out, 0);
  out[pos] = 0; out[pos + 1] = 0;
  out.writeInt32LE(rawX.readInt32LE(2) + 1, pos + 2);
  pos += 6;
  if (stamp.single) {
    out[pos] = 0xf0; // -16: timespan atom
    out.writeBigInt64LE(stamp.time, pos + 1);
    pos += 9;
  } else {
    pos = writeStampColumn(out, pos, stamp);
  }
  rawX.copy(out, pos, 6);
  return out;
}

const ends = new Int32Array(1024);

/** Copies src[from, to) to dst at pos: a plain loop for the few bytes of an atom, set() for more. */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, pos: number): number {
  const n = to - from;
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[pos + i] = src[from + i] as number;
  } else {
    dst.set(src.subarray(from, to), pos);
  }
  return n;
}

/**
 * The published message (`upd;t;table) for every row, built from rawX, or undefined when a column
 * was converted on the way in (e.g. a general list of symbols made a symbol vector) and so the
 * feed's bytes are not the published bytes. `types` are the schema's column types (0 = untyped);
 * `x` is the decoded feed list whose items rawX holds.
 */
export function publishedMessage(p: TablePrefixes, rawX: Buffer, x: QValue, types: readonly number[],
  stamp: Stamp | undefined): Buffer | undefined {
  if (x.type !== 0 || x.items.length > ends.length) return undefined;
  const items = x.items;
  const offset = stamp ? 1 : 0;
  const single = (items[0]?.type ?? 0) < 0;
  for (let c = 0; c < items.length; c++) {
    const want = types[c + offset] as number;
    const got = (items[c] as QValue).type;
    if (want === 0 ? single : got !== (single ? -want : want)) return undefined;
  }
  let size = p.message.length + (stamp ? stampColumnBytes(stamp) : 0);
  if (single) {
    // One row: each atom `t v` becomes a one-element vector `-t 00 01000000 v` (5 bytes more).
    let pos = 6;
    for (let c = 0; c < items.length; c++) ends[c] = pos = skipValue(rawX, pos, rawX.length);
    size += rawX.length - 6 + 5 * items.length;
  } else {
    size += rawX.length - 6;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = copyBytes(p.message, 0, p.message.length, out, 0);
  if (stamp) pos = writeStampColumn(out, pos, stamp);
  if (!single) {
    pos += rawX.copy(out, pos, 6);
  } else {
    let from = 6;
    for (let c = 0; c < items.length; c++) {
      const end = ends[c] as number;
      out[pos] = -(items[c] as QValue).type; out[pos + 1] = 0;
      out.writeInt32LE(1, pos + 2);
      pos += 6;
      pos += copyBytes(rawX, from + 1, end, out, pos);
      from = end;
    }
  }
  out.writeUInt32LE(pos, 4);
  return out;
}
