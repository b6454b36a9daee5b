// Pay-per-ticker end to end: node-q subscribers, a node-q feed running throughout, the built-in dev
// backend and a fake lnd over TLS with a macaroon (a real grpc-js server speaking lnd's proto).
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../src/clock.js';
import { decodePaymentRequest } from '../../src/lightning/bolt11.js';
import { connect, nodeq } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { FAKE_LND_CERT_PATH, startFakeLnd } from '../helpers/fake-lnd.js';
import type { FakeLnd } from '../helpers/fake-lnd.js';
import { LogSink, sleep, startTp, T0, until } from '../helpers/tp.js';

type Row = Record<string, unknown>;
const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);
const rowsOf = (c: QClient, table: string): Row[] =>
  c.updates.filter((u) => u.table === table).flatMap((u) => u.data as Row[]);
const symsOf = (c: QClient, table: string): string[] => rowsOf(c, table).map((r) => String(r['sym']));
interface InvoiceDict { r_hash: string; payment_request: string; add_index: string }

async function client(t: Test, port: number): Promise<QClient> {
  const c = await connect({ port });
  t.teardown(() => c.close());
  return c;
}

/** A feed that publishes one trade per sym every call. */
function publish(feed: QClient, syms: string[]): Promise<unknown> {
  for (const x of syms) {
    feed.async('.u.upd', s('trade'), [q['timespan']?.(new Date(36_000_000)), s(x), q['float']?.(1), q['int']?.(1)]);
  }
  return feed.sync('');
}


t.test('dev backend: invoice, nothing while pending, settle, exactly the paid syms, disconnect cleans up', async (t) => {
  const dataDir = t.testdir();
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir], clock: systemClock() });
  const feed = await client(t, tp.port);
  const sub = await client(t, tp.port);
  const reply = await sub.sync('.u.sub[`trade;`AAPL`GOOGL]') as [string, unknown, InvoiceDict];
  t.equal(reply.length, 3, 'a priced table answers (t;schema;invoice)');
  t.equal(reply[0], 'trade');
  const inv = reply[2];
  const decoded = decodePaymentRequest(inv.payment_request);
  t.equal(decoded.valueMsat, 200_000n, 'amount = 100 sat x 2 syms');
  t.equal(decoded.description, 'Invoice:trade| AAPL GOOGL\n', "the seed's memo");
  t.equal(Buffer.from(inv.r_hash, 'base64').toString('hex'), decoded.paymentHash, 'r_hash is the payment hash, base64');
  t.equal(inv.add_index, '1');
  const pending = await feed.sync('.u.pendingInvoices') as Row[];
  t.equal(pending.length, 1, 'the request waits in .u.pendingInvoices');
  t.same(await feed.sync('count .u.w'), 2);
  t.equal(tp.tp.w.count('trade'), 0, '.u.w is untouched until payment');
  await publish(feed, ['AAPL', 'MSFT']);
  await sub.sync('.u.t'); // a round trip after the publish: anything sent before it has arrived
  t.equal(sub.updates.length, 0, 'no data while the invoice is open');

  const payer = await client(t, tp.port);
  const paid = await payer.sync('.dev.pay', inv.payment_request) as Record<string, unknown>;
  t.equal(Buffer.from(String(paid['payment_hash'] ?? ''), 'base64').toString('hex'), decoded.paymentHash);
  t.equal(paid['amount_sat'], 200, '.dev.pay answers amount_sat as a long (a number to node-q), not a string');
  await until(() => tp.tp.w.count('trade') === 1);
  t.equal((await feed.sync('.u.pendingInvoices') as Row[]).length, 0, 'the pending row is gone');
  await publish(feed, ['AAPL', 'MSFT', 'GOOGL']);
  await sub.waitFor(() => rowsOf(sub, 'trade').length === 2);
  t.same(symsOf(sub, 'trade'), ['AAPL', 'GOOGL'], 'data for exactly the paid syms');
  const ledger = readFileSync(join(dataDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  t.equal(ledger.length, 1);
  t.equal(ledger[0]?.['amount_sat'], 200);
  t.equal(ledger[0]?.['orphan'], false);
  await sub.close();
  await until(() => tp.tp.w.count('trade') === 0);
  t.pass('disconnect removed the subscriber from .u.w');
});

