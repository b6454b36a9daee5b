// The `tickerplant` command's exit codes as an operator meets them: a command-line mistake exits 2 and a
// failure at start exits 1, each as one line on stderr without a stack. (test/cli.test.ts has the rest.)
import t from 'tap';
import { createServer } from 'node:net';
import { run } from './helpers/cli.js';

t.test('a bad command line exits 2 with one line and no stack', async (t) => {
  const r = run(['--fsync', 'sometimes']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--fsync must be none, batch or record/);
  t.notMatch(r.stderr, /\n\s+at /);
});

t.test('a port out of range is a command-line mistake: exit 2, one line', async (t) => {
  const r = run(['-p', '99999']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^tickerplant: --port must be a port from 0 to 65535, got '99999' \(see tickerplant --help\)\n$/);
});

t.test('--tls-port without a certificate is a command-line mistake: exit 2, one line', async (t) => {
  const r = run(['--tls-port', '5011', '-p', '0', '--unix', '']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^tickerplant: --tls-port needs --tls-cert and --tls-key \(see tickerplant --help\)\n$/);
});

t.test('a port already taken is a runtime failure: exit 1, one line without a stack', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const r = run(['-p', String(port), '--host', '127.0.0.1', '--unix', '']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^tickerplant: .*EADDRINUSE[^\n]*\n$/);
  t.notMatch(r.stdout, /"stack"|\.js:\d+/, 'the log lines on stdout carry no stack or source path either');
});
