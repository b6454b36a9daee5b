// RFC 6455 as a browser or KX's c.js exercises it on the IPC port (src/server/websocket.ts): masking,
// fragmentation, ping/pong, the close handshake, text frames, malformed frames and upgrades. Frames are
// sent by a real client (`ws`) where it can send them, else built byte by byte (ws-client.ts).
import net from 'node:net';
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { T0 } from '../helpers/tp.js';
import { connectQ, eventually, RawClient, selfSignedCert, startServer, syncRequest } from './fixture.js';
import { frame, openWs, RawWs, syncMsg } from './ws-client.js';

t.test('an unmasked client frame is closed with 1002 (RFC 6455 §5.1), with one log line', async (t) => {
  const { port, sink, handler } = await startServer(t);
  const honest = await openWs(t, `ws://127.0.0.1:${port}/`);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  ws.ws.send(syncMsg('ping'), { binary: true, mask: false });
  t.equal((await ws.closed).code, 1002, 'close 1002 to the real client');
  t.same(sink.lines.filter((l) => l['msg'] === 'websocket client frame is not masked').map((l) => l['wsClose']), [1002], 'one line');
  t.same(handler.calls, [], 'nothing was decoded');
  t.same((await honest.sync('ping')).value, 'pong', 'the honest client is still served');
});

t.test('a message in continuation frames is reassembled and answered, a ping between its fragments answered at once', async (t) => {
  const { port, handler } = await startServer(t);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  const msg = syncMsg(['add', 1, 2, 3.5]);
  ws.ws.send(msg.subarray(0, 3), { binary: true, fin: false }); // not even the whole kdb+ header
  ws.ws.send(msg.subarray(3, 12), { fin: false });
  ws.ws.ping(Buffer.from('between'));
  await ws.until(() => ws.pongs.length === 1, 'the pong');
  t.equal(ws.pongs[0]?.toString(), 'between', 'the pong carries the ping payload, mid-message');
  t.same(handler.calls, [], 'the message is not complete yet');
  ws.ws.send(msg.subarray(12), { fin: true });
  t.same(await ws.next(2), { type: 2, value: 6.5 }, 'the reassembled message is answered');
  // Many small fragments, each its own frame.
  const big = syncMsg(['add', ...Array.from({ length: 200 }, (_, i) => i)]);
  for (let at = 0; at < big.length; at += 7) ws.ws.send(big.subarray(at, at + 7), { binary: true, fin: at + 7 >= big.length });
  t.same((await ws.next(2)).value, 19_900, 'and one sent 7 bytes a frame');
  // About 1 MB in fragments of odd sizes: every alignment of the payload and of the mask key is unmasked.
  const n = 100_000;
  const large = syncMsg(['add', ...Array.from({ length: n }, (_, i) => i % 1000)]);
  const sizes = [1, 2, 3, 5, 4093, 65_537, 131_071];
  let at = 0;
  for (let k = 0; at < large.length; k++) {
    const end = Math.min(large.length, at + (sizes[k % sizes.length] as number));
    ws.ws.send(large.subarray(at, end), { binary: true, fin: end === large.length });
    at = end;
  }
  t.same((await ws.next(2)).value, 100 * 499_500, `a ${large.length}-byte message in fragments of odd sizes`);
});

t.test('ping is answered with pong, its payload echoed, before and between messages', async (t) => {
  const { port } = await startServer(t);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  ws.ws.ping(Buffer.alloc(0));
  ws.ws.ping(Buffer.from('x'.repeat(125)));
  await ws.until(() => ws.pongs.length === 2, 'two pongs');
  t.same(ws.pongs.map((p) => p.length), [0, 125], 'empty and largest payloads echoed');
  ws.ws.pong(Buffer.from('unsolicited')); // RFC 6455 §5.5.3: an unsolicited pong needs no answer
  t.same((await ws.sync('ping')).value, 'pong', 'and messages still flow');
});

