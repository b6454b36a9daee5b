// The L402 routes end to end (src/http/l402.ts as app.ts wires it): the tickerplant with a journal,
// the dev node and --http-port; a node-q feed; independent clients on the other side — npm `macaroon`
// decodes and verifies the challenge's macaroon, npm `bolt11` reads its invoice, npm `eventsource`
// (the WHATWG EventSource for Node) streams, reconnects with Last-Event-ID by itself and sees the end.
// Time is a ManualClock: the token's expiry is driven, never slept for.
import t from 'tap';
import type { Test } from 'tap';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { ManualClock } from '../../src/clock.js';
import { decode, encode } from '../../src/l402/macaroon.js';
import { ROOT_KEY_FILE } from '../../src/l402/root-key.js';
import { LEDGER_FILE } from '../../src/payments/index.js';
import type { App } from '../../src/app.js';
import type { InvoiceBackend } from '../../src/payments/index.js';
import { connect } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { LogSink, startTp, T0, until } from '../helpers/tp.js';
import { publishQuote, publishTrades } from '../ws/fixture.js';

const require = createRequire(import.meta.url);
interface JsMacaroon {
  readonly identifier: Uint8Array;
  readonly location: string;
  readonly caveats: Array<{ identifier: Uint8Array }>;
  exportBinary(): Uint8Array;
  addFirstPartyCaveat(c: string): void;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null): void;
}
const macaroons = require('macaroon') as {
  importMacaroon(b: Uint8Array): JsMacaroon;
  newMacaroon(o: { identifier: Uint8Array; rootKey: Uint8Array; version: number }): JsMacaroon;
};
const bolt11 = require('bolt11') as { decode(pr: string): { tagsObject: { payment_hash?: string }; satoshis: number | null } };

interface Rig {
  readonly app: App;
  readonly base: string;
  readonly feed: QClient;
  readonly clock: ManualClock;
  readonly sink: LogSink;
  readonly dataDir: string;
  readonly dst: string;
}

/** The app with a journal, the dev node and (by default) quote free; `users`: a -u file's contents. */
async function rig(t: Test, extra: string[] = [], users?: string, pricing: unknown = { default: 100, tables: { quote: 0 } }): Promise<Rig> {
  const clock = new ManualClock(T0);
  const sink = new LogSink();
  const dataDir = t.testdir({ 'pricing.json': JSON.stringify(pricing), journal: {}, ...(users ? { users } : {}) });
  const dst = join(dataDir, 'journal');
  if (users) extra = ['-u', join(dataDir, 'users'), ...extra];
  const app = await startTp(t, {
    clock, sink,
    args: ['sym', dst, '--lightning', 'dev', '--data-dir', dataDir, '--pricing', join(dataDir, 'pricing.json'), '--http-port', '0',
      '--host', '127.0.0.1', ...extra],
  });
  const [user, password] = (users ?? ':').trim().split('\n')[0]?.split(':') ?? [];
  const feed = await connect({ port: app.port, ...(users ? { user, password } : {}) });
  t.teardown(() => feed.close());
  return { app, base: `http://127.0.0.1:${app.httpPort}`, feed, clock, sink, dataDir, dst };
}

interface Challenge { readonly macaroon: string; readonly invoice: string; readonly body: Record<string, unknown> }

async function challengeOf(t: Test, url: string, headers: Record<string, string> = {}): Promise<Challenge> {
  const res = await fetch(url, { headers });
  t.equal(res.status, 402, 'unpaid: 402 Payment Required');
  const header = res.headers.get('www-authenticate') ?? '';
  // Two challenges (fetch joins them with ", "): bLIP-26's L402, then the same under LSAT for older clients.
  const m = /^L402 macaroon="([A-Za-z0-9+/=]+)", invoice="([a-z0-9]+)", LSAT macaroon="\1", invoice="\2"$/.exec(header);
  if (!m) throw new Error(`not an L402 challenge: ${header}`);
  return { macaroon: m[1] as string, invoice: m[2] as string, body: await res.json() as Record<string, unknown> };
}

function pay(app: App, invoice: string): string {
  const backend = app.payments?.backend as InvoiceBackend;
  return (backend.pay as (pr: string) => { preimage: Buffer })(invoice).preimage.toString('hex');
}

interface Received { readonly type: string; readonly id: string; readonly data: Record<string, unknown> }

