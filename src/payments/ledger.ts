// The revenue ledger: one JSON line per settled invoice of ours (one that is in the invoice book),
// appended, fsync'd and never rewritten, next to the journal. It is also the credit index: a preimage
// whose hash is here claims exactly the requests recorded with it. A line the disk refuses (ENOSPC,
// EIO) is kept in memory — has() and get() already answer for it — and retried until written; if the
// process dies first, the book still lists the hash as open and the restart re-derives it from lnd.
import type { Logger } from 'pino';
import type { AppendFile } from './append-file.js';
import { RetryingWriter } from './append-file.js';

export interface LedgerEntry {
  /** ISO time of settlement. */
  readonly time: string;
  /** Hex payment hash. */
  readonly r_hash: string;
  readonly amount_sat: number;
  /** Each (table; syms) the invoice paid for (from the book); syms null = every sym. */
  readonly requests: ReadonlyArray<{ readonly table: string; readonly syms: readonly string[] | null }>;
  readonly handle: number | null;
  readonly user: string | null;
  /** The buyer's peer address, as the book recorded it (absent in lines written before it was kept). */
  readonly peer?: string | null;
  /** Settled after its buyer left (or during a restart): a credit the buyer claims with the preimage. */
  readonly orphan: boolean;
  /** Entitlement end (ISO) when the tickerplant sells periods; null: until disconnect. */
  readonly until: string | null;
  /** A renewal: the r_hash of the payment whose period it extends. */
  readonly renews?: string | null;
}

export interface LedgerOptions {
  readonly file: AppendFile;
  readonly after: (ms: number, fn: () => void) => { cancel(): void };
  readonly log: Logger;
}

export class Ledger {
  private readonly byHash = new Map<string, LedgerEntry>();
  private readonly writer: RetryingWriter;

  constructor(o: LedgerOptions) {
    this.writer = new RetryingWriter(o);
    for (const line of o.file.readLines()) {
      try {
        const e = JSON.parse(line) as LedgerEntry;
        if (typeof e.r_hash === 'string') this.byHash.set(e.r_hash, e);
      } catch {
        // a line that is not JSON: skipped (its settlement is re-derived from lnd through the book)
      }
    }
  }

  get path(): string { return this.writer.path; }
  has(rHashHex: string): boolean { return this.byHash.has(rHashHex); }
  get(rHashHex: string): LedgerEntry | undefined { return this.byHash.get(rHashHex); }
  get size(): number { return this.byHash.size; }
  entries(): IterableIterator<LedgerEntry> { return this.byHash.values(); }
  get writeFailures(): number { return this.writer.failures; }
  /** Entries held in memory because the disk refused them. */
  get unwritten(): number { return this.writer.unwritten; }

  /** Records once per payment hash (never throws); false when the hash is already recorded. */
  record(entry: LedgerEntry): boolean {
    if (this.byHash.has(entry.r_hash)) return false;
    this.byHash.set(entry.r_hash, entry);
    this.writer.write(JSON.stringify(entry) + '\n');
    return true;
  }

  /** Closes; returns the records the disk did not take (see RetryingWriter.close). */
  close(): number { return this.writer.close(); }
}
