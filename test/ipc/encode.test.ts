// The encoder (src/ipc/encode.ts): generated round trips — every value of the q model encodes, decodes to an
// equal value and re-encodes to the same bytes; the header, decodeAt and skipValue agree on lengths — and
// the values q cannot carry refused as IpcEncodeError. Spec: code.kx.com/q/kb/serialization.
import t from 'tap';
import fc from 'fast-check';
import { decodeAt, decodePayload, skipValue } from '../../src/ipc/decode.js';
import { encodeMessage, encodePayload, HEADER_BYTES } from '../../src/ipc/encode.js';
import { MsgType } from '../../src/ipc/types.js';
import type { QValue } from '../../src/ipc/values.js';
import { float, guid, list, longs, real, sym, symbols, table } from '../../src/ipc/values.js';
import { IpcEncodeError } from '../../src/errors.js';
import { holds, qDiff, qPayload, symbolText, valueAt, vectorOf, VECTOR_TYPES } from '../helpers/arbitrary.js';

const RUNS = 2000;

t.test('one vector bigger than the whole scratch buffer, written after other bytes, round-trips', async (t) => {
  // First in the file, so the encoder's scratch buffer is still its initial 64 KiB: a 127,795-byte vector after
  // 15,974 bytes fits in one doubling by itself but not with what precedes it. The later steps repeat that at
  // each size the buffer may have reached.
  for (let k = 16; k <= 22; k++) {
    const n = Math.floor(1.95 * 2 ** k);
    const fill = (len: number, seed: number): Uint8Array => {
      const out = new Uint8Array(len);
      for (let i = 0; i < len; i++) out[i] = (i * 31 + seed) & 0xff;
      return out;
    };
    const v: QValue = { type: 0, attr: 0, items: [{ type: 4, attr: 0, data: fill(n >> 3, k) }, { type: 4, attr: 0, data: fill(n, k + 1) }] };
    const bytes = encodePayload(v);
    t.equal(bytes.length, 6 + 6 + (n >> 3) + 6 + n, `list of ${n >> 3} + ${n} bytes`);
    t.equal(qDiff(v, decodePayload(bytes)), undefined);
  }
});

t.test('every generated value decodes to a value equal to the one encoded', async (t) => {
  holds(t, 'decode(encode(v)) equals v', qPayload, (v) => {
    const diff = qDiff(v, decodePayload(encodePayload(v)));
    if (diff !== undefined) throw new Error(diff);
  }, { numRuns: RUNS });
});

t.test('re-encoding a decoded value reproduces the original bytes exactly', async (t) => {
  holds(t, 'encode(decode(encode(v))) is byte-identical', qPayload, (v) => {
    const bytes = encodePayload(v);
    return encodePayload(decodePayload(bytes)).equals(bytes);
  }, { numRuns: RUNS });
});

t.test('encodeMessage writes a little-endian header with the total length and the message type', async (t) => {
  const msgType = fc.constantFrom<MsgType>(MsgType.Async, MsgType.Sync, MsgType.Response);
  holds(t, 'header is 01 <type> 00 00 <uint32 total length>, then the payload', fc.tuple(qPayload, msgType), ([v, type]) => {
    const payload = encodePayload(v);
    const msg = encodeMessage(v, type);
    return msg.length === HEADER_BYTES + payload.length &&
      msg[0] === 1 && msg[1] === type && msg[2] === 0 && msg[3] === 0 &&
      msg.readUInt32LE(4) === msg.length &&
      msg.subarray(HEADER_BYTES).equals(payload);
  }, { numRuns: RUNS });
});

t.test('decodeAt reports the exact end of a value that sits between other bytes', async (t) => {
  const junk = fc.uint8Array({ maxLength: 12 });
  holds(t, 'decodeAt(before ++ payload ++ after).end is just past the payload', fc.tuple(qPayload, junk, junk), ([v, before, after]) => {
    const payload = encodePayload(v);
    const buf = Buffer.concat([before, payload, after]);
    const { value, end } = decodeAt(buf, before.length, buf.length);
    if (end !== before.length + payload.length) throw new Error(`end ${end}, expected ${before.length + payload.length}`);
    const diff = qDiff(v, value);
    if (diff !== undefined) throw new Error(diff);
    // decodePayload on the exact window agrees.
    return qDiff(v, decodePayload(buf, before.length, end)) === undefined;
  }, { numRuns: RUNS });
});

t.test('skipValue measures every generated value to its exact length, with or without bytes after it', async (t) => {
  holds(t, 'skipValue(buf, 0, len) === len and ignores trailing bytes', fc.tuple(qPayload, fc.uint8Array({ maxLength: 8 })), ([v, after]) => {
    const payload = encodePayload(v);
    if (skipValue(payload, 0, payload.length) !== payload.length) return false;
    const buf = Buffer.concat([Buffer.from([0xff, 0xee]), payload, after]);
    return skipValue(buf, 2, buf.length) === 2 + payload.length;
  }, { numRuns: RUNS });
});

