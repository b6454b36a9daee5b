// The built-in development Lightning node (no lnd needed): mints real signed regtest BOLT11 requests with
// its own persistent key, keeps invoices on disk, settles them when paid in-process, and otherwise looks
// like lnd from outside (indices, states, expiry, error texts). Spec: lnd's lightning.proto, BOLT #11.
import { systemClock } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

import { ConfigError, LightningError, TpError } from '../errors.js';
import type { BackendStatus, Invoice, InvoiceBackend, InvoiceRequest, Payment } from '../payments/backend.js';
import {
  type DecodedPaymentRequest, decodePaymentRequest, MAX_DESCRIPTION_BYTES, signPaymentRequest,
} from './bolt11.js';
import { loadOrCreateNodeKey, type NodeKey } from './dev-key.js';
import { DevInvoiceFile, type DevInvoiceRecord } from './dev-store.js';

export const DEV_NODE_KEY_FILE = 'dev-node.key';
export const DEV_INVOICES_FILE = 'dev-invoices.jsonl';
/** lnd ≥ 0.13 uses 24 h when AddInvoice's expiry is 0. */
export const DEFAULT_EXPIRY_SECONDS = 86_400;
/** One year: lnd rejects anything longer. */
export const MAX_EXPIRY_SECONDS = 31_536_000;
/** lnd's invoices.MaxMemoSize. */
export const MAX_MEMO_BYTES = 1024;
/** 100,000 BTC: lnd's largest invoice. */
export const MAX_INVOICE_SAT = 10_000_000_000_000n;
/** lnd's default final-hop CLTV delta (bitcoin.timelockdelta) since v0.17. */
const FINAL_CLTV_DELTA = 80;
/** How long a canceled (expired) invoice is still known to lookups before the node forgets it. */
export const FORGET_CANCELED_MS = 3_600_000;
/** setTimeout's largest delay; longer expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DevBackendOptions {
  /** Holds dev-node.key (0600, created once) and dev-invoices.jsonl. Created when missing. */
  readonly dataDir: string;
  /** When set, every OPEN invoice is settled this many ms after it is added (or after start, if reloaded). */
  readonly autopayMs?: number;
  /** Milliseconds clock; Date.now by default. */
  readonly now?: () => number;
  /** Expiry sweep and autopay timers (the app's one clock); the system clock by default. */
  readonly timers?: Pick<Clock, 'after'>;
  readonly log?: Logger;
}

function protocolError(message: string, cause?: unknown): LightningError {
  return new LightningError('LN_ERR_PROTOCOL', message, undefined,
    cause === undefined ? undefined : { cause });
}

/** btcutil.Amount's String(): BTC with trailing zeros trimmed, as lnd prints amounts in errors. */
function formatBtc(sat: bigint): string {
  const whole = sat / 100_000_000n;
  const frac = (sat % 100_000_000n).toString().padStart(8, '0').replace(/0+$/, '');
  return `${whole}${frac === '' ? '' : '.' + frac} BTC`;
}

function hexOf(buf: Buffer): string {
  return buf.toString('hex');
}

/** An immutable copy for callers: they cannot reach the node's records through it. */
function snapshot(r: DevInvoiceRecord): Invoice {
  return Object.freeze({
    rHash: Buffer.from(r.rHash),
    paymentRequest: r.paymentRequest,
    addIndex: r.addIndex,
    settleIndex: r.settleIndex,
    state: r.state,
    valueSat: r.valueSat,
    amountPaidSat: r.amountPaidSat,
    memo: r.memo,
    creationDate: r.creationDate,
    expirySeconds: r.expirySeconds,
    settleDate: r.settleDate,
    ...(r.state === 'SETTLED' ? { preimage: Buffer.from(r.preimage) } : {}),
  });
}

/** Ms after which an OPEN invoice counts as expired (lnd: creation_date + expiry has passed). */
function deadlineOf(r: DevInvoiceRecord): number {
  return (r.creationDate + r.expirySeconds) * 1000;
}

export class DevBackend extends EventEmitter implements InvoiceBackend {
  readonly kind = 'dev' as const;
  private readonly dataDir: string;
  private readonly autopayMs: number | undefined;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Current record per r_hash (hex); records are replaced, never mutated. */
  private readonly invoices = new Map<string, DevInvoiceRecord>();
  /** r_hash (hex) of invoices still OPEN, for the expiry sweep. */
  private readonly openHashes = new Set<string>();
  private readonly autopayTimers = new Map<string, Timer>();
  /** r_hash (hex) of canceled invoices in the order they were canceled: forgotten FORGET_CANCELED_MS later. */
  private readonly canceledOrder: string[] = [];
  private file: DevInvoiceFile | undefined;
  private key: NodeKey | undefined;
  private lastAddIndex = 0n;
  private lastSettleIndex = 0n;
  private sweepTimer: Timer | undefined;
  private readonly timers: Pick<Clock, 'after'>;
  private sweepAt = Number.POSITIVE_INFINITY;

