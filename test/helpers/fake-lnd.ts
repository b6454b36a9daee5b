// A fake lnd for tests: a real grpc-js server over TLS speaking our lnrpc subset with lnd's semantics
// (../shared/reference/lightning.md §3.6): macaroon check, AddInvoice rules, SubscribeInvoices backlog
// and live events (§3.1–3.2), LookupInvoice/ListInvoices, real preimages and signed regtest BOLT11.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Metadata, Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import bolt11 from 'bolt11';
import type { InvoiceState } from '../../src/payments/backend.js';
import { lightningService } from '../../src/lightning/lnd-proto.js';

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
export const FAKE_LND_CERT_PATH = `${TLS_DIR}lnd.cert`;
export const FAKE_LND_KEY_PATH = `${TLS_DIR}lnd.key`;
/** PEM of the certificate the fake serves: what a client pins as lnd's tls.cert. */
export const FAKE_LND_CERT = readFileSync(FAKE_LND_CERT_PATH);
/** An unrelated self-signed certificate, for "wrong tls.cert" tests. */
export const OTHER_CERT = readFileSync(`${TLS_DIR}other.cert`);
const FAKE_LND_KEY = readFileSync(FAKE_LND_KEY_PATH);

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };
const FEATURES = { word_length: 4, var_onion_optin: { required: true }, payment_secret: { required: true },
  basic_mpp: { supported: true } };
const MAX_MEMO_BYTES = 1024;
const MAX_EXPIRY_SECONDS = 31_536_000;
const NOT_READY = 'the RPC server is in the process of starting up, but not yet ready to accept calls';

/** One invoice as the fake stores it. */
export interface FakeInvoice {
  readonly rHash: Buffer;
  readonly preimage: Buffer;
  readonly paymentAddr: Buffer;
  readonly paymentRequest: string;
  readonly memo: string;
  readonly valueMsat: bigint;
  readonly creationDate: number;
  readonly expiry: number;
  readonly cltvExpiry: number;
  readonly addIndex: bigint;
  state: InvoiceState;
  settleIndex: bigint;
  settleDate: number;
  amtPaidMsat: bigint;
}

export interface FakeLndOptions {
  /** The macaroon bytes every call must carry (as hex in metadata `macaroon`). */
  readonly macaroon: Buffer;
  /** Let GetInfo through; off by default, like invoice.macaroon (§2.3). */
  readonly allowGetInfo?: boolean;
  /** Milliseconds since the epoch, for creation and settle dates. */
  readonly now?: () => number;
}

/** A request message seen through proto-loader (keepCase, longs as strings, bytes as Buffers). */
type Fields = Readonly<Record<string, unknown>>;

class RpcError extends Error {
  constructor(readonly code: GrpcStatus, readonly details: string) {
    super(details);
  }
}

function fields(raw: unknown): Fields {
  return typeof raw === 'object' && raw !== null ? (raw as Fields) : {};
}
function int(m: Fields, key: string): bigint {
  const v = m[key];
  return typeof v === 'string' || typeof v === 'number' ? BigInt(v) : 0n;
}
function buf(m: Fields, key: string): Buffer {
  const v = m[key];
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
}
function str(m: Fields, key: string): string {
  const v = m[key];
  return typeof v === 'string' ? v : '';
}

function nodeKey(): { privateKey: Buffer; pubkey: string } {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  const prefix = (y[y.length - 1] ?? 0) % 2 === 0 ? '02' : '03';
  return { privateKey: Buffer.from(jwk.d ?? '', 'base64url'), pubkey: prefix + x.toString('hex') };
}

/** The lnrpc.Invoice message for a stored invoice (snake_case, 64-bit values as decimal strings). */
function toMessage(inv: FakeInvoice): Fields {
  const settled = inv.state === 'SETTLED';
  return {
    memo: inv.memo,
    r_preimage: inv.preimage,
    r_hash: inv.rHash,
    value: (inv.valueMsat / 1000n).toString(),
    value_msat: inv.valueMsat.toString(),
    settled,
    creation_date: String(inv.creationDate),
    settle_date: String(inv.settleDate),
    payment_request: inv.paymentRequest,
    expiry: String(inv.expiry),
    cltv_expiry: String(inv.cltvExpiry),
    add_index: inv.addIndex.toString(),
    settle_index: inv.settleIndex.toString(),
    amt_paid: inv.amtPaidMsat.toString(),
    amt_paid_sat: (inv.amtPaidMsat / 1000n).toString(),
    amt_paid_msat: inv.amtPaidMsat.toString(),
    state: inv.state,
    payment_addr: inv.paymentAddr,
  };
}

