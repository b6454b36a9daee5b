// A WebSocket on the IPC port is bound by every server limit exactly as a plain TCP connection is
// (src/server/limits.ts, inbound.ts, websocket.ts): declared frame lengths against --max-message-bytes
// before anything is held, partial frames in the one inbound budget, minimum progress per read timeout,
// --max-connections in total and per peer, the outbound queue limit on pushed upd frames, and -u on the
// upgrade. Each attack runs on a real socket beside an honest client that keeps being served.
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { compress } from '../../src/ipc/compress.js';
import { UsersFile } from '../../src/server/auth.js';
import { T0 } from '../helpers/tp.js';
import { eventually, RawClient, startServer, syncRequest } from './fixture.js';
import { basic, frame, openWs, RawWs, upgradeStatus } from './ws-client.js';
import { generalNulls } from '../helpers/vectors.js';

/** A little-endian async kdb+ header announcing `length` bytes (the body may follow in parts). */
function header(length: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h.writeUInt32LE(length, 4);
  return h;
}

t.test('a frame declaring more than --max-message-bytes is closed with 1009 at its header, 16-bit and 64-bit lengths alike', async (t) => {
  const { port, sink, server } = await startServer(t, { limits: { maxMessageBytes: 1 << 20 } });
  const honest = await openWs(t, `ws://127.0.0.1:${port}/`);
  const cases: Array<[string, Buffer, number]> = [
    // Only the headers are sent: the refusal cannot have waited for, or kept, any payload.
    ['a 64-bit length of 2 MiB', frame(2, Buffer.alloc(0), { declare: 2 << 20 }).subarray(0, 14), 1009],
    ['a 64-bit length of 2^40', frame(2, Buffer.alloc(0), { declare: 2n ** 40n }).subarray(0, 14), 1009],
    ['a 64-bit length of 2^62 + 9', frame(2, Buffer.alloc(0), { declare: 2n ** 62n + 9n }).subarray(0, 14), 1009],
    ['a 64-bit length with its top bit set', frame(2, Buffer.alloc(0), { declare: 2n ** 63n + 100n }).subarray(0, 14), 1002],
  ];
  for (const [what, bytes, code] of cases) {
    const before = sink.lines.length;
    const ws = await RawWs.upgraded(t, port);
    ws.write(bytes);
    t.equal(await ws.closeCode(), code, `${what}: close ${code}`);
    const lines = sink.lines.slice(before).filter((l) => Number(l['level']) >= 40);
    t.equal(lines.length, 1, `${what}: one log line (${String(lines[0]?.['msg'])})`);
    t.equal(server.inbound.total, 0, `${what}: nothing held`);
  }
  // A fragmented message is limited by the sum of its frames: the second header takes it over 1 MiB.
  const frag = await RawWs.upgraded(t, port);
  const first = Buffer.concat([header(1 << 20), Buffer.alloc((600 << 10) - 8)]);
  frag.write(frame(2, first, { fin: false }));
  frag.write(frame(0, Buffer.alloc(0), { declare: 600 << 10 }).subarray(0, 14));
  t.equal(await frag.closeCode(), 1009, 'fragments summing over the limit: 1009 at the header that crosses it');
  t.ok(sink.lines.some((l) => l['msg'] === 'websocket message too large' && l['length'] === 1200 << 10), 'logged with the summed length');
  // The kdb+ header inside is held to the same limit, as on TCP.
  const inner = await RawWs.upgraded(t, port);
  inner.write(frame(2, header(2 << 20), { fin: false }));
  t.equal(await inner.closeCode(), 1000, 'a kdb+ header over the limit inside a small frame: the connection is closed');
  t.ok(sink.lines.some((l) => l['msg'] === 'bad frame'), 'as a bad kdb+ frame');
  t.same((await honest.sync('ping')).value, 'pong', 'the honest client is still served');
});

