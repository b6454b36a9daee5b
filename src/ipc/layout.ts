// The byte layout of the tickerplant's hot path in one place: the head of a feed's (`.u.upd;`t;x)
// message, the offsets of x's items found in one walk, and the journal record and published
// (`upd;`t;table) message spliced from those bytes instead of decoded and encoded again.
// Layouts: code.kx.com/q/basics/ipc (general list 0, vectors, atoms, symbols as NUL-terminated bytes,
// table 98 = flip of a dict 99 of a symbol vector and a general list); the journal record is the payload
// of (`upd;t;x) (code.kx.com/q/kb/logging: -11! replays each record as a value).

import type { Region } from './outbound.js';

/** Bytes of each q type's atom, by absolute type (symbols, 11, are NUL-terminated: -1 here). 0 = none. */
const WIDTH = new Int8Array([0, 1, 16, 0, 1, 2, 4, 8, 4, 8, 1, -1, 8, 4, 4, 8, 8, 4, 4, 4]);

// Little-endian ints read and written byte by byte: Buffer#readInt32LE and friends are prototype calls
// that the profile of a single-row update showed as generic property loads (~5% of the TP's CPU).
const readI8 = (b: Buffer, p: number): number => ((b[p] as number) << 24) >> 24;
const readI32 = (b: Buffer, p: number): number =>
  (b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24);
function writeI32(out: Buffer, p: number, n: number): void {
  out[p] = n & 0xff; out[p + 1] = (n >>> 8) & 0xff; out[p + 2] = (n >>> 16) & 0xff; out[p + 3] = (n >>> 24) & 0xff;
}

/** Largest number of items in x the in-place walk handles (wider updates take the decoding path). */
export const MAX_UPD_ITEMS = 1024;

/** Where x starts in a feed's message, and its table's name, when the message is (`.u.upd|`upd;`t;x). */
export interface UpdHead {
  table: string;
  /** Offset of x in the message. */
  xAt: number;
}

/**
 * Reads the head of a little-endian, uncompressed message: a 3-item general list whose first item is
 * `.u.upd or `upd (tick.q's feed and a chained TP's call), as a symbol or a char vector (node-q sends the
 * name as a string), and whose second item is a symbol. Fills `out` and returns true; false for anything
 * else (which is then decoded as usual). Reads only the head's bytes.
 */
export function readUpdHead(b: Buffer, out: UpdHead): boolean {
  const end = b.length;
  if (end < 8 + 6 + 5 + 2 || b[8] !== 0 || b[10] !== 3 || b[11] !== 0 || b[12] !== 0 || b[13] !== 0) return false;
  let p = 14;
  const t0 = b[p];
  if (t0 === 0xf5) {
    // `.u.upd\0` or `upd\0`
    if (b[p + 1] === 0x2e && b[p + 2] === 0x75 && b[p + 3] === 0x2e) p += 3;
    if (b[p + 1] !== 0x75 || b[p + 2] !== 0x70 || b[p + 3] !== 0x64 || b[p + 4] !== 0) return false;
    p += 5;
  } else if (t0 === 10) {
    const n = readI32(b, p + 2);
    p += 6;
    if (n === 6 && b[p] === 0x2e && b[p + 1] === 0x75 && b[p + 2] === 0x2e) p += 3;
    else if (n !== 3) return false;
    if (b[p] !== 0x75 || b[p + 1] !== 0x70 || b[p + 2] !== 0x64) return false;
    p += 3;
  } else {
    return false;
  }
  if (b[p] !== 0xf5) return false;
  const from = p + 1;
  let z = from;
  while (z < end && b[z] !== 0) z++;
  if (z >= end) return false;
  // A feed sends the same few table names over and over: keep the string when the bytes are the same.
  const last = out.table;
  let same = last.length === z - from;
  for (let i = 0; same && i < last.length; i++) same = last.charCodeAt(i) === b[from + i];
  if (!same) out.table = symbolText(b, from, z);
  out.xAt = z + 1;
  return true;
}

/** A symbol's text as the decoder reads it (UTF-8; plain ASCII through the faster latin1 path). */
export function symbolText(b: Buffer, from: number, to: number): string {
  for (let i = from; i < to; i++) if ((b[i] as number) > 0x7f) return b.toString('utf8', from, to);
  return b.toString('latin1', from, to);
}

