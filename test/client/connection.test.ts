// Our own q client (src/client/connection.ts) against our IPC server: the handshake and capability, sync
// replies in request order, q errors as QError, pushes as 'message', and a clean end for every pending call.
// Spec: code.kx.com/q/basics/ipc (handshake "user:password\3\0", one capability byte back).
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { QConnection, parseHostPort } from '../../src/client/connection.js';
import type { ClientOptions } from '../../src/client/connection.js';
import { QError } from '../../src/errors.js';
import { long, list, MsgType, str, sym, symbols } from '../../src/ipc/index.js';
import type { QValue } from '../../src/ipc/index.js';
import { UsersFile } from '../../src/server/auth.js';
import { bigUpdate, eventually, Gate, shortTempDir, startServer } from '../server/fixture.js';

async function client(t: Test, o: ClientOptions): Promise<QConnection> {
  const c = await QConnection.connect(o);
  t.teardown(() => c.close());
  return c;
}

t.test('the handshake agrees capability 3 and sync requests get their replies', async (t) => {
  const { port } = await startServer(t);
  const c = await client(t, { port });
  t.equal(c.capability, 3);
  t.same(await c.sync(str('ping')), sym('pong'));
  t.same(await c.sync(list(sym('add'), long(2n), long(3n))), long(5n));
});

t.test('replies match requests by order, however many are in flight', async (t) => {
  const { port } = await startServer(t);
  const c = await client(t, { port });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => c.sync(list(sym('add'), long(BigInt(i)), long(1n)))));
  t.same(answers, Array.from({ length: 50 }, (_, i) => long(BigInt(i + 1))));
});

t.test('a q error reply rejects with a QError carrying its text; the connection stays usable', async (t) => {
  const { port } = await startServer(t);
  const c = await client(t, { port });
  await t.rejects(c.sync(str('boom')), { name: 'QError', message: 'boom' });
  const err = await c.sync(str('nope')).catch((e: unknown) => e);
  t.ok(err instanceof QError);
  t.same(await c.sync(str('ping')), sym('pong'));
});

t.test('pushes arrive as async messages, in order, before the reply sent after them', async (t) => {
  const { port } = await startServer(t);
  const c = await client(t, { port });
  const seen: Array<[number, QValue]> = [];
  c.on('message', (v: QValue, type: number) => seen.push([type, v]));
  let atAnswer = -1;
  t.same(await c.sync(list(sym('push'), long(3n)), () => { atAnswer = seen.length; }), long(3n));
  t.same(seen, [0n, 1n, 2n].map((i) => [MsgType.Async, list(sym('upd'), sym('trade'), long(i))]));
  t.equal(atAnswer, 3, 'onAnswer ran when the reply arrived, after the three pushes');
});

t.test('a compressed push from the server is decompressed', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await client(t, { port });
  const conn = [...handler.conns.values()][0];
  if (!conn) throw new Error('no server connection');
  Object.defineProperty(conn, 'local', { value: false }); // compress as q does for a remote peer
  const before = conn.socket.bytesWritten;
  const got: QValue[] = [];
  c.on('message', (v: QValue) => got.push(v));
  await c.sync(list(sym('big'), long(5000n)));
  await eventually(() => got.length === 1, 'the push');
  t.ok(conn.socket.bytesWritten - before < 5000 * 5 / 2, 'it went out compressed');
  t.same(got[0], bigUpdate(5000));
  t.same((got[0] as { items: QValue[] }).items[2], symbols(new Array<string>(5000).fill('AAPL')));
});

t.test('async messages reach the server and get no reply', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await client(t, { port });
  t.equal(c.async(list(sym('add'), long(1n), long(1n))), true);
  await c.drained();
  await eventually(() => handler.asyncs.length === 1, 'the async message');
  t.same(await c.sync(str('ping')), sym('pong'), 'the next reply is the sync one');
});

t.test('user and password are sent; a wrong password is refused as access', async (t) => {
  const { port } = await startServer(t, { authenticator: new UsersFile('alice:wonderland\n') });
  const ok = await client(t, { port, user: 'alice', password: 'wonderland' });
  t.same(await ok.sync(str('ping')), sym('pong'));
  await t.rejects(QConnection.connect({ port, user: 'alice', password: 'x' }), { name: 'QError', message: 'access' });
});

t.test('connects over a unix domain socket', async (t) => {
  const { server } = await startServer(t);
  const path = join(shortTempDir(t), 'q.sock');
  await server.listenUnix(path);
  const c = await client(t, { unixSocket: path });
  t.same(await c.sync(str('ping')), sym('pong'));
});

t.test('pending requests reject when the server closes the connection, and later ones at once', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await client(t, { port });
  const closed = new Promise<Error>((r) => c.once('close', r));
  handler.gate = new Gate();
  const pending = c.sync(str('slow'));
  await eventually(() => handler.conns.size === 1 && handler.calls.includes('slow'), 'the slow call');
  for (const conn of handler.conns.values()) conn.close();
  await t.rejects(pending, { message: 'connection closed' });
  t.match((await closed).message, /connection closed/);
  await t.rejects(c.sync(str('ping')), { message: 'connection closed' });
  t.equal(c.async(str('ping')), false);
});

t.test('a refused port rejects; a peer that never answers the handshake times out on the given clock', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await t.rejects(QConnection.connect({ port }), { code: 'ECONNREFUSED' });

  const accepted: net.Socket[] = [];
  const silent = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => { for (const s of accepted) s.destroy(); silent.close(); });
  const clock = new ManualClock(0n);
  const p = QConnection.connect({ port: (silent.address() as net.AddressInfo).port, timeoutMs: 1000, timers: clock });
  await eventually(() => accepted.length === 1, 'the TCP connect');
  clock.advanceMs(999);
  let settled = false;
  p.catch(() => { settled = true; });
  await new Promise((r) => setImmediate(r));
  t.equal(settled, false, 'not before the timeout');
  clock.advanceMs(1);
  await t.rejects(p, { message: 'connect timeout' });
});

t.test('parseHostPort reads host:port and :port as q writes them', async (t) => {
  t.same(parseHostPort('tp1:5010'), { host: 'tp1', port: 5010 });
  t.same(parseHostPort(':5011'), { host: '127.0.0.1', port: 5011 });
  t.throws(() => parseHostPort('tp1'), { code: 'CONFIG_ERR_INVALID', message: "expected host:port with a port from 1 to 65535, got 'tp1'" });
  t.throws(() => parseHostPort(':99999'), { code: 'CONFIG_ERR_INVALID' }, 'a port out of range is a mistake, not a connect error');
  t.throws(() => parseHostPort('h:0'), { code: 'CONFIG_ERR_INVALID' }, 'nothing listens on port 0');
});
