// The tickerplant's hot path and publishing at the unit level: an update taken from the feed's bytes is
// journaled and published exactly as the decoded one; what the in-place walk does not accept is left to
// the decoding path; one subscriber whose delivery throws costs the others nothing.
import t from 'tap';
import type { Test } from 'tap';
import fs, { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, localAt } from '../../src/clock.js';
import {
  encodeMessage, float, floats, formatQDate, int, ints, list, MsgType, readUpdHead, sym, symbols, timespan, timespans,
} from '../../src/ipc/index.js';
import type { QValue, UpdHead } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { updRecord } from '../../src/journal/index.js';
import { parseSchema } from '../../src/tick/schema.js';
import { Tickerplant } from '../../src/tick/tickerplant.js';
import type { Subscriber, TickEvent } from '../../src/tick/index.js';
import { disk } from '../helpers/disk.js';
import { LogSink, T0 } from '../helpers/tp.js';

const SCHEMAS = parseSchema('trade:([]time:`timespan$();sym:`symbol$();price:`float$();size:`int$())', 'test.q');

function plant(t: Test, dir?: string, sink = new LogSink()): Tickerplant {
  const tp = new Tickerplant({ schemas: SCHEMAS, clock: new ManualClock(T0, 0), log: createLogger('debug', sink), ...(dir ? { logDir: dir } : {}) });
  t.teardown(() => tp.close());
  return tp;
}

class Spy implements Subscriber {
  readonly got: TickEvent[] = [];
  constructor(readonly handle: number) {}
  deliver(e: TickEvent): void { this.got.push(e); }
}

const journalOf = (dir: string): Buffer => readFileSync(join(dir, readdirSync(dir)[0] as string));

const updates: Array<[string, QValue]> = [
  ['one row with its time', list(timespan(5n), sym('IBM'), float(1.5), int(10))],
  ['one row, stamped', list(sym('IBM'), float(1.5), int(10))],
  ['columns with their time', list(timespans([1n, 2n]), symbols(['IBM', 'MSFT']), floats([1, 2]), ints([3, 4]))],
  ['columns, stamped', list(symbols(['IBM', 'MSFT']), floats([1, 2]), ints([3, 4]))],
];

t.test('an update taken from the feed\'s bytes is journaled and published exactly as the decoded one', async (t) => {
  for (const [name, x] of updates) {
    const dirA = t.testdir(); const dirB = t.testdir();
    const viaBytes = plant(t, dirA); const viaValue = plant(t, dirB);
    const a = new Spy(1); const b = new Spy(1);
    viaBytes.sub(a, 'trade', null);
    viaValue.sub(b, 'trade', null);
    const msg = encodeMessage(list(sym('.u.upd'), sym('trade'), x), MsgType.Async);
    const head: UpdHead = { table: '', xAt: 0 };
    t.ok(readUpdHead(msg, head), `${name}: the head is read`);
    t.ok(viaBytes.updBytes(msg, head, false), `${name}: taken from its bytes`);
    viaValue.upd('trade', x);
    viaBytes.flushJournal(); viaValue.flushJournal();
    t.equal(journalOf(dirA).toString('hex'), journalOf(dirB).toString('hex'), `${name}: the same journal`);
    const ea = a.got[0]; const eb = b.got[0];
    if (ea?.kind !== 'upd' || eb?.kind !== 'upd') { t.fail(`${name}: no update published`); continue; }
    t.equal(ea.message.plain.toString('hex'), eb.message.plain.toString('hex'), `${name}: the same published bytes`);
    t.same(ea.columns(), eb.columns(), `${name}: the same columns for renderers`);
    t.equal(viaBytes.i, 1, `${name}: .u.i counts it`);
    t.same(viaBytes.stats, viaValue.stats, `${name}: the same counters`);
  }
});