/** What one walk over x found: its shape and where each item ends. */
export interface UpdShape {
  /** x holds one row of atoms (else one vector per column). */
  single: boolean;
  /** Rows. */
  count: number;
  /** x's first item is the time column, so tick.q stamps nothing. */
  hasTime: boolean;
  /** Items in x. */
  items: number;
  /** Offset just past each item of x; ends[-1] is the start of the first (xAt + 6). */
  readonly ends: Int32Array;
  xAt: number;
}

export function updShape(): UpdShape {
  return { single: false, count: 0, hasTime: false, items: 0, ends: new Int32Array(MAX_UPD_ITEMS), xAt: 0 };
}

/**
 * Checks x, in place, against a table's column types and fills `out`: true when x is a general list of
 * exactly the schema's columns (the time column optional, tick.q's rule: "n"$.z.P is prepended when
 * `first first x` is not a timespan), either all atoms of the schema's types (one row) or all vectors of
 * those types with one count. Untyped schema columns, a table, lists of symbols, a wrong type or length:
 * false, and the message takes the decoding path, which converts what it can and raises q's errors.
 * Every read is bounds-checked and each step moves forward, so the work is bounded by the message size.
 */
export function readUpdShape(b: Buffer, xAt: number, types: readonly number[], out: UpdShape): boolean {
  const end = b.length;
  if (xAt + 6 > end || b[xAt] !== 0) return false;
  const n = readI32(b, xAt + 2);
  if (n < 1 || n > MAX_UPD_ITEMS) return false;
  let p = xAt + 6;
  const first = readI8(b, p);
  const hasTime = first === -16 || first === 16;
  const offset = hasTime ? 0 : 1;
  if (n + offset !== types.length) return false;
  const single = first < 0;
  const ends = out.ends;
  let count = single ? 1 : -1;
  for (let c = 0; c < n; c++) {
    const want = types[c + offset] as number;
    if (want <= 0 || want >= 20 || p >= end) return false;
    const t = readI8(b, p);
    const w = WIDTH[want] as number;
    if (single) {
      if (t !== -want) return false;
      if (w > 0) p += 1 + w;
      else {
        let z = p + 1;
        while (z < end && b[z] !== 0) z++;
        p = z + 1;
      }
    } else {
      if (t !== want || p + 6 > end) return false;
      const k = readI32(b, p + 2);
      if (k < 0 || (count >= 0 && k !== count)) return false;
      count = k;
      p += 6;
      if (w > 0) p += k * w;
      else {
        let i = 0;
        for (; i < k && p < end; i++) {
          while (p < end && b[p] !== 0) p++;
          p++;
        }
        if (i < k) return false;
      }
    }
    if (p > end) return false;
    ends[c] = p;
  }
  if (p !== end) return false;
  out.single = single;
  out.count = count;
  out.hasTime = hasTime;
  out.items = n;
  out.xAt = xAt;
  return true;
}

/** The sym column's value of a one-row update (its second column), read from the bytes. */
export function singleSym(b: Buffer, s: UpdShape): string {
  const at = s.hasTime ? (s.ends[0] as number) : s.xAt + 6;
  return symbolText(b, at + 1, (s.hasTime ? (s.ends[1] as number) : (s.ends[0] as number)) - 1);
}

/** The sym column's values of a multi-row update, read from the bytes (through `cache` when given). */
export function vectorSyms(b: Buffer, s: UpdShape, cache?: SymbolCache): string[] {
  let p = (s.hasTime ? (s.ends[0] as number) : s.xAt + 6) + 6;
  const out = new Array<string>(s.count);
  for (let i = 0; i < s.count; i++) {
    let z = p;
    while (b[z] !== 0) z++;
    out[i] = cache ? cache.text(b, p, z) : symbolText(b, p, z);
    p = z + 1;
  }
  return out;
}

/**
 * The last strings read for short ASCII symbols, by a hash of their bytes: a feed repeats the same
 * tickers, and handing back the same string each time spares an allocation and lets the sym → groups
 * lookup find it by its cached hash. Bounded: SLOTS strings of at most MAX_CACHED bytes.
 */
export class SymbolCache {
  private static readonly SLOTS = 4096;
  private static readonly MAX_CACHED = 24;
  private readonly slots = new Array<string | undefined>(SymbolCache.SLOTS).fill(undefined);

