// The money model against lnd's real semantics (the fake lnd over TLS): only booked invoices count,
// credits are claimable, one payment holds one stream, lnd's lifecycle drives the pending rows, minting
// is bounded, and disk faults lose nothing. Time is a ManualClock; gRPC events are awaited.
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { BOOK_FILE, EXPIRY_CHECKS_MS, LEDGER_FILE, MAX_DESCRIPTION_BYTES } from '../../src/payments/index.js';
import type { Offer } from '../../src/payments/index.js';
import { decodePaymentRequest } from '../../src/lightning/bolt11.js';
import { eventually, FlakyFile, lndFor, startPaymentsRig } from './harness.js';
import { ManualClock } from '../../src/clock.js';
import { T0 } from '../helpers/tp.js';
import { float, int, list, sym } from '../../src/ipc/index.js';

const invoiceOf = (offers: Offer[]): { hash: string; paymentRequest: string; expiresAt: number } => {
  const o = offers.find((x) => x.kind === 'invoice');
  if (!o || o.kind !== 'invoice') throw new Error(`no invoice in ${JSON.stringify(offers)}`);
  return o.invoice;
};
const hashBuf = (hex: string): Buffer => Buffer.from(hex, 'hex');

t.test('settlements of invoices not in the book (another app, keysend, AMP) earn nothing and are counted foreign', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const { paywall, ledger } = rig.payments;
  fake.foreign(5000n);
  fake.keysend(700n);
  fake.amp(300n);
  await eventually(() => paywall.stats.foreign === 3);
  t.equal(ledger.size, 0, 'nothing in the ledger');
  t.equal(paywall.stats.satsEarned, 0);
  t.equal(paywall.stats.settled, 0);
  const b = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => paywall.stats.settled === 1);
  t.equal(paywall.stats.satsEarned, 100, 'only our invoice is revenue');
  t.equal(ledger.size, 1);
  t.ok(rig.tp.w.has('trade', 1), 'and its buyer is enabled');
});

t.test('a spontaneous AMP payment (listed by lnd with no r_hash) does not keep the backend down: a fresh start still sells', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  fake.ampSpontaneous(1n); // anyone can send one for a sat
  fake.keysend(700n);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  t.ok(rig.payments.backend.status().up, 'the rescan of ListInvoices went through');
  const b = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  t.equal(rig.payments.paywall.stats.foreign, 1, 'the keysend is foreign; the AMP entry never reached the paywall');
});

t.test('a fresh start against an lnd with settled history books nothing old', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  for (let i = 0; i < 5; i++) fake.foreign(BigInt(100 + i));
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  await eventually(() => rig.payments.paywall.stats.foreign === 5);
  t.equal(rig.payments.ledger.size, 0);
  t.equal(rig.payments.paywall.stats.orphans, 0, 'no orphan credits either');
});

t.test('every invoice is in the book, fsynced, before the buyer gets it; the book says who asked and what for', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  const inv = invoiceOf(await rig.sub(rig.buyer(7), ['trade'], ['IBM', 'MSFT']));
  const lines = readFileSync(join(dir, BOOK_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 1);
  const stored = fake.find(hashBuf(inv.hash));
  t.match(lines[0], {
    op: 'mint', r_hash: inv.hash, amount_sat: 200, requests: [{ table: 'trade', syms: ['IBM', 'MSFT'] }],
    user: 'alice', handle: 7, peer: '127.0.0.1:1', created: stored?.creationDate, expiry: 3600, kind: 'Invoice',
  });
});

t.test('a buyer who left before paying holds a credit for exactly what the book says, claimable with the preimage', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const b = rig.buyer(3);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  rig.leave(b);
  t.equal(rig.payments.paywall.pendingCount, 0, 'the request left with the buyer');
  const paid = fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.payments.ledger.size === 1);
  t.match(rig.payments.ledger.get(inv.hash), { orphan: true, requests: [{ table: 'trade', syms: ['IBM'] }], amount_sat: 100 });
  const back = rig.buyer(4);
  const preimage = paid.preimage.toString('hex');
  t.match(rig.payments.paywall.subPaid(back, 'trade', new Set(['MSFT']), preimage), { kind: 'refused', error: 'unpaid' }, 'not what was bought');
  t.match(rig.payments.paywall.subPaid(back, 'quote', new Set(['IBM']), preimage), { kind: 'refused', error: 'unpaid' });
  t.match(rig.payments.paywall.subPaid(back, 'trade', new Set(['IBM']), preimage), { kind: 'claimed', hash: inv.hash });
  t.ok(rig.tp.w.has('trade', 4));
});

