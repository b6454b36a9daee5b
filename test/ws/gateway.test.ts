// The WebSocket JSON protocol end to end: `ws` clients against the tickerplant with the dev Lightning
// node, a node-q feed publishing, the same paywall and ledger as q subscribers.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '../../src/clock.js';
import type { ManualClock } from '../../src/clock.js';
import { decodePaymentRequest } from '../../src/lightning/bolt11.js';
import { originAllowed } from '../../src/ws/gateway.js';
import { open, publishQuote, publishTrades, qsym, startRig, upgradeStatus } from './fixture.js';
import { nodeq } from '../helpers/qclient.js';
import type { Msg, TestClient } from './fixture.js';
import { LogSink, startTp, T0, until } from '../helpers/tp.js';
import { startHttp } from '../../src/http/index.js';
import { createLogger } from '../../src/log.js';

const T0_MS = Number(T0 / 1_000_000n);
const symsOf = (updates: Msg[]): string[] =>
  updates.flatMap((u) => ((u['data'] as { data: { sym: string[] } }).data.sym));


t.test('a client is greeted with the tables, their columns and the payment backend', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  t.same(c.hello, {
    type: 'hello', protocol: 1, backend: 'dev',
    tables: { quote: ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'], trade: ['time', 'sym', 'price', 'size'] },
    limits: { max_payload: 65536, max_subscriptions: 16, max_syms: 256 },
  });
});

t.test('a free table subscribes at once and streams updates as columnar JSON', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', id: 1, table: 'quote' });
  t.same(await c.next('subscribed'), { type: 'subscribed', id: 1, table: 'quote', syms: [] }, 'no syms: every sym');
  t.equal(rig.app.tp.w.count('quote'), 1, 'the client is in .u.w');
  await publishQuote(rig.feed, 'IBM', 187.25, 187.5);
  t.same(await c.next('upd'), {
    type: 'upd', table: 'quote',
    data: {
      columns: ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'],
      data: { time: ['0D10:00:00.000000000'], sym: ['IBM'], bid: [187.25], ask: [187.5], bsize: [10], asize: [20] },
    },
  });
});

t.test('a filtered subscription to a multi-row update gets its rows only, read from the columns the tickerplant split', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', id: 2, table: 'quote', syms: ['IBM'] });
  t.same((await c.next('subscribed'))['syms'], ['IBM']);
  const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
  // Typed vectors, as a q feed sends columns: published from the feed's bytes, the JSON built from them on demand.
  rig.feed.async('.u.upd', qsym('quote'), [q['timespans']?.([0, 1, 2].map((i) => new Date(36_000_000 + i * 1000))),
    q['symbols']?.(['IBM', 'MSFT', 'IBM']), q['floats']?.([1.25, 2.25, 3.25]), q['floats']?.([1.5, 2.5, 3.5]),
    q['ints']?.([1, 2, 3]), q['ints']?.([4, 5, 6])]);
  await rig.feed.sync('');
  t.same((await c.next('upd'))['data'], {
    columns: ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'],
    data: { time: ['0D10:00:00.000000000', '0D10:00:02.000000000'], sym: ['IBM', 'IBM'], bid: [1.25, 3.25], ask: [1.5, 3.5], bsize: [1, 3], asize: [4, 6] },
  });
  rig.feed.async('.u.upd', qsym('quote'), [q['timespans']?.([0, 1].map((i) => new Date(36_000_000 + i * 1000))),
    q['symbols']?.(['MSFT', 'IBM']), q['floats']?.([7.25, 8.25]), q['floats']?.([7.5, 8.5]), q['ints']?.([7, 8]), q['ints']?.([9, 10])]);
  await rig.feed.sync('');
  t.same(((await c.next('upd'))['data'] as { data: unknown }).data, {
    time: ['0D10:00:01.000000000'], sym: ['IBM'], bid: [8.25], ask: [8.5], bsize: [8], asize: [10],
  }, 'one row of two');
});

