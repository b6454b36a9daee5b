// `tickerplant replay LOG [--to host:port [--limit n]] [--count-only]`: validate a journal as -11!(-2;L)
// does, or send its records (the first n: -11!(n;L)) to a q process as async (`upd;t;x) messages.
import { QConnection, parseHostPort } from '../client/index.js';
import type { ParsedArgs } from '../config.js';
import { str } from '../ipc/index.js';
import { replay, validate } from '../journal/index.js';

export async function replayCommand(args: ParsedArgs): Promise<number> {
  const path = args.positionals[0];
  if (!path) {
    process.stderr.write('usage: tickerplant replay LOG [--to host:port [--limit n]] [--count-only]\n');
    return 2;
  }
  const to = args.values['to'];
  if (typeof to !== 'string' || args.values['count-only'] === true) {
    const v = validate(path);
    process.stdout.write(`${path}: ${v.chunks} records, ${v.validBytes} of ${v.fileBytes} bytes valid${v.ok ? '' : ' (corrupt tail)'}\n`);
    return v.ok ? 0 : 1;
  }
  const limitArg = args.values['limit'];
  const limit = typeof limitArg === 'string' ? Number(limitArg) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    process.stderr.write('--limit must be a whole number of records\n');
    return 2;
  }
  const conn = await QConnection.connect(parseHostPort(to));
  const tty = process.stderr.isTTY;
  let last = 0;
  const result = replay(path, (record) => { conn.async(record); }, {
    ...(limit !== undefined ? { limit } : {}),
    onProgress: (done, total) => {
      const now = Date.now();
      if (!tty || now - last < 200) return;
      last = now;
      process.stderr.write(`\rreplaying ${path}: ${((100 * done) / Math.max(total, 1)).toFixed(1)}%`);
    },
  });
  if (tty) process.stderr.write('\n');
  await conn.sync(str('')); // the sync chaser: every record before it has been processed
  conn.close();
  process.stdout.write(`${path}: sent ${result.chunks} records to ${to}${result.ok ? '' : ' (stopped at a corrupt tail)'}\n`);
  return result.ok ? 0 : 1;
}
