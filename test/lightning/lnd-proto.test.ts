// lnd's service definition from proto/lightning.proto (src/lightning/lnd-proto.ts): the five methods the
// client calls, with lnd's paths and stream shapes. Spec: lnd lnrpc/lightning.proto (service Lightning).
import t from 'tap';
import { lightningService, lndMethod } from '../../src/lightning/lnd-proto.js';
import type { LndMethodName } from '../../src/lightning/lnd-proto.js';

t.test('each method the client uses has lnd\'s gRPC path; only SubscribeInvoices streams replies', async (t) => {
  const names: LndMethodName[] = ['AddInvoice', 'SubscribeInvoices', 'LookupInvoice', 'ListInvoices', 'GetInfo'];
  for (const name of names) {
    const m = lndMethod(name);
    t.equal(m.path, `/lnrpc.Lightning/${name}`);
    t.equal(m.requestStream, false, `${name} takes one request`);
    t.equal(m.responseStream, name === 'SubscribeInvoices', `${name} reply stream`);
  }
});

t.test('messages keep lnd\'s field names, bytes as Buffers and 64-bit numbers as strings', async (t) => {
  const add = lndMethod('AddInvoice');
  const req = add.requestDeserialize(add.requestSerialize({ memo: 'x', value: '21', r_preimage: Buffer.alloc(32, 1) })) as Record<string, unknown>;
  t.equal(req['memo'], 'x');
  t.equal(req['value'], '21');
  t.ok(Buffer.isBuffer(req['r_preimage']));
  t.same(req['r_preimage'], Buffer.alloc(32, 1));
});

t.test('the service is loaded once and shared', async (t) => {
  t.equal(lightningService(), lightningService());
});

t.test('a method the proto does not carry is refused by name', async (t) => {
  t.throws(() => lndMethod('SendPayment' as LndMethodName), { message: 'proto/lightning.proto lacks lnrpc.Lightning/SendPayment' });
});
