// Pre-decode admission and the update fast path: a message that is neither a form of the q surface nor
// an update is refused from its first bytes, before its value is built; the connection goes on. And the
// hook a hot standby takes .u.upd through: a feed is not read while the hook has no room.
import t from 'tap';
import { QError } from '../src/errors.js';
import { encodeMessage, float, int, list, long, MsgType, str, sym, symbols } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { admit, Dispatcher } from '../src/dispatch.js';
import { ManualClock } from '../src/clock.js';
import { createLogger } from '../src/log.js';
import { IpcServer } from '../src/server/index.js';
import { loadSchema, SubscriberRegistry, Tickerplant } from '../src/tick/index.js';
import { connect } from './helpers/qclient.js';
import { LogSink, startTp, T0, until } from './helpers/tp.js';
import { RawClient, readWithNodeQ } from './server/fixture.js';

const body = (v: QValue): Buffer => encodeMessage(v, MsgType.Sync);
const verdict = (b: Buffer): string => {
  try {
    admit(b);
    return 'admitted';
  } catch (err) {
    return err instanceof QError ? `'${err.message}` : `not a QError: ${String(err)}`;
  }
};

t.test('strings, symbols and calls of the accepted functions are admitted', async (t) => {
  for (const v of [str('.u.sub[`;`]'), str(''), sym('.u.w'), { type: -10, value: 'x' } as QValue,
    list(sym('.u.upd'), sym('trade'), list()), list(str('.u.upd'), sym('trade'), list()), list(sym('upd'), sym('t'), list()),
    list(str('.u.sub'), sym('trade'), symbols(['IBM'])), list(sym('.u.subPaid'), sym('t'), sym(''), str('p')),
    list(sym('.dev.pay'), str('lnbc1'))]) {
    t.equal(verdict(body(v)), 'admitted', JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x)).slice(0, 80));
  }
});

t.test('other types, other function names and long lists are access before decoding', async (t) => {
  for (const v of [long(1n), symbols(['.u.i']), list(sym('system'), str('ls')), list(str('value'), str('1')),
    list(sym('.u.w')), list(long(1n), long(2n)), list(), list(sym('.u.sub'), sym(''), sym(''), sym(''), sym('')),
    list(str('x'.repeat(100)), sym(''))]) {
    t.equal(verdict(body(v)), "'access");
  }
});

t.test('a string longer than 64 KiB is limit from its length field alone', async (t) => {
  t.equal(verdict(body(str('x'.repeat(64 * 1024)))), 'admitted');
  t.equal(verdict(body(str('x'.repeat(64 * 1024 + 1)))), "'limit");
  const claim = Buffer.alloc(14); // header + type 10 + attr + a length of 2^31-1, no bytes behind it
  claim.set([1, 1, 0, 0]); claim.writeUInt32LE(14, 4); claim.writeInt8(10, 8); claim.writeInt32LE(0x7fffffff, 10);
  t.equal(verdict(claim), "'limit");
});

t.test('a general list claiming 134M items is refused from its header, not decoded', async (t) => {
  const b = Buffer.alloc(15);
  b.set([1, 1, 0, 0]); b.writeUInt32LE(15, 4); b.writeInt8(0, 8); b.writeInt32LE(134_000_000, 10); b.writeInt8(101, 14);
  t.equal(verdict(b), "'access");
});

t.test('big-endian messages are read with their own byte order', async (t) => {
  const b = Buffer.alloc(14 + 6 + 6);
  b.set([0, 1, 0, 0]); b.writeUInt32BE(b.length, 4); b.writeInt8(0, 8); b.writeInt32BE(2, 10);
  b.writeInt8(10, 14); b.writeInt32BE(6, 16); b.write('.u.sub', 20, 'latin1');
  t.equal(verdict(b), 'admitted');
  b.write('.u.xyz', 20, 'latin1');
  t.equal(verdict(b), "'access");
});

t.test('over IPC a refused call is answered with access and the client goes on (node-q)', async (t) => {
  const tp = await startTp(t);
  const c = await connect({ port: tp.port });
  t.teardown(() => c.close());
  await t.rejects(c.sync('system', 'ls'), { message: 'access' });
  await t.rejects(c.sync('.u.sub', 'trade'), { message: 'rank' }, 'admitted, then refused by the surface: one argument');
  t.strictSame(await c.sync('tables[]'), ['quote', 'trade']);
  t.equal(c.closed, false);
});

