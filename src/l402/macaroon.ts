// L402 tokens: macaroons in the standard binary V2 format (libmacaroons' and go-macaroon's
// "binary v2": version byte 2, then type-length-value fields, EOS-terminated sections), signed with
// HMAC-SHA256 chained over the identifier and each first-party caveat, from a key derived from the root
// key as HMAC-SHA256("macaroons-key-generator", rootKey). The identifier is aperture's: version (u16,
// big-endian, 0) ‖ payment hash (32 bytes) ‖ token id (32 bytes). Caveats are `name=value` strings.
import { createHmac, timingSafeEqual } from 'node:crypto';

const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VID = 4;
const FIELD_SIGNATURE = 6;

/** Bounds checked before any work: a token larger or with more caveats than ours ever are is refused. */
export const MAX_MACAROON_BYTES = 4096;
export const MAX_CAVEATS = 16;
const IDENTIFIER_BYTES = 2 + 32 + 32;

export interface Macaroon {
  readonly location: string;
  readonly identifier: Buffer;
  /** First-party caveat identifiers, as UTF-8 text. */
  readonly caveats: readonly string[];
  readonly signature: Buffer;
}

export interface TokenId {
  readonly version: number;
  /** The invoice's payment hash: sha256(preimage) must equal it. */
  readonly paymentHash: Buffer;
  readonly tokenId: Buffer;
}

export class MacaroonError extends Error {
  override readonly name = 'MacaroonError';
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const KEY_GENERATOR = Buffer.from('macaroons-key-generator', 'utf8');

/** The signature chain: HMAC(derived key, identifier), then HMAC(previous, caveat) for each caveat. */
function sign(rootKey: Buffer, identifier: Buffer, caveats: readonly string[]): Buffer {
  let sig = hmac(hmac(KEY_GENERATOR, rootKey), identifier);
  for (const c of caveats) sig = hmac(sig, Buffer.from(c, 'utf8'));
  return sig;
}

export function identifierOf(id: TokenId): Buffer {
  if (id.paymentHash.length !== 32 || id.tokenId.length !== 32) throw new MacaroonError('payment hash and token id are 32 bytes');
  const b = Buffer.alloc(IDENTIFIER_BYTES);
  b.writeUInt16BE(id.version, 0);
  id.paymentHash.copy(b, 2);
  id.tokenId.copy(b, 34);
  return b;
}

export function parseIdentifier(identifier: Buffer): TokenId {
  if (identifier.length !== IDENTIFIER_BYTES) throw new MacaroonError('identifier is not an L402 token id');
  const version = identifier.readUInt16BE(0);
  if (version !== 0) throw new MacaroonError(`unknown token id version ${version}`);
  return { version, paymentHash: Buffer.from(identifier.subarray(2, 34)), tokenId: Buffer.from(identifier.subarray(34)) };
}

/** A new macaroon over this root key, identifier and caveats. */
export function mint(rootKey: Buffer, location: string, identifier: Buffer, caveats: readonly string[]): Macaroon {
  return { location, identifier, caveats: [...caveats], signature: sign(rootKey, identifier, caveats) };
}

/** Whether the signature is the one this root key gives (constant time). Caveats are checked by the caller. */
export function verifySignature(rootKey: Buffer, m: Macaroon): boolean {
  const expected = sign(rootKey, m.identifier, m.caveats);
  return m.signature.length === expected.length && timingSafeEqual(m.signature, expected);
}

// ---- binary V2 -------------------------------------------------------------------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}

function field(type: number, data: Buffer): Buffer[] {
  return [Buffer.from([type]), varint(data.length), data];
}

export function encode(m: Macaroon): Buffer {
  const parts: Buffer[] = [Buffer.from([2])];
  if (m.location !== '') parts.push(...field(FIELD_LOCATION, Buffer.from(m.location, 'utf8')));
  parts.push(...field(FIELD_IDENTIFIER, m.identifier), Buffer.from([FIELD_EOS]));
  for (const c of m.caveats) parts.push(...field(FIELD_IDENTIFIER, Buffer.from(c, 'utf8')), Buffer.from([FIELD_EOS]));
  parts.push(Buffer.from([FIELD_EOS]), ...field(FIELD_SIGNATURE, m.signature));
  return Buffer.concat(parts);
}

/** Decodes binary V2; refuses anything over MAX_MACAROON_BYTES or MAX_CAVEATS, third-party caveats, trailing bytes. */
export function decode(b: Buffer): Macaroon {
  if (b.length > MAX_MACAROON_BYTES) throw new MacaroonError('macaroon too large');
  let pos = 0;
  const byte = (): number => {
    if (pos >= b.length) throw new MacaroonError('truncated macaroon');
    return b[pos++] as number;
  };
  const peek = (): number => (pos < b.length ? b[pos] as number : -1);
  const bytes = (): Buffer => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw new MacaroonError('bad length');
      const x = byte();
      n += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) break;
    }
    if (pos + n > b.length) throw new MacaroonError('truncated macaroon');
    const out = b.subarray(pos, pos + n);
    pos += n;
    return Buffer.from(out);
  };
  const expect = (type: number): Buffer => {
    if (byte() !== type) throw new MacaroonError('unexpected field');
    return type === FIELD_EOS ? Buffer.alloc(0) : bytes();
  };
  if (byte() !== 2) throw new MacaroonError('not a version 2 binary macaroon');
  let location = '';
  if (peek() === FIELD_LOCATION) location = expect(FIELD_LOCATION).toString('utf8');
  const identifier = expect(FIELD_IDENTIFIER);
  expect(FIELD_EOS);
  const caveats: string[] = [];
  while (peek() !== FIELD_EOS) {
    if (caveats.length >= MAX_CAVEATS) throw new MacaroonError('too many caveats');
    if (peek() === FIELD_LOCATION) expect(FIELD_LOCATION);
    const id = expect(FIELD_IDENTIFIER);
    if (peek() === FIELD_VID) throw new MacaroonError('third-party caveats are not accepted');
    expect(FIELD_EOS);
    caveats.push(id.toString('utf8'));
  }
  expect(FIELD_EOS);
  const signature = expect(FIELD_SIGNATURE);
  if (pos !== b.length) throw new MacaroonError('trailing bytes after the signature');
  if (signature.length !== 32) throw new MacaroonError('signature is not 32 bytes');
  return { location, identifier, caveats, signature };
}
