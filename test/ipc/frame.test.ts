// The 8-byte message header and whole-message decoding (src/ipc/frame.ts), on q's own bytes.
// Spec: code.kx.com/q/basics/ipc (header: endianness, message type, compressed flag, total length).
import t from 'tap';
import { errorCode } from '../helpers/errors.js';
import { IpcDecodeError } from '../../src/errors.js';
import { decodeMessage, decodePayload, encodePayload, MsgType, readHeader, symbols } from '../../src/ipc/index.js';
import { ADMIT_PREFIX_BYTES } from '../../src/ipc/frame.js';
import { frame, hex, readVectors } from '../helpers/vectors.js';

const limits = { maxMessageBytes: 1 << 20, maxDepth: 64 };
const vectors = readVectors('q3-expressions.txt');
const compressed = readVectors('q3-compressed-expressions.txt');


t.test('readHeader reads the endianness, message type, compressed flag and total length q wrote', async (t) => {
  const payload = (vectors[0] as { bytes: Buffer }).bytes;
  for (const type of [MsgType.Async, MsgType.Sync, MsgType.Response]) {
    t.same(readHeader(frame(payload, type)), { littleEndian: true, msgType: type, compressed: false, length: payload.length + 8 });
  }
  const c = compressed[0] as { bytes: Buffer };
  t.same(readHeader(frame(c.bytes, 0, true)), { littleEndian: true, msgType: 0, compressed: true, length: c.bytes.length + 8 });
});

t.test('a big-endian header (byte 0 = 0) has its length read big-endian', async (t) => {
  const b = Buffer.from([0, 1, 0, 0, 0, 0, 0x01, 0x02]);
  t.same(readHeader(b), { littleEndian: false, msgType: 1, compressed: false, length: 0x0102 });
});

t.test('fewer than 8 bytes is a truncated header; a message type above 2 or a flag above 1 is a bad type', async (t) => {
  t.equal(errorCode(() => readHeader(Buffer.from([1, 0, 0, 0, 9, 0, 0]))), 'IPC_ERR_TRUNCATED');
  t.equal(errorCode(() => readHeader(Buffer.from([1, 3, 0, 0, 9, 0, 0, 0]))), 'IPC_ERR_BAD_TYPE');
  t.equal(errorCode(() => readHeader(Buffer.from([1, 0, 2, 0, 9, 0, 0, 0]))), 'IPC_ERR_BAD_TYPE');
});

t.test('decodeMessage gives every q-produced message its value, type and the very bytes it was given', async (t) => {
  for (const { expr, bytes } of vectors) {
    const msg = frame(bytes, MsgType.Sync);
    const m = decodeMessage(msg, limits);
    t.equal(m.msgType, MsgType.Sync, expr);
    t.equal(hex(encodePayload(m.value)), hex(bytes), expr);
    t.equal(m.body, msg, `${expr}: an uncompressed body is the frame itself, not a copy`);
  }
});

t.test('a compressed q message decodes to the value of its expression, with the decompressed body', async (t) => {
  const c = compressed.find((v) => v.expr === '1000#`q') as { bytes: Buffer };
  const m = decodeMessage(frame(c.bytes, 0, true), limits);
  t.same(m.value, symbols(new Array<string>(1000).fill('q')));
  t.equal(m.body[2], 0, 'the body header is the uncompressed one');
  t.equal(m.body.length, m.body.readUInt32LE(4));
  t.same(decodePayload(m.body.subarray(8)), m.value);
});

t.test('a header length that differs from the frame is a bad length', async (t) => {
  const msg = frame((vectors[0] as { bytes: Buffer }).bytes);
  msg.writeUInt32LE(msg.length + 1, 4);
  t.equal(errorCode(() => decodeMessage(msg, limits)), 'IPC_ERR_BAD_LENGTH');
});

t.test('admit sees the start of a compressed message, decompressed, before the whole is expanded; its throw refuses it', async (t) => {
  const c = compressed.find((v) => v.expr === '1000#`q') as { bytes: Buffer };
  const whole = decodeMessage(frame(c.bytes, 0, true), limits).body;
  const seen: Buffer[] = [];
  decodeMessage(frame(c.bytes, 0, true), limits, (body) => { seen.push(Buffer.from(body)); });
  const head = seen[0] as Buffer;
  t.equal(head.length, ADMIT_PREFIX_BYTES, 'the first ADMIT_PREFIX_BYTES only');
  t.equal(head[2], 0, 'the flag cleared');
  t.equal(head.readUInt32LE(4), 8 + 6 + 1000 * 2, 'the header says the whole length');
  t.same(head, whole.subarray(0, ADMIT_PREFIX_BYTES), 'the same bytes the whole message starts with');
  const refused = new IpcDecodeError('IPC_ERR_TOO_LARGE', 'refused');
  t.throws(() => decodeMessage(frame(c.bytes, 0, true), limits, () => { throw refused; }), refused);
  const plain = frame(encodePayload(symbols(['a', 'b'])));
  const plainSeen: number[] = [];
  decodeMessage(plain, limits, (body) => { plainSeen.push(body.length); });
  t.same(plainSeen, [plain.length], 'an uncompressed message is seen whole');
});

t.test('a compressed message that expands past maxMessageBytes is refused', async (t) => {
  const c = compressed.find((v) => v.expr === '1000#`q') as { bytes: Buffer };
  t.equal(errorCode(() => decodeMessage(frame(c.bytes, 0, true), { maxMessageBytes: 1000, maxDepth: 64 })), 'IPC_ERR_TOO_LARGE');
});

t.test('maxDepth applies to the message payload', async (t) => {
  const nested = Buffer.from('000001000000' + '000001000000' + 'f90100000000000000', 'hex'); // enlist enlist 1
  t.equal(errorCode(() => decodeMessage(frame(nested), { maxMessageBytes: 1 << 20, maxDepth: 1 })), 'IPC_ERR_TOO_DEEP');
  t.equal(errorCode(() => decodeMessage(frame(nested), { maxMessageBytes: 1 << 20, maxDepth: 2 })), 'no error');
});
