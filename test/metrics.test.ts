// /metrics: the Prometheus text reflects what node-q feeds and subscribers did to a running tickerplant,
// and the hooks the composition root wires (connection closes, lightning status) count what they should.
import t from 'tap';
import type { Test } from 'tap';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMetrics } from '../src/metrics.js';
import type { Metrics, MetricsSources, TableCounters, TickSource } from '../src/metrics.js';
import type { BackendStatus } from '../src/payments/index.js';
import type { TickStats } from '../src/tick/index.js';
import { connect, nodeq } from './helpers/qclient.js';
import type { QClient } from './helpers/qclient.js';
import { startTp, until } from './helpers/tp.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
interface InvoiceDict { payment_request: string }

/** The value of the sample whose name and labels are exactly `series`, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function client(t: Test, port: number): Promise<QClient> {
  const c = await connect({ port });
  t.teardown(() => c.close());
  return c;
}

function metricsFor(t: Test, sources: MetricsSources): Metrics {
  const m = createMetrics(sources);
  t.teardown(() => m.close());
  return m;
}


/** A trade update as a feed sends it: column vectors, no time column. */
function trades(syms: string[]): unknown[] {
  return [q['symbols']?.(syms), q['floats']?.(syms.map(() => 100.5)), q['ints']?.(syms.map(() => 10))];
}

t.test('the text reflects feeds, subscribers, payments and the journal of a running tickerplant', async (t) => {
  const dir = t.testdir({ 'pricing.json': JSON.stringify({ default: 100, tables: { quote: 0 } }), journal: {} });
  const app = await startTp(t, {
    args: ['sym', join(dir, 'journal'), '--lightning', 'dev', '--data-dir', dir, '--pricing', join(dir, 'pricing.json')],
  });
  let httpRefused = 0;
  const metrics = metricsFor(t, { tp: app.tp, server: app.server, dispatch: app.dispatcher, payments: app.payments, http: () => ({ refused: httpRefused }) });

  let text = await metrics.text();
  t.equal(sample(text, 'tickerplant_lightning_up{backend="dev"}'), 1, 'the dev backend is up');
  t.equal(sample(text, 'tickerplant_lightning_reconnects_total{backend="dev"}'), 0);
  t.equal(sample(text, 'tickerplant_subscribers{table="trade"}'), 0);
  t.equal(sample(text, 'tickerplant_journal_records'), 0);

  const feed = await client(t, app.port);
  const sub = await client(t, app.port);
  const quotes = await client(t, app.port);
  const reply = await sub.sync('.u.sub[`trade;`AAPL]') as [string, unknown, InvoiceDict];
  t.equal(reply.length, 3, 'trade is priced');
  await quotes.sync('.u.sub[`quote;`]');
  text = await metrics.text();
  t.equal(sample(text, 'tickerplant_pending_invoices'), 1, 'one request waits for payment');
  t.equal(sample(text, 'tickerplant_invoices_issued_total'), 1);
  t.equal(sample(text, 'tickerplant_invoices_settled_total'), 0);
  t.equal(sample(text, 'tickerplant_subscribers{table="quote"}'), 1, 'the free table subscribed at once');
  t.equal(sample(text, 'tickerplant_subscribers{table="trade"}'), 0, 'the priced one waits');

  await feed.sync('.dev.pay', reply[2].payment_request);
  await until(() => app.tp.w.count('trade') === 1);
  feed.async('.u.upd', s('trade'), trades(['AAPL', 'MSFT']));
  feed.async('.u.upd', s('trade'), trades(['AAPL']));
  await t.rejects(feed.sync('.u.upd', s('trade'), [s('AAPL')]), 'a short update is refused');
  await t.rejects(feed.sync('.z.pw', 1), /access/, 'a call outside the accepted forms is refused undecoded');
  await sub.waitFor((u) => u.length === 2);

  text = await metrics.text();
  const perTable = typeof (app.tp as TickSource).tableStats === 'function';
  const trade = perTable ? '{table="trade"}' : '';
  t.equal(sample(text, `tickerplant_updates_total${trade}`), 2, `updates in${perTable ? ' for trade' : ' (total)'}`);
  t.equal(sample(text, `tickerplant_rows_in_total${trade}`), 3, `rows in${perTable ? ' for trade' : ' (total)'}`);
  t.equal(sample(text, `tickerplant_messages_out_total${trade}`), 2, 'one upd message per publish to the AAPL subscriber');
  t.equal(sample(text, `tickerplant_rows_out_total${trade}`), 3);
  if (perTable) t.equal(sample(text, 'tickerplant_rows_in_total{table="quote"}'), 0);
  t.equal(sample(text, 'tickerplant_bad_updates_total'), 1);
  t.equal(sample(text, 'tickerplant_subscribers{table="trade"}'), 1);
  t.equal(sample(text, 'tickerplant_pending_invoices'), 0);
  t.equal(sample(text, 'tickerplant_invoices_settled_total'), 1);
  t.equal(sample(text, 'tickerplant_sats_earned_total'), 100);
  t.equal(sample(text, 'tickerplant_orphan_credits_total'), 0);
  t.equal(sample(text, 'tickerplant_foreign_settlements_total'), 0);
  t.equal(sample(text, 'tickerplant_payment_write_failures_total'), 0);
  t.equal(sample(text, 'tickerplant_payment_records_unwritten'), 0);
  t.equal(sample(text, 'tickerplant_ipc_connections'), 3);
  t.equal(sample(text, 'tickerplant_connections_refused_total{listener="ipc"}'), 0, 'none closed at accept');
  t.equal(sample(text, 'tickerplant_messages_refused_total'), 1, 'the call outside the accepted forms');
  t.equal(sample(text, 'tickerplant_invoices_failed_total'), 0);
  httpRefused = 2;
  t.equal(sample(await metrics.text(), 'tickerplant_connections_refused_total{listener="http"}'), 2, "the HTTP listener's refusals, read when scraped");
  t.ok((sample(text, 'tickerplant_bytes_in_total') ?? 0) > 0, 'bytes read from clients');
  t.ok((sample(text, 'tickerplant_bytes_out_total') ?? 0) > 0, 'bytes written to clients');
  t.equal(sample(text, 'tickerplant_journal_records'), 2, 'the two good updates are journaled');
  await until(() => statSync(app.tp.logFile as string).size > 8); // flushed on the next turn
  text = await metrics.text();
  t.equal(sample(text, 'tickerplant_journal_bytes'), statSync(app.tp.logFile as string).size, 'the journal file size');
  t.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag is reported');
  t.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'process metrics are reported');
});

