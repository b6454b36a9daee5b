// Payment backends: the lnd gRPC client and the built-in development node.
export type { Invoice, InvoiceBackend, InvoiceRequest, InvoiceState, BackendStatus } from './backend.js';
export { LndBackend, type LndBackendOptions } from './lnd.js';
export { DevBackend, type DevBackendOptions, type Payment } from './dev.js';
