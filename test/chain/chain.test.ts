// Feed → tickerplant → chained tickerplant (--chain) → subscribers, with node-q feeds and subscribers, as
// q programs use kdb-tick's chainedtick.q and chainedr.q (kdb-ipc-and-tick.md §6.6).
import t from 'tap';
import type { Test } from 'tap';
import net from 'node:net';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { decodePaymentRequest } from '../../src/lightning/bolt11.js';
import { connect, nodeq } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { LogSink, sleep, startTp, T0, until } from '../helpers/tp.js';

type Row = Record<string, unknown>;
type Tp = Awaited<ReturnType<typeof startTp>>;
const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
const rowsOf = (c: QClient, table: string): Row[] =>
  c.updates.filter((u) => u.table === table).flatMap((u) => u.data as Row[]);
const symsOf = (rows: Row[]): string[] => rows.map((r) => String(r['sym']));
const pricesOf = (rows: Row[]): number[] => rows.map((r) => Number(r['price']));
const HOUR = 3_600_000_000_000n;

/** A trade row with its time, as a q feed sends it. */
function tradeRow(sym: string, price: number): unknown[] {
  return [q['timespan']?.(new Date(36_000_000)), s(sym), q['float']?.(price), q['int']?.(price)];
}

async function client(t: Test, port: number): Promise<QClient> {
  const c = await connect({ port });
  t.teardown(() => c.close());
  return c;
}


/** Publishes one trade per (sym, price) and waits until the TP has read them all. */
async function publish(feed: QClient, rows: Array<[string, number]>): Promise<void> {
  for (const [x, p] of rows) feed.async('.u.upd', s('trade'), tradeRow(x, p));
  await feed.sync('');
}

/** A chained TP of `upstream` (its own clock, so its day can differ from upstream's). */
function startChained(t: Test, upstreamPort: number, args: string[] = [], clock: Clock = new ManualClock(T0, 0),
  sink = new LogSink()): Promise<Tp> {
  return startTp(t, { args: ['--chain', `127.0.0.1:${upstreamPort}`, ...args], clock, sink });
}

/** A port nothing listens on (yet). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Records, synchronously and in arrival order, both upd and pushed non-upd messages (.u.end). node-q
 * hands any non-upd message to the oldest k callback, so the client must make no sync calls after this.
 */
function arrivals(c: QClient): string[] {
  const seen: string[] = [];
  c.con.on('upd', (table: unknown) => seen.push(`upd ${String(table)}`));
  const next = (): void => c.con.k((err: Error | undefined, res: unknown) => {
    if (!err) seen.push(`${String((res as unknown[])[0])} ${((res as unknown[])[1] as Date).toISOString().slice(0, 10)}`);
    if (!c.closed) next();
  });
  next();
  return seen;
}

t.test('zero-latency: rows reach chained subscribers once, in order, through their sym filters', async (t) => {
  const upstream = await startTp(t);
  const chained = await startChained(t, upstream.port);
  t.equal(upstream.tp.w.count(), 2, 'the chained TP subscribed upstream to every table');
  const feed = await client(t, upstream.port);
  const [ibm, all, quotes] = await Promise.all([client(t, chained.port), client(t, chained.port), client(t, chained.port)]);
  const reply = await ibm.sync('.u.sub[`trade;`IBM`MSFT]') as unknown[];
  t.equal(reply[0], 'trade');
  t.same(reply[1], [], 'the schema reply is an empty table, as from tick.q');
  const every = await all.sync('.u.sub[`;`]') as unknown[][];
  t.same(every.map((x) => x[0]), ['quote', 'trade'], "the chained TP's tables are upstream's");
  await quotes.sync('.u.sub[`quote;`]');

  await publish(feed, [['IBM', 1], ['AAPL', 2], ['MSFT', 3], ['IBM', 4]]);
  await all.waitFor(() => rowsOf(all, 'trade').length === 4);
  await ibm.waitFor(() => rowsOf(ibm, 'trade').length === 3);
  t.same(pricesOf(rowsOf(all, 'trade')), [1, 2, 3, 4], 'every row once, in the feed order');
  t.same(symsOf(rowsOf(ibm, 'trade')), ['IBM', 'MSFT', 'IBM'], 'the sym filter applies on the chained TP');
  t.same(pricesOf(rowsOf(ibm, 'trade')), [1, 3, 4]);
  t.equal(all.updates.length, 4, 'zero-latency: one message per upstream update');
  t.equal((rowsOf(all, 'trade')[0]?.['time'] as Date).getUTCHours(), 10, "upstream's time column is kept");
  await sleep(20);
  t.equal(rowsOf(all, 'trade').length, 4, 'nothing arrives twice');
  t.equal(quotes.updates.length, 0, 'a quote subscriber gets no trades');
  t.same(await all.sync('.u `i`L'), [null, null], "a chained TP keeps no journal: (0N;`) — r.q replays nothing");
});

