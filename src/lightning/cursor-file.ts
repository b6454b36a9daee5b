// Keeps the lnd resume cursor (cursor.ts) in a small JSON file so a restarted tickerplant resumes
// SubscribeInvoices where it stopped (lnrpc InvoiceSubscription's add_index/settle_index). Writes are atomic
// (temporary file, fsync, rename) and coalesced: at most one write in flight, the latest value wins.
import { open, readFile, rename } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Cursor } from './cursor.js';
import { NO_CURSOR } from './cursor.js';

const DIGITS = /^\d+$/;

function parse(text: string): Cursor | undefined {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) return undefined;
  const add = (value as Record<string, unknown>)['addIndex'];
  const settle = (value as Record<string, unknown>)['settleIndex'];
  if (typeof add !== 'string' || typeof settle !== 'string' || !DIGITS.test(add) || !DIGITS.test(settle)) return undefined;
  return { addIndex: BigInt(add), settleIndex: BigInt(settle) };
}

/** The saved cursor; NO_CURSOR (a full rescan, which is always safe) when missing or unreadable. */
export async function loadCursor(file: string, log: Logger): Promise<Cursor> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: (err as Error).message, file }, 'cannot read lnd cursor file; rescanning invoices');
    return NO_CURSOR;
  }
  let cursor: Cursor | undefined;
  try {
    cursor = parse(text);
  } catch {
    cursor = undefined;
  }
  if (!cursor) log.warn({ file }, 'lnd cursor file is malformed; rescanning invoices');
  return cursor ?? NO_CURSOR;
}

export class CursorFile {
  private pending: Cursor | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly file: string, private readonly log: Logger) {}

  save(cursor: Cursor): void {
    this.pending = cursor;
    this.writing ??= this.drain();
  }

  /** Resolves once every saved value has reached the disk (or failed and been logged). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const cursor = this.pending;
        this.pending = undefined;
        await this.write(cursor);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(cursor: Cursor): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const body = JSON.stringify({ addIndex: cursor.addIndex.toString(), settleIndex: cursor.settleIndex.toString() });
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(body + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: this.file }, 'cannot save lnd cursor file');
    }
  }
}
