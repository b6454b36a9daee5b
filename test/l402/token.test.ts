// The L402 header exchange and token checks (src/l402/token.ts). Interoperability of the token format
// with an independent implementation is macaroon.test.ts's.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { challenge, check, issue, parseAuthorization, presentedToken } from '../../src/l402/token.js';
import { encode, identifierOf, mint } from '../../src/l402/macaroon.js';


const rootKey = randomBytes(32);
const preimage = randomBytes(32);
const paymentHash = createHash('sha256').update(preimage).digest();
const NOW = 1_796_160_000;
const auth = (mac: Buffer, pre: Buffer = preimage): string => `L402 ${mac.toString('base64')}:${pre.toString('hex')}`;

t.test('a token for trade AAPL,GOOGL streams those syms (or fewer) until its expiry, nothing else', async (t) => {
  const mac = issue(rootKey, paymentHash, randomBytes(32), { table: 'trade', syms: ['AAPL', 'GOOGL'], expires: NOW + 3600 });
  const [l402, lsat] = challenge(mac, 'lnbcrt2u1xyz');
  t.match(l402, /^L402 macaroon="[A-Za-z0-9+/]+={0,2}", invoice="lnbcrt2u1xyz"$/);
  t.equal(lsat, l402?.replace(/^L402/, 'LSAT'), 'and the same under the older name');
  const p = parseAuthorization(auth(mac));
  if (!p) { t.fail('parsed'); return; }
  t.match(check(rootKey, p, 'trade', ['AAPL', 'GOOGL'], NOW), { ok: true, paymentHash: paymentHash.toString('hex'), grant: { table: 'trade', syms: ['AAPL', 'GOOGL'] } });
  t.match(check(rootKey, p, 'trade', ['GOOGL'], NOW), { ok: true }, 'a subset');
  t.match(check(rootKey, p, 'trade', ['AAPL', 'MSFT'], NOW), { ok: false, reason: 'syms not covered' });
  t.match(check(rootKey, p, 'trade', null, NOW), { ok: false, reason: 'syms not covered' }, 'not every sym');
  t.match(check(rootKey, p, 'quote', ['AAPL'], NOW), { ok: false, reason: 'table not covered' });
  t.match(check(rootKey, p, 'trade', ['AAPL'], NOW + 3600), { ok: false, reason: 'expired' });
  t.match(check(randomBytes(32), p, 'trade', ['AAPL'], NOW), { ok: false, reason: 'bad signature' });
  const wrong = parseAuthorization(auth(mac, randomBytes(32)));
  if (wrong) t.match(check(rootKey, wrong, 'trade', ['AAPL'], NOW), { ok: false, reason: 'preimage does not match' });
  t.ok(parseAuthorization(auth(mac).replace(/^L402/, 'LSAT')), 'the older LSAT scheme name');
  t.equal(parseAuthorization(`Bearer ${mac.toString('base64')}`), undefined);
  t.equal(parseAuthorization(`L402 ${mac.toString('base64')}:abcd`), undefined, 'a preimage is 32 bytes of hex');
  t.equal(parseAuthorization(`L402 ${'A'.repeat(9000)}:${preimage.toString('hex')}`), undefined, 'too long');
});

t.test('a buyer may narrow a token with its own caveat, never widen it; unknown caveats fail closed', async (t) => {
  // Built with our mint: the npm package's binary exporter doubles its buffer on every field (its
  // ByteBuffer never records its capacity), so it cannot write a macaroon of more than three caveats.
  // Its signatures agree with ours (macaroon.test.ts), and narrowing is the same HMAC step.
  const build = (caveats: string[]): Buffer =>
    encode(mint(rootKey, '', identifierOf({ version: 0, paymentHash, tokenId: randomBytes(32) }), caveats));
  const base = ['table=trade', 'syms=AAPL,GOOGL', `expires=${NOW + 3600}`];
  const narrowed = parseAuthorization(auth(build([...base, 'syms=AAPL'])));
  if (!narrowed) { t.fail('parsed'); return; }
  t.match(check(rootKey, narrowed, 'trade', ['AAPL'], NOW), { ok: true, grant: { syms: ['AAPL'] } });
  t.match(check(rootKey, narrowed, 'trade', ['GOOGL'], NOW), { ok: false }, 'the narrowing caveat holds');
  const widened = parseAuthorization(auth(build([...base, 'syms=AAPL,GOOGL,MSFT'])));
  if (widened) t.match(check(rootKey, widened, 'trade', ['MSFT'], NOW), { ok: false }, 'adding a wider caveat widens nothing');
  const unknown = parseAuthorization(auth(build([...base, 'ip=1.2.3.4'])));
  if (unknown) t.match(check(rootKey, unknown, 'trade', ['AAPL'], NOW), { ok: false, reason: 'unknown caveat' });
  const missing = parseAuthorization(auth(build(['table=trade', `expires=${NOW + 3600}`])));
  if (missing) t.match(check(rootKey, missing, 'trade', ['AAPL'], NOW), { ok: false, reason: 'missing caveat' });
});