t.test('a priced subscription answers an invoice; paying it with the dev node streams exactly the paid syms', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', id: 7, table: 'trade', syms: ['AAPL', 'GOOGL', 'AAPL'] });
  const inv = await c.next('invoice');
  t.equal(inv['id'], 7);
  t.equal(inv['table'], 'trade');
  t.same(inv['syms'], ['AAPL', 'GOOGL'], 'syms de-duplicated');
  t.equal(inv['amount_sat'], 200, '100 sat x 2 syms');
  t.equal(inv['expires_at'], new Date(T0_MS + 3_600_000).toISOString(), "expiry from the tickerplant's clock");
  t.equal(inv['expires_in'], 3600);
  const request = String(inv['payment_request']);
  const decoded = decodePaymentRequest(request);
  t.equal(decoded.valueMsat, 200_000n);
  t.equal(inv['r_hash'], decoded.paymentHash, 'r_hash is the hex payment hash');
  t.match(String(inv['qr_svg']), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/, 'an SVG QR code');
  t.equal(rig.payments?.paywall.pendingCount, 1, 'the request waits in .u.pendingInvoices');

  await publishTrades(rig.feed, [{ sym: 'AAPL', price: 1 }]);
  await c.sync();
  t.same(c.take('upd'), [], 'no data while the invoice is open');

  c.send({ op: 'pay', id: 8, payment_request: request });
  const payment = await c.next('payment');
  t.equal(payment['id'], 8);
  t.equal(payment['r_hash'], inv['r_hash']);
  t.equal(createHash('sha256').update(Buffer.from(String(payment['preimage']), 'hex')).digest('hex'), inv['r_hash'],
    'the preimage is the proof of payment');
  t.same(await c.next('paid'), { type: 'paid', r_hash: inv['r_hash'], tables: ['trade'], preimage: payment['preimage'] },
    'the settlement tells the buyer its proof of payment too (as when it paid from another wallet)');

  await publishTrades(rig.feed, [{ sym: 'AAPL', price: 189.5 }, { sym: 'MSFT', price: 402 }, { sym: 'GOOGL', price: 141 }]);
  await c.sync();
  const upds = c.take('upd');
  t.same(symsOf(upds), ['AAPL', 'GOOGL'], 'data for exactly the paid syms');
  const ledger = readFileSync(join(rig.dataDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(ledger.length, 1, 'one ledger entry, as for q subscribers');
  t.match(ledger[0], { r_hash: inv['r_hash'], amount_sat: 200, user: 'ws', orphan: false,
    requests: [{ table: 'trade', syms: ['AAPL', 'GOOGL'] }] });

  c.send({ op: 'pay', id: 9, payment_request: request });
  t.match(await c.next('error'), { id: 9, message: /payment failed: invoice is already paid/ });
});

t.test('a preimage re-attaches a paid subscription on a new connection without paying again', async (t) => {
  const rig = await startRig(t);
  const first = await open(t, rig.url);
  first.send({ op: 'subscribe', table: 'trade', syms: ['IBM', 'MSFT'] });
  const inv = await first.next('invoice');
  first.send({ op: 'pay', payment_request: inv['payment_request'] });
  const { preimage } = await first.next('payment');
  await first.next('paid');
  await first.close();
  await until(() => rig.app.tp.w.count('trade') === 0);

  const again = await open(t, rig.url);
  again.send({ op: 'subPaid', id: 1, table: 'trade', syms: ['IBM'], preimage: '00'.repeat(32) });
  t.same(await again.next('error'), { type: 'error', id: 1, message: 'unpaid' });
  again.send({ op: 'subPaid', id: 2, table: 'trade', syms: ['AAPL'], preimage });
  t.same(await again.next('error'), { type: 'error', id: 2, message: 'unpaid' }, 'a sym outside the payment is refused');
  again.send({ op: 'subPaid', id: 3, table: 'trade', syms: ['IBM'], preimage });
  t.same(await again.next('subscribed'), { type: 'subscribed', id: 3, table: 'trade', syms: ['IBM'] });
  await publishTrades(rig.feed, [{ sym: 'IBM', price: 1 }, { sym: 'MSFT', price: 2 }]);
  t.same(symsOf([await again.next('upd')]), ['IBM']);
  t.equal(rig.payments?.ledger.size, 1, 'no new payment was recorded');
});

t.test('a paid period about to end sends a renew message with amount, expiry and QR; paying it keeps the data coming', async (t) => {
  const rig = await startRig(t, { clock: systemClock(), paymentArgs: ['--entitlement', '1s'] });
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'trade', syms: ['IBM'] });
  const inv = await c.next('invoice');
  c.send({ op: 'pay', payment_request: inv['payment_request'] });
  await c.next('paid');
  const firstPeriodEnds = Date.now() + 1000;
  const renew = await c.next('renew');
  t.match(renew, { type: 'renew', tables: ['trade'], amount_sat: 100, payment_request: /^lnbcrt/, qr_svg: /^<svg/ });
  t.not(renew['r_hash'], inv['r_hash'], 'a new invoice');
  t.equal(renew['r_hash'], decodePaymentRequest(String(renew['payment_request'])).paymentHash);
  t.ok(Number(renew['expires_in']) > 0 && Date.parse(String(renew['expires_at'])) > Date.now(), 'not expired');
  c.send({ op: 'pay', payment_request: renew['payment_request'] });
  const renewed = await c.next('paid');
  t.same({ ...renewed, preimage: undefined }, { type: 'paid', r_hash: renew['r_hash'], tables: ['trade'], preimage: undefined });
  t.equal(createHash('sha256').update(Buffer.from(String(renewed['preimage']), 'hex')).digest('hex'), renew['r_hash'], "the renewal's proof");
  // Past the first period's end, well inside the renewed one.
  await new Promise((r) => setTimeout(r, Math.max(0, firstPeriodEnds + 100 - Date.now())));
  await publishTrades(rig.feed, [{ sym: 'IBM', price: 1 }]);
  t.same(symsOf([await c.next('upd')]), ['IBM'], 'still subscribed after the first period');
});

