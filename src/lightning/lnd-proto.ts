// Loads proto/lightning.proto (our hand-written lnrpc subset) and hands out lnd's method definitions.
// Loader options as lnd's JS docs recommend; see lnd's docs/grpc/javascript.md.
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';

export type LndMethodName = 'AddInvoice' | 'SubscribeInvoices' | 'LookupInvoice' | 'ListInvoices' | 'GetInfo';
export type LndMethod = MethodDefinition<object, object>;

/** The source lives in src/lightning/, the build in dist/lightning/: the package root is two levels up. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

let cached: ServiceDefinition | undefined;

/** `lnrpc.Lightning` as a grpc-js service definition (usable by a client and by a test server). */
export function lightningService(): ServiceDefinition {
  if (cached) return cached;
  const pkg = loadSync('lightning.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  });
  const service = pkg['lnrpc.Lightning'];
  if (!service || 'format' in service) throw new Error('proto/lightning.proto has no service lnrpc.Lightning');
  cached = service as ServiceDefinition;
  return cached;
}

export function lndMethod(name: LndMethodName): LndMethod {
  const method = lightningService()[name];
  if (!method) throw new Error(`proto/lightning.proto lacks lnrpc.Lightning/${name}`);
  return method;
}
