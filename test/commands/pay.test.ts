// `tickerplant pay PAYMENT_REQUEST` (src/commands/pay.ts): pays a dev-node invoice of a running tickerplant
// over q IPC (.dev.pay), as an operator runs it; paying twice, a tickerplant without the dev node and one
// that is not there are one-line failures in words (not q's bare 'access), exit 1.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, start } from '../helpers/cli.js';
import { connect, nodeq } from '../helpers/qclient.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);

t.test('`tickerplant pay` pays a dev-node invoice and the subscriber starts receiving', async (t) => {
  const dir = t.testdir();
  const tp = await start(t, ['--lightning', 'dev', '--data-dir', dir]);
  const sub = await connect({ port: tp.port });
  const feed = await connect({ port: tp.port });
  t.teardown(() => Promise.all([sub.close(), feed.close()]));
  const reply = await sub.sync('.u.sub[`trade;`IBM]') as [string, unknown, { payment_request: string }];
  const paid = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [CLI, 'pay', reply[2].payment_request, '-p', String(tp.port)]);
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => resolve({ code, out }));
  });
  t.equal(paid.code, 0);
  t.match(paid.out, /^paid: payment_hash=\S+ payment_preimage=\S+ amount_sat=100/);
  for (let i = 0; i < 100 && sub.updates.length === 0; i++) {
    await feed.sync('.u.upd', s('trade'), [q['timespan']?.(new Date(0)), s('IBM'), q['float']?.(1), q['int']?.(1)]);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(sub.updates.length > 0, 'data flows after the payment');
  const again = spawnSync(process.execPath, [CLI, 'pay', reply[2].payment_request, '-p', String(tp.port)], { encoding: 'utf8' });
  t.equal(again.status, 1, 'paying twice fails');
  t.match(again.stderr, /already paid/);
});

t.test('`tickerplant pay` against a tickerplant without the dev node says the dev node is off', async (t) => {
  const { port } = await start(t, ['--data-dir', t.testdir()]);
  const r = spawnSync(process.execPath, [CLI, 'pay', 'lnbcrt1invalid', '-p', String(port)], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 1);
  t.match(r.stderr, /does not run the dev Lightning node \(start it with --lightning dev\)/);
  t.notMatch(r.stderr, /^tickerplant: access$/m, "not just q's bare error");
});

t.test('`tickerplant pay` with nothing listening says so', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'pay', 'lnbcrt1invalid', '-p', '1'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 1);
  t.match(r.stderr, /cannot reach a tickerplant on :1: nothing is listening there/);
});
