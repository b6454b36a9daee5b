// The decoder's work budget (src/ipc/decode.ts): decoding costs memory bounded by a multiple of the
// payload's bytes whatever its shape, and a compressed header is held to what its stream can expand to
// (src/ipc/compress.ts maxExpansion). Shapes feeds really send stay far under the budget.
import t from 'tap';
import { IpcDecodeError } from '../../src/errors.js';
import { compress, decompress, maxExpansion } from '../../src/ipc/compress.js';
import { decodeBudget, decodePayload, DECODE_BUDGET_FLOOR } from '../../src/ipc/decode.js';
import { decodeMessage, encodeMessage, encodePayload } from '../../src/ipc/index.js';
import { floats, ints, list, MsgType, sym, symbols, table, timespans } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';

/** A message (header included) whose payload is a general list of n `::` (type 101, index 0). */
function generalNulls(n: number): Buffer {
  const b = Buffer.alloc(8 + 6 + 2 * n);
  b[0] = 1;
  b.writeUInt32LE(b.length, 4);
  b[8] = 0; // general list
  b[9] = 0;
  b.writeInt32LE(n, 10);
  for (let i = 0; i < n; i++) b[14 + 2 * i] = 101;
  return b;
}

function code(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof IpcDecodeError ? e.code : String(e);
  }
}

t.test('a compressed list of 16M `::` (32 MiB from 1 MB on the wire) is refused at its header, before 16M objects exist', async (t) => {
  const n = 16 * 1024 * 1024;
  const plain = generalNulls(n);
  const wire = compress(plain) as Buffer;
  t.ok(wire.length < plain.length / 20, `${plain.length} bytes compress to ${wire.length}`);
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  t.equal(code(() => decodeMessage(wire, { maxMessageBytes: 256 << 20, maxDepth: 64 })), 'IPC_ERR_TOO_LARGE');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const grew = process.memoryUsage().heapUsed - heap0;
  t.ok(grew < 64 << 20, `the JS heap grew by ${(grew / 2 ** 20).toFixed(1)} MiB, not the ~800 MiB 16M objects need`);
  t.comment(`decompress + refuse: ${ms.toFixed(0)} ms`);
});

t.test('the same list uncompressed is refused too; one within the floor decodes', async (t) => {
  t.equal(code(() => decodePayload(generalNulls(4 << 20).subarray(8))), 'IPC_ERR_TOO_LARGE');
  const small = generalNulls(10_000).subarray(8);
  t.ok(48 * 10_000 < DECODE_BUDGET_FLOOR);
  const v = decodePayload(small);
  t.equal(v.type === 0 && v.items.length, 10_000, 'small messages are never refused for their shape');
});

t.test('columnar updates, string columns and journal-sized records stay under the budget', async (t) => {
  const rows = 200_000;
  const syms = Array.from({ length: rows }, (_, i) => ['AAPL', 'MSFT', 'IBM', 'GOOG'][i % 4] as string);
  const cols: QValue = list(timespans(new BigInt64Array(rows)), symbols(syms), floats(new Float64Array(rows)), ints(new Int32Array(rows)));
  const upd = encodeMessage(list(sym('.u.upd'), sym('trade'), cols), MsgType.Async);
  t.equal(code(() => decodeMessage(upd, { maxMessageBytes: 256 << 20, maxDepth: 64 })), 'ok', `${rows} rows as columns`);
  const strings: QValue = { type: 0, attr: 0, items: Array.from({ length: rows }, (_, i): QValue => ({ type: 10, attr: 0, data: Buffer.from(`ORD${i}`.padEnd(10, 'x')) })) };
  const withStrings = table(['sym', 'px', 'id'], [symbols(syms), floats(new Float64Array(rows)), strings]);
  const bytes = encodePayload(withStrings);
  t.equal(code(() => decodePayload(bytes)), 'ok', `a table with a 10-character string column (${bytes.length} bytes)`);
  const unique = symbols(Array.from({ length: rows }, (_, i) => `S${i}`));
  t.equal(code(() => decodePayload(encodePayload(unique))), 'ok', `${rows} distinct symbols`);
  t.equal(decodeBudget(1000), 8 * 1000 + DECODE_BUDGET_FLOOR, 'the documented budget: 8 × bytes + 1 MiB');
});

t.test('a compressed header claiming more than its stream can expand to is refused before allocating', async (t) => {
  const plain = generalNulls(100_000);
  const wire = compress(plain) as Buffer;
  t.same(decompress(wire, 1 << 30), plain, 'an honest claim expands');
  const lie = Buffer.from(wire);
  const claim = maxExpansion(lie.length) + 1;
  lie.writeUInt32LE(claim, 8);
  t.equal(code(() => decompress(lie, 1 << 30)), 'IPC_ERR_COMPRESSION', `${lie.length} bytes cannot hold ${claim}`);
  const most = Buffer.from(wire);
  most.writeUInt32LE(maxExpansion(most.length), 8);
  t.equal(code(() => decompress(most, 1 << 30)), 'IPC_ERR_COMPRESSION', 'at the bound the stream still runs out (corrupt, not allocated blindly)');
  t.ok(maxExpansion(12 + 17) >= 8 + 8 * 257, 'one full group of references is within the bound');
});