/** An EventSource whose requests carry `headers`, recording every event and every request's headers. */
function stream(t: Test, url: string, headers: Record<string, string>): {
  es: EventSource; events: Received[]; requests: Array<Record<string, string>>; cut: () => void; gate: (open: Promise<void>) => void;
  /** Streams opened so far (the first, then each reconnect). */
  readonly opens: number;
} {
  const events: Received[] = [];
  const requests: Array<Record<string, string>> = [];
  let current: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      const sent = { ...(init.headers as Record<string, string>), ...headers };
      requests.push(sent);
      if (hold) { const h = hold; hold = undefined; await h; }
      const res = await fetch(input, { ...init, headers: sent });
      if (!res.body) return res;
      // A body the test can cut: the connection is aborted (the server sees it close) and the
      // EventSource sees its stream end, as when a network drops.
      const reader = res.body.getReader();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(c) { controller = c; },
        async pull(c) {
          try {
            const { done, value } = await reader.read();
            if (done) c.close(); else c.enqueue(value);
          } catch { try { c.close(); } catch { /* already closed */ } }
        },
      });
      current = () => { void reader.cancel(); try { controller.close(); } catch { /* already closed */ } };
      return new Response(body, { status: res.status, headers: res.headers });
    },
  });
  for (const type of ['upd', 'end', 'expired', 'replaced', 'skipped']) {
    es.addEventListener(type, (e) => {
      const m = e as unknown as { lastEventId: string; data: string };
      events.push({ type, id: m.lastEventId, data: JSON.parse(m.data) as Record<string, unknown> });
    });
  }
  let opens = 0;
  es.addEventListener('open', () => { opens++; });
  t.teardown(() => es.close());
  return { es, events, requests, cut: () => current?.(), gate: (open) => { hold = open; }, get opens() { return opens; } };
}

const symsOf = (events: Received[]): string[] => events.filter((e) => e.type === 'upd')
  .flatMap((e) => ((e.data['data'] as { data: { sym: string[] } }).data.sym));
const opened = (es: EventSource): Promise<void> => new Promise((resolve, reject) => {
  es.addEventListener('open', () => resolve(), { once: true });
  es.addEventListener('error', (e) => reject(new Error(`stream failed: ${(e as unknown as { code?: number }).code}`)), { once: true });
});

