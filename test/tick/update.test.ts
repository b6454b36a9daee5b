// readUpdate (src/tick/update.ts): tick.q's rule for one row is `0>type first x`, so the items after the
// first may be lists where the schema's column is untyped: KX's Java client sends a string column so.
import t from 'tap';
import { QError } from '../../src/errors.js';
import { float, list, str, sym, timespan } from '../../src/ipc/index.js';
import { parseSchema } from '../../src/tick/schema.js';
import { readUpdate } from '../../src/tick/update.js';

const [news] = parseSchema('news:([]time:`timespan$();sym:`symbol$();headline:();score:`float$())', 'news.q');

t.test('a single row whose untyped column is a string is one row, not a type error', async (t) => {
  if (!news) throw new Error('schema');
  const u = readUpdate(news, list(timespan(1n), sym('IBM'), str('IBM beats estimates'), float(0.5)), () => 0n);
  t.equal(u.count, 1);
  t.equal(u.single, true);
  const headline = u.columns()[2];
  t.equal(headline?.type, 0, 'the untyped column is a general list');
  t.same(headline?.type === 0 ? headline.items[0] : undefined, str('IBM beats estimates'), 'holding the string as sent');
  const stamped = readUpdate(news, list(sym('IBM'), str('no time given'), float(1)), () => 42n);
  t.equal(stamped.count, 1, 'also when the time column is stamped');
  t.equal(stamped.stampedAt, 42n);
});

t.test('a list where a typed column wants an atom is still a type error', async (t) => {
  if (!news) throw new Error('schema');
  t.throws(() => readUpdate(news, list(timespan(1n), sym('IBM'), str('x'), str('not a float')), () => 0n), new QError('type'));
});
