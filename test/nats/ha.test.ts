// A hot-standby pair (--ha) on one nats-server: the leader is killed with -9 under a sync feed; the standby
// leads within 5 s, every acknowledged row is in the stream exactly once, and a subscriber of an edge
// tickerplant sees every row exactly once, in order. The feed moves between the two as q/feed.q does: on
// 'standby or a lost connection.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { parseCommandLine } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { localNow, ManualClock, systemClock } from '../../src/clock.js';
import { decodePayload, formatQDate } from '../../src/ipc/index.js';
import { replay } from '../../src/journal/index.js';
import { disk } from '../helpers/disk.js';
import { connect } from '../helpers/qclient.js';
import type { QClient } from '../helpers/qclient.js';
import { LogSink, sleep, until } from '../helpers/tp.js';
import { haveNats, natsApp, natsClient, natsServer, sizes, streamMessages, tradeArgs } from '../helpers/nats.js';
import type { NatsServer } from '../helpers/nats.js';
import { spawnTp } from '../helpers/cli-tp.js';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { ensureStream, jetstreamManager } from '../../src/nats/stream.js';
import type { TpProcess } from '../helpers/cli-tp.js';

/** The size column of a stream record (`upd;`trade;(time;sym;price;size)). */
function sizeOf(data: Buffer): number {
  const v = decodePayload(data);
  const x = v.type === 0 ? v.items[2] : undefined;
  const size = x?.type === 0 ? x.items[3] : undefined;
  if (size?.type === -6) return size.value;
  if (size?.type === 6 && size.data.length === 1) return size.data[0] as number;
  throw new Error('not a one-row trade');
}

/**
 * A nats-server and one --ha member on it, leading. `clock`: the app's (the lease's and the doubt
 * window's timers), else the system's; `sink`: its log, else silent.
 */
async function soleLeader(t: Test, failover: string, o: { clock?: ManualClock; sink?: LogSink } = {}): Promise<{ nats: NatsServer; a: App }> {
  const dir = t.testdir();
  const nats = await natsServer(t, dir);
  mkdirSync(join(dir, 'a'));
  const args = ['sym', join(dir, 'a'), '--nats', nats.url, '--ha', '--failover', failover];
  let a: App;
  if (o.clock) {
    const { config } = parseCommandLine(['-p', '0', '--unix', '', ...args]);
    a = await startApp(config, { log: o.sink ? createLogger('info', o.sink) : createLogger('silent'), clock: o.clock });
    t.teardown(() => a.close());
  } else {
    a = await natsApp(t, args, o.sink);
  }
  await until(() => a.nats?.role() === 'leader', 20_000);
  return { nats, a };
}

/** A sync call that gives up when the connection goes (node-q does not fail pending calls on close). */
function call(c: QClient, i: number): Promise<'ok' | 'standby' | 'lost'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('lost'), 3000);
    const poll = setInterval(() => { if (c.closed) { clearTimeout(timer); clearInterval(poll); resolve('lost'); } }, 20);
    c.sync(...tradeArgs(i)).then(
      () => { clearTimeout(timer); clearInterval(poll); resolve('ok'); },
      (err: Error) => { clearTimeout(timer); clearInterval(poll); resolve(err.message === 'standby' ? 'standby' : 'lost'); });
  });
}