t.test('L402: 402 with an independent macaroon, pay, stream in order, resume with Last-Event-ID, expiry ends it', async (t) => {
  const r = await rig(t, ['--entitlement', '1h']);
  const url = `${r.base}/l402/stream?table=trade&syms=AAPL,GOOGL`;
  const c = await challengeOf(t, url);
  t.match(c.body, { code: 'payment_required', amount_sat: 200, invoice: c.invoice });

  // The macaroon, read and verified by npm macaroon with our root key; the identifier is aperture's.
  const rootKey = readFileSync(join(r.dataDir, ROOT_KEY_FILE));
  const m = macaroons.importMacaroon(new Uint8Array(Buffer.from(c.macaroon, 'base64')));
  const caveats: string[] = [];
  m.verify(new Uint8Array(rootKey), (cond) => { caveats.push(cond); return null; });
  const expires = Math.floor(Number(T0 / 1_000_000_000n)) + 3600;
  t.same(caveats, ['table=trade', 'syms=AAPL,GOOGL', `expires=${expires}`], 'its caveats: table, syms, expiry');
  const id = Buffer.from(m.identifier);
  t.equal(id.readUInt16BE(0), 0, 'identifier version 0');
  const invoice = bolt11.decode(c.invoice);
  t.equal(id.subarray(2, 34).toString('hex'), invoice.tagsObject.payment_hash, 'the payment hash of the invoice (bolt11 decodes it)');
  t.equal(invoice.satoshis, 200, 'priced as .u.sub: 100 sat per sym');

  t.match(await (await fetch(url, { headers: { authorization: `L402 ${c.macaroon}:${randomBytes(32).toString('hex')}` } })).json(),
    { code: 'bad_token' }, 'a preimage that is not the payment is refused');
  const preimage = pay(r.app, c.invoice);
  t.equal(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest().toString('hex'), invoice.tagsObject.payment_hash);
  const auth = { authorization: `L402 ${c.macaroon}:${preimage}` };

  const s = stream(t, url, auth);
  await opened(s.es);
  await until(() => r.app.tp.w.count('trade') === 1);
  await publishTrades(r.feed, [{ sym: 'AAPL', price: 1 }, { sym: 'MSFT', price: 2 }, { sym: 'GOOGL', price: 3 }, { sym: 'AAPL', price: 4 }]);
  await until(() => s.events.length === 3);
  t.same(symsOf(s.events), ['AAPL', 'GOOGL', 'AAPL'], 'the paid syms only, in order');
  t.same(s.events.map((e) => e.id), ['2024.01.02:1', '2024.01.02:3', '2024.01.02:4'], 'id: the journal day and position');
  t.same((s.events[0]?.data['data'] as { columns: string[] }).columns, ['time', 'sym', 'price', 'size']);

  const upds = (): Received[] => s.events.filter((e) => e.type === 'upd');
  // The network drops: the EventSource reconnects by itself with Last-Event-ID; meanwhile rows arrive.
  let release!: () => void;
  s.gate(new Promise<void>((resolve) => { release = resolve; }));
  s.cut();
  await until(() => r.app.tp.w.count('trade') === 0 && s.requests.length === 2);
  await publishTrades(r.feed, [{ sym: 'GOOGL', price: 5 }, { sym: 'IBM', price: 6 }, { sym: 'AAPL', price: 7 }]);
  release();
  await until(() => upds().length === 5);
  t.equal(s.requests[1]?.['Last-Event-ID'], '2024.01.02:4', 'the client asked to resume after the last id it saw');
  t.same(symsOf(s.events).slice(3), ['GOOGL', 'AAPL'], 'exactly the missed rows, from the journal');
  t.same(upds().slice(3).map((e) => e.id), ['2024.01.02:5', '2024.01.02:7']);
  await until(() => r.app.tp.w.count('trade') === 1);
  await publishTrades(r.feed, [{ sym: 'AAPL', price: 8 }]);
  await until(() => upds().length === 6);
  t.same(symsOf(s.events), ['AAPL', 'GOOGL', 'AAPL', 'GOOGL', 'AAPL', 'AAPL'], 'then live: no gap, nothing twice');
  t.equal(upds()[5]?.id, '2024.01.02:8');

  // The token's expiry caveat: the stream ends with a final event; the client's retry is refused.
  r.clock.advanceMs(3600 * 1000 - 1000);
  await publishTrades(r.feed, [{ sym: 'GOOGL', price: 9 }]);
  await until(() => upds().length === 7);
  r.clock.advanceMs(1000);
  await until(() => s.events.some((e) => e.type === 'expired'));
  t.match(s.events.at(-1), { type: 'expired', data: { code: 'expired' } });
  await until(() => s.es.readyState === EventSource.CLOSED, 10_000);
  t.equal(s.requests.length, 3, 'it tried once more and was refused');
  t.equal(r.app.tp.w.count('trade'), 0);
  const after = await fetch(url, { headers: auth });
  t.equal(after.status, 402, 'an expired token is answered with a fresh challenge (bLIP-26), so a client pays again');
  t.match(after.headers.get('www-authenticate'), /^L402 macaroon="/);
  t.match(await after.json(), { code: 'expired', invoice: /^lnbcrt/ });

  const ledger = readFileSync(join(r.dataDir, 'journal', LEDGER_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(ledger.filter((l) => l['r_hash'] === invoice.tagsObject.payment_hash).length, 1, 'the settlement is in the ledger once');
  t.equal(ledger.length, 1);

  // Neither the macaroon nor the preimage reaches the log, in any encoding.
  const logged = r.sink.text();
  for (const secret of [c.macaroon, Buffer.from(c.macaroon, 'base64').toString('hex'), preimage, Buffer.from(preimage, 'hex').toString('base64')]) {
    t.notOk(logged.includes(secret), 'a secret is not in the log');
  }
  t.ok(r.sink.messages().includes('sse stream started'), 'the log sink did hear the routes');
});

t.test('one payment, one stream: a second L402 stream takes it over (a buyer whose network changed) and replays what the dropped one lost, at most once a minute; a q holder is never taken from', async (t) => {
  const r = await rig(t, ['--entitlement', '1h']);
  const url = `${r.base}/l402/stream?table=trade&syms=AAPL`;
  const c = await challengeOf(t, url);
  const preimage = pay(r.app, c.invoice);
  const auth = { authorization: `L402 ${c.macaroon}:${preimage}` };
  const upds = (x: { events: Received[] }): Received[] => x.events.filter((e) => e.type === 'upd');
  const prices = (x: { events: Received[] }): number[] => upds(x).flatMap((e) => (e.data['data'] as { data: { price: number[] } }).data.price);
  const first = stream(t, url, auth);
  first.es.addEventListener('replaced', () => first.es.close()); // its network is gone: it never comes back
  await opened(first.es);
  await until(() => r.app.tp.w.count('trade') === 1);
  await publishTrades(r.feed, [{ sym: 'AAPL', price: 1 }, { sym: 'AAPL', price: 2 }]);
  await until(() => first.events.length === 2);
  const [one] = first.events.map((e) => e.id) as [string, string];

  // The buyer's new connection, while the old one is still open here, resumes after the first row: the
  // second, written to the dead connection, is sent again.
  const second = stream(t, url, { ...auth, 'Last-Event-ID': one });
  await opened(second.es);
  await until(() => first.events.some((e) => e.type === 'replaced'));
  t.match(first.events.at(-1), { type: 'replaced', data: { code: 'in_use' } }, 'the old stream ends, told why');
  await until(() => upds(second).length === 1);
  t.same(prices(second), [2], 'what the dropped connection lost is replayed');
  await until(() => r.app.tp.w.count('trade') === 1);
  await publishTrades(r.feed, [{ sym: 'AAPL', price: 3 }]);
  await until(() => upds(second).length === 2);
  t.same(prices(second), [2, 3], 'then live');
  t.equal(r.app.tp.w.count('trade'), 1, 'one stream at a time');

  // Within the minute, holders of one token taking it from each other share one stream: a third,
  // resuming from the start, is sent nothing the second was offered, and says so.
  second.es.addEventListener('replaced', () => second.es.close());
  const third = stream(t, url, { ...auth, 'Last-Event-ID': '2024.01.02:0' });
  third.es.addEventListener('replaced', () => third.es.close());
  await opened(third.es);
  await until(() => third.events.length > 0);
  t.match(third.events[0], { type: 'skipped', data: { from: '2024.01.02:0', to: '2024.01.02:3', code: 'taken_over' } });
  await until(() => r.app.tp.w.count('trade') === 1);

  // A minute on, a takeover replays again, but only the last 1,024 rows the old stream was sent.
  r.clock.advanceMs(60_000);
  await publishTrades(r.feed, Array.from({ length: 1030 }, (_, i) => ({ sym: 'AAPL', price: 10 + i })));
  await until(() => upds(third).length === 1030, 10_000);
  const fourth = stream(t, url, { ...auth, 'Last-Event-ID': '2024.01.02:0' });
  await opened(fourth.es);
  await until(() => upds(fourth).length === 1024, 10_000);
  t.match(fourth.events[0], { type: 'skipped', data: { from: '2024.01.02:0', to: '2024.01.02:9' } }, 'the rest is skipped, said once');
  t.same(prices(fourth).slice(0, 2), [16, 17], 'the replay starts with the oldest of the last 1,024');
  t.equal(prices(fourth).at(-1), 1039);
  fourth.es.close();
  await until(() => r.app.tp.w.count('trade') === 0);

  // The same payment claimed over q (.u.subPaid with the preimage) is not taken from it: 409.
  const q = await connect({ port: r.app.port });
  t.teardown(() => q.close());
  await q.sync(`.u.subPaid[\`trade;\`AAPL;"${preimage}"]`);
  const refused = await fetch(url, { headers: auth });
  t.equal(refused.status, 409);
  t.match(await refused.json(), { code: 'in_use' });
});

t.test('a forged token, one for another table or other syms, or an unknown id is refused with a stable code', async (t) => {
  const r = await rig(t, [], undefined, { default: 100 }); // every table priced
  const url = (q: string): string => `${r.base}/l402/stream?${q}`;
  const c = await challengeOf(t, url('table=trade&syms=AAPL'));
  const preimage = pay(r.app, c.invoice);
  const status = async (u: string, authorization: string): Promise<[number, unknown]> => {
    const res = await fetch(u, { headers: { authorization } });
    const body = await res.json() as Record<string, unknown>;
    t.notOk(JSON.stringify(body).includes('/'), 'no path in an error');
    return [res.status, body['code']];
  };
  const good = `L402 ${c.macaroon}:${preimage}`;
  const ok = await fetch(url('table=trade&syms=AAPL'), { headers: { authorization: good } });
  t.equal(ok.status, 200, 'the genuine token streams');
  t.match(ok.headers.get('content-type'), /^text\/event-stream/);
  await ok.body?.cancel();
  t.same(await status(url('table=quote&syms=AAPL'), good), [402, 'bad_token'], 'another table');
  t.same(await status(url('table=trade&syms=MSFT'), good), [402, 'bad_token'], 'other syms');
  t.same(await status(url('table=trade'), good), [402, 'bad_token'], 'every sym is more than AAPL');
  // Same identifier, widened caveats, signed with a key that is not ours (npm macaroon).
  const id = macaroons.importMacaroon(new Uint8Array(Buffer.from(c.macaroon, 'base64'))).identifier;
  const forged = macaroons.newMacaroon({ identifier: id, rootKey: new Uint8Array(randomBytes(32)), version: 2 });
  for (const cv of ['table=trade', 'syms=*', 'expires=4102444800']) forged.addFirstPartyCaveat(cv);
  const forgedB64 = Buffer.from(forged.exportBinary()).toString('base64');
  t.same(await status(url('table=trade&syms=MSFT'), `L402 ${forgedB64}:${preimage}`), [402, 'bad_token'], 'forged');
  t.same(await status(url('table=trade&syms=AAPL'), `L402 ${c.macaroon.slice(0, -8)}:${preimage}`), [402, 'bad_token'], 'truncated');
  t.same(await status(url('table=trade&syms=AAPL'), `L402 ${c.macaroon}`), [402, 'bad_token'], 'no preimage');
  const q = await status(url('table=nosuch'), good);
  t.same(q, [404, 'no_such_table']);
  const bad = await fetch(url('table=trade&syms=AAPL'), { headers: { authorization: good, 'last-event-id': 'x' } });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { code: 'bad_last_event_id' });
  const ahead = await fetch(url('table=trade&syms=AAPL'), { headers: { authorization: good, 'last-event-id': '2024.01.02:99' } });
  t.equal(ahead.status, 400, 'a position the journal has not reached');
  await ahead.body?.cancel();
});

t.test('a free table streams at once, the same JSON the WebSocket gateway sends', async (t) => {
  const r = await rig(t);
  const s = stream(t, `${r.base}/l402/stream?table=quote&syms=IBM`, {});
  await opened(s.es);
  const ws = new WebSocket(`ws://127.0.0.1:${r.app.httpPort}/ws`);
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
  t.teardown(() => ws.close());
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ op: 'subscribe', table: 'quote', syms: ['IBM'] }));
  await until(() => frames.some((f) => f['type'] === 'subscribed'));
  await until(() => r.app.tp.w.count('quote') === 2);
  await publishQuote(r.feed, 'IBM', 10, 11);
  await until(() => s.events.length === 1 && frames.some((f) => f['type'] === 'upd'));
  t.same(s.events[0]?.data, frames.find((f) => f['type'] === 'upd'), 'byte for byte the gateway message');
  t.equal(s.events[0]?.id, '2024.01.02:1');
});

