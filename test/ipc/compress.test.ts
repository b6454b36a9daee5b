// IPC compression against q's own bytes (kdb-ipc-and-tick.md §4.3, §5), round trips and hostile input.
import t from 'tap';
import fc from 'fast-check';
import { compress, decompress, decompressPrefix, maxExpansion, shouldCompress } from '../../src/ipc/compress.js';
import { IpcDecodeError } from '../../src/errors.js';
import { readVectors, frame, hex } from '../helpers/vectors.js';
import { errorCode } from '../helpers/errors.js';

const MAX = 64 * 1024 * 1024;

/** Bytes of a symbol vector of n copies of one symbol. */
function symbolVector(sym: string, n: number): Buffer {
  const head = Buffer.from([0x0b, 0x00, 0, 0, 0, 0]);
  head.writeUInt32LE(n, 2);
  return Buffer.concat([head, Buffer.from(`${sym}\0`.repeat(n), 'latin1')]);
}

function longVector(values: number[]): Buffer {
  const b = Buffer.alloc(6 + 8 * values.length);
  b[0] = 0x07;
  b.writeUInt32LE(values.length, 2);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), 6 + 8 * i));
  return b;
}

/** A table: 62 00 63 0b 00 <n> names… 00 00 <n> columns (§4.2). */
function table(names: string[], columns: Buffer[]): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32LE(names.length);
  const nameBytes = Buffer.from(names.map((x) => `${x}\0`).join(''), 'latin1');
  return Buffer.concat([Buffer.from([0x62, 0x00, 0x63, 0x0b, 0x00]), n, nameBytes, Buffer.from([0, 0]), n, ...columns]);
}

const til = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** The uncompressed payloads of the three q expressions in q3-compressed-expressions.txt. */
const payloads: Record<string, Buffer> = {
  '1000#`q': symbolVector('q', 1000),
  '([] q:1000#`q)': table(['q'], [symbolVector('q', 1000)]),
  '([] a:til 200;b:25+til 200;c:200#`a)':
    table(['a', 'b', 'c'], [longVector(til(200)), longVector(til(200, 25)), symbolVector('a', 200)]),
};

const qCompressed = readVectors('q3-compressed-expressions.txt').map(({ expr, bytes }) => ({
  expr,
  message: frame(bytes, 0, true), // 01 00 01 00 + int32 LE (8 + len) + bytes (§4.3)
  plain: frame(payloads[expr] as Buffer),
}));

/** Deterministic pseudo-random bytes (xorshift32): uniform, unlike fast-check's biased generators. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}


/** A compressed message with a hand-written stream: header, uncompressed size, then the stream bytes. */
function handMade(size: number, stream: number[]): Buffer {
  const m = Buffer.from([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...stream]);
  m.writeUInt32LE(m.length, 4);
  m.writeUInt32LE(size, 8);
  return m;
}

t.test('the fixture file holds the three q-compressed expressions', async (t) => {
  t.same(qCompressed.map((v) => v.expr), Object.keys(payloads));
  t.same(qCompressed.map((v) => [v.message.length, v.plain.length]), [[45, 2014], [63, 2031], [1064, 3647]]);
});

t.test('q-compressed messages decompress to the exact uncompressed message', async (t) => {
  for (const { expr, message, plain } of qCompressed) t.equal(hex(decompress(message, MAX)), hex(plain), expr);
});

t.test('compressing the uncompressed messages reproduces q bytes exactly', async (t) => {
  for (const { expr, message, plain } of qCompressed) {
    const out = compress(plain);
    t.ok(out, `${expr} compresses`);
    if (out) t.equal(hex(out), hex(message), expr);
  }
});

t.test('til 1000 (8014 bytes) compresses to exactly 3276 bytes, as -18! does', async (t) => {
  const plain = frame(longVector(til(1000)));
  t.equal(plain.length, 8014);
  const out = compress(plain);
  t.equal(out?.length, 3276);
  t.equal(out?.readUInt32LE(4), 3276, 'length field is the compressed length');
  t.equal(out?.readUInt32LE(8), 8014, 'size field is the uncompressed length, header included');
  if (out) t.equal(hex(decompress(out, MAX)), hex(plain));
});

