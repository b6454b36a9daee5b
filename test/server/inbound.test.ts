// One budget for partly received messages across connections (src/server/inbound.ts): past the total, the
// connection that has received the most of a partial message is dropped, not whoever read last.
import t from 'tap';
import { InboundBudget } from '../../src/server/inbound.js';
import type { InboundHolder } from '../../src/server/inbound.js';

class Holder implements InboundHolder {
  heldBytes = 0;
  partialBytes = 0;
  dropped: Array<[number, number]> = [];
  constructor(readonly name: string) {}
  hold(held: number, partial = held): this { this.heldBytes = held; this.partialBytes = partial; return this; }
  dropForInbound(total: number, max: number): void { this.dropped.push([total, max]); this.hold(0); }
}

t.test('holdings under the budget add up and drop no one', async (t) => {
  const b = new InboundBudget(100);
  const a = new Holder('a').hold(40);
  const c = new Holder('c').hold(60);
  b.update(a);
  b.update(c);
  t.equal(b.total, 100, 'exactly at the budget is allowed');
  t.same([a.dropped, c.dropped], [[], []]);
});

t.test('an update records the change, not the sum: a holder growing from 40 to 50 adds 10', async (t) => {
  const b = new InboundBudget(1000);
  const a = new Holder('a').hold(40);
  b.update(a);
  b.update(a.hold(50));
  t.equal(b.total, 50);
  b.update(a.hold(0));
  t.equal(b.total, 0, 'holding nothing forgets the holder');
});

t.test('over the budget, the holder with most partial bytes is dropped and told the total and the maximum', async (t) => {
  const b = new InboundBudget(100);
  const hoarder = new Holder('hoarder').hold(70, 70);
  const reader = new Holder('reader').hold(20, 5);
  b.update(hoarder);
  b.update(reader);
  b.update(reader.hold(40, 10)); // the last reader pushes it over; the hoarder goes
  t.same(hoarder.dropped, [[110, 100]]);
  t.same(reader.dropped, []);
  t.equal(b.total, 40);
});

t.test('the choice is by bytes received of the partial message, not by the capacity held', async (t) => {
  const b = new InboundBudget(100);
  const roomy = new Holder('roomy').hold(80, 1); // a large buffer, little received
  const busy = new Holder('busy').hold(30, 29);
  b.update(roomy);
  b.update(busy);
  t.same(busy.dropped.length, 1);
  t.same(roomy.dropped.length, 0);
  t.equal(b.total, 80);
});

t.test('as many holders are dropped as it takes to come back under the budget', async (t) => {
  const b = new InboundBudget(50);
  const hs = [new Holder('a').hold(30, 3), new Holder('b').hold(20, 2)];
  for (const h of hs) b.update(h);
  const big = new Holder('c').hold(45, 1);
  b.update(big);
  t.same(hs.map((h) => h.dropped.length), [1, 1], 'both larger partials go');
  t.same(big.dropped, []);
  t.equal(b.total, 45);
});

t.test('release forgets a holder once; releasing an unknown one changes nothing', async (t) => {
  const b = new InboundBudget(100);
  const a = new Holder('a').hold(30);
  b.update(a);
  b.release(a);
  b.release(a);
  b.release(new Holder('never'));
  t.equal(b.total, 0);
});
