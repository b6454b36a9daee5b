// An edge tickerplant (--from-nats) follows TICK_sym: its journal is the primary's byte for byte, and an
// r.q-style subscriber of the edge that replays .u.i records of the edge's journal and keeps the live
// stream sees every row exactly once.
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp } from '../../src/app.js';
import { ManualClock, systemClock } from '../../src/clock.js';
import { parseCommandLine } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { replay, updRecord, validate } from '../../src/journal/index.js';
import { floats, formatQDate, ints, list, symbols, timespans } from '../../src/ipc/index.js';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, ensureStream, jetstreamManager } from '../../src/nats/stream.js';
import { END, endSubject, msgId, tableSubject } from '../../src/nats/names.js';
import { disk } from '../helpers/disk.js';
import type { QValue } from '../../src/ipc/index.js';
import { connect } from '../helpers/qclient.js';
import { LogSink, sleep, T0, until } from '../helpers/tp.js';
import { freePort, haveNats, natsApp as app, natsServer, sizes, trade, tradeArgs } from '../helpers/nats.js';

/** The size column of the journal's first `limit` trade records: what -11!(n;L) would replay. */
function replayed(path: string, limit: number): number[] {
  const out: number[] = [];
  replay(path, (v: QValue) => {
    if (v.type !== 0) return;
    const x = v.items[2];
    const size = x?.type === 0 ? x.items[3] : undefined;
    if (size?.type === 6) out.push(...size.data);
    else if (size?.type === -6) out.push(size.value);
  }, { limit });
  return out;
}

t.test('an edge journal is the primary journal, and replay from it plus the live stream sees every row once',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    mkdirSync(join(dir, 'primary'));
    mkdirSync(join(dir, 'edge'));
    const primary = await app(t, ['sym', join(dir, 'primary'), '--nats', nats.url]);
    const edge = await app(t, ['--from-nats', nats.url, join(dir, 'edge')]);
    const feed = await connect({ port: primary.port });
    t.teardown(() => feed.close());
    const N = 1200;
    for (let i = 0; i < N / 2; i++) trade(feed, i);
    await feed.sync('');
    await until(() => (edge.tp.journalStats()?.records ?? 0) >= N / 4, 20_000);
    // r.q on the edge: subscribe and read (.u.i;.u.L) in one request, mid-stream.
    const rdb = await connect({ port: edge.port });
    t.teardown(() => rdb.close());
    const reply = await rdb.sync('(.u.sub[`;`];.u `i`L)') as unknown[];
    for (let i = N / 2; i < N; i++) trade(feed, i);
    await feed.sync('');
    const [i, L] = reply[1] as [number, string];
    t.ok(i > 0, `.u.i = ${i} when r.q subscribed`);
    const live = (): number[] => sizes(rdb);
    await rdb.waitFor(() => live().length >= N - i, 20_000);
    const rows = [...replayed(String(L).replace(/^:/, ''), i), ...live()];
    t.same(rows, Array.from({ length: N }, (_, k) => k), 'replay + live = every row exactly once, in order');
    await until(() => edge.tp.journalStats()?.records === N, 10_000);
    edge.tp.flushJournal();
    primary.tp.flushJournal();
    t.ok(readFileSync(edge.tp.logFile as string).equals(readFileSync(primary.tp.logFile as string)),
      "the edge's journal is byte-identical to the primary's");
    t.equal(edge.tp.i, primary.tp.i, '.u.i equal');
    const err = await rdb.sync(...tradeArgs(1)).catch((e: Error) => e.message);
    t.equal(err, 'edge', 'the edge refuses feeds');
  });

t.test("an edge whose disk fails publishes nothing its journal lacks, and follows on from its journal's end when the disk has room",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    mkdirSync(join(dir, 'primary'));
    mkdirSync(join(dir, 'edge'));
    const primary = await app(t, ['sym', join(dir, 'primary'), '--nats', nats.url]);
    const d = disk('write ENOSPC');
    const sink = new LogSink();
    const { config } = parseCommandLine(['-p', '0', '--unix', '', '--from-nats', nats.url, join(dir, 'edge')]);
    const edge = await startApp(config, { log: createLogger('debug', sink), clock: systemClock(), journalIo: d.io });
    t.teardown(() => edge.close());
    const feed = await connect({ port: primary.port });
    const sub = await connect({ port: edge.port });
    t.teardown(() => Promise.all([feed.close(), sub.close()]));
    await sub.sync('.u.sub[`;`]');
    const live = (): number[] => sub.updates.flatMap((u) => (u.data as Array<Record<string, number>>).map((r) => r['size'] as number));
    const N = 300;
    for (let i = 0; i < N; i++) trade(feed, i);
    await feed.sync('');
    await sub.waitFor(() => live().length >= N, 20_000);

    d.failing = true;
    for (let i = N; i < 2 * N; i++) trade(feed, i);
    await feed.sync('');
    await until(() => d.failures > 0 && (primary.tp.journalStats()?.records ?? 0) === 2 * N, 20_000);
    await until(() => edge.tp.journalHealth.up === false, 20_000);
    await sleep(500); // the edge keeps retrying meanwhile
    t.equal(edge.tp.journalStats()?.records, N, "the edge's journal holds only what it could write");
    t.same(live(), Array.from({ length: N }, (_, k) => k), 'its subscriber got nothing the journal lacks');
    t.equal(await sub.sync('.u.i'), N, 'the edge still answers queries');
    const failed = (): number => sink.lines.filter((l) => l['msg'] === 'journal write failed: updates refused until it writes again').length;
    t.equal(failed(), 1, 'one log line for the fault, whatever the retries');
    t.notOk(sink.lines.some((l) => l['msg'] === 'stream message not applied'), 'no line per record');

    d.failing = false;
    await sub.waitFor(() => live().length >= 2 * N, 20_000);
    await until(() => edge.tp.journalStats()?.records === 2 * N, 10_000);
    t.same(live(), Array.from({ length: 2 * N }, (_, k) => k), 'once the disk has room, every row exactly once, in order');
    t.equal(sink.lines.filter((l) => l['msg'] === 'journal writing again').length, 1, 'one log line for the recovery');
    edge.tp.flushJournal();
    primary.tp.flushJournal();
    t.ok(readFileSync(edge.tp.logFile as string).equals(readFileSync(primary.tp.logFile as string)),
      "the edge's journal is again byte-identical to the primary's");
    t.same(replayed(edge.tp.logFile as string, 2 * N), Array.from({ length: 2 * N }, (_, k) => k), 'replayed, every row once');
  });

