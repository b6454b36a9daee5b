// `tickerplant pay` (src/commands/pay.ts) as an operator runs it against tickerplants that cannot take
// the payment: the reason is said in words, not as q's bare 'access.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'dist', 'cli.js');

t.test('`tickerplant pay` against a tickerplant without the dev node says the dev node is off', async (t) => {
  const child = spawn(process.execPath, [CLI, '-p', '0', '--unix', '', '--log-level', 'warn', '--data-dir', t.testdir()],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on :(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
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
