// Narrows the untyped objects grpc-js hands back (keepCase, longs as strings, enums as names, bytes as
// Buffers) into the backend's types. Field names and meanings: lnd's lnrpc/lightning.proto.
import { LightningError } from '../errors.js';
import type { Invoice, InvoiceState } from '../payments/backend.js';

type Fields = Readonly<Record<string, unknown>>;

const STATES: readonly InvoiceState[] = ['OPEN', 'SETTLED', 'CANCELED', 'ACCEPTED'];

function malformed(what: string, field: string): LightningError {
  return new LightningError('LN_ERR_PROTOCOL', `lnd sent a malformed ${what} (field ${field})`);
}

function record(raw: unknown, what: string): Fields {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed(what, '<message>');
  return raw as Fields;
}

function bytes(m: Fields, field: string, what: string): Buffer {
  const v = m[field];
  if (v === undefined) return Buffer.alloc(0);
  if (!Buffer.isBuffer(v)) throw malformed(what, field);
  return v;
}

function text(m: Fields, field: string, what: string): string {
  const v = m[field];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw malformed(what, field);
  return v;
}

/** 64-bit integers arrive as decimal strings (longs: String); small ones may be plain numbers. */
function int64(m: Fields, field: string, what: string): bigint {
  const v = m[field];
  if (v === undefined) return 0n;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw malformed(what, field);
}

function seconds(m: Fields, field: string, what: string): number {
  return Number(int64(m, field, what));
}

function state(m: Fields, what: string): InvoiceState {
  const v = m['state'] ?? 'OPEN';
  const found = STATES.find((s) => s === v);
  if (!found) throw malformed(what, 'state');
  return found;
}

/** An lnrpc.Invoice (from SubscribeInvoices, LookupInvoice or ListInvoices). */
export function readInvoice(raw: unknown): Invoice {
  const what = 'Invoice';
  const m = record(raw, what);
  const rHash = bytes(m, 'r_hash', what);
  if (rHash.length !== 32) throw malformed(what, 'r_hash');
  return {
    rHash,
    paymentRequest: text(m, 'payment_request', what),
    addIndex: int64(m, 'add_index', what),
    settleIndex: int64(m, 'settle_index', what),
    state: state(m, what),
    valueSat: int64(m, 'value', what),
    amountPaidSat: int64(m, 'amt_paid_sat', what),
    memo: text(m, 'memo', what),
    creationDate: seconds(m, 'creation_date', what),
    expirySeconds: seconds(m, 'expiry', what),
    settleDate: seconds(m, 'settle_date', what),
    // The proof of payment, for the buyer the settlement enables: only once settled, only 32 bytes.
    ...(state(m, what) === 'SETTLED' && bytes(m, 'r_preimage', what).length === 32 ? { preimage: bytes(m, 'r_preimage', what) } : {}),
  };
}

export interface AddInvoiceReply {
  readonly rHash: Buffer;
  readonly paymentRequest: string;
  readonly addIndex: bigint;
}

export function readAddInvoiceResponse(raw: unknown): AddInvoiceReply {
  const what = 'AddInvoiceResponse';
  const m = record(raw, what);
  const rHash = bytes(m, 'r_hash', what);
  if (rHash.length !== 32) throw malformed(what, 'r_hash');
  const paymentRequest = text(m, 'payment_request', what);
  if (paymentRequest === '') throw malformed(what, 'payment_request');
  return { rHash, paymentRequest, addIndex: int64(m, 'add_index', what) };
}

export interface InvoicePage {
  readonly invoices: readonly Invoice[];
  readonly lastIndexOffset: bigint;
  /** Entries left out: no 32-byte r_hash (lnd lists a spontaneous AMP payment's invoice with none). */
  readonly skipped: number;
}

export function readListInvoiceResponse(raw: unknown): InvoicePage {
  const what = 'ListInvoiceResponse';
  const m = record(raw, what);
  const list = m['invoices'] ?? [];
  if (!Array.isArray(list)) throw malformed(what, 'invoices');
  // An invoice without a payment hash cannot be one we minted: left out, so one AMP payment to the node
  // (anyone can send one) does not fail every page it is on, and with it the backend.
  const invoices: Invoice[] = [];
  let skipped = 0;
  for (const item of list) {
    const h = (item as { r_hash?: unknown } | null)?.r_hash;
    if (h === undefined || (Buffer.isBuffer(h) && h.length !== 32)) { skipped++; continue; }
    invoices.push(readInvoice(item));
  }
  return { invoices, lastIndexOffset: int64(m, 'last_index_offset', what), skipped };
}

/** The few GetInfo fields worth one startup log line. */
export interface NodeInfo {
  readonly alias: string;
  readonly version: string;
  readonly identityPubkey: string;
  readonly blockHeight: number;
  readonly syncedToChain: boolean;
  readonly networks: readonly string[];
}

export function readGetInfoResponse(raw: unknown): NodeInfo {
  const what = 'GetInfoResponse';
  const m = record(raw, what);
  const chains = Array.isArray(m['chains']) ? m['chains'] : [];
  const height = m['block_height'];
  return {
    alias: text(m, 'alias', what),
    version: text(m, 'version', what),
    identityPubkey: text(m, 'identity_pubkey', what),
    blockHeight: typeof height === 'number' ? height : 0,
    syncedToChain: m['synced_to_chain'] === true,
    networks: chains.map((c: unknown) => text(record(c, what), 'network', what)),
  };
}