t.test('dev backend: free tables answer the vanilla pair and r.q keeps working', async (t) => {
  const dataDir = t.testdir({ 'pricing.json': JSON.stringify({ default: 50, tables: { quote: 0 } }) });
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir, '--pricing', join(dataDir, 'pricing.json')] });
  const sub = await client(t, tp.port);
  const free = await sub.sync('.u.sub[`quote;`]') as unknown[];
  t.equal(free.length, 2, 'a free table gives the two-element reply');
  const all = await sub.sync('.u.sub[`;`IBM]') as unknown[][];
  t.equal(all.length, 2);
  t.equal(all[0]?.length, 2, 'quote (free) is a pair');
  t.equal(all[1]?.length, 3, 'trade (priced) carries the invoice');
  const inv = all[1]?.[2] as InvoiceDict;
  t.equal(decodePaymentRequest(inv.payment_request).valueMsat, 50_000n, 'the pricing file price');
});

t.test('dev backend: an unpaid invoice expires and its pending row goes', async (t) => {
  const dataDir = t.testdir();
  // A manual clock at a whole second: the invoice's deadline (lnd's creation_date + 1 s) is 1000 ms away.
  const clock = new ManualClock(T0);
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir, '--invoice-expiry', '1'], clock });
  const sub = await client(t, tp.port);
  await sub.sync('.u.sub[`trade;`IBM]');
  clock.advanceMs(1000);
  t.equal(tp.payments?.paywall.pendingCount, 1, 'payable until the deadline');
  clock.advanceMs(1);
  t.equal(tp.payments?.paywall.pendingCount, 0);
  t.equal(tp.payments?.paywall.stats.expired, 1, 'removed by the expiry timer');
});

t.test('dev backend: a short entitlement sends a renewal invoice and drops the unpaid subscriber', async (t) => {
  const dataDir = t.testdir();
  const clock = new ManualClock(T0);
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir, '--entitlement', '600ms'], clock });
  const sub = await client(t, tp.port);
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, InvoiceDict];
  const payer = await client(t, tp.port);
  await payer.sync('.dev.pay', reply[2].payment_request);
  await until(() => tp.tp.w.count('trade') === 1);
  const pushed = sub.nextPush();
  clock.advanceMs(540); // a tenth of the period before its end
  const renewal = await pushed as [string, string[], InvoiceDict];
  t.equal(renewal[0], '.u.renew', 'an async renewal message arrives before the period ends');
  t.same(renewal[1], ['trade']);
  t.match(renewal[2].payment_request, /^lnbcrt/);
  clock.advanceMs(59);
  t.equal(tp.tp.w.count('trade'), 1, 'still subscribed until the end');
  clock.advanceMs(1);
  t.equal(tp.tp.w.count('trade'), 0, 'not renewed in time: dropped from .u.w at the end');
});

t.test('dev backend: paying the renewal keeps the subscriber past the first period', async (t) => {
  const dataDir = t.testdir();
  const clock = new ManualClock(T0);
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir, '--entitlement', '2s'], clock });
  const sub = await client(t, tp.port);
  const payer = await client(t, tp.port);
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, InvoiceDict];
  await payer.sync('.dev.pay', reply[2].payment_request);
  await until(() => tp.tp.w.count('trade') === 1);
  const pushed = sub.nextPush();
  clock.advanceMs(1800); // the renewal comes 200 ms before the end
  const renewal = await pushed as [string, string[], InvoiceDict];
  await payer.sync('.dev.pay', renewal[2].payment_request);
  clock.advanceMs(800); // past the first period's end, inside the renewed one
  t.equal(tp.tp.w.count('trade'), 1, 'still subscribed after the first period');
  t.equal(tp.payments?.ledger.size, 2, 'two ledger entries: the purchase and the renewal');
});

