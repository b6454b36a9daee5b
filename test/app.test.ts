// The composition root (src/app.ts): which parts a command line starts, where SRC is found, the dev node's
// pay functions as the gateway and the q surface see them, and a start that fails or a close that stops all.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { devPayFor, packageVersion, qDevPayFor, resolveSchemaPath, startApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { parseCommandLine } from '../src/config.js';
import { DevBackend } from '../src/lightning/index.js';
import { createLogger } from '../src/log.js';
import { freePort, tradeArgs } from './helpers/nats.js';
import { LogSink, startTp, T0 } from './helpers/tp.js';

const refused = (port: number): Promise<boolean> => new Promise((resolve) => {
  const c = net.connect(port, '127.0.0.1');
  c.once('connect', () => { c.destroy(); resolve(false); });
  c.once('error', () => resolve(true));
});

t.test('SRC is a path when it ends in .q or has a slash, else q/SRC.q here, else the package\'s', async (t) => {
  t.equal(resolveSchemaPath('my/schema'), 'my/schema');
  t.equal(resolveSchemaPath('x.q'), 'x.q');
  t.equal(resolveSchemaPath('sym'), join('q', 'sym.q'), 'found in the working directory');
  const packaged = resolveSchemaPath('nosuchschema');
  t.match(packaged, /q\/nosuchschema\.q$/);
  t.ok(packaged.startsWith('/'), 'the package\'s own q directory, absolute');
});

t.test('the version is package.json\'s', async (t) => {
  t.equal(packageVersion(), (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
});

t.test('without a backend that pays itself there is no dev pay for the gateway or the q surface', async (t) => {
  t.equal(devPayFor(undefined), undefined);
  t.equal(qDevPayFor(undefined), undefined);
});

t.test('the dev node\'s pay: hex hash and preimage for the gateway, bytes and amount for q, q texts for failures', async (t) => {
  const node = new DevBackend({ dataDir: t.testdir() });
  await node.start();
  try {
    const gatewayPay = devPayFor(node);
    const qPay = qDevPayFor(node);
    if (!gatewayPay || !qPay) throw new Error('the dev node pays itself');
    const a = await node.addInvoice({ valueSat: 21n, memo: 'a', expirySeconds: 60 });
    const paid = gatewayPay(a.paymentRequest);
    t.equal(paid.hash, a.rHash.toString('hex'));
    t.equal(createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex'), paid.hash, 'the preimage is the proof');
    const b = await node.addInvoice({ valueSat: 5n, memo: 'b', expirySeconds: 60 });
    const q = qPay(b.paymentRequest);
    t.same(q.hash, b.rHash);
    t.equal(q.amountSat, 5n);
    t.throws(() => qPay(b.paymentRequest), { name: 'QError', message: 'already paid' });
    t.throws(() => qPay('lnbcrt1garbage'), { name: 'QError', message: 'pay' });
  } finally {
    await node.close();
  }
});

t.test('a plain start listens on TCP and the unix socket, with no HTTP, metrics, payments or NATS', async (t) => {
  const app = await startTp(t);
  t.ok(app.port > 0);
  t.same(app.addresses.map((a) => a.kind).slice(0, 1), ['tcp']);
  t.equal(app.httpPort, undefined);
  t.equal(app.metrics, undefined);
  t.equal(app.payments, undefined);
  t.equal(app.nats, undefined);
  t.same(app.tp.names, ['quote', 'trade']);
});

t.test('--http-port and --lightning dev add the HTTP listener, metrics, payments and the L402 root key', async (t) => {
  const dir = t.testdir();
  const app = await startTp(t, { args: ['--http-port', '0', '--lightning', 'dev', '--data-dir', dir] });
  t.ok((app.httpPort ?? 0) > 0);
  t.ok(app.metrics);
  t.equal(app.payments?.backend.kind, 'dev');
  t.ok(existsSync(join(dir, 'l402-root.key')));
  t.ok(existsSync(join(dir, 'dev-node.key')));
  t.equal((await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)).status, 200);
});

t.test('close stops every listener and logs once that the tickerplant stopped', async (t) => {
  const sink = new LogSink();
  const { config } = parseCommandLine(['-p', '0', '--unix', '', '--http-port', '0']);
  const app = await startApp(config, { log: createLogger('info', sink), clock: new ManualClock(T0) });
  const http = app.httpPort as number;
  t.equal(await refused(app.port), false);
  await app.close();
  t.equal(await refused(app.port), true, 'the IPC port');
  t.equal(await refused(http), true, 'the HTTP port');
  t.equal(sink.lines.filter((l) => l['msg'] === 'tickerplant stopped').length, 1);
});

t.test('a port already taken fails the start with no tickerplant started, and frees what it had opened', async (t) => {
  const first = await startTp(t, { args: ['--http-port', '0'] });
  const sink = new LogSink();
  const port = await freePort();
  const { config } = parseCommandLine(['-p', String(port), '--unix', '', '--http-port', String(first.httpPort)]);
  await t.rejects(startApp(config, { log: createLogger('info', sink), clock: new ManualClock(T0) }), { code: 'EADDRINUSE' });
  t.notOk(sink.lines.some((l) => l['msg'] === 'tickerplant started'));
  t.equal(await refused(port), true, 'the IPC port it had bound is closed again');
  t.same(first.tp.names, ['quote', 'trade'], 'the first is unaffected');
});

t.test('a schema file that does not exist fails the start', async (t) => {
  const { config } = parseCommandLine(['-p', '0', '--unix', '', join(t.testdir(), 'none.q')]);
  await t.rejects(startApp(config, { log: createLogger('silent', new LogSink()), clock: new ManualClock(T0) }), { code: 'SCHEMA_ERR' });
});

t.test('close resolves to true for a clean stop (the CLI exits 0; records lost on the way out make it false, and exit 1)', async (t) => {
  const { connect } = await import('./helpers/qclient.js');
  const app = await startTp(t, { args: ['sym', t.testdir(), '--lightning', 'dev', '--data-dir', t.testdir()] });
  const feed = await connect({ port: app.port });
  await feed.sync(...tradeArgs(1));
  feed.close();
  t.equal(await app.close(), true);
});

t.test('connection limits above the open-file limit are warned of at start (a connect past it waits unseen in the backlog)', { skip: process.platform !== 'linux' && 'reads /proc/self/limits' }, async (t) => {
  const soft = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'))?.[1]);
  const sink = new LogSink();
  await startTp(t, { sink, args: ['--max-connections', String(soft + 1)] });
  t.match(sink.lines.filter((l) => l['msg'] === 'connection limits exceed the open-file limit: raise ulimit -n or lower --max-connections'),
    [{ openFileLimit: soft, maxConnections: soft + 1 }]);
  const quiet = new LogSink();
  await startTp(t, { sink: quiet, args: ['--max-connections', '16'] });
  t.notOk(quiet.messages().includes('connection limits exceed the open-file limit: raise ulimit -n or lower --max-connections'), 'none under it');
});
