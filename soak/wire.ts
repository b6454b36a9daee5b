// Bytes on the wire for the soak: (`.u.upd;`trade;x) messages stamped in place (time = the sender's
// CLOCK_MONOTONIC as a timespan, size = price = sequence number), handshakes, frame splitting, and
// reading a published (`upd;`trade;table) back into rows. Layout: kdb-ipc-and-tick.md §2–§3.
import { decodeMessage, encodeMessage, float, floats, int, ints, list, MsgType, sym, symbols, timespan, timespans } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';

/** The handshake a client sends: credentials, capability, NUL (§1.1). */
export const handshake = (credentials = '', capability = 3): Buffer =>
  Buffer.concat([Buffer.from(credentials, 'utf8'), Buffer.from([capability, 0])]);

const TIME_SENTINEL = 0x0123_4567_89ab_cdefn;
const PRICE_SENTINEL = 1234567.875;
const SIZE_SENTINEL = 0x1234_5678;

/**
 * A pre-encoded update of `rows` rows for syms of exactly `symLen` characters: one atom per column for
 * one row (a feed's usual single-row form), vectors otherwise. `write` stamps a copy in place.
 */
export class UpdTemplate {
  readonly length: number;
  private readonly bytes: Buffer;
  private readonly timeAt: number;
  private readonly symAt: number;
  private readonly priceAt: number;
  private readonly sizeAt: number;

  constructor(readonly symLen: number, readonly rows = 1, table = 'trade') {
    const placeholder = 'Z'.repeat(symLen);
    const x = rows === 1
      ? list(timespan(TIME_SENTINEL), sym(placeholder), float(PRICE_SENTINEL), int(SIZE_SENTINEL))
      : list(timespans(new BigInt64Array(rows).fill(TIME_SENTINEL)), symbols(new Array<string>(rows).fill(placeholder)),
        floats(new Float64Array(rows).fill(PRICE_SENTINEL)), ints(new Int32Array(rows).fill(SIZE_SENTINEL)));
    this.bytes = encodeMessage(list(sym('.u.upd'), sym(table), x), MsgType.Async);
    this.length = this.bytes.length;
    const find = (probe: Buffer): number => {
      const at = this.bytes.indexOf(probe);
      if (at < 0) throw new Error('template sentinel not found');
      return at;
    };
    const t = Buffer.alloc(8); t.writeBigInt64LE(TIME_SENTINEL);
    const p = Buffer.alloc(8); p.writeDoubleLE(PRICE_SENTINEL);
    const s = Buffer.alloc(4); s.writeInt32LE(SIZE_SENTINEL);
    this.timeAt = find(t);
    this.priceAt = find(p);
    this.sizeAt = find(s);
    this.symAt = find(Buffer.from(placeholder + '\0', 'latin1'));
  }

  /**
   * Writes one message at `at` in `out`: rows seq, seq+1, ... with sym(row) and the same time stamp.
   * Returns the offset after it.
   */
  write(out: Buffer, at: number, msgType: MsgType, timeNs: bigint, seq: number, symOf: (row: number) => string): number {
    this.bytes.copy(out, at);
    out[at + 1] = msgType;
    for (let r = 0; r < this.rows; r++) {
      out.writeBigInt64LE(timeNs, at + this.timeAt + 8 * r);
      out.writeDoubleLE(seq + r, at + this.priceAt + 8 * r);
      out.writeInt32LE(seq + r, at + this.sizeAt + 4 * r);
      out.write(symOf(r), at + this.symAt + (this.symLen + 1) * r, this.symLen, 'latin1');
    }
    return at + this.length;
  }

  /** One message as a fresh Buffer. */
  message(msgType: MsgType, timeNs: bigint, seq: number, symOf: (row: number) => string): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.write(out, 0, msgType, timeNs, seq, symOf);
    return out;
  }
}

/** Splits little- or big-endian IPC messages off the front of `buf`; returns the frames and the rest. */
export function splitFrames(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let at = 0;
  while (buf.length - at >= 8) {
    const n = buf[at] === 1 ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
    if (n < 8) return { frames, rest: Buffer.alloc(0) }; // not a stream we can follow
    if (buf.length - at < n) break;
    frames.push(buf.subarray(at, at + n));
    at += n;
  }
  return { frames, rest: buf.subarray(at) };
}

/** Incremental splitter over a socket's chunks. */
export class FrameSplitter {
  private rest: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const { frames, rest } = splitFrames(buf);
    for (const f of frames) onFrame(f);
    this.rest = rest.length ? Buffer.from(rest) : rest;
  }
}

export const LIMITS = { maxMessageBytes: 1 << 30, maxDepth: 64 };

/** Reads (`upd;`t;table) (or a 3-list with a column list) into rows; undefined for anything else. */
export function readUpdate(frame: Buffer): { table: string; time: BigInt64Array; syms: string[]; size: Int32Array } | undefined {
  const v = decodeMessage(frame, LIMITS).value;
  return updateOf(v);
}

export function updateOf(v: QValue): { table: string; time: BigInt64Array; syms: string[]; size: Int32Array } | undefined {
  if (v.type !== 0 || v.items.length !== 3) return undefined;
  const [head, t, x] = v.items as [QValue, QValue, QValue];
  if (head.type !== -11 || (head.value !== 'upd' && head.value !== '.u.upd') || t.type !== -11) return undefined;
  const cols = x.type === 98 ? x.data : x.type === 0 ? x.items : undefined;
  if (!cols || cols.length < 4) return undefined;
  const [c0, c1, , c3] = cols as [QValue, QValue, QValue, QValue];
  if (c0.type === 16 && c1.type === 11 && c3.type === 6) return { table: t.value, time: c0.data, syms: c1.data, size: c3.data };
  if (c0.type === -16 && c1.type === -11 && c3.type === -6) {
    return { table: t.value, time: BigInt64Array.of(c0.value), syms: [c1.value], size: Int32Array.of(c3.value) };
  }
  return undefined;
}

/** The encoded sync request for a q string (a chaser, a query). */
export const syncText = (q: string): Buffer => {
  const b = Buffer.from(q, 'latin1');
  const out = Buffer.alloc(8 + 6 + b.length);
  out[0] = 1; out[1] = MsgType.Sync;
  out.writeUInt32LE(out.length, 4);
  out[8] = 10; out.writeInt32LE(b.length, 10);
  b.copy(out, 14);
  return out;
};
