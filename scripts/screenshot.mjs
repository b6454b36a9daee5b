// docs/screenshot.png as a newcomer sees it: `npm start`'s command (dev Lightning node, demo feed, the
// page on --http-port) in a scratch directory, then headless Chromium subscribes to trade AAPL, GOOGL,
// pays with the dev node and lets the demo feed run for a while. Run after `npm run build`:
//   node scripts/screenshot.mjs [out.png]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(ROOT, 'docs', 'screenshot.png'));

const freePort = () => new Promise((res, rej) => {
  const s = createServer().once('error', rej).listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => res(port));
  });
});

const work = mkdtempSync(join(tmpdir(), 'tp-screenshot-'));
const [http, ipc] = [await freePort(), await freePort()];
// package.json "start", with ports known to be free and the data directory in the scratch folder.
const tp = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), '--lightning', 'dev', '--demo-feed',
  '--http-port', String(http), '-p', String(ipc)], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
const profile = mkdtempSync(join(tmpdir(), 'tp-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1100, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  for (let i = 0; ; i++) {
    try { await page.goto(`http://127.0.0.1:${http}/`); break; } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await page.getByTestId('table').selectOption('trade');
  await page.getByLabel('Symbols').fill('AAPL, GOOGL');
  await page.getByTestId('subscribe').click();
  await page.getByTestId('pay').click();
  await page.getByTestId('paid').waitFor({ state: 'visible' });
  await page.waitForTimeout(15_000);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`saved ${out}`);
} finally {
  await context?.close();
  tp.kill('SIGTERM');
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
