// npm run bench:codec — our codec against node-q's, same data, same process, same run.
// (a) a 10,000-row trade table (time timespan, sym symbol with 100 distinct values, price float,
//     size long); node-q cannot write tables, so its column dict is timed and the 2-byte table header
//     spliced on (checked byte-identical to ours). (b) 100,000 single-row (`upd;`trade;row) messages.
import { decodeMessage, encodeMessage, list, MsgType, sym, table } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { Long, nodeq, typed } from './node-q.js';
import { fmt, time } from './stats.js';

const ROWS = 10_000;
const MSGS = 100_000;
const limits = { maxMessageBytes: 1 << 30, maxDepth: 64 };

const symsPool = Array.from({ length: 100 }, (_, i) => `S${String(i).padStart(3, '0')}`);
const ms = Array.from({ length: ROWS }, (_, i) => 34_200_000 + i); // whole ms: node-q encodes timespans from Dates
const syms = Array.from({ length: ROWS }, (_, i) => symsPool[(i * 7) % 100] as string);
const prices = Array.from({ length: ROWS }, (_, i) => 100 + (i % 1000) / 8);
const sizes = Array.from({ length: ROWS }, (_, i) => (i % 500) * 100);

// ---- (a) table ----
const ours: QValue = table(['time', 'sym', 'price', 'size'], [
  { type: 16, attr: 0, data: BigInt64Array.from(ms, (m) => BigInt(m) * 1_000_000n) },
  { type: 11, attr: 0, data: syms },
  { type: 9, attr: 0, data: Float64Array.from(prices) },
  { type: 7, attr: 0, data: BigInt64Array.from(sizes, (s) => BigInt(s)) },
]);
const theirsDict = {
  time: typed.timespans(ms.map((m) => new Date(m))),
  sym: typed.symbols(syms),
  price: typed.floats(prices),
  size: typed.longs(sizes.map((s) => Long.fromNumber(s))),
};
function nodeqTable(): Buffer {
  const d = nodeq.serialize(theirsDict);
  const out = Buffer.allocUnsafe(d.length + 2);
  d.copy(out, 0, 0, 8);
  out[8] = 98; out[9] = 0;
  d.copy(out, 10, 8);
  out.writeInt32LE(out.length, 4);
  return out;
}
const tableMsg = encodeMessage(ours, MsgType.Async);
if (!nodeqTable().equals(tableMsg)) throw new Error('node-q and our table bytes differ: the comparison would be unfair');

const runs = 15;
const tOursEnc = time(() => { encodeMessage(ours, MsgType.Async); }, runs);
const tTheirsEnc = time(() => { nodeqTable(); }, runs);
const tOursDec = time(() => { decodeMessage(tableMsg, limits); }, runs);
// node-q's fastest decode (columns, raw nanos) and its default (row objects, Dates), both timed.
const tTheirsDecCols = time(() => { nodeq.deserialize(tableMsg, false, false); }, runs);
const tTheirsDecRows = time(() => { nodeq.deserialize(tableMsg); }, runs);

// ---- (b) single-row upd messages ----
const rowsOurs: QValue[] = Array.from({ length: MSGS }, (_, i) => list(sym('upd'), sym('trade'), list(
  { type: -16, value: BigInt(34_200_000 + i) * 1_000_000n },
  sym(symsPool[i % 100] as string),
  { type: -9, value: 100 + (i % 1000) / 8 },
  { type: -7, value: BigInt(i % 500) },
)));
const rowsTheirs = Array.from({ length: MSGS }, (_, i) => [
  typed.symbol('upd'), typed.symbol('trade'),
  [typed.timespan(new Date(34_200_000 + i)), typed.symbol(symsPool[i % 100] as string),
    typed.float(100 + (i % 1000) / 8), typed.long(Long.fromNumber(i % 500))],
]);
const updMsgs = rowsOurs.map((v) => encodeMessage(v, MsgType.Async));
const theirUpd = nodeq.serialize(rowsTheirs[0]);
if (!theirUpd.equals(updMsgs[0] as Buffer)) throw new Error('node-q and our upd bytes differ');
const updBytes = updMsgs.reduce((n, b) => n + b.length, 0);

const r = 5;
const uOursEnc = time(() => { for (const v of rowsOurs) encodeMessage(v, MsgType.Async); }, r, 1);
const uTheirsEnc = time(() => { for (const v of rowsTheirs) nodeq.serialize(v); }, r, 1);
const uOursDec = time(() => { for (const m of updMsgs) decodeMessage(m, limits); }, r, 1);
const uTheirsDec = time(() => { for (const m of updMsgs) nodeq.deserialize(m, false, false); }, r, 1);

const mb = (bytes: number, msTaken: number): string => (bytes / 1e6 / (msTaken / 1000)).toFixed(0);
const line = (name: string, msTaken: number, items: number, bytes: number, unit: string): string =>
  `${name.padEnd(46)} ${msTaken.toFixed(2).padStart(9)} ms ${fmt(items / (msTaken / 1000)).padStart(9)} ${unit}/s ${mb(bytes, msTaken).padStart(6)} MB/s`;

console.log(`codec benchmark on ${process.version}, ${new Date().toISOString()} (median of ${runs} / ${r} runs)`);
console.log(`(a) ${ROWS}-row trade table, ${tableMsg.length} bytes`);
console.log(line('ours   encode', tOursEnc, ROWS, tableMsg.length, 'rows'));
console.log(line('node-q encode (column dict + table header)', tTheirsEnc, ROWS, tableMsg.length, 'rows'));
console.log(line('ours   decode (columns)', tOursDec, ROWS, tableMsg.length, 'rows'));
console.log(line('node-q decode (columns, raw nanos)', tTheirsDecCols, ROWS, tableMsg.length, 'rows'));
console.log(line('node-q decode (default: row objects)', tTheirsDecRows, ROWS, tableMsg.length, 'rows'));
console.log(`(b) ${MSGS} single-row upd messages, ${updMsgs[0]?.length} bytes each`);
console.log(line('ours   encode', uOursEnc, MSGS, updBytes, 'msg'));
console.log(line('node-q encode', uTheirsEnc, MSGS, updBytes, 'msg'));
console.log(line('ours   decode', uOursDec, MSGS, updBytes, 'msg'));
console.log(line('node-q decode', uTheirsDec, MSGS, updBytes, 'msg'));
const x = (theirs: number, oursMs: number): number => Math.round((theirs / oursMs) * 100) / 100;
const result = {
  bench: 'codec',
  table_encode_x: x(tTheirsEnc, tOursEnc),
  table_decode_x: x(tTheirsDecCols, tOursDec),
  table_decode_vs_rows_x: x(tTheirsDecRows, tOursDec),
  upd_encode_x: x(uTheirsEnc, uOursEnc),
  upd_decode_x: x(uTheirsDec, uOursDec),
  table_encode_rows_per_s: Math.round(ROWS / (tOursEnc / 1000)),
  table_decode_rows_per_s: Math.round(ROWS / (tOursDec / 1000)),
  upd_encode_msgs_per_s: Math.round(MSGS / (uOursEnc / 1000)),
  upd_decode_msgs_per_s: Math.round(MSGS / (uOursDec / 1000)),
};
console.log('ratios are node-q time / our time (goal: table >= 4x both ways, upd >= 5x)');
console.log(JSON.stringify(result));
