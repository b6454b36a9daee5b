// Feed → tickerplant → subscribers with node-q on both sides, as q programs use kdb-tick (tick.q/u.q).
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { connect, nodeq } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { startTp, T0 } from '../helpers/tp.js';

type Row = Record<string, unknown>;
const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
const rowsOf = (c: QClient, table: string): Row[] =>
  c.updates.filter((u) => u.table === table).flatMap((u) => u.data as Row[]);
const symsOf = (rows: Row[]): string[] => rows.map((r) => String(r['sym']));

/** A trade row as a q feed sends it: (time;sym;price;size), time optional. */
function tradeRow(sym: string, price: number, size: number, withTime = true): unknown[] {
  const row = [s(sym), q['float']?.(price), q['int']?.(size)];
  return withTime ? [q['timespan']?.(new Date(36_000_000)), ...row] : row;
}

async function clients(t: Test, port: number, n: number): Promise<QClient[]> {
  const cs = await Promise.all(Array.from({ length: n }, () => connect({ port })));
  t.teardown(() => Promise.all(cs.map((c) => c.close())));
  return cs;
}

t.test('zero-latency: subscribers get exactly the rows their sym filters select', async (t) => {
  const tp = await startTp(t);
  const [feed, ibm, all, quotes] = await clients(t, tp.port, 4) as [QClient, QClient, QClient, QClient];
  const reply = await ibm.sync('.u.sub[`trade;`IBM`MSFT]') as unknown[];
  t.equal(reply[0], 'trade', 'the reply names the table');
  t.same(reply[1], [], 'the schema is an empty table');
  await all.sync('.u.sub', s(''), s(''));
  await quotes.sync('.u.sub[`quote;`]');
  feed.async('.u.upd', s('trade'), tradeRow('IBM', 100, 10));
  feed.async('.u.upd', s('trade'), tradeRow('AAPL', 200, 20));
  feed.async('.u.upd', s('trade'), tradeRow('MSFT', 300, 30));
  await feed.sync('');
  await all.waitFor(() => rowsOf(all, 'trade').length === 3);
  await ibm.waitFor(() => rowsOf(ibm, 'trade').length === 2);
  t.same(symsOf(rowsOf(ibm, 'trade')), ['IBM', 'MSFT'], 'the filtered subscriber sees IBM and MSFT only');
  t.same(symsOf(rowsOf(all, 'trade')), ['IBM', 'AAPL', 'MSFT'], 'the ` subscriber sees every row in order');
  t.equal(rowsOf(all, 'trade')[0]?.['price'], 100);
  t.equal(rowsOf(all, 'trade')[0]?.['size'], 10);
  t.equal(quotes.updates.length, 0, 'a quote subscriber gets no trades');
});

t.test('a multi-row update is split by the filters: each subscriber reads exactly its rows, stamped or not', async (t) => {
  const tp = await startTp(t);
  const [feed, ibm, aapl, all] = await clients(t, tp.port, 4) as [QClient, QClient, QClient, QClient];
  await ibm.sync('.u.sub[`trade;`IBM`MSFT]');
  await aapl.sync('.u.sub[`trade;`AAPL]');
  await all.sync('.u.sub[`trade;`]');
  const syms = ['IBM', 'AAPL', 'MSFT', 'IBM'];
  const cols = [q['symbols']?.(syms), q['floats']?.([1.5, 2.5, 3.5, 4.5]), q['ints']?.([10, 20, 30, 40])];
  // Typed vectors, as a q feed sends columns: the in-place path (no general lists to convert).
  feed.async('.u.upd', s('trade'), [q['timespans']?.(syms.map((_, i) => new Date(36_000_000 + i))), ...cols]);
  feed.async('.u.upd', s('trade'), cols);
  await feed.sync('');
  await ibm.waitFor(() => rowsOf(ibm, 'trade').length === 6);
  await aapl.waitFor(() => rowsOf(aapl, 'trade').length === 2);
  await all.waitFor(() => rowsOf(all, 'trade').length === 8);
  const got = rowsOf(ibm, 'trade');
  t.same(symsOf(got), ['IBM', 'MSFT', 'IBM', 'IBM', 'MSFT', 'IBM'], 'IBM and MSFT rows, in order, from both updates');
  t.same(got.map((r) => r['price']), [1.5, 3.5, 4.5, 1.5, 3.5, 4.5]);
  t.same(got.map((r) => r['size']), [10, 30, 40, 10, 30, 40]);
  const times = got.slice(0, 3).map((r) => r['time'] as Date);
  t.same(times.map((d) => d.getUTCHours() * 3_600_000 + d.getUTCMilliseconds()), [36_000_000, 36_000_002, 36_000_003], 'the feed\'s times, the rows\' own');
  t.same(ibm.updates.map((u) => (u.data as Row[]).length), [3, 3], 'one message per update');
  t.same(rowsOf(aapl, 'trade').map((r) => [r['sym'], r['price'], r['size']]), [['AAPL', 2.5, 20], ['AAPL', 2.5, 20]]);
  const stamped = rowsOf(all, 'trade').slice(4).map((r) => (r['time'] as Date).getTime());
  t.equal(new Set(stamped).size, 1, 'the update without times is stamped once, for all its rows');
  t.same(got.slice(3).map((r) => (r['time'] as Date).getTime()), stamped.slice(0, 3), 'the filtered rows carry the same stamp');
});

