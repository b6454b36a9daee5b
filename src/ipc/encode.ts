// q values → payload bytes, little-endian, as q writes them. One growable scratch buffer per process:
// a value is written once into it and copied out once, so no per-item Buffers are created.
// Spec: code.kx.com/q/kb/serialization.
import { IpcEncodeError } from '../errors.js';
import { MsgType } from './types.js';
import type { QValue, QVector } from './values.js';

export const HEADER_BYTES = 8;

let scratch = Buffer.allocUnsafe(1 << 16);
// A DataView is several times faster than Buffer's write*LE methods for numbers (bench:codec).
let view = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < pos + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  scratch.copy(next, 0, 0, pos);
  scratch = next;
  view = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
}

/** The payload alone (no header): what a journal record holds. */
export function encodePayload(value: QValue): Buffer {
  pos = 0;
  write(value);
  return Buffer.from(scratch.subarray(0, pos));
}

/** A complete uncompressed IPC message: 8-byte header (little-endian) + payload. */
export function encodeMessage(value: QValue, msgType: MsgType = MsgType.Async): Buffer {
  pos = HEADER_BYTES;
  write(value);
  writeHeader(scratch, msgType, pos);
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  return out;
}

/** Writes the 8-byte header for an uncompressed little-endian message of `length` bytes. */
export function writeHeader(buf: Buffer, msgType: MsgType, length: number): void {
  buf[0] = 1;
  buf[1] = msgType;
  buf[2] = 0;
  buf[3] = 0;
  buf.writeUInt32LE(length, 4);
}

function write(v: QValue): void {
  const t = v.type;
  switch (t) {
    case -1: ensure(2); scratch[pos++] = 0xff; scratch[pos++] = v.value ? 1 : 0; return;
    case -2: ensure(17); scratch[pos++] = 0xfe; writeGuid(v.value); return;
    case -4: ensure(2); scratch[pos++] = 0xfc; scratch[pos++] = v.value; return;
    case -5: ensure(3); scratch[pos++] = 0xfb; view.setInt16(pos, v.value, true); pos += 2; return;
    case -6: case -13: case -14: case -17: case -18: case -19:
      ensure(5); scratch[pos++] = t & 0xff; view.setInt32(pos, v.value, true); pos += 4; return;
    case -7: case -12: case -16:
      ensure(9); scratch[pos++] = t & 0xff; view.setBigInt64(pos, v.value, true); pos += 8; return;
    case -8: ensure(5); scratch[pos++] = 0xf8; view.setFloat32(pos, v.value, true); pos += 4; return;
    case -9: case -15:
      ensure(9); scratch[pos++] = t & 0xff; view.setFloat64(pos, v.value, true); pos += 8; return;
    case -10: ensure(2); scratch[pos++] = 0xf6; scratch[pos++] = v.value.charCodeAt(0) & 0xff; return;
    case -11: ensure(1); scratch[pos++] = 0xf5; writeCString(v.value); return;
    case -128: ensure(1); scratch[pos++] = 0x80; writeCString(v.message); return;
    case 0: {
      const items = v.items;
      ensure(6);
      scratch[pos++] = 0; scratch[pos++] = v.attr;
      view.setInt32(pos, items.length, true); pos += 4;
      for (let i = 0; i < items.length; i++) write(items[i] as QValue);
      return;
    }
    case 98: {
      const { columns, data } = v;
      if (columns.length !== data.length) throw new IpcEncodeError('table has unequal names and columns');
      ensure(3);
      scratch[pos++] = 98; scratch[pos++] = v.attr; scratch[pos++] = 99;
      writeSymbols(columns, 0);
      ensure(6);
      scratch[pos++] = 0; scratch[pos++] = 0;
      view.setInt32(pos, data.length, true); pos += 4;
      for (let i = 0; i < data.length; i++) write(data[i] as QValue);
      return;
    }
    case 99: case 127: ensure(1); scratch[pos++] = t; write(v.keys); write(v.values); return;
    case 100:
      ensure(1); scratch[pos++] = 100; writeCString(v.context);
      writeBytesVector(10, 0, v.source);
      return;
    case 101: case 102: case 103: ensure(2); scratch[pos++] = t; scratch[pos++] = v.index; return;
    case 104: case 105: {
      ensure(5); scratch[pos++] = t; view.setInt32(pos, v.items.length, true); pos += 4;
      for (const item of v.items) write(item);
      return;
    }
    case 106: case 107: case 108: case 109: case 110: case 111:
      ensure(1); scratch[pos++] = t; write(v.fn); return;
    default:
      writeVector(v);
  }
}

