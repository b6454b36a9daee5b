// The byte-assembly path must give exactly what the encoder gives for the same update: the journal
// record of (`upd;t;x) and the published (`upd;t;table), stamped or not, one row or many.
import t from 'tap';
import fc from 'fast-check';
import { encodeMessage, encodePayload, list, MsgType, sym, table, timespan, vector } from '../../src/ipc/index.js';
import type { QValue, QVector } from '../../src/ipc/index.js';
import { journalRecord, publishedMessage, tablePrefixes } from '../../src/tick/wire.js';
import { readUpdate } from '../../src/tick/update.js';
import type { TableSchema } from '../../src/tick/schema.js';

const schema: TableSchema = { name: 'trade', columns: ['time', 'sym', 'price', 'size', 'cond'], types: [16, 11, 9, 6, 10] };
const prefixes = tablePrefixes(schema.name, schema.columns);
const oracleRecord = (x: QValue): Buffer => encodePayload(list(sym('upd'), sym('trade'), x));
const oracleMessage = (cols: QValue[]): Buffer =>
  encodeMessage(list(sym('upd'), sym('trade'), table([...schema.columns], cols)), MsgType.Async);

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
    const raw = encodePayload(x);
    const u = readUpdate(schema, x, () => r.time);
    const stamp = withTime ? undefined : { time: r.time, single: true, count: 1 };
    t.equal(journalRecord(prefixes, raw, stamp).toString('hex'), oracleRecord(u.logged()).toString('hex'));
    t.equal(publishedMessage(prefixes, raw, x, schema.types, stamp)?.toString('hex'), oracleMessage(u.columns()).toString('hex'));
  }), { numRuns: 300 });
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
    const raw = encodePayload(x);
    const u = readUpdate(schema, x, () => 5n);
    const stamp = withTime ? undefined : { time: 5n, single: false, count: n };
    t.equal(journalRecord(prefixes, raw, stamp).toString('hex'), oracleRecord(u.logged()).toString('hex'));
    t.equal(publishedMessage(prefixes, raw, x, schema.types, stamp)?.toString('hex'), oracleMessage(u.columns()).toString('hex'));
  }), { numRuns: 200 });
});

t.test('a column the tickerplant had to convert falls back to encoding', async (t) => {
  // node-q sends symbol lists as general lists of symbol atoms: the published bytes differ from the feed's.
  const x = list(
    { type: 16, attr: 0, data: BigInt64Array.from([1n, 2n]) },
    list(sym('A'), sym('B')),
    { type: 9, attr: 0, data: Float64Array.from([1, 2]) },
    { type: 6, attr: 0, data: Int32Array.from([1, 2]) },
    { type: 10, attr: 0, data: Uint8Array.from([65, 66]) },
  );
  t.equal(publishedMessage(prefixes, encodePayload(x), x, schema.types, undefined), undefined);
});
