// The `tickerplant` command as an operator runs it: help, version, exit codes, signals, replay.
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nodeq } from './helpers/qclient.js';
import { CLI, run, start } from './helpers/cli.js';
import { validate } from '../src/journal/index.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);

t.test('--help lists every option with its default and exits 0; --version prints the version', async (t) => {
  const help = run(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: tickerplant \[SRC\] \[DST\] \[-p port\] \[-t ms\]/);
  for (const opt of ['--port', '--timer', '--fsync', '--lnd', '--lightning', '--price', '--entitlement', '--max-reply-bytes']) t.match(help.stdout, opt);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  t.equal(run(['--version']).stdout.trim(), pkg.version);
});

t.test('a corrupt journal exits 1 with tick.q\'s message', async (t) => {
  const dir = t.testdir();
  const first = await start(t, ['sym', dir]);
  const c = await connect({ port: first.port });
  await c.sync('.u.upd', s('trade'), [q['timespan']?.(new Date(0)), s('IBM'), q['float']?.(1), q['int']?.(1)]);
  await c.close();
  t.equal(await first.stop('SIGTERM'), 0, 'SIGTERM exits 0');
  const log = readdirLog(dir);
  appendFileSync(log, Buffer.from('0000', 'hex'));
  const r = run(['-p', '0', '--unix', '', 'sym', dir]);
  t.equal(r.status, 1);
  t.match(r.stderr, /is a corrupt log\. Truncate to length \d+ and restart/);
  t.notMatch(r.stderr, /\n\s+at /);
});

t.test('SIGINT in batch mode publishes what is buffered and closes the journal, exit 0', async (t) => {
  const dir = t.testdir();
  const tp = await start(t, ['sym', dir, '-t', '3600000']);
  const feed = await connect({ port: tp.port });
  const sub = await connect({ port: tp.port });
  await sub.sync('.u.sub[`trade;`]');
  await feed.sync('.u.upd', s('trade'), [q['timespan']?.(new Date(0)), s('IBM'), q['float']?.(1), q['int']?.(1)]);
  const code = await tp.stop('SIGINT');
  t.equal(code, 0);
  await sub.waitFor((u) => u.length === 1).catch(() => undefined);
  t.equal(sub.updates.length, 1, 'the buffered update was published before exit');
  const v = run(['replay', readdirLog(dir), '--count-only']);
  t.equal(v.status, 0);
  t.match(v.stdout, /1 records/);
  await feed.close();
  await sub.close();
});

function readdirLog(dir: string): string {
  const name = readdirSync(dir).find((f) => f.startsWith('sym'));
  if (!name || !existsSync(join(dir, name))) throw new Error('no journal');
  return join(dir, name);
}

t.test('q\'s unix socket: /tmp/kx.PORT as a file and, on Linux, in the abstract namespace', async (t) => {
  const child = spawn(process.execPath, [CLI, '-p', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let socketFile: string | undefined;
  t.teardown(() => {
    child.kill('SIGKILL'); // no clean stop to remove the socket file: the test does
    if (socketFile) rmSync(socketFile, { force: true });
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      const m = /listening on :(\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  socketFile = `/tmp/kx.${port}`;
  const c = await connect({ unixSocket: socketFile });
  t.same(await c.sync('.u.t'), ['quote', 'trade'], 'node-q over the socket file');
  await c.close();
  if (process.platform === 'linux') {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = netConnect({ path: `\0/tmp/kx.${port}` }, () => s.write(Buffer.from('u:p\u0003\u0000', 'latin1')));
      s.once('data', (d: Buffer) => { resolve(d); s.destroy(); });
      s.once('error', reject);
    });
    t.same([...reply], [3], 'the abstract socket answers the handshake');
  }
  child.kill('SIGTERM');
});

t.test('write-ahead: when a sync chaser is answered, every async update before it is in the journal file', async (t) => {
  const dir = t.testdir();
  const tp = await start(t, ['sym', dir]);
  const feed = await connect({ port: tp.port });
  const sub = await connect({ port: tp.port });
  t.teardown(() => Promise.all([feed.close(), sub.close()]));
  await sub.sync('.u.sub[`trade;`]'); // a subscriber, so updates are published in the same turns
  let short = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 50; i++) feed.async('.u.upd', s('trade'), [s('IBM'), q['float']?.(i), q['int']?.(i)]);
    await feed.sync('');
    // Read the file the moment the answer is here (the tickerplant is another process).
    if (validate(readdirLog(dir)).chunks < 50 * (round + 1)) short++;
  }
  t.equal(short, 0, 'no answer ever arrived ahead of the journal');
});

t.test('a SIGTERM while it is still starting stops it cleanly once started (exit 0), and the page address names the host it listens on', async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, [CLI, 'sym', dir, '-p', '0', '--unix', '', '--host', '127.0.0.1', '--http-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      // The journal opens inside the start, before any port listens.
      if (stdout.includes('"journal created"') || stdout.includes('"journal opened"')) resolve();
    });
  });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'stopped as after a start, not killed');
  t.match(stdout, /"msg":"stopping"/);
  t.match(stderr, /web page: http:\/\/127\.0\.0\.1:\d+\//, 'the address it can be reached at');
  t.ok(validate(readdirLog(dir)).ok, 'the journal is whole');
});