t.test('a paid period that ends unrenewed says so (expired) and the rows stop; paying the renewal still open resumes them', async (t) => {
  const rig = await startRig(t, { paymentArgs: ['--entitlement', '10s'] });
  const clock = rig.clock as ManualClock;
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'trade', syms: ['IBM'] });
  const inv = await c.next('invoice');
  c.send({ op: 'pay', payment_request: inv['payment_request'] });
  await c.next('paid');
  clock.advanceMs(9_000); // the renewal is offered a tenth of the period before its end
  const renew = await c.next('renew');
  clock.advanceMs(1_000);
  t.same(await c.next('expired'), { type: 'expired', r_hash: inv['r_hash'], tables: ['trade'] });
  await publishTrades(rig.feed, [{ sym: 'IBM', price: 1 }]);
  await c.sync();
  t.same(c.take('upd'), [], 'no rows after the period');
  c.send({ op: 'pay', payment_request: renew['payment_request'] });
  t.match(await c.next('paid'), { type: 'paid', r_hash: renew['r_hash'], tables: ['trade'] });
  await publishTrades(rig.feed, [{ sym: 'IBM', price: 2 }]);
  t.same(symsOf([await c.next('upd')]), ['IBM'], 'the late renewal subscribes again');
});

t.test('end of day reaches WebSocket subscribers as an end event with the q date', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'quote' });
  await c.next('subscribed');
  rig.app.tp.endOfDay();
  t.same(await c.next('end'), { type: 'end', date: '2024.01.02' });
});

t.test('unsubscribe stops the updates of that table', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'quote', syms: ['IBM'] });
  await c.next('subscribed');
  c.send({ op: 'unsubscribe', id: 2, table: 'quote' });
  t.same(await c.next('unsubscribed'), { type: 'unsubscribed', id: 2, table: 'quote' });
  t.equal(rig.app.tp.w.count('quote'), 0);
  await publishQuote(rig.feed, 'IBM', 1, 2);
  await c.sync();
  t.same(c.take('upd'), [], 'nothing after unsubscribing');
});

