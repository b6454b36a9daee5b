// The byte layout of the hot path must give exactly what the encoder gives for the same update: the
// journal record of (`upd;t;x) and the published (`upd;t;table), stamped or not, one row or many; and
// anything the in-place walk does not accept must be left to the decoder, never misread.
import t from 'tap';
import fc from 'fast-check';
import { encodeMessage, encodePayload, list, MsgType, str, sym, table, timespan, vector } from '../../src/ipc/index.js';
import type { QValue, QVector } from '../../src/ipc/index.js';
import {
  journalRecordBytes, publishedBytes, publishedRowsBytes, readUpdHead, readUpdShape, singleSym, Slab, SlabRegion,
  SymbolCache, symbolStarts, tablePrefixes, updShape, vectorSyms, writeJournalRecord, writePublished, writePublishedRows,
} from '../../src/ipc/layout.js';
import type { UpdHead } from '../../src/ipc/layout.js';
import { take } from '../../src/tick/columns.js';
import { readUpdate } from '../../src/tick/update.js';
import { symbolText, VECTOR_TYPES, vectorOf } from '../helpers/arbitrary.js';
import type { TableSchema } from '../../src/tick/schema.js';

const schema: TableSchema = { name: 'trade', columns: ['time', 'sym', 'price', 'size', 'cond'], types: [16, 11, 9, 6, 10] };
const prefixes = tablePrefixes(schema.name, schema.columns);
const oracleRecord = (x: QValue): Buffer => encodePayload(list(sym('upd'), sym('trade'), x));
const oracleMessage = (cols: QValue[]): Buffer =>
  encodeMessage(list(sym('upd'), sym('trade'), table([...schema.columns], cols)), MsgType.Async);

/** A feed's message (`.u.upd;`trade;x) and what the layout makes of it. */
function viaLayout(x: QValue, time: bigint, name: QValue = sym('.u.upd')): { record: Buffer; message: Buffer; syms: string[] } | undefined {
  const b = encodeMessage(list(name, sym('trade'), x), MsgType.Async);
  const head: UpdHead = { table: '', xAt: 0 };
  if (!readUpdHead(b, head)) return undefined;
  if (head.table !== 'trade') throw new Error(`table ${head.table}`);
  const shape = updShape();
  if (!readUpdShape(b, head.xAt, schema.types, shape)) return undefined;
  const record = Buffer.alloc(journalRecordBytes(prefixes, b, shape));
  t.equal(writeJournalRecord(record, 0, prefixes, b, shape, time), record.length, 'the record fills its computed size');
  const message = Buffer.alloc(publishedBytes(prefixes, b, shape));
  t.equal(writePublished(message, 0, prefixes, b, shape, time), message.length, 'the message fills its computed size');
  return { record, message, syms: shape.single ? [singleSym(b, shape)] : vectorSyms(b, shape) };
}

const row = fc.record({
  time: fc.bigInt({ min: 0n, max: 86_399_999_999_999n }),
  sym: fc.stringMatching(/^[A-Z]{1,5}$/),
  price: fc.double({ noNaN: true }),
  size: fc.integer({ min: -2_147_483_647, max: 2_147_483_647 }),
  cond: fc.integer({ min: 32, max: 126 }).map((c) => String.fromCharCode(c)),
});

t.test('one-row updates assemble to the encoder\'s bytes, with and without a time column', async (t) => {
  fc.assert(fc.property(row, fc.boolean(), (r, withTime) => {
    const atoms: QValue[] = [sym(r.sym), { type: -9, value: r.price }, { type: -6, value: r.size }, { type: -10, value: r.cond }];
    const x = list(...(withTime ? [timespan(r.time), ...atoms] : atoms));
    const u = readUpdate(schema, x, () => r.time);
    const got = viaLayout(x, r.time);
    if (!got) throw new Error('a well-typed row was not accepted');
    t.equal(got.record.toString('hex'), oracleRecord(u.logged()).toString('hex'));
    t.equal(got.message.toString('hex'), oracleMessage(u.columns()).toString('hex'));
    t.same(got.syms, [r.sym]);
  }), { numRuns: 200 });
});