t.test('batch mode (-t): the chained TP buffers and publishes on its timer, one message per table', async (t) => {
  const upstream = await startTp(t);
  const chained = await startChained(t, upstream.port, ['-t', '3600000']);
  const feed = await client(t, upstream.port);
  const [ibm, all] = await Promise.all([client(t, chained.port), client(t, chained.port)]);
  await ibm.sync('.u.sub[`trade;`IBM]');
  await all.sync('.u.sub[`;`]');
  await publish(feed, [['IBM', 1], ['AAPL', 2], ['IBM', 3]]);
  await until(() => chained.tp.stats.rowsIn === 3);
  t.equal(all.updates.length, 0, 'nothing is published before the timer');
  chained.tp.tick();
  await all.waitFor(() => all.updates.length === 1);
  await ibm.waitFor(() => ibm.updates.length === 1);
  t.same(pricesOf(rowsOf(all, 'trade')), [1, 2, 3], 'one message holds every row since the last tick, in order');
  t.same(pricesOf(rowsOf(ibm, 'trade')), [1, 3], 'filtered on the chained TP');
  await publish(feed, [['IBM', 4]]);
  await until(() => chained.tp.stats.rowsIn === 4);
  chained.tp.tick();
  await ibm.waitFor(() => ibm.updates.length === 2);
  t.same(pricesOf(rowsOf(ibm, 'trade')), [1, 3, 4], 'the next tick carries only the new rows');
  await sleep(20);
  t.equal(all.updates.length, 2, 'nothing arrives twice');
});

t.test(".u.end from upstream is forwarded and advances .u.d; the chained TP's own clock never ends the day", async (t) => {
  const upClock = new ManualClock(T0, 0);
  const upstream = await startTp(t, { clock: upClock });
  const ownClock = new ManualClock(T0, 0);
  const chained = await startChained(t, upstream.port, [], ownClock);
  const feed = await client(t, upstream.port);
  const [a, b, probe] = await Promise.all([client(t, chained.port), client(t, chained.port), client(t, chained.port)]);
  await a.sync('.u.sub[`;`]');
  await b.sync('.u.sub[`trade;`IBM]');
  const seenA = arrivals(a);
  const seenB = arrivals(b);

  ownClock.set(T0 + 48n * HOUR); // two days on, by the chained TP's clock
  chained.tp.tick();
  await publish(feed, [['IBM', 1]]);
  await until(() => seenA.length === 1 && seenB.length === 1);
  t.same(seenA, ['upd trade'], 'no end of day of its own, however far its clock runs');
  t.equal((await probe.sync('.u.d') as Date).toISOString().slice(0, 10), '2024-01-02', '.u.d is still the upstream day');

  upClock.set(T0 + 15n * HOUR); // upstream: 2024.01.03 00:30
  upstream.tp.tick();
  await until(() => seenA.length === 2 && seenB.length === 2);
  t.same(seenA, ['upd trade', '.u.end 2024-01-02'], '.u.end with the old date');
  t.same(seenB, ['upd trade', '.u.end 2024-01-02'], 'to each subscriber once, whatever its tables');
  t.equal((await probe.sync('.u.d') as Date).toISOString().slice(0, 10), '2024-01-03', '.u.d advanced');
  await publish(feed, [['IBM', 2]]);
  await until(() => seenA.length === 3);
  t.same(seenA, ['upd trade', '.u.end 2024-01-02', 'upd trade'], 'data keeps flowing after the end of day');
});

t.test('batch mode: the buffered rows of the day go out before the forwarded .u.end', async (t) => {
  const upClock = new ManualClock(T0, 0);
  const upstream = await startTp(t, { clock: upClock });
  const chained = await startChained(t, upstream.port, ['-t', '3600000']);
  const feed = await client(t, upstream.port);
  const sub = await client(t, chained.port);
  await sub.sync('.u.sub[`;`]');
  const seen = arrivals(sub);
  await publish(feed, [['IBM', 1], ['MSFT', 2]]);
  await until(() => chained.tp.stats.rowsIn === 2);
  upClock.set(T0 + 15n * HOUR);
  upstream.tp.tick();
  await until(() => seen.length === 2);
  t.same(seen, ['upd trade', '.u.end 2024-01-02'], "yesterday's rows, then .u.end");
  t.same(pricesOf(rowsOf(sub, 'trade')), [1, 2]);
});