t.test('a sym that cannot be any feed\'s (a control character, a bad %-escape, too long) is a bad_request before an invoice', async (t) => {
  const r = await rig(t);
  for (const syms of ['AA%01PL', '%FF', 'A%E2%82', 'X'.repeat(65), 'AAPL,,IBM']) {
    const res = await fetch(`${r.base}/l402/stream?table=trade&syms=${syms}`);
    t.equal(res.status, 400, syms);
    t.match(await res.json(), { code: 'bad_request' });
  }
  t.equal(r.app.payments?.paywall.stats.invoices, 0, 'nothing was offered');
});

t.test('a path under /l402/ that is no route is a JSON not_found, as the routes answer', async (t) => {
  const r = await rig(t);
  const res = await fetch(`${r.base}/l402/nope?table=trade`);
  t.equal(res.status, 404);
  t.same(await res.json(), { code: 'not_found', message: 'no such route' });
  t.equal(r.app.payments?.paywall.stats.invoices, 0);
});

t.test('without a journal the snapshot is refused before any invoice is minted (the stream is still sold)', async (t) => {
  const dataDir = t.testdir();
  const app = await startTp(t, {
    clock: new ManualClock(T0),
    args: ['sym', '--lightning', 'dev', '--data-dir', dataDir, '--http-port', '0', '--host', '127.0.0.1'],
  });
  const res = await fetch(`http://127.0.0.1:${app.httpPort}/l402/snapshot?table=trade&syms=AAPL`);
  t.equal(res.status, 503);
  t.match(await res.json(), { code: 'no_journal' });
  t.equal(app.payments?.paywall.stats.invoices, 0, 'nothing to pay for was offered');
  const stream = await fetch(`http://127.0.0.1:${app.httpPort}/l402/stream?table=trade&syms=AAPL`);
  t.equal(stream.status, 402, 'the stream needs no journal');
  await stream.body?.cancel();
});

