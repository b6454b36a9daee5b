// Wiring of the payment side over a backend chosen by the composition root: pricing, the invoice book,
// the ledger and the paywall, started (backend, then reconciling the book with it) and stopped together.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Subscriber, Tickerplant } from '../tick/index.js';
import { openAppendFile } from './append-file.js';
import type { AppendFile } from './append-file.js';
import type { InvoiceBackend } from './backend.js';
import { InvoiceBook } from './book.js';
import { Ledger } from './ledger.js';
import { Paywall } from './paywall.js';
import { loadPricing, Pricing } from './pricing.js';

export const LEDGER_FILE = 'ledger.jsonl';
export const BOOK_FILE = 'invoices.jsonl';

export interface PaymentsOptions {
  readonly backend: InvoiceBackend;
  readonly tp: Tickerplant;
  readonly clock: Clock;
  readonly log: Logger;
  /** The live subscriber (q or WebSocket) behind a handle, or undefined once it has gone. */
  readonly lookup: (handle: number) => Subscriber | undefined;
  /** The ledger (ledger.jsonl) and the invoice book (invoices.jsonl) live here. */
  readonly stateDir: string;
  readonly priceSat: number;
  readonly pricingFile?: string | undefined;
  readonly invoiceExpirySeconds: number;
  readonly entitlementMs?: number | undefined;
  readonly maxPendingPerConn?: number | undefined;
  readonly maxPendingInvoices?: number | undefined;
  /** Tests inject failing disks here; the real files by default. */
  readonly openFile?: (path: string) => AppendFile;
}

export interface Payments {
  readonly backend: InvoiceBackend;
  readonly paywall: Paywall;
  readonly ledger: Ledger;
  readonly book: InvoiceBook;
  /** Disk health of the ledger and the book, for metrics. */
  readonly files: { readonly writeFailures: number; readonly unwritten: number };
  /**
   * Starts the backend (never rejects because the node is down: the status says so), then reconciles:
   * awaited, or with `background` (the tickerplant's start: one lookup per unconfirmed invoice must not
   * keep its ports closed) run on its own, its failure logged.
   */
  start(opts?: { readonly background?: boolean }): Promise<void>;
  /** Stops; resolves to the ledger and book records the disk did not take (0: nothing lost). */
  close(): Promise<number>;
}

/** Builds the paywall over a backend (not started yet: see start()). */
export function createPayments(o: PaymentsOptions): Payments {
  const { backend, log, clock } = o;
  const open = o.openFile ?? openAppendFile;
  const after = clock.after.bind(clock);
  const pricing = o.pricingFile ? loadPricing(o.pricingFile, o.priceSat) : Pricing.flat(o.priceSat);
  const ledger = new Ledger({ file: open(join(o.stateDir, LEDGER_FILE)), after, log: log.child({ mod: 'ledger' }) });
  const book = new InvoiceBook({ file: open(join(o.stateDir, BOOK_FILE)), after, log: log.child({ mod: 'book' }), settled: (h) => ledger.has(h) });
  const paywall = new Paywall({
    tp: o.tp, backend, pricing, ledger, book, clock, log, lookup: o.lookup,
    invoiceExpirySeconds: o.invoiceExpirySeconds,
    ...(o.entitlementMs !== undefined ? { entitlementMs: o.entitlementMs } : {}),
    ...(o.maxPendingPerConn !== undefined ? { maxPendingPerConn: o.maxPendingPerConn } : {}),
    ...(o.maxPendingInvoices !== undefined ? { maxPendingInvoices: o.maxPendingInvoices } : {}),
  });
  return {
    backend, paywall, ledger, book,
    files: {
      get writeFailures() { return ledger.writeFailures + book.writeFailures; },
      get unwritten() { return ledger.unwritten + book.unwritten; },
    },
    async start(opts = {}) {
      await backend.start();
      const status = backend.status();
      if (!status.up) { log.warn({ reason: status.reason }, 'lightning unavailable'); return; }
      log.info({ backend: backend.kind }, 'lightning ready');
      const walk = paywall.reconcile();
      if (!opts.background) { await walk; return; }
      walk.catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'invoice reconcile failed'));
    },
    async close() {
      paywall.close();
      // Shutting down must not fail because the backend could not save its state: say so and go on.
      await backend.close().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lightning backend close failed'));
      return ledger.close() + book.shutdown();
    },
  };
}
