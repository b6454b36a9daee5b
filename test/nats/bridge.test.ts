// The primary's bridge against a real nats-server: every journal record reaches TICK_sym byte for byte
// and in order, and a NATS crash and restart under load leaves the stream complete with no duplicate.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../../src/app.js';
import { systemClock, localNow } from '../../src/clock.js';
import { float, formatQDate, list, sym as qsym } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { PrimaryBridge } from '../../src/nats/bridge.js';
import { parseSchema } from '../../src/tick/schema.js';
import { Tickerplant } from '../../src/tick/tickerplant.js';
import { connect, nodeq } from '../helpers/qclient.js';
import { LogSink, sleep, until } from '../helpers/tp.js';
import { haveNats, lastSeq, natsApp, natsClient, natsServer, streamMessages, sym, trade } from '../helpers/nats.js';
import type { StreamMsg } from '../helpers/nats.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;

async function primary(t: Test, dir: string, url: string, sink?: LogSink): Promise<App> {
  mkdirSync(dir, { recursive: true });
  return natsApp(t, ['sym', dir, '--nats', url], sink);
}

/** The journal file's records, as one byte string (after the 8-byte header). */
function journalBody(app: App): Buffer {
  app.tp.flushJournal();
  return readFileSync(app.tp.logFile as string).subarray(8);
}

function checkStream(t: Test, msgs: StreamMsg[], app: App, n: number): void {
  const today = formatQDate(localNow(systemClock()).date);
  const records = msgs.filter((m) => m.subject === 'tick.sym.trade');
  t.equal(records.length, n, `${n} records in the stream`);
  t.equal(app.tp.journalStats()?.records, n, 'as many as in the journal');
  t.same(records.map((m) => m.id), records.map((_, i) => `${today}:${i}`), 'Nats-Msg-Id date:index, each once, in order');
  t.ok(Buffer.concat(records.map((m) => m.data)).equals(journalBody(app)), 'stream bytes equal the journal bytes');
}

t.test('every journal record is in the stream, bytes and counts equal', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const dir = t.testdir();
  const nats = await natsServer(t, dir);
  const app = await primary(t, join(dir, 'tp'), nats.url);
  const feed = await connect({ port: app.port });
  t.teardown(() => feed.close());
  const N = 2000;
  for (let i = 0; i < N; i++) trade(feed, i);
  await feed.sync('');
  const nc = await natsClient(t, [nats.url]);
  await until(() => app.nats?.lag() === 0 && (app.tp.journalStats()?.records ?? 0) === N, 15_000);
  t.equal(await lastSeq(nc, 'TICK_sym'), N);
  checkStream(t, await streamMessages(nc, 'TICK_sym'), app, N);
});

t.test('NATS killed and restarted under load: the stream is complete, with no duplicate', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const dir = t.testdir();
  const nats = await natsServer(t, dir);
  const sink = new LogSink();
  const app = await primary(t, join(dir, 'tp'), nats.url, sink);
  const feed = await connect({ port: app.port });
  t.teardown(() => feed.close());
  await until(() => app.nats?.up() === true, 10_000);
  let i = 0;
  let feeding = true;
  const load = (async () => {
    while (feeding) {
      for (let k = 0; k < 20; k++) trade(feed, i++);
      await feed.sync('');
      await sleep(2);
    }
  })();
  await until(() => i > 500, 10_000);
  await nats.stop('SIGKILL');
  const atKill = i;
  await until(() => i > atKill + 500, 10_000); // the tickerplant keeps taking feeds while NATS is down
  await until(() => app.nats?.up() === false, 10_000, 'the link seen down');
  await nats.start();
  const atRestart = i;
  await until(() => i > atRestart + 500, 10_000);
  feeding = false;
  await load;
  const nc = await natsClient(t, [nats.url]);
  await until(() => app.nats?.lag() === 0, 30_000);
  t.equal(app.nats?.up(), true, 'up again (tickerplant_nats_up)');
  const said = (msg: string): number => sink.lines.filter((l) => l['msg'] === msg).length;
  t.same([said('nats disconnected; reconnecting'), said('nats reconnected')], [1, 1], 'the outage in two lines, not one per reconnect attempt');
  t.ok(atKill > 0 && atRestart > atKill, `fed ${atKill} before the kill, ${atRestart - atKill} while down, ${i - atRestart} after`);
  checkStream(t, await streamMessages(nc, 'TICK_sym'), app, i);
});