t.test('a payment settled while the tickerplant was down is a claimable credit after the restart', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const first = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  const inv = invoiceOf(await first.sub(first.buyer(1), ['trade'], null));
  await first.payments.close();
  const paid = fake.settle(hashBuf(inv.hash));
  const second = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  await eventually(() => second.payments.ledger.size === 1);
  t.match(second.payments.ledger.get(inv.hash), { orphan: true, requests: [{ table: 'trade', syms: null }] });
  t.match(second.payments.paywall.subPaid(second.buyer(9), 'trade', new Set(['AAPL']), paid.preimage.toString('base64')), { kind: 'claimed' });
});

t.test('one payment, one stream without --entitlement: another connection is in use until the payer leaves', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const payer = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(payer, ['trade'], ['IBM']));
  const paid = fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  const other = rig.buyer(2);
  const preimage = paid.preimage.toString('hex');
  t.match(rig.payments.paywall.subPaid(other, 'trade', new Set(['IBM']), preimage), { kind: 'refused', error: 'in use' });
  t.notOk(rig.tp.w.has('trade', 2));
  rig.leave(payer);
  t.match(rig.payments.paywall.subPaid(other, 'trade', new Set(['IBM']), preimage), { kind: 'claimed' });
  const third = rig.buyer(3);
  t.match(rig.payments.paywall.subPaid(third, 'trade', new Set(['IBM']), preimage), { kind: 'refused', error: 'in use' }, 'now the second holds it');
});

t.test('an invoice lnd canceled (seen in ListInvoices) loses its pending row at once', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], ['IBM']));
  t.equal(rig.payments.paywall.pendingCount, 1);
  fake.cancel(hashBuf(inv.hash));
  fake.dropStreams(); // the client reconnects and reconciles with ListInvoices
  await eventually(() => rig.payments.paywall.pendingCount === 0);
  t.equal(rig.payments.paywall.stats.canceled, 1);
});

t.test("the local expiry is lnd's creation_date + expiry, not our clock before AddInvoice", async (t) => {
  const clock = new ManualClock(T0);
  // lnd's clock is 30 s behind ours: it stops accepting payment 30 s earlier than our clock would say.
  const lndClock = { nowNanos: () => clock.nowNanos() - 30_000_000_000n };
  const { fake, backend } = await lndFor(t, lndClock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], ['IBM']));
  t.equal(inv.expiresAt, (fake.find(hashBuf(inv.hash))?.creationDate ?? 0) * 1000 + 3_600_000);
  clock.advanceMs(3_600_000 - 30_000 - 1);
  t.equal(rig.payments.paywall.pendingCount, 1, 'payable until lnd says it is not');
  clock.advanceMs(2);
  t.equal(rig.payments.paywall.pendingCount, 0, 'gone when lnd stops accepting payment');
  t.equal(rig.payments.paywall.stats.expired, 1);
});

t.test('500 syms get an invoice whose description fits BOLT 11 and lnd accepts', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const syms = Array.from({ length: 500 }, (_, i) => `SYM${i}`);
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], syms));
  const d = decodePaymentRequest(inv.paymentRequest);
  t.ok(Buffer.byteLength(d.description ?? '', 'utf8') <= MAX_DESCRIPTION_BYTES);
  t.match(d.description, /^Invoice:trade\| SYM0 SYM1 .* \+\d+ more\n$/);
  t.equal(rig.payments.book.get(inv.hash)?.requests[0]?.syms?.length, 500, 'the book keeps every sym');
});

t.test("a failed mint names its cause ('invoice) and keeps the buyer's paid subscription", async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const bookFile = new FlakyFile(join(dir, BOOK_FILE));
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, files: new Map([[bookFile.path, bookFile]]) });
  const b = rig.buyer(1);
  fake.settle(hashBuf(invoiceOf(await rig.sub(b, ['trade'], ['IBM'])).hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  bookFile.failing = 'ENOSPC';
  const offers = await rig.sub(b, ['trade'], ['MSFT']);
  t.match(offers, [{ kind: 'refused', table: 'trade', error: 'invoice' }]);
  t.ok(rig.tp.w.has('trade', 1), 'still subscribed to what was paid');
  t.equal(rig.payments.paywall.pendingCount, 0, 'nothing handed out that the book does not hold');
  t.equal(rig.payments.paywall.stats.mintFailures, 1, 'counted (tickerplant_invoices_failed_total)');
});

