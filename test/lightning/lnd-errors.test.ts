// How failed lnd calls read to operators (src/lightning/lnd-errors.ts): one line, the right error code,
// lnd's own text kept (lightning.md §2.2 for lnd's messages).
import { status } from '@grpc/grpc-js';
import t from 'tap';
import { LightningError } from '../../src/errors.js';
import { lndFailure } from '../../src/lightning/lnd-errors.js';

const HOST = '127.0.0.1:10009';
const grpcError = (code: number, details: string): Error & { code: number; details: string } =>
  Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details });

t.test('lnd\'s macaroon refusals become LN_ERR_AUTH naming the macaroon', async (t) => {
  for (const details of ['expected 1 macaroon, got 0', 'verification failed: signature mismatch after caveat verification',
    'permission denied', 'cannot get macaroon: root key with id 0 doesn\'t exist', 'macaroon has expired']) {
    const e = lndFailure(grpcError(status.UNKNOWN, details), HOST, 10_000);
    t.equal(e.code, 'LN_ERR_AUTH', details);
    t.equal(e.message, `lnd rejected the macaroon (${details})`);
    t.equal(e.grpcCode, status.UNKNOWN);
  }
});

t.test('a locked wallet or a starting lnd is unavailable, not an auth failure', async (t) => {
  const e = lndFailure(grpcError(status.UNKNOWN, 'wallet locked, unlock it to enable full RPC access'), HOST, 10_000);
  t.equal(e.code, 'LN_ERR_UNAVAILABLE');
  t.equal(e.message, `lnd at ${HOST} is not ready (wallet locked, unlock it to enable full RPC access)`);
});

t.test('connection failures say unreachable or name the TLS certificate, on one line', async (t) => {
  const refused = lndFailure(grpcError(status.UNAVAILABLE,
    'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:10009. Resolution note: '), HOST, 10_000);
  t.equal(refused.code, 'LN_ERR_UNAVAILABLE');
  t.equal(refused.message, `lnd unreachable at ${HOST} (14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:10009)`);
  const tls = lndFailure(grpcError(status.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate\n(...)'), HOST, 10_000);
  t.equal(tls.code, 'LN_ERR_AUTH');
  t.match(tls.message, /^lnd's TLS certificate at 127\.0\.0\.1:10009 is not the configured tlsCert \(14 UNAVAILABLE: .*self-signed certificate \(\.\.\.\)\)$/);
  t.notMatch(tls.message, /\n/);
});

t.test('deadlines, other statuses and non-gRPC errors keep their cause', async (t) => {
  const late = lndFailure(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), HOST, 2500);
  t.equal(late.message, `lnd at ${HOST} did not answer within 2500 ms (4 DEADLINE_EXCEEDED: Deadline exceeded)`);
  const other = lndFailure(grpcError(status.UNKNOWN, 'memo too large'), HOST, 10_000);
  t.equal(other.code, 'LN_ERR_PROTOCOL');
  t.equal(other.message, `lnd at ${HOST} refused the call (2 UNKNOWN: memo too large)`);
  const plain = new Error('boom');
  t.equal(lndFailure(plain, HOST, 10_000).cause, plain);
  const already = new LightningError('LN_ERR_PROTOCOL', 'x');
  t.equal(lndFailure(already, HOST, 10_000), already);
});