t.test('dev backend: a reconnecting subscriber re-attaches with its preimage without paying again', async (t) => {
  const dataDir = t.testdir();
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir], clock: systemClock() });
  const feed = await client(t, tp.port);
  const first = await client(t, tp.port);
  const reply = await first.sync('.u.sub[`trade;`IBM`MSFT]') as [string, unknown, InvoiceDict];
  const paid = await first.sync('.dev.pay', reply[2].payment_request) as Record<string, string>;
  await until(() => tp.tp.w.count('trade') === 1);
  await first.close();
  await until(() => tp.tp.w.count('trade') === 0);
  const again = await client(t, tp.port);
  await t.rejects(again.sync('.u.subPaid[`trade;`IBM;"' + Buffer.alloc(32).toString('hex') + '"]'), { message: 'unpaid' });
  await t.rejects(again.sync('.u.subPaid', s('trade'), [s('AAPL')], paid['payment_preimage']), { message: 'unpaid' },
    'a sym outside the entitlement is refused');
  const ok = await again.sync('.u.subPaid', s('trade'), [s('IBM')], paid['payment_preimage']) as unknown[];
  t.equal(ok.length, 2, 'the plain (t;schema) reply: nothing more to pay');
  await publish(feed, ['IBM', 'MSFT']);
  await again.waitFor(() => rowsOf(again, 'trade').length === 1);
  t.same(symsOf(again, 'trade'), ['IBM']);
  t.equal(tp.payments?.ledger.size, 1, 'no new payment was recorded');
});

// ---- against lnd (the fake, over TLS with a macaroon) ----

async function lndTp(t: Test, fake: FakeLnd, extra: string[] = [], sink?: LogSink): Promise<Awaited<ReturnType<typeof startTp>>> {
  const dir = t.testdir();
  const mac = join(dir, 'invoice.macaroon');
  writeFileSync(mac, fake.macaroon);
  return startTp(t, {
    args: ['sym', dir, '--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', mac, ...extra],
    clock: systemClock(), ...(sink ? { sink } : {}),
  });
}

t.test('lnd: settlement during a stream outage still enables the subscriber; a duplicate settle enables once', async (t) => {
  const fake = await startFakeLnd();
  t.teardown(() => fake.stop());
  const tp = await lndTp(t, fake);
  const sub = await client(t, tp.port);
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, InvoiceDict];
  t.equal(decodePaymentRequest(reply[2].payment_request).valueMsat, 100_000n);
  await fake.streamsOpen(1);
  fake.endStreams(); // lnd going away: status OK, which must be treated as an error
  fake.settle(Buffer.from(reply[2].r_hash, 'base64'));
  await until(() => tp.tp.w.count('trade') === 1, 8000);
  t.pass('enabled after the client reconnected and caught up');
  fake.dropStreams();
  await sleep(300);
  t.equal(tp.tp.w.count('trade'), 1, 'one entry in .u.w despite the replay');
  t.equal(tp.payments?.ledger.size, 1, 'one ledger entry');
  // The same settlement told again (a replay after a reconnect): nothing changes, the file included.
  const paywall = tp.payments!.paywall;
  const settled = await tp.payments!.backend.lookupInvoice(Buffer.from(reply[2].r_hash, 'base64'));
  t.equal(settled?.state, 'SETTLED');
  paywall.processInvoice(settled!);
  paywall.processInvoice(settled!);
  t.equal(paywall.stats.settled, 1, 'settled once');
  t.equal(paywall.stats.foreign, 0, 'and not taken for a foreign payment either');
  const ledgerLines = readFileSync(tp.payments!.ledger.path, 'utf8').split('\n').filter((l) => l !== '');
  t.equal(ledgerLines.length, 1, 'one line in ledger.jsonl');
  t.equal(tp.tp.w.count('trade'), 1);
  await t.rejects(sub.sync('.dev.pay', reply[2].payment_request), { message: 'access' }, '.dev.pay does not exist with lnd');
});

t.test('lnd: a TP restarted between invoice and settlement records the payment in the ledger', async (t) => {
  const fake = await startFakeLnd();
  t.teardown(() => fake.stop());
  const dir = t.testdir();
  const mac = join(dir, 'invoice.macaroon');
  writeFileSync(mac, fake.macaroon);
  const args = ['sym', dir, '--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', mac];
  const first = await startTp(t, { args, clock: systemClock() });
  const sub = await connect({ port: first.port });
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, InvoiceDict];
  await sub.close();
  await first.close();
  fake.settle(Buffer.from(reply[2].r_hash, 'base64'));
  const second = await startTp(t, { args, clock: systemClock() });
  await until(() => (second.payments?.ledger.size ?? 0) === 1, 8000);
  const entry = [...(second.payments?.ledger.entries() ?? [])][0];
  t.equal(entry?.orphan, true, 'recorded as an orphan credit');
  t.equal(entry?.r_hash, Buffer.from(reply[2].r_hash, 'base64').toString('hex'));
});