t.test('after NATS comes back the bridge resumes from a mark near the stream\'s end, not by reading the journal from its start',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    const jdir = join(dir, 'tp');
    mkdirSync(jdir);
    const sink = new LogSink();
    const log = createLogger('info', sink);
    let bridge: PrimaryBridge | undefined;
    const tp = new Tickerplant({ schemas: parseSchema('trade:([]time:`timespan$();sym:`symbol$();price:`float$())', 'sym.q'),
      clock: systemClock(), log, logDir: jdir, onJournal: () => bridge?.wake() });
    t.teardown(() => tp.close());
    bridge = new PrimaryBridge({ servers: nats.url, src: 'sym', dir: jdir, replicas: 1, tp, clock: systemClock(), log, ackTimeoutMs: 500, markBytes: 256 });
    t.teardown(() => bridge?.close());
    bridge.start();
    const feed = (from: number, n: number): void => { for (let i = from; i < from + n; i++) tp.upd('trade', list(qsym(`S${i % 7}`), float(i))); };
    feed(0, 300);
    await until(() => bridge?.lag() === 0, 15_000, 'the first 300 in the stream');
    // The journal's first records are made unreadable: read from the start again, the journal could not be
    // walked past them (the bridge would stop); a mark lets the resync start beyond them.
    tp.flushJournal();
    const fd = openSync(tp.logFile as string, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 8);
    closeSync(fd);
    await nats.stop('SIGKILL');
    feed(300, 100);
    await sleep(200);
    await nats.start();
    await until(() => bridge?.lag() === 0, 20_000, 'the rest in the stream after NATS came back');
    t.notOk(sink.lines.some((l) => /bridge stopped/.test(String(l['msg']))), 'the bridge never stopped');
    const nc = await natsClient(t, [nats.url]);
    const msgs = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade');
    const today = formatQDate(localNow(systemClock()).date);
    t.same(msgs.map((m) => m.id), Array.from({ length: 400 }, (_, i) => `${today}:${i}`), 'every record once, in order');
    tp.flushJournal();
    const body = readFileSync(tp.logFile as string).subarray(8 + 64);
    t.ok(Buffer.concat(msgs.map((m) => m.data)).subarray(64).equals(body), 'the bytes the journal held when they were sent');
  });

const bigUpdate = (n: number): unknown[] => ['.u.upd', sym('trade'), [Array.from({ length: n }, (_, i) => sym(`S${i % 5}`)),
  Array.from({ length: n }, (_, i) => q['float']?.(i)), Array.from({ length: n }, (_, i) => q['int']?.(i))]];

t.test("an update whose record the stream cannot hold (over NATS max_payload) is refused with 'limit before it is journaled; replication goes on",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const small = await natsServer(t, dir, { maxPayload: 8192 });
    const sink = new LogSink();
    const app = await primary(t, join(dir, 'tp'), small.url, sink);
    const feed = await connect({ port: app.port });
    t.teardown(() => feed.close());
    trade(feed, 0);
    await until(() => app.tp.journalStats()?.records === 1 && app.nats?.lag() === 0, 15_000); // the bridge knows max_payload
    await t.rejects(feed.sync(...bigUpdate(1000)), { message: 'limit' }, 'some 16 KB as a record, over 8 KB');
    feed.async(...bigUpdate(1000));
    for (let i = 1; i < 4; i++) trade(feed, i);
    await feed.sync('');
    t.equal(app.tp.journalStats()?.records, 4, 'not journaled');
    t.equal(sink.lines.filter((l) => l['msg'] === 'bad update' && l['err'] === 'limit').length, 1, 'the async one logged once');
    await until(() => app.nats?.lag() === 0, 15_000);
    checkStream(t, await streamMessages(await natsClient(t, [small.url]), 'TICK_sym'), app, 4);
  });

