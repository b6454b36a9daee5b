// The server's limits on what clients cost it (src/server/limits.ts, inbound.ts): the outbound queue is
// checked at every enqueue, partly received messages share one budget and must keep moving, and
// connections are capped in total and per peer address. Each attack runs on a real socket beside an
// honest client that keeps being served.
import t from 'tap';
import net from 'node:net';
import { ManualClock } from '../../src/clock.js';
import { T0 } from '../helpers/tp.js';
import { connectQ, eventually, RawClient, startServer, syncRequest } from './fixture.js';

/** A little-endian async message header announcing `length` bytes (the body may follow in parts). */
function header(length: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h.writeUInt32LE(length, 4);
  return h;
}

t.test('replies to every frame of one read are checked as they queue: the client is dropped at max-queued-bytes', async (t) => {
  const { port, handler, sink } = await startServer(t, { limits: { maxQueuedBytes: 64 * 1024 } });
  const honest = await connectQ(t, { port });
  const raw = await RawClient.connect({ port });
  await raw.handshake();
  raw.socket.pause(); // reads nothing more: every reply stays queued on the server
  // 400 requests in one write; each answer pushes a ~100 KB message: 40 MB against a 64 KiB limit
  // (the kernel's socket buffers take a few MB of it; the rest is the server's to refuse).
  const one = syncRequest(['big', 20_000]);
  raw.write(Buffer.concat(new Array<Buffer>(400).fill(one)));
  const h = [...handler.conns.keys()].at(-1) as number;
  t.equal(await handler.waitClosed(h), 'slow', 'dropped as a slow consumer');
  const drops = sink.lines.filter((l) => l['msg'] === 'slow consumer dropped');
  t.equal(drops.length, 1, 'one log line');
  t.ok(Number(drops[0]?.['queued']) <= 64 * 1024 + 2 * 100_100, `queued ${String(drops[0]?.['queued'])} bytes when dropped, not the 40 MB asked for`);
  const served = handler.calls.filter((c) => c === 'big').length;
  t.ok(served < 200, `the rest of the read was not processed (${served} of 400 requests ran)`);
  t.equal(await honest.sync('ping'), 'pong', 'the honest client is still served');
});

t.test('partly received messages share one budget: the connection holding the most is dropped', async (t) => {
  const { port, handler, sink, server } = await startServer(t, { limits: { maxInboundBytes: 1 << 20 } });
  const honest = await connectQ(t, { port });
  const hoarders: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await RawClient.connect({ port });
    await c.handshake();
    hoarders.push(c);
  }
  const conns = [...handler.conns.values()].slice(-3);
  // Each announces 8 MiB and sends part of it: 300, 500 and 400 KiB (1.2 MiB together > 1 MiB).
  const sizes = [300, 500, 400].map((k) => k * 1024);
  for (let i = 0; i < 3; i++) {
    hoarders[i]?.write(Buffer.concat([header(8 << 20), Buffer.alloc((sizes[i] as number) - 8)]));
    if (i < 2) await eventually(() => conns[i]?.partialBytes === sizes[i], 'bytes to arrive');
  }
  await (hoarders[1] as RawClient).closed;
  const line = sink.lines.find((l) => l['msg'] === 'inbound budget exceeded');
  t.ok(line, 'one log line');
  t.equal(line?.['received'], 500 * 1024, 'the connection that sent the most was dropped');
  t.ok(server.inbound.total <= 1 << 20, `held now ${server.inbound.total} bytes, under the budget`);
  t.notOk(hoarders[0]?.socket.destroyed, 'the smaller holders stay');
  t.equal(handler.closed.filter((c) => c.reason === 'inbound').length, 1);
  t.equal(await honest.sync('ping'), 'pong', 'the honest client is still served');
  for (const h of hoarders) h.destroy();
  await eventually(() => server.inbound.total === 0, 'closed connections to release their bytes');
  t.pass('closing releases what they held');
});

