// The web page in real headless Chromium (Debian's chromium driven by playwright-core): subscribe →
// invoice with QR, amount and countdown → pay with the dev node → paid → rows and chart from a node-q feed.
// Saves screenshots under .tap/web/ (invoice.png, page.png; page.png also to docs/screenshot.png when
// UPDATE_SCREENSHOT=1).
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
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

/** A deterministic walk around `start`, one trade per second from 10:00:00. */
function walk(sym: string, start: number, n: number, phase: number): Trade[] {
  return Array.from({ length: n }, (_, i) => ({
    sym, second: i, size: 100 + 10 * (i % 7),
    price: Math.round((start + 3 * Math.sin(i / 4 + phase) + i * 0.08) * 100) / 100,
  }));
}

t.test('subscribe, see the invoice as a QR code, pay with the dev node, then rows and prices stream in', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Debian's chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium)`);
    return;
  }
  const rig = await startRig(t, { clock: systemClock() });
  // The profile lives outside tap's fixture folder: Chromium's helpers may still be writing into it for a
  // moment after close() resolves, and tap's own cleanup would then fail with ENOTEMPTY.
  const profile = mkdtempSync(join(tmpdir(), 'tp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1100, height: 1400 }, timeout: 60_000,
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

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
  t.ok(await page.getByTestId('chart').evaluate((el) => {
    const c = el as unknown as Canvas;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let colored = 0;
    for (let i = 0; i < d.length; i += 4) if ((d[i + 3] ?? 0) > 0 && d[i] !== d[i + 2]) colored++;
    return colored > 500;
  }), 'the chart has drawn its lines');

  const shot = join(dir, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.ok(statSync(shot).size > 10_000, `screenshot saved to ${shot}`);
  t.same(readFileSync(shot).subarray(1, 4).toString('latin1'), 'PNG');
  if (process.env['UPDATE_SCREENSHOT'] === '1') await page.screenshot({ path: join(ROOT, 'docs', 'screenshot.png'), fullPage: true });
  t.same(problems, [], 'no console errors, no page errors');
});
