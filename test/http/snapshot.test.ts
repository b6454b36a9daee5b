// The day's last row per sym (src/http/snapshot.ts), read from the real journal a real tickerplant writes:
// as of the published position, incrementally from where the previous read stopped, and reset by a new day.
import t from 'tap';
import { floats, ints, list, symbols } from '../../src/ipc/index.js';
import { LastRows } from '../../src/http/snapshot.js';
import { startTp } from '../helpers/tp.js';
import type { Test } from 'tap';

async function tpWithJournal(t: Test): Promise<Awaited<ReturnType<typeof startTp>>> {
  return startTp(t, { args: ['sym', t.testdir()] });
}

function trades(app: Awaited<ReturnType<typeof startTp>>, rows: Array<[string, number, number]>): void {
  app.tp.upd('trade', list(symbols(rows.map((r) => r[0])), floats(rows.map((r) => r[1])), ints(rows.map((r) => r[2]))));
}

t.test('the last row of each asked-for sym, in the order asked; a sym without a row today is left out', async (t) => {
  const app = await tpWithJournal(t);
  trades(app, [['AAPL', 1, 10], ['IBM', 2, 20]]);
  trades(app, [['AAPL', 3, 30]]);
  const snap = await new LastRows(app.tp).read('trade', new Set(['IBM', 'MSFT', 'AAPL']));
  t.equal(snap.table, 'trade');
  t.same(snap.data.columns, ['time', 'sym', 'price', 'size']);
  t.same(snap.data.data['sym'], ['IBM', 'AAPL']);
  t.same(snap.data.data['price'], [2, 3]);
  t.same(snap.data.data['size'], [20, 30]);
  t.equal(snap.id, '2024.01.02:2', 'as of the second journal record');
});

t.test('without a filter, every sym seen today, sorted', async (t) => {
  const app = await tpWithJournal(t);
  trades(app, [['MSFT', 1, 1], ['AAPL', 2, 2], ['IBM', 3, 3]]);
  const snap = await new LastRows(app.tp).read('trade', null);
  t.same(snap.data.data['sym'], ['AAPL', 'IBM', 'MSFT']);
});

t.test('a later read adds what was journaled since, and sees no row of another table', async (t) => {
  const app = await tpWithJournal(t);
  const rows = new LastRows(app.tp);
  trades(app, [['AAPL', 1, 1]]);
  t.same((await rows.read('trade', null)).data.data['price'], [1]);
  trades(app, [['AAPL', 5, 1], ['IBM', 6, 1]]);
  app.tp.upd('quote', list(symbols(['ZZZ']), floats([1]), floats([2]), ints([1]), ints([1])));
  const snap = await rows.read('trade', null);
  t.same(snap.data.data['sym'], ['AAPL', 'IBM']);
  t.same(snap.data.data['price'], [5, 6]);
  t.equal(snap.id, '2024.01.02:3');
  t.same((await rows.read('quote', null)).data.data['sym'], ['ZZZ']);
});

t.test('a table with no rows today is an empty snapshot with its columns', async (t) => {
  const app = await tpWithJournal(t);
  const snap = await new LastRows(app.tp).read('quote', null);
  t.same(snap.data.columns, ['time', 'sym', 'bid', 'ask', 'bsize', 'asize']);
  t.same(snap.data.data['sym'], []);
  t.equal(snap.id, '2024.01.02:0');
});

t.test('concurrent reads wait for one catch-up and agree', async (t) => {
  const app = await tpWithJournal(t);
  trades(app, [['AAPL', 1, 1], ['IBM', 2, 2]]);
  const rows = new LastRows(app.tp);
  const [a, b] = await Promise.all([rows.read('trade', null), rows.read('trade', new Set(['IBM']))]);
  t.same(a.data.data['price'], [1, 2]);
  t.same(b.data.data['price'], [2]);
  t.equal(a.id, b.id);
});

t.test('a new day starts from that day\'s empty journal, forgetting yesterday\'s rows', async (t) => {
  const app = await tpWithJournal(t);
  const rows = new LastRows(app.tp);
  trades(app, [['AAPL', 1, 1]]);
  t.same((await rows.read('trade', null)).data.data['sym'], ['AAPL']);
  app.tp.endOfDay();
  trades(app, [['IBM', 2, 2]]);
  const snap = await rows.read('trade', null);
  t.same(snap.data.data['sym'], ['IBM']);
  t.equal(snap.id, '2024.01.03:1');
});