t.test("what aperture's clients send is read: the proof of payment as a preimage= caveat, any scheme case, several macaroons, folded lines", async (t) => {
  const id = identifierOf({ version: 0, paymentHash, tokenId: randomBytes(32) });
  const base = ['table=trade', 'syms=AAPL', `expires=${NOW + 3600}`];
  // aperture's Token.PaidMacaroon: the macaroon as issued, with the caveat preimage=<hex> added by the client.
  const paid = encode(mint(rootKey, 'tickerplant', id, [...base, `preimage=${preimage.toString('hex')}`]));
  const p = parseAuthorization(auth(paid));
  if (!p) { t.fail('parsed'); return; }
  t.match(check(rootKey, p, 'trade', ['AAPL'], NOW), { ok: true }, 'lnget, loop and pool send this');
  const upper = encode(mint(rootKey, 'tickerplant', id, [...base, `preimage=${preimage.toString('hex').toUpperCase()}`]));
  const pu = parseAuthorization(auth(upper));
  if (pu) t.match(check(rootKey, pu, 'trade', ['AAPL'], NOW), { ok: true }, 'in either case of hex');
  const other = encode(mint(rootKey, 'tickerplant', id, [...base, `preimage=${randomBytes(32).toString('hex')}`]));
  const po = parseAuthorization(auth(other));
  if (po) t.match(check(rootKey, po, 'trade', ['AAPL'], NOW), { ok: false, reason: 'preimage caveat does not match' });
  const plain = encode(mint(rootKey, 'tickerplant', id, base));
  const b64 = plain.toString('base64');
  const hex = preimage.toString('hex');
  for (const header of [`l402 ${b64}:${hex}`, `lsat ${b64}:${hex}`, `LSAT ${b64}:${hex}, L402 ${b64}:${hex}`, `Bearer x, L402 ${b64}:${hex}`]) {
    const q = parseAuthorization(header);
    t.ok(q && check(rootKey, q, 'trade', ['AAPL'], NOW).ok, header.slice(0, 12));
  }
  const foreign = encode(mint(randomBytes(32), 'elsewhere', id, base)).toString('base64');
  const several = parseAuthorization(`L402 ${foreign},${b64}:${hex}`);
  t.equal(several?.macaroons.length, 2);
  if (several) t.match(check(rootKey, several, 'trade', ['AAPL'], NOW), { ok: true }, 'comma-separated: the one that is ours is used');
});

t.test("aperture's other header forms: a hex macaroon alone under Grpc-Metadata-Macaroon or Macaroon, its preimage in a caveat", async (t) => {
  const id = identifierOf({ version: 0, paymentHash, tokenId: randomBytes(32) });
  const base = ['table=trade', 'syms=AAPL', `expires=${NOW + 3600}`];
  const paid = encode(mint(rootKey, 'tickerplant', id, [...base, `preimage=${preimage.toString('hex')}`])).toString('hex');
  for (const name of ['grpc-metadata-macaroon', 'macaroon'] as const) {
    const p = presentedToken({ [name]: paid });
    t.ok(p !== 'none' && p !== undefined && check(rootKey, p, 'trade', ['AAPL'], NOW).ok, `${name}: the token buys what it says`);
  }
  const twice = presentedToken({ macaroon: [paid, 'ff'] });
  t.ok(twice !== 'none' && twice !== undefined && check(rootKey, twice, 'trade', ['AAPL'], NOW).ok, 'a repeated header: the first is read');
  const bare = encode(mint(rootKey, 'tickerplant', id, base)).toString('hex');
  t.equal(presentedToken({ macaroon: bare }), undefined, 'without a preimage= caveat it proves no payment');
  t.equal(presentedToken({ macaroon: 'zz' + paid }), undefined, 'not hex');
  t.equal(presentedToken({ macaroon: 'ab'.repeat(5000) }), undefined, 'too long');
  const forged = encode(mint(randomBytes(32), 'tickerplant', id, [...base, `preimage=${preimage.toString('hex')}`])).toString('hex');
  const f = presentedToken({ 'grpc-metadata-macaroon': forged });
  t.match(f !== 'none' && f !== undefined ? check(rootKey, f, 'trade', ['AAPL'], NOW) : undefined, { ok: false, reason: 'bad signature' }, 'read, then refused as any forged token');
  const b64 = encode(mint(rootKey, 'tickerplant', id, base)).toString('base64');
  const both = presentedToken({ authorization: `L402 ${b64}:${randomBytes(32).toString('hex')}`, macaroon: paid });
  t.match(both !== 'none' && both !== undefined ? check(rootKey, both, 'trade', ['AAPL'], NOW) : undefined, { ok: false, reason: 'preimage does not match' },
    'an L402 Authorization header is read first, as aperture does');
  t.equal(presentedToken({ authorization: 'Basic dTpw' }), 'none', 'another scheme presents nothing');
  const behindBlank = presentedToken({ 'grpc-metadata-macaroon': ' ', macaroon: paid });
  t.ok(behindBlank !== 'none' && behindBlank !== undefined && check(rootKey, behindBlank, 'trade', ['AAPL'], NOW).ok,
    'a blank Grpc-Metadata-Macaroon is passed over for the Macaroon header, as aperture does');
  t.equal(presentedToken({}), 'none');
});
