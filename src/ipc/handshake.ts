// The connection handshake: `user:password`, a capability byte and a NUL from the client; one byte back.
// Spec: code.kx.com/q/basics/ipc (handshake).
import { TextDecoder } from 'node:util';
import { IpcDecodeError } from '../errors.js';

export interface Handshake {
  readonly user: string;
  readonly password: string;
  /** The client's highest capability; 0 for old clients that send none. */
  readonly capability: number;
  /** Bytes used, NUL included: a client may pipeline its first message right after. */
  readonly consumed: number;
}

/** Highest capability byte defined; a larger byte before the NUL is part of the credentials. */
const MAX_CAPABILITY = 6;
/** What we agree to at most: see replyCapability. */
const SERVER_CAPABILITY = 3;

// ignoreBOM keeps a leading U+FEFF as part of the name instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses the client's handshake from the bytes received so far. Returns undefined until the NUL has
 * arrived; throws IPC_ERR_HANDSHAKE when maxBytes bytes hold no NUL.
 */
export function parseHandshake(buf: Buffer, maxBytes: number): Handshake | undefined {
  const nul = buf.subarray(0, maxBytes).indexOf(0);
  if (nul < 0) {
    if (buf.length < maxBytes) return undefined;
    throw new IpcDecodeError('IPC_ERR_HANDSHAKE', `no NUL in the first ${maxBytes} handshake bytes`);
  }
  const last = nul > 0 ? (buf[nul - 1] as number) : 0;
  // the byte before the NUL is the capability, unless it cannot be one (an old client that
  // sends `credentials NUL` only). A capability of 0 never appears there: it would be the NUL itself.
  const hasCapability = last >= 1 && last <= MAX_CAPABILITY;
  const credentials = buf.subarray(0, hasCapability ? nul - 1 : nul);
  const colon = credentials.indexOf(0x3a); // ':' — user names cannot hold one; passwords may
  const user = colon < 0 ? credentials : credentials.subarray(0, colon);
  const password = colon < 0 ? credentials.subarray(0, 0) : credentials.subarray(colon + 1);
  return {
    user: credentialText(user),
    password: credentialText(password),
    capability: hasCapability ? last : 0,
    consumed: nul + 1,
  };
}

/**
 * The capability byte we answer: the common level, capped at 3. Level 3 still allows timestamps,
 * timespans and GUIDs, and keeps every message at ≤ 2 GB with 4-byte lengths — the only framing node-q,
 * javakdb, c.js and c.cs understand. 5 and 6 would switch to the large-message variant.
 */
export function replyCapability(client: number): number {
  return Math.min(client, SERVER_CAPABILITY);
}

/**
 * Credentials are bytes on the wire. Decode them as UTF-8 when valid, else as latin-1: latin-1 is
 * lossless, so distinct invalid byte strings never collapse into the same replacement characters (which
 * would make different passwords compare equal).
 */
function credentialText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
