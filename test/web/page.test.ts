// The web page in real headless Chromium (Debian's chromium driven by playwright-core), at a desktop
// width and at a phone's 390x844: subscribe → invoice with QR, amount and countdown → pay with the dev node
// (or an outside wallet, then re-attach with the preimage) → paid → rows and chart from a node-q feed.
// Saves screenshots under .tap/web/ (invoice.png, page.png, phone.png). docs/screenshot.png comes from
// `npm start`'s demo instead (scripts/screenshot.mjs).
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { Test } from 'tap';
import { DevBackend } from '../../src/lightning/index.js';
import { systemClock } from '../../src/clock.js';
import { publishTrades, startRig } from '../ws/fixture.js';
import type { Trade } from '../ws/fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** The part of a browser canvas the test reads (the DOM types are not in this project's lib). */
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Chromium with a fresh profile at this viewport, closed (and its profile removed) in teardown. */
async function browser(t: Test, viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  // The profile lives outside tap's fixture folder: Chromium's helpers may still be writing into it for a
  // moment after close() resolves, and tap's own cleanup would then fail with ENOTEMPTY.
  const profile = mkdtempSync(join(tmpdir(), 'tp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport, timeout: 60_000,
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems: string[] = [];
  watch(page, problems);
  return { context, page, problems };
}

function watch(page: Page, problems: string[]): void {
  page.on('console', (m) => {
    // A WebSocket the test cuts on purpose is reported by Chromium as a console error.
    if (m.type() === 'error' && !/WebSocket/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
}

/** Sideways overflow: how far the page and each card reach past the viewport's right edge (0 = none). */
function overflow(page: Page): Promise<{ page: number; cards: number }> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number };
      querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { right: number } }> } }).document;
    const vw = d.documentElement.clientWidth;
    const cards = Array.from(d.querySelectorAll('.card, header')).map((c) => c.getBoundingClientRect().right - vw);
    return { page: d.documentElement.scrollWidth - vw, cards: Math.max(0, ...cards) };
  });
}

/** The chart's pixels of one line colour: how many, their vertical extent (fraction of the canvas height),
 * and how many fall in the horizontal band [from, to] (fractions of the canvas width). */
function linePixels(page: Page, rgb: readonly [number, number, number], from = 0, to = 0):
Promise<{ count: number; extent: number; inBand: number }> {
  return page.getByTestId('chart').evaluate((el, [rgb, from, to]) => {
    const c = el as unknown as Canvas;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let count = 0; let inBand = 0; let top = Infinity; let bottom = -Infinity;
    for (let i = 0; i < d.length; i += 4) {
      if ((d[i + 3] ?? 0) < 200) continue;
      const dist = Math.abs((d[i] ?? 0) - rgb[0]) + Math.abs((d[i + 1] ?? 0) - rgb[1]) + Math.abs((d[i + 2] ?? 0) - rgb[2]);
      if (dist > 60) continue;
      const px = (i / 4) % c.width; const py = Math.floor(i / 4 / c.width);
      count++;
      top = Math.min(top, py); bottom = Math.max(bottom, py);
      if (px >= from * c.width && px <= to * c.width) inBand++;
    }
    return { count, extent: count ? (bottom - top) / c.height : 0, inBand };
  }, [rgb, from, to] as const);
}

const BLUE = [0x25, 0x63, 0xeb] as const; // the first sym's colour (web/app.js COLORS)
const RED = [0xdc, 0x26, 0x26] as const; // the second's

/** A deterministic walk around `start`, one trade per second from 10:00:00. */
function walk(sym: string, start: number, n: number, phase: number, from = 0): Trade[] {
  return Array.from({ length: n }, (_, i) => ({
    sym, second: from + i, size: 100 + 10 * (i % 7),
    price: Math.round((start + 3 * Math.sin(i / 4 + phase) + i * 0.08) * 100) / 100,
  }));
}

