// Pre-decode admission and the update fast path: a message that is neither a form of the q surface nor
// an update is refused from its first bytes, before its value is built; the connection goes on.
import t from 'tap';
import { QError } from '../src/errors.js';
import { encodeMessage, list, long, MsgType, str, sym, symbols } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { admit } from '../src/dispatch.js';
import { connect } from './helpers/qclient.js';
import { LogSink, startTp } from './helpers/tp.js';
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