t.test("lnd's refusal to mint (a readonly macaroon) is 'invoice, not 'lightning unavailable", async (t) => {
  const clock = new ManualClock(T0);
  const readonlyMacaroon = Buffer.alloc(64, 7);
  const { backend } = await lndFor(t, clock, { readonlyMacaroon, macaroon: readonlyMacaroon });
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  await eventually(() => rig.payments.backend.status().up);
  t.match(await rig.sub(rig.buyer(1), ['trade'], ['IBM']), [{ kind: 'refused', error: 'invoice', reason: /permission denied/ }]);
  t.equal(rig.payments.paywall.stats.mintFailures, 1, 'counted (tickerplant_invoices_failed_total)');
  t.equal(rig.payments.paywall.stats.invoices, 0);
});

t.test('the same request from the same buyer reuses its open invoice; pending invoices are capped per connection and in total', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, maxPendingPerConn: 1, maxPendingInvoices: 2 });
  const a = rig.buyer(1);
  const first = invoiceOf(await rig.sub(a, ['trade'], ['IBM']));
  for (let i = 0; i < 5; i++) t.equal(invoiceOf(await rig.sub(a, ['trade'], ['IBM'])).hash, first.hash);
  t.equal(fake.invoices().length, 1, 'one AddInvoice');
  t.equal(rig.payments.paywall.stats.reused, 5);
  t.match(await rig.sub(a, ['quote'], ['IBM']), [{ kind: 'refused', error: 'pending', reason: /per connection/ }], 'the per-connection cap');
  t.match(await rig.sub(a, ['trade', 'quote'], ['AAPL']), [{ kind: 'refused', error: 'pending', reason: /per connection/ }],
    'replacing its own request is refused too: lnd still takes the invoice it would replace');
  clock.advanceMs(3600_000 + 1);
  t.match(await rig.sub(a, ['trade', 'quote'], ['AAPL']), [{ kind: 'invoice' }, { kind: 'invoice' }], 'once that one expired, a new one');
  invoiceOf(await rig.sub(rig.buyer(2), ['trade'], ['IBM']));
  t.match(await rig.sub(rig.buyer(3), ['trade'], ['IBM']), [{ kind: 'refused', error: 'pending', reason: /in all/ }], 'the total cap');
  t.equal(rig.payments.paywall.stats.refusedPending, 3);
});

t.test('invoices whose request went (replaced, or the buyer left) count against the caps until they expire; paid, they are credits', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, maxPendingPerConn: 2, maxPendingInvoices: 5 });
  // One connection asking for something new each time, so no call can reuse an invoice.
  const a = rig.buyer(1);
  const offers: Offer[][] = [];
  for (let i = 0; i < 20; i++) offers.push(await rig.sub(a, ['trade'], [`S${i}`]));
  t.equal(fake.invoices().length, 2, 'two invoices minted');
  t.equal(offers.filter((o) => o[0]?.kind === 'refused').length, 18, 'every new one after them refused');
  t.match(offers[2], [{ kind: 'refused', error: 'pending', reason: /per connection/ }]);
  // Leaving while AddInvoice is still out: the invoice is booked (and payable) all the same.
  for (let h = 30; h < 40; h++) {
    const b = rig.buyer(h);
    const offered = rig.sub(b, ['trade'], ['IBM']);
    rig.leave(b);
    await offered;
  }
  t.equal(fake.invoices().length, 5, 'the total cap reached by buyers who left before their invoice was ready');
  // Connect, mint, leave: each invoice stays payable after its buyer has gone.
  for (let h = 10; h < 30; h++) {
    const b = rig.buyer(h);
    await rig.sub(b, ['trade'], ['IBM']);
    rig.leave(b);
  }
  t.equal(fake.invoices().length, 5, 'at most --max-pending-invoices payable invoices minted');
  const leftBehind = fake.invoices()[2] as { rHash: Buffer };
  fake.settle(leftBehind.rHash);
  await eventually(() => rig.payments.paywall.stats.orphans === 1);
  t.ok(rig.payments.ledger.has(leftBehind.rHash.toString('hex')), 'a paid invoice whose buyer left is in the ledger: a credit to claim');
  t.match(await rig.sub(rig.buyer(40), ['trade'], ['IBM']), [{ kind: 'invoice' }], 'and its settlement frees a place');
  t.match(await rig.sub(rig.buyer(41), ['trade'], ['IBM']), [{ kind: 'refused', error: 'pending', reason: /in all/ }]);
  clock.advanceMs(3600_000 + 1);
  t.match(await rig.sub(rig.buyer(42), ['trade'], ['IBM']), [{ kind: 'invoice' }], 'expired, they count no more');
});