t.test('subscribe, see the invoice as a QR code, pay with the dev node, then rows and prices stream in', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Debian's chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium)`);
    return;
  }
  const rig = await startRig(t, { clock: systemClock() });
  const { page, problems } = await browser(t, { width: 1100, height: 1400 });

  await page.goto(`http://127.0.0.1:${rig.http.port}/`);
  await page.getByTestId('status').filter({ hasText: 'Connected · dev Lightning node' }).waitFor();
  t.same(await page.getByTestId('table').locator('option').allTextContents(), ['quote', 'trade'], 'tables from hello');

  await page.getByTestId('table').selectOption('trade');
  await page.getByLabel('Symbols').fill('AAPL, GOOGL');
  await page.getByTestId('subscribe').click();

  const invoice = page.getByTestId('invoice');
  await invoice.waitFor({ state: 'visible' });
  t.equal(await page.getByTestId('amount').textContent(), '200', '100 sat x 2 syms');
  t.match(await page.getByTestId('countdown').textContent(), /^(59:[0-5]\d|1:00:00)$/, 'a countdown from one hour');
  t.match(await page.getByTestId('payment-request').inputValue(), /^lnbcrt2u1/);
  t.match(await page.getByTestId('invoice-for').textContent(), 'trade AAPL, GOOGL');
  const qr = page.getByTestId('qr');
  t.match(await qr.getAttribute('src'), /^data:image\/svg\+xml/);
  t.ok(await qr.evaluate((el) => {
    const img = el as unknown as { complete: boolean; naturalWidth: number };
    return img.complete && img.naturalWidth > 0;
  }), 'the QR code image is drawn');
  t.equal(await page.getByTestId('status').getAttribute('data-state'), 'invoice');
  t.equal(rig.payments?.paywall.pendingCount, 1, 'the same paywall as q subscribers holds the request');

  const dir = join(ROOT, '.tap', 'web');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'invoice.png'), fullPage: true });

  await page.getByTestId('pay').click();
  await page.getByTestId('paid').waitFor({ state: 'visible' });
  await invoice.waitFor({ state: 'hidden' });
  t.match(await page.getByTestId('paid').textContent(), /Paid — streaming trade AAPL, GOOGL/);
  t.equal(await page.getByTestId('status').getAttribute('data-state'), 'live');

  const trades = [walk('AAPL', 189, 24, 0), walk('GOOGL', 176, 24, 2), walk('MSFT', 402, 24, 4)];
  await publishTrades(rig.feed, trades[0]!.flatMap((a, i) => [a, trades[1]![i]!, trades[2]![i]!]));
  const rows = page.getByTestId('rows').locator('tbody tr');
  await t.resolves(rows.nth(47).waitFor(), 'the paid rows appear');
  t.equal(await rows.count(), 48, 'AAPL and GOOGL rows only (MSFT was not paid for)');
  const syms = await page.locator('td[data-sym]').evaluateAll((tds) => tds.map((td) => td.textContent));
  t.same([...new Set(syms)].sort(), ['AAPL', 'GOOGL']);
  t.same(await rows.first().locator('td').allTextContents(), ['10:00:23.000000000', 'GOOGL', '180.82', '120'],
    'newest first, time as q shows a timespan');
  t.match(await page.getByTestId('legend').textContent(), /AAPL.*GOOGL/);
  t.equal(await page.getByTestId('chart').getAttribute('aria-label'), 'Price chart for AAPL, GOOGL');
  t.same(await page.locator('#rows th').evaluateAll((ths) => ths.map((th) => (th as unknown as { className: string }).className)),
    ['', '', 'num', 'num'], 'numeric headers are right-aligned like their cells');
  // Each sym on its own scale (% change from its first price): AAPL (~189) and GOOGL (~176) both fill
  // the chart's height instead of being two flat lines on one price axis.
  const aapl = await linePixels(page, BLUE);
  const googl = await linePixels(page, RED);
  t.ok(aapl.count > 200 && googl.count > 200, `both lines are drawn (${aapl.count}, ${googl.count} px)`);
  t.ok(aapl.extent > 0.4 && googl.extent > 0.4, `each line spans the chart (${aapl.extent.toFixed(2)}, ${googl.extent.toFixed(2)} of its height)`);
  t.match(await page.getByTestId('legend').textContent(), /AAPL [\d.]+ \([+−]\d+\.\d\d%\)/, 'the legend gives price and % change');
  t.same(await overflow(page), { page: 0, cards: 0 }, 'nothing sticks out sideways at the desktop width');

  // Subscribe again on the paid subscription: nothing is cancelled, no new invoice.
  await page.getByTestId('subscribe').click();
  await page.getByTestId('note').filter({ hasText: 'Already paid for trade AAPL, GOOGL' }).waitFor();
  t.equal(rig.payments?.paywall.pendingCount, 0, 'no new invoice for pressing Subscribe again');
  t.ok(await page.getByTestId('paid').isVisible(), 'still paid');
  t.equal(await page.getByTestId('status').getAttribute('data-state'), 'live');
  // A different request asks first; only a second press would replace what was paid for.
  await page.getByLabel('Symbols').fill('AAPL, MSFT');
  await page.getByTestId('subscribe').click();
  await page.getByTestId('note').filter({ hasText: 'press Subscribe again to confirm' }).waitFor();
  t.equal(rig.payments?.paywall.pendingCount, 0, 'asking is not subscribing');
  t.ok(await page.getByTestId('invoice').isHidden(), 'no invoice while asking');

  // An outage in the data (one minute without trades) leaves a gap in each line, not a diagonal.
  await publishTrades(rig.feed, walk('AAPL', 189, 24, 0, 120).flatMap((a, i) => [a, walk('GOOGL', 176, 24, 2, 120)[i]!]));
  await page.getByTestId('rows').locator('td', { hasText: '10:02:23.000000000' }).first().waitFor();
  // One animation frame later the chart has been redrawn with those rows.
  await page.evaluate(() => new Promise((resolve) => {
    (globalThis as unknown as { requestAnimationFrame(f: () => void): void }).requestAnimationFrame(() => resolve(true));
  }));
  // x runs 10:00:00 → 10:02:23 over the plot (58 px in from the left, 12 from the right of ~1060 px):
  // 10:00:40 to 10:01:40 is inside the gap for both syms.
  const gap = await linePixels(page, BLUE, 0.40, 0.62);
  const gap2 = await linePixels(page, RED, 0.40, 0.62);
  t.equal(gap.inBand + gap2.inBand, 0, 'no line is drawn across the gap in the data');

  const shot = join(dir, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.ok(statSync(shot).size > 10_000, `screenshot saved to ${shot}`);
  t.same(readFileSync(shot).subarray(1, 4).toString('latin1'), 'PNG');
  t.same(problems, [], 'no console errors, no page errors');
});