t.test('a started message that stops gaining 64 KiB per read timeout is dropped; one that keeps moving is not', async (t) => {
  const clock = new ManualClock(T0);
  const { port, handler, sink, server } = await startServer(t, { clock, limits: { readTimeoutMs: 30_000 } });
  const slow = await RawClient.connect({ port });
  await slow.handshake();
  const steady = await RawClient.connect({ port });
  await steady.handshake();
  slow.write(Buffer.concat([header(1 << 20), Buffer.alloc(100)]));
  steady.write(Buffer.concat([header(1 << 20), Buffer.alloc(100 * 1024)]));
  await eventually(() => server.inbound.total >= 100 * 1024 + 108, 'both partial messages to arrive');
  slow.write(Buffer.alloc(1000)); // progress, but under 64 KiB in the period
  steady.write(Buffer.alloc(100 * 1024));
  await eventually(() => server.inbound.total >= 200 * 1024 + 1108, 'the second parts to arrive');
  clock.advanceMs(30_000);
  await slow.closed;
  const stalled = sink.lines.filter((l) => l['msg'] === 'message stalled');
  t.equal(stalled.length, 1, 'one log line, for the slow one');
  t.equal(stalled[0]?.['gained'], 1000);
  t.notOk(steady.socket.destroyed, 'the steady sender is still connected');
  clock.advanceMs(30_000); // the steady one sent nothing in this period
  await steady.closed;
  t.equal(handler.closed.filter((c) => c.reason === 'stalled').length, 2);
  const c = await RawClient.connect({ port });
  await c.handshake();
  c.write(syncRequest('ping'));
  await c.messages(1);
  clock.advanceMs(60_000);
  t.notOk(c.socket.destroyed, 'an idle client between messages is never timed out');
  c.destroy();
});

t.test('connections over the total or per-address maximum are closed at accept with one log line', async (t) => {
  const { port, sink, server } = await startServer(t, { limits: { maxConnections: 4, maxConnectionsPerPeer: 2 } });
  const a = await connectQ(t, { port });
  const b = await RawClient.connect({ port }); // still in its handshake: it counts too
  await eventually(() => server.size === 2, 'two connections');
  const third = await RawClient.connect({ port });
  await third.closed;
  t.equal(third.bytes.length, 0, 'the third from 127.0.0.1 is closed without a byte');
  const perPeer = sink.lines.filter((l) => l['msg'] === 'connection refused: too many connections');
  t.equal(perPeer.length, 1, 'one line');
  t.equal(perPeer[0]?.['scope'], 'peer');
  const other = await RawClient.connect({ port, localAddress: '127.0.0.2' });
  t.equal((await other.handshake()).length, 1, 'another address still gets in');
  const other2 = await RawClient.connect({ port, localAddress: '127.0.0.3' });
  await other2.handshake();
  await eventually(() => server.size === 4, 'four connections');
  const fifth = await RawClient.connect({ port, localAddress: '127.0.0.4' });
  await fifth.closed;
  const total = sink.lines.filter((l) => l['msg'] === 'connection refused: too many connections' && l['scope'] === 'total');
  t.equal(total.length, 1, 'the fifth is refused by the total');
  t.equal(server.refused, 2);
  t.equal(await a.sync('ping'), 'pong', 'open clients are served throughout');
  b.destroy();
  await eventually(() => server.size === 3, 'a slot to free up');
  const again = await RawClient.connect({ port });
  t.equal((await again.handshake()).length, 1, 'a freed slot is usable again');
  for (const c of [other, other2, again]) c.destroy();
});

t.test('every IPv6 address of one /64 is one peer for the per-address maximum', async (t) => {
  const { port, sink, server } = await startServer(t, { limits: { maxConnections: 8, maxConnectionsPerPeer: 2 } });
  // Loopback has one IPv6 address: the peer addresses the server's accepted sockets report are given
  // here, in the order they connect (Node's remoteAddress reads _getpeername).
  const peers = ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:abcd::9', '2001:db8:1:3::1'];
  type Peer = { address: string; family: string; port: number };
  const proto = net.Socket.prototype as unknown as { _getpeername(this: net.Socket): Peer };
  const original = proto._getpeername;
  const given = new WeakMap<net.Socket, Peer>();
  proto._getpeername = function (this: net.Socket): Peer {
    const real = original.call(this);
    if (this.localPort !== port) return real; // the clients' side
    let p = given.get(this);
    if (!p) given.set(this, p = { ...real, address: peers.shift() ?? real.address, family: 'IPv6' });
    return p;
  };
  t.teardown(() => { proto._getpeername = original; });
  const a = await RawClient.connect({ port });
  t.equal((await a.handshake()).length, 1, 'the first address of the /64 gets in');
  const b = await RawClient.connect({ port });
  t.equal((await b.handshake()).length, 1, 'so does a second address of it');
  const c = await RawClient.connect({ port });
  await c.closed;
  t.equal(c.bytes.length, 0, 'a third address of the same /64 is closed without a byte');
  const refused = sink.lines.filter((l) => l['msg'] === 'connection refused: too many connections');
  t.match(refused, [{ scope: 'peer', peer: '2001:db8:1:2::/64' }], 'one line, naming the /64');
  const d = await RawClient.connect({ port });
  t.equal((await d.handshake()).length, 1, 'the next /64 is another peer');
  t.equal(server.refused, 1);
  for (const x of [a, b, d]) x.destroy();
});
