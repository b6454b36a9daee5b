// The L402 root key (src/l402/root-key.ts): 32 random bytes made once in the data directory, owner-only,
// the same key on every later load, and a damaged key file refused.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadRootKey, ROOT_KEY_FILE } from '../../src/l402/root-key.js';

t.test('the first load creates the data directory and a 32-byte key readable by the owner only', async (t) => {
  const dir = join(t.testdir(), 'data', 'nested');
  const key = loadRootKey(dir);
  t.equal(key.length, 32);
  const path = join(dir, ROOT_KEY_FILE);
  t.same(readFileSync(path), key);
  t.equal(statSync(path).mode & 0o777, 0o600);
});

t.test('later loads return the same key; two data directories get different keys', async (t) => {
  const a = t.testdir();
  const key = loadRootKey(a);
  t.same(loadRootKey(a), key);
  t.notSame(loadRootKey(join(a, 'other')), key);
});

t.test('a key file others can read is tightened to 0600 and still used', async (t) => {
  const dir = t.testdir();
  const key = loadRootKey(dir);
  const path = join(dir, ROOT_KEY_FILE);
  chmodSync(path, 0o644);
  t.same(loadRootKey(dir), key);
  t.equal(statSync(path).mode & 0o777, 0o600);
});

t.test('a key file that is not 32 bytes is refused, not replaced', async (t) => {
  const dir = t.testdir();
  const path = join(dir, ROOT_KEY_FILE);
  writeFileSync(path, Buffer.alloc(31), { mode: 0o600 });
  t.throws(() => loadRootKey(dir), { message: `${ROOT_KEY_FILE} is not a 32-byte key` });
  t.equal(readFileSync(path).length, 31);
});
