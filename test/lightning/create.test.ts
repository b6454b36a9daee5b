// Which invoice backend the command line names (src/lightning/create.ts): none, the dev node with its data
// directory, clock and autopay, or lnd with its certificate and macaroon files, refused clearly when absent.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { createBackend } from '../../src/lightning/create.js';
import type { BackendChoice } from '../../src/lightning/create.js';
import { createLogger } from '../../src/log.js';
import type { Invoice } from '../../src/payments/backend.js';
import { LogSink } from '../helpers/tp.js';
import { FAKE_LND_CERT, FAKE_LND_CERT_PATH, OTHER_CERT, startFakeLnd } from '../helpers/fake-lnd.js';

const T0 = 1_767_225_600_000;
const TLS = join(process.cwd(), 'test', 'fixtures', 'tls', 'lnd.cert');

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function choice(dir: string, extra: Partial<BackendChoice>): BackendChoice {
  return { lightning: 'none', dataDir: join(dir, 'data'), stateDir: join(dir, 'state'), now: () => T0, log: createLogger('silent', new LogSink()), ...extra };
}

t.test('payments off creates no backend', async (t) => {
  t.equal(createBackend(choice(t.testdir(), { lightning: 'none' })), undefined);
});

t.test('the dev node keeps its key in the data directory and autopays on the given clock', async (t) => {
  const clock = new ManualClock(BigInt(T0) * 1_000_000n);
  const c = choice(t.testdir(), { lightning: 'dev', devAutopayMs: 500, timers: clock, now: () => Number(clock.nowNanos() / 1_000_000n) });
  const node = createBackend(c);
  t.ok(node);
  if (!node) return;
  t.equal(node.kind, 'dev');
  t.notOk(existsSync(c.dataDir), 'not started: nothing on disk yet');
  await node.start();
  try {
    t.ok(existsSync(join(c.dataDir, 'dev-node.key')));
    const settled: Invoice[] = [];
    node.on('settled', (inv: Invoice) => settled.push(inv));
    const inv = await node.addInvoice({ valueSat: 10n, memo: 'x', expirySeconds: 60 });
    clock.advanceMs(499);
    await tick();
    t.equal(settled.length, 0);
    clock.advanceMs(1);
    await tick();
    t.same(settled.map((i) => i.rHash), [inv.rHash], 'paid by the clock it was given, at autopayMs');
  } finally {
    await node.close();
  }
});

t.test('lnd without a certificate or macaroon option is a configuration error naming the option', async (t) => {
  t.throws(() => createBackend(choice(t.testdir(), { lightning: 'lnd', lnd: '127.0.0.1:10009', lndMacaroon: TLS })),
    { name: 'ConfigError', message: "--lnd needs lnd's tls.cert (--lnd-tlscert)" });
  t.throws(() => createBackend(choice(t.testdir(), { lightning: 'lnd', lnd: '127.0.0.1:10009', lndTlsCert: TLS })),
    { name: 'ConfigError', message: '--lnd needs a macaroon (--lnd-macaroon)' });
});

t.test('lnd with a file that does not exist is a configuration error naming the path', async (t) => {
  const missing = join(t.testdir(), 'admin.macaroon');
  t.throws(() => createBackend(choice(t.testdir(), { lightning: 'lnd', lnd: 'h:1', lndTlsCert: TLS, lndMacaroon: missing })),
    { name: 'ConfigError', message: `a macaroon (--lnd-macaroon) not found at ${missing}` });
});

t.test('lnd with both files is an lnd backend, not yet connected, reporting down until started', async (t) => {
  const dir = t.testdir();
  const mac = join(dir, 'admin.macaroon');
  writeFileSync(mac, Buffer.from('0201', 'hex'));
  const node = createBackend(choice(dir, { lightning: 'lnd', lnd: '127.0.0.1:1', lndTlsCert: TLS, lndMacaroon: mac }));
  t.equal(node?.kind, 'lnd');
  t.equal(node?.status().up, false);
  await node?.close();
});

