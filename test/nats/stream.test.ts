// The NATS connection and the TICK_<SRC> stream against a real nats-server (src/nats/stream.ts): created
// once with file storage and a dedup window, and positions found by Nats-Msg-Id, across deleted messages.
// Spec: docs.nats.io/nats-concepts/jetstream/streams; $JS.API.STREAM.MSG.GET.
import t from 'tap';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, ensureStream, isNotFound, jetstreamManager, lastPosition, natsServers, positionAt, seqAtOrAfter, watchLink } from '../../src/nats/stream.js';
import { msgId, tableSubject } from '../../src/nats/names.js';
import { createLogger } from '../../src/log.js';
import { freePort, haveNats, NatsServer, natsServer } from '../helpers/nats.js';
import { LogSink } from '../helpers/tp.js';

t.test('the server list is comma-separated, trimmed, and may not be empty', async (t) => {
  t.same(natsServers(' nats://a:4222 ,nats://b:4222,, '), ['nats://a:4222', 'nats://b:4222']);
  t.throws(() => natsServers(' , '), { name: 'ConfigError', message: '--nats needs at least one URL' });
});

t.test('JetStream not-found errors are told apart from others', async (t) => {
  t.ok(isNotFound(new Error('stream not found')));
  t.ok(isNotFound('Not Found'));
  t.notOk(isNotFound(new Error('timeout')));
});

t.test('against nats-server: stream creation and positions by message id', { skip: !haveNats && 'no nats-server' }, async (t) => {
  const server = await natsServer(t, t.testdir());
  const nc = await connectNats({ servers: server.url, name: 'stream-test' });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);

  const info = await ensureStream(jsm, 'S', 1);
  t.equal(info.config.name, 'TICK_S');
  t.same(info.config.subjects, ['tick.S.>']);
  t.equal(info.config.storage, 'file');
  t.equal(info.config.duplicate_window, 120_000_000_000, 'two minutes of deduplication');
  t.equal((await ensureStream(jsm, 'S', 1)).created, info.created, 'a second call finds the same stream');
  const [a, b] = await Promise.all([ensureStream(jsm, 'R', 1), ensureStream(jsm, 'R', 1)]);
  t.equal(a.created, b.created, 'two creating at once end with one stream');

  t.same(await lastPosition(jsm, 'S'), { seq: 0, pos: undefined }, 'empty');
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9000, index: 0 }), 1, 'an empty stream: last_seq + 1');

  const js = jetstream(nc);
  const pub = async (date: number, index: number): Promise<void> => {
    const h = headers();
    h.set('Nats-Msg-Id', msgId({ date, index }));
    await js.publish(tableSubject('S', 'trade'), new Uint8Array([1]), { headers: h });
  };
  for (let i = 0; i < 10; i++) await pub(9000, i);
  for (let i = 0; i < 5; i++) await pub(9001, i);
  await js.publish(tableSubject('S', 'trade'), new Uint8Array([2])); // not ours: no Nats-Msg-Id

  t.match(await lastPosition(jsm, 'S'), { seq: 16, pos: undefined, data: new Uint8Array([2]) }, 'the last message names no position; its bytes come with it');
  t.same(await positionAt(jsm, 'S', 12), { date: 9001, index: 1 });
  t.equal(await positionAt(jsm, 'S', 99), undefined, 'no such sequence');

  t.equal(await seqAtOrAfter(jsm, 'S', { date: 8999, index: 0 }), 1, 'before everything');
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9000, index: 7 }), 8);
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9001, index: 0 }), 11);
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9000, index: 10 }), 11, 'between days: the next day\'s first');
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9002, index: 0 }), 16, 'after all of ours');

  for (const seq of [5, 6, 7]) await jsm.streams.deleteMessage('TICK_S', seq);
  t.equal(await positionAt(jsm, 'S', 6), undefined, 'a deleted message names no position');
  // With a gap, any sequence from the gap to the first match is right: a consumer started there gets the
  // match first. What must hold: every message before it is before `want`, every one from it is not.
  const splits = async (want: { date: number; index: number }): Promise<boolean> => {
    const at = await seqAtOrAfter(jsm, 'S', want);
    for (let seq = 1; seq <= 15; seq++) {
      const p = await positionAt(jsm, 'S', seq);
      if (p === undefined) continue;
      const before = p.date < want.date || (p.date === want.date && p.index < want.index);
      if (before !== seq < at) return false;
    }
    return true;
  };
  for (let index = 0; index <= 10; index++) t.ok(await splits({ date: 9000, index }), `around the gap: index ${index}`);
  t.equal(await seqAtOrAfter(jsm, 'S', { date: 9000, index: 3 }), 4, 'a message just before the gap');

  await pub(9001, 5);
  t.match(await lastPosition(jsm, 'S'), { seq: 17, pos: { date: 9001, index: 5 } });
});