t.test('the snapshot is one paid JSON reply of the last row per sym today', async (t) => {
  const r = await rig(t);
  const url = `${r.base}/l402/snapshot?table=trade&syms=AAPL,GOOGL,IBM`;
  await publishTrades(r.feed, [{ sym: 'AAPL', price: 1 }, { sym: 'GOOGL', price: 2 }, { sym: 'AAPL', price: 3, size: 7 }, { sym: 'MSFT', price: 4 }]);
  const c = await challengeOf(t, url);
  t.equal(c.body['amount_sat'], 300);
  const auth = `L402 ${c.macaroon}:${pay(r.app, c.invoice)}`;
  const res = await fetch(url, { headers: { authorization: auth } });
  t.equal(res.status, 200);
  const snap = await res.json() as { table: string; id: string; data: { columns: string[]; data: Record<string, unknown[]> } };
  t.equal(snap.table, 'trade');
  t.equal(snap.id, '2024.01.02:4');
  t.same(snap.data.data['sym'], ['AAPL', 'GOOGL'], 'IBM has no row today');
  t.same(snap.data.data['price'], [3, 2]);
  t.same(snap.data.data['size'], [7, 100]);
  await publishTrades(r.feed, [{ sym: 'GOOGL', price: 5 }]);
  const again = await (await fetch(url, { headers: { authorization: auth } })).json() as typeof snap;
  t.same(again.data.data['price'], [3, 5], 'read on from where the last one stopped');
  t.equal(again.id, '2024.01.02:5');

  // aperture's gRPC-style clients: the macaroon alone, in hex, with the preimage added as a first-party
  // caveat (the macaroon's signature chained through HMAC-SHA256 keyed by the signature before it).
  const [token, preimage] = auth.slice('L402 '.length).split(':') as [string, string];
  const m = decode(Buffer.from(token, 'base64'));
  const caveat = `preimage=${preimage}`;
  const paid = encode({ ...m, caveats: [...m.caveats, caveat], signature: createHmac('sha256', m.signature).update(caveat).digest() }).toString('hex');
  for (const header of ['grpc-metadata-macaroon', 'macaroon']) {
    const res = await fetch(url, { headers: { [header]: paid } });
    t.equal(res.status, 200, `${header}: the paid macaroon alone is a token`);
    await res.body?.cancel();
  }
  const bare = await fetch(url, { headers: { macaroon: encode(m).toString('hex') } });
  t.equal(bare.status, 402, 'without the preimage caveat it is no proof of payment');
  t.match(await bare.json(), { code: 'bad_token' });
});