t.test('an update the in-place walk does not accept is left, untouched, to the decoding path', async (t) => {
  const dir = t.testdir();
  const tp = plant(t, dir);
  const s = new Spy(1);
  tp.sub(s, 'trade', null);
  const head: UpdHead = { table: '', xAt: 0 };
  // node-q sends the sym column as a general list of symbols; a float where an int belongs; unknown table.
  const refused: QValue[] = [
    list(timespans([1n]), list(sym('IBM')), floats([1]), ints([2])),
    list(timespan(1n), sym('IBM'), float(1), float(2)),
  ];
  for (const x of refused) {
    const msg = encodeMessage(list(sym('.u.upd'), sym('trade'), x), MsgType.Async);
    t.ok(readUpdHead(msg, head));
    t.notOk(tp.updBytes(msg, head, false));
  }
  const other = encodeMessage(list(sym('.u.upd'), sym('quote'), updates[0]?.[1] as QValue), MsgType.Async);
  t.ok(readUpdHead(other, head));
  t.notOk(tp.updBytes(other, head, false), 'an unknown table');
  t.equal(tp.stats.updates, 0, 'nothing counted');
  t.equal(s.got.length, 0, 'nothing published');
  t.equal(tp.i, 0, 'nothing journaled');
  t.throws(() => tp.upd('trade', refused[1] as QValue), { message: 'type' }, 'the decoding path raises q\'s error');
  t.equal(tp.stats.badUpdates, 1, 'and the tickerplant counts it');
});

t.test('a subscriber whose delivery throws is dropped and logged once; the others still get every row', async (t) => {
  const sink = new LogSink();
  const tp = plant(t, undefined, sink);
  const before = new Spy(4); const after = new Spy(6);
  tp.sub(before, 'trade', null);
  tp.sub({ handle: 5, deliver: () => { throw new TypeError('Do not know how to serialize a BigInt'); } }, 'trade', null);
  tp.sub(after, 'trade', new Set(['IBM']));
  for (let i = 0; i < 3; i++) {
    const msg = encodeMessage(list(sym('.u.upd'), sym('trade'), updates[0]?.[1] as QValue), MsgType.Async);
    const head: UpdHead = { table: '', xAt: 0 };
    readUpdHead(msg, head);
    tp.updBytes(msg, head, false);
  }
  tp.upd('trade', updates[1]?.[1] as QValue);
  t.equal(before.got.length, 4);
  t.equal(after.got.length, 4, 'the subscriber after the broken one got every row');
  t.equal(tp.w.count('trade'), 2, 'the broken subscriber left .u.w');
  const lines = sink.lines.filter((l) => l['msg'] === 'subscriber dropped: delivery failed');
  t.equal(lines.length, 1, 'one log line');
  t.equal(lines[0]?.['h'], 5);
});

t.test('every stamp is the local time of day of its own instant: across an offset change, midnight and a clock moved back', async (t) => {
  const HOUR = 3_600_000_000_000n;
  const D0 = T0 - (T0 % (24n * HOUR)); // midnight UTC of T0's day
  // The offset goes from +0 to +60 min at 22:45 UTC (zones change on a quarter-hour: Adelaide's at 16:30 UTC).
  const shift = D0 + 22n * HOUR + 45n * 60_000_000_000n;
  let now = D0 + 22n * HOUR;
  const timer = { cancel(): void {}, unref() { return timer; } };
  const clock = { nowNanos: () => now, offsetMinutes: (utc: bigint) => (utc >= shift ? 60 : 0), after: () => timer, every: () => timer };
  const tp = new Tickerplant({ schemas: SCHEMAS, clock, log: createLogger('silent', new LogSink()) });
  t.teardown(() => tp.close());
  const s = new Spy(1);
  tp.sub(s, 'trade', null);
  const instants = [D0 + 22n * HOUR + 5n, D0 + 22n * HOUR + 7n * 60_000_000_000n, shift - 1n, shift, shift + 1n,
    D0 + 24n * HOUR - 1n, D0 + 24n * HOUR + 30n, D0 + 20n * HOUR, D0 + 20n * HOUR + 1n];
  for (const [k, at] of instants.entries()) {
    now = at;
    const x = list(sym('IBM'), float(k), int(k));
    if (k % 2 === 0) {
      const msg = encodeMessage(list(sym('.u.upd'), sym('trade'), x), MsgType.Async);
      const head: UpdHead = { table: '', xAt: 0 };
      t.ok(readUpdHead(msg, head) && tp.updBytes(msg, head, false), `update ${k} taken from its bytes`);
    } else {
      tp.upd('trade', x);
    }
    const e = s.got.at(-1);
    const stamp = e?.kind === 'upd' ? (e.columns()[0] as { data: BigInt64Array }).data[0] : undefined;
    t.equal(stamp, localAt(clock, at).timeOfDay, `update ${k} (${k % 2 === 0 ? 'from its bytes' : 'decoded'}): stamped with its own local time`);
  }
});