t.test('a server that refuses the credentials on reconnect, again and again, does not end the connection: it comes back when the server lets it in',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const port = await freePort();
    const open = new NatsServer(port, []);
    await open.start();
    t.teardown(() => open.stop());
    const sink = new LogSink();
    const nc = await connectNats({ servers: open.url, name: 'auth-test' });
    t.teardown(() => nc.close());
    const link = watchLink(nc, createLogger('info', sink));
    const refusals = (async () => {
      let n = 0;
      for await (const s of nc.status()) if (s.type === 'error' && /authorization/i.test(String(s.error))) if (++n === 3) return n;
      return n;
    })();
    await open.stop();
    const locked = new NatsServer(port, ['--user', 'a', '--pass', 'b']);
    await locked.start();
    t.teardown(() => locked.stop());
    t.equal(await refusals, 3, 'refused three times in a row (the client gives up after two unless told not to)');
    await locked.stop();
    await open.start();
    for (let i = 0; i < 400 && !link.up; i++) await new Promise((r) => setTimeout(r, 25));
    t.ok(link.up, 'reconnected');
    t.equal(nc.isClosed(), false);
    t.notOk(sink.messages().includes('nats connection closed by the client for good; restart to connect again'));
    await nc.flush();
  });

t.test('a server down at the first connect stays in the list: once the one that took the connection goes, the client reconnects to it',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const [down, up] = [await freePort(), await freePort()];
    const first = new NatsServer(up, []);
    await first.start();
    t.teardown(() => first.stop());
    const failing: string[] = [];
    // The down server dialled first, so its failed dial comes before the one that works.
    const nc = await connectNats({ servers: `nats://127.0.0.1:${down},nats://127.0.0.1:${up}`, inOrder: true }, {
      stopped: () => false, failing: (r) => failing.push(r),
    });
    t.teardown(() => nc.close());
    const link = watchLink(nc, createLogger('silent'));
    t.equal(nc.getServer(), `127.0.0.1:${up}`);
    t.same(failing, [], 'the probe found a server that takes it: nothing to say');
    await first.stop();
    const late = new NatsServer(down, []);
    await late.start();
    t.teardown(() => late.stop());
    for (let i = 0; i < 400 && !(link.up && nc.getServer() === `127.0.0.1:${down}`); i++) await new Promise((r) => setTimeout(r, 25));
    t.equal(nc.getServer(), `127.0.0.1:${down}`, 'reconnected to the server that was down at start');
    await nc.flush();
  });

t.test('the first connect waits for a server, says why once, and gives up when its caller stops',
  { skip: !haveNats && 'no nats-server' }, async (t) => {
    const port = await freePort();
    const locked = new NatsServer(port, ['--user', 'a', '--pass', 'b']);
    await locked.start();
    t.teardown(() => locked.stop());
    const failing: string[] = [];
    let stopped = false;
    const waiting = connectNats({ servers: `nats://127.0.0.1:${port}` }, { stopped: () => stopped, failing: (r) => failing.push(r) });
    for (let i = 0; i < 200 && failing.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    t.match(failing, [/authorization/i], 'the reason: the credentials, not the server being down');
    await new Promise((r) => setTimeout(r, 600)); // a few more dials, refused
    t.equal(failing.length, 1, 'said once');
    stopped = true;
    await t.rejects(waiting, /stopped before nats connected/);
  });
