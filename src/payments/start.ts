// Wiring of the payment side over a backend chosen by the composition root: pricing, the ledger and the
// paywall, started and stopped together.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Subscriber, Tickerplant } from '../tick/index.js';
import type { InvoiceBackend } from './backend.js';
import { Ledger } from './ledger.js';
import { Paywall } from './paywall.js';
import { loadPricing, Pricing } from './pricing.js';

export interface PaymentsOptions {
  readonly backend: InvoiceBackend;
  readonly tp: Tickerplant;
  readonly clock: Clock;
  readonly log: Logger;
  /** The live subscriber (q or WebSocket) behind a handle, or undefined once it has gone. */
  readonly lookup: (handle: number) => Subscriber | undefined;
  /** The ledger (ledger.jsonl) lives here. */
  readonly stateDir: string;
  readonly priceSat: number;
  readonly pricingFile?: string | undefined;
  readonly invoiceExpirySeconds: number;
  readonly entitlementMs?: number | undefined;
}

export interface Payments {
  readonly backend: InvoiceBackend;
  readonly paywall: Paywall;
  readonly ledger: Ledger;
  /** Starts the backend (never rejects because the node is down: the status says so). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the paywall over a backend (not started yet: see start()). */
export function createPayments(o: PaymentsOptions): Payments {
  const { backend, log } = o;
  const pricing = o.pricingFile ? loadPricing(o.pricingFile, o.priceSat) : Pricing.flat(o.priceSat);
  const ledger = new Ledger(join(o.stateDir, 'ledger.jsonl'));
  const paywall = new Paywall({
    tp: o.tp, backend, pricing, ledger, clock: o.clock, log, lookup: o.lookup,
    invoiceExpirySeconds: o.invoiceExpirySeconds,
    ...(o.entitlementMs !== undefined ? { entitlementMs: o.entitlementMs } : {}),
  });
  return {
    backend, paywall, ledger,
    async start() {
      await backend.start();
      const status = backend.status();
      if (!status.up) log.warn({ reason: status.reason }, 'lightning unavailable');
      else log.info({ backend: backend.kind }, 'lightning ready');
    },
    async close() {
      paywall.close();
      // Shutting down must not fail because the backend could not save its state: say so and go on.
      await backend.close().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lightning backend close failed'));
    },
  };
}
