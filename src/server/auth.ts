// Checks handshake credentials: allow everyone, or a q-style password file as read by `q -u`/`-U`.
// Spec: code.kx.com/q/basics/cmdline/#-u-usr-pwd (KxSystems/docs docs/basics/cmdline.md).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface Authenticator {
  check(user: string, password: string): boolean;
}

/** q's default `.z.pw`: every user is accepted. */
export const allowAll: Authenticator = { check: () => true };

type Algorithm = 'sha256' | 'md5' | 'sha1';

/** One user's stored secret as a digest, so that every comparison is between equal-length buffers. */
interface Entry {
  /** How the client's password is digested before comparing: sha256 for plain-text entries. */
  readonly algorithm: Algorithm;
  readonly digest: Buffer;
}

// cmdline.md, `-U file`: "one credential on each line", `user:password`, where the password is plain
// text, an MD5 hash (32 hex digits, q's `raze string md5 pwd`) or, since V4.0 2020.03.17, a SHA-1 hash
// (40 hex digits, `-33!`). An entry that looks like a hash is only ever treated as one, so knowing the
// hash in the file is not enough to log in; a plain-text password of exactly 32 or 40 hex digits
// therefore cannot be used (store its hash instead).
const MD5_HEX = /^[0-9a-fA-F]{32}$/;
const SHA1_HEX = /^[0-9a-fA-F]{40}$/;

function entryFor(secret: string): Entry {
  if (MD5_HEX.test(secret)) return { algorithm: 'md5', digest: Buffer.from(secret, 'hex') };
  if (SHA1_HEX.test(secret)) return { algorithm: 'sha1', digest: Buffer.from(secret, 'hex') };
  return { algorithm: 'sha256', digest: digest('sha256', secret) };
}

function digest(algorithm: Algorithm, text: string): Buffer {
  return createHash(algorithm).update(text, 'utf8').digest();
}

/** Compared against when the user is unknown, so a miss costs the same as a wrong password. */
const NO_USER: Entry = { algorithm: 'sha256', digest: Buffer.alloc(32) };

/** A password file parsed into users. Blank lines and lines without a colon are ignored. */
export class UsersFile implements Authenticator {
  private readonly users = new Map<string, Entry>();

  constructor(text: string) {
    for (const line of text.replace(/^\uFEFF/, '').split('\n')) {
      const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
      const colon = clean.indexOf(':');
      if (colon < 0) continue;
      const user = clean.slice(0, colon);
      // First line wins: a later duplicate cannot silently replace a user's password.
      if (!this.users.has(user)) this.users.set(user, entryFor(clean.slice(colon + 1)));
    }
  }

  get size(): number {
    return this.users.size;
  }

  check(user: string, password: string): boolean {
    const entry = this.users.get(user);
    const expected = entry ?? NO_USER;
    const equal = timingSafeEqual(digest(expected.algorithm, password), expected.digest);
    return entry !== undefined && equal;
  }
}

/** Reads a q password file (UTF-8). Throws the fs error when it cannot be read. */
export function loadUsersFile(path: string): UsersFile {
  return new UsersFile(readFileSync(path, 'utf8'));
}
