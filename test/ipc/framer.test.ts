// The framer against real q messages (kdb-ipc-and-tick.md §4.1, §4.3, §4.4): any split, any grouping.
import t from 'tap';
import fc from 'fast-check';
import { Framer } from '../../src/ipc/framer.js';
import { IpcDecodeError } from '../../src/errors.js';
import { errorCode } from '../helpers/errors.js';

const MAX = 1024 * 1024;

const messages = [
  '010000000d000000fa01000000', // -8!1i
  '01000000210000007f0b0102000000610062000600020000000200000003000000', // -8!`s#`a`b!2 3i
  '010200000e000000807479706500', // error response 'type
  '010200000a0000006500', // response ::
  '01010000240000000a0016000000282e752e7375625b603b605d3b602e75206069604c29', // r.q's sync .u.sub
  '010000006d000000000003000000f575706400f57472616465006200630b000400000074696d650073796d0070726963650073697a65000000040000001000010000000040' +
    '36e7bd2000000b000100000049424d0009000100000000000000000059400600010000000a000000', // TP publish
  '010001002d000000de070000800b00e80300007171ffaa7171ff7171ff7171ff7171ff2a7171ff7171ff7171bf', // compressed 1000#`q
  '000000000000000dfa00000001', // -8!1i from a big-endian q
].map((h) => Buffer.from(h, 'hex'));
const all = Buffer.concat(messages);
const allHex = messages.map((m) => m.toString('hex'));

/** Pushes the chunks through a fresh framer and returns the frames' hex. */
function run(chunks: Buffer[], max = MAX): string[] {
  const framer = new Framer({ maxMessageBytes: max });
  const frames: string[] = [];
  for (const c of chunks) framer.push(c, (f) => frames.push(f.toString('hex')));
  return frames;
}


const header = (bytes: number[]): Buffer => Buffer.from(bytes);

t.test('the test messages announce their own lengths', async (t) => {
  for (const m of messages) {
    t.equal(m[0] === 1 ? m.readUInt32LE(4) : m.readUInt32BE(4), m.length, m.toString('hex'));
  }
});

t.test('each message pushed alone comes back whole, as a view of the chunk', async (t) => {
  for (const m of messages) {
    const got: Buffer[] = [];
    new Framer({ maxMessageBytes: MAX }).push(m, (f) => got.push(f));
    t.equal(got.length, 1);
    const f = got[0] as Buffer;
    t.equal(f.toString('hex'), m.toString('hex'));
    t.ok(f.buffer === m.buffer && f.byteOffset === m.byteOffset, 'zero copy');
  }
});

t.test('several messages in one chunk are all delivered, in order, as views', async (t) => {
  const got: Buffer[] = [];
  new Framer({ maxMessageBytes: MAX }).push(all, (f) => got.push(f));
  t.same(got.map((f) => f.toString('hex')), allHex);
  t.ok(got.every((f) => f.buffer === all.buffer), 'every frame shares the chunk memory');
});

t.test('the stream split into two chunks at every offset yields the same messages', async (t) => {
  for (let cut = 0; cut <= all.length; cut++) {
    const frames = run([all.subarray(0, cut), all.subarray(cut)]);
    if (frames.join() !== allHex.join()) t.fail(`split at ${cut}: ${frames.length} frames`);
  }
  t.pass(`${all.length + 1} splits checked`);
});

t.test('every message split at every offset of three chunks yields the message', async (t) => {
  for (const m of messages) {
    for (let a = 0; a <= m.length; a++) {
      for (let b = a; b <= m.length; b++) {
        const frames = run([m.subarray(0, a), m.subarray(a, b), m.subarray(b)]);
        if (frames.length !== 1 || frames[0] !== m.toString('hex')) t.fail(`${m.toString('hex')} at ${a},${b}`);
      }
    }
  }
  t.pass('all three-way splits checked');
});