export class FakeLnd {
  /** Every call fails like an lnd that is still starting up while this is true. */
  refuse = false;
  readonly macaroon: Buffer;
  private readonly macaroonHex: string;
  private readonly allowGetInfo: boolean;
  private readonly now: () => number;
  private readonly key = nodeKey();
  private readonly stored: FakeInvoice[] = [];
  private readonly streams = new Set<ServerWritableStream<unknown, unknown>>();
  private readonly streamWaiters: Array<{ count: number; wake: () => void }> = [];
  private settleCounter = 0n;
  private server: Server | undefined;
  private boundPort = 0;

  private constructor(options: FakeLndOptions) {
    this.macaroon = options.macaroon;
    this.macaroonHex = options.macaroon.toString('hex');
    this.allowGetInfo = options.allowGetInfo ?? false;
    this.now = options.now ?? Date.now;
  }

  /** Listens on 127.0.0.1, on a free port unless `port` is given. */
  static async start(options: FakeLndOptions, port = 0): Promise<FakeLnd> {
    const fake = new FakeLnd(options);
    await fake.listen(port);
    return fake;
  }

  get port(): number {
    return this.boundPort;
  }
  get host(): string {
    return `127.0.0.1:${this.boundPort}`;
  }
  get streamCount(): number {
    return this.streams.size;
  }

  /** Resolves once at least `count` SubscribeInvoices streams are registered (backlog already sent). */
  streamsOpen(count = 1): Promise<void> {
    if (this.streams.size >= count) return Promise.resolve();
    return new Promise((wake) => this.streamWaiters.push({ count, wake }));
  }

  invoices(): readonly FakeInvoice[] {
    return this.stored;
  }

  find(rHash: Buffer): FakeInvoice | undefined {
    return this.stored.find((inv) => inv.rHash.equals(rHash));
  }

  /** AddInvoice as lnd does it (validation, counters, live OPEN event); also usable directly by tests. */
  add(request: { memo?: string; value?: bigint; valueMsat?: bigint; expiry?: number; preimage?: Buffer;
    cltvExpiry?: number; descriptionHash?: Buffer }): FakeInvoice {
    const memo = request.memo ?? '';
    const value = request.value ?? 0n;
    const valueMsatIn = request.valueMsat ?? 0n;
    if (value !== 0n && valueMsatIn !== 0n) throw new RpcError(GrpcStatus.UNKNOWN, 'sat and msat arguments are mutually exclusive');
    if (value < 0n || valueMsatIn < 0n) throw new RpcError(GrpcStatus.UNKNOWN, 'amount cannot be negative');
    const memoBytes = Buffer.byteLength(memo);
    if (memoBytes > MAX_MEMO_BYTES) {
      throw new RpcError(GrpcStatus.UNKNOWN, `memo too large: ${memoBytes} bytes (maxsize=${MAX_MEMO_BYTES})`);
    }
    const descriptionHash = request.descriptionHash ?? Buffer.alloc(0);
    if (descriptionHash.length !== 0 && descriptionHash.length !== 32) {
      throw new RpcError(GrpcStatus.UNKNOWN, `description hash is ${descriptionHash.length} bytes, must be 32`);
    }
    const expiry = request.expiry === undefined || request.expiry === 0 ? 86_400 : request.expiry;
    if (expiry < 0 || expiry > MAX_EXPIRY_SECONDS) {
      throw new RpcError(GrpcStatus.UNKNOWN, `expiry of ${expiry} seconds greater than max expiry of ${MAX_EXPIRY_SECONDS} seconds`);
    }
    const cltvExpiry = request.cltvExpiry === undefined || request.cltvExpiry === 0 ? 80 : request.cltvExpiry;
    if (cltvExpiry < 24 || cltvExpiry > 65_535) throw new RpcError(GrpcStatus.UNKNOWN, `cltv_expiry ${cltvExpiry} out of range`);
    const preimage = request.preimage && request.preimage.length > 0 ? request.preimage : randomBytes(32);
    if (preimage.length !== 32) throw new RpcError(GrpcStatus.UNKNOWN, 'payment preimage must be exactly 32 bytes');
    const rHash = createHash('sha256').update(preimage).digest();
    if (this.find(rHash)) throw new RpcError(GrpcStatus.UNKNOWN, 'invoice with payment hash already exists');
    const valueMsat = valueMsatIn !== 0n ? valueMsatIn : value * 1000n;
    const paymentAddr = randomBytes(32);
    const creationDate = Math.floor(this.now() / 1000);
    const invoice: FakeInvoice = {
      rHash, preimage, paymentAddr, memo, valueMsat, creationDate, expiry, cltvExpiry,
      paymentRequest: this.encode({ rHash, paymentAddr, memo, descriptionHash, valueMsat, creationDate, expiry, cltvExpiry }),
      addIndex: BigInt(this.stored.length + 1),
      state: 'OPEN', settleIndex: 0n, settleDate: 0, amtPaidMsat: 0n,
    };
    this.stored.push(invoice);
    this.broadcast(invoice);
    return invoice;
  }