t.test('lnd: wrong macaroon, wrong cert, lnd down: a clear reason, priced subs refused, free tables served', async (t) => {
  const fake = await startFakeLnd();
  t.teardown(() => fake.stop());
  const dir = t.testdir({ 'bad.macaroon': 'not-the-macaroon', 'pricing.json': JSON.stringify({ tables: { quote: 0 } }) });
  const cases: Array<[string, string[], RegExp]> = [
    ['wrong macaroon', ['--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', join(dir, 'bad.macaroon')], /macaroon/],
    ['wrong cert', ['--lnd', fake.host, '--lnd-tlscert', join(process.cwd(), 'test/fixtures/tls/other.cert'), '--lnd-macaroon', join(dir, 'bad.macaroon')], /certificate/],
    ['lnd down', ['--lnd', '127.0.0.1:1', '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', join(dir, 'bad.macaroon')], /unreachable/],
  ];
  for (const [name, args, reason] of cases) {
    const sink = new LogSink();
    const tp = await startTp(t, { args: [...args, '--pricing', join(dir, 'pricing.json')], sink });
    const warn = sink.lines.find((l) => l['msg'] === 'lightning unavailable');
    t.match(String(warn?.['reason']), reason, `${name}: one clear reason`);
    t.notMatch(sink.text(), /"stack"/, `${name}: no stack dump`);
    const c = await connect({ port: tp.port });
    await t.rejects(c.sync('.u.sub[`trade;`IBM]'), { message: 'lightning unavailable' }, `${name}: priced sub refused`);
    t.equal((await c.sync('.u.sub[`quote;`]') as unknown[]).length, 2, `${name}: free table served`);
    await c.close();
    await tp.close();
  }
});

t.test('lnd: down at start, then up: priced subscriptions work without a restart', async (t) => {
  const fake = await startFakeLnd();
  const port = fake.port;
  await fake.stop();
  t.teardown(() => fake.stop());
  const tp = await lndTp(t, fake);
  const sub = await client(t, tp.port);
  await t.rejects(sub.sync('.u.sub[`trade;`IBM]'), { message: 'lightning unavailable' });
  await fake.restart();
  t.equal(fake.port, port);
  await until(() => tp.payments?.backend.status().up === true, 10_000);
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as unknown[];
  t.equal(reply.length, 3, 'an invoice once lnd is back');
});

t.test('dev backend: ` over two priced tables is one combined invoice; leaving before paying clears the request and makes the payment an orphan credit', async (t) => {
  const dataDir = t.testdir();
  const tp = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', dataDir], clock: systemClock() });
  const feed = await client(t, tp.port);
  const sub = await client(t, tp.port);
  const all = await sub.sync('.u.sub[`;`IBM]') as Array<[string, unknown, InvoiceDict]>;
  t.same(all.map((x) => x[0]), ['quote', 'trade']);
  t.equal(all[0]?.[2].payment_request, all[1]?.[2].payment_request, 'both tables carry the same invoice');
  t.equal(decodePaymentRequest(all[0]?.[2].payment_request ?? '').valueMsat, 200_000n, '100 sat x 1 sym x 2 tables');
  t.equal((await feed.sync('.u.pendingInvoices') as Row[]).length, 2, 'one pending row per table');
  const payer = await client(t, tp.port);
  await payer.sync('.dev.pay', all[0]?.[2].payment_request);
  await until(() => tp.tp.w.count('trade') === 1 && tp.tp.w.count('quote') === 1);
  t.pass('one payment enabled both tables');

  const leaver = await connect({ port: tp.port });
  const reply = await leaver.sync('.u.sub[`trade;`MSFT]') as [string, unknown, InvoiceDict];
  t.equal(tp.payments?.paywall.pendingCount, 1);
  await leaver.close();
  await until(() => tp.payments?.paywall.pendingCount === 0);
  t.pass('disconnecting removed the pending request');
  await payer.sync('.dev.pay', reply[2].payment_request);
  await until(() => (tp.payments?.ledger.size ?? 0) === 2);
  const orphan = [...(tp.payments?.ledger.entries() ?? [])].find((e) => e.r_hash === Buffer.from(reply[2].r_hash, 'base64').toString('hex'));
  t.equal(orphan?.orphan, true, 'recorded as an orphan credit');
  t.equal(tp.tp.w.count('trade'), 1, 'nobody was enabled by it');
});