t.test('the stream fed byte by byte yields the same messages', async (t) => {
  const chunks = [...all].map((b) => Buffer.from([b]));
  t.same(run(chunks), allHex);
});

t.test('a message spanning chunks is assembled into one buffer of its exact length', async (t) => {
  const m = messages[5] as Buffer;
  const got: Buffer[] = [];
  const framer = new Framer({ maxMessageBytes: MAX });
  framer.push(m.subarray(0, 20), (f) => got.push(f));
  t.equal(got.length, 0);
  t.equal(framer.bufferedBytes, 20);
  framer.push(m.subarray(20), (f) => got.push(f));
  const f = got[0] as Buffer;
  t.equal(f.toString('hex'), m.toString('hex'));
  t.not(f.buffer, m.buffer, 'a copy, not a view of either chunk');
  t.equal(framer.bufferedBytes, 0);
});

t.test('bufferedBytes counts a partial header and a partial frame', async (t) => {
  const framer = new Framer({ maxMessageBytes: MAX });
  const noop = (): void => {};
  t.equal(framer.bufferedBytes, 0);
  framer.push(all.subarray(0, 5), noop);
  t.equal(framer.bufferedBytes, 5);
  framer.push(all.subarray(5, 11), noop);
  t.equal(framer.bufferedBytes, 11);
  framer.push(all.subarray(11, 13 + 3), noop); // finishes message 1 (13 bytes), 3 bytes of message 2
  t.equal(framer.bufferedBytes, 3);
});

t.test('a length below 9 is rejected as a bad length', async (t) => {
  for (const len of [0, 1, 8]) {
    const h = header([1, 0, 0, 0, len, 0, 0, 0]);
    t.equal(errorCode(() => run([h])), 'IPC_ERR_BAD_LENGTH', `length ${len}`);
  }
  t.same(run([Buffer.from('0100000009000000ff', 'hex')]), ['0100000009000000ff'], 'length 9 is the smallest accepted');
});

t.test('a length above the limit is rejected from the header alone', async (t) => {
  t.equal(errorCode(() => run([header([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])])), 'IPC_ERR_TOO_LARGE', '4 GiB');
  const justOver = header([1, 0, 0, 0, 0, 0, 0, 0]);
  justOver.writeUInt32LE(1001, 4);
  t.equal(errorCode(() => run([justOver], 1000)), 'IPC_ERR_TOO_LARGE', 'limit + 1');
  const atLimit = Buffer.alloc(1000);
  atLimit.writeUInt32LE(1000, 4);
  atLimit[0] = 1;
  t.equal(run([atLimit], 1000).length, 1, 'exactly the limit is accepted');
});

t.test('the length is read in the byte order given by header byte 0', async (t) => {
  // 0x0d000000 read big-endian would be 218 MB: over the limit.
  t.equal(errorCode(() => run([header([0, 0, 0, 0, 0x0d, 0, 0, 0])])), 'IPC_ERR_TOO_LARGE');
  t.equal(errorCode(() => run([header([1, 0, 0, 0, 0, 0, 0, 0x0d])])), 'IPC_ERR_TOO_LARGE');
});

t.test('bad endianness, message type or compression bytes are rejected', async (t) => {
  t.equal(errorCode(() => run([header([2, 0, 0, 0, 9, 0, 0, 0])])), 'IPC_ERR_BAD_TYPE', 'endianness 2');
  t.equal(errorCode(() => run([header([1, 3, 0, 0, 9, 0, 0, 0])])), 'IPC_ERR_BAD_TYPE', 'message type 3');
  t.equal(errorCode(() => run([header([1, 0, 2, 0, 9, 0, 0, 0])])), 'IPC_ERR_BAD_TYPE', 'compression 2');
});