t.test('leader killed with -9 under a sync feed: the standby leads within 5 s and no acknowledged row is lost or doubled',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    for (const d of ['a', 'b', 'edge']) mkdirSync(join(dir, d));
    const ha = (d: string): string[] => ['sym', join(dir, d), '--nats', nats.url, '--ha', '--failover', '5s'];
    const tps: TpProcess[] = [await spawnTp(t, ha('a'))];
    const edge = await natsApp(t, ['--from-nats', nats.url, join(dir, 'edge')]);
    const rdb = await connect({ port: edge.port });
    t.teardown(() => rdb.close());
    await rdb.sync('.u.sub[`;`]');

    // The feed: node-q, sync .u.upd per row; 'standby → the other tickerplant, same row; a lost connection
    // → the other tickerplant, and the row is in doubt (stored or not, it was never acknowledged).
    const acked: number[] = [];
    const inDoubt: number[] = [];
    let cur = 0;
    let conn: QClient | undefined;
    let killedAt = 0;
    let resumedAfterMs = -1;
    let stop = false;
    const feed = async (): Promise<void> => {
      let i = 0;
      while (!stop) {
        const target = tps[cur];
        if (!conn && target) conn = await connect({ port: target.port }).catch(() => undefined);
        if (!conn) { cur = (cur + 1) % tps.length; await sleep(50); continue; }
        const r = await call(conn, i);
        if (r === 'ok') {
          acked.push(i++);
          if (killedAt > 0 && resumedAfterMs < 0) resumedAfterMs = Date.now() - killedAt;
          continue;
        }
        if (r === 'lost') inDoubt.push(i++);
        await conn.close().catch(() => {});
        conn = undefined;
        cur = (cur + 1) % tps.length;
        if (r === 'standby') await sleep(20);
      }

    };
    // The first one leads once the lease is taken; the second is its standby.
    const running = feed();
    await until(() => acked.length >= 50, 20_000);
    tps.push(await spawnTp(t, ha('b')));
    await until(() => acked.length >= 400, 30_000);
    const leader = tps[cur] as TpProcess;
    killedAt = Date.now();
    await leader.kill('SIGKILL');
    await until(() => resumedAfterMs >= 0, 20_000);
    const atFailover = acked.length;
    await until(() => acked.length >= atFailover + 300, 30_000);
    stop = true;
    await running;
    await conn?.close();

    t.ok(resumedAfterMs < 5000, `the standby took the feed ${resumedAfterMs} ms after the kill`);
    t.ok(inDoubt.length <= 1, `${inDoubt.length} row(s) in doubt (sent, unacknowledged, leader killed)`);
    const nc = await natsClient(t, [nats.url]);
    const msgs = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade');
    const stored = msgs.map((m) => sizeOf(m.data));
    const counts = new Map<number, number>();
    for (const x of stored) counts.set(x, (counts.get(x) ?? 0) + 1);
    t.same(acked.filter((x) => counts.get(x) !== 1), [], 'every acknowledged row is in the stream exactly once');
    t.same(stored.filter((x) => !acked.includes(x) && !inDoubt.includes(x)), [], 'nothing else is');
    t.same([...stored].sort((a, b) => a - b), stored, 'in feed order');
    const today = formatQDate(localNow(systemClock()).date);
    t.same(msgs.map((m) => m.id), msgs.map((_, k) => `${today}:${k}`), 'record indexes continue across the takeover');

    // An edge subscriber sees every stored row exactly once, in order.
    const seen = (): number[] => sizes(rdb);
    await rdb.waitFor(() => seen().length >= stored.length, 20_000);
    t.same(seen(), stored, 'the edge subscriber saw every stored row once, in order');
    await until(() => edge.tp.journalStats()?.records === msgs.length, 20_000);
    const replayedEdge = readFileSync(edge.tp.logFile as string);
    const body = Buffer.concat(msgs.map((m) => m.data));
    t.ok(replayedEdge.subarray(8).equals(body), "the edge's journal holds the stream's records byte for byte");
    // The survivor's journal, written by following the stream and then leading, is the same.
    const survivor = join(dir, leader === tps[0] ? 'b' : 'a', `sym${today}`);
    await until(() => existsSync(survivor) && readFileSync(survivor).length === body.length + 8, 20_000);
    t.ok(readFileSync(survivor).subarray(8).equals(body), "the new leader's journal is the stream");
  });