t.test('a message delivered to group after group stays intact while the same publish cuts many others', async (t) => {
  // One 1,000-row update, 40 filters that each split it (40 messages of ~17 KB: more than a 256 KiB slab
  // region), the whole-update message delivered first to a ` subscriber that does not hold its region
  // and last to a filter that selects every row.
  const tp = plant(t);
  const names = Array.from({ length: 40 }, (_, i) => `S${i}`);
  let first: Buffer | undefined;
  let last: Buffer | undefined;
  tp.sub({ handle: 1, deliver: (e) => { if (e.kind === 'upd') first = Buffer.from(e.message.plain); } }, 'trade', null);
  for (let j = 0; j < names.length; j++) tp.sub({ handle: 2 + j, deliver: () => {} }, 'trade', new Set(names.filter((_, i) => i !== j)));
  tp.sub({ handle: 100, deliver: (e) => { if (e.kind === 'upd') last = Buffer.from(e.message.plain); } }, 'trade', new Set(names));
  const n = 1000;
  for (let round = 0; round < 3; round++) {
    const x = list(symbols(Array.from({ length: n }, (_, i) => names[i % names.length] as string)),
      floats(Float64Array.from({ length: n }, (_, i) => i + round)), ints(Int32Array.from({ length: n }, (_, i) => i * 7 + round)));
    const b = encodeMessage(list(sym('.u.upd'), sym('trade'), x), MsgType.Async);
    const head: UpdHead = { table: '', xAt: 0 };
    t.ok(readUpdHead(b, head));
    first = last = undefined;
    t.ok(tp.updBytes(b, head, false), 'the in-place path takes it');
    const [a, z] = [first as Buffer | undefined, last as Buffer | undefined];
    t.ok(a !== undefined && z !== undefined && a.equals(z), `round ${round}: the last group gets the bytes the first did`);
  }
});

t.test('the journal reaches the file by the end of the turn in one write, and after a barrier flush the turn\'s end writes nothing', async (t) => {
  const dir = t.testdir();
  const writes: number[] = [];
  const io = {
    writeSync: (fd: number, buf: Buffer, off: number, n: number): number => { writes.push(n); return fs.writeSync(fd, buf, off, n); },
    fdatasyncSync: (fd: number): void => fs.fdatasyncSync(fd),
    ftruncateSync: (fd: number, n: number): void => fs.ftruncateSync(fd, n),
  };
  const tp = new Tickerplant({ schemas: SCHEMAS, clock: new ManualClock(T0, 0), log: createLogger('silent'), logDir: dir, journalIo: io });
  t.teardown(() => tp.close());
  const head: UpdHead = { table: '', xAt: 0 };
  const msg = encodeMessage(list(sym('.u.upd'), sym('trade'), list(sym('IBM'), float(1.5), int(10))), MsgType.Async);
  const header = journalOf(dir).length;
  const opened = writes.length; // the journal's header, if the file was new
  t.ok(readUpdHead(msg, head) && tp.updBytes(msg, head, false), 'taken from its bytes');
  t.ok(tp.updBytes(msg, head, false), 'and a second in the same turn');
  t.equal(journalOf(dir).length, header, 'staged, not yet written');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.ok(journalOf(dir).length > header, 'written by the end of the turn, with no barrier');
  t.equal(writes.length, opened + 1, 'both records in one write');
  t.ok(tp.updBytes(msg, head, false), 'a third update');
  tp.flushJournal();
  t.equal(writes.length, opened + 2, 'the barrier writes it');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.equal(writes.length, opened + 2, 'and the turn\'s end has nothing left to write');
  t.equal(tp.i, 3, 'all three published');
});