t.test('a buyer switching back and forth between two requests gets its two invoices again, never a third, never refused', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, maxPendingPerConn: 2 });
  const a = rig.buyer(1);
  const hashes: string[] = [];
  for (let i = 0; i < 20; i++) hashes.push(invoiceOf(await rig.sub(a, ['trade'], [i % 2 === 0 ? 'IBM' : 'MSFT'])).hash);
  t.equal(fake.invoices().length, 2, 'two invoices minted');
  t.equal(new Set(hashes.filter((_, i) => i % 2 === 0)).size, 1, 'IBM: always the first invoice');
  t.not(hashes[0], hashes[1]);
  t.same(rig.payments.paywall.pending().map((p) => p.invoice.hash), [hashes[19]], 'only the last request is pending');
  fake.settle(hashBuf(hashes[0] as string)); // pays the IBM invoice while MSFT is the pending request
  await eventually(() => rig.payments.ledger.has(hashes[0] as string));
  t.notOk(rig.tp.w.has('trade', 1), 'what it no longer asks for is a credit, not a subscription');
  t.match(rig.payments.ledger.get(hashes[0] as string), { orphan: true, requests: [{ table: 'trade', syms: ['IBM'] }] });
  t.match(await rig.sub(a, ['trade'], ['IBM']), [{ kind: 'invoice' }], 'a paid invoice is not offered again');
  t.equal(fake.invoices().length, 3);
});

t.test('` over a free and a priced table: the free one is subscribed with the answer, not while the invoice is minted, and a refused call changes nothing', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const dir = t.testdir({ 'pricing.json': JSON.stringify({ default: 100, tables: { quote: 0 } }) });
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, maxPendingPerConn: 1, pricing: join(dir, 'pricing.json') });
  const b = rig.buyer(1);
  const quote = (s: string): void => rig.tp.upd('quote', list(sym(s), float(1), float(2), int(3), int(4)));
  const quotes = (): number => b.sent.filter((e) => e.kind === 'upd').length;
  const minting = rig.sub(b, ['quote', 'trade'], null);
  quote('IBM'); // a row while AddInvoice is out: u.q sends the reply before any row
  t.equal(quotes(), 0, 'no row before the answer');
  t.match(await minting, [{ kind: 'free', table: 'quote' }, { kind: 'invoice', table: 'trade' }]);
  quote('MSFT');
  t.equal(quotes(), 1, 'subscribed with the answer');
  // The cap (1 unpaid) is reached: asking again with syms is refused, and quote keeps every sym.
  t.match(await rig.sub(b, ['quote', 'trade'], ['IBM']), [{ kind: 'free' }, { kind: 'refused', error: 'pending' }]);
  quote('MSFT');
  t.equal(quotes(), 2, "the refused call did not narrow quote's subscription to IBM");
});

t.test('an invoice for two tables, one request since dropped, is not offered again for the other alone at the price of two', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const b = rig.buyer(1);
  const both = invoiceOf(await rig.sub(b, ['quote', 'trade'], ['IBM']));
  rig.payments.paywall.cancel(1, 'quote'); // unsubscribed from quote: the pending invoice keeps trade's request
  const again = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  t.not(again.hash, both.hash, 'a new invoice');
  t.equal(decodePaymentRequest(again.paymentRequest).valueMsat, 100_000n, "trade's price");
});

t.test('a ledger the disk refuses (ENOSPC) never crashes, keeps the settlement in memory and writes it when the disk recovers', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const ledgerFile = new FlakyFile(join(dir, LEDGER_FILE));
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, files: new Map([[ledgerFile.path, ledgerFile]]) });
  const b = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  ledgerFile.failing = 'ENOSPC';
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  t.equal(rig.payments.ledger.unwritten, 1, 'held in memory');
  t.ok(rig.payments.ledger.has(inv.hash), 'and already counted');
  t.ok(rig.payments.ledger.writeFailures >= 1);
  t.ok(rig.sink.lines.some((l) => l['msg'] === 'payment record not written; kept in memory, retrying' && l['code'] === 'ENOSPC'), 'alerted');
  clock.advanceMs(5000);
  t.equal(rig.payments.ledger.unwritten, 1, 'still refused');
  ledgerFile.failing = undefined;
  clock.advanceMs(5000);
  t.equal(rig.payments.ledger.unwritten, 0, 'written on the next retry');
  t.match(readFileSync(ledgerFile.path, 'utf8'), inv.hash);
});

