// A fake lnd for tests: a real grpc-js server over TLS speaking our lnrpc subset with lnd's semantics:
// per-method macaroon permissions (invoice.macaroon: AddInvoice, LookupInvoice, ListInvoices,
// SubscribeInvoices; readonly.macaroon: no AddInvoice), AddInvoice rules (1024-byte memo, 639-byte BOLT 11
// description), the expiry watcher (OPEN → CANCELED at creation_date + expiry, never on
// SubscribeInvoices), the SubscribeInvoices backlog and live events, LookupInvoice/ListInvoices,
// keysend and AMP payments and other applications' invoices, real preimages and signed regtest BOLT11.
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
  readonly isKeysend: boolean;
  readonly isAmp: boolean;
  state: InvoiceState;
  settleIndex: bigint;
  settleDate: number;
  amtPaidMsat: bigint;
}

export interface FakeLndOptions {
  /** The macaroon bytes every call must carry (as hex in metadata `macaroon`). */
  readonly macaroon: Buffer;
  /** Let GetInfo through; off by default, like invoice.macaroon. */
  readonly allowGetInfo?: boolean;
  /** A second macaroon with readonly.macaroon's permissions: reads and GetInfo, never AddInvoice. */
  readonly readonlyMacaroon?: Buffer;
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
    is_keysend: inv.isKeysend,
    payment_addr: inv.paymentAddr,
    is_amp: inv.isAmp,
  };
}

export class FakeLnd {
  /** Every call fails like an lnd that is still starting up while this is true. */
  refuse = false;
  readonly macaroon: Buffer;
  private readonly macaroonHex: string;
  private readonly allowGetInfo: boolean;
  private readonly readonlyHex: string | undefined;
  private readonly expiryTimers = new Set<NodeJS.Timeout>();
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
    this.readonlyHex = options.readonlyMacaroon?.toString('hex');
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

  /** The invoice with this hash, after lnd's expiry watcher has had its say. */
  find(rHash: Buffer): FakeInvoice | undefined {
    const inv = this.stored.find((i) => i.rHash.equals(rHash));
    if (inv) this.expireIfDue(inv);
    return inv;
  }

  /** lnd's expiry watcher: an OPEN invoice past creation_date + expiry is CANCELED, silently. */
  private expireIfDue(inv: FakeInvoice): void {
    if (inv.state === 'OPEN' && !inv.isAmp && this.now() > (inv.creationDate + inv.expiry) * 1000) inv.state = 'CANCELED';
  }

  /** Runs the expiry watcher over every invoice now (it also runs on its own, on real timers). */
  sweep(): void {
    for (const inv of this.stored) this.expireIfDue(inv);
  }