t.test('values nested to the generator\'s depth bound decode within the default maxDepth', async (t) => {
  // A list of a list of … four deep around a table: the deepest shape the arbitraries produce, plus slack.
  let v: QValue = decodePayload(Buffer.from('6200630b00010000006100000001000000070001000000' + '0100000000000000', 'hex'));
  for (let i = 0; i < 8; i++) v = { type: 0, attr: 0, items: [v] };
  t.equal(qDiff(v, decodePayload(encodePayload(v))), undefined);
  holds(t, 'depth-4 values round-trip', valueAt(4), (x) => qDiff(x, decodePayload(encodePayload(x))) === undefined,
    { numRuns: 200 });
});

t.test('values larger than the encoder\'s 64 KiB scratch buffer round-trip byte for byte', async (t) => {
  // Lists of 4–12 vectors of up to 5,000 elements: the scratch buffer grows in the middle of a value.
  const big = fc.array(fc.constantFrom(...VECTOR_TYPES).chain((type) => vectorOf(type, { minLength: 0, maxLength: 5000, size: 'max' })),
    { minLength: 4, maxLength: 12 }).map((items): QValue => ({ type: 0, attr: 0, items }));
  let largest = 0;
  holds(t, 'large lists round-trip and frame', big, (v) => {
    const bytes = encodePayload(v);
    largest = Math.max(largest, bytes.length);
    if (qDiff(v, decodePayload(bytes)) !== undefined) return false;
    return encodeMessage(v).subarray(HEADER_BYTES).equals(bytes) && skipValue(bytes, 0, bytes.length) === bytes.length;
  }, { numRuns: 25 });
  t.ok(largest > 1 << 16, `largest payload ${largest} bytes`);
  const syms: QValue = { type: 11, attr: 0, data: fc.sample(symbolText, { numRuns: 30_000, seed: 1 }) };
  const bytes = encodePayload(syms);
  t.equal(qDiff(syms, decodePayload(bytes)), undefined, `30,000 symbols in ${bytes.length} bytes`);
});

t.test('a float or real atom holding any NaN decodes to NaN and re-encodes as the canonical NaN', async (t) => {
  // Atoms go through JS numbers, so the NaN payload is not kept (vectors keep their bytes; see arbitrary.ts).
  for (const hex of ['f7000000000000f87f', 'f7000000000000f8ff', 'f7010000000000f07f', 'f7ffffffffffffffff']) {
    const v = decodePayload(Buffer.from(hex, 'hex'));
    t.ok(v.type === -9 && Number.isNaN(v.value), `${hex} is a NaN float atom`);
    const again = encodePayload(v);
    t.ok(Number.isNaN(again.readDoubleLE(1)), `${hex} re-encodes as a NaN`);
  }
  t.equal(encodePayload(float(NaN)).toString('hex'), 'f7000000000000f87f', 'a JS NaN float is written as q writes 0n');
  t.equal(encodePayload(real(NaN)).toString('hex'), 'f80000c07f', 'a JS NaN real is written as q writes 0Ne');
  for (const hex of ['f80000c0ff', 'f80100807f']) {
    const v = decodePayload(Buffer.from(hex, 'hex'));
    t.ok(v.type === -8 && Number.isNaN(v.value), `${hex} is a NaN real atom`);
  }
});

t.test('float and real vectors keep every NaN bit pattern through a round trip', async (t) => {
  const payloads = [
    '090004000000' + '000000000000f87f' + '000000000000f8ff' + '010000000000f07f' + 'ffffffffffffffff',
    '080004000000' + '0000c07f' + '0000c0ff' + '0100807f' + 'ffffffff',
  ];
  for (const hex of payloads) {
    const bytes = Buffer.from(hex, 'hex');
    t.equal(encodePayload(decodePayload(bytes)).toString('hex'), hex);
  }
});

t.test('a symbol holding a NUL byte cannot be written, as an atom, in a vector, or as a table column name', async (t) => {
  for (const v of [sym('a\0b'), symbols(['ok', 'b\0']), table(['a\0'], [longs([1n])]), list(sym('x'), sym('\0'))]) {
    t.throws(() => encodePayload(v), new IpcEncodeError('symbol contains a NUL byte'));
  }
});

t.test('a table whose names and columns differ in number is refused, not written half', async (t) => {
  t.throws(() => encodePayload(table(['a', 'b'], [longs([1n])])), new IpcEncodeError('table has unequal names and columns'));
});

t.test('a guid atom that is not 32 hex digits is refused', async (t) => {
  t.throws(() => encodePayload(guid('not-a-guid')), { name: 'IpcEncodeError', message: 'bad guid not-a-guid' });
  t.equal(encodePayload(guid('0A369037-75D3-B24D-6721-5A1D44D4BED5')).length, 1 + 16, 'dashes and case do not matter');
});
