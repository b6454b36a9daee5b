// The tables of a chained tickerplant, read from upstream's answer to .u.sub[`;`] (src/chain/schemas.ts): a
// list of (name; empty table) pairs, as u.q's sub returns them. Spec: KxSystems/kdb tick/chainedtick.q (.u.rep).
import t from 'tap';
import { sameSchemas, schemaDifference, schemasFromSubReply } from '../../src/chain/schemas.js';
import { dict, floats, list, str, sym, symbols, table, timespans } from '../../src/ipc/index.js';
import { emptyTable } from '../../src/tick/index.js';
import type { TableSchema } from '../../src/tick/index.js';

const TRADE: TableSchema = { name: 'trade', columns: ['time', 'sym', 'price', 'note'], types: [16, 11, 9, 0] };
const QUOTE: TableSchema = { name: 'quote', columns: ['time', 'sym', 'bid'], types: [16, 11, 9] };
const pair = (s: TableSchema): ReturnType<typeof list> => list(sym(s.name), emptyTable(s));

t.test("schemas come from the names, column names and vector types of upstream's empty tables", async (t) => {
  const schemas = schemasFromSubReply(list(pair(QUOTE), pair(TRADE)));
  t.same(schemas, [QUOTE, TRADE], 'a general-list column is type 0');
  t.ok(sameSchemas(schemas, [TRADE, QUOTE]), 'order does not matter');
  t.notOk(sameSchemas(schemas, [TRADE, { ...QUOTE, types: [16, 11, 8] }]), 'a column type does');
  t.notOk(sameSchemas(schemas, [TRADE]));
});

t.test('upstream replies a chained TP cannot follow are clear errors', async (t) => {
  const invoice = dict(symbols(['r_hash']), list(str('x')));
  t.throws(() => schemasFromSubReply(list(pair(QUOTE), list(sym('trade'), emptyTable(TRADE), invoice))),
    { name: 'ConfigError', message: /upstream asks payment for trade: a chained tickerplant needs free access upstream/ });
  const noTime = table(['sym', 'time'], [symbols([]), timespans([])]);
  t.throws(() => schemasFromSubReply(list(list(sym('t'), noTime))), { code: 'SCHEMA_ERR', message: /timesym/ });
  const keyed = { type: 99 as const, keys: emptyTable(QUOTE), values: table(['x'], [floats([])]) };
  t.throws(() => schemasFromSubReply(list(list(sym('k'), keyed))), { code: 'SCHEMA_ERR', message: /keyed/ });
  t.throws(() => schemasFromSubReply(sym('trade')), { code: 'SCHEMA_ERR' });
  t.throws(() => schemasFromSubReply(list()), { code: 'SCHEMA_ERR', message: /no tables/ });
});

t.test('a column of a type a tickerplant does not carry, or an entry that is not a pair, is refused by name', async (t) => {
  const withDict = table(['time', 'sym', 'm'], [timespans([]), symbols([]), dict(symbols([]), list())]);
  t.throws(() => schemasFromSubReply(list(list(sym('t'), withDict))), { code: 'SCHEMA_ERR', message: /t\.m has type 99/ });
  t.throws(() => schemasFromSubReply(list(list(sym('t')))), { code: 'SCHEMA_ERR', message: /pairs/ });
  t.throws(() => schemasFromSubReply(list(list(str('t'), emptyTable(QUOTE)))), { code: 'SCHEMA_ERR', message: /not a symbol/ });
  t.throws(() => schemasFromSubReply(list(list(sym('t'), floats([])))), { code: 'SCHEMA_ERR', message: /expected an empty table, got type 9/ });
});

t.test('schemaDifference names both sides\' tables and columns for the log line', async (t) => {
  t.equal(schemaDifference([QUOTE], [TRADE]), 'was quote(time,sym,bid); now trade(time,sym,price,note)');
  t.equal(schemaDifference([], [QUOTE]), 'was ; now quote(time,sym,bid)');
});
