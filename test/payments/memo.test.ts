// The invoice description (src/payments/memo.ts): the paper's "Invoice:" + t!syms when it fits BOLT 11's
// 639 bytes, else a stable shortened form with "+N more"; never more than 639 bytes, whatever the input.
import t from 'tap';
import { MAX_DESCRIPTION_BYTES, memoOf } from '../../src/payments/index.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

t.test('a short request is the paper\'s form, one line per table', async (t) => {
  t.equal(memoOf('Invoice', [{ table: 'trade', filter: new Set(['AAPL', 'MSFT']) }, { table: 'quote', filter: null }]),
    'Invoice:trade| AAPL MSFT\nquote| \n');
  t.equal(memoOf('Renewal', [{ table: 'trade', filter: new Set(['IBM']) }]), 'Renewal:trade| IBM\n');
});

t.test('a long request keeps the first syms that fit and counts the rest as +N more', async (t) => {
  const syms = Array.from({ length: 300 }, (_, i) => `S${i}`);
  const memo = memoOf('Invoice', [{ table: 'trade', filter: new Set(syms) }]);
  t.ok(bytes(memo) <= MAX_DESCRIPTION_BYTES, `${bytes(memo)} bytes`);
  const m = /^Invoice:trade\| ((?:S\d+ )+)\+(\d+) more\n$/.exec(memo);
  t.ok(m, memo.slice(0, 60));
  const shown = (m?.[1] ?? '').trim().split(' ');
  t.same(shown, syms.slice(0, shown.length), 'in request order');
  t.equal(shown.length + Number(m?.[2]), 300, 'every sym is shown or counted');
  t.equal(memoOf('Invoice', [{ table: 'trade', filter: new Set(syms) }]), memo, 'stable');
});

t.test('many tables, multi-byte and oversized syms still fit, cut at a character boundary', async (t) => {
  const cases = [
    Array.from({ length: 40 }, (_, i) => ({ table: `table${i}`, filter: new Set(['AAPL', 'MSFT', 'IBM']) })),
    [{ table: 'trade', filter: new Set(Array.from({ length: 200 }, (_, i) => `株式${i}€`)) }],
    [{ table: 'trade', filter: new Set(['X'.repeat(5000)]) }],
    Array.from({ length: 300 }, (_, i) => ({ table: `t${'é'.repeat(10)}${i}`, filter: null })),
  ];
  for (const requests of cases) {
    const memo = memoOf('Invoice', requests);
    t.ok(bytes(memo) <= MAX_DESCRIPTION_BYTES, `${bytes(memo)} bytes`);
    t.notOk(memo.includes('\uFFFD'), 'no broken character');
    t.ok(memo.startsWith('Invoice:'));
  }
  t.match(memoOf('Invoice', [{ table: 'trade', filter: new Set(['X'.repeat(5000)]) }]), /^Invoice:trade\| \+1 more\n$/);
});