t.test('column updates assemble to the encoder\'s bytes, with and without a time column', async (t) => {
  fc.assert(fc.property(fc.array(row, { minLength: 1, maxLength: 20 }), fc.boolean(), (rs, withTime) => {
    const n = rs.length;
    const col = (type: 16 | 9 | 6 | 10, f: (i: number) => number | bigint): QVector => {
      const v = vector(type, n);
      for (let i = 0; i < n; i++) (v.data as unknown as Array<number | bigint>)[i] = f(i);
      return v;
    };
    const cols: QValue[] = [
      { type: 11, attr: 0, data: rs.map((r) => r.sym) },
      col(9, (i) => rs[i]?.price ?? 0), col(6, (i) => rs[i]?.size ?? 0),
      col(10, (i) => (rs[i]?.cond ?? ' ').charCodeAt(0)),
    ];
    const x = list(...(withTime ? [col(16, (i) => rs[i]?.time ?? 0n), ...cols] : cols));
    const u = readUpdate(schema, x, () => 5n);
    const got = viaLayout(x, 5n);
    if (!got) throw new Error('well-typed columns were not accepted');
    t.equal(got.record.toString('hex'), oracleRecord(u.logged()).toString('hex'));
    t.equal(got.message.toString('hex'), oracleMessage(u.columns()).toString('hex'));
    t.same(got.syms, rs.map((r) => r.sym));
  }), { numRuns: 100 });
});

// A table with a column of every type the walk accepts (a second symbol column among them), for the
// filtered publish: a subset of rows spliced from the feed's bytes must be what u.q's sel gives, encoded.
const wide: TableSchema = {
  name: 'trade', columns: ['time', 'sym', ...VECTOR_TYPES.map((ty) => `c${ty}`)], types: [16, 11, ...VECTOR_TYPES],
};
const widePrefixes = tablePrefixes(wide.name, wide.columns);

t.test('a subset of rows spliced from the feed\'s bytes is the encoder\'s message of those rows taken, for every column type', async (t) => {
  const update = fc.integer({ min: 1, max: 20 }).chain((n) => fc.record({
    n: fc.constant(n),
    cols: fc.tuple(...wide.types.map((ty) => vectorOf(ty as (typeof VECTOR_TYPES)[number], { minLength: n, maxLength: n }))),
    idx: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }).map((a) => a.sort((x, y) => x - y)),
    withTime: fc.boolean(),
    time: fc.bigInt({ min: 0n, max: 86_399_999_999_999n }),
  }));
  fc.assert(fc.property(update, ({ cols, idx, withTime, time }) => {
    const x = list(...(withTime ? cols : cols.slice(1)));
    const b = encodeMessage(list(sym('.u.upd'), sym('trade'), x), MsgType.Async);
    const head: UpdHead = { table: '', xAt: 0 };
    if (!readUpdHead(b, head)) throw new Error('head not read');
    const shape = updShape();
    if (!readUpdShape(b, head.xAt, wide.types, shape)) throw new Error('a well-typed update was not accepted');
    const sel = Int32Array.from(idx);
    const starts: Array<Int32Array | undefined> = [new Int32Array(1)]; // too short: symbolStarts must grow it
    symbolStarts(b, shape, starts);
    const got = Buffer.alloc(publishedRowsBytes(widePrefixes, b, shape, starts, sel, sel.length));
    t.equal(writePublishedRows(got, 0, widePrefixes, b, shape, starts, sel, sel.length, time), got.length, 'the message fills its computed size');
    const u = readUpdate(wide, x, () => time);
    const want = encodeMessage(list(sym('upd'), sym('trade'), table([...wide.columns], u.columns().map((c) => take(c, sel, sel.length)))), MsgType.Async);
    // false lets fast-check shrink to the smallest update that differs (and report it)
    return got.toString('hex') === want.toString('hex');
  }), { numRuns: 300 });
  t.pass('300 updates and subsets spliced as the encoder writes them');
});

t.test('symbols read through the cache are the decoder\'s strings, however often they repeat or collide', async (t) => {
  const cache = new SymbolCache();
  fc.assert(fc.property(fc.array(fc.oneof(symbolText, fc.stringMatching(/^[A-Z]{1,30}$/)), { minLength: 1, maxLength: 50 }), (syms) => {
    const bytes = syms.map((x) => Buffer.from(x + '\0', 'utf8'));
    // Twice over, the second time from other buffers: a hit must compare the bytes, not the position.
    const read = (): string[] => bytes.map((b) => cache.text(Buffer.from(b), 0, b.length - 1));
    const first = read();
    const again = read();
    return first.every((x, i) => x === syms[i]) && again.every((x, i) => x === syms[i]);
  }), { numRuns: 300 });
  // 10,000 distinct tickers through 4,096 slots: collisions evict, never answer for another symbol.
  const many = Array.from({ length: 10_000 }, (_, i) => `T${i}`);
  const wrong = many.filter((x) => cache.text(Buffer.from(x, 'latin1'), 0, x.length) !== x).length;
  t.equal(wrong, 0, 'every symbol read back as itself');
  t.equal(many.filter((x) => cache.text(Buffer.from(x, 'latin1'), 0, x.length) !== x).length, 0, 'and again, after evictions');
});

