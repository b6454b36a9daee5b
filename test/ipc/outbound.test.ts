// One message shared by every connection it goes to (src/ipc/outbound.ts): q's compression policy per
// peer with the compressed form computed at most once, derived encodings once, and the journal gate.
// Spec: code.kx.com/q/basics/ipc#compression (remote peers, messages over 2000 bytes).
import t from 'tap';
import * as compress from '../../src/ipc/compress.js';
import { decompress, encodeMessage, enterGate, leaveGate, MsgType, Outbound, symbols, withGate } from '../../src/ipc/index.js';

const big = encodeMessage(symbols(new Array<string>(2000).fill('AAPL')), MsgType.Async);
const small = encodeMessage(symbols(['AAPL']), MsgType.Async);

t.test('a local peer, a peer without compression and a short message get the plain bytes', async (t) => {
  const o = new Outbound(big);
  t.equal(o.forPeer(true, 3), big, 'local');
  t.equal(o.forPeer(false, 0), big, 'capability 0');
  t.equal(new Outbound(small).forPeer(false, 3), small, 'under 2000 bytes');
});

t.test('a remote peer gets the compressed form, which expands to the plain message', async (t) => {
  const o = new Outbound(big);
  const packed = o.forPeer(false, 3);
  t.ok(packed.length < big.length / 2, `${big.length} bytes sent as ${packed.length}`);
  t.equal(packed[2], 1, 'the compressed flag is set');
  t.same(decompress(packed, 1 << 20), big);
});

t.test('the compressed form is the same buffer for every remote peer', async (t) => {
  const o = new Outbound(big);
  const first = o.forPeer(false, 1);
  t.equal(o.forPeer(false, 3), first, 'the same Buffer object, computed once');
});

t.test('a message that does not compress to half is sent plain to remote peers, and not compressed again', async (t) => {
  const noise = Buffer.alloc(4000);
  for (let i = 0, x = 7; i < noise.length; i++) { x = (x * 1103515245 + 12345) >>> 0; noise[i] = x >>> 24; }
  noise[0] = 1; noise.writeUInt32LE(noise.length, 4); noise[1] = 0; noise[2] = 0;
  t.equal(compress.compress(noise), undefined, 'random bytes do not compress');
  const o = new Outbound(noise);
  t.equal(o.forPeer(false, 3), noise);
  t.equal(o.forPeer(false, 3), noise);
});

t.test('derived computes each keyed form once from the plain bytes', async (t) => {
  const o = new Outbound(small);
  let calls = 0;
  const make = (plain: Buffer): string => { calls++; return plain.toString('hex'); };
  t.equal(o.derived('json', make), small.toString('hex'));
  t.equal(o.derived('json', make), small.toString('hex'));
  t.equal(calls, 1);
  t.equal(o.derived('other', () => 42), 42, 'another key is another form');
});

t.test('withGate attaches its gate to every Outbound made inside it, and only inside it', async (t) => {
  const gate = { withdrawn: false };
  t.equal(new Outbound(small).gate, undefined, 'no gate outside a publish');
  const inside = withGate(gate, () => [new Outbound(small), new Outbound(big)]);
  t.ok(inside.every((o) => o.gate === gate));
  t.equal(new Outbound(small).gate, undefined, 'the gate is gone after');
});

t.test('withGate nests, restores the outer gate, and restores it when fn throws', async (t) => {
  const outer = { withdrawn: false };
  const inner = { withdrawn: true };
  withGate(outer, () => {
    t.equal(withGate(inner, () => new Outbound(small)).gate, inner);
    t.equal(new Outbound(small).gate, outer);
    t.throws(() => withGate(inner, () => { throw new Error('boom'); }), /boom/);
    t.equal(new Outbound(small).gate, outer);
  });
  t.equal(withGate(undefined, () => new Outbound(small)).gate, undefined);
});

t.test('enterGate attaches a gate until leaveGate restores the one before it, as withGate does', async (t) => {
  const outer = { withdrawn: false };
  const inner = { withdrawn: false };
  const none = enterGate(outer);
  t.equal(none, undefined, 'no gate was set before');
  const before = enterGate(inner);
  t.equal(before, outer, 'the gate to restore');
  t.equal(new Outbound(small).gate, inner);
  leaveGate(before);
  t.equal(new Outbound(small).gate, outer, 'the outer gate is back');
  leaveGate(none);
  t.equal(new Outbound(small).gate, undefined, 'and then none');
});

t.test('a message in a shared region is its bytes at the offset, and is compressed for a remote peer from them', async (t) => {
  const buf = Buffer.alloc(big.length + 100, 0xee);
  big.copy(buf, 40);
  const region = { buf, hold: (): void => {}, release: (): void => {} };
  const o = new Outbound(region, 40, big.length);
  t.equal(o.length, big.length);
  t.equal(o.region, region);
  t.ok(o.plain.equals(big), 'plain is the region\'s bytes of it');
  t.equal(o.plain.buffer, buf.buffer, 'a view, not a copy');
  t.equal(o.plain, o.plain, 'made once');
  t.ok(decompress(o.forPeer(false, 3), 1 << 20).equals(big), 'a remote peer gets it compressed');
  t.equal(new Outbound(big).region, undefined, 'a buffer of its own has no region');
});
