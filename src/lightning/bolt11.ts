// A narrow typed wrapper over the `bolt11` package: sign and decode regtest (`lnbcrt`) payment requests.
// Spec: BOLT #11 (tags, and the feature bits that a payment_secret needs).
import bolt11 from 'bolt11';

/** bitcoinjs-style network object for regtest; its bech32 HRP gives the `lnbcrt` prefix. */
export const REGTEST_NETWORK = {
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1],
} as const;

/** Bytes the BOLT11 `d` field can carry: a 10-bit length of 5-bit words. */
export const MAX_DESCRIPTION_BYTES = 639;

export interface PaymentRequestFields {
  /** 0 means an "any amount" invoice: no amount in the HRP. */
  readonly valueSat: bigint;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly paymentHash: Buffer;
  readonly paymentSecret: Buffer;
  readonly description: string;
  readonly expirySeconds: number;
  readonly minFinalCltvExpiry: number;
}

export interface DecodedPaymentRequest {
  /** Compressed secp256k1 key recovered from the signature, hex. */
  readonly payeeNodeKey: string;
  /** undefined for an "any amount" request. */
  readonly valueMsat: bigint | undefined;
  readonly timestamp: number;
  readonly paymentHash: string | undefined;
  readonly paymentSecret: string | undefined;
  readonly description: string | undefined;
  /** The `x` field, or BOLT11's default of 3600 when absent. */
  readonly expirySeconds: number;
}

// var_onion_optin and payment_secret required, basic_mpp optional: what lnd advertises on invoices.
const FEATURE_BITS = {
  word_length: 4,
  var_onion_optin: { required: true },
  payment_secret: { required: true },
  basic_mpp: { supported: true },
};

/** Encodes and signs a regtest payment request with the node's 32-byte private key. */
export function signPaymentRequest(fields: PaymentRequestFields, privateKey: Buffer): string {
  const unsigned = bolt11.encode({
    network: { ...REGTEST_NETWORK, validWitnessVersions: [...REGTEST_NETWORK.validWitnessVersions] },
    ...(fields.valueSat > 0n ? { millisatoshis: (fields.valueSat * 1000n).toString() } : {}),
    timestamp: fields.timestamp,
    tags: [
      { tagName: 'payment_hash', data: fields.paymentHash.toString('hex') },
      { tagName: 'payment_secret', data: fields.paymentSecret.toString('hex') },
      { tagName: 'description', data: fields.description },
      { tagName: 'expire_time', data: fields.expirySeconds },
      { tagName: 'min_final_cltv_expiry', data: fields.minFinalCltvExpiry },
      { tagName: 'feature_bits', data: FEATURE_BITS },
    ],
  }, false);
  const signed = bolt11.sign(unsigned, privateKey);
  if (signed.paymentRequest === undefined) throw new Error('bolt11.sign returned no payment request');
  return signed.paymentRequest;
}

/** Decodes a regtest payment request; throws (the library's Error) when it is malformed or another network's. */
export function decodePaymentRequest(paymentRequest: string): DecodedPaymentRequest {
  const decoded = bolt11.decode(paymentRequest, {
    ...REGTEST_NETWORK, validWitnessVersions: [...REGTEST_NETWORK.validWitnessVersions],
  });
  const tags = decoded.tagsObject;
  if (decoded.payeeNodeKey === undefined || decoded.timestamp === undefined) {
    throw new Error('payment request has no signature or timestamp');
  }
  return {
    payeeNodeKey: decoded.payeeNodeKey,
    valueMsat: typeof decoded.millisatoshis === 'string' ? BigInt(decoded.millisatoshis) : undefined,
    timestamp: decoded.timestamp,
    paymentHash: tags.payment_hash,
    paymentSecret: tags.payment_secret,
    description: tags.description,
    expirySeconds: tags.expire_time ?? 3600,
  };
}
