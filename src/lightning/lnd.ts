// The InvoiceBackend on a real lnd over gRPC: AddInvoice/LookupInvoice, plus the loss-free settlement
// listener (reconcile with ListInvoices, then SubscribeInvoices from the cursor, reconnect with backoff).
// Follows lnd's docs/grpc/javascript.md (TLS + macaroon) and rpcserver.go's SubscribeInvoices replay rules.
import { systemClock } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { EventEmitter } from 'node:events';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ClientReadableStream, StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { LightningError } from '../errors.js';
import type { BackendStatus, Invoice, InvoiceBackend, InvoiceRequest } from '../payments/backend.js';
import { NO_CURSOR, RecentHashes, ScanTally, StreamCursor, scanStart } from './cursor.js';
import type { Cursor } from './cursor.js';
import { CursorFile, loadCursor } from './cursor-file.js';
import { isGrpcFailure, lndFailure } from './lnd-errors.js';
import { readAddInvoiceResponse, readGetInfoResponse, readInvoice, readListInvoiceResponse } from './lnd-messages.js';
import { LndRpc } from './lnd-rpc.js';
import { decodePaymentRequest } from './bolt11.js';
import { backoffDelay } from '../backoff.js';

export interface LndBackendOptions {
  /** host:port of lnd's gRPC listener, e.g. '127.0.0.1:10009'. */
  readonly host: string;
  /** lnd's tls.cert (PEM), pinned as the only trusted root. */
  readonly tlsCert: Buffer;
  /** The binary macaroon file (invoice.macaroon is enough). Never logged. */
  readonly macaroon: Buffer;
  /**
   * Reads both again; called before each connection attempt after the first, since lnd rewrites
   * tls.cert when it renews it (an expired certificate at start, --tlsautorefresh) and an operator may
   * bake a new macaroon. If it throws, the last pair read is used.
   */
  readonly reload?: () => { readonly tlsCert: Buffer; readonly macaroon: Buffer };
  /** Where the resume cursor is kept across restarts; without it every start rescans all invoices. */
  readonly stateFile?: string;
  readonly log: Logger;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Milliseconds since the epoch; stamps creationDate on fresh invoices. */
  readonly now?: () => number;
  /** Reconnect and recheck timers (the app's one clock). */
  readonly timers?: Pick<Clock, 'after'>;
  /** Deadline of each unary call. Default 10 000. */
  readonly callTimeoutMs?: number;
  /** With a saved cursor, how many recent invoices to re-list on (re)connect. Default 100. */
  readonly replayMargin?: number;
  /** ListInvoices page size. Default 500. */
  readonly pageSize?: number;
  /** After subscribing with settle_index 0, re-list on the first event or after this long. Default 1000. */
  readonly recheckMs?: number;
}

/** lnd's expiry when AddInvoice gets 0 (since v0.13). */
const DEFAULT_EXPIRY_SECONDS = 86_400;
/** How many settled r_hashes are remembered to suppress replays within one process. */
const REMEMBERED_SETTLES = 100_000;

export class LndBackend extends EventEmitter implements InvoiceBackend {
  readonly kind = 'lnd' as const;
  private readonly host: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly margin: bigint;
  private readonly pageSize: number;
  private readonly recheckMs: number;
  private readonly cursorFile: CursorFile | undefined;
  private readonly reported = new RecentHashes(REMEMBERED_SETTLES);

  private current: BackendStatus = { up: false, reason: 'lnd client not started' };
  private rpc: LndRpc | undefined;
  private stream: ClientReadableStream<unknown> | undefined;
  private cursor: Cursor = NO_CURSOR;
  private timer: Timer | undefined;
  private readonly timers: Pick<Clock, 'after'>;
  private recheckTimer: Timer | undefined;
  private failures = 0;
  /** Bumped whenever a connection is abandoned, so its late callbacks are ignored. */
  private generation = 0;
  private started = false;
  private closed = false;
  private infoRequested = false;
  /** The certificate and macaroon connected with (the options', then each reload's). */
  private credentials: { readonly tlsCert: Buffer; readonly macaroon: Buffer };
  private attempts = 0;
  /** Whether the last reload failed: logged once until one succeeds. */
  private reloadFailed = false;

