// `tickerplant replay LOG [--to host:port [--limit n]] [--count-only]`: validate a journal as -11!(-2;L)
// does, or send its records (the first n: -11!(n;L)) to a q process as async (`upd;t;x) messages,
// streamed with backpressure (bounded memory), with progress on stderr.
import { QConnection, parseHostPort } from '../client/index.js';
import type { ParsedArgs } from '../config.js';
import { str } from '../ipc/index.js';
import { records, validate } from '../journal/index.js';

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
  let target: { host: string; port: number };
  try {
    target = parseHostPort(to);
  } catch (err) {
    process.stderr.write(`--to: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const conn = await QConnection.connect(target);
  const tty = process.stderr.isTTY;
  let last = Date.now();
  let closed = false;
  conn.once('close', () => { closed = true; });
  const progress = (done: number, total: number, sent: number): void => {
    const now = Date.now();
    if (now - last < (tty ? 200 : 5000)) return;
    last = now;
    const line = `replaying ${path}: ${((100 * done) / Math.max(total, 1)).toFixed(1)}%, ${sent} records sent`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  };
  // Streamed: one record is read, decoded and sent at a time, and reading waits whenever the socket's
  // buffer is full, so memory stays at one journal block and one socket buffer whatever the file's size.
  let sent = 0;
  let bytesDone = 0;
  let fileBytes = 0;
  const it = records(path, {
    ...(limit !== undefined ? { limit } : {}),
    onProgress: (done, total) => { bytesDone = done; fileBytes = total; },
  });
  let result;
  for (;;) {
    const step = it.next();
    if (step.done) { result = step.value; break; }
    if (closed) { it.return({ chunks: sent, validBytes: 0, ok: false }); break; }
    sent++;
    if (!conn.async(step.value)) await drainedOrClosed(conn);
    progress(bytesDone, fileBytes, sent);
  }
  if (tty) process.stderr.write('\n');
  if (closed || result === undefined) {
    process.stderr.write(`${path}: the connection to ${to} closed after ${sent} records\n`);
    return 1;
  }
  await conn.sync(str('')); // the sync chaser: every record before it has been processed
  conn.close();
  process.stdout.write(`${path}: sent ${result.chunks} records to ${to}${result.ok ? '' : ' (stopped at a corrupt tail)'}\n`);
  return result.ok ? 0 : 1;
}

/** Waits for the socket to drain, or for the connection to end (then the caller stops). */
function drainedOrClosed(conn: QConnection): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { conn.off('close', done); resolve(); };
    conn.once('close', done);
    void conn.drained().then(done);
  });
}
