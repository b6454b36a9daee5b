// Narrowing lnd's replies (src/lightning/lnd-messages.ts): proto-loader's shapes become typed values, and
// anything malformed is a LN_ERR_PROTOCOL naming the field (lightning.md §1.2, §1.7).
import t from 'tap';
import { readAddInvoiceResponse, readInvoice, readListInvoiceResponse } from '../../src/lightning/lnd-messages.js';

const hash = Buffer.alloc(32, 7);
const wire = {
  memo: 'm', r_hash: hash, value: '200', settled: true, creation_date: '1700000000', settle_date: '1700000100',
  payment_request: 'lnbcrt2u1...', expiry: '3600', add_index: '27', settle_index: '11', amt_paid: '200000',
  amt_paid_sat: '200', amt_paid_msat: '200000', state: 'SETTLED', features: {},
};

t.test('an lnrpc.Invoice as grpc-js delivers it becomes an Invoice', async (t) => {
  t.same(readInvoice(wire), {
    rHash: hash, paymentRequest: 'lnbcrt2u1...', addIndex: 27n, settleIndex: 11n, state: 'SETTLED', valueSat: 200n,
    amountPaidSat: 200n, memo: 'm', creationDate: 1_700_000_000, expirySeconds: 3600, settleDate: 1_700_000_100,
  });
});

t.test('malformed replies are protocol errors naming the field', async (t) => {
  t.throws(() => readInvoice({ ...wire, r_hash: Buffer.alloc(31) }), { code: 'LN_ERR_PROTOCOL', message: 'lnd sent a malformed Invoice (field r_hash)' });
  t.throws(() => readInvoice({ ...wire, state: 'PAID' }), { code: 'LN_ERR_PROTOCOL', message: /field state/ });
  t.throws(() => readInvoice({ ...wire, add_index: 'x' }), { message: /field add_index/ });
  t.throws(() => readInvoice(null), { message: /malformed Invoice/ });
  t.throws(() => readAddInvoiceResponse({ r_hash: hash, payment_request: '' }), { message: /field payment_request/ });
  t.throws(() => readListInvoiceResponse({ invoices: 'no' }), { message: /field invoices/ });
});

t.test('AddInvoiceResponse and ListInvoiceResponse keep the indices', async (t) => {
  t.same(readAddInvoiceResponse({ r_hash: hash, payment_request: 'lnbcrt1', add_index: '3', payment_addr: Buffer.alloc(32) }),
    { rHash: hash, paymentRequest: 'lnbcrt1', addIndex: 3n });
  const page = readListInvoiceResponse({ invoices: [wire], last_index_offset: '27', first_index_offset: '27' });
  t.equal(page.lastIndexOffset, 27n);
  t.equal(page.invoices[0]?.addIndex, 27n);
});