t.test('a macaroon file of hex text (as hosted nodes hand it out) is read as the macaroon it spells', async (t) => {
  const fake = await startFakeLnd();
  t.teardown(() => fake.stop());
  const dir = t.testdir();
  const start = async (file: string, contents: string | Buffer): Promise<boolean> => {
    writeFileSync(join(dir, file), contents);
    const node = createBackend(choice(dir, { lightning: 'lnd', lnd: fake.host, lndTlsCert: FAKE_LND_CERT_PATH, lndMacaroon: join(dir, file) }));
    t.teardown(() => node?.close());
    await node?.start();
    return node?.status().up ?? false;
  };
  t.ok(await start('binary.macaroon', fake.macaroon), 'the binary file');
  t.ok(await start('hex.macaroon', `${fake.macaroon.toString('hex')}\n`), 'hex text with a newline');
  t.notOk(await start('wrong.macaroon', 'ab'.repeat(40)), 'hex of another macaroon is refused by lnd');
});

t.test('each reconnect reads tls.cert and the macaroon again (lnd renews its certificate in place), keeping the last ones while unreadable', async (t) => {
  const fake = await startFakeLnd();
  t.teardown(() => fake.stop());
  const dir = t.testdir();
  const cert = join(dir, 'tls.cert');
  const mac = join(dir, 'invoice.macaroon');
  writeFileSync(cert, OTHER_CERT); // not what lnd serves: as after lnd renewed its certificate
  writeFileSync(mac, fake.macaroon);
  const clock = new ManualClock(BigInt(T0) * 1_000_000n);
  const sink = new LogSink();
  const node = createBackend(choice(dir, { lightning: 'lnd', lnd: fake.host, lndTlsCert: cert, lndMacaroon: mac, timers: clock, log: createLogger('info', sink) }));
  if (!node) { t.fail('an lnd backend'); return; }
  t.teardown(() => node.close());
  await node.start();
  t.equal(node.status().up, false, 'the old certificate: not connected');
  const retryUntilUp = async (what: string): Promise<void> => {
    for (let i = 0; i < 400 && !node.status().up; i++) {
      clock.advanceMs(250);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    t.ok(node.status().up, what);
  };
  writeFileSync(cert, FAKE_LND_CERT);
  await retryUntilUp('the renewed certificate is read on the next attempt, without a restart');
  t.match(sink.lines.filter((l) => l['msg'] === 'lnd credentials changed on disk; connecting with the new ones'), [{ newTlsCert: true, newMacaroon: false }]);

  const spin = async (): Promise<void> => {
    for (let i = 0; i < 40; i++) { clock.advanceMs(250); await new Promise((resolve) => setTimeout(resolve, 5)); }
  };
  await fake.stop();
  renameSync(cert, `${cert}.moved`); // mid-rotation: the file is briefly absent
  await fake.restart();
  await retryUntilUp('while the files cannot be read, the last ones read are used');
  t.equal(sink.lines.filter((l) => l['msg'] === 'lnd credentials not read again; the last ones are used').length, 1, 'said once');

  await fake.stop();
  renameSync(`${cert}.moved`, cert);
  writeFileSync(mac, Buffer.from('02'.repeat(40), 'hex'));
  await fake.restart();
  await spin();
  t.equal(node.status().up, false, 'a new macaroon lnd does not know is read, and refused');
  writeFileSync(mac, fake.macaroon);
  await retryUntilUp('the good macaroon is read on the next attempt');
  t.match(sink.lines.filter((l) => l['msg'] === 'lnd credentials changed on disk; connecting with the new ones').slice(1),
    [{ newTlsCert: false, newMacaroon: true }, { newTlsCert: false, newMacaroon: true }]);
  t.notOk(JSON.stringify(sink.lines).includes(fake.macaroon.toString('hex')), 'the macaroon is never logged');
});