  text(b: Buffer, from: number, to: number): string {
    const n = to - from;
    if (n > SymbolCache.MAX_CACHED) return symbolText(b, from, to);
    let h = 0x811c9dc5; // FNV-1a
    for (let i = from; i < to; i++) {
      const c = b[i] as number;
      if (c > 0x7f) return symbolText(b, from, to); // UTF-8: not one char per byte
      h = Math.imul(h ^ c, 16777619);
    }
    const slot = (h >>> 0) & (SymbolCache.SLOTS - 1);
    const s = this.slots[slot];
    if (s !== undefined && s.length === n) {
      let same = true;
      for (let i = 0; same && i < n; i++) same = s.charCodeAt(i) === b[from + i];
      if (same) return s;
    }
    const t = symbolText(b, from, to);
    this.slots[slot] = t;
    return t;
  }
}

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

/** Bytes of the stamp tick.q prepends in a journal record's x: an atom for one row, else a vector. */
function stampBytes(single: boolean, count: number): number { return single ? 9 : 6 + 8 * count; }

/** A timespan's 8 bytes, little-endian, through a typed array: Buffer#writeBigInt64LE costs ~150 ns a call. */
const STAMP = new BigInt64Array(1);
const STAMP_BYTES = new Uint8Array(STAMP.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeTime(out: Buffer, pos: number, time: bigint): void {
  if (!LITTLE_ENDIAN) { out.writeBigInt64LE(time, pos); return; }
  STAMP[0] = time;
  for (let k = 0; k < 8; k++) out[pos + k] = STAMP_BYTES[k] as number;
}

function writeStampVector(out: Buffer, pos: number, time: bigint, count: number): number {
  out[pos] = 16; out[pos + 1] = 0;
  writeI32(out, pos + 2, count);
  pos += 6;
  if (count === 0) return pos;
  // One time write, then plain byte copies.
  const first = pos;
  writeTime(out, pos, time);
  pos += 8;
  for (let i = 1; i < count; i++, pos += 8) for (let k = 0; k < 8; k++) out[pos + k] = out[first + k] as number;
  return pos;
}

/**
 * Copies src[from, to) to dst at pos: a plain loop for a few bytes, copy() for more. Measured on Node 20:
 * the loop costs ~1.4 ns a byte, a ranged Buffer#copy ~57 ns whatever its length: even at 40 bytes.
 */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, pos: number): number {
  const n = to - from;
  if (n <= 40) for (let i = 0; i < n; i++) dst[pos + i] = src[from + i] as number;
  else src.copy(dst, pos, from, to);
  return n;
}

/** Bytes of the journal record of (`upd;t;x) for x at s.xAt of b, stamped with `time` unless it has one. */
export function journalRecordBytes(p: TablePrefixes, b: Buffer, s: UpdShape): number {
  return p.record.length + (b.length - s.xAt) + (s.hasTime ? 0 : stampBytes(s.single, s.count));
}

/**
 * Writes the journal record of (`upd;t;x) at `out[pos]` (journalRecordBytes long): x as the feed sent it,
 * with the stamp as its first item when tick.q's rule adds one. Returns the offset after it.
 */
export function writeJournalRecord(out: Buffer, pos: number, p: TablePrefixes, b: Buffer, s: UpdShape,
  time: bigint): number {
  out.set(p.record, pos); // a whole typed array: a memcpy, no view to build (~20 ns; a loop is ~1.5 ns a byte)
  pos += p.record.length;
  if (s.hasTime) return pos + copyBytes(b, s.xAt, b.length, out, pos);
  out[pos] = 0; out[pos + 1] = 0;
  writeI32(out, pos + 2, s.items + 1);
  pos += 6;
  if (s.single) {
    out[pos] = 0xf0; // -16: timespan atom
    writeTime(out, pos + 1, time);
    pos += 9;
  } else {
    pos = writeStampVector(out, pos, time, s.count);
  }
  return pos + copyBytes(b, s.xAt + 6, b.length, out, pos);
}

/** Bytes of the published (`upd;t;table) for the update walked into s. */
export function publishedBytes(p: TablePrefixes, b: Buffer, s: UpdShape): number {
  return p.message.length + (s.hasTime ? 0 : 6 + 8 * s.count) + (b.length - s.xAt - 6) + (s.single ? 5 * s.items : 0);
}

