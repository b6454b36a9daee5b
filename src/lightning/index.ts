// Payment backends: the lnd gRPC client and the built-in development node, both implementing payments'
// InvoiceBackend (src/payments/backend.ts).
export { LndBackend, type LndBackendOptions } from './lnd.js';
export { DevBackend, type DevBackendOptions } from './dev.js';
export { createBackend, type BackendChoice } from './create.js';