t.test('a settlement whose ledger line was lost with the process is re-derived from lnd by the book on restart', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const ledgerFile = new FlakyFile(join(dir, LEDGER_FILE));
  ledgerFile.failing = 'EIO';
  const first = await startPaymentsRig(t, { backend, stateDir: dir, clock, files: new Map([[ledgerFile.path, ledgerFile]]) });
  const inv = invoiceOf(await first.sub(first.buyer(1), ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => first.payments.ledger.unwritten === 1);
  // The process dies here: nothing more reaches the disk, and the lnd cursor is already past the settle.
  first.payments.paywall.close();
  await first.payments.backend.close();
  const second = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  t.match(second.payments.ledger.get(inv.hash), { amount_sat: 100, requests: [{ table: 'trade', syms: ['IBM'] }] }, 'looked up by the book');
  t.match(readFileSync(join(dir, LEDGER_FILE), 'utf8'), inv.hash);
});

t.test('paid a second before its deadline, heard of only after our clock closed it and a restart: in the ledger, not foreign', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const first = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  const inv = invoiceOf(await first.sub(first.buyer(1), ['trade'], ['IBM']));
  await first.payments.backend.close(); // the invoice stream is gone: the settlement below goes unheard
  clock.advanceMs(3_600_000 - 1000);
  fake.settle(hashBuf(inv.hash));
  clock.advanceMs(2000);
  t.equal(first.payments.paywall.stats.expired, 1, 'our clock closed it');
  for (const ms of EXPIRY_CHECKS_MS) { clock.advanceMs(ms); await new Promise((r) => setImmediate(r)); }
  t.ok(first.sink.messages().includes('invoice not looked up'), 'lnd could not be asked');
  first.payments.paywall.close();
  t.match(readFileSync(join(dir, BOOK_FILE), 'utf8'), /"op":"close".*"reason":"expired"/);
  const second = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  await eventually(() => second.payments.ledger.size === 1);
  t.match(second.payments.ledger.get(inv.hash), { orphan: true, amount_sat: 100, requests: [{ table: 'trade', syms: ['IBM'] }] });
  t.equal(second.payments.paywall.stats.foreign, 0);
  t.notOk(second.payments.book.has(inv.hash), 'settled: the book no longer holds it');
});

t.test('an invoice our clock expired is confirmed with lnd a little later and forgotten: the book holds only what may still be paid', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], ['IBM']));
  clock.advanceMs(3_600_001);
  t.equal(rig.payments.paywall.pendingCount, 0);
  t.ok(rig.payments.book.has(inv.hash), 'held until lnd agrees');
  clock.advanceMs(EXPIRY_CHECKS_MS[0] ?? 0);
  await eventually(() => !rig.payments.book.has(inv.hash));
  t.match(readFileSync(join(dir, BOOK_FILE), 'utf8'), /"op":"close".*"reason":"canceled"/);
  t.equal(rig.payments.book.size, 0);
});

t.test('the ledger on a really full device (/dev/full) is kept in memory and alerted, not a crash', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const { openAppendFile } = await import('../../src/payments/index.js');
  // /dev/full reads as endless zeros: the ledger starts empty and only its writes go to the device.
  const device = openAppendFile('/dev/full');
  const full = { ...device, path: join(dir, LEDGER_FILE), readLines: (): string[] => [] };
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, files: new Map([[join(dir, LEDGER_FILE), full]]) });
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  t.equal(rig.payments.ledger.unwritten, 1);
  t.ok(rig.sink.lines.some((l) => l['code'] === 'ENOSPC'), 'the real ENOSPC is reported');
});

