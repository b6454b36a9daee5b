// kdb+ over WebSocket on the IPC port, as q serves it (code.kx.com/q/basics/websockets): a real
// WebSocket (the `ws` package) carrying messages made and read by node-q's own serialiser (lib/c.js,
// independent of our codec), one kdb+ message per binary frame. Same port as kdb+ IPC, -u via HTTP Basic.
import t from 'tap';
import { request } from 'node:http';
import { join } from 'node:path';
import { connect, nodeq } from '../helpers/qclient.js';
import { compress } from '../../src/ipc/compress.js';
import { LogSink, startTp } from '../helpers/tp.js';
import { asyncMsg, basic, openWs as open, upgradeStatus } from './ws-client.js';
import { generalNulls } from '../helpers/vectors.js';

const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);

t.test('a WebSocket on the IPC port: sync requests are answered, .u.sub pushes upd as binary frames, kdb+ IPC still works', async (t) => {
  const tp = await startTp(t);
  const url = `ws://127.0.0.1:${tp.port}/`;
  const ws = await open(t, url);
  const count = await ws.sync('count .u.w');
  t.same(count, { type: 2, value: 2 }, 'a sync request gets its response (message type 2)');
  const sub = await ws.sync('.u.sub[`trade;`AAPL]');
  t.equal((sub.value as unknown[])[0], 'trade', '.u.sub answers (t;schema)');

  const feed = await connect({ port: tp.port });
  t.teardown(() => feed.close());
  t.same(await feed.sync('count .u.w'), 2, 'a kdb+ IPC client shares the port');
  feed.async('.u.upd', s('trade'), [q['timespan']?.(new Date(36_000_000)), s('AAPL'), q['float']?.(190.5), q['int']?.(7)]);
  feed.async('.u.upd', s('trade'), [q['timespan']?.(new Date(36_000_000)), s('MSFT'), q['float']?.(400), q['int']?.(1)]);
  await feed.sync('');
  const push = await ws.next(0);
  const [fn, table, rows] = push.value as [string, string, Array<Record<string, unknown>>];
  t.equal(fn, 'upd');
  t.equal(table, 'trade');
  t.same(rows.map((r) => [r['sym'], r['price'], r['size']]), [['AAPL', 190.5, 7]], 'only the subscribed sym, as an async message');

  // The WebSocket as a feed: an async .u.upd gets no answer; a sync chaser after it does, in order.
  ws.ws.send(asyncMsg(['.u.upd', s('trade'), [q['timespan']?.(new Date(36_001_000)), s('AAPL'), q['float']?.(191), q['int']?.(8)]]), { binary: true });
  const chaser = await ws.sync('count .u.w');
  t.same(chaser.value, 2);
  const own = await ws.next(0);
  t.same((own.value as [string, string, Array<Record<string, unknown>>])[2].map((r) => r['price']), [191], 'its own update reached the subscribers');
  t.same(ws.frames.filter((f) => f.type === 2), [], 'the async message was not answered');

  const bad = await ws.sync('system "ls"');
  t.ok(bad.error !== undefined, `a string outside the closed whitelist gets a q error (${bad.error})`);
  t.same((await ws.sync('count .u.w')).value, 2, 'and the connection stays open');
  const handles = [...tp.server.handles.values()].map((h) => h.peer);
  t.equal(handles.length, 2, 'both clients have handles, like q .z.w');
});