  constructor(options: DevBackendOptions) {
    super();
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new ConfigError('dev backend needs a dataDir');
    }
    if (options.autopayMs !== undefined && !(Number.isFinite(options.autopayMs) && options.autopayMs >= 0)) {
      throw new ConfigError(`dev backend autopayMs must be a non-negative number, got ${options.autopayMs}`);
    }
    this.dataDir = options.dataDir;
    this.autopayMs = options.autopayMs;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? systemClock();
    this.log = options.log;
  }

  /** Loads (or creates) the node key and the invoice file, cancels what expired meanwhile, arms timers. */
  async start(): Promise<void> {
    if (this.file !== undefined) return;
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const key = loadOrCreateNodeKey(join(this.dataDir, DEV_NODE_KEY_FILE));
    const file = new DevInvoiceFile(join(this.dataDir, DEV_INVOICES_FILE));
    const loaded = file.load();
    if (loaded.tornTail) this.log?.warn({ path: file.path }, 'dropped a partly written last line of the invoice file');
    // Invoices canceled more than FORGET_CANCELED_MS ago are forgotten: the file does not grow forever.
    const now = this.now();
    // The newest invoice is kept whatever its state, so add_index never goes back after a restart.
    const top = loaded.records.reduce((m, r) => (r.addIndex > m ? r.addIndex : m), 0n);
    const kept = loaded.records.filter((r) => r.state !== 'CANCELED' || r.addIndex === top || deadlineOf(r) + FORGET_CANCELED_MS > now);
    if (loaded.tornTail || loaded.lines > kept.length) file.rewrite(kept);
    file.open();

    this.invoices.clear();
    this.openHashes.clear();
    this.lastAddIndex = 0n;
    this.lastSettleIndex = 0n;
    this.canceledOrder.length = 0;
    for (const r of loaded.records) {
      if (r.addIndex > this.lastAddIndex) this.lastAddIndex = r.addIndex;
      if (r.settleIndex > this.lastSettleIndex) this.lastSettleIndex = r.settleIndex;
    }
    for (const r of kept) {
      const hash = hexOf(r.rHash);
      this.invoices.set(hash, r);
      if (r.state === 'OPEN') this.openHashes.add(hash);
      if (r.state === 'CANCELED') this.canceledOrder.push(hash);
    }
    this.key = key;
    this.file = file;
    this.sweep();
    for (const hash of this.openHashes) this.armAutopay(hash);
    this.log?.info({ pubkey: key.pubkey, dataDir: this.dataDir, invoices: this.invoices.size,
      newKey: key.created }, 'dev lightning node started');
  }

  /** Stops timers and writes the invoice file compactly. Settlement events already queued still fire. */
  async close(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    for (const timer of this.autopayTimers.values()) timer.cancel();
    this.autopayTimers.clear();
    const file = this.file;
    if (file === undefined) return;
    this.file = undefined;
    this.key = undefined;
    try {
      file.rewrite([...this.invoices.values()]);
    } finally {
      file.close();
    }
    this.log?.info({ invoices: this.invoices.size }, 'dev lightning node closed');
  }

  status(): BackendStatus {
    return { up: true };
  }

  /** The node's compressed public key (hex), the payee of every request it mints. */
  identityPubkey(): string {
    return this.running().key.pubkey;
  }

  async addInvoice(request: InvoiceRequest): Promise<Invoice> {
    const { file, key } = this.running();
    const { valueSat, memo } = request;
    if (typeof valueSat !== 'bigint') throw protocolError('amount must be a whole number of satoshis');
    if (valueSat < 0n) throw protocolError('amount cannot be negative');
    if (valueSat > MAX_INVOICE_SAT) {
      throw protocolError(`invoice amount ${formatBtc(valueSat)} is too large, max is ${formatBtc(MAX_INVOICE_SAT)}`);
    }
    if (typeof memo !== 'string') throw protocolError('memo must be a string');
    const memoBytes = Buffer.byteLength(memo, 'utf8');
    if (memoBytes > MAX_MEMO_BYTES) {
      throw protocolError(`memo too large: ${memoBytes} bytes (maxsize=${MAX_MEMO_BYTES})`);
    }
    // lnd stores up to 1024 bytes but its BOLT11 encoder fails beyond what the `d` field can hold.
    if (memoBytes > MAX_DESCRIPTION_BYTES) throw protocolError('data length too big to fit within 10 bits');
    const requested = request.expirySeconds;
    if (!Number.isSafeInteger(requested)) throw protocolError('expiry must be a whole number of seconds');
    if (requested < 0) throw protocolError('expiry cannot be negative');
    if (requested > MAX_EXPIRY_SECONDS) {
      throw protocolError(`expiry of ${requested} seconds greater than max expiry of ${MAX_EXPIRY_SECONDS} seconds`);
    }
    const expirySeconds = requested === 0 ? DEFAULT_EXPIRY_SECONDS : requested;

    const preimage = randomBytes(32);
    const rHash = createHash('sha256').update(preimage).digest();
    const hash = hexOf(rHash);
    if (this.invoices.has(hash)) throw protocolError('invoice with payment hash already exists');
    const paymentSecret = randomBytes(32);
    const creationDate = Math.floor(this.now() / 1000);
    let paymentRequest: string;
    try {
      paymentRequest = signPaymentRequest({
        valueSat, timestamp: creationDate, paymentHash: rHash, paymentSecret, description: memo,
        expirySeconds, minFinalCltvExpiry: FINAL_CLTV_DELTA,
      }, key.privateKey);
    } catch (err) {
      throw protocolError(`cannot encode payment request: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    const record: DevInvoiceRecord = {
      rHash, preimage, paymentSecret, paymentRequest, addIndex: this.lastAddIndex + 1n, valueSat, memo,
      creationDate, expirySeconds, state: 'OPEN', settleIndex: 0n, amountPaidSat: 0n, settleDate: 0,
    };
    this.persist(file, record);
    this.forgetCanceled();
    this.lastAddIndex = record.addIndex;
    this.invoices.set(hash, record);
    this.openHashes.add(hash);
    this.armSweep(deadlineOf(record));
    this.armAutopay(hash);
    this.log?.debug({ addIndex: Number(record.addIndex), rHash: hash, valueSat: Number(valueSat) }, 'invoice added');
    return snapshot(record);
  }

  async lookupInvoice(rHash: Buffer): Promise<Invoice | undefined> {
    this.running();
    if (rHash.length !== 32) throw protocolError(`payment hash must be exactly 32 bytes, is instead ${rHash.length}`);
    const record = this.current(hexOf(rHash));
    return record === undefined ? undefined : snapshot(record);
  }

  /** The preimage of one of this node's invoices (a copy), whatever its state. */
  preimageOf(rHash: Buffer): Buffer | undefined {
    const record = this.invoices.get(hexOf(rHash));
    return record === undefined ? undefined : Buffer.from(record.preimage);
  }

  /**
   * Pays one of this node's payment requests in full, as a wallet would. `amountSat` is only for
   * "any amount" requests (lnd's rule for payers). The 'settled' event follows asynchronously.
   */
  pay(paymentRequest: string, amountSat?: bigint): Payment {
    const { key } = this.running();
    let decoded: DecodedPaymentRequest;
    try {
      decoded = decodePaymentRequest(paymentRequest.trim());
    } catch (err) {
      throw protocolError(`invalid payment request: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    // The payee is recovered from the signature, so this also rejects a tampered request.
    if (decoded.payeeNodeKey !== key.pubkey || decoded.paymentHash === undefined) {
      throw protocolError('invoice not found');
    }
    const record = this.invoices.get(decoded.paymentHash);
    if (record === undefined || decoded.paymentSecret !== hexOf(record.paymentSecret)) {
      throw protocolError('invoice not found');
    }
    return this.settle(decoded.paymentHash, amountSat);
  }

  /** Settles an invoice by its payment hash, with the same rules as pay(). */
  settleByHash(rHash: Buffer, amountSat?: bigint): Payment {
    this.running();
    return this.settle(hexOf(rHash), amountSat);
  }

  private settle(hash: string, amountSat: bigint | undefined): Payment {
    const { file } = this.running();
    const record = this.current(hash);
    if (record === undefined) throw protocolError('invoice not found');
    if (record.state === 'SETTLED') throw protocolError('invoice is already paid');
    if (record.state !== 'OPEN') throw protocolError('invoice expired');
    let paid: bigint;
    if (record.valueSat === 0n) {
      if (amountSat === undefined || amountSat <= 0n) {
        throw protocolError('amount must be specified when paying a zero amount invoice');
      }
      paid = amountSat;
    } else {
      if (amountSat !== undefined) {
        throw protocolError('amount must not be specified when paying a non-zero amount invoice');
      }
      paid = record.valueSat;
    }
    const settled: DevInvoiceRecord = {
      ...record, state: 'SETTLED', settleIndex: this.lastSettleIndex + 1n, amountPaidSat: paid,
      settleDate: Math.floor(this.now() / 1000),
    };
    this.persist(file, settled); // a payment that cannot be recorded fails, leaving the invoice OPEN
    this.lastSettleIndex = settled.settleIndex;
    this.invoices.set(hash, settled);
    this.openHashes.delete(hash);
    this.disarmAutopay(hash);
    this.log?.info({ addIndex: Number(settled.addIndex), settleIndex: Number(settled.settleIndex), rHash: hash },
      'invoice settled');
    const event = snapshot(settled);
    queueMicrotask(() => this.emit('settled', event));
    return { invoice: snapshot(settled), preimage: Buffer.from(settled.preimage) };
  }

  /** The record for a hash after applying any due expiry. */
  private current(hash: string): DevInvoiceRecord | undefined {
    const record = this.invoices.get(hash);
    if (record === undefined || record.state !== 'OPEN' || this.now() <= deadlineOf(record)) return record;
    return this.expire(hash, record);
  }

  /** OPEN → CANCELED, silently, as lnd's expiry watcher does (no SubscribeInvoices event). */
  private expire(hash: string, record: DevInvoiceRecord): DevInvoiceRecord {
    const canceled: DevInvoiceRecord = { ...record, state: 'CANCELED' };
    this.invoices.set(hash, canceled);
    this.openHashes.delete(hash);
    this.canceledOrder.push(hash);
    this.disarmAutopay(hash);
    if (this.file !== undefined) {
      try {
        this.file.append(canceled);
      } catch (err) {
        // Memory already says CANCELED; close() rewrites the whole file and tries again.
        this.log?.error({ err, rHash: hash }, 'cannot record invoice expiry');
      }
    }
    this.log?.debug({ addIndex: Number(record.addIndex), rHash: hash }, 'invoice expired');
    const event = snapshot(canceled);
    queueMicrotask(() => this.emit('canceled', event));
    return canceled;
  }

  /** Drops canceled invoices whose grace period is over (memory stays bounded by what can still matter). */
  private forgetCanceled(): void {
    const now = this.now();
    while (this.canceledOrder.length > 0) {
      const hash = this.canceledOrder[0] as string;
      const r = this.invoices.get(hash);
      if (r !== undefined && r.state === 'CANCELED' && deadlineOf(r) + FORGET_CANCELED_MS > now) break;
      this.canceledOrder.shift();
      if (r?.state === 'CANCELED') this.invoices.delete(hash);
    }
  }

  /** Cancels every due OPEN invoice and arms the timer for the next deadline. */
  private sweep(): void {
    this.sweepTimer = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    this.forgetCanceled();
    let next = Number.POSITIVE_INFINITY;
    for (const hash of [...this.openHashes]) {
      const record = this.current(hash);
      if (record !== undefined && record.state === 'OPEN') next = Math.min(next, deadlineOf(record));
    }
    if (next !== Number.POSITIVE_INFINITY) this.armSweep(next);
  }

  private armSweep(deadlineMs: number): void {
    if (this.file === undefined || deadlineMs >= this.sweepAt) return;
    this.sweepTimer?.cancel();
    this.sweepAt = deadlineMs;
    const delay = Math.min(Math.max(deadlineMs - this.now() + 1, 1), MAX_TIMER_MS);
    this.sweepTimer = this.timers.after(delay, () => this.sweep()).unref();
  }

  private armAutopay(hash: string): void {
    if (this.autopayMs === undefined || this.autopayTimers.has(hash)) return;
    const timer = this.timers.after(this.autopayMs, () => {
      this.autopayTimers.delete(hash);
      const record = this.invoices.get(hash);
      if (record === undefined || this.file === undefined) return;
      try {
        this.settle(hash, record.valueSat === 0n ? 1n : undefined); // "any amount": pay 1 sat
      } catch (err) {
        if (err instanceof LightningError) this.log?.debug({ err, rHash: hash }, 'autopay skipped');
        else this.log?.warn({ err, rHash: hash }, 'autopay failed');
      }
    }).unref();
    this.autopayTimers.set(hash, timer);
  }

  private disarmAutopay(hash: string): void {
    const timer = this.autopayTimers.get(hash);
    if (timer === undefined) return;
    timer.cancel();
    this.autopayTimers.delete(hash);
  }

  /** Appends a record; a disk failure surfaces as the node being unavailable. */
  private persist(file: DevInvoiceFile, record: DevInvoiceRecord): void {
    try {
      file.append(record);
    } catch (err) {
      if (err instanceof TpError) {
        throw new LightningError('LN_ERR_UNAVAILABLE', `dev node cannot write ${file.path}`, undefined, { cause: err });
      }
      throw err;
    }
  }

  private running(): { file: DevInvoiceFile; key: NodeKey } {
    if (this.file === undefined || this.key === undefined) {
      throw new LightningError('LN_ERR_UNAVAILABLE', 'dev lightning node is not started');
    }
    return { file: this.file, key: this.key };
  }
}
