// IpcServer and Connection against node-q (an independent kdb+ client): handshake, sync/async semantics,
// pushes, hooks, unix/TLS listeners, auth, handshake timeout, compression and coalescing.
// Spec: kdb-ipc-and-tick.md §1 (handshake), §2 (framing), §5.1 (when to compress), §8 (what a client expects).
import t from 'tap';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { decompress, encodeMessage, list, long, longs, MsgType, Outbound, Slab, sym, symbols } from '../../src/ipc/index.js';
import type { SlabRegion } from '../../src/ipc/index.js';
import { ManualClock } from '../../src/clock.js';
import { UsersFile } from '../../src/server/auth.js';
import {
  asyncMessage, bigUpdate, connectQ, eventually, Gate, offences, RawClient, readWithNodeQ, selfSignedCert,
  shortTempDir, socketOf, splitMessages, startServer, syncRequest,
} from './fixture.js';

const last = (xs: number[]): number => xs[xs.length - 1] as number;

/** Counts the writes that reach a socket's handle: _write for one buffer, _writev for a corked batch. */
function countWrites(transport: unknown): { _write: number; _writev: number } {
  const socket = transport as { _writev: (...a: unknown[]) => unknown; _write: (...a: unknown[]) => unknown };
  const calls = { _write: 0, _writev: 0 };
  for (const k of ['_writev', '_write'] as const) {
    const orig = socket[k].bind(socket);
    socket[k] = (...a: unknown[]) => { calls[k]++; return orig(...a); };
  }
  return calls;
}

t.test('the handshake is answered with exactly one byte: the common capability, at most 3', async (t) => {
  const { port } = await startServer(t);
  for (const [cap, want] of [[3, 3], [6, 3], [5, 3], [1, 1]] as const) {
    const raw = await RawClient.connect({ port });
    t.teardown(() => raw.destroy());
    const reply = await raw.handshake('anonymous', cap);
    t.same([...reply], [want], `capability ${cap} is answered ${want}, alone in its first read`);
    raw.write(syncRequest('ping'));
    const [res] = await raw.messages(1);
    t.equal(readWithNodeQ(res as Buffer), 'pong', 'and the connection then serves requests');
  }
});

t.test('node-q connects and gets an answer to a sync string', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  t.equal(await c.sync('ping'), 'pong');
  const conn = handler.conns.get(last(handler.opened));
  t.equal(conn?.capability, 3, 'node-q asks for capability 3 and gets it');
  t.equal(conn?.user, 'anonymous', 'node-q without a user sends the literal anonymous');
  t.equal(conn?.local, true, 'a loopback peer is local');
});

t.test('sync strings and function-call lists get exactly one reply each, in request order', async (t) => {
  const { port } = await startServer(t);
  const c = await connectQ(t, { port });
  const requests: Array<Promise<unknown>> = [];
  const expected: unknown[] = [];
  for (let i = 0; i < 200; i++) {
    if (i % 3 === 0) { requests.push(c.sync('ping')); expected.push('pong'); }
    else if (i % 3 === 1) { requests.push(c.sync('add', i, 0.5)); expected.push(i + 0.5); }
    else { requests.push(c.sync('')); expected.push(null); }
  }
  t.same(await Promise.all(requests), expected, 'node-q matches replies by order: one extra or missing shifts all');

  // The same on a raw socket: three requests in one write, exactly three replies, then the next one's.
  const { port: port2 } = await startServer(t);
  const raw = await RawClient.connect({ port: port2 });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  raw.write(Buffer.concat([syncRequest('ping'), syncRequest(['add', 2, 3]), syncRequest('ping')]));
  const three = await raw.messages(3);
  t.same(three.map(readWithNodeQ), ['pong', 5, 'pong']);
  t.same(three.map((m) => m[1]), [MsgType.Response, MsgType.Response, MsgType.Response], 'each is a response');
  raw.write(syncRequest(['add', 1, 1]));
  const four = await raw.messages(4);
  t.equal(four.length, 4, 'nothing arrived between the third reply and the fourth');
  t.equal(readWithNodeQ(four[3] as Buffer), 2);
});