t.test('the update head is read as tick.q feeds and chained TPs send it: `.u.upd or `upd, symbol or string', async (t) => {
  const x = list(sym('IBM'), { type: -9, value: 1 }, { type: -6, value: 2 }, { type: -10, value: 'a' });
  for (const name of [sym('.u.upd'), sym('upd'), str('.u.upd'), str('upd')]) t.ok(viaLayout(x, 1n, name), JSON.stringify(name));
  for (const name of [sym('.u.updx'), sym('up'), str('.u.up'), sym('sub')]) t.equal(viaLayout(x, 1n, name), undefined, JSON.stringify(name));
  const head: UpdHead = { table: '', xAt: 0 };
  t.notOk(readUpdHead(encodeMessage(list(sym('.u.upd'), sym('trade')), MsgType.Async), head), 'a 2-item list');
  t.notOk(readUpdHead(encodeMessage(list(sym('.u.upd'), str('trade'), x), MsgType.Async), head), 'a table named by a string');
});

t.test('what the walk does not accept is left to the decoder: conversions, wrong types, lengths, truncation', async (t) => {
  const good = [{ type: 16, attr: 0, data: BigInt64Array.from([1n, 2n]) }, { type: 11, attr: 0, data: ['A', 'B'] },
    { type: 9, attr: 0, data: Float64Array.from([1, 2]) }, { type: 6, attr: 0, data: Int32Array.from([1, 2]) },
    { type: 10, attr: 0, data: Uint8Array.from([65, 66]) }] as QValue[];
  t.ok(viaLayout(list(...good), 0n), 'the well-typed update is accepted');
  // node-q sends symbol lists as general lists of symbol atoms: converted by the decoding path.
  t.equal(viaLayout(list(good[0] as QValue, list(sym('A'), sym('B')), ...good.slice(2)), 0n), undefined, 'a general list of symbols');
  t.equal(viaLayout(list(...good.slice(0, 4)), 0n), undefined, 'a column short');
  t.equal(viaLayout(list(...good, good[4] as QValue), 0n), undefined, 'a column too many');
  t.equal(viaLayout(list(good[0] as QValue, good[1] as QValue, good[3] as QValue, good[3] as QValue, good[4] as QValue), 0n), undefined, 'an int column where floats belong');
  t.equal(viaLayout(list(good[0] as QValue, good[1] as QValue, { type: 9, attr: 0, data: Float64Array.from([1]) }, good[3] as QValue, good[4] as QValue), 0n),
    undefined, 'columns of different lengths');
  t.equal(viaLayout(list(sym('A'), { type: -9, value: 1 }, { type: -6, value: 2 }, { type: 10, attr: 0, data: Uint8Array.from([65]) }), 0n),
    undefined, 'a vector among the atoms of one row');
  const b = encodeMessage(list(sym('.u.upd'), sym('trade'), list(...good)), MsgType.Async);
  const head: UpdHead = { table: '', xAt: 0 };
  t.ok(readUpdHead(b, head));
  const shape = updShape();
  for (const cut of [1, 5, 9, 17]) {
    t.notOk(readUpdShape(b.subarray(0, b.length - cut), head.xAt, schema.types, shape), `${cut} bytes short`);
  }
  const longer = Buffer.concat([b, Buffer.from([0])]);
  t.notOk(readUpdShape(longer, head.xAt, schema.types, shape), 'a byte left over');
  const schemaOf = { ...schema, types: [16, 11, 9, 6, 0] };
  t.notOk(readUpdShape(b, head.xAt, schemaOf.types, shape), 'an untyped schema column');
  void encodePayload;
});

t.test('a slab region is written again only once it is retired and no holder holds it', async (t) => {
  const slab = new Slab(1024);
  // n bytes as the tickerplant cuts them: from a region, or a buffer of their own when large.
  const take = (n: number): Buffer => {
    const at = slab.reserve(n);
    return at < 0 ? Buffer.alloc(n) : (slab.last as SlabRegion).buf.subarray(at, at + n);
  };
  const first = take(100);
  const region = slab.last as SlabRegion;
  t.ok(region, 'a small take is cut from a region');
  first.fill(7);
  region.hold();
  const regions = new Set<ArrayBufferLike>();
  for (let i = 0; i < 30; i++) { const b = take(100); b.fill(1); regions.add(b.buffer); }
  t.ok(region.retired, 'the full region is retired');
  t.equal(regions.size, 3, 'a region nobody holds is cut from again at once: 31 takes of 10 a region in 3 buffers');
  t.equal(slab.spareRegions, 1, 'the other waits for reuse');
  t.ok(first.every((b) => b === 7), 'the held region\'s bytes are untouched');
  region.release();
  t.equal(slab.spareRegions, 2, 'released, the region waits for reuse too');
  let reused = false;
  for (let i = 0; i < 40 && !reused; i++) reused = take(100).buffer === first.buffer;
  t.ok(reused, 'and is cut from again');
  t.equal(take(200).buffer === first.buffer, false, 'a take over an eighth of the region gets a buffer of its own');
  t.equal(slab.last, undefined, 'with no region');
});