/**
 * Writes the published message (`upd;t;table) at out[pos] (publishedBytes long): the table's columns are
 * x's items, each atom of a one-row update becoming a one-element vector (`-t 00 01000000 v`: 5 bytes
 * more), after the stamp column when tick.q adds one. Returns the offset after it.
 */
export function writePublished(out: Buffer, pos: number, p: TablePrefixes, b: Buffer, s: UpdShape,
  time: bigint): number {
  const start = pos;
  out.set(p.message, pos);
  pos += p.message.length;
  if (!s.hasTime) pos = writeStampVector(out, pos, time, s.count);
  let from = s.xAt + 6;
  if (!s.single) {
    pos += copyBytes(b, from, b.length, out, pos);
  } else {
    const ends = s.ends;
    for (let c = 0; c < s.items; c++) {
      const end = ends[c] as number;
      out[pos] = -readI8(b, from); out[pos + 1] = 0;
      out[pos + 2] = 1; out[pos + 3] = 0; out[pos + 4] = 0; out[pos + 5] = 0;
      pos += 6;
      pos += copyBytes(b, from + 1, end, out, pos);
      from = end;
    }
  }
  writeI32(out, start + 4, pos - start);
  return pos;
}

/**
 * Where each row's string starts in the symbol columns of a multi-row update walked into s: for each
 * item c of x that is a symbol vector, starts[c] holds count + 1 offsets (the last is the column's end);
 * other items are left as they are. Arrays are reused when long enough. One pass over the strings, run
 * once per update that some filter splits (writePublishedRows).
 */
export function symbolStarts(b: Buffer, s: UpdShape, starts: Array<Int32Array | undefined>): void {
  let from = s.xAt + 6;
  for (let c = 0; c < s.items; c++) {
    const end = s.ends[c] as number;
    if (b[from] === 11) {
      let st = starts[c];
      if (st === undefined || st.length < s.count + 1) st = starts[c] = new Int32Array(Math.max(16, 2 * (s.count + 1)));
      let q = from + 6;
      for (let i = 0; i < s.count; i++) {
        st[i] = q;
        while (b[q] !== 0) q++;
        q++;
      }
      st[s.count] = q;
    }
    from = end;
  }
}

/** Bytes of the published (`upd;t;table) of the rows idx[0..k) of the multi-row update walked into s. */
export function publishedRowsBytes(p: TablePrefixes, b: Buffer, s: UpdShape, starts: ReadonlyArray<Int32Array | undefined>,
  idx: Int32Array, k: number): number {
  let n = p.message.length + (s.hasTime ? 0 : 6 + 8 * k) + 6 * s.items;
  let from = s.xAt + 6;
  for (let c = 0; c < s.items; c++) {
    const t = b[from] as number;
    if (t !== 11) n += (WIDTH[t] as number) * k;
    else {
      const st = starts[c] as Int32Array;
      for (let j = 0; j < k; j++) { const i = idx[j] as number; n += (st[i + 1] as number) - (st[i] as number); }
    }
    from = s.ends[c] as number;
  }
  return n;
}

/**
 * Writes the published message of the rows idx[0..k) (ascending row indexes) of the multi-row update
 * walked into s, at out[pos] (publishedRowsBytes long; symbolStarts run for this update): what u.q's
 * sel gives, `x` indexed, encoded — each column the selected elements copied from the feed's bytes
 * (attributes dropped, as indexing drops them), after the stamp column when tick.q adds one.
 * Returns the offset after it.
 */
export function writePublishedRows(out: Buffer, pos: number, p: TablePrefixes, b: Buffer, s: UpdShape,
  starts: ReadonlyArray<Int32Array | undefined>, idx: Int32Array, k: number, time: bigint): number {
  const start = pos;
  out.set(p.message, pos);
  pos += p.message.length;
  if (!s.hasTime) pos = writeStampVector(out, pos, time, k);
  let from = s.xAt + 6;
  for (let c = 0; c < s.items; c++) {
    const t = b[from] as number;
    out[pos] = t; out[pos + 1] = 0;
    writeI32(out, pos + 2, k);
    pos += 6;
    const data = from + 6;
    if (t !== 11) {
      const w = WIDTH[t] as number;
      for (let j = 0; j < k; j++) {
        const at = data + (idx[j] as number) * w;
        for (let q = 0; q < w; q++) out[pos + q] = b[at + q] as number;
        pos += w;
      }
    } else {
      const st = starts[c] as Int32Array;
      for (let j = 0; j < k; j++) {
        const i = idx[j] as number;
        pos += copyBytes(b, st[i] as number, st[i + 1] as number, out, pos);
      }
    }
    from = s.ends[c] as number;
  }
  writeI32(out, start + 4, pos - start);
  return pos;
}