t.test("a leader whose disk fails acknowledges nothing its journal lacks: new updates get 'journal, one the stream took waits for the journal, and all resume when the disk has room",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    mkdirSync(join(dir, 'a'));
    const d = disk('write ENOSPC');
    const sink = new LogSink();
    const { config } = parseCommandLine(['-p', '0', '--unix', '', 'sym', join(dir, 'a'), '--nats', nats.url, '--ha', '--failover', '2s']);
    const leader = await startApp(config, { log: createLogger('debug', sink), clock: systemClock(), journalIo: d.io });
    t.teardown(() => leader.close());
    await until(() => leader.nats?.role() === 'leader', 20_000);
    const feed = await connect({ port: leader.port });
    const feed2 = await connect({ port: leader.port });
    const sub = await connect({ port: leader.port });
    t.teardown(() => Promise.all([feed.close(), feed2.close(), sub.close()]));
    await sub.sync('.u.sub[`trade;`]');
    const live = (): number[] => sub.updates.flatMap((u) => (u.data as Array<Record<string, number>>).map((r) => r['size'] as number));
    const upd = (c: QClient, i: number): Promise<unknown> => c.sync(...(tradeArgs(i) as [string, ...unknown[]]));
    await upd(feed, 1);
    t.same(live(), [1], 'acknowledged once journaled and published');

    d.failing = true;
    let second: string | undefined;
    const pending = upd(feed, 2).then(() => { second = 'ok'; }, (e: Error) => { second = e.message; });
    await until(() => leader.tp.journalHealth.up === false, 20_000);
    await t.rejects(upd(feed2, 3), { message: 'journal' }, "a new update gets 'journal while the journal is down");
    await sleep(300);
    t.equal(second, undefined, 'the update the stream already took is not acknowledged before the journal has it');
    t.same(live(), [1], 'nor published');
    t.equal(leader.tp.journalStats()?.records, 1, 'the journal holds only what it could write');
    t.ok(d.failures > 0, 'the disk refused writes');
    t.equal(sink.lines.filter((l) => l['msg'] === 'journal write failed: updates refused until it writes again').length, 1,
      'one log line for the fault');
    t.notOk(sink.lines.some((l) => l['msg'] === 'bad update'), "'journal is not logged per update");

    d.failing = false;
    await pending;
    t.equal(second, 'ok', 'once the disk has room it is journaled, then acknowledged');
    await upd(feed2, 4);
    await sub.waitFor(() => live().length >= 3, 10_000);
    t.same(live(), [1, 2, 4], 'the subscriber got exactly the journaled rows');
    const rows: number[] = [];
    leader.tp.flushJournal();
    replay(leader.tp.logFile as string, (v) => {
      const x = v.type === 0 ? v.items[2] : undefined;
      const size = x?.type === 0 ? x.items[3] : undefined;
      if (size?.type === -6) rows.push(size.value);
    });
    t.same(rows, [1, 2, 4], 'the journal, replayed, is exactly the acknowledged rows');
    t.equal(sink.lines.filter((l) => l['msg'] === 'journal writing again').length, 1, 'one log line for the recovery');
    t.equal(leader.tp.journalHealth.refused, 1, 'the refused update is counted');
  });

t.test("a deposed leader that wakes up acknowledges nothing: its next id is the new leader's first, JetStream answers duplicate, the feed gets 'nats",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    for (const d of ['a', 'b']) mkdirSync(join(dir, d));
    const config = (d: string) => parseCommandLine(['-p', '0', '--unix', '', 'sym', join(dir, d), '--nats', nats.url, '--ha', '--failover', '1s']).config;
    // b's clock stands still: it never renews its lease and never sees it age, like a process paused past its TTL.
    const frozen = new ManualClock(BigInt(Date.now()) * 1_000_000n);
    const b = await startApp(config('b'), { log: createLogger('silent'), clock: frozen });
    t.teardown(() => b.close());
    await until(() => b.nats?.role() === 'leader', 20_000);
    const a = await startApp(config('a'), { log: createLogger('silent'), clock: systemClock() });
    t.teardown(() => a.close());
    await until(() => a.nats?.role() === 'leader', 20_000);
    t.equal(b.nats?.role(), 'leader', 'b has not noticed');
    const fa = await connect({ port: a.port });
    const fb = await connect({ port: b.port });
    t.teardown(() => Promise.all([fa.close(), fb.close()]));
    await fa.sync(...tradeArgs(1));
    await fa.sync(...tradeArgs(2));
    const answer = await fb.sync(...tradeArgs(77)).then(() => 'acknowledged', (err: Error) => err.message);
    t.equal(answer, 'nats', 'refused: the stream does not hold it');
    t.not(b.nats?.role(), 'leader', 'b stepped down');
    const nc = await natsClient(t, [nats.url]);
    const msgs = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade');
    t.same(msgs.map((m) => sizeOf(m.data)), [1, 2], "the stream holds a's rows only");
  });