t.test('with --entitlement 30d the period runs on the injected clock: nothing after 1 ms, the renewal a minute before the end', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const day = 86_400_000;
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, entitlementMs: 30 * day });
  const b = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  clock.advanceMs(1);
  t.equal(rig.payments.paywall.stats.invoices, 1, 'no renewal storm');
  t.equal(b.sent.length, 0);
  clock.advanceMs(30 * day - 60_000 - 2);
  t.equal(rig.payments.paywall.stats.invoices, 1, 'not before the lead time');
  clock.advanceMs(1);
  await eventually(() => rig.payments.paywall.stats.invoices === 2);
  await eventually(() => b.sent.length === 1);
  t.ok(rig.tp.w.has('trade', 1), 'still subscribed');
  clock.advanceMs(60_000);
  t.notOk(rig.tp.w.has('trade', 1), 'unpaid renewal: the period ends');
});

t.test("a renewal's preimage and the original's are one claim", async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, entitlementMs: 600_000 });
  const b = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.tp.w.has('trade', 1));
  clock.advanceMs(600_000 - 60_000);
  await eventually(() => rig.payments.paywall.pending().length === 1);
  const renewal = rig.payments.paywall.pending()[0]?.invoice.hash ?? '';
  const paid = fake.settle(hashBuf(renewal));
  await eventually(() => rig.payments.ledger.size === 2);
  t.equal(createHash('sha256').update(paid.preimage).digest('hex'), renewal);
  t.match(rig.payments.paywall.subPaid(rig.buyer(2), 'trade', new Set(['IBM']), paid.preimage.toString('hex')),
    { kind: 'refused', error: 'in use' });
  clock.advanceMs(60_000 + 1);
  t.ok(rig.tp.w.has('trade', 1), 'the renewal extended the period');
});

t.test('the book is walked once at a time: asked again while a walk runs (lnd back from a blip), one more walk follows it, not one per ask', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  for (const h of [1, 2, 3]) {
    const b = rig.buyer(h);
    invoiceOf(await rig.sub(b, ['trade'], ['IBM']));
    rig.leave(b); // unpaid and gone: booked, still payable, looked up by the walk
  }
  const lnd = rig.payments.backend;
  const lookup = lnd.lookupInvoice.bind(lnd);
  let lookups = 0;
  lnd.lookupInvoice = (h) => { lookups++; return lookup(h); };
  const walks = [rig.payments.paywall.reconcile(), rig.payments.paywall.reconcile(), rig.payments.start()];
  await Promise.all(walks);
  t.equal(lookups, 6, 'three asks: the running walk and one after it (each looks the three up), never two at once');
  await rig.payments.paywall.reconcile();
  t.equal(lookups, 9, 'a walk asked for after one has ended is a new walk');
});

t.test('stopping while the disk refuses the ledger resolves to the records lost, so the process can say so (exit 1)', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const ledgerFile = new FlakyFile(join(dir, LEDGER_FILE));
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, files: new Map([[ledgerFile.path, ledgerFile]]) });
  const inv = invoiceOf(await rig.sub(rig.buyer(1), ['trade'], ['IBM']));
  ledgerFile.failing = 'ENOSPC';
  fake.settle(hashBuf(inv.hash));
  await eventually(() => rig.payments.ledger.unwritten === 1);
  t.equal(await rig.payments.close(), 1, 'one settlement not written');
  t.ok(rig.sink.messages().includes('payment records not written at shutdown'));
});

t.test(".u.subPaid with the preimage of a booked invoice the paywall has not heard settle looks it up in lnd first: the payer is served at once", async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const buyer = rig.buyer(1);
  const inv = invoiceOf(await rig.sub(buyer, ['trade'], ['IBM']));
  rig.leave(buyer);
  // The paywall misses the settlement (as after a crash that lost its ledger line, before the book's walk).
  rig.payments.backend.removeAllListeners('settled');
  const paid = fake.settle(hashBuf(inv.hash));
  const back = rig.buyer(2);
  const preimage = paid.preimage.toString('hex');
  t.match(rig.payments.paywall.subPaid(back, 'trade', new Set(['IBM']), preimage), { kind: 'refused', error: 'unpaid' }, 'the ledger alone does not know it');
  t.match(await rig.payments.paywall.subPaidLookedUp(back, 'trade', new Set(['IBM']), preimage), { kind: 'claimed', hash: inv.hash }, 'looked up: served');
  t.ok(rig.payments.ledger.has(inv.hash), 'and in the ledger');
  const stranger = Buffer.alloc(32, 7).toString('hex');
  t.match(await rig.payments.paywall.subPaidLookedUp(rig.buyer(3), 'trade', new Set(['IBM']), stranger), { kind: 'refused', error: 'unpaid' },
    'a preimage of nothing we booked asks lnd nothing');
});