/**
 * One buffer published messages are cut from. Once full it is retired, and it is written again only after
 * every queue that took bytes of it has let go (hold/release, counted by the connections that queue
 * them): a page this VM has not used costs ~20 µs to touch first (bench:tick prints it), so fresh regions
 * cost about 0.5 µs of a single-row update's 1.5 µs on the bench (measured with regions reused).
 */
export class SlabRegion implements Region {
  private holders = 0;
  /** live: being cut from; full: retired, waiting for its holders; spare: free to cut from again. */
  state: 'live' | 'full' | 'spare' = 'live';
  constructor(readonly buf: Buffer, private readonly home: Slab) {}

  hold(): void {
    // Bytes of a spare region belong to nobody: holding one would hide a message cut before its reuse.
    if (this.state === 'spare') throw new Error('slab region held after its reuse');
    this.holders++;
  }

  release(): void {
    if (--this.holders === 0 && this.state === 'full') this.home.reuse(this);
  }

  get held(): boolean { return this.holders > 0; }
  get retired(): boolean { return this.state !== 'live'; }
}

/** Retired regions kept for reuse (64 MiB at the default size, the default queue limit of one client), as q
 * keeps memory it has used; more are left to the collector. */
const SPARE_REGIONS = 256;

/**
 * Hands out room in large shared buffers (reserve: an offset in last.buf) for the hot path's published
 * messages: one small message then costs no ArrayBuffer of its own (an allocation and later an external-memory collection
 * each). Messages cut one after another are adjacent, so a connection can send a turn's worth as one
 * piece. Bytes handed out stay valid while a holder holds their region (see SlabRegion); a consumer
 * that keeps a message past the synchronous delivery without holding it must copy it.
 */
export class Slab {
  private region: SlabRegion;
  private used = 0;
  private readonly spare: SlabRegion[] = [];
  /** While pinned: the region cut from when pin was called, and those begun since (held until unpin). */
  private pinned: SlabRegion | undefined;
  private readonly pins: SlabRegion[] = [];
  /** The region the last reserve() cut from; undefined when that message gets a buffer of its own. */
  last: SlabRegion | undefined;
  constructor(private readonly size = 256 * 1024) {
    this.region = new SlabRegion(Buffer.allocUnsafeSlow(size), this);
  }

  /**
   * Room for n bytes: their offset in `last`'s buffer (no view is made), or -1 for a message over an
   * eighth of a region, which gets a buffer of its own.
   */
  reserve(n: number): number {
    if (n > this.size >> 3) { this.last = undefined; return -1; }
    if (this.used + n > this.size) this.next();
    this.last = this.region;
    const at = this.used;
    this.used += n;
    return at;
  }

  /**
   * Holds every region cut from until unpin: one publish cuts a message and delivers it to group after
   * group, cutting others between, and the first recipients (a gateway, a compressing peer) need not hold.
   */
  pin(): void {
    this.pinned = this.region;
    this.region.hold();
  }

  unpin(): void {
    (this.pinned as SlabRegion).release();
    this.pinned = undefined;
    // Regions begun during the publish: rare, so the common case sets no array length (a runtime call).
    if (this.pins.length > 0) {
      for (const r of this.pins) r.release();
      this.pins.length = 0;
    }
  }

  private next(): void {
    const old = this.region;
    this.region = this.spare.pop() ?? new SlabRegion(Buffer.allocUnsafeSlow(this.size), this);
    this.region.state = 'live';
    this.used = 0;
    if (this.pinned !== undefined) { this.region.hold(); this.pins.push(this.region); }
    old.state = 'full';
    if (!old.held) this.reuse(old);
  }

  /** A retired region no one holds: kept for the next one, or left to the collector. */
  reuse(r: SlabRegion): void {
    if (r.state !== 'full') return;
    r.state = 'spare';
    if (this.spare.length < SPARE_REGIONS) this.spare.push(r);
  }

  /** Regions waiting to be written again (tests). */
  get spareRegions(): number { return this.spare.length; }
}
