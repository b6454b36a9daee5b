// The L402 exchange (bLIP-26; as aperture): a 402 answer carries
//   WWW-Authenticate: L402 macaroon="<base64>", invoice="<bolt11>"
// (and the same challenge under the older scheme name LSAT), and the buyer comes back with
//   Authorization: L402 <base64 macaroon>:<hex preimage>
// (LSAT too; the scheme in any case; several macaroons comma-separated, the first one ours is used),
// or, as aperture's own and gRPC-style clients send it (aperture l402/header.go), the macaroon alone in
// hex under Grpc-Metadata-Macaroon or Macaroon, its preimage in a preimage= caveat.
// A token is good when its signature is ours, the preimage hashes to the payment hash in its
// identifier, and every caveat holds for the request: table, syms (the request's within the token's),
// expiry, and preimage= (aperture's clients add the proof of payment as a caveat: it must be the
// preimage presented). An unknown caveat fails closed.
import { createHash } from 'node:crypto';
import { decode, encode, identifierOf, mint, parseIdentifier, verifySignature } from './macaroon.js';
import type { Macaroon } from './macaroon.js';

/** Longest Authorization header read (a token with our caveats is a few hundred bytes). */
export const MAX_AUTHORIZATION_BYTES = 8192;

export interface Grant {
  readonly table: string;
  /** null = every sym. */
  readonly syms: readonly string[] | null;
  /** Unix seconds. */
  readonly expires: number;
}

export interface Presented {
  /** In the header's order; check() takes the first whose signature is ours. */
  readonly macaroons: readonly Macaroon[];
  readonly preimage: Buffer;
}

export type TokenCheck =
  | { readonly ok: true; readonly paymentHash: string; readonly grant: Grant }
  | { readonly ok: false; readonly reason: string };

/** A new token for a grant, bound to an invoice's payment hash. */
export function issue(rootKey: Buffer, paymentHash: Buffer, tokenId: Buffer, grant: Grant): Buffer {
  const caveats = [`table=${grant.table}`, `syms=${grant.syms === null ? '*' : grant.syms.join(',')}`, `expires=${grant.expires}`];
  return encode(mint(rootKey, 'tickerplant', identifierOf({ version: 0, paymentHash, tokenId }), caveats));
}

/** The WWW-Authenticate values of a 402: bLIP-26's L402 challenge, then the same under LSAT for older clients. */
export function challenge(macaroon: Buffer, invoice: string): string[] {
  const params = `macaroon="${macaroon.toString('base64')}", invoice="${invoice}"`;
  return [`L402 ${params}`, `LSAT ${params}`];
}

/** The token and preimage of an Authorization header, or undefined when it is not an L402 one. */
export function parseAuthorization(header: string | undefined): Presented | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION_BYTES) return undefined;
  // Found anywhere in the value, as aperture does: a proxy may have folded several Authorization lines.
  const m = /(?:^|[\s,])(?:L402|LSAT)\s+([A-Za-z0-9+/_-]+={0,2}(?:,[A-Za-z0-9+/_-]+={0,2})*):([0-9a-fA-F]{64})(?![0-9a-fA-F])/i.exec(header);
  if (!m) return undefined;
  try {
    const macaroons = (m[1] as string).split(',').map((b) => decode(Buffer.from(b, 'base64')));
    return { macaroons, preimage: Buffer.from(m[2] as string, 'hex') };
  } catch {
    return undefined;
  }
}

/** The request headers a token can come in (Node's IncomingHttpHeaders: a repeated custom header is joined with ", "). */
export interface TokenHeaders {
  readonly authorization?: string | undefined;
  readonly 'grpc-metadata-macaroon'?: string | string[] | undefined;
  readonly macaroon?: string | string[] | undefined;
}

/**
 * What a request presents, in aperture's order: the Authorization header when it names L402 or LSAT,
 * else Grpc-Metadata-Macaroon, else Macaroon. 'none' when it presents nothing; undefined when what it
 * presents cannot be read (then the 402 says bad_token).
 */
export function presentedToken(h: TokenHeaders): Presented | 'none' | undefined {
  if (h.authorization !== undefined && /^(L402|LSAT)\s/i.test(h.authorization)) return parseAuthorization(h.authorization);
  // A header present but blank is passed over, as aperture does (it tests Get(...) != "").
  const given = (v: string | string[] | undefined): string | undefined => {
    const text = (Array.isArray(v) ? v[0] : v)?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const alone = given(h['grpc-metadata-macaroon']) ?? given(h.macaroon);
  if (alone === undefined) return 'none';
  return macaroonWithPreimage(alone);
}

/** A hex macaroon whose preimage= caveat carries the proof of payment, or undefined. */
function macaroonWithPreimage(text: string): Presented | undefined {
  if (text.length > MAX_AUTHORIZATION_BYTES || !/^(?:[0-9a-fA-F]{2})+$/.test(text)) return undefined;
  let mac: Macaroon;
  try {
    mac = decode(Buffer.from(text, 'hex'));
  } catch {
    return undefined;
  }
  const caveat = mac.caveats.find((c) => c.startsWith('preimage='));
  const preimage = caveat?.slice('preimage='.length) ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(preimage)) return undefined;
  return { macaroons: [mac], preimage: Buffer.from(preimage, 'hex') };
}

/** Whether a presented token allows streaming `table` for `syms` (null = every sym) at `nowSeconds`. */
export function check(rootKey: Buffer, p: Presented, table: string, syms: readonly string[] | null, nowSeconds: number): TokenCheck {
  const mac = p.macaroons.find((m) => verifySignature(rootKey, m));
  if (!mac) return { ok: false, reason: 'bad signature' };
  let hash: Buffer;
  try {
    hash = parseIdentifier(mac.identifier).paymentHash;
  } catch {
    return { ok: false, reason: 'bad token id' };
  }
  if (!createHash('sha256').update(p.preimage).digest().equals(hash)) return { ok: false, reason: 'preimage does not match' };
  let grantTable: string | undefined;
  let grantSyms: string[] | null | undefined;
  let expires: number | undefined;
  const preimageHex = p.preimage.toString('hex');
  for (const c of mac.caveats) {
    const eq = c.indexOf('=');
    const [name, value] = eq < 0 ? [c, ''] : [c.slice(0, eq), c.slice(eq + 1)];
    // A caveat may only narrow: a repeated one must hold too, so each is checked against the request.
    if (name === 'table') {
      if (value !== table) return { ok: false, reason: 'table not covered' };
      grantTable = value;
    } else if (name === 'syms') {
      const allowed = value === '*' ? null : value.split(',');
      if (allowed !== null && (syms === null || !syms.every((s) => allowed.includes(s)))) return { ok: false, reason: 'syms not covered' };
      grantSyms = grantSyms === undefined || grantSyms === null ? allowed : allowed === null ? grantSyms : grantSyms.filter((s) => allowed.includes(s));
    } else if (name === 'expires') {
      const at = Number(value);
      if (!Number.isInteger(at) || at <= nowSeconds) return { ok: false, reason: 'expired' };
      expires = expires === undefined ? at : Math.min(expires, at);
    } else if (name === 'preimage') {
      if (value.toLowerCase() !== preimageHex) return { ok: false, reason: 'preimage caveat does not match' };
    } else {
      return { ok: false, reason: 'unknown caveat' };
    }
  }
  if (grantTable === undefined || grantSyms === undefined || expires === undefined) return { ok: false, reason: 'missing caveat' };
  return { ok: true, paymentHash: hash.toString('hex'), grant: { table: grantTable, syms: grantSyms, expires } };
}