t.test('on a phone: no sideways overflow, re-attach a payment made in another wallet, and the paid box says when it is not streaming', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Debian's chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium)`);
    return;
  }
  const rig = await startRig(t, { clock: systemClock() });
  const backend = rig.payments?.backend;
  if (!(backend instanceof DevBackend)) { t.fail('the rig has the dev backend'); return; }
  const { context, page, problems } = await browser(t, { width: 390, height: 844 });
  // The page's WebSocket goes through this route, so the test can cut it and hold reconnects off.
  let cut = false;
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (cut) { void ws.close({ code: 1011, reason: 'test outage' }); return; }
    ws.connectToServer();
  });

  await page.goto(`http://127.0.0.1:${rig.http.port}/`);
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await page.getByTestId('table').selectOption('trade');
  await page.getByLabel('Symbols').fill('AAPL, GOOGL');
  await page.getByTestId('subscribe').click();
  await page.getByTestId('invoice').waitFor({ state: 'visible' });
  t.same(await overflow(page), { page: 0, cards: 0 }, 'the invoice fits a 390 px screen');

  // Paid from an outside wallet, and the page is gone (closed tab, another device): a new page re-attaches.
  const paid = backend.pay(await page.getByTestId('payment-request').inputValue());
  await page.getByTestId('paid').waitFor({ state: 'visible' });
  await page.close();
  while (rig.http.gateway.size > 0) await new Promise((r) => setTimeout(r, 20));
  const phone = await context.newPage();
  watch(phone, problems);
  await phone.goto(`http://127.0.0.1:${rig.http.port}/`);
  await phone.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await phone.getByTestId('table').selectOption('trade');
  await phone.getByLabel('Symbols').fill('AAPL, GOOGL');
  await phone.getByText('Paid from another wallet?').click();
  await phone.getByTestId('preimage').fill('not a preimage');
  await phone.getByTestId('reattach-button').click();
  await phone.getByTestId('error').filter({ hasText: '64 hexadecimal characters' }).waitFor();
  await phone.getByTestId('preimage').fill('11'.repeat(32));
  await phone.getByTestId('reattach-button').click();
  await phone.getByTestId('error').filter({ hasText: 'No settled payment matches' }).waitFor();
  t.ok(await phone.getByTestId('paid').isHidden(), 'a preimage of nothing we sold attaches nothing');
  await phone.getByTestId('preimage').fill(paid.preimage.toString('hex'));
  await phone.getByTestId('reattach-button').click();
  await phone.getByTestId('paid-state').filter({ hasText: 'Paid — streaming' }).waitFor();
  t.match(await phone.getByTestId('paid').textContent(), /trade AAPL, GOOGL/);
  t.equal(await phone.getByTestId('status').getAttribute('data-state'), 'live');

  await publishTrades(rig.feed, walk('AAPL', 189, 30, 0).flatMap((a, i) => [a, walk('GOOGL', 176, 30, 2)[i]!]));
  await phone.getByTestId('rows').locator('tbody tr').nth(49).waitFor();
  const wrap = await phone.locator('.table-wrap').evaluate((el) => {
    const w = el as unknown as { scrollWidth: number; clientWidth: number };
    return { scroll: w.scrollWidth, client: w.clientWidth };
  });
  t.same(await overflow(phone), { page: 0, cards: 0 }, `no sideways overflow once rows arrive (table ${wrap.scroll} px in a ${wrap.client} px box)`);
  t.ok(wrap.client <= 390, 'the table scrolls inside its own box');
  mkdirSync(join(ROOT, '.tap', 'web'), { recursive: true });
  await phone.screenshot({ path: join(ROOT, '.tap', 'web', 'phone.png'), fullPage: true });

  // The connection drops and reconnects are held off: paid, but the box must not claim it is streaming.
  cut = true;
  // Cut at the server (a route's close leaves the server's side open until its heartbeat would notice).
  const clients = (rig.http.gateway as unknown as { clients: Map<number, { ws: { destroy(): void } }> }).clients;
  for (const c of clients.values()) c.ws.destroy();
  await phone.getByTestId('paid-state').filter({ hasText: 'not streaming' }).waitFor();
  t.equal(await phone.getByTestId('status').getAttribute('data-state'), 'offline');
  cut = false;
  await phone.getByTestId('paid-state').filter({ hasText: 'Paid — streaming' }).waitFor({ timeout: 60_000 });
  t.pass('after the reconnect the preimage re-attaches the stream by itself');
  t.same(problems, [], 'no console errors, no page errors');
});