t.test('the time column is stamped by tick.q\'s rule when the feed leaves it out', async (t) => {
  const clock = new ManualClock(T0 + 3_600_000_000_000n, 0); // 10:30 UTC, -o 0
  const tp = await startTp(t, { clock });
  const [feed, sub] = await clients(t, tp.port, 2) as [QClient, QClient];
  await sub.sync('.u.sub[`trade;`]');
  await feed.sync('.u.upd', s('trade'), tradeRow('IBM', 1, 1, false));
  await sub.waitFor((u) => u.length === 1);
  const time = rowsOf(sub, 'trade')[0]?.['time'] as Date;
  t.equal(time.getUTCHours(), 10);
  t.equal(time.getUTCMinutes(), 30);
});

t.test('re-subscribing replaces the filter; disconnect removes the handle from .u.w', async (t) => {
  const tp = await startTp(t);
  const [feed, sub, other] = await clients(t, tp.port, 3) as [QClient, QClient, QClient];
  await sub.sync('.u.sub[`trade;`IBM]');
  await sub.sync('.u.sub[`trade;`AAPL]');
  await other.sync('.u.sub[`;`]');
  t.equal(await feed.sync('count .u.w'), 2, '.u.w has both tables');
  feed.async('.u.upd', s('trade'), tradeRow('IBM', 1, 1));
  feed.async('.u.upd', s('trade'), tradeRow('AAPL', 2, 2));
  await feed.sync('');
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 1);
  await other.waitFor(() => rowsOf(other, 'trade').length === 2);
  t.same(symsOf(rowsOf(sub, 'trade')), ['AAPL'], 'only the latest filter applies');
  t.equal(tp.tp.w.count('trade'), 2);
  await sub.close();
  await other.waitFor(() => true);
  for (let i = 0; i < 50 && tp.tp.w.count('trade') !== 1; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(tp.tp.w.count('trade'), 1, 'the closed handle left .u.w');
  t.equal(tp.tp.w.count('quote'), 1);
});

t.test('bad updates: q errors for sync, a log line for async, nothing published, the feed stays', async (t) => {
  const tp = await startTp(t);
  const [feed, sub] = await clients(t, tp.port, 2) as [QClient, QClient];
  await sub.sync('.u.sub[`;`]');
  await t.rejects(feed.sync('.u.upd', s('nosuch'), tradeRow('IBM', 1, 1)), { message: 'nosuch' });
  await t.rejects(feed.sync('.u.upd', s('trade'), [s('IBM'), q['float']?.(1)]), { message: 'length' });
  await t.rejects(feed.sync('.u.upd', s('trade'), [s('IBM'), s('x'), q['int']?.(1)]), { message: 'type' });
  await t.rejects(feed.sync('.u.upd', s('trade'),
    [[q['timespan']?.(new Date(0))], [s('A'), s('B')], [q['float']?.(1)], [q['int']?.(1)]]), { message: 'length' });
  feed.async('.u.upd', s('trade'), [s('IBM')]);
  await feed.sync('.u.upd', s('trade'), tradeRow('GOOD', 1, 1));
  await sub.waitFor((u) => u.length === 1);
  t.same(symsOf(rowsOf(sub, 'trade')), ['GOOD'], 'only the good update was published');
  t.equal(tp.tp.stats.badUpdates, 5);
});

t.test('sub to an unknown table is an error whose text is the table name', async (t) => {
  const tp = await startTp(t);
  const [c] = await clients(t, tp.port, 1) as [QClient];
  await t.rejects(c.sync('.u.sub[`nosuch;`]'), { message: 'nosuch' });
  await t.rejects(c.sync('.u.sub', s('nosuch'), s('')), { message: 'nosuch' });
  t.same(await c.sync('tables[]'), ['quote', 'trade']);
  t.same(await c.sync('.u.t'), ['quote', 'trade']);
});

