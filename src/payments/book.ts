// The invoice book: every invoice the paywall mints, recorded durably (fsync'd) before the buyer sees
// it — the journal's write-ahead rule applied to money. A settlement counts as revenue only when its
// r_hash is in the book (or already in the ledger): other applications' invoices, keysend and AMP
// payments on the same lnd are foreign, and a fresh start against an lnd with history books nothing.
// File: invoices.jsonl in the state dir, one JSON line per record:
//   {"op":"mint", r_hash, add_index, payment_request, amount_sat, requests:[{table,syms}], user, handle,
//    peer, created (lnd's creation_date, unix s), expiry (s), kind ("Invoice"|"Renewal"), renews}
//   {"op":"close", r_hash, reason ("expired"|"canceled"|"missing")}
// "expired" is our clock's word, not lnd's: an invoice paid just before its deadline, whose settlement we
// had not heard of yet, is still ours. So an entry closed "expired" is kept, on disk and in memory, until
// lnd confirms it (LookupInvoice says CANCELED or does not know it: "canceled"/"missing") or settles it.
// Confirmed-closed and settled entries leave memory at once and the file on the next load (compaction),
// so what is held is bounded by what may still be paid.
import type { Logger } from 'pino';
import type { AppendFile } from './append-file.js';
import { RetryingWriter } from './append-file.js';

export interface BookedRequest { readonly table: string; readonly syms: readonly string[] | null }

export interface BookEntry {
  /** Hex payment hash. */
  readonly r_hash: string;
  readonly add_index: string;
  readonly payment_request: string;
  readonly amount_sat: number;
  /** Exactly what the invoice buys: each (table; syms), syms null = every sym. */
  readonly requests: readonly BookedRequest[];
  /** Who asked: the -u user ('' when none), the q handle (negative: WebSocket), the peer address. */
  readonly user: string;
  readonly handle: number;
  readonly peer: string | null;
  /** lnd's creation_date (unix s) and expiry (s): the invoice stops being payable at created + expiry. */
  readonly created: number;
  readonly expiry: number;
  readonly kind: 'Invoice' | 'Renewal';
  /** A renewal: the r_hash of the payment whose period it extends. */
  readonly renews: string | null;
}

export type CloseReason = 'expired' | 'canceled' | 'missing';

export interface InvoiceBookOptions {
  readonly file: AppendFile;
  readonly after: (ms: number, fn: () => void) => { cancel(): void };
  readonly log: Logger;
  /** Hashes already settled in the ledger: not open, dropped from the file on load. */
  readonly settled: (rHash: string) => boolean;
}

export class InvoiceBook {
  /** Open entries, and expired ones lnd has not confirmed. */
  private readonly entries = new Map<string, BookEntry>();
  /** Closed "expired" by our clock, awaiting lnd's word. */
  private readonly expired = new Set<string>();
  private readonly writer: RetryingWriter;

  constructor(o: InvoiceBookOptions) {
    this.writer = new RetryingWriter({ file: o.file, after: o.after, log: o.log });
    let dropped = 0;
    const confirmed = new Set<string>();
    for (const line of o.file.readLines()) {
      let rec: { op?: unknown; r_hash?: unknown; reason?: unknown };
      try { rec = JSON.parse(line) as typeof rec; } catch { dropped++; continue; }
      if (typeof rec.r_hash !== 'string') { dropped++; continue; }
      if (rec.op === 'mint') this.entries.set(rec.r_hash, rec as unknown as BookEntry);
      else if (rec.op === 'close' && rec.reason === 'expired') this.expired.add(rec.r_hash);
      else if (rec.op === 'close') confirmed.add(rec.r_hash);
    }
    for (const hash of [...this.entries.keys()]) {
      if (confirmed.has(hash) || o.settled(hash)) { this.entries.delete(hash); this.expired.delete(hash); dropped++; }
    }
    for (const hash of this.expired) if (!this.entries.has(hash)) { this.expired.delete(hash); dropped++; }
    // Lines for what was dropped, and every close line kept (an expired mark is rewritten below).
    dropped += confirmed.size + this.expired.size;
    if (dropped > 0) {
      try {
        o.file.replace([...this.entries.values()].map((e) => JSON.stringify({ op: 'mint', ...e }) + '\n').join('') +
          [...this.expired].map((h) => closeLine(h, 'expired')).join(''));
      } catch (err) {
        // Compaction is housekeeping: the file as it was is still correct.
        o.log.warn({ file: o.file.path, err: String(err) }, 'invoice book not compacted');
      }
    }
  }

  /** Records a minted invoice durably; throws when the disk refuses (then the invoice must not be handed out). */
  mint(entry: BookEntry): void {
    this.writer.writeNow(JSON.stringify({ op: 'mint', ...entry }) + '\n');
    this.entries.set(entry.r_hash, entry);
  }

  /**
   * The invoice can no longer be paid: "expired" by our clock (kept until lnd confirms), or lnd says so
   * ("canceled", "missing": forgotten here). Never throws: retried if the disk refuses.
   */
  close(rHash: string, reason: CloseReason): void {
    if (!this.entries.has(rHash) || (reason === 'expired' && this.expired.has(rHash))) return;
    if (reason === 'expired') this.expired.add(rHash);
    else { this.entries.delete(rHash); this.expired.delete(rHash); }
    this.writer.write(closeLine(rHash, reason));
  }

  /** The ledger has recorded it: the book need not hold it any more (dropped from the file on load). */
  settled(rHash: string): void {
    this.entries.delete(rHash);
    this.expired.delete(rHash);
  }

  get(rHash: string): BookEntry | undefined { return this.entries.get(rHash); }
  has(rHash: string): boolean { return this.entries.has(rHash); }
  /** What lnd may still report settled: the open entries and the expired ones it has not confirmed. */
  unconfirmed(): BookEntry[] { return [...this.entries.values()]; }
  get size(): number { return this.entries.size; }
  get path(): string { return this.writer.path; }
  get writeFailures(): number { return this.writer.failures; }
  get unwritten(): number { return this.writer.unwritten; }
  /** Closes; returns the records the disk did not take (see RetryingWriter.close). */
  shutdown(): number { return this.writer.close(); }
}

const closeLine = (rHash: string, reason: CloseReason): string => JSON.stringify({ op: 'close', r_hash: rHash, reason }) + '\n';