t.test('-u applies to the upgrade (HTTP Basic), and bad frames, text frames, plain GETs and foreign origins are refused', async (t) => {
  const dir = t.testdir({ 'users.txt': 'alice:wonderland\n' });
  const tp = await startTp(t, { args: ['-u', join(dir, 'users.txt')] });
  const url = `ws://127.0.0.1:${tp.port}/`;
  t.equal(await upgradeStatus(url), 401, 'no credentials: 401');
  t.equal(await upgradeStatus(url, basic('alice', 'wrong')), 401);
  const good = basic('alice', 'wonderland');
  const ws = await open(t, url, good);
  t.same((await ws.sync('count .u.w')).value, 2, 'the right password opens it');
  t.equal([...tp.server.handles.values()][0]?.user, 'alice', 'the user is the one given on the upgrade');

  const text = await open(t, url, good);
  text.ws.send('count .u.w');
  t.equal((await text.closed).code, 1003, 'a text frame closes the connection');
  const torn = await open(t, url, good);
  torn.ws.send(asyncMsg('count .u.w').subarray(0, 10), { binary: true });
  t.equal((await torn.closed).code, 1003, 'a frame that is not exactly one kdb+ message closes it');

  t.equal(await upgradeStatus(url, { ...good, origin: 'https://evil.example.net' }), 403, "another site's page is refused");
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: tp.port, path: '/' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 426, 'a plain GET is told to upgrade');
  t.same((await ws.sync('count .u.w')).value, 2, 'the good client is still served');
});

t.test('updates published in one turn reach a WebSocket subscriber as one binary frame each', async (t) => {
  const tp = await startTp(t);
  const ws = await open(t, `ws://127.0.0.1:${tp.port}/`);
  await ws.sync('.u.sub[`trade;`]');
  const feed = await connect({ port: tp.port });
  t.teardown(() => feed.close());
  // Three .u.upd in one write: the tickerplant publishes them in one turn, from one slab.
  for (let i = 0; i < 3; i++) {
    feed.async('.u.upd', s('trade'), [q['timespan']?.(new Date(36_000_000 + i)), s('AAPL'), q['float']?.(190 + i), q['int']?.(i)]);
  }
  await feed.sync('');
  await ws.until(() => ws.frames.filter((f) => f.type === 0).length === 3, 'three pushes');
  const prices = ws.frames.filter((f) => f.type === 0)
    .map((f) => (f.value as [string, string, Array<Record<string, unknown>>])[2].map((r) => r['price']));
  t.same(prices, [[190], [191], [192]], 'each decoded whole by node-q, in order');
  t.same(ws.frames.filter((f) => f.error !== undefined), [], 'no frame failed to decode');
});

t.test('the same closed whitelist answers on the WebSocket as on kdb+ IPC, form by form', async (t) => {
  const tp = await startTp(t);
  const ws = await open(t, `ws://127.0.0.1:${tp.port}/`);
  const tcp = await connect({ port: tp.port });
  t.teardown(() => tcp.close());
  const forms = ['count .u.w', '.u.t', 'system "ls"', '\\ls', '`a set 1', '1+1', 'value "1"', '.u.sub[`nosuch;`]',
    '.q.hopen 5010', '{x} 1', 'exit 0', 'tables[]'];
  for (const form of forms) {
    const overWs = await ws.sync(form);
    const overTcp = await tcp.sync(form).then((value) => ({ value }), (err: Error) => ({ error: err.message }));
    const wsSide = overWs.error !== undefined ? { error: overWs.error } : { value: overWs.value };
    t.same(wsSide, overTcp, `${form}: ${JSON.stringify(overTcp)}`);
  }
  t.same((await ws.sync('count .u.w')).value, 2, 'the WebSocket is still served after every refusal');
});

t.test('pre-decode admission applies on the WebSocket: a bare list of 16M :: is refused unbuilt, one line, the socket still served', async (t) => {
  const sink = new LogSink();
  const tp = await startTp(t, { sink });
  const ws = await open(t, `ws://127.0.0.1:${tp.port}/`);
  const n = 16 * 1024 * 1024;
  const plain = generalNulls(n, 1); // sync
  const wire = compress(plain) as Buffer;
  ws.ws.send(wire, { binary: true });
  const refused = await ws.next(2);
  t.equal(refused.error, 'access', `answered 'access (${wire.length} bytes on the wire)`);
  t.same(sink.lines.filter((l) => l['msg'] === 'message refused').map((l) => l['err']), ['access'], 'one log line');
  t.same((await ws.sync('count .u.w')).value, 2, 'the connection stays open and is served');
});