t.test('the same request again gets the same invoice (lnget asks twice per purchase); new ones are capped per peer address', async (t) => {
  const r = await rig(t, ['--max-pending-per-conn', '2']);
  const url = (syms: string): string => `${r.base}/l402/stream?table=trade&syms=${syms}`;
  const first = await challengeOf(t, url('AAPL'));
  const again = await challengeOf(t, url('AAPL'));
  t.equal(again.invoice, first.invoice, 'the invoice still open, with a macaroon of its own');
  t.not(again.macaroon, first.macaroon);
  await challengeOf(t, url('GOOGL'));
  const third = await fetch(url('MSFT'));
  t.equal(third.status, 429);
  t.match(await third.json(), { code: 'pending' });
});

t.test('-u applies to the L402 routes too', async (t) => {
  const basic = (pw: string): string => `Basic ${Buffer.from(`alice:${pw}`).toString('base64')}`;
  t.test('without --l402-public every route is refused under -u, credentials or not', async (t) => {
    const r = await rig(t, [], 'alice:wonderland\n');
    for (const path of ['/l402/stream?table=trade&syms=AAPL', '/l402/stream?table=quote', '/l402/snapshot?table=trade',
      '/l402/stream?table=nosuch', '/l402/snapshot?syms=AAPL']) { // the same answer whether the table exists or not
      const res = await fetch(r.base + path, { headers: { authorization: basic('wonderland') } });
      t.equal(res.status, 403, `${path}: refused under -u`);
      t.match(await res.json(), { code: 'l402_off' });
    }
  });
  t.test('with --l402-public a free table still needs the -u credentials, a priced one a payment', async (t) => {
    const r = await rig(t, ['--l402-public'], 'alice:wonderland\n');
    const free = `${r.base}/l402/stream?table=quote`;
    const anon = await fetch(free);
    t.equal(anon.status, 401, 'a free table still needs -u');
    t.match(anon.headers.get('www-authenticate'), /^Basic /);
    t.match(await anon.json(), { code: 'access' });
    const wrong = await fetch(free, { headers: { authorization: basic('x') } });
    t.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const s = stream(t, free, { authorization: basic('wonderland') });
    await opened(s.es);
    t.pass('with Basic credentials it streams');
    await challengeOf(t, `${r.base}/l402/stream?table=trade&syms=AAPL`);
    t.notOk(r.sink.text().includes('wonderland'), 'no password in the log');
  });
});

