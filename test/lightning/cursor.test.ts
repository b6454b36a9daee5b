// The resume-cursor rules (src/lightning/cursor.ts): where the reconciling scan starts, which subscription
// follows it, and which stream events may advance settle_index. lnd semantics: lightning.md §3.2–3.5.
import t from 'tap';
import type { InvoiceState } from '../../src/payments/backend.js';
import { RecentHashes, ScanTally, StreamCursor, scanStart } from '../../src/lightning/cursor.js';

const inv = (addIndex: number, state: InvoiceState, settleIndex = 0): { addIndex: bigint; settleIndex: bigint; state: InvoiceState } =>
  ({ addIndex: BigInt(addIndex), settleIndex: BigInt(settleIndex), state });

t.test('without a settle cursor the scan starts at the beginning; with one, a margin before the add cursor', async (t) => {
  t.equal(scanStart({ addIndex: 0n, settleIndex: 0n }, 100n), 0n);
  t.equal(scanStart({ addIndex: 500n, settleIndex: 0n }, 100n), 0n, 'lnd cannot replay settles from 0');
  t.equal(scanStart({ addIndex: 500n, settleIndex: 7n }, 100n), 400n);
  t.equal(scanStart({ addIndex: 50n, settleIndex: 7n }, 100n), 0n);
});

t.test('a partial scan keeps the saved settle cursor and moves the add cursor forward', async (t) => {
  const tally = new ScanTally({ addIndex: 10n, settleIndex: 4n }, 8n);
  tally.page([inv(9, 'SETTLED', 4), inv(11, 'SETTLED', 9), inv(12, 'OPEN')]);
  t.same(tally.subscription(), { addIndex: 12n, settleIndex: 4n });
});

t.test('a full scan with nothing left open subscribes from the highest indices', async (t) => {
  const tally = new ScanTally({ addIndex: 0n, settleIndex: 0n }, 0n);
  tally.page([inv(1, 'SETTLED', 2), inv(2, 'CANCELED')]);
  tally.page([inv(3, 'SETTLED', 1)]);
  t.same(tally.subscription(), { addIndex: 3n, settleIndex: 2n });
});

t.test('a full scan replays adds from just before the first invoice that could still settle', async (t) => {
  const tally = new ScanTally({ addIndex: 0n, settleIndex: 0n }, 0n);
  tally.page([inv(1, 'SETTLED', 1), inv(2, 'CANCELED')]);
  tally.page([inv(3, 'OPEN'), inv(4, 'SETTLED', 3)]);
  t.same(tally.subscription(), { addIndex: 2n, settleIndex: 3n });
});

t.test('when the first open invoice is add_index 1, the settle cursor stays at the first page', async (t) => {
  const tally = new ScanTally({ addIndex: 0n, settleIndex: 0n }, 0n);
  tally.page([inv(1, 'OPEN'), inv(2, 'SETTLED', 1)]);
  tally.page([inv(3, 'SETTLED', 5)]);
  t.same(tally.subscription(), { addIndex: 1n, settleIndex: 1n });
});

t.test('settles replayed as adds do not move the settle cursor; settle-ordered ones do', async (t) => {
  const c = new StreamCursor({ addIndex: 3n, settleIndex: 2n });
  c.see(inv(4, 'SETTLED', 9)); // add backlog: current state, out of settle order
  t.same(c.current, { addIndex: 4n, settleIndex: 2n });
  c.see(inv(2, 'SETTLED', 3)); // settle backlog
  t.same(c.current, { addIndex: 4n, settleIndex: 3n });
  c.see(inv(4, 'SETTLED', 9)); // settle backlog again, now in order
  t.same(c.current, { addIndex: 4n, settleIndex: 9n });
  c.see(inv(5, 'OPEN')); // live add
  c.see(inv(5, 'SETTLED', 10)); // live settle
  t.same(c.current, { addIndex: 5n, settleIndex: 10n });
  c.see(inv(1, 'OPEN', 0));
  t.same(c.current, { addIndex: 5n, settleIndex: 10n }, 'never moves back');
});

t.test('remembered hashes are reported new once, and the oldest are forgotten past the limit', async (t) => {
  const seen = new RecentHashes(2);
  const [a, b, c] = ['aa', 'bb', 'cc'].map((h) => Buffer.from(h, 'hex'));
  if (!a || !b || !c) throw new Error('unreachable');
  t.equal(seen.add(a), true);
  t.equal(seen.add(a), false);
  t.equal(seen.add(b), true);
  t.equal(seen.add(c), true);
  t.equal(seen.add(c), false);
  t.equal(seen.add(a), true, 'a was forgotten');
});

t.test('a subscription without a settle cursor asks for a re-list and holds settle_index at 0 until then', async (t) => {
  t.equal(new StreamCursor({ addIndex: 0n, settleIndex: 0n }).recheck, 'all', 'lnd had no invoice: re-list all');
  t.equal(new StreamCursor({ addIndex: 4n, settleIndex: 0n }).recheck, 'first', 'only invoice 1 is out of reach');
  t.equal(new StreamCursor({ addIndex: 4n, settleIndex: 1n }).recheck, 'none');
  const c = new StreamCursor({ addIndex: 4n, settleIndex: 0n });
  c.see(inv(2, 'SETTLED', 1));
  t.same(c.current, { addIndex: 4n, settleIndex: 0n });
  c.rechecked();
  t.same(c.current, { addIndex: 4n, settleIndex: 1n });
});