t.test('r.q\'s exact string returns the schemas and (.u.i;.u.L) before any update', async (t) => {
  const dir = t.testdir();
  const tp = await startTp(t, { args: ['sym', dir] });
  const [feed, rdb] = await clients(t, tp.port, 2) as [QClient, QClient];
  await feed.sync('.u.upd', s('trade'), tradeRow('IBM', 1, 1));
  const reply = await rdb.sync('(.u.sub[`;`];`.u `i`L)') as unknown[];
  const tables = reply[0] as unknown[][];
  t.same(tables.map((x) => x[0]), ['quote', 'trade']);
  const point = reply[1] as unknown[];
  t.equal(point[0], 1, '.u.i counts the journaled update');
  t.equal(point[1], `:${join(dir, 'sym2024.01.02')}`, '.u.L is the journal file symbol');
  t.same(await rdb.sync('.u `i`L'), point);
  feed.async('.u.upd', s('trade'), tradeRow('IBM', 2, 2));
  await rdb.waitFor((u) => u.length === 1);
  t.equal(rdb.updates[0]?.table, 'trade');
});

t.test('batch mode buffers updates and publishes them together on the timer', async (t) => {
  const dir = t.testdir();
  const tp = await startTp(t, { args: ['sym', dir, '-t', '3600000'] });
  const [feed, sub] = await clients(t, tp.port, 2) as [QClient, QClient];
  await sub.sync('.u.sub[`trade;`IBM]');
  for (const x of ['IBM', 'AAPL', 'IBM']) feed.async('.u.upd', s('trade'), tradeRow(x, 1, 1));
  await feed.sync('');
  t.equal(sub.updates.length, 0, 'nothing is published before the timer');
  t.equal(await feed.sync('.u.j'), 3, '.u.j counts journaled updates');
  t.equal(await feed.sync('.u.i'), 0, '.u.i counts only published ones');
  tp.tp.tick();
  await sub.waitFor((u) => u.length === 1);
  t.same(symsOf(rowsOf(sub, 'trade')), ['IBM', 'IBM'], 'one message holds every IBM row since the last tick');
  t.equal(await feed.sync('.u.i'), 3, 'i := j after publishing');
});

t.test('end of day: .u.end with the old date to each subscriber once, and the journal rolls', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock(T0, 0);
  const tp = await startTp(t, { args: ['sym', dir], clock });
  const [feed, a, b] = await clients(t, tp.port, 3) as [QClient, QClient, QClient];
  await a.sync('.u.sub[`;`]');
  await b.sync('.u.sub[`trade;`IBM]');
  await feed.sync('.u.upd', s('trade'), tradeRow('IBM', 1, 1));
  clock.set(T0 + 15n * 3_600_000_000_000n); // 2024.01.03 00:30
  tp.tp.tick();
  const [ea, eb] = await Promise.all([a.nextPush(), b.nextPush()]) as [unknown[], unknown[]];
  t.equal(ea[0], '.u.end');
  t.equal((ea[1] as Date).toISOString().slice(0, 10), '2024-01-02', 'the old date');
  t.equal(eb[0], '.u.end');
  t.same(readdirSync(dir).sort(), ['sym2024.01.02', 'sym2024.01.03']);
  t.equal(await feed.sync('.u.i'), 0, 'a new day starts a new count');
  t.equal(await feed.sync('.u.L'), `:${join(dir, 'sym2024.01.03')}`);
});

t.test("end of day with the new journal unopenable: updates get 'journal, and .u.L and .u.i name the new day, never yesterday's", async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock(T0, 0);
  const tp = await startTp(t, { args: ['sym', dir], clock });
  const [feed] = await clients(t, tp.port, 1) as [QClient];
  for (let i = 0; i < 3; i++) await feed.sync('.u.upd', s('trade'), tradeRow('IBM', i, i));
  mkdirSync(join(dir, 'sym2024.01.03')); // a directory where the new day's file must go
  clock.set(T0 + 15n * 3_600_000_000_000n); // 2024.01.03 00:30
  tp.tp.tick();
  await t.rejects(feed.sync('.u.upd', s('trade'), tradeRow('IBM', 4, 4)), { message: 'journal' });
  t.same(await feed.sync('.u `i`L'), [0, `:${join(dir, 'sym2024.01.03')}`], "r.q's replay point: the new day, nothing in it");
});