t.test('a stream ending on a date more than a day ahead is not led: records stored after it would be ignored by every follower',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const dir = t.testdir();
    const nats = await natsServer(t, dir);
    mkdirSync(join(dir, 'a'));
    const nc = await natsClient(t, [nats.url]);
    await ensureStream(await jetstreamManager(nc), 'sym', 1);
    const h = headers();
    h.set('Nats-Msg-Id', '2099.01.01:0');
    await jetstream(nc).publish('tick.sym.trade', Buffer.from('00', 'hex'), { headers: h });
    const sink = new LogSink();
    const a = await natsApp(t, ['sym', join(dir, 'a'), '--nats', nats.url, '--ha', '--failover', '1s'], sink);
    await until(() => sink.lines.some((l) => l['msg'] === 'no longer leader' && /more than a day past today/.test(String(l['why']))), 10_000);
    t.not(a.nats?.role(), 'leader');
    const feed = await connect({ port: a.port });
    t.teardown(() => feed.close());
    await t.rejects(feed.sync(...tradeArgs(1)), { message: 'standby' }, 'feeds go elsewhere');
  });

t.test("a store that got no answer (NATS hung past the ack timeout) is answered by what the stream holds: acknowledged if and only if stored",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const { nats, a } = await soleLeader(t, '30s');
    const feed = await connect({ port: a.port });
    t.teardown(() => feed.close());
    await feed.sync(...tradeArgs(1));
    nats.signal('SIGSTOP');
    t.teardown(() => nats.signal('SIGCONT'));
    const answer = feed.sync(...tradeArgs(2)).then(() => 'acknowledged', (err: Error) => err.message);
    await sleep(6000); // past JetStream's 5 s publish timeout: the publish is in doubt
    nats.signal('SIGCONT');
    const said = await answer;
    t.ok(said === 'acknowledged' || said === 'nats', `answered: ${said}`);
    await sleep(2000); // anything the server still held has been stored by now
    const nc = await natsClient(t, [nats.url]);
    const sizes = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade').map((m) => sizeOf(m.data));
    t.equal(said === 'acknowledged', sizes.includes(2), `'${said}' and the stream holds ${JSON.stringify(sizes)}`);
    t.same(sizes, [...new Set(sizes)], 'nothing twice');
    if (said === 'acknowledged') t.equal(a.tp.journalStats()?.records, 2, 'and journaled');
  });

t.test('stores in doubt across a NATS crash are asked about in order: each acknowledged if and only if stored, none twice',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const { nats, a } = await soleLeader(t, '60s');
    const dir = t.testdirName; // where soleLeader's server keeps its store: the restarted one reads it
    const feeds = await Promise.all(Array.from({ length: 12 }, () => connect({ port: a.port })));
    t.teardown(() => Promise.all(feeds.map((f) => f.close())));
    await feeds[0]?.sync(...tradeArgs(0));
    nats.signal('SIGSTOP');
    const answers = feeds.map((f, i) => f.sync(...tradeArgs(i + 1)).then(() => 'acknowledged', (err: Error) => err.message));
    await sleep(5500); // every publish timed out: all in doubt
    await nats.stop('SIGKILL'); // what it held unread is gone
    const back = await natsServer(t, dir, { port: nats.port });
    const said = await Promise.all(answers);
    await sleep(1000);
    const nc = await natsClient(t, [back.url]);
    const sizes = (await streamMessages(nc, 'TICK_sym')).filter((m) => m.subject === 'tick.sym.trade').map((m) => sizeOf(m.data));
    t.same(sizes, [...new Set(sizes)], 'nothing twice');
    for (let i = 0; i < said.length; i++) t.equal(said[i] === 'acknowledged', sizes.includes(i + 1), `row ${i + 1}: '${said[i]}'`);
    t.ok(said.filter((x) => x === 'acknowledged').length >= said.length - 1, `stored in order, not refused for being early: ${said.join(' ')}`);
  });