t.test('the handler serves the text format over HTTP to GET and refuses other methods', async (t) => {
  const app = await startTp(t);
  const metrics = metricsFor(t, { tp: app.tp, server: app.server, payments: app.payments, defaultMetrics: false });
  const web = http.createServer((req, res) => metrics.handler(req, res));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => web.close(() => r())));
  const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/metrics`;
  const res = await fetch(url);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  t.match(body, /^# TYPE tickerplant_rows_in_total counter$/m);
  t.match(body, /^tickerplant_subscribers\{table="trade"\} 0$/m);
  t.notMatch(body, /tickerplant_lightning_up|tickerplant_journal_bytes/, 'no payment or journal metrics without them');
  t.notMatch(body, /^nodejs_/m, 'default metrics can be left out');
  const post = await fetch(url, { method: 'POST' });
  t.equal(post.status, 405);
});

class StubBackend extends EventEmitter {
  readonly kind = 'lnd' as const;
  current: BackendStatus = { up: false, reason: 'connecting' };
  status(): BackendStatus { return this.current; }
  set(next: BackendStatus): void { this.current = next; this.emit('status', next); }
}

t.test('per-table counters, journal getter, slow drops, closed bytes and lnd reconnects from their sources', async (t) => {
  const stats: TickStats = { updates: 5, rowsIn: 9, badUpdates: 0, rowsOut: 9, messagesOut: 4 };
  const counters: Record<string, TableCounters> = {
    trade: { updates: 3, rowsIn: 7, rowsOut: 7, messagesOut: 3 },
    quote: { updates: 2, rowsIn: 2, rowsOut: 2, messagesOut: 1 },
  };
  const tp: TickSource = {
    names: ['quote', 'trade'], stats, w: { count: () => 0 }, i: 0, j: 0, logFile: '/nonexistent/sym2024.01.02',
    tableStats: (table) => counters[table],
    journalStats: () => ({ bytes: 4096, records: 12 }),
  };
  const conn = { queuedBytes: 300, socket: { bytesRead: 1000, bytesWritten: 5000 } };
  const handles = new Map([[4, conn]]);
  const backend = new StubBackend();
  const metrics = metricsFor(t, {
    tp, server: { handles }, defaultMetrics: false,
    payments: { backend, paywall: { stats: { invoices: 0, reused: 0, settled: 0, satsEarned: 0, orphans: 0, expired: 0, canceled: 0, foreign: 0, refusedPending: 0, claims: 0, claimsInUse: 0, mintFailures: 3 }, pendingCount: 0 } },
  });

  let text = await metrics.text();
  t.equal(sample(text, 'tickerplant_rows_in_total{table="trade"}'), 7);
  t.equal(sample(text, 'tickerplant_updates_total{table="quote"}'), 2);
  t.equal(sample(text, 'tickerplant_messages_out_total{table="trade"}'), 3);
  t.equal(sample(text, 'tickerplant_rows_in_total'), undefined, 'no unlabelled total beside the per-table ones');
  t.equal(sample(text, 'tickerplant_journal_bytes'), 4096, 'journalStats() wins over the file');
  t.equal(sample(text, 'tickerplant_journal_records'), 12);
  t.equal(sample(text, 'tickerplant_ipc_queued_bytes_max'), 300);
  t.equal(sample(text, 'tickerplant_bytes_out_total'), 5000);
  t.equal(sample(text, 'tickerplant_lightning_up{backend="lnd"}'), 0);
  t.equal(sample(text, 'tickerplant_invoices_failed_total'), 3);

  handles.delete(4);
  metrics.connectionClosed(conn, 'slow');
  backend.set({ up: true });
  backend.set({ up: false, reason: 'lnd unreachable' });
  backend.set({ up: true });
  text = await metrics.text();
  t.equal(sample(text, 'tickerplant_slow_subscriber_drops_total'), 1);
  t.equal(sample(text, 'tickerplant_connections_closed_total{reason="slow"}'), 1);
  t.equal(sample(text, 'tickerplant_bytes_in_total'), 1000, "a closed connection's bytes stay counted");
  t.equal(sample(text, 'tickerplant_bytes_out_total'), 5000);
  t.equal(sample(text, 'tickerplant_ipc_connections'), 0);
  t.equal(sample(text, 'tickerplant_lightning_up{backend="lnd"}'), 1);
  t.equal(sample(text, 'tickerplant_lightning_reconnects_total{backend="lnd"}'), 2, 'two down→up transitions');
  metrics.slowConsumerDropped(); // a WebSocket or SSE client
  t.equal(sample(await metrics.text(), 'tickerplant_slow_subscriber_drops_total'), 2, 'gateway drops count too');

  metrics.close();
  t.equal(backend.listenerCount('status'), 0, 'close() stops listening to the backend');
});

t.test('without per-table counters the table counters are one total, and the journal is read from its file', async (t) => {
  const dir = t.testdir({ 'sym2024.01.02': Buffer.alloc(40) });
  const tp: TickSource = {
    names: ['trade'], stats: { updates: 2, rowsIn: 5, badUpdates: 1, rowsOut: 5, messagesOut: 2 },
    w: { count: () => 1 }, i: 3, j: 3, logFile: join(dir, 'sym2024.01.02'),
  };
  const metrics = metricsFor(t, { tp, defaultMetrics: false });
  const text = await metrics.text();
  t.equal(sample(text, 'tickerplant_rows_in_total'), 5);
  t.equal(sample(text, 'tickerplant_bad_updates_total'), 1);
  t.equal(sample(text, 'tickerplant_journal_bytes'), 40);
  t.equal(sample(text, 'tickerplant_journal_records'), 3);
  t.equal(sample(text, 'tickerplant_ipc_connections'), undefined, 'no server, no connection gauges');
  writeFileSync(join(dir, 'sym2024.01.02'), Buffer.alloc(64));
  t.equal(sample(await metrics.text(), 'tickerplant_journal_bytes'), 64, 'read again at each scrape');
});

t.test('the NATS part: its lag, whether its connection is up, and with --ha whether this member leads', async (t) => {
  const tp: TickSource = {
    names: ['trade'], stats: { updates: 0, rowsIn: 0, badUpdates: 0, rowsOut: 0, messagesOut: 0 },
    w: { count: () => 0 }, i: 0, j: 0, logFile: undefined,
  };
  let up = true;
  let role = 'leader';
  const ha = metricsFor(t, { tp, defaultMetrics: false, nats: { mode: 'ha', lag: () => 3, up: () => up, role: () => role } });
  let text = await ha.text();
  t.same([sample(text, 'tickerplant_nats_lag_records'), sample(text, 'tickerplant_nats_up'), sample(text, 'tickerplant_ha_leader')], [3, 1, 1]);
  up = false;
  role = 'standby';
  text = await ha.text();
  t.same([sample(text, 'tickerplant_nats_up'), sample(text, 'tickerplant_ha_leader')], [0, 0], 'read at each scrape');
  const edge = metricsFor(t, { tp, defaultMetrics: false, nats: { mode: 'edge', lag: () => 0, up: () => true, role: () => 'edge' } });
  t.equal(sample(await edge.text(), 'tickerplant_ha_leader'), undefined, 'no leader gauge outside --ha');
});
