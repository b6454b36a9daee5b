// The revenue ledger: one JSON line per settled invoice, appended and never rewritten, next to the
// journal. It is also the proof-of-payment index: a preimage whose hash is here re-enables its buyer.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LedgerEntry {
  /** ISO time of settlement. */
  readonly time: string;
  /** Hex payment hash. */
  readonly r_hash: string;
  readonly amount_sat: number;
  /** Each (table; syms) the invoice paid for; syms null = every sym. */
  readonly requests: ReadonlyArray<{ readonly table: string; readonly syms: string[] | null }>;
  readonly handle: number | null;
  readonly user: string | null;
  /** Settled after its subscriber left (or before a restart): a credit the buyer can claim with the preimage. */
  readonly orphan: boolean;
  /** Entitlement end (ISO) when the tickerplant sells periods; null: until disconnect. */
  readonly until: string | null;
}

export class Ledger {
  private readonly byHash = new Map<string, LedgerEntry>();

  constructor(readonly path: string) {
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as LedgerEntry;
          if (typeof e.r_hash === 'string') this.byHash.set(e.r_hash, e);
        } catch {
          // a torn last line after a crash: the settlement is replayed by the backend and rewritten
        }
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
  }

  has(rHashHex: string): boolean { return this.byHash.has(rHashHex); }
  get(rHashHex: string): LedgerEntry | undefined { return this.byHash.get(rHashHex); }
  get size(): number { return this.byHash.size; }
  entries(): IterableIterator<LedgerEntry> { return this.byHash.values(); }

  /** Appends once per payment hash; returns false when the hash is already recorded. */
  record(entry: LedgerEntry): boolean {
    if (this.byHash.has(entry.r_hash)) return false;
    appendFileSync(this.path, JSON.stringify(entry) + '\n');
    this.byHash.set(entry.r_hash, entry);
    return true;
  }
}