t.test('bad JSON, unknown ops and bad arguments answer an error, log one line each and keep the connection', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send('{not json');
  t.same(await c.next('error'), { type: 'error', message: 'bad JSON' });
  c.send({ op: 'frobnicate', id: 'x' });
  t.same(await c.next('error'), { type: 'error', id: 'x', message: 'unknown op: frobnicate' });
  c.send({ op: 'subscribe', id: 3, table: 'nosuch' });
  t.same(await c.next('error'), { type: 'error', id: 3, message: 'no such table: nosuch' });
  c.send({ op: 'subscribe', id: 4, table: 'trade', syms: 'AAPL' });
  t.same(await c.next('error'), { type: 'error', id: 4, message: 'syms must be an array of strings' });
  c.send([1, 2]);
  t.same(await c.next('error'), { type: 'error', message: 'expected a JSON object' });
  c.ws.send(Buffer.from('{"op":"ping"}'), { binary: true });
  t.match(await c.next('error'), { message: /binary frames/ });
  await c.sync();
  t.pass('the connection is still usable');
  t.equal(rig.sink.messages().filter((m) => m === 'websocket request rejected').length, 6, 'one log line per error');
});

t.test('a client that keeps failing is closed with 1008', async (t) => {
  const rig = await startRig(t, { http: { limits: { maxErrors: 3 } } });
  const c = await open(t, rig.url);
  for (let i = 0; i < 3; i++) c.send('garbage');
  const closed = await c.closed;
  t.equal(closed.code, 1008);
  t.equal(closed.reason, 'too many errors');
  t.equal(c.received.filter((m) => m.type === 'error').length, 3);
});

t.test('a frame larger than maxPayload closes the connection with 1009', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'trade', syms: ['X'.repeat(64 * 1024)] });
  t.equal((await c.closed).code, 1009);
  await until(() => rig.http.gateway.size === 0);
  t.pass('the server forgot the client');
});

t.test('a message in fragments is reassembled and answered; maxPayload bounds the sum of its fragments', async (t) => {
  const rig = await startRig(t, { http: { limits: { maxPayload: 64 } } });
  const c = await open(t, rig.url);
  const text = JSON.stringify({ op: 'ping', id: 'frag' });
  c.ws.send(text.slice(0, 5), { fin: false });
  c.ws.send(text.slice(5), { fin: true });
  t.match(await c.next('pong'), { id: 'frag' });
  c.ws.send('x'.repeat(40), { fin: false });
  c.ws.send('x'.repeat(40), { fin: true });
  t.equal((await c.closed).code, 1009, '80 bytes in two frames of 40 is over 64');
});

t.test('a text message that is not UTF-8 closes the connection with 1007 (RFC 6455 §8.1)', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  t.equal((await c.closed).code, 1007);
  await until(() => rig.http.gateway.size === 0);
});

t.test('an upgrade that is not RFC 6455 version 13 is refused with 400', async (t) => {
  const rig = await startRig(t);
  const res = await new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
    const req = request(rig.url.replace('ws:', 'http:'), {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '8', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (r) => { resolve({ status: r.statusCode ?? 0, version: r.headers['sec-websocket-version'] as string | undefined }); r.resume(); });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
  t.same(res, { status: 400, version: '13' });
  t.ok(rig.sink.messages().includes('websocket upgrade refused'));
});

t.test('subscriptions and syms per connection are limited', async (t) => {
  const rig = await startRig(t, { http: { limits: { maxSubscriptions: 1, maxSyms: 2 } } });
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', id: 1, table: 'trade', syms: ['A', 'B', 'C'] });
  t.same(await c.next('error'), { type: 'error', id: 1, message: 'at most 2 syms per subscription' });
  c.send({ op: 'subscribe', id: 2, table: 'quote', syms: ['A'] });
  await c.next('subscribed');
  c.send({ op: 'subscribe', id: 3, table: 'trade', syms: ['A'] });
  t.same(await c.next('error'), { type: 'error', id: 3, message: 'at most 1 subscriptions per connection' });
  c.send({ op: 'subscribe', id: 4, table: 'quote', syms: ['A', 'B'] });
  t.match(await c.next('subscribed'), { id: 4, syms: ['A', 'B'] }, 'changing an existing subscription is fine');
});

t.test('requests beyond the rate are refused until the clock moves on', async (t) => {
  const rig = await startRig(t, { http: { limits: { messagesPerSecond: 2 } } });
  const c = await open(t, rig.url);
  for (let i = 0; i < 5; i++) c.send({ op: 'ping', id: i });
  const err = await c.next('error');
  t.same(err, { type: 'error', message: 'rate limit: slow down' });
  t.equal(c.take('pong').length, 4, 'a burst of twice the rate passes');
  (rig.clock as ManualClock).advance(1_000_000_000n);
  c.send({ op: 'ping', id: 'later' });
  t.match(await c.next('pong'), { id: 'later' }, 'tokens come back with time');
});

t.test('closing the connection removes it from .u.w and drops its pending invoice', async (t) => {
  const rig = await startRig(t);
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'quote' });
  await c.next('subscribed');
  c.send({ op: 'subscribe', table: 'trade', syms: ['IBM'] });
  await c.next('invoice');
  t.equal(rig.payments?.paywall.pendingCount, 1);
  await c.close();
  await until(() => rig.http.gateway.size === 0);
  t.equal(rig.app.tp.w.count(), 0, 'out of .u.w');
  t.equal(rig.payments?.paywall.pendingCount, 0, 'no pending request left');
});

