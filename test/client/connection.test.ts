// Our own q client (src/client/connection.ts) against a q peer played with node-q's codec (an independent
// implementation, test/helpers/q-peer.ts): the handshake and capability, sync replies in request order, q
// errors as QError, pushes (q-compressed ones too) as 'message', and a clean end for every pending call.
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
import { eventually, shortTempDir } from '../server/fixture.js';
import { qAnswer, startQPeer } from '../helpers/q-peer.js';
import { frame, readVectors } from '../helpers/vectors.js';

async function client(t: Test, o: ClientOptions): Promise<QConnection> {
  const c = await QConnection.connect(o);
  t.teardown(() => c.close());
  return c;
}

t.test('the handshake agrees capability 3 and sync requests get their replies', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  t.equal(c.capability, 3);
  t.same(peer.logins, [':'], 'no user: an empty user and password');
  t.same(await c.sync(str('ping')), sym('pong'));
  t.same(await c.sync(list(sym('add'), long(2n), long(3n))), long(5n));
  t.same(peer.received.map((r) => r.type), [MsgType.Sync, MsgType.Sync]);
});

t.test('replies match requests by order, however many are in flight', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => c.sync(list(sym('add'), long(BigInt(i)), long(1n)))));
  t.same(answers, Array.from({ length: 50 }, (_, i) => long(BigInt(i + 1))));
});

t.test('a q error reply rejects with a QError carrying its text; the connection stays usable', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  await t.rejects(c.sync(str('boom')), { name: 'QError', message: 'boom' });
  const err = await c.sync(str('nope')).catch((e: unknown) => e);
  t.ok(err instanceof QError);
  t.same(await c.sync(str('ping')), sym('pong'));
});

t.test('pushes arrive as async messages, in order, before the reply sent after them', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  const seen: Array<[number, QValue]> = [];
  c.on('message', (v: QValue, type: number) => seen.push([type, v]));
  let atAnswer = -1;
  t.same(await c.sync(list(sym('push'), long(3n)), () => { atAnswer = seen.length; }), long(3n));
  t.same(seen, [0n, 1n, 2n].map((i) => [MsgType.Async, list(sym('upd'), sym('trade'), long(i))]));
  t.equal(atAnswer, 3, 'onAnswer ran when the reply arrived, after the three pushes');
});

t.test("a push q compressed is decompressed (q's own bytes)", async (t) => {
  const vectors = readVectors('q3-compressed-expressions.txt');
  const one = vectors.find((v) => v.expr === '1000#`q');
  if (!one) throw new Error('no vector');
  const peer = await startQPeer(t, {
    answer: (v, socket) => { socket.write(frame(one.bytes, MsgType.Async, true)); return qAnswer(v); },
  });
  const c = await client(t, { port: peer.port });
  const got: QValue[] = [];
  c.on('message', (v: QValue) => got.push(v));
  t.same(await c.sync(str('ping')), sym('pong'));
  t.same(got, [symbols(new Array<string>(1000).fill('q'))]);
});

t.test('async messages reach the peer and get no reply', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  t.equal(c.async(list(sym('add'), long(1n), long(1n))), true);
  await c.drained();
  await eventually(() => peer.received.length === 1, 'the async message');
  t.same(peer.received[0], { type: MsgType.Async, value: ['add', 1, 1] }, 'node-q reads what our client wrote');
  t.same(await c.sync(str('ping')), sym('pong'), 'the next reply is the sync one');
});

t.test('user and password are sent; a login q closes without a byte is refused as access', async (t) => {
  const peer = await startQPeer(t, { users: ['alice:wonderland'] });
  const ok = await client(t, { port: peer.port, user: 'alice', password: 'wonderland' });
  t.same(await ok.sync(str('ping')), sym('pong'));
  await t.rejects(QConnection.connect({ port: peer.port, user: 'alice', password: 'x' }), { name: 'QError', message: 'access' });
  t.same(peer.logins, ['alice:wonderland', 'alice:x']);
});

t.test('connects over a unix domain socket', async (t) => {
  const path = join(shortTempDir(t), 'q.sock');
  await startQPeer(t, { path });
  const c = await client(t, { unixSocket: path });
  t.same(await c.sync(str('ping')), sym('pong'));
});

t.test('pending requests reject when the peer closes the connection, and later ones at once', async (t) => {
  const peer = await startQPeer(t);
  const c = await client(t, { port: peer.port });
  const closed = new Promise<Error>((r) => c.once('close', r));
  const pending = c.sync(str('slow'));
  await eventually(() => peer.received.length === 1, 'the slow call');
  for (const s of peer.sockets) s.end();
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