/** Below this many elements a vector is written element by element (see writeSmall). */
const SMALL_VECTOR = 16;

function writeVector(v: QVector): void {
  if (v.type === 11) { writeSymbols(v.data, v.attr); return; }
  if (v.type === 2) { writeBytesVector(2, v.attr, v.data, v.data.length / 16); return; }
  const data = v.data;
  if (data.length < SMALL_VECTOR && !(data instanceof Uint8Array) && writeSmall(v)) return;
  writeBytesVector(v.type, v.attr, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), data.length);
}

/**
 * Short vectors (a one-row update's columns) are written through the DataView: asking a small typed
 * array for its .buffer makes V8 move it off-heap, which costs more than the copy (bench:tick profile).
 */
function writeSmall(v: QVector): boolean {
  const n = v.data.length;
  const start = pos;
  ensure(6 + n * 8);
  scratch[pos++] = v.type; scratch[pos++] = v.attr;
  view.setInt32(pos, n, true); pos += 4;
  switch (v.type) {
    case 5: for (let i = 0; i < n; i++, pos += 2) view.setInt16(pos, v.data[i] as number, true); return true;
    case 7: case 12: case 16: for (let i = 0; i < n; i++, pos += 8) view.setBigInt64(pos, v.data[i] as bigint, true); return true;
    case 8: case 9: case 15: {
      // A NaN read into JS may lose its payload bits; q's exact bytes then come from the byte copy.
      const wide = v.type !== 8;
      for (let i = 0; i < n; i++) {
        const x = v.data[i] as number;
        if (x !== x) { pos = start; return false; }
        if (wide) { view.setFloat64(pos, x, true); pos += 8; } else { view.setFloat32(pos, x, true); pos += 4; }
      }
      return true;
    }
    default: for (let i = 0; i < n; i++, pos += 4) view.setInt32(pos, v.data[i] as number, true); return true;
  }
}

function writeBytesVector(type: number, attr: number, bytes: Uint8Array, n = bytes.length): void {
  ensure(6 + bytes.length);
  scratch[pos++] = type; scratch[pos++] = attr;
  view.setInt32(pos, n, true); pos += 4;
  scratch.set(bytes, pos); pos += bytes.length;
}

function writeSymbols(data: string[], attr: number): void {
  ensure(6);
  scratch[pos++] = 11; scratch[pos++] = attr;
  view.setInt32(pos, data.length, true); pos += 4;
  for (let i = 0; i < data.length; i++) writeCString(data[i] as string);
}

function writeCString(s: string): void {
  // UTF-8 never needs more than 3 bytes per UTF-16 unit; a symbol cannot hold NUL (q stops at it).
  const n = s.length;
  ensure(n * 3 + 1);
  // Short ASCII symbols (the usual case) are copied by hand: far cheaper than a native call each.
  let p = pos;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) throw new IpcEncodeError('symbol contains a NUL byte');
    if (c > 0x7f) break;
    scratch[p++] = c;
  }
  if (i < n) {
    if (s.indexOf('\0', i) >= 0) throw new IpcEncodeError('symbol contains a NUL byte');
    p += scratch.write(s.slice(i), p, 'utf8');
  }
  scratch[p++] = 0;
  pos = p;
}

function writeGuid(text: string): void {
  const hex = text.replace(/-/g, '');
  if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new IpcEncodeError(`bad guid ${text}`);
  scratch.write(hex, pos, 'hex');
  pos += 16;
}
