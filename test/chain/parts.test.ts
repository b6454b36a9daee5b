// The small parts of a chained TP: --chain on the command line and a Tickerplant that follows upstream's day.
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { helpText, parseCommandLine } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { float, list, sym } from '../../src/ipc/index.js';
import type { Outbound } from '../../src/ipc/index.js';
import { createLogger } from '../../src/log.js';
import { Tickerplant } from '../../src/tick/index.js';
import type { TableSchema } from '../../src/tick/index.js';
import { LogSink, T0 } from '../helpers/tp.js';

const QUOTE: TableSchema = { name: 'quote', columns: ['time', 'sym', 'bid'], types: [16, 11, 9] };
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
