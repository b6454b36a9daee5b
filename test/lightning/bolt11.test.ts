// BOLT #11 payment requests: signed with the spec's test key and fields, our regtest requests carry the
// spec vector's own tagged fields word for word, and decode (ours, and the npm bolt11 reader) to them.
// Spec: BOLT #11 "Examples" (privkey e126f68f..., "Please send $3 for a cup of coffee ... within one minute").
import t from 'tap';
import bolt11 from 'bolt11';
import { decodePaymentRequest, MAX_DESCRIPTION_BYTES, REGTEST_NETWORK, signPaymentRequest } from '../../src/lightning/bolt11.js';

const SPEC_KEY = Buffer.from('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734', 'hex');
const SPEC_NODE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
const SPEC_HASH = '0001020304050607080900010203040506070809000102030405060708090102';
const SPEC_SECRET = '11'.repeat(32);
const SPEC_TIME = 1496314658;
/** The spec's mainnet vector: 2500u, "1 cup coffee", expiry 60, features 8 and 14. */
const COFFEE = 'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';
/** Its tagged fields as the spec encodes them (5-bit words in bech32): s, p, d, x. */
const SPEC_FIELDS = {
  s: 'sp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs',
  p: 'pp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypq',
  d: 'dq5xysxxatsyp3k7enxv4js',
  x: 'xqzpu',
};
const regtest = { ...REGTEST_NETWORK, validWitnessVersions: [...REGTEST_NETWORK.validWitnessVersions] };

const coffee = (over: Partial<Parameters<typeof signPaymentRequest>[0]> = {}): string => signPaymentRequest({
  valueSat: 250_000n, timestamp: SPEC_TIME, paymentHash: Buffer.from(SPEC_HASH, 'hex'), paymentSecret: Buffer.from(SPEC_SECRET, 'hex'),
  description: '1 cup coffee', expirySeconds: 60, minFinalCltvExpiry: 18, ...over,
}, SPEC_KEY);

t.test('the npm bolt11 reader decodes the spec\'s coffee vector to the fields the spec states', async (t) => {
  const d = bolt11.decode(COFFEE);
  t.equal(d.millisatoshis, '250000000');
  t.equal(d.timestamp, SPEC_TIME);
  t.equal(d.payeeNodeKey, SPEC_NODE);
  t.equal(d.tagsObject.payment_hash, SPEC_HASH);
  t.equal(d.tagsObject.payment_secret, SPEC_SECRET);
  t.equal(d.tagsObject.description, '1 cup coffee');
  t.equal(d.tagsObject.expire_time, 60);
});

t.test('a request signed with the spec\'s fields carries the spec vector\'s amount, timestamp and tagged fields word for word', async (t) => {
  const pr = coffee();
  t.ok(pr.startsWith('lnbcrt2500u1pvjluez'), 'regtest HRP with 2500u, then the spec\'s timestamp words');
  for (const [tag, words] of Object.entries(SPEC_FIELDS)) {
    t.ok(pr.includes(words), `the ${tag} field as in the spec`);
    t.ok(COFFEE.includes(words), `(and the spec vector has it: ${tag})`);
  }
});

t.test('a signed request decodes to what was signed, the payee recovered from the signature as the spec\'s node', async (t) => {
  const pr = coffee();
  const ours = decodePaymentRequest(pr);
  t.same(ours, {
    payeeNodeKey: SPEC_NODE, valueMsat: 250_000_000n, timestamp: SPEC_TIME, paymentHash: SPEC_HASH,
    paymentSecret: SPEC_SECRET, description: '1 cup coffee', expirySeconds: 60,
  });
  const lib = bolt11.decode(pr, regtest);
  t.equal(lib.payeeNodeKey, SPEC_NODE, 'the npm reader recovers the same key');
  t.equal(lib.tagsObject.min_final_cltv_expiry, 18);
});

t.test('a request advertises what lnd does: var_onion_optin and payment_secret required, basic_mpp optional', async (t) => {
  const f = bolt11.decode(coffee(), regtest).tagsObject.feature_bits as Record<string, { required?: boolean; supported?: boolean }>;
  t.match(f['var_onion_optin'], { required: true });
  t.match(f['payment_secret'], { required: true });
  t.match(f['basic_mpp'], { required: false, supported: true });
});

t.test('signing is deterministic (RFC 6979): the same fields give the same request', async (t) => {
  t.equal(coffee(), coffee());
  t.not(coffee(), coffee({ description: '2 cups coffee' }));
});

t.test('an any-amount request has no amount in its prefix and decodes without one', async (t) => {
  const pr = coffee({ valueSat: 0n });
  t.ok(pr.startsWith('lnbcrt1pvjluez'));
  t.equal(decodePaymentRequest(pr).valueMsat, undefined);
  t.equal(coffee({ valueSat: 1n }).slice(0, 9), 'lnbcrt10n', '1 sat is 10n (BOLT 11: shortest form)');
});

t.test('a request without an expiry field expires after BOLT 11\'s default of 3600 seconds', async (t) => {
  const unsigned = bolt11.encode({
    network: regtest, millisatoshis: '1000', timestamp: SPEC_TIME,
    tags: [{ tagName: 'payment_hash', data: SPEC_HASH }, { tagName: 'description', data: 'x' }],
  }, false);
  const pr = bolt11.sign(unsigned, SPEC_KEY).paymentRequest!;
  t.equal(bolt11.decode(pr, regtest).tagsObject.expire_time, undefined, 'no x field was written');
  t.equal(decodePaymentRequest(pr).expirySeconds, 3600);
  t.equal(decodePaymentRequest(pr).paymentSecret, undefined);
});

t.test('another network\'s request, like the spec\'s mainnet vector, is refused', async (t) => {
  t.throws(() => decodePaymentRequest(COFFEE));
});

t.test('a request with one character changed is refused (bech32 checksum)', async (t) => {
  const pr = coffee();
  const i = pr.length - 20;
  const bad = pr.slice(0, i) + (pr[i] === 'q' ? 'p' : 'q') + pr.slice(i + 1);
  t.throws(() => decodePaymentRequest(bad));
  t.throws(() => decodePaymentRequest('lnbcrt1notarequest'));
  t.throws(() => decodePaymentRequest(''));
});

t.test('a description up to 639 bytes fits the d field; one more byte is refused', async (t) => {
  t.equal(MAX_DESCRIPTION_BYTES, 639);
  const longest = 'é'.repeat(319) + 'a';
  t.equal(Buffer.byteLength(longest), 639);
  t.equal(decodePaymentRequest(coffee({ description: longest })).description, longest);
  t.throws(() => coffee({ description: longest + 'a' }));
});
