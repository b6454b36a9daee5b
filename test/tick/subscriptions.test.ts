// .u.w and publishing at the unit level: filters, one encoded message per distinct filter (never one per
// subscriber), replacement, removal, widening (u.q add / the seed's addPayes).
import t from 'tap';
import { decodeMessage, encodeMessage, list, MsgType, Outbound, sym, table } from '../../src/ipc/index.js';
import type { QTable, QValue } from '../../src/ipc/index.js';
import type { Column } from '../../src/tick/columns.js';
import { Subscriptions } from '../../src/tick/subscriptions.js';
import type { Publication, Subscriber, TableSubscriptions } from '../../src/tick/subscriptions.js';
import type { TickEvent } from '../../src/tick/events.js';

class Spy implements Subscriber {
  readonly got: Outbound[] = [];
  readonly events: TickEvent[] = [];
  constructor(readonly handle: number) {}
  deliver(e: TickEvent): void { this.events.push(e); this.got.push(e.message); }
  /** The syms of every table received. */
  syms(): string[][] {
    return this.got.map((m) => {
      const v = decodeMessage(m.plain, { maxMessageBytes: 1 << 20, maxDepth: 8 }).value as { items: QValue[] };
      return ((v.items[2] as QTable).data[1] as { data: string[] }).data;
    });
  }
}

const trade = (syms: string[]): QTable => table(['time', 'sym'], [
  { type: 16, attr: 0, data: BigInt64Array.from(syms, () => 1n) },
  { type: 11, attr: 0, data: syms },
]);
const NAMES = ['time', 'sym'];
const publication = (syms: string[]): Publication => {
  const cols = (): Column[] => trade(syms).data as Column[];
  return {
    rows: syms.length, syms: () => syms, columns: cols,
    all: () => ({
      kind: 'upd', table: 'trade', names: NAMES, rows: syms.length, columns: cols,
      message: new Outbound(encodeMessage(list(sym('upd'), sym('trade'), trade(syms)), MsgType.Async)),
    }),
  };
};
const publish = (w: Subscriptions, syms: string[]): number => w.publish(w.of('trade') as TableSubscriptions, 'trade', NAMES, publication(syms));

t.test('each subscriber gets exactly the rows of its filter, and nothing when none match', async (t) => {
  const w = new Subscriptions(['quote', 'trade']);
  const all = new Spy(4); const ibm = new Spy(5); const none = new Spy(6);
  w.set('trade', all, null);
  w.set('trade', ibm, new Set(['IBM', 'MSFT']));
  w.set('trade', none, new Set(['ZZZ']));
  publish(w, ['IBM', 'AAPL', 'MSFT']);
  publish(w, ['AAPL']);
  t.same(all.syms(), [['IBM', 'AAPL', 'MSFT'], ['AAPL']]);
  t.same(ibm.syms(), [['IBM', 'MSFT']]);
  t.same(none.got.length, 0, 'empty results are not sent');
});

t.test('subscribers with the same filter share one encoded message; every-row groups share the whole one', async (t) => {
  const w = new Subscriptions(['trade']);
  const a = new Spy(4); const b = new Spy(5); const c = new Spy(6); const d = new Spy(7);
  w.set('trade', a, new Set(['IBM']));
  w.set('trade', b, new Set(['IBM']));
  w.set('trade', c, null);
  w.set('trade', d, new Set(['IBM', 'AAPL']));
  publish(w, ['IBM', 'AAPL']);
  t.equal(a.got[0], b.got[0], 'the same Outbound object for the same filter');
  t.equal(c.got[0], d.got[0], 'a filter that selects every row gets the whole-table message');
  t.not(a.got[0], c.got[0]);
  const distinct = new Set([...a.got, ...b.got, ...c.got, ...d.got]);
  t.equal(distinct.size, 2, 'two encodings for four subscribers');
});

t.test('re-subscribing replaces, removal and disconnect clean up, widen unions the syms', async (t) => {
  const w = new Subscriptions(['quote', 'trade']);
  const s = new Spy(4);
  w.set('trade', s, new Set(['IBM']));
  w.set('trade', s, new Set(['AAPL']));
  t.equal(w.count('trade'), 1);
  publish(w, ['IBM', 'AAPL']);
  t.same(s.syms(), [['AAPL']]);
  w.widen('trade', s, new Set(['IBM']));
  publish(w, ['IBM', 'AAPL', 'MSFT']);
  t.same(s.syms()[1], ['IBM', 'AAPL'], 'widened to AAPL and IBM');
  w.set('quote', s, null);
  t.same(w.distinct().map((x) => x.handle), [4], '.u.end goes once per handle');
  w.removeHandle(4);
  t.equal(w.count(), 0);
  t.equal(publish(w, ['IBM']), 0, 'nobody left to send to');
  w.set('trade', new Spy(9), new Set(['IBM']));
  t.same(w.toQ(), {
    type: 99, keys: { type: 11, attr: 0, data: ['quote', 'trade'] },
    values: { type: 0, attr: 0, items: [{ type: 0, attr: 0, items: [] }, { type: 0, attr: 0, items: [
      { type: 0, attr: 0, items: [{ type: -6, value: 9 }, { type: 11, attr: 0, data: ['IBM'] }] }] }] },
  }, '.u.w as q shows it');
});

t.test('a subscriber whose delivery throws is dropped and reported once; every other subscriber still gets the rows', async (t) => {
  const reported: Array<[number, string]> = [];
  const w = new Subscriptions(['quote', 'trade'], (s, err) => reported.push([s.handle, (err as Error).message]));
  const before = new Spy(4); const after = new Spy(6); const filtered = new Spy(7);
  const broken: Subscriber = { handle: 5, deliver: () => { throw new Error('cannot render'); } };
  w.set('trade', before, null);
  w.set('trade', broken, null);
  w.set('quote', broken, null);
  w.set('trade', after, null);
  w.set('trade', filtered, new Set(['IBM']));
  t.equal(publish(w, ['IBM', 'AAPL']), 4, 'offered to all four');
  t.same(before.syms(), [['IBM', 'AAPL']]);
  t.same(after.syms(), [['IBM', 'AAPL']], 'the subscriber after the broken one got the rows');
  t.same(filtered.syms(), [['IBM']]);
  t.same(reported, [[5, 'cannot render']], 'reported once');
  t.notOk(w.has('trade', 5), 'dropped from the table it failed on');
  t.notOk(w.has('quote', 5), 'and from every other table');
  publish(w, ['IBM']);
  t.equal(reported.length, 1, 'not reported again: it is no longer sent anything');
  t.same(after.syms(), [['IBM', 'AAPL'], ['IBM']]);
});

t.test('an end-of-day broadcast isolates a throwing subscriber the same way', async (t) => {
  const reported: number[] = [];
  const w = new Subscriptions(['trade'], (s) => reported.push(s.handle));
  const ok = new Spy(8);
  w.set('trade', { handle: 3, deliver: () => { throw new Error('gone'); } }, null);
  w.set('trade', ok, null);
  const message = new Outbound(encodeMessage(list(sym('.u.end')), MsgType.Async));
  w.broadcast({ kind: 'end', date: 1, message });
  t.equal(ok.got[0], message, 'the other subscriber got .u.end');
  t.same(reported, [3]);
  t.equal(w.count('trade'), 1);
});