t.test('after paying, the page shows the preimage and a reload re-attaches the paid stream without a new invoice', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Debian's chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium)`);
    return;
  }
  const rig = await startRig(t, { clock: systemClock(), paymentArgs: ['--entitlement', '1h'] });
  const { page, problems } = await browser(t, { width: 390, height: 844 });
  await page.goto(`http://127.0.0.1:${rig.http.port}/`);
  await page.getByTestId('status').filter({ hasText: 'Connected · dev Lightning node' }).waitFor();
  await page.getByTestId('table').selectOption('trade');
  await page.getByLabel('Symbols').fill('IBM');
  await page.getByTestId('subscribe').click();
  await page.getByTestId('invoice').waitFor({ state: 'visible' });
  await page.getByTestId('pay').click();
  await page.getByTestId('paid').filter({ hasText: 'Paid — streaming' }).waitFor();
  const shown = (await page.getByTestId('paid-preimage').textContent())?.trim() ?? '';
  t.match(shown, /^[0-9a-f]{64}$/, 'the proof of payment is on the page');
  const [entry] = [...(rig.payments?.ledger.entries() ?? [])];
  t.equal(createHash('sha256').update(Buffer.from(shown, 'hex')).digest('hex'), entry?.r_hash, "it is the payment's preimage");

  await page.reload();
  await page.getByTestId('paid').filter({ hasText: 'Paid — streaming' }).waitFor();
  t.equal(await page.getByLabel('Symbols').inputValue(), 'IBM', 'the request is restored');
  t.ok(await page.getByTestId('invoice').isHidden(), 'no invoice after the reload');
  t.equal(rig.payments?.paywall.stats.invoices, 1, 'nothing new was minted');
  t.equal(rig.payments?.ledger.size, 1, 'and nothing paid twice');
  await publishTrades(rig.feed, [{ sym: 'IBM', price: 101 }, { sym: 'MSFT', price: 5 }]);
  await page.getByTestId('rows').locator('td[data-sym="IBM"]').first().waitFor();
  t.equal(await page.getByTestId('rows').locator('td[data-sym="MSFT"]').count(), 0, 'still only what was paid for');
  t.same(problems, [], 'no console errors, no page errors');
});