  /** "Pays" an OPEN invoice: SETTLED with the next settle_index, pushed to every stream (§3.6 step 2). */
  settle(rHash: Buffer, paidMsat?: bigint): FakeInvoice {
    const inv = this.find(rHash);
    if (!inv) throw new Error(`fake lnd: no invoice ${rHash.toString('hex')}`);
    if (inv.state !== 'OPEN' && inv.state !== 'ACCEPTED') throw new Error(`fake lnd: invoice is ${inv.state}`);
    this.settleCounter++;
    inv.state = 'SETTLED';
    inv.settleIndex = this.settleCounter;
    inv.settleDate = Math.floor(this.now() / 1000);
    inv.amtPaidMsat = paidMsat ?? inv.valueMsat;
    this.broadcast(inv);
    return inv;
  }

  /** Expiry: CANCELED in storage only; SubscribeInvoices never reports it (§3.1). */
  expire(rHash: Buffer): void {
    const inv = this.find(rHash);
    if (!inv || inv.state !== 'OPEN') throw new Error('fake lnd: only an OPEN invoice can expire');
    inv.state = 'CANCELED';
  }

  /** Ends every SubscribeInvoices stream with status OK, as lnd does on shutdown (§3.4). */
  endStreams(): void {
    for (const call of this.streams) call.end();
    this.streams.clear();
  }

