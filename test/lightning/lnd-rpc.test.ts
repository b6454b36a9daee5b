// The gRPC channel to lnd (src/lightning/lnd-rpc.ts) against the fake lnd over TLS: addressed by IP it
// sends no IP as the TLS server name (Node's DEP0123) yet still checks the certificate against that IP.
import t from 'tap';
import { LndRpc } from '../../src/lightning/lnd-rpc.js';
import { FAKE_LND_CERT, OTHER_CERT } from '../helpers/fake-lnd.js';
import { fakeFor } from './lnd-harness.js';

t.test('an lnd addressed by IP is reached without the DEP0123 warning, and a wrong certificate is still refused', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(`${w.code ?? w.name}: ${w.message}`); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  const fake = await fakeFor(t);
  t.match(fake.host, /^127\.0\.0\.1:\d+$/, 'the fake listens on an IP');
  for (const host of [fake.host, `localhost:${fake.port}`]) {
    const rpc = new LndRpc({ host, tlsCert: FAKE_LND_CERT, macaroon: fake.macaroon, timeoutMs: 5000 });
    const reply = await rpc.unary('AddInvoice', { value: '21', memo: 'ip' }) as { payment_request?: string };
    t.match(reply.payment_request, /^ln/, `AddInvoice answered over TLS at ${host}`);
    rpc.close();
  }
  const wrong = new LndRpc({ host: fake.host, tlsCert: OTHER_CERT, macaroon: fake.macaroon, timeoutMs: 3000 });
  await t.rejects(wrong.unary('AddInvoice', { value: '21', memo: 'ip' }), 'a certificate other than the pinned one is refused');
  wrong.close();
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  t.same(warnings.filter((w) => /DEP0123|TLS ServerName/.test(w)), [], 'no DEP0123 (an IP as the TLS server name)');
});
