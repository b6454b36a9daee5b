// q's own bytes: every expression in the vector file decodes and re-encodes to exactly q's bytes.
import t from 'tap';
import { decodePayload, encodePayload, encodeMessage, MsgType, skipValue } from '../../src/ipc/index.js';
import { readVectors, hex } from '../helpers/vectors.js';

const vectors = readVectors('q3-expressions.txt');

t.test('the vector file holds the expected number of q expressions', async (t) => {
  t.ok(vectors.length >= 100, `${vectors.length} vectors`);
});

t.test('every q-produced payload decodes and re-encodes to the same bytes', async (t) => {
  for (const { expr, bytes } of vectors) {
    const value = decodePayload(bytes);
    t.equal(hex(encodePayload(value)), hex(bytes), expr);
  }
});

t.test('skipValue measures every q-produced payload to its exact length', async (t) => {
  for (const { expr, bytes } of vectors) t.equal(skipValue(bytes, 0, bytes.length), bytes.length, expr);
});

t.test('every q-produced payload decodes the same in big-endian form', async (t) => {
  // A big-endian q writes byte 0 = 0 and every multi-byte number reversed; build that form from ours.
  for (const { expr, bytes } of vectors) {
    const value = decodePayload(bytes);
    const be = toBigEndian(bytes);
    t.same(decodePayload(be, 0, be.length, { littleEndian: false }), value, expr);
  }
});

t.test('encodeMessage frames a payload with q\'s header', async (t) => {
  const msg = encodeMessage(decodePayload(Buffer.from('f90100000000000000', 'hex')), MsgType.Async);
  t.equal(msg.toString('hex'), '0100000011000000f90100000000000000');
  const resp = encodeMessage({ type: 101, index: 0 }, MsgType.Response);
  t.equal(resp.toString('hex'), '010200000a0000006500');
});

/** Re-serialises a little-endian payload with every multi-byte field byte-swapped. */
function toBigEndian(le: Buffer): Buffer {
  const out = Buffer.from(le);
  swapValue(out, 0);
  return out;
}

const WIDTH = [0, 1, 16, 0, 1, 2, 4, 8, 4, 8, 1, 0, 8, 4, 4, 8, 8, 4, 4, 4];
function swapAt(b: Buffer, p: number, w: number): void {
  if (w === 2) b.subarray(p, p + 2).swap16();
  else if (w === 4) b.subarray(p, p + 4).swap32();
  else if (w === 8) b.subarray(p, p + 8).swap64();
}
function swapValue(b: Buffer, p: number): number {
  const t = b.readInt8(p);
  p++;
  if (t === -11 || t === -128) return b.indexOf(0, p) + 1;
  if (t < 0) { const w = WIDTH[-t] ?? 0; if (t !== -2) swapAt(b, p, w); return p + w; }
  if (t > 0 && t < 20) {
    const n = b.readInt32LE(p + 1); swapAt(b, p + 1, 4); p += 5;
    if (t === 11) { for (let i = 0; i < n; i++) p = b.indexOf(0, p) + 1; return p; }
    const w = WIDTH[t] ?? 0;
    if (t !== 2) for (let i = 0; i < n; i++) swapAt(b, p + i * w, w);
    return p + n * w;
  }
  switch (t) {
    case 0: { const n = b.readInt32LE(p + 1); swapAt(b, p + 1, 4); p += 5; for (let i = 0; i < n; i++) p = swapValue(b, p); return p; }
    case 98: return swapValue(b, p + 1);
    case 99: case 127: return swapValue(b, swapValue(b, p));
    case 100: return swapValue(b, b.indexOf(0, p) + 1);
    case 101: case 102: case 103: return p + 1;
    case 104: case 105: { const n = b.readInt32LE(p); swapAt(b, p, 4); p += 4; for (let i = 0; i < n; i++) p = swapValue(b, p); return p; }
    default: return swapValue(b, p);
  }
}