t.test('compression keeps the message type and sets only the compression flag', async (t) => {
  const plain = frame(symbolVector('q', 1000), 2);
  const out = compress(plain);
  t.same([...(out ?? Buffer.alloc(4)).subarray(0, 4)], [1, 2, 1, 0]);
  if (out) t.same([...decompress(out, MAX).subarray(0, 4)], [1, 2, 0, 0]);
});

t.test('messages of 2000 bytes or less are never compressed', async (t) => {
  const exactly2000 = frame(Buffer.concat([Buffer.from([0x04, 0, 0, 0, 0, 0]), Buffer.alloc(1986)]));
  exactly2000.writeUInt32LE(1986, 10);
  t.equal(exactly2000.length, 2000);
  t.equal(compress(exactly2000), undefined);
  const longer = frame(Buffer.concat([Buffer.from([0x04, 0, 0, 0, 0, 0]), Buffer.alloc(1987)]));
  t.ok(compress(longer), 'one byte more compresses');
});

t.test('incompressible messages are left uncompressed', async (t) => {
  for (const seed of [1, 2, 3]) t.equal(compress(frame(noise(5000, seed))), undefined, `seed ${seed}`);
});

/** Offsets of the flag bytes in a compressed message: where each group of 8 items starts (§5.3). */
function flagPositions(out: Buffer): number[] {
  const positions: number[] = [];
  let pos = 12;
  while (pos < out.length) {
    positions.push(pos);
    const flags = out[pos++] as number;
    for (let bit = 0; bit < 8 && pos < out.length; bit++) pos += (flags >> bit) & 1 ? 2 : 1;
  }
  return positions;
}

t.test('compression is abandoned only when a group would start past floor(N/2) - 17', async (t) => {
  // 4000-byte messages (limit 2000 - 17 = 1983): k random bytes then zeros; around k = 1740 the
  // output crosses the limit, and not monotonically, since the check is made only at group starts.
  const limit = 2000 - 17;
  const lengths = new Map<number, number | undefined>();
  for (let k = 1700; k < 1800; k++) {
    const plain = frame(Buffer.concat([noise(k, 7), Buffer.alloc(4000 - 8 - k)]));
    const out = compress(plain);
    lengths.set(k, out?.length);
    if (!out) continue;
    if (Math.max(...flagPositions(out).slice(1)) > limit) t.fail(`k=${k}: a group starts past ${limit}`);
    if (!decompress(out, MAX).equals(plain)) t.fail(`k=${k}: round trip`);
  }
  t.equal(lengths.get(1738), 1988, 'k=1738 fits');
  t.equal(lengths.get(1739), undefined, 'k=1739 is abandoned');
  const out = compress(frame(Buffer.concat([noise(1743, 7), Buffer.alloc(4000 - 8 - 1743)])));
  t.equal(out?.length, 1994, 'k=1743 is accepted at 1994 bytes, more than the limit');
  // c.java abandons when the write position is strictly greater than floor(N/2) - 17 (`d>e-17`).
  t.ok(out && flagPositions(out).includes(limit), 'k=1743 has a group starting exactly at the limit');
});

t.test('big-endian messages compress and decompress with big-endian size fields', async (t) => {
  const plain = frame(symbolVector('q', 1000));
  plain[0] = 0;
  plain.writeUInt32BE(plain.length, 4);
  const out = compress(plain);
  t.ok(out);
  if (!out) return;
  t.equal(out.readUInt32BE(4), out.length);
  t.equal(out.readUInt32BE(8), plain.length);
  t.equal(hex(decompress(out, MAX)), hex(plain));
});

t.test('a q-compressed message rewritten big-endian decompresses with a big-endian header', async (t) => {
  const { message, plain } = qCompressed[0] as (typeof qCompressed)[number];
  const be = Buffer.from(message);
  be[0] = 0;
  be.writeUInt32BE(message.readUInt32LE(4), 4);
  be.writeUInt32BE(message.readUInt32LE(8), 8);
  const out = decompress(be, MAX);
  t.equal(out[0], 0);
  t.equal(out.readUInt32BE(4), plain.length);
  t.equal(hex(out.subarray(8)), hex(plain.subarray(8)));
});

