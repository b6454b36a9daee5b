// The invoice book: every invoice the paywall mints, recorded durably (fsync'd) before the buyer sees
// it — the journal's write-ahead rule applied to money. A settlement counts as revenue only when its
// r_hash is in the book (or already in the ledger): other applications' invoices, keysend and AMP
// payments on the same lnd are foreign, and a fresh start against an lnd with history books nothing.
// File: invoices.jsonl in the state dir, one JSON line per record:
//   {"op":"mint", r_hash, add_index, payment_request, amount_sat, requests:[{table,syms}], user, handle,
//    peer, created (lnd's creation_date, unix s), expiry (s), kind ("Invoice"|"Renewal"), renews}
//   {"op":"close", r_hash, reason ("expired"|"canceled"|"missing")}
// On load, entries that are closed or already settled in the ledger are dropped and the file is
// compacted, so it holds only what may still be paid.
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
  private readonly entries = new Map<string, BookEntry>();
  private readonly closed = new Set<string>();
  private readonly writer: RetryingWriter;

  constructor(o: InvoiceBookOptions) {
    this.writer = new RetryingWriter({ file: o.file, after: o.after, log: o.log });
    let dropped = 0;
    for (const line of o.file.readLines()) {
      let rec: { op?: unknown; r_hash?: unknown };
      try { rec = JSON.parse(line) as typeof rec; } catch { dropped++; continue; }
      if (typeof rec.r_hash !== 'string') { dropped++; continue; }
      if (rec.op === 'mint') this.entries.set(rec.r_hash, rec as unknown as BookEntry);
      else if (rec.op === 'close') this.closed.add(rec.r_hash);
    }
    for (const hash of [...this.entries.keys()]) {
      if (this.closed.has(hash) || o.settled(hash)) { this.entries.delete(hash); dropped++; }
    }
    dropped += this.closed.size;
    this.closed.clear();
    if (dropped > 0) {
      try {
        o.file.replace([...this.entries.values()].map((e) => JSON.stringify({ op: 'mint', ...e }) + '\n').join(''));
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

  /** The invoice can no longer be paid (lnd canceled it, or it expired). Never throws: retried if the disk refuses. */
  close(rHash: string, reason: CloseReason): void {
    if (!this.entries.has(rHash) || this.closed.has(rHash)) return;
    this.closed.add(rHash);
    this.writer.write(JSON.stringify({ op: 'close', r_hash: rHash, reason }) + '\n');
  }

  get(rHash: string): BookEntry | undefined { return this.entries.get(rHash); }
  has(rHash: string): boolean { return this.entries.has(rHash); }
  /** Booked, not closed: may still settle (the caller skips what the ledger already has). */
  open(): BookEntry[] { return [...this.entries.values()].filter((e) => !this.closed.has(e.r_hash)); }
  get size(): number { return this.entries.size; }
  get path(): string { return this.writer.path; }
  get writeFailures(): number { return this.writer.failures; }
  get unwritten(): number { return this.writer.unwritten; }
  shutdown(): void { this.writer.close(); }
}