t.test('a chained TP started before its upstream connects when upstream comes up', async (t) => {
  const port = await freePort();
  const sink = new LogSink();
  const clock = new ManualClock(T0, 0);
  const starting = startChained(t, port, [], clock, sink);
  await until(() => sink.messages().includes('upstream unavailable'));
  const retries = (): number => sink.messages().filter((m) => m === 'upstream retry scheduled').length;
  for (let n = 2; n <= 4; n++) { // several retries while upstream is down, each when its backoff has passed on the clock
    clock.advanceMs(5000);
    await until(() => retries() >= n);
  }
  const upstream = await startTp(t, { args: ['-p', String(port)] });
  clock.advanceMs(5000);
  const chained = await starting;
  t.equal(upstream.tp.w.count(), 2, 'subscribed to every upstream table');
  const feed = await client(t, upstream.port);
  const sub = await client(t, chained.port);
  await sub.sync('.u.sub[`trade;`]');
  await publish(feed, [['IBM', 7]]);
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 1);
  t.same(pricesOf(rowsOf(sub, 'trade')), [7]);
  const msgs = sink.messages();
  t.equal(msgs.filter((m) => m === 'upstream unavailable').length, 1, 'one log line for the outage, not one per retry');
  t.equal(msgs.filter((m) => m === 'upstream subscribed').length, 1);
  t.ok(msgs.includes('connecting to upstream'));
});

/** An upstream, a chained TP of it on a ManualClock (its log in `sink`), and a subscriber of the chained TP. */
async function chainRig(t: Test, subscription: string): Promise<{ first: Tp; port: number; sink: LogSink; clock: ManualClock; chained: Tp; sub: QClient }> {
  const first = await startTp(t);
  const sink = new LogSink();
  const clock = new ManualClock(T0, 0);
  const chained = await startChained(t, first.port, [], clock, sink);
  const sub = await client(t, chained.port);
  await sub.sync(subscription);
  return { first, port: first.port, sink, clock, chained, sub };
}

/** The upstream goes and a new one comes on its port (on `upstreamClock`); returns once the chained TP resubscribed. */
async function restartUpstream(t: Test, r: Awaited<ReturnType<typeof chainRig>>, upstreamClock?: Clock): Promise<Tp> {
  await r.first.close();
  await until(() => r.sink.messages().includes('upstream lost'));
  const second = await startTp(t, { args: ['-p', String(r.port)], ...(upstreamClock ? { clock: upstreamClock } : {}) });
  // The retry waits for its backoff on the chained TP's clock: move it on until the retry has subscribed.
  await until(() => { r.clock.advanceMs(1000); return second.tp.w.count() === 2; });
  return second;
}

t.test('an upstream restart: the chained TP reconnects and resubscribes; its subscribers stay', async (t) => {
  const r = await chainRig(t, '.u.sub[`trade;`IBM]');
  const { port, sink, sub } = r;
  const feed1 = await client(t, port);
  await publish(feed1, [['IBM', 1]]);
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 1);

  await feed1.close();
  await restartUpstream(t, r);
  const feed2 = await client(t, port);
  await publish(feed2, [['AAPL', 2], ['IBM', 3]]);
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 2);
  t.same(pricesOf(rowsOf(sub, 'trade')), [1, 3], 'the subscription on the chained TP survived the upstream restart');
  t.notOk(sub.closed);
  const msgs = sink.messages();
  t.equal(msgs.filter((m) => m === 'upstream lost').length, 1, 'one line when upstream went');
  t.equal(msgs.filter((m) => m === 'upstream unavailable').length, 0, 'none for the refused retries while it was down');
  t.equal(msgs.filter((m) => m === 'upstream subscribed').length, 2, 'one line per (re)subscription');
});

t.test('an upstream back dated years ahead (its clock jumped) is followed without rolling a day per year day', async (t) => {
  const r = await chainRig(t, '.u.sub[`trade;`]');
  const { sink, chained, sub } = r;
  const ends = arrivals(sub);
  const d = chained.tp.d;
  await restartUpstream(t, r, new ManualClock(T0 + 3650n * 24n * HOUR, 0));
  await until(() => sink.messages().includes('upstream date more than a day ahead; days not rolled'));
  t.equal(chained.tp.d, d, 'the day stays');
  t.same(ends.filter((e) => e.startsWith('.u.end')), [], 'no .u.end sent');
});

t.test('an upstream back with other tables is refused and retried, not followed', async (t) => {
  const first = await startTp(t);
  const port = first.port;
  const sink = new LogSink();
  const clock = new ManualClock(T0, 0);
  const chained = await startChained(t, port, [], clock, sink);
  await first.close();
  const dir = t.testdir({ 'other.q': 'trade:([]time:`timespan$();sym:`symbol$();px:`float$())\n' });
  const second = await startTp(t, { args: [join(dir, 'other.q'), '-p', String(port)] });
  // Retries wait for their backoff on the chained TP's clock: move it on until one has reached the new upstream.
  await until(() => {
    clock.advanceMs(1000);
    return sink.lines.some((l) => l['msg'] === 'upstream unavailable' && String(l['err']).includes('upstream tables changed'));
  });
  await until(() => second.tp.w.count() === 0);
  t.pass('not subscribed to the changed upstream');
  t.same(chained.tp.names, ['quote', 'trade'], 'the chained TP keeps its tables');
});

