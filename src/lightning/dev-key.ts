// The development node's identity: a secp256k1 private key kept as hex in a 0600 file, created once and
// reused so the payee pubkey in its BOLT11 requests stays the same across restarts.
import { createECDH, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import { TpError } from '../errors.js';

export interface NodeKey {
  readonly privateKey: Buffer;
  /** 33-byte compressed public key, hex (lnd's identity_pubkey). */
  readonly pubkey: string;
  /** True when this call created the file. */
  readonly created: boolean;
}

/** Compressed pubkey of a private key; throws when the key is not a valid secp256k1 scalar. */
function publicKeyOf(privateKey: Buffer): string {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(privateKey);
  return ecdh.getPublicKey('hex', 'compressed');
}

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}

function isTaken(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'EEXIST';
}

/** Reads the key at `path`, or creates it (mode 0600, exclusive create) when the file does not exist. */
export function loadOrCreateNodeKey(path: string): NodeKey {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!isMissing(err)) throw new TpError('JOURNAL_ERR_IO', `cannot read node key ${path}`, { cause: err });
  }
  if (text === undefined) {
    for (;;) {
      const privateKey = randomBytes(32);
      let pubkey: string;
      try {
        pubkey = publicKeyOf(privateKey); // rejects 0 and values >= n (probability ~2^-128)
      } catch {
        continue;
      }
      try {
        writeFileSync(path, privateKey.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if (isTaken(err)) return loadOrCreateNodeKey(path); // another process created it first
        throw new TpError('JOURNAL_ERR_IO', `cannot create node key ${path}`, { cause: err });
      }
      return { privateKey, pubkey, created: true };
    }
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TpError('JOURNAL_ERR_CORRUPT', `node key ${path} is not 64 hex characters`);
  }
  const privateKey = Buffer.from(hex, 'hex');
  try {
    return { privateKey, pubkey: publicKeyOf(privateKey), created: false };
  } catch (err) {
    throw new TpError('JOURNAL_ERR_CORRUPT', `node key ${path} is not a valid secp256k1 key`, { cause: err });
  }
}