t.test('the close handshake is answered with the client code, and the connection ends as a peer close', async (t) => {
  const { port, handler } = await startServer(t);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  t.same((await ws.sync('ping')).value, 'pong');
  ws.ws.close(4000, 'done');
  t.equal((await ws.closed).code, 4000, 'the server answered with a close echoing 4000');
  const h = [...handler.opened].at(-1) as number;
  t.equal(await handler.waitClosed(h), 'peer', 'closed as the peer asked');
  const raw = await RawWs.upgraded(t, port);
  raw.write(frame(8, Buffer.from([0x03, 0xed]))); // 1005 is never sent on the wire (§7.4.1)
  t.equal(await raw.closeCode(), 1002, 'a close with a reserved code gets 1002');
  const empty = await RawWs.upgraded(t, port);
  empty.write(frame(8));
  t.equal(await empty.closeCode(), 1000, 'a close without a code gets 1000');
});

t.test('a text frame is refused with 1003: kdb+ messages are binary and client strings are never evaluated', async (t) => {
  const { port, handler, sink } = await startServer(t);
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`);
  ws.ws.send('ping');
  t.equal((await ws.closed).code, 1003);
  t.same(handler.calls, [], 'nothing was evaluated');
  t.equal(sink.lines.filter((l) => l['msg'] === 'websocket text frame refused').length, 1, 'one log line');
});

t.test('a WebSocket message that is not exactly one kdb+ message is closed with 1003 before its extra bytes are read', async (t) => {
  const { port, handler } = await startServer(t);
  const one = syncRequest('ping');
  const cases: Array<[string, Buffer]> = [
    ['shorter than its kdb+ header says', frame(2, one.subarray(0, one.length - 1))],
    ['longer than its kdb+ header says', frame(2, Buffer.concat([one, Buffer.alloc(1)]))],
    ['two kdb+ messages in one frame', frame(2, Buffer.concat([one, one]))],
    ['fragments that end before the message', Buffer.concat([frame(2, one.subarray(0, 9), { fin: false }), frame(0, one.subarray(9, 11))])],
    ['fragments that run past it', Buffer.concat([frame(2, one.subarray(0, 9), { fin: false }), frame(0, Buffer.concat([one.subarray(9), one]), { fin: false })])],
    ['an empty message', frame(2)],
  ];
  for (const [what, bytes] of cases) {
    const ws = await RawWs.upgraded(t, port);
    ws.write(bytes);
    t.equal(await ws.closeCode(), 1003, what);
  }
  t.same(handler.calls, [], 'none was answered');
  const ok = await RawWs.upgraded(t, port);
  ok.send(one);
  t.same(await ok.messages(1), ['pong'], 'exactly one message per frame is answered');
});

t.test('malformed frames are closed with 1002: reserved bits, unknown opcodes, long or fragmented control frames, stray continuations', async (t) => {
  const { port, handler, sink } = await startServer(t);
  const one = syncRequest('ping');
  const cases: Array<[string, Buffer]> = [
    ['a reserved bit (no extension was negotiated)', frame(2, one, { rsv: 4 })],
    ['opcode 3', frame(3, one)],
    ['opcode 11', frame(11)],
    ['a ping of 126 bytes', frame(9, Buffer.alloc(126))],
    ['a fragmented ping', frame(9, Buffer.alloc(1), { fin: false })],
    ['a continuation without a message', frame(0, one)],
    ['a new message inside a fragmented one', Buffer.concat([frame(2, one.subarray(0, 10), { fin: false }), frame(2, one)])],
    ['a close with a 1-byte payload', frame(8, Buffer.from([3]))],
  ];
  for (const [what, bytes] of cases) {
    const before = sink.lines.length;
    const ws = await RawWs.upgraded(t, port);
    ws.write(bytes);
    t.equal(await ws.closeCode(), 1002, what);
    t.equal(sink.lines.slice(before).filter((l) => Number(l['level']) >= 40).length, 1, `${what}: one log line`);
  }
  t.same(handler.calls, [], 'nothing was answered');
});

t.test('a bad upgrade gets HTTP 400 and one log line; a plain GET 426', async (t) => {
  const { port, sink, server } = await startServer(t);
  const cases: Array<[string, Record<string, string | undefined>]> = [
    ['no Sec-WebSocket-Key', { 'Sec-WebSocket-Key': undefined }],
    ['a key that is not 16 bytes', { 'Sec-WebSocket-Key': Buffer.from('short').toString('base64') }],
    ['no Sec-WebSocket-Version', { 'Sec-WebSocket-Version': undefined }],
    ['version 8', { 'Sec-WebSocket-Version': '8' }],
    ['Upgrade: h2c', { Upgrade: 'h2c' }],
    ['no Connection: Upgrade', { Connection: undefined }],
  ];
  for (const [what, lines] of cases) {
    const before = sink.lines.length;
    const ws = await RawWs.open(port, lines);
    t.equal(ws.status, 400, what);
    await ws.raw.closed;
    const logged = sink.lines.slice(before).filter((l) => l['msg'] === 'websocket upgrade refused');
    t.same(logged.map((l) => l['status']), [400], `${what}: one line`);
  }
  const plain = await RawWs.open(port, { Upgrade: undefined, Connection: undefined, 'Sec-WebSocket-Key': undefined, 'Sec-WebSocket-Version': undefined });
  t.equal(plain.status, 426, 'a plain GET is told to upgrade');
  const garbage = await RawWs.open(port, { 'Bad Header': 'x' });
  t.equal(garbage.status, 400, 'an unparsable request: 400');
  await garbage.raw.closed;
  t.equal(server.size, 0, 'every refused socket is closed');
});

t.test('an upgrade request that never ends, or a socket that stops after "GE", is closed at the handshake timeout', async (t) => {
  const clock = new ManualClock(T0);
  const { port, sink, server } = await startServer(t, { clock, limits: { handshakeTimeoutMs: 5000 } });
  const request = await RawClient.connect({ port });
  request.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'));
  const ge = await RawClient.connect({ port });
  ge.write(Buffer.from('GE'));
  await new Promise((r) => setTimeout(r, 100)); // both sockets' bytes are read (no timer runs: the clock is manual)
  t.equal(server.size, 2);
  clock.advanceMs(4999);
  t.notOk(request.socket.destroyed || ge.socket.destroyed, 'not before the timeout');
  clock.advanceMs(1);
  await request.closed;
  await ge.closed;
  t.equal(sink.lines.filter((l) => l['msg'] === 'websocket upgrade timeout').length, 1, 'one line for the request');
  t.equal(sink.lines.filter((l) => l['msg'] === 'handshake timeout').length, 1, 'one for the unsniffed socket');
});

t.test('the TLS port takes wss:// as the TCP port takes ws://, beside kdb+ IPC over TLS', async (t) => {
  const { server } = await startServer(t);
  const { cert, key } = selfSignedCert(t);
  const addr = await server.listenTls(0, cert, key, '127.0.0.1');
  const ws = await openWs(t, `wss://127.0.0.1:${addr.port as number}/`, { ca: [cert] });
  t.same((await ws.sync(['add', 2, 3])).value, 5, 'a sync request over wss is answered');
  ws.ws.ping(Buffer.from('tls'));
  await ws.until(() => ws.pongs.length === 1, 'the pong');
  const q = await connectQ(t, { port: addr.port, useTLS: true, ca: [cert] });
  t.equal(await q.sync('ping'), 'pong', 'kdb+ IPC over TLS still shares the port');
});

t.test('a peer that keeps its side open after a close handshake or a refused GET is cut off: it cannot hold a connection slot', async (t) => {
  const clock = new ManualClock(T0);
  const { port, server } = await startServer(t, { clock });
  const halfOpen = (request: string): Promise<{ socket: net.Socket; ended: Promise<void> }> =>
    new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        socket.write(request);
        resolve({ socket, ended: new Promise((r) => socket.once('end', r)) });
      });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      t.teardown(() => socket.destroy());
    });
  const upgrade = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const closer = await halfOpen(upgrade);
  await eventually(() => server.handles.size === 1, 'the upgrade');
  closer.socket.write(frame(8, Buffer.from([0x03, 0xe8])));
  await closer.ended;
  t.equal(server.size, 1, 'after the close handshake the server has ended its side; the peer has not');
  clock.advanceMs(1000);
  await eventually(() => server.size === 0, 'the slot to free');
  t.pass('cut off after the grace period');
  const plain = await halfOpen('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await plain.ended;
  await eventually(() => server.size === 0, 'the slot to free');
  t.pass('a refused plain GET is closed once answered');
});