t.test('a journal record over NATS max_payload (journaled before the bridge knew it) stops the bridge with one error line; a restart with a larger max_payload resumes from it',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    // Journaled by a tickerplant without --nats: the bridge meets the big record when it catches up.
    const plain = await natsApp(t, ['sym', join(dir, 'tp')]);
    const feed = await connect({ port: plain.port });
    for (let i = 0; i < 10; i++) trade(feed, i);
    feed.async(...bigUpdate(1000)); // 1000 rows: some 16 KB as a journal record, over the server's 8 KB
    for (let i = 11; i < 16; i++) trade(feed, i);
    await feed.sync('');
    await feed.close();
    await plain.close();
    const small = await natsServer(t, dir, { maxPayload: 8192 });
    const sink = new LogSink();
    const app = await primary(t, join(dir, 'tp'), small.url, sink);
    const stopped = (): Record<string, unknown>[] => sink.lines.filter((l) => l['msg'] === 'journal record larger than NATS max_payload; bridge stopped');
    await until(() => stopped().length > 0, 15_000);
    await sleep(300); // a bridge that kept going, or retried, would publish or log again by now
    const today = formatQDate(localNow(systemClock()).date);
    t.equal(stopped().length, 1, 'one error line');
    t.equal(stopped()[0]?.['level'], 50, 'at level error');
    t.equal(stopped()[0]?.['at'], `${today}:10`, 'naming the record');
    t.equal(app.tp.journalStats()?.records, 16, 'the journal has every record');
    t.equal(app.nats?.lag(), 6, 'the lag counts the big record and those after it');
    const nc = await natsClient(t, [small.url]);
    const before = await streamMessages(nc, 'TICK_sym');
    t.same(before.map((m) => m.id), Array.from({ length: 10 }, (_, i) => `${today}:${i}`), 'the stream ends just before it');
    await app.close();
    await small.stop('SIGTERM');
    const big = await natsServer(t, dir, { port: small.port, maxPayload: 1 << 20 });
    const again = await primary(t, join(dir, 'tp'), big.url);
    await until(() => again.nats?.lag() === 0, 15_000);
    checkStream(t, await streamMessages(await natsClient(t, [big.url]), 'TICK_sym'), again, 16);
  });


t.test("a journal whose records differ from the stream's (a lost tail rewritten) stops the bridge rather than give the stream two histories",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    const first = await primary(t, join(dir, 'tp'), nats.url);
    const feed = await connect({ port: first.port });
    for (let i = 0; i < 3; i++) trade(feed, i);
    await feed.sync('');
    await until(() => first.nats?.lag() === 0, 15_000);
    await feed.close();
    await first.close();
    // The journal is lost (a power cut before its pages reached the disk) and rewritten with other rows.
    rmSync(first.tp.logFile as string);
    const plain = await natsApp(t, ['sym', join(dir, 'tp')]);
    const other = await connect({ port: plain.port });
    for (let i = 10; i < 13; i++) trade(other, i);
    await other.sync('');
    await other.close();
    await plain.close();
    const sink = new LogSink();
    const again = await primary(t, join(dir, 'tp'), nats.url, sink);
    await until(() => sink.messages().includes("stream's last record differs from the journal's; bridge stopped"), 15_000);
    const feed2 = await connect({ port: again.port });
    t.teardown(() => feed2.close());
    trade(feed2, 99);
    await feed2.sync('');
    await sleep(300); // a bridge that went on would have published it by now
    t.equal((await streamMessages(await natsClient(t, [nats.url]), 'TICK_sym')).length, 3, 'nothing appended to the other history');
  });
