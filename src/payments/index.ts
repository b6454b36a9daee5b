// Payments: what a subscription costs (pricing), the paywall that sells it over an invoice backend, the
// revenue ledger. Their q names are forms of q/surface.ts. lightning/ implements the backend interface declared here.
export type { BackendStatus, Invoice, InvoiceBackend, InvoiceRequest, InvoiceState, Payment } from './backend.js';
export { Paywall, invoiceDict, EXPIRY_CHECKS_MS, L402_USER, L402_DEFAULT_LIFETIME_MS, type TokenOffer, type Buyer, type Claim, type InvoiceInfo, type Offer, type PaywallOptions, type PaywallStats } from './paywall.js';
export { memoOf, MAX_DESCRIPTION_BYTES } from './memo.js';
export { InvoiceBook, type BookEntry } from './book.js';
export { openAppendFile, type AppendFile } from './append-file.js';
export { Pricing, loadPricing, parsePricing } from './pricing.js';
export { Ledger, type LedgerEntry } from './ledger.js';
export { createPayments, BOOK_FILE, LEDGER_FILE, type Payments, type PaymentsOptions } from './start.js';