t.test('a 1 MiB general list of nulls is refused with access, undecoded, over a raw socket, in one log line', async (t) => {
  const sink = new LogSink();
  const tp = await startTp(t, { sink });
  const raw = await RawClient.connect({ port: tp.port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  const n = 1 << 20;
  const msg = Buffer.alloc(14 + n * 2);
  msg.set([1, 1, 0, 0]); msg.writeUInt32LE(msg.length, 4); msg.writeInt8(0, 8); msg.writeInt32LE(n, 10);
  for (let i = 0; i < n; i++) msg.writeInt8(101, 14 + i * 2);
  raw.write(msg);
  raw.write(encodeMessage(str('.u.t'), MsgType.Sync));
  const [refused, next] = await raw.messages(2);
  const err = readWithNodeQ(refused as Buffer);
  t.equal(err instanceof Error ? err.message : 'a value', 'access');
  t.same(readWithNodeQ(next as Buffer), ['quote', 'trade'], 'the next message is answered');
  t.same(sink.lines.filter((l) => l['msg'] === 'message refused').map((l) => [l['err'], l['bytes']]), [['access', msg.length]]);
});

t.test('a client refused message after message, or a feed sending bad updates, makes one log line a period, with a count', async (t) => {
  const sink = new LogSink();
  const clock = new ManualClock(T0);
  const tp = await startTp(t, { sink, clock });
  const raw = await RawClient.connect({ port: tp.port });
  t.teardown(() => raw.destroy());
  await raw.handshake();
  const atom = encodeMessage(int(1), MsgType.Async); // neither a string nor a call: refused with access, undecoded
  const bad = encodeMessage(list(sym('.u.upd'), sym('trade'), list(str('IBM'), float(1), int(1))), MsgType.Async); // sym as a string: 'type
  const flood = (msg: Buffer, n: number): void => raw.write(Buffer.concat(Array.from({ length: n }, () => msg)));
  let answers = 0;
  const settled = async (): Promise<void> => { // a sync chaser: everything before it has been handled
    raw.write(encodeMessage(str('.u.t'), MsgType.Sync));
    await raw.messages(++answers);
  };
  flood(atom, 500);
  flood(bad, 300);
  await settled();
  const lines = (msg: string): Array<Record<string, unknown>> => sink.lines.filter((l) => l['msg'] === msg);
  t.match(lines('message refused'), [{ err: 'access', skipped: 0 }], '500 refused messages, one line');
  t.match(lines('bad update'), [{ table: 'trade', err: 'type', skipped: 0 }], '300 bad updates, one line');
  t.equal(tp.tp.stats.badUpdates, 300, 'each counted');
  clock.advanceMs(10_000);
  flood(atom, 1);
  flood(bad, 1);
  await settled();
  t.match(lines('message refused'), [{ skipped: 0 }, { skipped: 499 }], 'a period on, the next is written with how many were not');
  t.match(lines('bad update'), [{ skipped: 0 }, { skipped: 299 }]);
});

t.test("an async .u.upd through a hook with no room (a leader's stores in flight at their cap) is not read further until there is", async (t) => {
  const log = createLogger('silent');
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock: new ManualClock(T0), log });
  t.teardown(() => tp.close());
  const taken: number[] = [];
  let wake: (() => void) | undefined;
  const full = new Promise<void>((resolve) => { wake = resolve; });
  const hooks = {
    upd: (_t: string, x: QValue): Promise<QValue> => {
      taken.push(x.type === 0 && x.items[2]?.type === -6 ? x.items[2].value : -1);
      return new Promise<QValue>(() => {}); // never acknowledged
    },
    room: (): Promise<void> | undefined => (taken.length >= 3 && wake ? full : undefined),
  };
  const server = new IpcServer({ handler: new Dispatcher(tp, new SubscriberRegistry(), { tp, subscriberFor: () => { throw new Error('no'); }, maxReplyBytes: 1 << 20 }, log, hooks), log });
  t.teardown(() => server.close());
  const { port } = await server.listenTcp(0, '127.0.0.1');
  const c = await RawClient.connect({ port: port as number });
  t.teardown(() => c.socket.destroy());
  await c.handshake();
  const upd = (i: number): Buffer => encodeMessage(list(sym('.u.upd'), sym('trade'), list(sym('IBM'), float(i), int(i))), MsgType.Async);
  c.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => upd(i)))); // one write: the server reads them at once
  await until(() => taken.length >= 3);
  await new Promise((r) => setImmediate(r));
  t.same(taken, [0, 1, 2], 'the rest wait in the socket');
  wake?.();
  wake = undefined;
  await until(() => taken.length === 10);
  t.same(taken, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'taken in order once there is room');
});