t.test('partial WebSocket frames count in the one inbound budget beside TCP ones: the connection holding the most is dropped', async (t) => {
  const { port, handler, sink, server } = await startServer(t, { limits: { maxInboundBytes: 1 << 20 } });
  const honest = await openWs(t, `ws://127.0.0.1:${port}/`);
  const tcp = await RawClient.connect({ port });
  await tcp.handshake();
  const a = await RawWs.upgraded(t, port);
  const b = await RawWs.upgraded(t, port);
  await eventually(() => handler.conns.size === 4, 'four open connections');
  // Each announces 8 MiB (kdb+ header and WebSocket frame alike) and sends 300 (TCP), 500 and 400 KiB.
  tcp.write(Buffer.concat([header(8 << 20), Buffer.alloc((300 << 10) - 8)]));
  await eventually(() => server.inbound.total >= 300 << 10, 'the TCP part to arrive');
  const partial = (k: number): Buffer => frame(2, Buffer.concat([header(8 << 20), Buffer.alloc((k << 10) - 8)]), { declare: 8 << 20 })
    .subarray(0, 14 + (k << 10));
  a.write(partial(500));
  await eventually(() => [...handler.conns.values()].some((c) => c.partialBytes === 500 << 10), 'the 500 KiB to arrive');
  b.write(partial(400));
  await a.raw.closed;
  const line = sink.lines.find((l) => l['msg'] === 'inbound budget exceeded');
  t.ok(line, 'one log line');
  t.equal(line?.['received'], 500 << 10, 'the WebSocket that sent the most was dropped');
  t.equal(handler.closed.filter((c) => c.reason === 'inbound').length, 1, 'only it');
  t.ok(server.inbound.total <= 1 << 20, `held now ${server.inbound.total} bytes, under the budget`);
  t.notOk(tcp.socket.destroyed, 'the TCP holder stays');
  t.notOk(b.raw.socket.destroyed, 'the smaller WebSocket holder stays');
  t.same((await honest.sync('ping')).value, 'pong', 'the honest client is still served');
  b.raw.destroy();
  tcp.destroy();
  await eventually(() => server.inbound.total === 0, 'closed connections to release their bytes');
  t.pass('closing releases what they held');
});

t.test('a WebSocket message that stops gaining 64 KiB per read timeout is dropped; one that keeps moving, or an idle socket, is not', async (t) => {
  const clock = new ManualClock(T0);
  const { port, handler, sink, server } = await startServer(t, { clock, limits: { readTimeoutMs: 30_000 } });
  const slow = await RawWs.upgraded(t, port);
  const steady = await RawWs.upgraded(t, port);
  const idle = await openWs(t, `ws://127.0.0.1:${port}/`);
  t.same((await idle.sync('ping')).value, 'pong');
  // A 1 MiB message each, sent in fragments (continuation frames): the slow one's second is 1000 bytes.
  const body = Buffer.concat([header(1 << 20), Buffer.alloc((1 << 20) - 8)]);
  slow.write(frame(2, body.subarray(0, 100), { fin: false }));
  steady.write(frame(2, body.subarray(0, 100 << 10), { fin: false }));
  await eventually(() => server.inbound.total >= (100 << 10) + 100, 'both partial messages to arrive');
  slow.write(frame(0, body.subarray(100, 1100), { fin: false }));
  // Pings between the fragments are answered, but they are no progress: only kdb+ bytes count.
  for (let i = 0; i < 50; i++) slow.write(frame(9, Buffer.alloc(100)));
  steady.write(frame(0, body.subarray(100 << 10, 200 << 10), { fin: false }));
  await eventually(() => server.inbound.total >= (200 << 10) + 1100, 'the second parts to arrive');
  await slow.raw.until(() => slow.frames().filter((f) => f.op === 10).length === 50);
  clock.advanceMs(30_000);
  await slow.raw.closed;
  const stalled = sink.lines.filter((l) => l['msg'] === 'message stalled');
  t.equal(stalled.length, 1, 'one log line, for the slow one');
  t.equal(stalled[0]?.['gained'], 1000, 'its 1000 kdb+ bytes, not the pings, were what it gained');
  t.notOk(steady.raw.socket.destroyed, 'the steady sender is still connected');
  clock.advanceMs(30_000); // the steady one sent nothing in this period
  await steady.raw.closed;
  t.equal(handler.closed.filter((c) => c.reason === 'stalled').length, 2);
  clock.advanceMs(120_000);
  t.same((await idle.sync('ping')).value, 'pong', 'a WebSocket idle between messages is never timed out');
});

