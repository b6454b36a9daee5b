// The paywall's L402 entry point (src/payments/paywall.ts: price, mintFor, purchase, hold) against the
// fake lnd over TLS: an HTTP buyer with no connection is priced and booked as .u.sub, capped per peer
// address and in total with every other unpaid invoice, its settlement is in the ledger once whichever
// way it is learned, and its payment holds one stream at a time, shared with .u.subPaid.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { BOOK_FILE, L402_DEFAULT_LIFETIME_MS, L402_USER, LEDGER_FILE } from '../../src/payments/index.js';
import type { TokenOffer } from '../../src/payments/index.js';
import { decodePaymentRequest } from '../../src/lightning/bolt11.js';
import { T0 } from '../helpers/tp.js';
import { eventually, lndFor, startPaymentsRig } from './harness.js';

const invoiceOf = (o: TokenOffer): { hash: string; paymentRequest: string; until: number } => {
  if (o.kind !== 'invoice') throw new Error(`no invoice: ${JSON.stringify(o)}`);
  return { hash: o.invoice.hash, paymentRequest: o.invoice.paymentRequest, until: o.until };
};
const hashBuf = (hex: string): Buffer => Buffer.from(hex, 'hex');
const lines = (path: string): Array<Record<string, unknown>> =>
  readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('an HTTP buyer is priced and booked as .u.sub, and what it bought is told once it is settled', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const dir = t.testdir();
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock });
  const { paywall, ledger } = rig.payments;
  const syms = new Set(['AAPL', 'GOOGL']);
  t.equal(paywall.price('trade', syms), 200, '100 sat per sym, as .u.sub');
  const inv = invoiceOf(await paywall.mintFor('trade', syms, { user: L402_USER, peer: '10.0.0.1' }));
  t.equal(decodePaymentRequest(inv.paymentRequest).valueMsat, 200_000n);
  const booked = lines(join(dir, BOOK_FILE)).find((l) => l['r_hash'] === inv.hash);
  t.match(booked, { op: 'mint', user: L402_USER, peer: '10.0.0.1', amount_sat: 200, requests: [{ table: 'trade', syms: ['AAPL', 'GOOGL'] }] },
    'in the book before it is handed out, with what it buys and who asked');
  t.equal(inv.until, Number(booked?.['created']) * 1000 + L402_DEFAULT_LIFETIME_MS, 'a token lasts a day from its invoice without --entitlement');
  t.equal(await paywall.purchase(inv.hash), undefined, 'unpaid: nothing bought');
  t.equal(await paywall.purchase(randomBytes(32).toString('hex')), undefined, 'a hash we never booked: nothing');

  // Asked right after the payment, before the invoice stream has told us: looked up in lnd.
  fake.settle(hashBuf(inv.hash));
  const bought = await paywall.purchase(inv.hash);
  t.match(bought, { r_hash: inv.hash, amount_sat: 200, orphan: false, requests: [{ table: 'trade', syms: ['AAPL', 'GOOGL'] }],
    until: new Date(inv.until).toISOString() });
  await eventually(() => paywall.stats.settled === 1);
  await new Promise((r) => setTimeout(r, 50)); // the stream's own SETTLED event arrives too
  t.equal(paywall.stats.settled, 1, 'counted once');
  t.equal(lines(join(dir, LEDGER_FILE)).filter((l) => l['r_hash'] === inv.hash).length, 1, 'in the ledger once');
  t.equal(ledger.size, 1);
  t.same(await paywall.purchase(inv.hash), bought, 'and the same answer again');

  t.equal(paywall.stats.foreign, 0, 'our own settlement, told twice, is never taken for a foreign one');
  const foreign = fake.foreign(500n);
  await eventually(() => paywall.stats.foreign === 1);
  t.equal(await paywall.purchase(foreign.rHash.toString('hex')), undefined, "another application's settled invoice buys nothing");
  t.match(await paywall.mintFor('quote', null, { user: L402_USER, peer: '10.0.0.1' }), { kind: 'invoice' }, 'every table is priced by default');
});

t.test('with --entitlement a token lasts that period from its invoice, and the ledger says the same end', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, entitlementMs: 600_000 });
  const inv = invoiceOf(await rig.payments.paywall.mintFor('trade', new Set(['IBM']), { user: L402_USER, peer: 'p' }));
  t.equal(inv.until, Math.floor(Number(T0 / 1_000_000n) / 1000) * 1000 + 600_000);
  clock.advanceMs(5000);
  fake.settle(hashBuf(inv.hash));
  t.match(await rig.payments.paywall.purchase(inv.hash), { until: new Date(inv.until).toISOString() }, 'fixed when minted, not when paid');
});

t.test('an L402 invoice lives at most half its token\'s life: one paid at its last moment still buys a usable token', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const dir = t.testdir();
  // A 10-minute token; invoices live an hour by default (--invoice-expiry 3600).
  const rig = await startPaymentsRig(t, { backend, stateDir: dir, clock, entitlementMs: 600_000 });
  const inv = invoiceOf(await rig.payments.paywall.mintFor('trade', new Set(['IBM']), { user: L402_USER, peer: 'p' }));
  const booked = lines(join(dir, BOOK_FILE)).find((l) => l['r_hash'] === inv.hash);
  t.equal(booked?.['expiry'], 300, 'the invoice expires after 300 s, not 3600');
  t.ok(Number(booked?.['created']) * 1000 + 300_000 <= inv.until - 300_000, 'paid at its expiry, the token has 5 minutes left');
});

