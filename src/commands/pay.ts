// `tickerplant pay PAYMENT_REQUEST [-p port]`: pays an invoice of a tickerplant running the built-in
// development Lightning backend, by calling its .dev.pay over q IPC.
import { QConnection } from '../client/index.js';
import type { ParsedArgs } from '../config.js';
import { list, str, sym, text } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';

export async function payCommand(args: ParsedArgs): Promise<number> {
  const request = args.positionals[0];
  if (!request) {
    process.stderr.write('usage: tickerplant pay PAYMENT_REQUEST [-p port]\n');
    return 2;
  }
  const conn = await QConnection.connect({ port: args.config.port });
  try {
    const reply = await conn.sync(list(sym('.dev.pay'), str(request)));
    process.stdout.write(`paid: ${replyText(reply)}\n`);
    return 0;
  } finally {
    conn.close();
  }
}

/** A dict of strings as `key=value ...`; anything else as its text, if it has one. */
function replyText(v: QValue): string {
  if (v.type === 99 && v.keys.type === 11 && v.values.type === 0) {
    const values = v.values.items;
    return v.keys.data.map((k, i) => `${k}=${text(values[i] as QValue) ?? ''}`).join(' ');
  }
  return text(v) ?? 'ok';
}