t.test("chainedr.q's exact string against a chained TP returns the upstream's (.u.i;.u.L)", async (t) => {
  const dir = t.testdir();
  const upstream = await startTp(t, { args: ['sym', dir] });
  const chained = await startChained(t, upstream.port);
  const feed = await client(t, upstream.port);
  await publish(feed, [['IBM', 1], ['MSFT', 2]]);
  await until(() => chained.tp.stats.rowsIn === 2);
  const rdb = await client(t, chained.port);
  const reply = await rdb.sync('(.u.sub[`;`];$[`m in key`.u;(`.u `m)"`.u `i`L";`.u `i`L])') as unknown[];
  t.same((reply[0] as unknown[][]).map((x) => x[0]), ['quote', 'trade'], "the chained TP's schemas");
  t.same(reply[1], [2, `:${join(dir, 'sym2024.01.02')}`], "upstream's .u.i and .u.L: the master's journal to replay");
  await publish(feed, [['IBM', 3]]);
  await rdb.waitFor(() => rowsOf(rdb, 'trade').length === 1);
  t.same(pricesOf(rowsOf(rdb, 'trade')), [3], 'after the replay point: live rows only');
  t.same(await rdb.sync('.u `i`L'), [null, null], 'asked directly, the chained TP has no journal of its own');
  await t.rejects(rdb.sync('(`.u `m)".u.upd[`trade;(`IBM;1f;1i)]"'), { message: 'access' },
    '.u.m forwards only the replay-point queries');
  t.equal(upstream.tp.stats.updates, 3, 'nothing was published upstream through .u.m');
});

t.test('a chained TP with --lightning dev sells its tables: a priced sub gets an invoice, payment starts the data', async (t) => {
  const upstream = await startTp(t);
  const dataDir = t.testdir();
  const chained = await startChained(t, upstream.port, ['--lightning', 'dev', '--data-dir', dataDir], systemClock());
  const feed = await client(t, upstream.port);
  const sub = await client(t, chained.port);
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, { payment_request: string }];
  t.equal(reply.length, 3, 'a priced table answers (t;schema;invoice)');
  t.equal(decodePaymentRequest(reply[2].payment_request).valueMsat, 100_000n, '100 sat for one sym');
  await publish(feed, [['IBM', 1]]);
  await until(() => chained.tp.stats.rowsIn === 1);
  await sleep(20);
  t.equal(sub.updates.length, 0, 'no data while the invoice is open');
  const payer = await client(t, chained.port);
  await payer.sync('.dev.pay', reply[2].payment_request);
  await until(() => chained.tp.w.count('trade') === 1);
  await publish(feed, [['MSFT', 2], ['IBM', 3]]);
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 1);
  t.same(pricesOf(rowsOf(sub, 'trade')), [3], 'the paid sym, from upstream');
});

t.test('a chained TP refuses to start when upstream wants payment, and says how to fix it', async (t) => {
  const dataDir = t.testdir();
  const upstream = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir] });
  await t.rejects(startChained(t, upstream.port), { message: /upstream asks payment for quote, trade: a chained tickerplant needs free access upstream/ });
  const free = t.testdir({ 'pricing.json': JSON.stringify({ default: 0 }) });
  const upstreamFree = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', free, '--pricing', join(free, 'pricing.json')] });
  const chained = await startChained(t, upstreamFree.port);
  t.same(chained.tp.names, ['quote', 'trade'], 'with price 0 upstream the chained TP subscribes');
});

t.test("--chain's user:password logs in to an upstream started with -u; the password never reaches the logs", async (t) => {
  const dir = t.testdir({ users: 'chain:s3cret-pw\n' });
  const upstream = await startTp(t, { args: ['-u', join(dir, 'users')] });
  const sink = new LogSink();
  const refusedSink = new LogSink();
  await t.rejects(startTp(t, { args: ['--chain', `127.0.0.1:${upstream.port}:chain:wrong-pw`], sink: refusedSink }),
    { message: `upstream 127.0.0.1:${upstream.port}: access` }, 'a wrong password stops the start');
  t.ok(refusedSink.lines.length > 0, 'the refused start logged');
  t.notMatch(refusedSink.text(), /wrong-pw/, 'no line of the refused login holds its password');
  const chained = await startTp(t, { args: ['--chain', `127.0.0.1:${upstream.port}:chain:s3cret-pw`], sink });
  t.equal(upstream.tp.w.count(), 2);
  t.same(chained.tp.names, ['quote', 'trade']);
  t.notMatch(sink.text(), /s3cret/, 'no log line holds the password');
  t.match(sink.text(), new RegExp(`"upstream":"127.0.0.1:${upstream.port}"`));
});