t.test('an edge started while NATS is away serves its local schema at once, says so in one line, and follows the stream when NATS comes',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const port = await freePort(); // nothing listens here yet
    mkdirSync(join(dir, 'primary'));
    mkdirSync(join(dir, 'edge'));
    const sink = new LogSink();
    const edge = await app(t, ['--from-nats', `nats://127.0.0.1:${port}`, join(dir, 'edge')], sink);
    const said = (msg: string): unknown[] => sink.lines.filter((l) => l['msg'] === msg).map((l) => l['err']);
    const sub = await connect({ port: edge.port });
    t.teardown(() => sub.close());
    const reply = await sub.sync('.u.sub[`trade;`]') as unknown[];
    t.equal(reply[0], 'trade', '.u.sub answers from q/sym.q while NATS is down');
    t.same(await sub.sync('.u.t'), ['quote', 'trade'], 'the tables are the local schema');
    await until(() => said('waiting for the stream').length > 0, 10_000);
    await sleep(1500); // real retries, each 250 ms
    t.match(said('waiting for the stream'), [/refused/i], 'one line while NATS is away, with the reason');
    const nats = await natsServer(t, dir, { port });
    const primary = await app(t, ['sym', join(dir, 'primary'), '--nats', nats.url]);
    const feed = await connect({ port: primary.port });
    t.teardown(() => feed.close());
    for (let i = 0; i < 10; i++) trade(feed, i);
    await feed.sync('');
    await sub.waitFor(() => sizes(sub).length >= 10, 30_000);
    t.same(sizes(sub), Array.from({ length: 10 }, (_, k) => k), 'then every row, once, in order');
    t.equal(said('waiting for the stream').length, 1, 'and no other line while the stream was not there yet');
    t.equal(said('following the stream').length, 1, 'then the follower says once that it follows');
  });

t.test("an edge restarted after midnight takes the rest of yesterday from the stream, then yesterday's end, then today's records",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    const nc = await connectNats({ servers: nats.url });
    t.teardown(() => nc.close());
    await ensureStream(await jetstreamManager(nc), 'sym', 1);
    const js = jetstream(nc);
    const D = 8767; // 2024.01.02, T0's date
    const publish = async (date: number, index: number): Promise<void> => {
      const h = headers();
      h.set('Nats-Msg-Id', msgId({ date, index }));
      const data = index === END ? Buffer.alloc(0)
        : updRecord('trade', list(timespans([BigInt(index)]), symbols(['IBM']), floats([index]), ints([index])));
      await js.publish(index === END ? endSubject('sym') : tableSubject('sym', 'trade'), data, { headers: h });
    };
    const edgeAt = async (nanos: bigint) => {
      const { config } = parseCommandLine(['-p', '0', '--unix', '', '--from-nats', nats.url, join(dir, 'edge')]);
      const edge = await startApp(config, { log: createLogger('silent'), clock: new ManualClock(nanos, 0) });
      t.teardown(() => edge.close());
      return edge;
    };
    const first = await edgeAt(T0);
    await publish(D, 0);
    await publish(D, 1);
    await until(() => first.tp.journalStats()?.records === 2, 10_000);
    await first.close();
    await publish(D, 2);
    await publish(D, END);
    await publish(D + 1, 0);
    const second = await edgeAt(T0 + 16n * 3_600_000_000_000n); // 2024.01.03 01:30
    await until(() => second.tp.d === D + 1 && second.tp.journalStats()?.records === 1, 10_000);
    const file = (d: number): string => join(dir, 'edge', `sym${formatQDate(d)}`);
    t.equal(validate(file(D)).chunks, 3, "yesterday's journal is complete");
    t.equal(validate(file(D + 1)).chunks, 1, "today's has today's record");
  });
