// npm run bench:pay — how fast payment turns into data. For each of N subscriptions: .u.sub (timing
// lnd's AddInvoice round trip), settle, then time settle → first `upd` at the subscriber. Against the
// fake lnd over TLS (gRPC stream) and, as the peer measured in the same run, the in-process dev node.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { QConnection } from '../src/client/index.js';
import { parseCommandLine } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { DevBackend, LndBackend } from '../src/lightning/index.js';
import { floats, ints, list, str, symbols, timespans } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { FAKE_LND_CERT_PATH, startFakeLnd } from '../test/helpers/fake-lnd.js';
import { percentile } from './stats.js';

const N = Number(process.env['PAY_N'] ?? 200);

interface Run { settleToUpd: Float64Array; addInvoice: Float64Array }

async function measure(kind: 'lnd' | 'dev'): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-pay-'));
  const fake = kind === 'lnd' ? await startFakeLnd() : undefined;
  const args = ['-p', '0', '--unix', '', '--data-dir', dir, '--log-level', 'silent'];
  if (fake) {
    writeFileSync(join(dir, 'invoice.macaroon'), fake.macaroon);
    args.push('--lnd', fake.host, '--lnd-tlscert', FAKE_LND_CERT_PATH, '--lnd-macaroon', join(dir, 'invoice.macaroon'));
  } else {
    args.push('--lightning', 'dev');
  }
  const app = await startApp(parseCommandLine(args).config, { log: createLogger('silent'), clock: systemClock() });
  const backend = app.payments?.backend;
  if (kind === 'lnd' && !(backend instanceof LndBackend)) throw new Error('lnd backend expected');
  while (backend?.status().up !== true) await new Promise((r) => setTimeout(r, 20));
  if (fake) await fake.streamsOpen(1);
  const sub = await QConnection.connect({ port: app.port });
  let t1 = 0n;
  let armed = false;
  sub.on('message', (v: QValue) => {
    if (armed && v.type === 0 && v.items[0]?.type === -11 && v.items[0].value === 'upd') { t1 = process.hrtime.bigint(); armed = false; }
  });
  // A feed publishing one trade per event-loop turn, so data is always about to flow.
  let feeding = true;
  const row = list(timespans([0n]), symbols(['IBM']), floats([1]), ints([1]));
  const feed = (): void => { if (!feeding) return; app.tp.upd('trade', row); setImmediate(feed); };
  setImmediate(feed);
  const settleToUpd = new Float64Array(N);
  const addInvoice = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const a0 = process.hrtime.bigint();
    const reply = await sub.sync(str('.u.sub[`trade;`IBM]'));
    addInvoice[i] = Number(process.hrtime.bigint() - a0) / 1000;
    if (reply.type !== 0) throw new Error('unexpected reply');
    const inv = reply.items[2];
    if (!inv || inv.type !== 99 || inv.values.type !== 0) throw new Error('no invoice in the reply');
    const rHash = Buffer.from(Buffer.from((inv.values.items[0] as { data: Uint8Array }).data).toString(), 'base64');
    t1 = 0n;
    armed = true;
    const t0 = process.hrtime.bigint();
    if (fake) fake.settle(rHash); else (backend as DevBackend).settleByHash(rHash);
    while (t1 === 0n) await new Promise((r) => setImmediate(r));
    settleToUpd[i] = Number(t1 - t0) / 1000;
  }
  feeding = false;
  sub.close();
  await app.close();
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
  return { settleToUpd: settleToUpd.sort(), addInvoice: addInvoice.sort() };
}

const lnd = await measure('lnd');
const dev = await measure('dev');
const f = (x: number): string => (x / 1000).toFixed(2).padStart(8);
console.log(`payment benchmark on ${process.version}, ${new Date().toISOString()}, ${N} subscriptions each`);
console.log('                                   p50 ms   p99 ms');
console.log(`settle -> first upd, lnd (gRPC)  ${f(percentile(lnd.settleToUpd, 50))} ${f(percentile(lnd.settleToUpd, 99))}`);
console.log(`settle -> first upd, dev node    ${f(percentile(dev.settleToUpd, 50))} ${f(percentile(dev.settleToUpd, 99))}`);
console.log(`.u.sub incl. AddInvoice, lnd     ${f(percentile(lnd.addInvoice, 50))} ${f(percentile(lnd.addInvoice, 99))}`);
console.log(`.u.sub incl. addInvoice, dev     ${f(percentile(dev.addInvoice, 50))} ${f(percentile(dev.addInvoice, 99))}`);
console.log('goal: settle -> first upd p99 <= 5 ms');
const r = (x: number): number => Math.round(x) / 1000;
console.log(JSON.stringify({
  bench: 'pay',
  settle_to_upd_p50_ms: r(percentile(lnd.settleToUpd, 50)), settle_to_upd_p99_ms: r(percentile(lnd.settleToUpd, 99)),
  add_invoice_p50_ms: r(percentile(lnd.addInvoice, 50)), add_invoice_p99_ms: r(percentile(lnd.addInvoice, 99)),
  dev_settle_to_upd_p50_ms: r(percentile(dev.settleToUpd, 50)), dev_settle_to_upd_p99_ms: r(percentile(dev.settleToUpd, 99)),
  dev_add_invoice_p50_ms: r(percentile(dev.addInvoice, 50)),
}));
