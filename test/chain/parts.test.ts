// The small parts of a chained TP: --chain on the command line, schemas from upstream's .u.sub[`;`] reply, and a Tickerplant that follows upstream's day.
import t from 'tap';
import { sameSchemas, schemasFromSubReply } from '../../src/chain/index.js';
import { ManualClock } from '../../src/clock.js';
import { helpText, parseCommandLine } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { dict, float, floats, list, str, sym, symbols, table, timespans } from '../../src/ipc/index.js';
import type { Outbound } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { emptyTable, Tickerplant } from '../../src/tick/index.js';
import type { TableSchema } from '../../src/tick/index.js';
import { LogSink, T0 } from '../helpers/tp.js';

const TRADE: TableSchema = { name: 'trade', columns: ['time', 'sym', 'price', 'note'], types: [16, 11, 9, 0] };
const QUOTE: TableSchema = { name: 'quote', columns: ['time', 'sym', 'bid'], types: [16, 11, 9] };
const pair = (s: TableSchema): ReturnType<typeof list> => list(sym(s.name), emptyTable(s));
const HOUR = 3_600_000_000_000n;

t.test('--chain is read from the command line, off by default, and replaces SRC/DST', async (t) => {
  t.equal(parseCommandLine([]).config.chain, undefined);
  t.equal(parseCommandLine(['--chain', 'tp1:5010', '-t', '1000']).config.chain, 'tp1:5010');
  t.equal(parseCommandLine(['--chain', ':5010']).config.batchMs, 0);
  t.throws(() => parseCommandLine(['sym', '--chain', ':5010']), ConfigError, 'SRC with --chain is refused');
  t.throws(() => parseCommandLine(['--chain', 'tp1']), ConfigError, 'no port');
  t.throws(() => parseCommandLine(['--chain', 'h:99999']), ConfigError, 'port out of range');
  const help = helpText('0.0.0');
  t.match(help, /--chain <v> +chained TP \(chainedtick.q\).*\(default: off\)/);
  t.match(help, /usage: .*\n\s+tickerplant --chain \[host\]:port/);
});

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

t.test('a Tickerplant that follows upstream never ends the day by its own clock', async (t) => {
  for (const batchMs of [0, 3_600_000]) {
    const clock = new ManualClock(T0, 0);
    const tp = new Tickerplant({ schemas: [QUOTE], clock, log: createLogger('silent', new LogSink()), batchMs, followUpstream: true });
    t.teardown(() => tp.close());
    const sent: Outbound[] = [];
    tp.sub({ handle: 7, deliver: (e) => sent.push(e.message) }, 'quote', null);
    const d = tp.d;
    clock.advance(72n * HOUR);
    tp.upd('quote', list(sym('IBM'), float(1))); // stamped by tick.q's rule: the batch-mode day check path
    tp.tick();
    t.equal(tp.d, d, `.u.d stays (-t ${batchMs})`);
    t.equal(sent.length, 1, `the update went out and no .u.end did (-t ${batchMs})`);
  }
});
