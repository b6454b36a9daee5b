// The port between the paywall and a Lightning node: mint invoices, hear settlements. Payments owns
// this interface; lightning/ implements it (the lnd gRPC client, the in-process development node).
import type { EventEmitter } from 'node:events';

export type InvoiceState = 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED';

/** An invoice as lnd describes it (lnrpc.Invoice), reduced to what the paywall uses. */
export interface Invoice {
  /** SHA-256 of the preimage, 32 bytes (lnrpc.Invoice.r_hash). */
  readonly rHash: Buffer;
  /** BOLT11 string. */
  readonly paymentRequest: string;
  /** lnd's add_index: rises by one per added invoice, starting at 1. */
  readonly addIndex: bigint;
  /** lnd's settle_index: 0 while not settled. */
  readonly settleIndex: bigint;
  readonly state: InvoiceState;
  readonly valueSat: bigint;
  readonly amountPaidSat: bigint;
  readonly memo: string;
  /** Unix seconds: lnd's creation_date (the BOLT 11 timestamp). */
  readonly creationDate: number;
  /** Seconds after creationDate at which the invoice expires. */
  readonly expirySeconds: number;
  /** Unix seconds, 0 until settled. */
  readonly settleDate: number;
  /** lnrpc.Invoice.r_preimage once settled, when the node tells it (the paywall checks it against rHash). */
  readonly preimage?: Buffer | undefined;
}

/** What the paying side learns: the settled invoice and its preimage (the proof of payment). */
export interface Payment {
  readonly invoice: Invoice;
  readonly preimage: Buffer;
}

export interface InvoiceRequest {
  readonly valueSat: bigint;
  readonly memo: string;
  readonly expirySeconds: number;
}

/** Whether the backend can mint invoices right now, and why not. */
export interface BackendStatus {
  readonly up: boolean;
  /** One line for operators when down, e.g. 'lnd unreachable at 127.0.0.1:10009'. */
  readonly reason?: string;
}

/**
 * Events:
 * - 'settled' (invoice: Invoice): an invoice reached SETTLED. May repeat for the same rHash (replays after
 *   reconnects); consumers must be idempotent, keyed by rHash. Every settlement on the node is reported,
 *   also other applications' invoices, keysend and AMP: the paywall's invoice book tells ours apart.
 * - 'canceled' (invoice: Invoice): the backend learned an invoice is CANCELED (lnd's SubscribeInvoices
 *   does not carry cancellations, so lnd reports what ListInvoices shows; the dev node its own expiry).
 * - 'status' (status: BackendStatus): connectivity changed.
 */
export interface InvoiceBackend extends EventEmitter {
  readonly kind: 'dev' | 'lnd';
  /** Connects (or prepares) and starts listening for settlements. Never rejects because the node is down. */
  start(): Promise<void>;
  close(): Promise<void>;
  status(): BackendStatus;
  /** Rejects with a LightningError (code LN_ERR_UNAVAILABLE) when the node cannot be reached. */
  addInvoice(request: InvoiceRequest): Promise<Invoice>;
  /** undefined when the node does not know the hash. */
  lookupInvoice(rHash: Buffer): Promise<Invoice | undefined>;
  /** Pays one of its own invoices: present only on the dev node, so real lnd is never paid with fake money. */
  pay?(paymentRequest: string): Payment;
}
