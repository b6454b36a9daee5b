// The payment side's wiring (src/payments/start.ts) over a real dev node and a real Tickerplant: the
// files in the state directory, flat or file pricing, start and close in order, whether the node is up or not.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { DevBackend, LndBackend } from '../../src/lightning/index.js';
import { createLogger } from '../../src/log.js';
import { BOOK_FILE, createPayments, LEDGER_FILE } from '../../src/payments/index.js';
import type { AppendFile, InvoiceBackend, Offer, PaymentsOptions } from '../../src/payments/index.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import type { Subscriber, TickEvent } from '../../src/tick/index.js';
import { LogSink, T0 } from '../helpers/tp.js';
import { FlakyFile } from './harness.js';

interface Setup { readonly clock: ManualClock; readonly sink: LogSink; readonly tp: Tickerplant; readonly dir: string }

function setup(t: Test): Setup {
  const clock = new ManualClock(T0);
  const sink = new LogSink();
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock, log: createLogger('silent', sink) });
  t.teardown(() => tp.close());
  return { clock, sink, tp, dir: t.testdir() };
}

const buyer: Subscriber = { handle: 7, deliver: (_e: TickEvent) => {} };

function payments(s: Setup, backend: InvoiceBackend, extra: Partial<PaymentsOptions> = {}): ReturnType<typeof createPayments> {
  return createPayments({
    backend, tp: s.tp, clock: s.clock, log: createLogger('debug', s.sink), lookup: (h) => (h === buyer.handle ? buyer : undefined), stateDir: s.dir,
    priceSat: 100, invoiceExpirySeconds: 600, ...extra,
  });
}

const dev = (s: Setup): DevBackend => new DevBackend({ dataDir: join(s.dir, 'dev'), now: () => Number(s.clock.nowNanos() / 1_000_000n), timers: s.clock });
const who = { user: 'alice', peer: '127.0.0.1:1' };
const amount = (o: Offer | undefined): number | undefined => (o?.kind === 'invoice' ? o.invoice.amountSat : undefined);

t.test('a flat price charges priceSat per sym; a pricing file replaces it', async (t) => {
  const s = setup(t);
  const flat = payments(s, dev(s));
  await flat.start();
  t.teardown(() => flat.close());
  t.equal(amount((await flat.paywall.subscribe(buyer, who, ['trade'], new Set(['IBM', 'AAPL'])))[0]), 200);

  const s2 = setup(t);
  const file = join(s2.dir, 'prices.json');
  writeFileSync(file, JSON.stringify({ default: 10, tables: { trade: { perSym: 3 }, quote: 0 } }));
  const priced = payments(s2, dev(s2), { pricingFile: file });
  await priced.start();
  t.teardown(() => priced.close());
  const offers = await priced.paywall.subscribe(buyer, who, ['trade', 'quote'], new Set(['IBM', 'AAPL']));
  t.equal(amount(offers[0]), 6);
  t.equal(offers[1]?.kind, 'free');
});

t.test('the ledger and the invoice book are written in the state directory, and a paid sub is in both', async (t) => {
  const s = setup(t);
  const node = dev(s);
  const p = payments(s, node);
  await p.start();
  t.teardown(() => p.close());
  const [offer] = await p.paywall.subscribe(buyer, who, ['trade'], new Set(['IBM']));
  if (offer?.kind !== 'invoice') throw new Error('expected an invoice');
  t.ok(existsSync(join(s.dir, BOOK_FILE)));
  t.match(readFileSync(join(s.dir, BOOK_FILE), 'utf8'), offer.invoice.hash);
  node.pay?.(offer.invoice.paymentRequest);
  await new Promise((r) => setImmediate(r));
  t.ok(p.ledger.has(offer.invoice.hash), 'the settlement reached the ledger');
  t.match(readFileSync(join(s.dir, LEDGER_FILE), 'utf8'), offer.invoice.hash);
});

t.test('start logs the node ready when it is up, and that lightning is unavailable (not a failure) when it is not', async (t) => {
  const s = setup(t);
  const up = payments(s, dev(s));
  await up.start();
  t.teardown(() => up.close());
  t.ok(s.sink.lines.some((l) => l['msg'] === 'lightning ready' && l['backend'] === 'dev'));

  const s2 = setup(t);
  const lnd = new LndBackend({
    host: '127.0.0.1:1', tlsCert: readFileSync('test/fixtures/tls/lnd.cert'), macaroon: Buffer.from('0201', 'hex'),
    log: createLogger('silent', s2.sink), timers: s2.clock,
  });
  const down = payments(s2, lnd);
  await down.start();
  t.teardown(() => down.close());
  t.ok(s2.sink.lines.some((l) => l['msg'] === 'lightning unavailable' && typeof l['reason'] === 'string'));
  t.notOk(s2.sink.lines.some((l) => l['msg'] === 'lightning ready'));
});

t.test('close goes on past a backend that fails to close, with one warning', async (t) => {
  const s = setup(t);
  const node = dev(s);
  const p = payments(s, node);
  await p.start();
  const realClose = node.close.bind(node);
  node.close = async () => { await realClose(); throw new Error('cursor not saved'); };
  await p.close();
  t.ok(s.sink.lines.some((l) => l['msg'] === 'lightning backend close failed' && l['err'] === 'cursor not saved'));
});

t.test('files reports the write failures of the ledger and the book together', async (t) => {
  const s = setup(t);
  const flaky = new Map<string, FlakyFile>();
  const openFile = (path: string): AppendFile => { const f = new FlakyFile(path); flaky.set(path, f); return f; };
  const p = payments(s, dev(s), { openFile });
  await p.start();
  t.teardown(() => p.close());
  t.same([p.files.writeFailures, p.files.unwritten], [0, 0]);
  const book = flaky.get(join(s.dir, BOOK_FILE));
  if (!book) throw new Error('the book was not opened through openFile');
  book.failing = 'ENOSPC';
  await p.paywall.subscribe(buyer, who, ['trade'], new Set(['IBM']));
  t.ok(p.files.writeFailures >= 1, `${p.files.writeFailures} write failures`);
  t.equal(p.files.writeFailures, p.book.writeFailures + p.ledger.writeFailures);
});
