// Turns a failed gRPC call to lnd into a LightningError whose message is one line for operators.
// lnd's auth and readiness failures (macaroon checks in lnd's rpcperms, stream ends in rpcserver.go).
import { status as GrpcStatus } from '@grpc/grpc-js';
import { LightningError } from '../errors.js';

interface GrpcFailure {
  readonly code: number;
  readonly details: string;
}

export function isGrpcFailure(err: unknown): err is GrpcFailure {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Readonly<Record<string, unknown>>;
  return typeof e['code'] === 'number' && typeof e['details'] === 'string';
}

const MACAROON = /macaroon|verification failed|permission denied|root key|caveat/i;
const NOT_READY = /wallet locked|not yet ready|in the process of starting up|waiting to start/i;
const TLS = /certificate|self[- ]signed|altname|handshake|\bSSL\b|\bTLS\b|unable to verify/i;

/** grpc-js appends an empty "Resolution note:" to connection failures; drop it and fold newlines. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/\.? ?Resolution note: ?$/, '').trim();
}

/** `14 UNAVAILABLE: No connection established…` — the code as number and name, then lnd's text. */
function statusText(f: GrpcFailure): string {
  const name = GrpcStatus[f.code] ?? 'STATUS';
  return oneLine(`${f.code} ${name}: ${f.details}`);
}

export function lndFailure(err: unknown, host: string, timeoutMs: number): LightningError {
  if (err instanceof LightningError) return err;
  if (!isGrpcFailure(err)) {
    const text = err instanceof Error ? err.message : String(err);
    return new LightningError('LN_ERR_PROTOCOL', `lnd call to ${host} failed (${oneLine(text)})`, undefined, { cause: err });
  }
  const { code, details } = err;
  const opts = { cause: err };
  if (code !== GrpcStatus.UNAVAILABLE && MACAROON.test(details)) {
    return new LightningError('LN_ERR_AUTH', `lnd rejected the macaroon (${oneLine(details)})`, code, opts);
  }
  if (NOT_READY.test(details)) {
    return new LightningError('LN_ERR_UNAVAILABLE', `lnd at ${host} is not ready (${oneLine(details)})`, code, opts);
  }
  if (code === GrpcStatus.UNAVAILABLE && TLS.test(details)) {
    return new LightningError('LN_ERR_AUTH',
      `lnd's TLS certificate at ${host} is not the configured tlsCert (${statusText(err)})`, code, opts);
  }
  if (code === GrpcStatus.UNAVAILABLE) {
    return new LightningError('LN_ERR_UNAVAILABLE', `lnd unreachable at ${host} (${statusText(err)})`, code, opts);
  }
  if (code === GrpcStatus.DEADLINE_EXCEEDED) {
    return new LightningError('LN_ERR_UNAVAILABLE',
      `lnd at ${host} did not answer within ${timeoutMs} ms (${statusText(err)})`, code, opts);
  }
  return new LightningError('LN_ERR_PROTOCOL', `lnd at ${host} refused the call (${statusText(err)})`, code, opts);
}