  /** AddInvoice as lnd does it (validation, counters, live OPEN event); also usable directly by tests. */
  add(request: { memo?: string; value?: bigint; valueMsat?: bigint; expiry?: number; preimage?: Buffer;
    cltvExpiry?: number; descriptionHash?: Buffer; isAmp?: boolean }): FakeInvoice {
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
      addIndex: BigInt(this.stored.length + 1), isKeysend: false, isAmp: request.isAmp ?? false,
      state: 'OPEN', settleIndex: 0n, settleDate: 0, amtPaidMsat: 0n,
    };
    this.stored.push(invoice);
    this.broadcast(invoice);
    // The watcher on real time (tests moving the fake's `now` call sweep() or find()).
    const timer = setTimeout(() => { this.expiryTimers.delete(timer); this.expireIfDue(invoice); },
      Math.min(Math.max(0, (creationDate + expiry) * 1000 - this.now() + 1), 2 ** 31 - 1));
    timer.unref();
    this.expiryTimers.add(timer);
    return invoice;
  }

  /** Another application on the same node mints and its buyer pays: not the tickerplant's money. */
  foreign(valueSat: bigint, memo = 'coffee'): FakeInvoice {
    const inv = this.add({ memo, value: valueSat });
    return this.settle(inv.rHash);
  }

  /**
   * A keysend (spontaneous) payment: lnd creates the invoice itself when the HTLC arrives, with the
   * payer's preimage and no payment request, and settles it at once (is_keysend).
   */
  keysend(valueSat: bigint): FakeInvoice {
    const preimage = randomBytes(32);
    const invoice: FakeInvoice = {
      rHash: createHash('sha256').update(preimage).digest(), preimage, paymentAddr: Buffer.alloc(0), paymentRequest: '',
      memo: '', valueMsat: valueSat * 1000n, creationDate: Math.floor(this.now() / 1000), expiry: 86_400, cltvExpiry: 80,
      addIndex: BigInt(this.stored.length + 1), isKeysend: true, isAmp: false,
      state: 'OPEN', settleIndex: 0n, settleDate: 0, amtPaidMsat: 0n,
    };
    this.stored.push(invoice);
    this.broadcast(invoice);
    return this.settle(invoice.rHash);
  }

  /** An AMP payment to an AMP invoice of another application: lnd reports the invoice SETTLED with is_amp. */
  amp(valueSat: bigint): FakeInvoice {
    const inv = this.add({ memo: 'amp', value: valueSat, isAmp: true });
    return this.settle(inv.rHash);
  }

  /**
   * A spontaneous AMP payment (lnd with accept-amp): lnd inserts an invoice with no payment request and
   * no preimage, which its RPC lists with an empty r_hash; settled at once.
   */
  ampSpontaneous(valueSat: bigint): FakeInvoice {
    this.settleCounter++;
    const invoice: FakeInvoice = {
      rHash: Buffer.alloc(0), preimage: Buffer.alloc(0), paymentAddr: Buffer.alloc(0), paymentRequest: '',
      memo: '', valueMsat: valueSat * 1000n, creationDate: Math.floor(this.now() / 1000), expiry: 86_400, cltvExpiry: 80,
      addIndex: BigInt(this.stored.length + 1), isKeysend: false, isAmp: true,
      state: 'SETTLED', settleIndex: this.settleCounter, settleDate: Math.floor(this.now() / 1000), amtPaidMsat: valueSat * 1000n,
    };
    this.stored.push(invoice);
    this.broadcast(invoice);
    return invoice;
  }

  /** CancelInvoice (invoicesrpc): CANCELED in storage; like expiry, SubscribeInvoices does not carry it. */
  cancel(rHash: Buffer): void {
    const inv = this.find(rHash);
    if (!inv) throw new Error('fake lnd: no such invoice');
    if (inv.state === 'SETTLED') throw new Error('fake lnd: invoice already settled');
    inv.state = 'CANCELED';
  }

  /** "Pays" an OPEN invoice: SETTLED with the next settle_index, pushed to every stream. */
  settle(rHash: Buffer, paidMsat?: bigint): FakeInvoice {
    const inv = this.find(rHash);
    if (!inv) throw new Error(`fake lnd: no invoice ${rHash.toString('hex')}`);
    // lnd refuses HTLCs for a canceled (expired) invoice: the payer's payment fails.
    if (inv.state !== 'OPEN' && inv.state !== 'ACCEPTED') throw new Error(`fake lnd: invoice is ${inv.state}`);
    this.settleCounter++;
    inv.state = 'SETTLED';
    inv.settleIndex = this.settleCounter;
    inv.settleDate = Math.floor(this.now() / 1000);
    inv.amtPaidMsat = paidMsat ?? inv.valueMsat;
    this.broadcast(inv);
    return inv;
  }

  /** Expiry: CANCELED in storage only; SubscribeInvoices never reports it. */
  expire(rHash: Buffer): void {
    const inv = this.find(rHash);
    if (!inv || inv.state !== 'OPEN') throw new Error('fake lnd: only an OPEN invoice can expire');
    inv.state = 'CANCELED';
  }

  /** Ends every SubscribeInvoices stream with status OK, as lnd does on shutdown. */
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
    for (const timer of this.expiryTimers) clearTimeout(timer);
    this.expiryTimers.clear();
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
      // lnd's BOLT11 encoder fails the same way on a description over 639 bytes.
      throw new RpcError(GrpcStatus.UNKNOWN, 'data length too big to fit within 10 bits');
    }
    if (!signed.paymentRequest) throw new RpcError(GrpcStatus.INTERNAL, 'fake lnd could not sign the invoice');
    return signed.paymentRequest;
  }

  /**
   * Why lnd would refuse this call, or undefined. lnd checks the macaroon's signature, then the method's
   * permission: invoice.macaroon has invoices:read/write (not info:read, so no GetInfo unless
   * allowGetInfo); readonly.macaroon has invoices:read and info:read, not invoices:write (no AddInvoice).
   */
  private refusal(metadata: Metadata, method: string): string | undefined {
    if (this.refuse) return NOT_READY;
    const values = metadata.get('macaroon');
    if (values.length !== 1) return `expected 1 macaroon, got ${values.length}`;
    const readonly = this.readonlyHex !== undefined && values[0] === this.readonlyHex;
    if (values[0] !== this.macaroonHex && !readonly) return 'verification failed: signature mismatch after caveat verification';
    if (readonly) return method === 'AddInvoice' ? 'permission denied' : undefined;
    return method === 'GetInfo' && !this.allowGetInfo ? 'permission denied' : undefined;
  }

  private unary(method: string, handler: (request: Fields) => Fields): (call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => void {
    return (call, done) => {
      const refused = this.refusal(call.metadata, method);
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
      AddInvoice: this.unary('AddInvoice', (m) => {
        const inv = this.add({
          memo: str(m, 'memo'), value: int(m, 'value'), valueMsat: int(m, 'value_msat'), expiry: Number(int(m, 'expiry')),
          preimage: buf(m, 'r_preimage'), cltvExpiry: Number(int(m, 'cltv_expiry')), descriptionHash: buf(m, 'description_hash'),
        });
        return { r_hash: inv.rHash, payment_request: inv.paymentRequest, add_index: inv.addIndex.toString(), payment_addr: inv.paymentAddr };
      }),
      LookupInvoice: this.unary('LookupInvoice', (m) => {
        const hex = str(m, 'r_hash_str');
        const rHash = hex !== '' ? Buffer.from(hex, 'hex') : buf(m, 'r_hash');
        if (rHash.length !== 0 && rHash.length !== 32) {
          throw new RpcError(GrpcStatus.UNKNOWN, `payment hash must be exactly 32 bytes, is instead ${rHash.length}`);
        }
        const inv = this.find(rHash);
        if (!inv) throw new RpcError(GrpcStatus.NOT_FOUND, 'unable to locate invoice');
        return toMessage(inv);
      }),
      ListInvoices: this.unary('ListInvoices', (m) => this.list(m)),
      GetInfo: this.unary('GetInfo', () => {
        return { identity_pubkey: this.key.pubkey, alias: 'fake-lnd', block_height: 100, synced_to_chain: true,
          version: '0.21.2-beta fake', chains: [{ chain: 'bitcoin', network: 'regtest' }] };
      }),
      SubscribeInvoices: (call: ServerWritableStream<unknown, unknown>) => this.subscribe(call),
    };
  }

  /** ListInvoices paging: add_index above index_offset, or below it when reversed. */
  private list(m: Fields): Fields {
    const offset = int(m, 'index_offset');
    const limit = Number(int(m, 'num_max_invoices')) || 100;
    const reversed = m['reversed'] === true;
    const start = int(m, 'creation_date_start');
    const end = int(m, 'creation_date_end');
    if (end !== 0n && start > end) throw new RpcError(GrpcStatus.UNKNOWN, 'creation_date_start must be before creation_date_end');
    this.sweep();
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

  /** Backlog (lnd: strictly greater, 0 = none, adds then settles, current state, canceled dropped), then live. */
  private subscribe(call: ServerWritableStream<unknown, unknown>): void {
    const refused = this.refusal(call.metadata, 'SubscribeInvoices');
    if (refused !== undefined) {
      call.emit('error', { code: GrpcStatus.UNKNOWN, details: refused });
      return;
    }
    const request = fields(call.request);
    const addIndex = int(request, 'add_index');
    const settleIndex = int(request, 'settle_index');
    this.sweep();
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
