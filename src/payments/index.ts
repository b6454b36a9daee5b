// Payments: what a subscription costs (pricing), the paywall that sells it over an invoice backend, the
// revenue ledger, and their q names. lightning/ implements the backend interface declared here.
export type { BackendStatus, Invoice, InvoiceBackend, InvoiceRequest, InvoiceState, Payment } from './backend.js';
export { Paywall, invoiceDict, memoOf, type InvoiceInfo, type PaywallOptions, type PaywallStats } from './paywall.js';
export { Pricing, loadPricing, parsePricing } from './pricing.js';
export { Ledger, type LedgerEntry } from './ledger.js';
export { bindDevPay, bindPaywall } from './namespace.js';
export { createPayments, type Payments, type PaymentsOptions } from './start.js';