  constructor(private readonly options: LndBackendOptions) {
    super();
    this.host = options.host;
    this.credentials = { tlsCert: options.tlsCert, macaroon: options.macaroon };
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? systemClock();
    this.timeoutMs = options.callTimeoutMs ?? 10_000;
    this.initialBackoffMs = options.backoff?.initialMs ?? 250;
    this.maxBackoffMs = options.backoff?.maxMs ?? 30_000;
    this.margin = BigInt(options.replayMargin ?? 100);
    this.pageSize = options.pageSize ?? 500;
    this.recheckMs = options.recheckMs ?? 1000;
    this.cursorFile = options.stateFile === undefined ? undefined : new CursorFile(options.stateFile, options.log);
  }

  status(): BackendStatus {
    return this.current;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.options.stateFile !== undefined) this.cursor = await loadCursor(this.options.stateFile, this.log);
    if (this.closed) return;
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abandon();
    this.current = { up: false, reason: 'lnd client closed' };
    await this.cursorFile?.flush();
  }

  async addInvoice(request: InvoiceRequest): Promise<Invoice> {
    const rpc = this.rpc;
    if (!this.current.up || !rpc) throw new LightningError('LN_ERR_UNAVAILABLE', 'lightning unavailable');
    if (request.valueSat < 0n || !Number.isSafeInteger(request.expirySeconds) || request.expirySeconds < 0) {
      throw new LightningError('LN_ERR_PROTOCOL', 'invoice request needs valueSat >= 0 and whole expirySeconds >= 0');
    }
    const creationDate = Math.floor(this.now() / 1000);
    let raw: unknown;
    try {
      raw = await rpc.unary('AddInvoice', {
        memo: request.memo,
        value: request.valueSat.toString(),
        expiry: String(request.expirySeconds),
      });
    } catch (err) {
      throw lndFailure(err, this.host, this.timeoutMs);
    }
    const reply = readAddInvoiceResponse(raw);
    // lnd's own creation_date and expiry (the request's timestamp and `x` tag), not our clock's guess
    // before the call: lnd stops accepting payment at exactly that creation_date + expiry.
    let issued: { creationDate: number; expirySeconds: number } | undefined;
    try {
      const d = decodePaymentRequest(reply.paymentRequest);
      issued = { creationDate: d.timestamp, expirySeconds: d.expirySeconds };
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "lnd's payment request did not decode; using the local clock for its expiry");
    }
    return {
      rHash: reply.rHash,
      paymentRequest: reply.paymentRequest,
      addIndex: reply.addIndex,
      settleIndex: 0n,
      state: 'OPEN',
      valueSat: request.valueSat,
      amountPaidSat: 0n,
      memo: request.memo,
      creationDate: issued?.creationDate ?? creationDate,
      expirySeconds: issued?.expirySeconds ?? (request.expirySeconds === 0 ? DEFAULT_EXPIRY_SECONDS : request.expirySeconds),
      settleDate: 0,
    };
  }

  async lookupInvoice(rHash: Buffer): Promise<Invoice | undefined> {
    const rpc = this.rpc;
    if (!rpc) throw new LightningError('LN_ERR_UNAVAILABLE', 'lightning unavailable');
    let raw: unknown;
    try {
      raw = await rpc.unary('LookupInvoice', { r_hash: rHash });
    } catch (err) {
      if (isGrpcFailure(err) && err.code === GrpcStatus.NOT_FOUND) return undefined;
      throw lndFailure(err, this.host, this.timeoutMs);
    }
    return readInvoice(raw);
  }

  /** One connection attempt: fresh channel, reconcile, subscribe. Failures schedule the next attempt. */
  private async connect(): Promise<void> {
    this.timer = undefined;
    const generation = this.generation;
    if (this.attempts++ > 0) this.reloadCredentials();
    const rpc = new LndRpc({
      host: this.host, tlsCert: this.credentials.tlsCert, macaroon: this.credentials.macaroon, timeoutMs: this.timeoutMs,
    });
    this.rpc = rpc;
    try {
      const from = await this.reconcile(rpc, generation);
      if (generation !== this.generation) return;
      this.subscribe(rpc, from, generation);
      this.failures = 0;
      this.setStatus({ up: true });
      this.logNodeInfo(rpc);
    } catch (err) {
      this.fail(generation, lndFailure(err, this.host, this.timeoutMs));
    }
  }

  private reloadCredentials(): void {
    const reload = this.options.reload;
    if (!reload) return;
    let next: { readonly tlsCert: Buffer; readonly macaroon: Buffer };
    try {
      next = reload();
    } catch (err) {
      if (!this.reloadFailed) {
        this.log.warn({ host: this.host, err: err instanceof Error ? err.message : String(err) }, 'lnd credentials not read again; the last ones are used');
      }
      this.reloadFailed = true;
      return;
    }
    this.reloadFailed = false;
    const cert = !next.tlsCert.equals(this.credentials.tlsCert);
    const macaroon = !next.macaroon.equals(this.credentials.macaroon);
    if (cert || macaroon) this.log.info({ host: this.host, newTlsCert: cert, newMacaroon: macaroon }, 'lnd credentials changed on disk; connecting with the new ones');
    this.credentials = next;
  }

  /** ListInvoices from the cursor, reporting SETTLED ones; returns where to subscribe from. */
  private async reconcile(rpc: LndRpc, generation: number): Promise<Cursor> {
    let saved = this.cursor;
    if (saved.addIndex > 0n) {
      const newest = readListInvoiceResponse(await rpc.unary('ListInvoices', { reversed: true, num_max_invoices: '1' }));
      const top = newest.invoices[0]?.addIndex ?? newest.lastIndexOffset; // the newest may be a skipped one
      if (top < saved.addIndex) {
        this.log.warn({ savedAddIndex: saved.addIndex.toString(), lndAddIndex: top.toString() },
          'lnd has fewer invoices than the saved cursor; rescanning from the start');
        saved = NO_CURSOR;
      }
    }
    const start = scanStart(saved, this.margin);
    const tally = new ScanTally(saved, start);
    const complete = await this.listFrom(rpc, generation, start, this.pageSize, (page) => tally.page(page));
    if (!complete) return saved;
    this.cursor = tally.subscription();
    this.cursorFile?.save(this.cursor);
    return this.cursor;
  }

  /**
   * Pages through ListInvoices after `offset` (at most `limit` per page, one page when `onePage`),
   * reporting SETTLED invoices. false when the connection was abandoned meanwhile.
   */
  private async listFrom(rpc: LndRpc, generation: number, offset: bigint, limit: number,
    onPage: (invoices: readonly Invoice[]) => void, onePage = false): Promise<boolean> {
    for (;;) {
      const page = readListInvoiceResponse(await rpc.unary('ListInvoices', {
        index_offset: offset.toString(), num_max_invoices: String(limit),
      }));
      if (generation !== this.generation) return false;
      onPage(page.invoices);
      for (const invoice of page.invoices) {
        if (invoice.state === 'SETTLED') this.report(invoice);
        else if (invoice.state === 'CANCELED') this.emitSafely('canceled', invoice);
      }
      if (onePage || page.invoices.length < limit || page.lastIndexOffset <= offset) return true;
      offset = page.lastIndexOffset;
    }
  }

  /** The re-list a settle_index-0 subscription needs once lnd has registered it (cursor.ts, StreamCursor). */
  private async recheck(rpc: LndRpc, tracker: StreamCursor, generation: number): Promise<void> {
    const first = tracker.recheck === 'first';
    try {
      const complete = await this.listFrom(rpc, generation, 0n, first ? 1 : this.pageSize, () => undefined, first);
      if (!complete) return;
    } catch (err) {
      this.fail(generation, lndFailure(err, this.host, this.timeoutMs));
      return;
    }
    tracker.rechecked();
    this.cursor = tracker.current;
    this.cursorFile?.save(this.cursor);
  }

  private subscribe(rpc: LndRpc, from: Cursor, generation: number): void {
    const tracker = new StreamCursor(from);
    const stream = rpc.subscribeInvoices({ add_index: from.addIndex.toString(), settle_index: from.settleIndex.toString() });
    this.stream = stream;
    stream.on('data', (raw: unknown) => {
      if (generation !== this.generation) return;
      let invoice: Invoice;
      try {
        invoice = readInvoice(raw);
      } catch (err) {
        this.log.warn({ err }, 'ignoring a malformed invoice event from lnd');
        return;
      }
      tracker.see(invoice);
      this.cursor = tracker.current;
      // lnd v0.21 never sends CANCELED here, but a node that does is believed at once.
      if (invoice.state === 'CANCELED') this.emitSafely('canceled', invoice);
      if (invoice.state !== 'SETTLED') return;
      this.report(invoice);
      this.cursorFile?.save(this.cursor);
    });
    stream.on('error', (err: unknown) => this.fail(generation, lndFailure(err, this.host, this.timeoutMs)));
    if (tracker.recheck !== 'none') {
      // The first event proves lnd has registered the stream; the timer covers a quiet node.
      const run = (): void => {
        if (this.recheckTimer === undefined || generation !== this.generation) return;
        this.recheckTimer.cancel();
        this.recheckTimer = undefined;
        void this.recheck(rpc, tracker, generation);
      };
      this.recheckTimer = this.timers.after(this.recheckMs, run);
      stream.once('data', run);
    }
    stream.on('status', (s: StatusObject) => {
      if (s.code !== GrpcStatus.OK) return; // errors arrive through 'error'
      this.fail(generation, new LightningError('LN_ERR_UNAVAILABLE', `lnd at ${this.host} ended the invoice subscription`));
    });
  }

  private report(invoice: Invoice): void {
    if (!this.reported.add(invoice.rHash)) return;
    this.emitSafely('settled', invoice);
  }

  private emitSafely(event: 'settled' | 'canceled', invoice: Invoice): void {
    try {
      this.emit(event, invoice);
    } catch (err) {
      this.log.error({ err, event }, 'an invoice listener threw');
    }
  }

  /** Drops the connection of `generation` (if still current), reports why, and retries after a backoff. */
  private fail(generation: number, error: LightningError): void {
    if (generation !== this.generation || this.closed) return;
    this.abandon();
    this.setStatus({ up: false, reason: error.message });
    const delay = backoffDelay(this.failures++, { minDelayMs: this.initialBackoffMs, maxDelayMs: this.maxBackoffMs });
    this.timer = this.timers.after(delay, () => void this.connect());
  }

  private abandon(): void {
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
    this.recheckTimer?.cancel();
    this.recheckTimer = undefined;
    this.stream?.cancel();
    this.stream = undefined;
    this.rpc?.close();
    this.rpc = undefined;
  }

  private setStatus(next: BackendStatus): void {
    if (next.up === this.current.up && next.reason === this.current.reason) return;
    this.current = next;
    if (next.up) this.log.info({ host: this.host }, 'lnd connected');
    else this.log.warn({ host: this.host, reason: next.reason }, 'lnd unavailable');
    this.emit('status', next);
  }

  /** GetInfo needs info:read, which invoice.macaroon lacks: a nice-to-have log line only. */
  private logNodeInfo(rpc: LndRpc): void {
    if (this.infoRequested) return;
    this.infoRequested = true;
    rpc.unary('GetInfo', {}).then(readGetInfoResponse).then((info) => {
      this.log.info({ alias: info.alias, version: info.version, pubkey: info.identityPubkey,
        blockHeight: info.blockHeight, synced: info.syncedToChain, networks: info.networks }, 'lnd node');
    }).catch((err: unknown) => {
      this.log.debug({ reason: lndFailure(err, this.host, this.timeoutMs).message }, 'lnd GetInfo unavailable; not needed');
    });
  }
}
