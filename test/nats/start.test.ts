// The NATS part a tickerplant runs as (src/nats/start.ts): primary bridge, edge or hot standby behind one
// interface, against a real nats-server; the edge refuses a local feed, the primary's wake-up timer stops on close.
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { float, int, list, sym } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { startNats } from '../../src/nats/start.js';
import type { NatsStartOptions } from '../../src/nats/start.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import { freePort, haveNats, NatsServer, natsServer } from '../helpers/nats.js';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { LogSink, T0 } from '../helpers/tp.js';

function options(t: Test, servers: string, extra: Partial<NatsStartOptions> = {}): NatsStartOptions {
  const clock = new ManualClock(T0);
  const log = createLogger('silent', new LogSink());
  const dir = t.testdir();
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock, log, logDir: dir, src: 'S' });
  t.teardown(() => tp.close());
  return { servers, replicas: 1, failoverMs: 3000, src: 'S', dir, tp, clock, log, ...extra };
}

t.test('a primary needs DST, and every mode needs a SRC NATS can name a stream by', async (t) => {
  t.throws(() => startNats('primary', options(t, 'nats://127.0.0.1:1', { dir: undefined })), { name: 'ConfigError', message: /needs DST/ });
  for (const mode of ['primary', 'edge', 'ha'] as const) {
    t.throws(() => startNats(mode, options(t, 'nats://127.0.0.1:1', { src: 'a.b' })), { name: 'ConfigError' }, mode);
  }
});

t.test('a --nats-creds file that cannot be read is refused at start, in every mode', async (t) => {
  for (const mode of ['primary', 'edge', 'ha'] as const) {
    t.throws(() => startNats(mode, options(t, 'nats://127.0.0.1:1', { credsFile: '/nonexistent/x.creds' })),
      { name: 'ConfigError', message: '--nats-creds: cannot read /nonexistent/x.creds' }, mode);
  }
});

t.test('a primary whose first connection is refused (credentials) retries with backoff, one line, and replicates once it gets in',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const port = await freePort();
    const store = join(dir, 'nats');
    mkdirSync(store);
    const locked = new NatsServer(port, ['-js', '-sd', store, '--user', 'a', '--pass', 'b']);
    await locked.start();
    t.teardown(() => locked.stop());
    const sink = new LogSink();
    const o = { ...options(t, `nats://127.0.0.1:${port}`), log: createLogger('info', sink) };
    const clock = o.clock as ManualClock;
    const part = startNats('primary', o);
    t.teardown(() => part.close());
    const failed = (): number => sink.lines.filter((l) => l['msg'] === 'nats connection failed; retrying').length;
    for (let i = 0; i < 200 && failed() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 3; i++) { clock.advanceMs(5000); await new Promise((r) => setTimeout(r, 200)); } // refused again, quietly
    t.equal(failed(), 1, 'one line while it keeps being refused');
    await locked.stop();
    const open = new NatsServer(port, ['-js', '-sd', store]);
    await open.start();
    t.teardown(() => open.stop());
    o.tp.upd('trade', list(sym('IBM'), float(1), int(1)));
    for (let i = 0; i < 300 && !sink.lines.some((l) => l['msg'] === 'stream in step with the journal'); i++) {
      clock.advanceMs(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    t.ok(sink.lines.some((l) => l['msg'] === 'nats connected'), 'the retry got in');
    for (let i = 0; i < 300 && part.lag() > 0; i++) { clock.advanceMs(1000); await new Promise((r) => setTimeout(r, 20)); }
    t.equal(part.lag(), 0, 'and the journal reached the stream');
  });

t.test('against nats-server', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const server = await natsServer(t, t.testdir());

  t.test('the primary takes no .u.upd of its own, and its end-of-day wake-up timer goes with close', async (t) => {
    const o = options(t, server.url);
    const clock = o.clock as ManualClock;
    const before = clock.pending;
    const part = startNats('primary', o);
    t.equal(part.mode, 'primary');
    t.equal(part.role(), 'primary');
    t.equal(part.upd, undefined, 'the tickerplant takes its feed');
    t.ok(clock.pending > before, 'a timer is armed');
    await part.close();
    t.equal(clock.pending, before, 'and cancelled');
  });

  t.test('an edge refuses a local feed with q\'s edge error: its journal is the primary\'s', async (t) => {
    const part = startNats('edge', options(t, server.url));
    t.teardown(() => part.close());
    t.equal(part.mode, 'edge');
    t.equal(part.role(), 'edge');
    const upd = part.upd;
    if (!upd) throw new Error('an edge takes .u.upd to refuse it');
    t.throws(() => upd('trade', list(sym('IBM'))), { name: 'QError', message: 'edge' });
  });

  t.test('a hot-standby member reports its HA role and takes .u.upd itself', async (t) => {
    const part = startNats('ha', options(t, server.url));
    t.equal(part.mode, 'ha');
    t.type(part.upd, 'function');
    t.equal(part.role(), 'connecting', 'the member\'s own role, before it has joined');
    await part.close();
    t.equal(part.role(), 'stopped');
  });
});