t.test('a client that ends its side of the TCP connection without a Close frame is gone at once, not at the next heartbeat', async (t) => {
  const rig = await startRig(t); // heartbeat off: only the FIN can end it
  const { port } = new URL(rig.url);
  const socket = connectTcp(Number(port), '127.0.0.1');
  t.teardown(() => socket.destroy());
  let reply = '';
  socket.on('data', (d: Buffer) => { reply += d.toString('latin1'); });
  socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await until(() => reply.includes('"hello"'));
  t.match(reply, /^HTTP\/1\.1 101 /);
  t.equal(rig.http.gateway.size, 1);
  socket.end();
  await until(() => rig.http.gateway.size === 0);
  t.pass('the gateway let it go');
});

t.test('an Origin from elsewhere is refused with 403; same-origin, localhost, listed and absent origins are let in', async (t) => {
  const rig = await startRig(t, { http: { allowedOrigins: ['https://app.example.com'] } });
  t.equal(await upgradeStatus(rig.url, { origin: 'https://evil.example' }), 403);
  t.equal(await upgradeStatus(rig.url, { origin: `http://127.0.0.1:${rig.http.port}` }), 0, 'same origin');
  t.equal(await upgradeStatus(rig.url, { origin: 'https://app.example.com' }), 0, 'listed');
  t.equal(await upgradeStatus(rig.url, { origin: 'http://localhost:3000' }), 403, 'a list replaces the localhost default');
  t.equal(await upgradeStatus(rig.url), 0, 'no Origin: not a browser');
  t.equal(await upgradeStatus(rig.url.replace('/ws', '/other')), 404, 'only /ws upgrades');
  t.ok(rig.sink.messages().includes('websocket origin rejected'));

  t.ok(originAllowed('http://localhost:5173', 'tp.example:8080', undefined), 'default: localhost');
  t.ok(originAllowed('http://[::1]:8000', 'tp.example:8080', undefined), 'default: IPv6 loopback');
  t.ok(originAllowed('https://tp.example:8080', 'tp.example:8080', undefined), 'default: same host');
  t.notOk(originAllowed('https://other.example', 'tp.example:8080', undefined));
  t.notOk(originAllowed('null', 'tp.example:8080', undefined), 'an opaque origin');
  t.ok(originAllowed('https://anything.example', 'tp.example:8080', ['*']), "'*' allows any");
});

t.test('the heartbeat ends a client that does not answer pings and keeps one that does', async (t) => {
  const rig = await startRig(t);
  const silent = await open(t, rig.url, { autoPong: false });
  const healthy = await open(t, rig.url);
  const pinged = (c: TestClient): Promise<void> => new Promise((r) => c.ws.once('ping', () => r()));
  const both = Promise.all([pinged(silent), pinged(healthy)]);
  rig.http.gateway.sweep();
  await both;
  await healthy.sync(); // its pong went out before this ping op, so the server has seen it
  await silent.sync();
  rig.http.gateway.sweep();
  t.equal((await silent.closed).code, 1006, 'the silent client was cut off');
  await healthy.sync();
  t.equal(rig.http.gateway.size, 1, 'the healthy client stays');
  t.ok(rig.sink.messages().includes('websocket client missed heartbeat'));
});