t.test('the journal holds kdb+\'s bytes: header ff01 and (`upd;t;x) payloads', async (t) => {
  const dir = t.testdir();
  const tp = await startTp(t, { args: ['sym', dir] });
  const [feed] = await clients(t, tp.port, 1) as [QClient];
  await feed.sync('.u.upd', s('trade'), [q['timespan']?.(new Date(36_000_000)), s('IBM'), q['float']?.(100), q['int']?.(10)]);
  const bytes = readFileSync(join(dir, 'sym2024.01.02')).toString('hex');
  // kdb-ipc-and-tick.md §7.1 (derived vector for one single-row update stamped 0D10:00)
  t.equal(bytes, 'ff01000000000000' + '000003000000f575706400f5747261646500000004000000f0004036e7bd200000' +
    'f549424d00f70000000000005940fa0a000000');
});

t.test('a restart recovers .u.i from the journal; a torn tail refuses to start or is truncated', async (t) => {
  const dir = t.testdir();
  {
    const tp = await startTp(t, { args: ['sym', dir] });
    const [feed] = await clients(t, tp.port, 1) as [QClient];
    for (let i = 0; i < 3; i++) await feed.sync('.u.upd', s('trade'), tradeRow('IBM', i, i));
    await feed.close();
    await tp.close();
  }
  const path = join(dir, 'sym2024.01.02');
  {
    const tp = await startTp(t, { args: ['sym', dir] });
    t.equal(tp.tp.i, 3, '.u.i = records in the journal');
    await tp.close();
  }
  const good = readFileSync(path).length;
  appendFileSync(path, Buffer.from('000003000000f5757064', 'hex')); // half a record: a crash mid-write
  await t.rejects(startTp(t, { args: ['sym', dir] }),
    { message: `:${path} is a corrupt log. Truncate to length ${good} and restart` });
  const tp = await startTp(t, { args: ['sym', dir, '--truncate-log'] });
  t.equal(tp.tp.i, 3);
  t.equal(readFileSync(path).length, good, 'truncated to the valid length');
});

t.test('a subscriber that stops reading, filtered or not, gets its rows intact while the others\' buffers are reused', async (t) => {
  const tp = await startTp(t);
  const [feed, fast, slow] = await clients(t, tp.port, 3) as [QClient, QClient, QClient];
  const [filtered] = await clients(t, tp.port, 1) as [QClient];
  await fast.sync('.u.sub[`trade;`]');
  await slow.sync('.u.sub[`trade;`]');
  const pauseOf = (c: QClient): { pause(): void; resume(): void } =>
    (c.con as unknown as { socket: { pause(): void; resume(): void } }).socket;
  const socket = pauseOf(slow);
  socket.pause();
  // 120,000 published one-row messages of ~100 bytes (12 MB): more than loopback's socket buffers take, so
  // some wait in the server's queue while some 45 slab regions of 256 KiB are cut, retired and reused.
  const n = 120_000;
  for (let i = 0; i < n; i += 1000) {
    for (let k = i; k < i + 1000; k++) feed.async('.u.upd', s('trade'), tradeRow(`S${k % 97}`, k / 4, k));
    await feed.sync('');
  }
  await fast.waitFor((u) => u.length === n, 30_000); // one row an update (a count, not a walk: this runs per update)
  t.equal(slow.updates.length, 0, 'the paused subscriber has read nothing yet');
  socket.resume();
  await slow.waitFor((u) => u.length === n, 30_000);
  const rows = rowsOf(slow, 'trade');
  const wrong = rows.findIndex((r, k) => r['size'] !== k || r['sym'] !== `S${k % 97}` || r['price'] !== k / 4);
  t.equal(wrong, -1, 'every row the paused subscriber reads is the row it was sent, in order');
  t.same(rowsOf(fast, 'trade').map((r) => r['size']), rows.map((r) => r['size']), 'the same rows as the fast one');
  // Now only a filtered subscriber stops reading. Its filter takes one row of each two-row update: that row's
  // message is its own, cut from the regions the others' messages are, which are reused behind it.
  await filtered.sync('.u.sub[`trade;`F]');
  pauseOf(filtered).pause();
  const m = 150_000;
  for (let i = 0; i < m; i += 1000) {
    for (let k = i; k < i + 1000; k++) {
      feed.async('.u.upd', s('trade'), [q['symbols']?.(['F', 'G']), q['floats']?.([k / 2, 0]), q['ints']?.([k, -1])]);
    }
    await feed.sync('');
  }
  await fast.waitFor((u) => u.length === n + m, 60_000);
  await slow.waitFor((u) => u.length === n + m, 60_000);
  pauseOf(filtered).resume();
  await filtered.waitFor((u) => u.length === m, 60_000);
  const fRows = rowsOf(filtered, 'trade');
  t.equal(fRows.findIndex((r, k) => r['sym'] !== 'F' || r['size'] !== k || r['price'] !== k / 2), -1,
    'every row the paused filtered subscriber reads is the row it was sent, in order');

});
