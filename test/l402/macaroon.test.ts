// L402 macaroons (src/l402/macaroon.ts) against an independent implementation, the npm `macaroon`
// package (compatible with go-macaroon, which aperture uses): each side reads and verifies the other's.
import t from 'tap';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  decode, encode, identifierOf, MacaroonError, MAX_CAVEATS, mint, parseIdentifier, verifySignature,
} from '../../src/l402/macaroon.js';
import { loadRootKey, ROOT_KEY_FILE } from '../../src/l402/root-key.js';

const require = createRequire(import.meta.url);
interface Js {
  readonly identifier: Uint8Array;
  readonly location: string;
  readonly caveats: Array<{ identifier: Uint8Array; location?: string }>;
  readonly signature: Uint8Array;
  addFirstPartyCaveat(c: string): void;
  exportBinary(): Uint8Array;
  verify(rootKey: Uint8Array, check: (condition: string) => string | null): void;
}
const js = require('macaroon') as {
  newMacaroon(o: { identifier: Uint8Array; location?: string; rootKey: Uint8Array; version: number }): Js;
  importMacaroon(b: Uint8Array): Js;
};

const rootKey = randomBytes(32);
const paymentHash = randomBytes(32);
const tokenId = randomBytes(32);
const CAVEATS = ['table=trade', 'syms=AAPL,GOOGL', 'expires=1796169600'];

t.test('a minted token is read and verified by the npm macaroon package, identifier as aperture lays it out', async (t) => {
  const id = identifierOf({ version: 0, paymentHash, tokenId });
  t.equal(id.length, 66, 'version u16 + payment hash 32 + token id 32');
  const bytes = encode(mint(rootKey, 'tickerplant', id, CAVEATS));
  const m = js.importMacaroon(new Uint8Array(bytes));
  t.same(Buffer.from(m.identifier), id);
  t.equal(m.location, 'tickerplant');
  t.same(m.caveats.map((c) => Buffer.from(c.identifier).toString('utf8')), CAVEATS);
  const seen: string[] = [];
  t.doesNotThrow(() => m.verify(new Uint8Array(rootKey), (c) => { seen.push(c); return null; }), 'its signature verifies with the root key');
  t.same(seen, CAVEATS, 'each caveat offered to the checker');
  t.throws(() => m.verify(new Uint8Array(randomBytes(32)), () => null), 'another root key does not verify it');
  const parsed = parseIdentifier(Buffer.from(m.identifier));
  t.same([parsed.version, parsed.paymentHash, parsed.tokenId], [0, paymentHash, tokenId]);
});

t.test("the npm package's binary V2 macaroons decode here and verify with the same root key", async (t) => {
  const id = identifierOf({ version: 0, paymentHash, tokenId });
  // No location: the package's exporter doubles its buffer per field (a bug), so keep its macaroon small.
  const m = js.newMacaroon({ identifier: new Uint8Array(id), rootKey: new Uint8Array(rootKey), version: 2 });
  for (const c of CAVEATS) m.addFirstPartyCaveat(c);
  const ours = decode(Buffer.from(m.exportBinary()));
  t.same(ours.caveats, CAVEATS);
  t.same(ours.identifier, id);
  t.same(ours.signature, Buffer.from(m.signature), 'the same signature chain');
  t.ok(verifySignature(rootKey, ours));
  t.notOk(verifySignature(randomBytes(32), ours), 'not with another key');
  t.notOk(verifySignature(rootKey, { ...ours, caveats: ['table=trade', 'syms=AAPL,GOOGL,MSFT', CAVEATS[2] as string] }),
    'a widened caveat breaks the signature');
  t.notOk(verifySignature(rootKey, { ...ours, caveats: ours.caveats.slice(0, 2) }), 'a dropped caveat breaks it');
});

t.test('bad tokens are refused before any work: size, caveat count, third-party caveats, trailing bytes, truncation', async (t) => {
  const id = identifierOf({ version: 0, paymentHash, tokenId });
  const good = encode(mint(rootKey, '', id, CAVEATS));
  t.throws(() => decode(Buffer.concat([good, Buffer.from([0])])), MacaroonError, 'trailing bytes');
  t.throws(() => decode(good.subarray(0, good.length - 5)), MacaroonError, 'truncated');
  t.throws(() => decode(Buffer.alloc(5000, 2)), MacaroonError, 'too large');
  t.throws(() => decode(encode(mint(rootKey, '', id, Array.from({ length: MAX_CAVEATS + 1 }, (_, i) => `c${i}=1`)))), MacaroonError, 'too many caveats');
  t.throws(() => decode(Buffer.from('0201', 'hex')), MacaroonError);
  t.throws(() => parseIdentifier(Buffer.alloc(10)), MacaroonError, 'an identifier that is not an L402 token id');
});

t.test('the root key is created once, 32 bytes, readable by its owner only', async (t) => {
  const dir = t.testdir();
  const a = loadRootKey(dir);
  t.equal(a.length, 32);
  t.equal(statSync(join(dir, ROOT_KEY_FILE)).mode & 0o777, 0o600);
  t.same(loadRootKey(dir), a, 'the same key on the next start');
  chmodSync(join(dir, ROOT_KEY_FILE), 0o644);
  loadRootKey(dir);
  t.equal(statSync(join(dir, ROOT_KEY_FILE)).mode & 0o777, 0o600, 'a key others could read is tightened');
  writeFileSync(join(dir, ROOT_KEY_FILE), 'short');
  t.throws(() => loadRootKey(dir), 'a damaged key file is an error, not silently replaced');
});