t.test('a bad header split across chunks fails as soon as its eighth byte arrives', async (t) => {
  const framer = new Framer({ maxMessageBytes: MAX });
  const bad = header([1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
  framer.push(bad.subarray(0, 7), () => t.fail('no frame expected'));
  t.equal(errorCode(() => framer.push(bad.subarray(7), () => t.fail('no frame expected'))), 'IPC_ERR_TOO_LARGE');
});

t.test('after an error every further push fails with the same code', async (t) => {
  const framer = new Framer({ maxMessageBytes: MAX });
  const frames: Buffer[] = [];
  t.equal(errorCode(() => framer.push(header([1, 0, 0, 0, 3, 0, 0, 0]), (f) => frames.push(f))), 'IPC_ERR_BAD_LENGTH');
  t.equal(errorCode(() => framer.push(messages[0] as Buffer, (f) => frames.push(f))), 'IPC_ERR_BAD_LENGTH');
  t.equal(frames.length, 0, 'a valid message after the failure is not delivered');
});

t.test('messages before a bad header in the same chunk are still delivered', async (t) => {
  const frames: string[] = [];
  const chunk = Buffer.concat([messages[0] as Buffer, header([1, 9, 0, 0, 9, 0, 0, 0])]);
  t.equal(errorCode(() => new Framer({ maxMessageBytes: MAX }).push(chunk, (f) => frames.push(f.toString('hex')))),
    'IPC_ERR_BAD_TYPE');
  t.same(frames, [allHex[0]]);
});

t.test('an error thrown by the frame handler propagates and stops the framer', async (t) => {
  const framer = new Framer({ maxMessageBytes: MAX });
  t.throws(() => framer.push(all, () => { throw new Error('handler failed'); }), { message: 'handler failed' });
  t.throws(() => framer.push(messages[0] as Buffer, () => {}), IpcDecodeError);
});

t.test('any split of any concatenation of messages yields the same frames', async (t) => {
  const message = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2 }), fc.uint8Array({ minLength: 1, maxLength: 300 }))
    .map(([little, msgType, payload]) => {
      const m = Buffer.concat([Buffer.from([little ? 1 : 0, msgType, 0, 0, 0, 0, 0, 0]), payload]);
      if (little) m.writeUInt32LE(m.length, 4); else m.writeUInt32BE(m.length, 4);
      return m;
    });
  const arb = fc.tuple(fc.array(message, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }));
  fc.assert(fc.property(arb, ([msgs, cuts]) => {
    const stream = Buffer.concat(msgs);
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const p of [...points, stream.length]) { chunks.push(stream.subarray(from, p)); from = p; }
    const frames = run(chunks);
    return frames.join() === msgs.map((m) => m.toString('hex')).join();
  }), { numRuns: 500 });
  t.pass('500 random streams and splits');
});

t.test('a header claiming a huge message reserves memory only as its bytes arrive', async (t) => {
  const framer = new Framer({ maxMessageBytes: 256 * 1024 * 1024 });
  const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(200 * 1024 * 1024, 4);
  const before = process.memoryUsage().arrayBuffers;
  framer.push(Buffer.concat([header, Buffer.alloc(100)]), () => t.fail('no frame yet'));
  const grew = process.memoryUsage().arrayBuffers - before;
  t.ok(grew < 1024 * 1024, `reserved ${grew} bytes for a 200 MiB claim with 108 bytes sent`);
  t.equal(framer.bufferedBytes, 108);
});

t.test('a frame arriving in many small chunks is reassembled exactly as it grows', async (t) => {
  const payload = Buffer.alloc(300_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const msg = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), payload]);
  msg.writeUInt32LE(msg.length, 4);
  const framer = new Framer({ maxMessageBytes: 1 << 20 });
  const frames: Buffer[] = [];
  for (let at = 0; at < msg.length; at += 997) framer.push(msg.subarray(at, at + 997), (f) => frames.push(Buffer.from(f)));
  t.equal(frames.length, 1);
  t.ok(frames[0]?.equals(msg), 'byte-identical');
});