t.test('a client that stops reading is dropped once maxQueuedBytes pile up, and counted as a slow subscriber', async (t) => {
  let drops = 0;
  const rig = await startRig(t, { http: { limits: { maxQueuedBytes: 256 * 1024 }, onSlowConsumer: () => { drops++; } } });
  const c = await open(t, rig.url);
  c.send({ op: 'subscribe', table: 'quote' });
  await c.next('subscribed');
  c.ws.pause();
  for (let i = 0; i < 200 && rig.http.gateway.size > 0; i++) {
    const syms = Array.from({ length: 2000 }, (_, k) => `S${k}`);
    await publishQuotes(rig, syms);
  }
  t.equal(rig.http.gateway.size, 0, 'dropped');
  t.ok(rig.sink.messages().includes('slow websocket consumer dropped'));
  t.equal(drops, 1, 'tickerplant_slow_subscriber_drops_total hears of it');
  c.ws.resume(); // let it read the end of the connection
  await c.closed;
});

/** One quote per sym in one update (columns as vectors). */
async function publishQuotes(rig: Awaited<ReturnType<typeof startRig>>, syms: string[]): Promise<void> {
  rig.app.tp.upd('quote', {
    type: 0, attr: 0, items: [
      { type: 16, attr: 0, data: new BigInt64Array(syms.length).fill(36_000_000_000_000n) },
      { type: 11, attr: 0, data: syms },
      { type: 9, attr: 0, data: new Float64Array(syms.length).fill(1.5) },
      { type: 9, attr: 0, data: new Float64Array(syms.length).fill(1.75) },
      { type: 6, attr: 0, data: new Int32Array(syms.length).fill(1) },
      { type: 6, attr: 0, data: new Int32Array(syms.length).fill(2) },
    ],
  });
  await new Promise((r) => setImmediate(r));
}

t.test('with payments off every table is free and pay is refused', async (t) => {
  const rig = await startRig(t, { lightning: false });
  const c = await open(t, rig.url);
  t.equal(c.hello['backend'], 'none');
  c.send({ op: 'subscribe', id: 1, table: 'trade', syms: ['AAPL'] });
  t.same(await c.next('subscribed'), { type: 'subscribed', id: 1, table: 'trade', syms: ['AAPL'] });
  c.send({ op: 'pay', id: 2, payment_request: 'lnbcrt1' });
  t.same(await c.next('error'), { type: 'error', id: 2, message: 'pay is only available with the dev backend' });
  c.send({ op: 'subPaid', id: 3, table: 'trade', preimage: '00' });
  t.same(await c.next('error'), { type: 'error', id: 3, message: 'payments are off: subscribe instead' });
  await publishTrades(rig.feed, [{ sym: 'AAPL', price: 3 }]);
  t.same(symsOf([await c.next('upd')]), ['AAPL']);
});

t.test("a paywall whose lookup does not include the gateway's is reported instead of subscribing silently", async (t) => {
  const app = await startTp(t, { args: ['--lightning', 'dev', '--data-dir', t.testdir()] });
  const sink = new LogSink();
  const http = await startHttp({ port: 0, host: '127.0.0.1', tp: app.tp, paywall: app.payments?.paywall, log: createLogger('debug', sink), heartbeatMs: 0 });
  t.teardown(() => http.close());
  const c = await open(t, `ws://127.0.0.1:${http.port}/ws`);
  c.send({ op: 'subscribe', id: 1, table: 'trade', syms: ['IBM'] });
  t.same(await c.next('error'), { type: 'error', id: 1, message: 'internal error' });
  t.ok(sink.messages().includes('websocket request failed'), 'logged for the operator');
  t.equal(app.tp.w.count('trade'), 0);
});