t.test('batch mode (-t): ids are the journal position of each publish, and a resume neither skips nor repeats buffered rows', async (t) => {
  const r = await rig(t, ['-t', '100']);
  const url = `${r.base}/l402/stream?table=quote`;
  const a = stream(t, url, {});
  await opened(a.es);
  await until(() => r.app.tp.w.count('quote') === 1);
  await publishQuote(r.feed, 'IBM', 1, 2);
  await publishQuote(r.feed, 'MSFT', 3, 4);
  t.equal(a.events.length, 0, 'held until the timer');
  r.clock.advanceMs(100);
  await until(() => a.events.length === 1);
  t.equal(a.events[0]?.id, '2024.01.02:2', 'one publish of two records');
  t.same(symsOf(a.events), ['IBM', 'MSFT']);
  a.es.close();
  await until(() => r.app.tp.w.count('quote') === 0);
  await publishQuote(r.feed, 'AAPL', 5, 6);
  r.clock.advanceMs(100); // published while away: read back from the journal
  await publishQuote(r.feed, 'GOOGL', 7, 8); // journaled, not yet published
  const b = stream(t, url, { 'Last-Event-ID': a.events[0]?.id as string });
  await opened(b.es);
  await until(() => b.events.length === 1 && r.app.tp.w.count('quote') === 1);
  t.same(b.events.map((e) => [e.id, symsOf([e])]), [['2024.01.02:3', ['AAPL']]], 'the published row it missed');
  r.clock.advanceMs(100);
  await until(() => b.events.length === 2);
  t.same(b.events.map((e) => [e.id, symsOf([e])]), [['2024.01.02:3', ['AAPL']], ['2024.01.02:4', ['GOOGL']]], 'then the buffered one, once');
  r.clock.advanceMs(100);
  await publishQuote(r.feed, 'IBM', 9, 9);
  r.clock.advanceMs(100);
  await until(() => b.events.length === 3);
  t.equal(b.events[2]?.id, '2024.01.02:5');
});

t.test('end of day reaches the stream as event: end, and ids start again in the new day', async (t) => {
  const r = await rig(t);
  const s = stream(t, `${r.base}/l402/stream?table=quote`, {});
  await opened(s.es);
  await until(() => r.app.tp.w.count('quote') === 1);
  await publishQuote(r.feed, 'IBM', 1, 2);
  await until(() => s.events.length === 1);
  r.clock.advanceMs(15 * 3600 * 1000); // past midnight: the day check ends 2024.01.02
  await until(() => s.events.length === 2);
  t.match(s.events[1], { type: 'end', data: { type: 'end', date: '2024.01.02' } });
  await publishQuote(r.feed, 'IBM', 3, 4);
  await until(() => s.events.length === 3);
  t.equal(s.events[2]?.id, '2024.01.03:1');
  // A client that slept through midnight with yesterday's id resumes today from its start.
  s.es.close();
  await until(() => r.app.tp.w.count('quote') === 0);
  const late = stream(t, `${r.base}/l402/stream?table=quote`, { 'Last-Event-ID': '2024.01.02:1' });
  await until(() => late.events.length === 1);
  t.same(late.events.map((e) => e.id), ['2024.01.03:1']);
});
