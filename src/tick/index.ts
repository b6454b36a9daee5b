// The .u domain: tick.q + u.q state and behaviour. No sockets, no gRPC, no WebSockets.
export { Tickerplant, type TickerplantOptions, type TickStats } from './tickerplant.js';
export { Subscriptions, type Subscriber, type SymFilter, type PaidEvent } from './subscriptions.js';
export { bindPaywall, bindTick, readFilter, tableName, type Binding } from './namespace.js';
export { Paywall, invoiceDict, memoOf, type InvoiceInfo, type PaywallOptions, type PaywallStats } from './paywall.js';
export { Pricing, loadPricing, parsePricing } from './pricing.js';
export { Ledger, type LedgerEntry } from './ledger.js';
export { loadSchema, parseSchema, emptyTable, type TableSchema } from './schema.js';
export { readUpdate, hasTime, type Update } from './update.js';