t.test('unpaid L402 invoices are capped per peer address and, with every other kind, in total; expiry frees them', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, maxPendingPerConn: 2, maxPendingInvoices: 5 });
  const { paywall } = rig.payments;
  const mint = (peer: string): Promise<TokenOffer> => paywall.mintFor('trade', new Set(['IBM']), { user: L402_USER, peer });
  // Two at once from one address: the mints in flight count, so a burst cannot slip past the cap.
  const burst = await Promise.all([mint('10.0.0.1'), mint('10.0.0.1'), mint('::ffff:10.0.0.1')]);
  t.same(burst.map((o) => o.kind), ['invoice', 'invoice', 'refused']);
  t.match(burst[2], { error: 'pending', reason: /per peer address/ }, 'an IPv4-mapped address is the same address');
  for (const h of [1, 2, 3]) t.match(await rig.sub(rig.buyer(h), ['trade'], ['IBM']), [{ kind: 'invoice' }], `.u.sub takes invoice ${h + 2}`);
  t.match(await mint('10.0.0.2'), { kind: 'refused', error: 'pending', reason: /in all/ }, 'the total counts every kind');
  t.match(await rig.sub(rig.buyer(4), ['trade'], ['IBM']), [{ kind: 'refused', error: 'pending', reason: /in all/ }], 'and .u.sub sees the L402 ones');
  t.equal(fake.invoices().length, 5, 'nothing minted past the caps');
  clock.advanceMs(3600 * 1000 + 1000);
  t.match(await mint('10.0.0.1'), { kind: 'invoice' }, 'an expired invoice no longer counts');
  t.equal(paywall.stats.expired, 5);
});

t.test('an IPv6 /64 is one peer, and strangers over HTTP hold at most half of --max-pending-invoices', async (t) => {
  const clock = new ManualClock(T0);
  const { backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock, maxPendingPerConn: 2, maxPendingInvoices: 6 });
  let n = 0; // a new sym each time: the same request again would get the same invoice
  const mint = (peer: string): Promise<TokenOffer> => rig.payments.paywall.mintFor('trade', new Set([`S${n++}`]), { user: L402_USER, peer });
  t.match(await mint('2001:db8:1:2::1'), { kind: 'invoice' });
  t.match(await mint('2001:0db8:0001:0002:ffff:1:2:3'), { kind: 'invoice' });
  t.match(await mint('2001:db8:1:2:abcd::9'), { kind: 'refused', error: 'pending', reason: /per peer address/ }, 'any address of the /64');
  t.match(await mint('2001:db8:1:3::1'), { kind: 'invoice' }, 'the next /64 is another peer');
  t.match(await mint('2001:db8:1:4::1'), { kind: 'refused', error: 'pending', reason: /half/ }, 'three of six: the L402 share is full');
  t.match(await rig.sub(rig.buyer(1), ['trade'], ['IBM']), [{ kind: 'invoice' }], 'a q buyer still finds room');
});

t.test('the same peer asking again for the same request gets the invoice still open, until too little of its life is left', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const mint = (peer: string, syms: string[]): Promise<TokenOffer> => rig.payments.paywall.mintFor('trade', new Set(syms), { user: L402_USER, peer });
  const first = invoiceOf(await mint('10.0.0.1', ['IBM', 'AAPL']));
  t.equal(invoiceOf(await mint('10.0.0.1', ['AAPL', 'IBM'])).hash, first.hash, 'the same request, in any order');
  t.not(invoiceOf(await mint('10.0.0.2', ['IBM', 'AAPL'])).hash, first.hash, 'another peer: its own');
  t.not(invoiceOf(await mint('10.0.0.1', ['IBM'])).hash, first.hash, 'another request: its own');
  clock.advanceMs(3_600_000 - 59_000);
  t.not(invoiceOf(await mint('10.0.0.1', ['IBM', 'AAPL'])).hash, first.hash, 'under a minute left to pay: a new one');
  t.equal(fake.invoices().length, 4);
});

t.test('one payment, one stream: an L402 payment is held by one subscriber at a time, .u.subPaid included', async (t) => {
  const clock = new ManualClock(T0);
  const { fake, backend } = await lndFor(t, clock);
  const rig = await startPaymentsRig(t, { backend, stateDir: t.testdir(), clock });
  const { paywall } = rig.payments;
  const inv = invoiceOf(await paywall.mintFor('trade', new Set(['IBM']), { user: L402_USER, peer: 'p' }));
  const paid = fake.settle(hashBuf(inv.hash));
  t.ok(await paywall.purchase(inv.hash));
  const first = rig.buyer(-1);
  const second = rig.buyer(-2);
  t.ok(paywall.hold(inv.hash, first), 'the first stream holds it');
  t.ok(paywall.hold(inv.hash, first), 'holding again is no second stream');
  t.notOk(paywall.hold(inv.hash, second), 'a second is refused while the first is live');
  t.match(paywall.subPaid(rig.buyer(7), 'trade', new Set(['IBM']), paid.preimage.toString('hex')), { kind: 'refused', error: 'in use' },
    'its preimage over q too');
  rig.leave(first);
  t.ok(paywall.hold(inv.hash, second), 'once the first has gone, the next may');
  t.equal(paywall.stats.claimsInUse, 2);
});
