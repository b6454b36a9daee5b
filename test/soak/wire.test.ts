// The soak's own bytes, checked with node-q (an independent codec): the feed's stamped updates read back
// as (`.u.upd;`trade;(time;sym;price;size)), and the published-update reader accepts q's table form.
import t from 'tap';
import { createRequire } from 'node:module';
import { MsgType } from '../../src/ipc/index.js';
import { splitFrames, updateOf, UpdTemplate } from '../../soak/wire.js';

const require = createRequire(import.meta.url);
const nodeq = require('node-q/lib/c.js') as { deserialize(b: Buffer, nanos2date?: boolean, flip?: boolean, e?: boolean, long2number?: boolean): unknown };

t.test('a one-row template stamps time, sym, price and size where node-q reads them', async (t) => {
  const tpl = new UpdTemplate(8);
  const msg = tpl.message(MsgType.Sync, 123_456_789n, 42, () => 'SOAKFEED');
  t.equal(msg[1], MsgType.Sync);
  const v = nodeq.deserialize(msg, false) as unknown[];
  t.same(v.slice(0, 2), ['.u.upd', 'trade']);
  const x = v[2] as unknown[];
  t.equal(x[1], 'SOAKFEED');
  t.equal(x[2], 42);
  t.equal(x[3], 42);
});

t.test('a ten-row template numbers its rows from the sequence number', async (t) => {
  const tpl = new UpdTemplate(5, 10);
  const msg = tpl.message(MsgType.Async, 1n, 100, (r) => `S${String(r).padStart(4, '0')}`);
  const x = (nodeq.deserialize(msg, false) as unknown[])[2] as unknown[][];
  t.same(x[1], Array.from({ length: 10 }, (_, r) => `S${String(r).padStart(4, '0')}`));
  t.same(x[3], Array.from({ length: 10 }, (_, r) => 100 + r));
});

t.test('splitFrames keeps a partial message for later', async (t) => {
  const a = new UpdTemplate(4).message(MsgType.Async, 1n, 1, () => 'ABCD');
  const both = Buffer.concat([a, a.subarray(0, 10)]);
  const { frames, rest } = splitFrames(both);
  t.equal(frames.length, 1);
  t.equal(rest.length, 10);
  t.ok(updateOf({ type: 0, attr: 0, items: [{ type: -11, value: 'upd' }, { type: -11, value: 'trade' }, { type: 0, attr: 0, items: [
    { type: -16, value: 5n }, { type: -11, value: 'X' }, { type: -9, value: 1 }, { type: -6, value: 7 }] }] }), 'a row of atoms is an update');
});
