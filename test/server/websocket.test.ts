// kdb+ over WebSocket on the IPC port, as q serves it (code.kx.com/q/basics/websockets): a real
// WebSocket (the `ws` package) carrying messages made and read by node-q's own serialiser (lib/c.js,
// independent of our codec), one kdb+ message per binary frame. Same port as kdb+ IPC, -u via HTTP Basic.
import t from 'tap';
import type { Test } from 'tap';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect, nodeq } from '../helpers/qclient.js';
import { startTp } from '../helpers/tp.js';

const require = createRequire(import.meta.url);
/** node-q's serialiser: serialize(x) is an async message (type byte 0); deserialize reads any message. */
const c = require('node-q/lib/c.js') as {
  serialize(x: unknown): Buffer;
  deserialize(b: Buffer, nanos2date?: boolean, flipTables?: boolean): unknown;
};
const q = nodeq as unknown as Record<string, (x: unknown) => unknown>;
const s = (x: string): unknown => q['symbol']?.(x);

const syncMsg = (x: unknown): Buffer => { const b = c.serialize(x); b[1] = 1; return b; };
const asyncMsg = (x: unknown): Buffer => c.serialize(x);

/** A WebSocket client that keeps every binary frame as (message type, decoded value or error text). */
class KdbWs {
  readonly frames: Array<{ type: number; value?: unknown; error?: string }> = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) { this.frames.push({ type: -1, error: 'text frame' }); return; }
      const type = data[1] ?? -1;
      try {
        this.frames.push({ type, value: c.deserialize(data, true, true) });
      } catch (err) {
        this.frames.push({ type, error: err instanceof Error ? err.message : String(err) });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of this.waiters.splice(0)) w();
    }));
    ws.on('error', () => undefined);
  }

  /** Waits for the next frame of this message type (2: response, 0: async push). */
  async next(type: number, ms = 10_000): Promise<{ type: number; value?: unknown; error?: string }> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0] as { type: number; value?: unknown; error?: string };
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('closed');
      if (Date.now() > end) throw new Error(`no frame of type ${type}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  async sync(x: unknown): Promise<{ type: number; value?: unknown; error?: string }> {
    this.ws.send(syncMsg(x), { binary: true });
    return this.next(2);
  }
}

async function open(t: Test, url: string, options: WebSocket.ClientOptions = {}): Promise<KdbWs> {
  const ws = new WebSocket(url, options);
  const k = new KdbWs(ws);
  t.teardown(() => { ws.terminate(); });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return k;
}

/** The HTTP status an upgrade gets (0 when it is accepted). */
function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? -1); res.resume(); ws.terminate(); });
    ws.on('open', () => { resolve(0); ws.close(); });
    ws.on('error', reject);
  });
}

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
  t.equal(await upgradeStatus(url, { headers: { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } }), 401);
  const good = { headers: { authorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` } };
  const ws = await open(t, url, good);
  t.same((await ws.sync('count .u.w')).value, 2, 'the right password opens it');
  t.equal([...tp.server.handles.values()][0]?.user, 'alice', 'the user is the one given on the upgrade');

  const text = await open(t, url, good);
  text.ws.send('count .u.w');
  t.equal((await text.closed).code, 1003, 'a text frame closes the connection');
  const torn = await open(t, url, good);
  torn.ws.send(syncMsg('count .u.w').subarray(0, 10), { binary: true });
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
