// The upstream link on its own: ordering of pushed messages around a forwarded query (q's rule: what
// came before the answer first, then the caller's expression, then the rest), holding until follow(),
// and a close that ends a start still waiting for upstream.
import t from 'tap';
import type { Test } from 'tap';
import net from 'node:net';
import { QError } from '../../src/errors.js';
import { list, long, str, sym } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { Upstream } from '../../src/chain/index.js';
import type { UpstreamHandler } from '../../src/chain/index.js';
import { createLogger } from '../../src/log.js';
import { LogSink, sleep, until } from '../helpers/tp.js';
import { DAY, fakeUpstream, response, updMessage } from './fake-upstream.js';

function priceOf(x: QValue): number {
  if (x.type !== 98) return NaN;
  const col = x.data[2];
  return col?.type === 9 ? (col.data[0] ?? NaN) : NaN;
}

function recorder(events: string[]): UpstreamHandler {
  return {
    resubscribed: () => undefined,
    upd: (tn, x) => { events.push(`upd ${tn} ${priceOf(x)}`); },
    end: (d) => { events.push(`end ${d}`); },
  };
}

function upstreamTo(t: Test, port: number, sink = new LogSink()): Upstream {
  const u = new Upstream({ address: { host: '127.0.0.1', port }, log: createLogger('debug', sink), minDelayMs: 10, maxDelayMs: 50 });
  t.teardown(() => u.close());
  return u;
}


t.test('an update in the same read as a forwarded answer waits until the caller has run', async (t) => {
  const fake = await fakeUpstream(t);
  const point = list(long(2n), sym(':/tp/sym2024.01.02'));
  fake.onQuery = (text, socket) => {
    // One write: an update upstream published before answering, the answer, one published after.
    if (text === '`.u `i`L') socket.write(Buffer.concat([updMessage('IBM', 1), response(point), updMessage('IBM', 2)]));
  };
  const up = upstreamTo(t, fake.port);
  const sub = await up.start();
  t.same(sub.schemas.map((s) => s.name), ['trade']);
  t.equal(sub.date, DAY, "upstream's .u.d is read");
  const events: string[] = [];
  up.follow(recorder(events));
  // The caller's continuation stands for chainedr.q's .u.sub, which q runs before the next message.
  const answer = await up.query(str('`.u `i`L')).then((v) => { events.push('caller continues'); return v; });
  t.same(answer, point);
  await until(() => events.length === 3);
  t.same(events, ['upd trade 1', 'caller continues', 'upd trade 2'],
    'before the answer: handed on at once (it is in upstream .u.i); after: once the caller subscribed');
});

t.test('updates that come with the subscription answer are held until follow(), then handed on in order', async (t) => {
  const fake = await fakeUpstream(t);
  fake.afterSubscribe = [updMessage('IBM', 1), updMessage('MSFT', 2)];
  const up = upstreamTo(t, fake.port);
  await up.start();
  await sleep(20);
  const events: string[] = [];
  up.follow(recorder(events));
  t.same(events, ['upd trade 1', 'upd trade 2']);
});

t.test('a forwarded query without upstream is q error upstream unavailable; a lost link is retried', async (t) => {
  const fake = await fakeUpstream(t);
  const sink = new LogSink();
  const up = upstreamTo(t, fake.port, sink);
  await up.start();
  up.follow(recorder([]));
  for (const s of fake.sockets) s.destroy();
  await until(() => !up.connected);
  await t.rejects(up.query(str('`.u `i`L')), new QError('upstream unavailable'));
  await until(() => up.connected);
  t.same(sink.messages().filter((m) => m.startsWith('upstream')),
    ['upstream subscribed', 'upstream lost', 'upstream retry scheduled', 'upstream subscribed'], 'one retry, after its backoff');
});

t.test('close() ends a start() that is still waiting for upstream', async (t) => {
  const sink = new LogSink();
  const up = upstreamTo(t, 1, sink); // nothing listens on port 1
  const starting = up.start();
  await sleep(60);
  up.close();
  await t.rejects(starting, { message: /closed before upstream 127.0.0.1:1 answered/ });
  t.equal(sink.messages().filter((m) => m === 'upstream unavailable').length, 1, 'retries are not logged one by one');
});

t.test('an upstream that refuses the login stops the start with its q error', async (t) => {
  const server = net.createServer((s) => { s.on('data', () => s.destroy()); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const up = upstreamTo(t, (server.address() as net.AddressInfo).port);
  const port = (server.address() as net.AddressInfo).port;
  await t.rejects(up.start(), { code: 'Q_ERR', message: `upstream 127.0.0.1:${port}: access` });
});