t.test('WebSockets count toward --max-connections in total and per peer, from accept, like kdb+ IPC clients', async (t) => {
  // A manual clock: the socket left mid-request must not meet the handshake timeout on a loaded machine.
  const { port, sink, server } = await startServer(t, { clock: new ManualClock(T0), limits: { maxConnections: 4, maxConnectionsPerPeer: 2 } });
  const a = await openWs(t, `ws://127.0.0.1:${port}/`);
  const b = await RawClient.connect({ port }); // has sent only "GET /": still upgrading, it counts too
  b.write(Buffer.from('GET / HTTP/1.1\r\n'));
  await eventually(() => server.size === 2, 'two connections');
  const refusedAtAccept = (p: Promise<number>): Promise<string> => p.then((s) => `answered ${s}`, () => 'closed');
  t.equal(await refusedAtAccept(upgradeStatus(`ws://127.0.0.1:${port}/`)), 'closed',
    'the third WebSocket from 127.0.0.1 is closed at accept, before its request is read');
  const q = await RawClient.connect({ port });
  await q.closed;
  t.equal(q.bytes.length, 0, 'and so is a third kdb+ client: one count for both');
  const refused = sink.lines.filter((l) => l['msg'] === 'connection refused: too many connections');
  t.same(refused.map((l) => l['scope']), ['peer'], 'one line for both: refusals are logged once a period');
  t.equal(server.refused, 2, 'and counted each');
  const other = await openWs(t, `ws://127.0.0.1:${port}/`, { localAddress: '127.0.0.2' });
  const other2 = await RawClient.connect({ port, localAddress: '127.0.0.3' });
  await other2.handshake();
  await eventually(() => server.size === 4, 'four connections');
  t.equal(await refusedAtAccept(upgradeStatus(`ws://127.0.0.1:${port}/`, { localAddress: '127.0.0.4' })),
    'closed', 'a fifth (a WebSocket from another address) is refused by the total');
  t.equal(sink.lines.filter((l) => l['msg'] === 'connection refused: too many connections' && l['scope'] === 'total').length, 1);
  t.equal(server.refused, 3);
  t.same((await a.sync('ping')).value, 'pong', 'open clients are served throughout');
  t.same((await other.sync('ping')).value, 'pong');
  a.ws.terminate();
  await eventually(() => server.size === 3, 'a slot to free up');
  const again = await openWs(t, `ws://127.0.0.1:${port}/`);
  t.same((await again.sync('ping')).value, 'pong', 'a freed slot is usable again');
  b.destroy();
  other2.destroy();
});

