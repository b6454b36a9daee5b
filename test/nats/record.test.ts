// A journal record's table, read from its leading bytes without decoding it. The records are encoded by
// node-q (an independent kdb+ serialiser), as a q feed's (`upd;`t;x) would be on the wire.
import t from 'tap';
import { createRequire } from 'node:module';
import { recordTable } from '../../src/nats/record.js';

const nodeq = createRequire(import.meta.url)('node-q/lib/c.js') as { serialize(v: unknown): Buffer };

/** The body of an IPC message (the journal keeps bodies): node-q's message less its 8-byte header. */
function body(v: unknown): Uint8Array { return nodeq.serialize(v).subarray(8); }

t.test('the table of an (`upd;`t;x) record is its second symbol', async (t) => {
  t.equal(recordTable(body(['`upd', '`trade', [1, 2]])), 'trade');
  t.equal(recordTable(body(['`upd', '`quote_2', ['`IBM']])), 'quote_2');
  t.equal(recordTable(body(['`upd', '`t', 1])), 't');
});

t.test('a record inside a larger buffer is read at its own offset', async (t) => {
  const b = body(['`upd', '`trade', 1]);
  const big = new Uint8Array(b.length + 10);
  big.set(b, 5);
  t.equal(recordTable(big.subarray(5, 5 + b.length)), 'trade');
});

t.test('a record that is not (`upd;`t;x) is refused as a corrupt journal record', async (t) => {
  const bad = {
    'another function': body(['`ups', '`trade', 1]),
    'two items': body(['`upd', '`trade']),
    'four items': body(['`upd', '`trade', 1, 2]),
    'the table as a string': body(['`upd', 'trade', 1]),
    'a bare symbol': body('`upd'),
    'an empty buffer': new Uint8Array(0),
  };
  for (const [what, rec] of Object.entries(bad)) t.throws(() => recordTable(rec), { code: 'JOURNAL_ERR_CORRUPT' }, what);
});

t.test('a record with an empty or unterminated table name is refused', async (t) => {
  const head = [0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xf5, 0x75, 0x70, 0x64, 0x00, 0xf5];
  t.throws(() => recordTable(Uint8Array.from([...head, 0x00, 0xf9, 1, 0, 0, 0, 0, 0, 0, 0])), { code: 'JOURNAL_ERR_CORRUPT' }, 'empty name');
  t.throws(() => recordTable(Uint8Array.from([...head, 0x74, 0x72])), { code: 'JOURNAL_ERR_CORRUPT' }, 'no NUL');
});