t.test('any compressible message round-trips through compress and decompress', async (t) => {
  // Messages built from a few short random pieces repeated: compressible, with varied match lengths.
  const piece = fc.uint8Array({ minLength: 1, maxLength: 40 });
  const arb = fc.tuple(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { minLength: 60, maxLength: 400 }));
  fc.assert(fc.property(arb, ([pieces, order]) => {
    const payload = Buffer.concat(order.map((i) => pieces[i % pieces.length] as Uint8Array));
    const plain = frame(Buffer.concat([payload, Buffer.alloc(Math.max(0, 2001 - 8 - payload.length), 7)]));
    const out = compress(plain);
    if (out === undefined) return true; // q would send it as is; nothing more to check
    return out.length <= Math.floor(plain.length / 2) && decompress(out, MAX).equals(plain);
  }), { numRuns: 300 });
  t.pass('300 random compressible messages round-tripped');
});

t.test('decompressPrefix gives the first n bytes decompress gives, at every n, for any compressible message', async (t) => {
  const piece = fc.uint8Array({ minLength: 1, maxLength: 40 });
  const arb = fc.tuple(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { minLength: 60, maxLength: 400 }), fc.nat(3000));
  let checked = 0;
  fc.assert(fc.property(arb, ([pieces, order, n]) => {
    const payload = Buffer.concat(order.map((i) => pieces[i % pieces.length] as Uint8Array));
    const plain = frame(Buffer.concat([payload, Buffer.alloc(Math.max(0, 2001 - 8 - payload.length), 7)]));
    const out = compress(plain);
    if (out === undefined) return true;
    checked++;
    const head = decompressPrefix(out, n, MAX);
    return head.equals(plain.subarray(0, Math.max(8, Math.min(n, plain.length))));
  }), { numRuns: 300 });
  t.ok(checked > 100, `${checked} compressed messages checked`);
});

t.test('a prefix of a message claiming far more than it holds costs the prefix: the claim is checked, not allocated', async (t) => {
  // q-compressed 1000#`q, its claimed size raised to the most its stream could hold: decompress expands
  // (and refuses at the stream's end); the prefix stops after its first bytes and returns them.
  const c = readVectors('q3-compressed-expressions.txt').find((v) => v.expr === '1000#`q') as { bytes: Buffer };
  const msg = frame(c.bytes, 0, true);
  const whole = decompress(msg, MAX);
  t.same(decompressPrefix(msg, 64, MAX), whole.subarray(0, 64));
  const lying = Buffer.from(msg);
  const claim = maxExpansion(msg.length);
  t.ok(claim > whole.length * 2, `it claims ${claim} bytes; it holds ${whole.length}`);
  lying.writeUInt32LE(claim, 8);
  t.equal(errorCode(() => decompress(lying, MAX)), 'IPC_ERR_COMPRESSION', 'the whole cannot be filled');
  const head = decompressPrefix(lying, 64, MAX);
  t.same(head.subarray(8), whole.subarray(8, 64), 'its first bytes are what they are');
  t.equal(head.readUInt32LE(4), claim, 'and its header says what it claims');
  t.equal(errorCode(() => decompressPrefix(lying, 64, 1000)), 'IPC_ERR_TOO_LARGE', 'the size limit applies to the prefix too');
});

/** True when every byte pair in the cyclic unit has its own XOR key (q's table is keyed by that XOR). */
function distinctPairKeys(unit: Uint8Array): boolean {
  const keys = new Set<number>();
  for (let i = 0; i < unit.length; i++) keys.add((unit[i] as number) ^ (unit[(i + 1) % unit.length] as number));
  return keys.size === unit.length || unit.every((b) => b === unit[0]);
}

t.test('a repeating pattern whose byte pairs have distinct XOR keys always compresses', async (t) => {
  const unit = fc.uint8Array({ minLength: 1, maxLength: 12 }).filter(distinctPairKeys);
  fc.assert(fc.property(unit, fc.integer({ min: 2001, max: 20000 }), (u, n) => {
    const payload = Buffer.alloc(n - 8);
    for (let i = 0; i < payload.length; i++) payload[i] = u[i % u.length] as number;
    const plain = frame(payload);
    const out = compress(plain);
    return out !== undefined && decompress(out, MAX).equals(plain);
  }), { numRuns: 200 });
  t.pass('200 repeating messages compressed and round-tripped');
});

t.test('a repeating pattern whose pair keys collide defeats q compression, as in q', async (t) => {
  // 111^160 = 244^59 and 160^244 = 59^111: every table lookup lands on a pair with another first byte.
  const payload = Buffer.alloc(1993);
  const unit = [111, 160, 244, 59];
  for (let i = 0; i < payload.length; i++) payload[i] = unit[i % 4] as number;
  t.equal(compress(frame(payload)), undefined);
});

