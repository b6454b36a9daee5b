// Event ids (journal day and position) and rows read back from a journal record (src/http/journal-rows.ts).
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { parsePositionId, positionId, recordRows } from '../../src/http/journal-rows.js';
import { float, floats, int, ints, list, sym, symbols, timespan, timespans } from '../../src/ipc/values.js';
import { createLogger } from '../../src/log.js';
import { loadSchema, Tickerplant } from '../../src/tick/index.js';
import { LogSink, T0 } from '../helpers/tp.js';

t.test('an id names the journal day and position and reads back; anything else is not ours', async (t) => {
  t.equal(positionId(8767, 12), '2024.01.02:12');
  t.same(parsePositionId('2024.01.02:12'), { day: 8767, position: 12 });
  t.same(parsePositionId('2000.01.01:0'), { day: 0, position: 0 });
  for (const bad of ['', '12', '2024.01.02', '2024.02.30:1', '2024.1.2:1', '2024.01.02:-1', '2024.01.02:1x', '2024.01.02:1234567890123456']) {
    t.equal(parsePositionId(bad), undefined, JSON.stringify(bad));
  }
});

t.test("a record's rows of one table within a sym filter, as columns; other tables and syms give none", async (t) => {
  const tp = new Tickerplant({ schemas: loadSchema('q/sym.q'), clock: new ManualClock(T0), log: createLogger('silent', new LogSink()) });
  t.teardown(() => tp.close());
  const rows = list(timespans([1n, 2n, 3n]), symbols(['AAPL', 'IBM', 'AAPL']), floats([1, 2, 3]), ints([10, 20, 30]));
  const record = list(sym('upd'), sym('trade'), rows);
  const all = recordRows(tp, record, 'trade', null);
  t.equal(all?.length, 4);
  const aapl = recordRows(tp, record, 'trade', new Set(['AAPL']));
  t.same(aapl?.[1], symbols(['AAPL', 'AAPL']));
  t.same(aapl?.[2], floats([1, 3]));
  t.equal(recordRows(tp, record, 'trade', new Set(['MSFT'])), undefined);
  t.equal(recordRows(tp, record, 'quote', null), undefined);
  const one = list(sym('upd'), sym('trade'), list(timespan(5n), sym('IBM'), float(9), int(1)));
  t.same(recordRows(tp, one, 'trade', new Set(['IBM']))?.[2], floats([9]), 'a single row');
  t.equal(recordRows(tp, list(sym('upd'), sym('trade'), list(sym('IBM'))), 'trade', null), undefined, 'a record the schema cannot read');
  t.equal(recordRows(tp, list(sym('.u.end'), sym('trade'), rows), 'trade', null), undefined, 'not an upd');
});