t.test('batch mode (-t) takes a vector into an untyped column as zero-latency mode does: journaled once, published whole', async (t) => {
  const news = parseSchema('news:([]time:`timespan$();sym:`symbol$();headline:())', 'news.q');
  const dir = t.testdir();
  const tp = new Tickerplant({ schemas: news, clock: new ManualClock(T0, 0), log: createLogger('silent'), logDir: dir, batchMs: 1000 });
  t.teardown(() => tp.close());
  const spy = new Spy(7);
  tp.sub(spy, 'news', null);
  tp.upd('news', list(symbols(['A', 'B']), symbols(['h1', 'h2'])), true);
  tp.upd('news', list(sym('C'), list(sym('h3'))), true);
  tp.flushJournal();
  t.equal(tp.j, 2, 'both taken');
  t.equal(tp.journalStats()?.records, 2, 'and journaled once each');
  tp.flushBatch();
  const upd = spy.got.find((e) => e.kind === 'upd');
  const cols = upd?.kind === 'upd' ? upd.columns() : [];
  t.same(cols.map((c) => (c.type === 0 ? c.items.length : c.data.length / (c.type === 2 ? 16 : 1))), [3, 3, 3], 'every column has every row');
  t.same(cols[2], list(sym('h1'), sym('h2'), list(sym('h3'))));
});

t.test('adoptDate: an empty day takes the day before (journal and .u.L move with it), no other date, and not once it holds a record', async (t) => {
  const dir = t.testdir();
  const tp = new Tickerplant({ schemas: SCHEMAS, clock: new ManualClock(T0, 0), log: createLogger('silent'), logDir: dir, followUpstream: true });
  t.teardown(() => tp.close());
  const d = tp.d;
  t.equal(tp.adoptDate(d - 2), false, 'two days back: refused');
  t.equal(tp.adoptDate(d), false);
  t.equal(tp.adoptDate(d - 1), true);
  t.equal(tp.d, d - 1);
  t.equal(tp.logFile, join(dir, `sym${formatQDate(d - 1)}`));
  const x = list(timespan(5n), sym('IBM'), float(1.5), int(10));
  tp.appendRecord('trade', x, updRecord('trade', x));
  tp.flushJournal();
  t.equal(tp.journalStats()?.records, 1);
  t.equal(tp.adoptDate(d - 2), false, 'the day holds a record now');
  t.equal(tp.d, d - 1);
});

t.test('a subscription to no sym (`$() or ()) is sent nothing, as u.q sends only what sel keeps', async (t) => {
  const tp = plant(t);
  const none = new Spy(3);
  const all = new Spy(4);
  tp.sub(none, 'trade', new Set());
  tp.sub(all, 'trade', null);
  tp.upd('trade', list(sym('IBM'), float(1.5), int(10)));
  tp.upd('trade', list(symbols(['IBM', 'MSFT']), floats([1, 2]), ints([3, 4])));
  t.equal(all.got.filter((e) => e.kind === 'upd').length, 2);
  t.same(none.got, [], 'nothing, not an empty table');
});

t.test('close says whether the journal took its last records, in batch mode too (whose last flush withdraws them before the file is closed)', async (t) => {
  for (const batchMs of [0, 1000]) {
    const full = disk('write ENOSPC');
    const mk = (): Tickerplant => new Tickerplant({ schemas: SCHEMAS, clock: new ManualClock(T0, 0), log: createLogger('silent'), logDir: t.testdir(), journalIo: full.io, batchMs });
    const clean = mk();
    clean.upd('trade', list(sym('IBM'), float(1.5), int(10)));
    t.equal(clean.close(), true, `batch ${batchMs}: the disk took everything`);
    const refusing = mk();
    refusing.upd('trade', list(sym('IBM'), float(1.5), int(10)));
    full.failing = true; // the disk fills before the turn's end
    t.equal(refusing.close(), false, `batch ${batchMs}: its last record was not written`);
  }
});

t.test("the ended day's record count is what its journal kept: a last flush the disk refused is not counted", async (t) => {
  const full = disk('write ENOSPC');
  const tp = new Tickerplant({ schemas: SCHEMAS, clock: new ManualClock(T0, 0), log: createLogger('silent'), logDir: t.testdir(), journalIo: full.io });
  t.teardown(() => tp.close());
  tp.upd('trade', list(sym('IBM'), float(1.5), int(10)));
  tp.flushJournal();
  tp.upd('trade', list(sym('MSFT'), float(2.5), int(20))); // staged; the day ends before the turn does
  full.failing = true;
  tp.endOfDay();
  t.same(tp.endedDay, { date: tp.d - 1, records: 1 }, 'the one record on disk, not the withdrawn second');
});
