// The L402 root key: 32 random bytes in the data directory, readable by the owner only (0600). Created
// once with O_EXCL, so two processes starting together cannot end up with different keys.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT_KEY_FILE = 'l402-root.key';

/** Reads the root key, creating it (0600) when absent; a key file others can read is tightened to 0600. */
export function loadRootKey(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, ROOT_KEY_FILE);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const key = readFileSync(path);
  if (key.length !== 32) throw new Error(`${ROOT_KEY_FILE} is not a 32-byte key`);
  return key;
}
