// The dev node's identity key (src/lightning/dev-key.ts): created once as 64 hex characters in a 0600
// file, read back to the same compressed secp256k1 pubkey, and a damaged file refused, never replaced.
import { createECDH } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadOrCreateNodeKey } from '../../src/lightning/dev-key.js';

t.test('a missing key file is created 0600 with the key as hex and a newline', async (t) => {
  const path = join(t.testdir(), 'dev-node.key');
  const k = loadOrCreateNodeKey(path);
  t.equal(k.created, true);
  t.equal(readFileSync(path, 'utf8'), k.privateKey.toString('hex') + '\n');
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.match(k.pubkey, /^0[23][0-9a-f]{64}$/, '33-byte compressed pubkey');
});

t.test('the pubkey is the secp256k1 public key of the private key', async (t) => {
  const k = loadOrCreateNodeKey(join(t.testdir(), 'k'));
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(k.privateKey);
  t.equal(k.pubkey, ecdh.getPublicKey('hex', 'compressed'));
});

t.test('an existing key is read back, not replaced: the same identity across restarts', async (t) => {
  const path = join(t.testdir(), 'k');
  const first = loadOrCreateNodeKey(path);
  const again = loadOrCreateNodeKey(path);
  t.equal(again.created, false);
  t.equal(again.pubkey, first.pubkey);
  t.same(again.privateKey, first.privateKey);
});

t.test('a key written by hand in upper case with surrounding space is accepted', async (t) => {
  const path = join(t.testdir(), 'k');
  const hex = '11'.repeat(32);
  writeFileSync(path, `  ${hex.toUpperCase()}\r\n`);
  t.equal(loadOrCreateNodeKey(path).privateKey.toString('hex'), hex);
});

t.test('a file that is not 64 hex characters is a corrupt key, and stays as it was', async (t) => {
  const path = join(t.testdir(), 'k');
  for (const text of ['', 'abc', 'zz'.repeat(32), '11'.repeat(33)]) {
    writeFileSync(path, text);
    t.throws(() => loadOrCreateNodeKey(path), { code: 'JOURNAL_ERR_CORRUPT', message: /is not 64 hex characters/ }, JSON.stringify(text));
    t.equal(readFileSync(path, 'utf8'), text);
  }
});

t.test('64 hex characters that are no valid secp256k1 key (zero, or at least the group order) are refused', async (t) => {
  const path = join(t.testdir(), 'k');
  for (const hex of ['00'.repeat(32), 'ff'.repeat(32)]) {
    writeFileSync(path, hex);
    t.throws(() => loadOrCreateNodeKey(path), { code: 'JOURNAL_ERR_CORRUPT', message: /not a valid secp256k1 key/ });
  }
});

t.test('a key file that cannot be read, or a directory where it cannot be created, is an I/O error', async (t) => {
  const dir = t.testdir();
  t.throws(() => loadOrCreateNodeKey(dir), { code: 'JOURNAL_ERR_IO', message: /cannot read node key/ }, 'a directory');
  t.throws(() => loadOrCreateNodeKey(join(dir, 'no', 'such', 'k')), { code: 'JOURNAL_ERR_IO', message: /cannot create node key/ });
});
