// The demo feed: random-walk trades and quotes that a node-q subscriber receives as valid rows of the
// schema, published by a timer that stops, and failures reported once instead of crashing.
import t from 'tap';
import { startDemoFeed, DEMO_SYMS } from '../src/demo-feed.js';
import type { DemoFeedOptions } from '../src/demo-feed.js';
import { QError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { connect } from './helpers/qclient.js';
import type { QClient } from './helpers/qclient.js';
import { LogSink, startTp, T0 } from './helpers/tp.js';
import { ManualClock } from '../src/clock.js';

type Row = Record<string, unknown>;
const rowsOf = (c: QClient, table: string): Row[] =>
  c.updates.filter((u) => u.table === table).flatMap((u) => u.data as Row[]);

/** A repeatable uniform source (xorshift). */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

t.test('a node-q subscriber receives valid trades and quotes while the feed runs', async (t) => {
  const sink = new LogSink();
  const app = await startTp(t, { sink });
  const sub = await connect({ port: app.port });
  t.teardown(() => sub.close());
  await sub.sync('.u.sub[`;`]');
  const clock = new ManualClock(T0);
  const feed = startDemoFeed({ tp: app.tp, clock, log: createLogger('info', sink), ratePerSec: 200 });
  t.teardown(() => feed.stop());
  clock.advanceMs(100); // 20 updates at 200 a second, trade and quote in turn
  t.equal(app.tp.stats.updates, 20, 'the clock paces the feed');
  feed.stop();
  clock.advanceMs(1000);
  t.equal(app.tp.stats.updates, 20, 'stopped: no more updates');
  await sub.waitFor(() => rowsOf(sub, 'trade').length >= 10 && rowsOf(sub, 'quote').length >= 10);
  const badTrades = rowsOf(sub, 'trade').filter((r) => !(
    DEMO_SYMS.includes(String(r['sym'])) && r['time'] instanceof Date &&
    typeof r['price'] === 'number' && r['price'] > 0 && Math.round(r['price'] * 100) / 100 === r['price'] &&
    Number.isInteger(r['size']) && (r['size'] as number) % 100 === 0));
  t.same(badTrades, [], 'every trade: a demo sym, a stamped time, a positive price in cents, a round-lot size');
  const badQuotes = rowsOf(sub, 'quote').filter((r) => !(
    DEMO_SYMS.includes(String(r['sym'])) && (r['bid'] as number) > 0 && (r['bid'] as number) < (r['ask'] as number) &&
    Number.isInteger(r['bsize']) && Number.isInteger(r['asize'])));
  t.same(badQuotes, [], 'every quote: a demo sym, 0 < bid < ask, integer sizes');
  t.ok(sink.messages().includes('demo feed started'));
  t.equal(app.tp.stats.badUpdates, 0);
});

t.test('each step publishes one update of 1..maxRows rows, trade and quote in turn, prices walking', async (t) => {
  const app = await startTp(t);
  const sub = await connect({ port: app.port });
  t.teardown(() => sub.close());
  await sub.sync('.u.sub[`;`AAPL`IBM]');
  const feed = startDemoFeed({
    tp: app.tp, clock: new ManualClock(T0), log: createLogger('silent'), ratePerSec: 0, syms: ['AAPL', 'IBM'], maxRows: 3, random: seeded(42),
  });
  for (let i = 0; i < 40; i++) feed.step();
  t.equal(app.tp.stats.updates, 40, 'one update per step');
  t.ok(app.tp.stats.rowsIn >= 40 && app.tp.stats.rowsIn <= 120, 'between 1 and 3 rows each');
  await sub.waitFor((u) => u.length === 40);
  t.same(sub.updates.map((u) => u.table), Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'trade' : 'quote')));
  const aapl = rowsOf(sub, 'trade').filter((r) => r['sym'] === 'AAPL').map((r) => r['price'] as number);
  t.ok(aapl.length > 1, 'several AAPL trades');
  for (let i = 1; i < aapl.length; i++) {
    t.ok(Math.abs((aapl[i] as number) / (aapl[i - 1] as number) - 1) < 0.01, 'small moves between trades');
  }
  t.ok(Math.abs((aapl[0] as number) - 190) < 2, 'AAPL starts near 190');
});

t.test('a failing update is logged once and never thrown; a schema without trade or quote is reported', async (t) => {
  const sink = new LogSink();
  const log = createLogger('info', sink);
  const schema = { name: 'trade', columns: ['time', 'sym', 'price', 'size'], types: [16, 11, 9, 6] };
  let calls = 0;
  const tp = {
    tables: new Map([['trade', { schema }]]),
    upd(): void { calls++; throw new QError('type'); },
  } as unknown as DemoFeedOptions['tp'];
  const feed = startDemoFeed({ tp, clock: new ManualClock(T0), log, ratePerSec: 0 });
  for (let i = 0; i < 5; i++) t.doesNotThrow(() => feed.step());
  t.equal(calls, 5);
  t.same(sink.messages().filter((m) => m === 'demo feed update failed'), ['demo feed update failed'], 'one log line');
  t.equal(sink.lines.find((l) => l['msg'] === 'demo feed update failed')?.['err'], 'type');

  const other = { tables: new Map(), upd(): void { calls++; } } as unknown as DemoFeedOptions['tp'];
  const idle = startDemoFeed({ tp: other, clock: new ManualClock(T0), log, ratePerSec: 50 });
  idle.step();
  idle.stop();
  t.equal(calls, 5, 'nothing to publish');
  t.ok(sink.messages().includes('demo feed has no trade or quote table it can fill'));
});