  /** Fails every SubscribeInvoices stream with UNAVAILABLE. */
  dropStreams(): void {
    for (const call of this.streams) call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'fake lnd dropped the stream' });
    this.streams.clear();
  }

  /** Shuts down like lnd: streams end with OK, then the listener closes. Invoices are kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.endStreams();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => { server.forceShutdown(); resolve(); }, 500);
      server.tryShutdown(() => { clearTimeout(force); resolve(); });
    });
  }

  /** Listens again on the same port with the same invoices. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.boundPort);
  }

  private async listen(port: number): Promise<void> {
    const server = new Server();
    server.addService(lightningService(), this.handlers());
    const credentials = ServerCredentials.createSsl(null, [{ private_key: FAKE_LND_KEY, cert_chain: FAKE_LND_CERT }], false);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
    this.server = server;
  }

  private broadcast(inv: FakeInvoice): void {
    const message = toMessage(inv);
    for (const call of this.streams) call.write(message);
  }

  private encode(i: { rHash: Buffer; paymentAddr: Buffer; memo: string; descriptionHash: Buffer; valueMsat: bigint;
    creationDate: number; expiry: number; cltvExpiry: number }): string {
    const amount = i.valueMsat === 0n ? {}
      : i.valueMsat % 1000n === 0n ? { satoshis: Number(i.valueMsat / 1000n) } : { millisatoshis: i.valueMsat.toString() };
    const purpose = i.descriptionHash.length === 32
      ? { tagName: 'purpose_commit_hash', data: i.descriptionHash.toString('hex') }
      : { tagName: 'description', data: i.memo };
    let signed;
    try {
      signed = bolt11.sign(bolt11.encode({
        network: REGTEST, ...amount, timestamp: i.creationDate, tags: [
          { tagName: 'payment_hash', data: i.rHash.toString('hex') },
          { tagName: 'payment_secret', data: i.paymentAddr.toString('hex') },
          purpose,
          { tagName: 'expire_time', data: i.expiry },
          { tagName: 'min_final_cltv_expiry', data: i.cltvExpiry },
          { tagName: 'feature_bits', data: FEATURES },
        ],
      }, false), this.key.privateKey);
    } catch {
      // lnd's BOLT11 encoder fails the same way on a description over 639 bytes (§4).
      throw new RpcError(GrpcStatus.UNKNOWN, 'data length too big to fit within 10 bits');
    }
    if (!signed.paymentRequest) throw new RpcError(GrpcStatus.INTERNAL, 'fake lnd could not sign the invoice');
    return signed.paymentRequest;
  }

  /** Why lnd would refuse this call, or undefined (§2.2). */
  private refusal(metadata: Metadata): string | undefined {
    if (this.refuse) return NOT_READY;
    const values = metadata.get('macaroon');
    if (values.length !== 1) return `expected 1 macaroon, got ${values.length}`;
    return values[0] === this.macaroonHex ? undefined : 'verification failed: signature mismatch after caveat verification';
  }

  private unary(handler: (request: Fields) => Fields): (call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => void {
    return (call, done) => {
      const refused = this.refusal(call.metadata);
      if (refused !== undefined) return done({ code: GrpcStatus.UNKNOWN, details: refused });
      try {
        done(null, handler(fields(call.request)));
      } catch (err) {
        if (err instanceof RpcError) done({ code: err.code, details: err.details });
        else done({ code: GrpcStatus.INTERNAL, details: String(err) });
      }
    };
  }

  private handlers(): UntypedServiceImplementation {
    return {
      AddInvoice: this.unary((m) => {
        const inv = this.add({
          memo: str(m, 'memo'), value: int(m, 'value'), valueMsat: int(m, 'value_msat'), expiry: Number(int(m, 'expiry')),
          preimage: buf(m, 'r_preimage'), cltvExpiry: Number(int(m, 'cltv_expiry')), descriptionHash: buf(m, 'description_hash'),
        });
        return { r_hash: inv.rHash, payment_request: inv.paymentRequest, add_index: inv.addIndex.toString(), payment_addr: inv.paymentAddr };
      }),
      LookupInvoice: this.unary((m) => {
        const hex = str(m, 'r_hash_str');
        const rHash = hex !== '' ? Buffer.from(hex, 'hex') : buf(m, 'r_hash');
        if (rHash.length !== 0 && rHash.length !== 32) {
          throw new RpcError(GrpcStatus.UNKNOWN, `payment hash must be exactly 32 bytes, is instead ${rHash.length}`);
        }
        const inv = this.find(rHash);
        if (!inv) throw new RpcError(GrpcStatus.NOT_FOUND, 'unable to locate invoice');
        return toMessage(inv);
      }),
      ListInvoices: this.unary((m) => this.list(m)),
      GetInfo: this.unary(() => {
        if (!this.allowGetInfo) throw new RpcError(GrpcStatus.UNKNOWN, 'permission denied');
        return { identity_pubkey: this.key.pubkey, alias: 'fake-lnd', block_height: 100, synced_to_chain: true,
          version: '0.21.2-beta fake', chains: [{ chain: 'bitcoin', network: 'regtest' }] };
      }),
      SubscribeInvoices: (call: ServerWritableStream<unknown, unknown>) => this.subscribe(call),
    };
  }

  /** ListInvoices paging (§3.6 step 6): add_index above index_offset, or below it when reversed. */
  private list(m: Fields): Fields {
    const offset = int(m, 'index_offset');
    const limit = Number(int(m, 'num_max_invoices')) || 100;
    const reversed = m['reversed'] === true;
    const start = int(m, 'creation_date_start');
    const end = int(m, 'creation_date_end');
    if (end !== 0n && start > end) throw new RpcError(GrpcStatus.UNKNOWN, 'creation_date_start must be before creation_date_end');
    const matches = this.stored.filter((inv) => {
      if (m['pending_only'] === true && inv.state !== 'OPEN' && inv.state !== 'ACCEPTED') return false;
      if (start !== 0n && BigInt(inv.creationDate) < start) return false;
      if (end !== 0n && BigInt(inv.creationDate) > end) return false;
      if (reversed) return offset === 0n || inv.addIndex < offset;
      return inv.addIndex > offset;
    });
    const page = reversed ? matches.slice(-limit) : matches.slice(0, limit);
    return {
      invoices: page.map(toMessage),
      first_index_offset: (page[0]?.addIndex ?? 0n).toString(),
      last_index_offset: (page[page.length - 1]?.addIndex ?? 0n).toString(),
    };
  }

  /** Backlog (§3.2: strictly greater, 0 = none, adds then settles, current state, canceled dropped), then live. */
  private subscribe(call: ServerWritableStream<unknown, unknown>): void {
    const refused = this.refusal(call.metadata);
    if (refused !== undefined) {
      call.emit('error', { code: GrpcStatus.UNKNOWN, details: refused });
      return;
    }
    const request = fields(call.request);
    const addIndex = int(request, 'add_index');
    const settleIndex = int(request, 'settle_index');
    const backlog = [
      ...(addIndex === 0n ? [] : this.stored.filter((inv) => inv.addIndex > addIndex && inv.state !== 'CANCELED')),
      ...(settleIndex === 0n ? [] : this.stored.filter((inv) => inv.settleIndex > settleIndex)
        .sort((a, b) => (a.settleIndex < b.settleIndex ? -1 : 1))),
    ];
    for (const inv of backlog) call.write(toMessage(inv));
    this.streams.add(call);
    call.on('cancelled', () => this.streams.delete(call));
    for (const waiter of this.streamWaiters.filter((w) => this.streams.size >= w.count)) {
      this.streamWaiters.splice(this.streamWaiters.indexOf(waiter), 1);
      waiter.wake();
    }
  }
}

/** A started fake with a random 64-byte macaroon (use `fake.macaroon` as the client's macaroon). */
export async function startFakeLnd(options: Partial<FakeLndOptions> = {}): Promise<FakeLnd> {
  return FakeLnd.start({ macaroon: randomBytes(64), ...options });
}