t.test('a WebSocket that stops reading is dropped at --max-queued-bytes as its upd frames queue', async (t) => {
  const { port, handler, sink } = await startServer(t, { limits: { maxQueuedBytes: 64 * 1024 } });
  const honest = await openWs(t, `ws://127.0.0.1:${port}/`);
  const ws = await RawWs.upgraded(t, port);
  await eventually(() => handler.conns.size === 2, 'both open');
  const h = [...handler.conns.keys()].at(-1) as number;
  ws.raw.socket.pause(); // reads nothing more: every frame stays queued on the server
  // 400 requests in one write; each pushes a ~100 KB (`upd;`trade;...) frame: 40 MB against 64 KiB.
  const one = frame(2, syncRequest(['big', 20_000]));
  ws.write(Buffer.concat(new Array<Buffer>(400).fill(one)));
  t.equal(await handler.waitClosed(h), 'slow', 'dropped as a slow consumer');
  const drops = sink.lines.filter((l) => l['msg'] === 'slow consumer dropped');
  t.equal(drops.length, 1, 'one log line');
  t.ok(Number(drops[0]?.['queued']) <= 64 * 1024 + 2 * 100_100, `queued ${String(drops[0]?.['queued'])} bytes when dropped`);
  t.ok(handler.calls.filter((c) => c === 'big').length < 200, 'the rest of the read was not processed');
  t.same((await honest.sync('ping')).value, 'pong', 'the honest client is still served');
});

t.test('-u applies to the upgrade: HTTP Basic or an auth. subprotocol, 401 otherwise with one line and no password in it', async (t) => {
  const { port, sink, handler } = await startServer(t, { authenticator: new UsersFile('alice:wonderland\n') });
  const url = `ws://127.0.0.1:${port}/`;
  t.equal(await upgradeStatus(url), 401, 'no credentials: 401');
  t.equal(await upgradeStatus(url, basic('alice', 'wrong-secret')), 401, 'a wrong password: 401');
  t.equal(await upgradeStatus(url, {}, ['kdb', `auth.${Buffer.from('alice:wrong-secret').toString('base64url')}`]), 401, 'a wrong token: 401');
  const denied = sink.lines.filter((l) => l['msg'] === 'access denied');
  t.equal(denied.length, 3, 'one line per refusal');
  t.notMatch(sink.text(), /wrong-secret|wonderland/, 'no password reaches the log');
  const ws = await openWs(t, url, basic('alice', 'wonderland'));
  t.same((await ws.sync('ping')).value, 'pong', 'HTTP Basic opens it');
  const browser = await openWs(t, url, {}, ['kdb', `auth.${Buffer.from('alice:wonderland').toString('base64url')}`]);
  t.equal(browser.ws.protocol, 'kdb', 'a browser offering kdb beside its token gets kdb, never the token');
  t.same((await browser.sync('ping')).value, 'pong', 'the subprotocol token opens it');
  t.same([...handler.conns.values()].map((c) => c.user), ['alice', 'alice'], 'the user is the one given on the upgrade');
  const q = await RawClient.connect({ port });
  q.write(Buffer.from('alice:wrong\x03\x00'));
  await q.closed;
  t.equal(q.bytes.length, 0, 'kdb+ IPC on the same port is held to the same users');
  t.notMatch(sink.text(), /wrong-secret|wonderland/, 'nor do the accepted logins put the password in the log');
});

t.test('the decoding work budget holds over a WebSocket: a compressed list of 16M :: is refused at its header, one line, others served', async (t) => {
  const { port, handler, sink } = await startServer(t);
  const honest = await openWs(t, `ws://127.0.0.1:${port}/`);
  // A general list of 16M `::` (type 101): 32 MiB that compress to about 1 MB.
  const n = 16 * 1024 * 1024;
  const plain = generalNulls(n, 1); // sync
  const wire = compress(plain) as Buffer;
  t.ok(wire.length < plain.length / 20, `${plain.length} bytes compress to ${wire.length}`);
  const ws = await RawWs.upgraded(t, port);
  await eventually(() => handler.conns.size === 2, 'both open');
  const h = [...handler.conns.keys()].at(-1) as number;
  ws.send(wire);
  t.equal(await handler.waitClosed(h), 'badmsg', 'closed as bad input');
  const lines = sink.lines.filter((l) => l['h'] === h && Number(l['level']) >= 40);
  t.same(lines.map((l) => l['msg']), ['undecodable message'], 'one log line');
  t.same(handler.calls, [], 'nothing reached the handler');
  t.same((await honest.sync('ping')).value, 'pong', 'the honest client is still served');
});