t.test('a reply that is a Promise holds back the answers to later requests until it settles', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  const gate = new Gate();
  handler.gate = gate;
  const answered: string[] = [];
  const slow = c.sync('slow').then((v) => { answered.push('slow'); return v; });
  const ping = c.sync('ping').then((v) => { answered.push('ping'); return v; });
  const add = c.sync('add', 2, 3).then((v) => { answered.push('add'); return v; });
  const client = socketOf(c);
  await eventually(() => conn.socket.bytesRead >= client.bytesWritten && client.bytesWritten > 13,
    'the server to receive all three requests');
  t.same(handler.calls, ['slow'], 'later requests wait, unprocessed, behind the pending one');
  t.same(answered, [], 'no reply before the slow one settles');
  gate.open();
  t.same(await Promise.all([slow, ping, add]), ['slow', 'pong', 5]);
  t.same(answered, ['slow', 'ping', 'add'], 'answers in request order');
  t.same(handler.calls, ['slow', 'ping', 'add']);
});

t.test('requests that arrive in the same read as a pending one are answered in order after it', async (t) => {
  const { port, handler } = await startServer(t);
  const gate = new Gate();
  handler.gate = gate;
  const raw = await RawClient.connect({ port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  raw.write(Buffer.concat([
    syncRequest('slow'), syncRequest('ping'), syncRequest('slowfail'), syncRequest(['add', 2, 3]),
  ]));
  await eventually(() => handler.calls.length === 1, 'the slow request to reach the handler');
  setImmediate(() => gate.open());
  const replies = (await raw.messages(4)).map(readWithNodeQ);
  t.same(replies.slice(0, 2), ['slow', 'pong']);
  t.ok(replies[2] instanceof Error && replies[2].message === 'late', 'a rejected Promise is a q error in its place');
  t.equal(replies[3], 5);
  t.same(handler.calls, ['slow', 'ping', 'slowfail', 'add']);
});

t.test('handler errors come back as q errors carrying their text, and the connection stays usable', async (t) => {
  const { port, sink } = await startServer(t);
  const c = await connectQ(t, { port });
  await t.rejects(c.sync('boom'), { message: 'boom' });
  await t.rejects(c.sync('add', 'x'), { message: 'type' });
  await t.rejects(c.sync('no such function'), { message: 'nyi' });
  await t.rejects(c.sync('crash'), { message: 'error' }, 'a non-q exception is reported without internals');
  t.equal(await c.sync('ping'), 'pong');
  const failed = sink.lines.filter((l) => l['msg'] === 'handler failed');
  t.equal(failed.length, 1, 'the non-q exception is logged once, as a server-side failure');
  t.equal(failed[0]?.['level'], 50);
});

t.test('a result that cannot be serialised is a q error for that request alone, from a Promise too', async (t) => {
  const { port, handler, sink } = await startServer(t);
  const c = await connectQ(t, { port });
  const h = last(handler.opened);
  const dropped = handler.waitClosed(h).then((reason) => { throw new Error(`connection dropped: ${reason}`); });
  for (const request of ['unencodable', 'slowunencodable', 'nulerror']) {
    await t.rejects(Promise.race([c.sync(request), dropped]), { message: /NUL/ }, `${request}: the client gets a q error`);
    t.equal(await Promise.race([c.sync('ping'), dropped]), 'pong', 'and the connection stays usable');
  }
  const lines = offences(sink, h);
  t.same(lines.map((l) => l['msg']), ['reply not serialisable', 'reply not serialisable', 'reply not serialisable'],
    'each logged once, as the server\'s failure');
  t.same(handler.closed, []);
});

t.test('async messages reach the handler and get no reply', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  c.async('note');
  c.async('add', 1, 2);
  c.async('boom'); // an error in an async message is not sent back either
  t.equal(await c.sync('ping'), 'pong', 'a reply to an async message would have been taken as this answer');
  t.equal(handler.asyncs.length, 3);
  t.same(handler.asyncs.map((a) => a.msgType), [MsgType.Async, MsgType.Async, MsgType.Async]);
  t.same(handler.calls, ['note', 'add', 'boom', 'ping']);

  const raw = await RawClient.connect({ port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  raw.write(Buffer.concat([asyncMessage('ping'), asyncMessage(['add', 1, 2]), syncRequest(['add', 40, 2])]));
  const [first] = await raw.messages(1);
  t.equal(readWithNodeQ(first as Buffer), 42, 'the first message back answers the sync request');
  raw.write(syncRequest('ping'));
  const two = await raw.messages(2);
  t.equal(two.length, 2, 'and no other message came in between');
});

t.test('messages the server pushes reach node-q as upd calls', async (t) => {
  const { port } = await startServer(t);
  const c = await connectQ(t, { port });
  t.equal(await c.sync('push', 5), 5);
  t.same(c.updates.map((u) => u.table), ['trade', 'trade', 'trade', 'trade', 'trade'],
    'all pushes arrived before the reply that followed them');
  t.same(c.updates.map((u) => u.data), [0, 1, 2, 3, 4]);
});

t.test('a thousand async pushes made in one turn arrive complete and in order', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  const calls = countWrites(conn.socket); // a turn's sends are corked into one writev
  t.equal(await c.sync('push', 1000), 1000);
  t.equal(c.updates.length, 1000);
  t.ok(c.updates.every((u, i) => u.table === 'trade' && u.data === i), 'every push, in order');
  t.equal(calls._write + calls._writev, 1, '1000 pushes and the reply left in a single write');
});

t.test('a turn\'s few small messages lying apart in a slab leave in one plain write, and their region is let go at once', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  const calls = countWrites(conn.socket);
  // Three messages cut from one region with other bytes between them, as a filter's rows are cut
  // between other subscribers' messages.
  const slab = new Slab();
  let region: SlabRegion | undefined;
  for (let i = 0; i < 3; i++) {
    const bytes = encodeMessage(list(sym('upd'), sym('trade'), long(BigInt(10 + i))), MsgType.Async);
    const at = slab.reserve(bytes.length);
    region = slab.last as SlabRegion;
    bytes.copy(region.buf, at);
    slab.reserve(7); // someone else's bytes
    conn.send(new Outbound(region, at, bytes.length));
  }
  t.ok(region?.held, 'held while queued');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.same(calls, { _write: 1, _writev: 0 }, 'one write of one buffer: no cork, no writev');
  t.notOk(region?.held, 'the region was let go with the write: its bytes were copied');
  await c.waitFor((u) => u.length === 3);
  t.same(c.updates.map((u) => u.data), [10, 11, 12], 'each message intact, in order');
});

t.test('a burst larger than maxQueuedBytes in one turn does not drop a client that keeps reading', async (t) => {
  const { port, handler } = await startServer(t, { limits: { maxQueuedBytes: 16 * 1024 } });
  const c = await connectQ(t, { port });
  const dropped = handler.waitClosed(last(handler.opened)).then((reason) => `dropped: ${reason}`);
  t.equal(await Promise.race([c.sync('push', 2000), dropped]), 2000,
    '2000 pushes of 35 bytes: 70 KB in one turn, which the kernel takes at once');
  t.equal(c.updates.length, 2000);
  t.equal(await Promise.race([c.sync('push', 2000), dropped]), 2000, 'and again in a later turn');
  t.equal(await Promise.race([c.sync('big', 20_000), dropped]), 20_000, 'one 100 KB message is not a backlog either');
  t.equal(c.updates.length, 4001);
  t.same(handler.closed, [], 'the client was not dropped');
});

t.test('a client that stops reading is dropped once more than maxQueuedBytes pile up', async (t) => {
  const { port, handler, sink } = await startServer(t, { limits: { maxQueuedBytes: 64 * 1024 } });
  const raw = await RawClient.connect({ port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  const h = last(handler.opened);
  raw.socket.pause(); // reads nothing more: kernel buffers fill, then the server's queue grows
  for (let i = 0; i < 50 && !handler.closed.length; i++) {
    raw.write(syncRequest(['push', 100_000]));
    await new Promise<void>((r) => setImmediate(r));
    await eventually(() => handler.calls.length > i || handler.closed.length > 0, 'the push to be handled');
  }
  t.equal(await handler.waitClosed(h), 'slow');
  const lines = offences(sink, h);
  t.equal(lines.length, 1, 'one log line');
  t.equal(lines[0]?.['msg'], 'slow consumer dropped');
});

t.test('a connection closed for shutdown still sends what waited for the peer to read, then ends', async (t) => {
  const { port, handler } = await startServer(t);
  const raw = await RawClient.connect({ port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  raw.socket.pause(); // kernel buffers fill, then the server holds the rest for the 'drain'
  const asks = 3;
  for (let i = 0; i < asks; i++) {
    raw.write(syncRequest(['push', 100_000]));
    await eventually(() => handler.calls.length > i, 'the push to be handled');
  }
  await eventually(() => conn.queuedBytes > (conn.socket as unknown as { writableLength: number }).writableLength,
    'bytes waiting in the connection\'s own backlog');
  conn.close('shutdown');
  raw.socket.resume();
  await raw.closed;
  const frames = splitMessages(raw.bytes.subarray(1));
  t.equal(frames.length, asks * 100_001, 'every push and every reply arrived before the end');
});

t.test('onOpen and onClose see each client once, with small distinct integer handles', async (t) => {
  const { server, port, handler } = await startServer(t);
  const cs = await Promise.all([connectQ(t, { port }), connectQ(t, { port }), connectQ(t, { port })]);
  await eventually(() => handler.opened.length === 3, 'three opens');
  const hs = handler.opened;
  t.equal(new Set(hs).size, 3, 'distinct');
  t.ok(hs.every((h) => Number.isInteger(h) && h > 0 && h < 100), `small positive integers: ${hs.join(' ')}`);
  t.same([...server.handles.keys()].sort(), [...hs].sort(), 'the server knows them by handle');
  // Find which handle is the first client's: it answers; then close it.
  const first = cs[0];
  if (!first) throw new Error('no client');
  const before = new Set(handler.conns.keys());
  const firstPort = socketOf(first).localPort;
  const h0 = [...before].find((h) => handler.conns.get(h)?.socket.remotePort === firstPort) as number;
  await first.close();
  t.equal(await handler.waitClosed(h0), 'peer', 'a client closing its side is reason peer');
  t.notOk(server.get(h0), 'its handle is gone');
  t.equal(server.handles.size, 2);
  await server.close();
  await eventually(() => handler.closed.length === 3, 'all closes');
  t.same(handler.closed.filter((c) => c.handle !== h0).map((c) => c.reason), ['shutdown', 'shutdown']);
  t.equal(handler.opened.length, 3, 'onOpen ran once per client');
  t.equal(new Set(handler.closed.map((c) => c.handle)).size, 3, 'onClose ran once per client');
});

t.test('node-q connects over a unix domain socket, which counts as a local peer', async (t) => {
  const { server, handler } = await startServer(t);
  const path = join(shortTempDir(t), 'tp.sock');
  const addr = await server.listenUnix(path);
  t.equal(addr.kind, 'unix');
  const c = await connectQ(t, { unixSocket: path });
  t.equal(await c.sync('ping'), 'pong');
  t.equal(await c.sync('push', 3), 3);
  t.same(c.updates.map((u) => u.data), [0, 1, 2]);
  const conn = handler.conns.get(last(handler.opened));
  t.equal(conn?.local, true);
  t.equal(conn?.peer, 'unix');
  await server.close();
  t.notOk(existsSync(path), 'the socket file is removed on close');
});

t.test('node-q connects over TLS to a self-signed certificate it trusts', async (t) => {
  const { server, handler } = await startServer(t);
  const { cert, key } = selfSignedCert(t);
  const addr = await server.listenTls(0, cert, key, '127.0.0.1');
  t.equal(addr.kind, 'tls');
  const c = await connectQ(t, { port: addr.port, useTLS: true, ca: [cert] });
  t.equal(await c.sync('ping'), 'pong');
  t.equal(await c.sync('add', 2, 3), 5);
  t.equal(await c.sync('push', 3), 3);
  t.same(c.updates.map((u) => u.data), [0, 1, 2]);
  t.equal(handler.conns.get(last(handler.opened))?.capability, 3);
  await t.rejects(connectQ(t, { port: addr.port, useTLS: true }), 'a client that does not trust the certificate fails');
});

t.test('with a users file, the right password connects, and its login puts no password in the log', async (t) => {
  const { port, sink } = await startServer(t, { authenticator: new UsersFile('alice:wonderland\n') });
  const c = await connectQ(t, { port, user: 'alice', password: 'wonderland' });
  t.equal(await c.sync('ping'), 'pong');
  t.ok(sink.lines.length > 0, 'the connection was logged');
  t.notMatch(sink.text(), /wonderland/);
});

t.test('a wrong password closes the socket without sending a single byte', async (t) => {
  const secret = 'Sesame-7f3a9c';
  const { port, handler, sink } = await startServer(t, { authenticator: new UsersFile('alice:wonderland\n') });
  const raw = await RawClient.connect({ port });
  raw.write(Buffer.concat([Buffer.from(`alice:${secret}`), Buffer.from([3, 0])]));
  await raw.closed;
  t.equal(raw.bytes.length, 0, 'zero bytes, then the close (q\'s \'access)');
  await t.rejects(connectQ(t, { port, user: 'alice', password: secret }), { message: /wrong auth/ },
    'node-q reports the refusal');
  await t.rejects(connectQ(t, { port }), 'anonymous is refused too');
  t.same(handler.opened, [], 'onOpen never ran');
  t.same(handler.closed, [], 'nor onClose');
  const denied = sink.lines.filter((l) => l['msg'] === 'access denied');
  t.equal(denied.length, 3, 'one line per refusal');
  t.equal(denied[0]?.['user'], 'alice');
  t.notMatch(sink.text(), secret, 'the password never reaches the log');
});

t.test('a socket that does not finish its handshake in time is closed', async (t) => {
  const clock = new ManualClock(0n);
  const { port, handler, sink } = await startServer(t, { limits: { handshakeTimeoutMs: 50 }, clock });
  const silent = await RawClient.connect({ port });
  const partial = await RawClient.connect({ port });
  partial.write(Buffer.from('anonym')); // no capability, no NUL
  await eventually(() => clock.pending >= 2, 'both accepted, their handshake timers armed');
  clock.advanceMs(49);
  t.equal(sink.lines.filter((l) => l['msg'] === 'handshake timeout').length, 0, 'not before the timeout');
  clock.advanceMs(1);
  await Promise.all([silent.closed, partial.closed]);
  t.equal(silent.bytes.length + partial.bytes.length, 0, 'nothing is sent to either');
  t.equal(sink.lines.filter((l) => l['msg'] === 'handshake timeout').length, 2, 'one line each');
  t.same(handler.opened, []);
  const c = await connectQ(t, { port });
  clock.advanceMs(60_000);
  t.equal(await c.sync('ping'), 'pong', 'a client that finished its handshake is not timed out later');
});

t.test('a message over 2000 bytes is compressed for a remote peer only (Outbound.forPeer)', async (t) => {
  const plain = encodeMessage(list(sym('upd'), sym('trade'), symbols(new Array<string>(1000).fill('AAPL'))));
  t.ok(plain.length > 2000);
  const out = new Outbound(plain);
  const remote = out.forPeer(false, 3);
  t.equal(remote[2], 1, 'remote, capability 3: the compressed flag is set');
  t.ok(remote.length < plain.length / 2, `${plain.length} → ${remote.length} bytes`);
  t.same(decompress(remote, 1 << 20), plain, 'it expands to the original message');
  t.equal(out.forPeer(false, 3), remote, 'compressed once, shared by every remote peer');
  t.equal(out.forPeer(true, 3), plain, 'a local peer gets it uncompressed');
  t.equal(out.forPeer(false, 0), plain, 'so does a capability-0 peer');
  const small = new Outbound(encodeMessage(longs(new Array<bigint>(200).fill(0n))));
  t.ok(small.plain.length <= 2000);
  t.equal(small.forPeer(false, 3), small.plain, '2000 bytes or less are never compressed');
});

t.test('node-q on a non-loopback address decodes a compressed push', async (t) => {
  const external = Object.values(networkInterfaces()).flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  const host = external ?? '127.0.0.1';
  const { port, handler } = await startServer(t, { host });
  const c = await connectQ(t, { port, host });
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  if (external) {
    t.equal(conn.local, false, `a peer at ${external} is remote`);
  } else {
    t.comment('no non-loopback IPv4 interface: treating the loopback peer as remote');
    Object.defineProperty(conn, 'local', { value: false });
  }
  const plainLength = encodeMessage(bigUpdate(1000)).length;
  const before = conn.socket.bytesWritten;
  t.equal(await c.sync('big', 1000), 1000);
  const written = conn.socket.bytesWritten - before;
  t.ok(written < plainLength / 2, `the push went out compressed: ${written} bytes on the wire for ${plainLength}`);
  t.equal(c.updates.length, 1);
  const data = c.updates[0]?.data as string[];
  t.equal(data.length, 1000);
  t.ok(data.every((s) => s === 'AAPL'), 'node-q expanded it to the original symbols');
  const local = await connectQ(t, { port, host });
  t.equal(await local.sync('ping'), 'pong', 'small replies stay uncompressed and readable');
});

t.test('a remote peer sent several compressed messages in one turn reads each as it was, and is counted by what it is sent', async (t) => {
  const { port, handler } = await startServer(t);
  const c = await connectQ(t, { port });
  const conn = handler.conns.get(last(handler.opened));
  if (!conn) throw new Error('no server connection');
  Object.defineProperty(conn, 'local', { value: false }); // as a peer on another machine
  const messages = [1000, 1200, 1400].map((n) => new Outbound(encodeMessage(bigUpdate(n), MsgType.Async)));
  const before = conn.socket.bytesWritten;
  for (const m of messages) conn.send(m); // one turn: they leave together
  await eventually(() => c.updates.length === 3, 'the three pushes');
  const written = conn.socket.bytesWritten - before;
  const packed = messages.reduce((sum, m) => sum + m.forPeer(false, 3).length, 0);
  t.equal(written, packed, `the wire carries the compressed forms: ${written} bytes`);
  t.same(c.updates.map((u) => (u.data as string[]).length), [1000, 1200, 1400], 'each expands to its own message');
  t.equal(await c.sync('ping'), 'pong', 'and the connection goes on');
});
