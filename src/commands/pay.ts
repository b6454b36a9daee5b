// `tickerplant pay PAYMENT_REQUEST [-p port]`: pays an invoice of a tickerplant running the built-in
// development Lightning backend, by calling its .dev.pay over q IPC.
import { QConnection } from '../client/index.js';
import type { ParsedArgs } from '../config.js';
import { QError } from '../errors.js';
import { list, str, sym, text } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';

export async function payCommand(args: ParsedArgs): Promise<number> {
  const request = args.positionals[0];
  if (!request) {
    process.stderr.write('usage: tickerplant pay PAYMENT_REQUEST [-p port]\n');
    return 2;
  }
  const port = args.config.port;
  let conn: QConnection;
  try {
    conn = await QConnection.connect({ port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ECONNREFUSED' ? 'nothing is listening there (is it running? -p sets the port)'
      : err instanceof QError ? `it refused the connection ('${err.message})` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`tickerplant pay: cannot reach a tickerplant on :${port}: ${why}\n`);
    return 1;
  }
  try {
    const reply = await conn.sync(list(sym('.dev.pay'), str(request)));
    process.stdout.write(`paid: ${replyText(reply)}\n`);
    return 0;
  } catch (err) {
    // .dev.pay exists only with the built-in node; q answers 'access for a name it does not serve.
    if (err instanceof QError && err.message === 'access') {
      process.stderr.write(`tickerplant pay: the tickerplant on :${port} does not run the dev Lightning node ` +
        '(start it with --lightning dev); with lnd, pay the invoice from any Lightning wallet\n');
      return 1;
    }
    throw err;
  } finally {
    conn.close();
  }
}

/** A dict as `key=value ...` (strings as text, longs as numbers); anything else as its text, if it has one. */
function replyText(v: QValue): string {
  if (v.type === 99 && v.keys.type === 11 && v.values.type === 0) {
    const values = v.values.items;
    return v.keys.data.map((k, i) => `${k}=${atomText(values[i] as QValue)}`).join(' ');
  }
  return text(v) ?? 'ok';
}

function atomText(v: QValue): string {
  if (v.type === -7 || v.type === -6 || v.type === -5) return String(v.value);
  return text(v) ?? '';
}