t.test("a leader whose lease has not been renewed for most of its TTL takes no feed ('standby at once): it may be someone else's by now",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const clock = new ManualClock(BigInt(Date.now()) * 1_000_000n);
    const { nats, a } = await soleLeader(t, '10s', { clock });
    const feed = await connect({ port: a.port });
    t.teardown(() => feed.close());
    await feed.sync(...tradeArgs(1));
    nats.signal('SIGSTOP'); // the renewal the clock is about to ask for cannot get through
    t.teardown(() => nats.signal('SIGCONT'));
    clock.advanceMs(5000); // 0.83 of the 6 s TTL
    const started = Date.now();
    await t.rejects(feed.sync(...tradeArgs(2)), { message: 'standby' });
    t.ok(Date.now() - started < 2000, 'refused at once, not after a publish timeout');
  });

t.test("stores the stream never answers are 'nats after the doubt window, with one line for the outage however many there are",
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const clock = new ManualClock(BigInt(Date.now()) * 1_000_000n);
    const sink = new LogSink();
    const { nats, a } = await soleLeader(t, '300s', { clock, sink });
    const feeds = await Promise.all([0, 1, 2].map(() => connect({ port: a.port })));
    t.teardown(() => Promise.all(feeds.map((f) => f.close())));
    await feeds[0]?.sync(...tradeArgs(1));
    nats.signal('SIGSTOP'); // hung: no answer, no error
    t.teardown(() => nats.signal('SIGCONT'));
    await sleep(300); // stopped for certain before the stores are sent (a signal is delivered, not awaited)
    let settled = 0;
    const answers = feeds.map((f, i) => f.sync(...tradeArgs(i + 2)).then(() => 'acknowledged', (err: Error) => err.message)
      .finally(() => { settled++; }));
    // The 30 s doubt window and the retries' backoff run on the app's clock; each retry's publish times
    // out on the client's own (5 s, real).
    const end = Date.now() + 60_000;
    while (settled < answers.length && Date.now() < end) { clock.advanceMs(1000); await sleep(50); }
    t.same(await Promise.all(answers), ['nats', 'nats', 'nats'], "each store answered 'nats");
    const said = sink.lines.filter((l) => l['msg'] === 'stores unanswered and the stream unreachable: the records may yet be stored');
    t.equal(said.length, 1, 'one line for the outage, not one per store');
  });

t.test('a member whose NATS had no JetStream at first joins once it has (the stream set-up is retried with the same connection)',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const { freePort, NatsServer } = await import('../helpers/nats.js');
    const dir = t.testdir();
    const port = await freePort();
    const plain = new NatsServer(port, []); // JetStream off
    await plain.start();
    t.teardown(() => plain.stop());
    mkdirSync(join(dir, 'a'));
    const sink = new LogSink();
    const a = await natsApp(t, ['sym', join(dir, 'a'), '--nats', `nats://127.0.0.1:${port}`, '--ha', '--failover', '5s'], sink);
    await until(() => sink.lines.some((l) => l['msg'] === 'nats unavailable' || l['msg'] === 'stream not set up yet; retrying'), 10_000);
    t.not(a.nats?.role(), 'leader');
    await plain.stop();
    mkdirSync(join(dir, 'nats'));
    const js = new NatsServer(port, ['-js', '-sd', join(dir, 'nats')]);
    await js.start();
    t.teardown(() => js.stop());
    await until(() => a.nats?.role() === 'leader', 20_000, 'the member leads once JetStream answers');
    const feed = await connect({ port: a.port });
    t.teardown(() => feed.close());
    await feed.sync(...tradeArgs(1));
    t.equal(a.tp.journalStats()?.records, 1, 'and takes feeds');
  });