t.test('arbitrary messages either stay uncompressed or round-trip', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1993, maxLength: 6000 }), (payload) => {
    const plain = frame(Buffer.from(payload));
    const out = compress(plain);
    return out === undefined || (out.length <= plain.length / 2 && decompress(out, MAX).equals(plain));
  }), { numRuns: 200 });
  t.pass('200 arbitrary messages');
});

t.test('shouldCompress follows q: capability at least 1, longer than 2000 bytes, remote peer', async (t) => {
  t.equal(shouldCompress(2001, false, 3), true);
  t.equal(shouldCompress(2001, false, 1), true);
  t.equal(shouldCompress(2000, false, 3), false, 'not longer than 2000');
  t.equal(shouldCompress(2001, true, 3), false, 'local peer');
  t.equal(shouldCompress(2001, false, 0), false, 'capability 0 has no compression');
});

t.test('a truncated compressed stream is rejected at every cut', async (t) => {
  for (const { expr, message } of qCompressed) {
    for (let cut = 0; cut < message.length; cut++) {
      t.equal(errorCode(() => decompress(message.subarray(0, cut), MAX)), 'IPC_ERR_COMPRESSION', `${expr} cut at ${cut}`);
    }
  }
});

t.test('a back-reference to a slot never filled is rejected', async (t) => {
  // flag 0x01: the first item is a reference, but nothing has been written yet.
  t.equal(errorCode(() => decompress(handMade(20, [0x01, 0x05, 0x00]), MAX)), 'IPC_ERR_COMPRESSION', 'reference first');
  // literals a, b, c enter the pairs (a,b) and (b,c) — keys 0x03 and 0x01; slot 0x42 is still empty.
  t.equal(errorCode(() => decompress(handMade(20, [0x08, 0x61, 0x62, 0x63, 0x42, 0x00]), MAX)), 'IPC_ERR_COMPRESSION', 'empty slot after literals');
});

t.test('a back-reference running past the stated size is rejected', async (t) => {
  // a b c, then copy from slot a^b (position 8) with 2 + 255 bytes into a 20-byte message.
  t.equal(errorCode(() => decompress(handMade(20, [0x08, 0x61, 0x62, 0x63, 0x61 ^ 0x62, 0xff]), MAX)), 'IPC_ERR_COMPRESSION', 'overlong copy');
  // The same reference with length 2 lands exactly on the end and is accepted.
  const ok = decompress(handMade(13, [0x08, 0x61, 0x62, 0x63, 0x61 ^ 0x62, 0x00]), MAX);
  t.equal(ok.subarray(8).toString('latin1'), 'abcab');
});

t.test('an uncompressed size below 8 or above the limit is rejected before allocating', async (t) => {
  t.equal(errorCode(() => decompress(handMade(7, [0x00, 0x61]), MAX)), 'IPC_ERR_COMPRESSION', 'size 7');
  t.equal(errorCode(() => decompress(handMade(0, []), MAX)), 'IPC_ERR_COMPRESSION', 'size 0');
  t.equal(errorCode(() => decompress(handMade(0xffffffff, [0x00, 0x61]), MAX)), 'IPC_ERR_TOO_LARGE', 'size 4 GiB');
  t.equal(errorCode(() => decompress(handMade(1025, [0x00, 0x61]), 1024)), 'IPC_ERR_TOO_LARGE', 'just above the limit');
});

t.test('a size of exactly 8 yields a bare header and a message not flagged compressed is rejected', async (t) => {
  t.equal(decompress(handMade(8, []), MAX).length, 8);
  const plain = Buffer.from((qCompressed[0] as (typeof qCompressed)[number]).message);
  plain[2] = 0;
  t.equal(errorCode(() => decompress(plain, MAX)), 'IPC_ERR_COMPRESSION', 'flag byte 0');
});

t.test('random garbage after a valid header throws IpcDecodeError or fills the stated size, never hangs', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 8, max: 5000 }), fc.uint8Array({ maxLength: 600 }), (size, stream) => {
    try {
      return decompress(handMade(size, [...stream]), MAX).length === size;
    } catch (err) {
      return err instanceof IpcDecodeError && err.code === 'IPC_ERR_COMPRESSION';
    }
  }), { numRuns: 2000 });
  t.pass('2000 garbage streams');
});
