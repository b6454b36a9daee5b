// Pay-per-ticker: a priced .u.sub gets an invoice and waits in .u.pendingInvoices until the backend
// reports it SETTLED; then the paper's addPayes puts it into .u.w. Spec: the Lightning tickerplants
// paper's u.q (sub, add, pendingInvoices, processInvoices, addPayes); lnd's Invoice lifecycle.
//
// The API (rendered by the q surface as q values, by the WebSocket gateway as JSON, and the base L402
// can build on):
//   subscribe(s, buyer, tables, filter) → Offer[] (sync when every table is free, else a Promise):
//     {kind:'free', table}                      subscribed now (free table)
//     {kind:'invoice', table, invoice}          pay invoice (one per call, shared by its priced tables)
//     {kind:'refused', table, error, reason}    error = q text ('lightning unavailable, 'invoice,
//                                               'pending); reason = one line for operators
//   subPaid(s, table, filter, preimage) → Claim: a credit (a settled invoice of ours) re-attached.
//   L402 (HTTP buyers without a connection): price, mintFor(table, filter, buyer) → TokenOffer,
//   purchase(hash) → what a settled booked invoice bought, hold(hash, s) → one payment, one stream.
//   cancel(handle, table), disconnect(handle), pending() / pendingTable(), describe(hash), stats.
// The money rules it keeps (README "Money model"):
//   - only invoices in the book (minted here, recorded before the buyer sees them) count;
//   - every settled booked invoice is in the ledger once, with exactly the requests the book records;
//   - a paid buyer is enabled, or holds a credit claimable with the preimage (within its entitlement);
//   - one payment, one stream: the claim on a payment is held by one live connection at a time.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { addressBlock } from '../address.js';
import { unixMs } from '../clock.js';
import { LogRate } from '../log-rate.js';
import type { Clock, Timer } from '../clock.js';
import { Q, TpError } from '../errors.js';
import type { QText } from '../errors.js';
import { dict, encodeMessage, list, MsgType, Outbound, str, sym, symbols, table } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { Subscriber, SymFilter, Tickerplant } from '../tick/index.js';
import type { Invoice, InvoiceBackend } from './backend.js';
import type { BookEntry, InvoiceBook } from './book.js';
import type { Ledger, LedgerEntry } from './ledger.js';
import { memoOf } from './memo.js';
import type { Pricing } from './pricing.js';

export interface PaywallOptions {
  readonly tp: Tickerplant;
  readonly backend: InvoiceBackend;
  readonly pricing: Pricing;
  readonly ledger: Ledger;
  readonly book: InvoiceBook;
  readonly clock: Clock;
  readonly log: Logger;
  /** The live subscriber behind a handle, or undefined once it has gone. */
  readonly lookup: (handle: number) => Subscriber | undefined;
  /** [invoiceExpirySeconds=3600] as the paper. */
  readonly invoiceExpirySeconds?: number;
  /** Pay per period; undefined: until disconnect, as the paper. */
  readonly entitlementMs?: number;
  /** [16] unpaid invoices one connection may hold; the next .u.sub is refused with 'pending. */
  readonly maxPendingPerConn?: number;
  /** [10000] unpaid invoices in total. */
  readonly maxPendingInvoices?: number;
}

/** Who asks: the -u user ('' when none) and the peer address, as the book records them. */
export interface Buyer { readonly user: string; readonly peer?: string | undefined }

interface Request { readonly table: string; readonly filter: SymFilter }

/** What a client needs to show an invoice. */
export interface InvoiceInfo {
  /** Hex payment hash. */
  readonly hash: string;
  readonly paymentRequest: string;
  readonly amountSat: number;
  /** lnd's add_index. */
  readonly addIndex: bigint;
  /** Unix ms: lnd's creation_date + expiry. */
  readonly expiresAt: number;
}

export type Offer =
  | { readonly kind: 'free'; readonly table: string }
  | { readonly kind: 'invoice'; readonly table: string; readonly invoice: InvoiceInfo }
  | { readonly kind: 'refused'; readonly table: string; readonly error: QText; readonly reason: string };

/** An L402 invoice: the invoice and the end of what it buys (unix ms), for the token's expiry caveat. */
export type TokenOffer =
  | { readonly kind: 'invoice'; readonly invoice: InvoiceInfo; readonly until: number }
  | { readonly kind: 'free' }
  | { readonly kind: 'refused'; readonly error: QText; readonly reason: string };

/**
 * When lnd is asked whether an invoice our clock closed as expired is canceled: after these delays (the
 * last covers clocks an hour apart); still unanswered, reconcile asks at the next start or reconnect.
 */
export const EXPIRY_CHECKS_MS: readonly number[] = [5_000, 60_000, 3_600_000];

/** The book's user of L402 purchases (HTTP buyers have no -u user; their peer address is booked). */
export const L402_USER = 'l402';
/** How long an L402 token lasts from its invoice's creation when no --entitlement period is sold. */
export const L402_DEFAULT_LIFETIME_MS = 86_400_000;

/** An unpaid L402 invoice: counted against the caps until it settles, is canceled or expires. */
interface TokenPending {
  readonly peer: string;
  readonly timer: Timer;
  /** What it buys ((table; syms) as one string), and the offer made: given again to the same peer. */
  readonly buys: string;
  readonly offer: { readonly kind: 'invoice'; readonly invoice: InvoiceInfo; readonly until: number };
}

/** An L402 invoice is offered again while at least this long is left to pay it. */
const REOFFER_MIN_MS = 60_000;

/** The payment hash a preimage (32 bytes, hex or base64) proves; undefined when it is not one. */
function paymentHashOf(preimage: string): string | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(preimage) ? Buffer.from(preimage, 'hex') : Buffer.from(preimage, 'base64');
  return bytes.length === 32 ? createHash('sha256').update(bytes).digest('hex') : undefined;
}

export type Claim =
  | { readonly kind: 'claimed'; readonly table: string; readonly hash: string; readonly until: number | null }
  | { readonly kind: 'refused'; readonly table: string; readonly error: QText; readonly reason: string };

/** An unpaid invoice waiting for its buyer's payment (rows of .u.pendingInvoices, one per request). */
interface Pending {
  readonly handle: number;
  readonly user: string;
  readonly requests: Request[];
  readonly info: InvoiceInfo;
  readonly kind: 'Invoice' | 'Renewal';
  readonly timer: Timer;
}

/** A payment in force for the connection holding it: its period's end and the timers that act on it. */
interface Entitlement {
  handle: number;
  readonly hash: string;
  requests: Request[];
  until: number;
  renewal: string | undefined;
  timers: Timer[];
}

export interface PaywallStats {
  invoices: number; reused: number; settled: number; satsEarned: number; orphans: number; expired: number;
  canceled: number; foreign: number; refusedPending: number; claims: number; claimsInUse: number;
  /** Invoices asked for that the backend did not mint or the book did not record (nothing handed out). */
  mintFailures: number;
}

const hex = (b: Buffer): string => b.toString('hex');
/** What an invoice buys as one string: each (table; syms) in order, syms sorted, ` for every sym. */
const buysKey = (requests: ReadonlyArray<{ readonly table: string; readonly syms: Iterable<string> | null }>): string =>
  requests.map((r) => `${r.table}|${r.syms === null ? '`' : [...r.syms].sort().join(',')}`).join(';');

export class Paywall {
  private readonly pendingByHash = new Map<string, Pending>();
  private readonly entitlements = new Map<string, Entitlement>();
  /** Renewal invoice hash → the entitlement it extends. */
  private readonly renewals = new Map<string, Entitlement>();
  /** Payment hash → the handle holding it (one payment, one stream). */
  private readonly claims = new Map<string, number>();
  /** Original payment hash → the latest period end its renewals bought. */
  private readonly extended = new Map<string, number>();
  /** Mints in flight per handle (counted against the caps). */
  private readonly minting = new Map<number, number>();
  private mintingTotal = 0;
  /** Unpaid L402 invoices by hash, and L402 mints in flight per peer address. */
  private readonly tokenPending = new Map<string, TokenPending>();
  private readonly tokenMinting = new Map<string, number>();
  /**
   * Invoices whose request went (replaced, unsubscribed, the buyer left) but that lnd still takes until
   * they expire: paid, they are a credit. They count against the caps until then, or a caller alternating
   * .u.sub arguments (or reconnecting) could mint without bound.
   */
  private readonly stillPayable = new Map<string, { handle: number; info: InvoiceInfo; kind: 'Invoice' | 'Renewal'; timer: Timer }>();
  /** Invoices our clock closed as expired, by hash: the timer that asks lnd whether it agrees. */
  private readonly expiryChecks = new Map<string, Timer>();
  readonly stats: PaywallStats = {
    invoices: 0, reused: 0, settled: 0, satsEarned: 0, orphans: 0, expired: 0, canceled: 0, foreign: 0,
    refusedPending: 0, claims: 0, claimsInUse: 0, mintFailures: 0,
  };
  private readonly log: Logger;
  /** Refusals a buyer can cause at its request rate are logged once a period (log-rate.ts). */
  private readonly logRate: LogRate;
  private readonly maxPerConn: number;
  private readonly maxTotal: number;
  private closed = false;

  constructor(private readonly o: PaywallOptions) {
    this.log = o.log.child({ mod: 'paywall' });
    this.logRate = new LogRate(o.clock);
    this.maxPerConn = o.maxPendingPerConn ?? 16;
    this.maxTotal = o.maxPendingInvoices ?? 10_000;
    for (const e of o.ledger.entries()) {
      if (e.renews && e.until !== null) this.extendTo(e.renews, Date.parse(e.until));
    }
    o.backend.on('settled', (inv: Invoice) => this.guard('settlement', () => this.processInvoice(inv)));
    o.backend.on('canceled', (inv: Invoice) => this.guard('cancellation', () => this.canceled(hex(inv.rHash))));
    o.backend.on('status', (s: { up: boolean }) => { if (s.up) void this.reconcile(); });
  }

  private get now(): number { return unixMs(this.o.clock); }

  /** Unpaid invoices of every kind (q, WebSocket, L402) and mints in flight: what --max-pending-invoices caps. */
  private get unpaid(): number {
    return this.pendingByHash.size + this.stillPayable.size + this.tokenPending.size + this.mintingTotal;
  }

  /** Unpaid invoices minted for this connection: its pending requests' and its dropped but payable ones. */
  private unpaidOf(handle: number): number {
    let n = 0;
    for (const p of this.pendingByHash.values()) if (p.handle === handle) n++;
    for (const p of this.stillPayable.values()) if (p.handle === handle) n++;
    return n;
  }

  /** A backend event handler that throws must not take the process (and the other buyers) with it. */
  private guard(what: string, fn: () => void): void {
    try { fn(); } catch (err) { this.log.error({ err: err instanceof Error ? err.message : String(err), what }, 'payment event not processed'); }
  }

  /**
   * .u.sub for these tables: free ones subscribe at once; priced ones share one invoice, recorded in
   * the book before it is returned. A buyer asking again for the same thing gets the same open invoice.
   */
  subscribe(s: Subscriber, buyer: Buyer, tables: readonly string[], filter: SymFilter): Offer[] | Promise<Offer[]> {
    const priced = tables.filter((t) => this.o.pricing.amount(t, filter) > 0);
    const refuse = (error: QText, reason: string): Offer[] => priced.map((table) => ({ kind: 'refused', table, error, reason }));
    if (priced.length > 0 && !this.o.backend.status().up) {
      return refuse(Q.lightningUnavailable, this.o.backend.status().reason ?? 'payment backend down');
    }
    // The free tables are subscribed only with a successful answer, in the same step as it is returned:
    // a refused call changes nothing, and no free table's row reaches the caller before the reply (u.q's
    // order) while an invoice is being minted.
    const answer = (pricedOffers: Offer[]): Offer[] => {
      const ok = pricedOffers.every((o) => o.kind !== 'refused');
      return tables.map((table) => {
        if (priced.includes(table)) return pricedOffers.find((o) => o.table === table) as Offer;
        if (ok) this.o.tp.sub(s, table, filter);
        return { kind: 'free', table };
      });
    };
    if (priced.length === 0) return answer([]);
    const requests = priced.map((table) => ({ table, filter }));
    const reuse = this.reusable(s.handle, requests);
    if (reuse) {
      this.stats.reused++;
      if (reuse.dropped) {
        // Asked again for what an invoice it had dropped (by asking for something else) buys: that one again.
        this.forgetPayable(reuse.info.hash);
        this.replace(s.handle, priced);
        this.addPending(s.handle, buyer.user, requests, reuse.info, 'Invoice');
      }
      return answer(priced.map((table) => ({ kind: 'invoice', table, invoice: reuse.info })));
    }
    // What this call replaces stays payable until it expires (stillPayable), so it still counts.
    const mine = this.unpaidOf(s.handle) + (this.minting.get(s.handle) ?? 0);
    if (mine >= this.maxPerConn || this.unpaid >= this.maxTotal) {
      this.stats.refusedPending++;
      const reason = mine >= this.maxPerConn ? `at most ${this.maxPerConn} unpaid invoices per connection` : `at most ${this.maxTotal} unpaid invoices in all`;
      this.logRate.warn(this.log, `invoice refused ${reason}`, { h: s.handle, reason }, 'invoice refused');
      return answer(refuse(Q.pending, reason));
    }
    const amount = priced.reduce((n, t) => n + this.o.pricing.amount(t, filter), 0);
    this.minting.set(s.handle, (this.minting.get(s.handle) ?? 0) + 1);
    this.mintingTotal++;
    const done = (): void => {
      const n = (this.minting.get(s.handle) ?? 1) - 1;
      if (n > 0) this.minting.set(s.handle, n); else this.minting.delete(s.handle);
      this.mintingTotal--;
    };
    return this.mint(requests, amount, 'Invoice', { handle: s.handle, user: buyer.user, peer: buyer.peer ?? null, renews: null })
      .then((info) => {
        done();
        if (this.o.lookup(s.handle) !== s) {
          this.log.info({ h: s.handle, hash: info.hash }, 'buyer left before the invoice was ready');
          this.keepPayable(s.handle, info, 'Invoice'); // booked: lnd takes it all the same
          return answer(refuse(Q.handle, 'the buyer disconnected'));
        }
        // Only now, with the new invoice booked, does the caller's old subscription and request go.
        this.replace(s.handle, priced);
        this.addPending(s.handle, buyer.user, requests, info, 'Invoice');
        return answer(priced.map((table) => ({ kind: 'invoice', table, invoice: info })));
      }, (err: unknown) => {
        done();
        const unavailable = err instanceof TpError && err.code === 'LN_ERR_UNAVAILABLE';
        return answer(refuse(unavailable ? Q.lightningUnavailable : Q.invoice, err instanceof Error ? err.message : String(err)));
      });
  }

  /** A new invoice for these tables replaces the connection's subscription to them and its requests for them. */
  private replace(handle: number, tables: readonly string[]): void {
    for (const t of tables) {
      this.o.tp.w.remove(t, handle);
      this.dropRequests((p) => p.handle === handle, t, 'replaced');
    }
  }

  /** AddInvoice, then the book (write-ahead). Rejects with the cause; nothing is handed out on failure. */
  private async mint(requests: Request[], amount: number, kind: 'Invoice' | 'Renewal',
    who: { handle: number; user: string; peer: string | null; renews: string | null },
    expirySeconds = this.o.invoiceExpirySeconds ?? 3600): Promise<InvoiceInfo> {
    let inv: Invoice;
    try {
      inv = await this.o.backend.addInvoice({ valueSat: BigInt(amount), memo: memoOf(kind, requests), expirySeconds });
    } catch (err) {
      this.stats.mintFailures++;
      // Every .u.sub while lnd is down comes here: a line a period, the status change has its own.
      this.logRate.warn(this.log, 'invoice not created', { err: err instanceof Error ? err.message : String(err), h: who.handle }, 'invoice not created');
      throw err;
    }
    const hash = hex(inv.rHash);
    const entry: BookEntry = {
      r_hash: hash, add_index: String(inv.addIndex), payment_request: inv.paymentRequest, amount_sat: amount,
      requests: requests.map((r) => ({ table: r.table, syms: r.filter === null ? null : [...r.filter] })),
      user: who.user, handle: who.handle, peer: who.peer, created: inv.creationDate, expiry: inv.expirySeconds,
      kind, renews: who.renews,
    };
    try {
      this.o.book.mint(entry);
    } catch (err) {
      this.stats.mintFailures++;
      // Not in the book, so never handed out: nobody can pay it.
      throw new TpError('JOURNAL_ERR_IO', `invoice book not written: ${(err as { code?: string }).code ?? String(err)}`);
    }
    this.stats.invoices++;
    return {
      hash, paymentRequest: inv.paymentRequest, amountSat: amount, addIndex: inv.addIndex,
      expiresAt: (inv.creationDate + inv.expirySeconds) * 1000,
    };
  }

  private addPending(handle: number, user: string, requests: Request[], info: InvoiceInfo, kind: 'Invoice' | 'Renewal'): void {
    // lnd stops accepting payment at creation_date + expiry and cancels the invoice silently
    // (SubscribeInvoices carries no CANCELED event): a timer at that instant removes the request.
    // (lnd: still payable at the deadline itself, canceled once it has passed.)
    const timer = this.atExpiry(info.expiresAt, () => {
      if (this.dropInvoice(info.hash, 'expired')) this.stats.expired++;
      this.closeExpired(info.hash);
    });
    this.pendingByHash.set(info.hash, { handle, user, requests: [...requests], info, kind, timer });
    this.log.info({ h: handle, hash: info.hash, amount: info.amountSat, tables: requests.map((r) => r.table) }, 'invoice issued');
  }

  /** Removes one table's request from the pending invoices pred selects; an invoice left with none goes. */
  private dropRequests(pred: (p: Pending) => boolean, table: string, reason: string): void {
    for (const [hash, p] of [...this.pendingByHash]) {
      if (!pred(p)) continue;
      const i = p.requests.findIndex((r) => r.table === table);
      if (i < 0) continue;
      p.requests.splice(i, 1);
      this.log.info({ h: p.handle, hash, table, reason }, 'pending request removed');
      if (p.requests.length === 0) this.dropInvoice(hash, reason);
    }
  }

  private dropInvoice(hash: string, reason: string): boolean {
    const p = this.pendingByHash.get(hash);
    if (!p) return false;
    p.timer.cancel();
    this.pendingByHash.delete(hash);
    if (reason !== 'settled' && reason !== 'canceled' && reason !== 'expired') this.keepPayable(p.handle, p.info, p.kind);
    if (p.kind === 'Renewal') {
      const e = this.renewals.get(hash);
      this.renewals.delete(hash);
      if (e && e.renewal === hash) e.renewal = undefined;
    }
    if (reason !== 'settled') this.log.info({ h: p.handle, hash, reason }, 'pending invoice removed');
    return true;
  }

  /** Just past an invoice's expiry (lnd: still payable at the deadline itself, canceled once it has passed). */
  private atExpiry(expiresAt: number, fn: () => void): Timer {
    return this.o.clock.after(Math.max(0, expiresAt - this.now + 1), fn);
  }

  /** lnd still takes it until it expires (its settlement is then a credit): counted until then. */
  private keepPayable(handle: number, info: InvoiceInfo, kind: 'Invoice' | 'Renewal'): void {
    const timer = this.atExpiry(info.expiresAt, () => {
      this.stillPayable.delete(info.hash);
      this.closeExpired(info.hash);
    });
    this.stillPayable.set(info.hash, { handle, info, kind, timer });
  }

  /**
   * This connection's invoice for exactly these requests that is still payable: its own pending one, or
   * one it dropped. What an invoice buys is what the book says: a pending invoice's requests shrink as
   * they are dropped, and one bought for two tables is not offered again for one at the price of two.
   */
  private reusable(handle: number, requests: readonly Request[]): { readonly info: InvoiceInfo; readonly dropped: boolean } | undefined {
    const now = this.now;
    const want = buysKey(requests.map((r) => ({ table: r.table, syms: r.filter })));
    const buys = (hash: string): boolean => {
      const booked = this.o.book.get(hash)?.requests;
      return booked !== undefined && buysKey(booked) === want;
    };
    for (const [hash, p] of this.pendingByHash) {
      if (p.handle === handle && p.kind === 'Invoice' && p.info.expiresAt > now && buys(hash)) return { info: p.info, dropped: false };
    }
    for (const [hash, p] of this.stillPayable) {
      if (p.handle === handle && p.kind === 'Invoice' && p.info.expiresAt > now && buys(hash)) return { info: p.info, dropped: true };
    }
    return undefined;
  }

  /**
   * Our clock says the invoice can no longer be paid; lnd has the last word. Its expiry watcher cancels
   * the invoice at the deadline, so asking a little later either confirms it (the book forgets the
   * invoice) or finds a settlement we have not heard of yet (paid just before the deadline).
   */
  private closeExpired(hash: string): void {
    this.o.book.close(hash, 'expired');
    this.checkExpired(hash, 0);
  }

  private checkExpired(hash: string, attempt: number): void {
    const delay = EXPIRY_CHECKS_MS[attempt];
    if (delay === undefined || this.closed) return; // still unconfirmed: reconcile asks again (at start, when lnd is back)
    this.expiryChecks.set(hash, this.o.clock.after(delay, () => {
      this.expiryChecks.delete(hash);
      void this.ask(hash).then((answer) => { if (answer !== 'answered') this.checkExpired(hash, attempt + 1); });
    }));
  }

  /**
   * LookupInvoice for a booked invoice: SETTLED is processed (ledger, buyer enabled or credited),
   * CANCELED or unknown to lnd closes it. 'open': lnd still takes it; 'down': not asked (logged).
   */
  private async ask(hash: string): Promise<'answered' | 'open' | 'down'> {
    let inv: Invoice | undefined;
    try {
      inv = await this.o.backend.lookupInvoice(Buffer.from(hash, 'hex'));
    } catch (err) {
      this.log.warn({ hash, err: err instanceof Error ? err.message : String(err) }, 'invoice not looked up');
      return 'down';
    }
    if (!inv) this.canceled(hash, 'missing');
    else if (inv.state === 'SETTLED') this.guard('settlement', () => this.processInvoice(inv as Invoice));
    else if (inv.state === 'CANCELED') this.canceled(hash);
    else return 'open';
    return 'answered';
  }

  private forgetPayable(hash: string): void {
    const p = this.stillPayable.get(hash);
    if (!p) return;
    p.timer.cancel();
    this.stillPayable.delete(hash);
  }

  /** lnd canceled an invoice (seen on the stream, in ListInvoices or LookupInvoice), or does not know it: its request goes at once. */
  private canceled(hash: string, reason: 'canceled' | 'missing' = 'canceled'): void {
    this.forgetPayable(hash);
    if (this.dropInvoice(hash, 'canceled') || this.dropToken(hash)) this.stats.canceled++;
    this.o.book.close(hash, reason);
  }

  /** processInvoices: a SETTLED invoice of ours enables its waiting buyer, or becomes a credit (idempotent). */
  processInvoice(inv: Invoice): void {
    if (inv.state !== 'SETTLED') return;
    const hash = hex(inv.rHash);
    const preimage = inv.preimage && createHash('sha256').update(inv.preimage).digest().equals(inv.rHash) ? hex(inv.preimage) : undefined;
    if (this.o.ledger.has(hash)) return;
    const booked = this.o.book.get(hash);
    if (!booked) {
      this.stats.foreign++;
      this.log.debug({ hash, addIndex: String(inv.addIndex) }, 'settlement of an invoice not in the book ignored');
      return;
    }
    const p = this.pendingByHash.get(hash);
    const renewed = this.renewals.get(hash);
    this.dropInvoice(hash, 'settled');
    this.dropToken(hash);
    this.forgetPayable(hash);
    const l402 = booked.user === L402_USER;
    const buyer = p ? this.o.lookup(p.handle) : undefined;
    const holder = renewed && this.entitlements.get(renewed.hash) === renewed ? this.o.lookup(renewed.handle) : undefined;
    const period = this.o.entitlementMs;
    const base = renewed ? Math.max(renewed.until, this.now)
      : booked.renews ? Math.max(this.extended.get(booked.renews) ?? 0, this.now) : this.now;
    // An L402 token's expiry caveat is fixed when it is minted: the ledger records the same instant.
    const until = l402 ? this.tokenUntil(booked.created) : period === undefined ? null : base + period;
    const entry: LedgerEntry = {
      time: new Date(this.now).toISOString(),
      r_hash: hash,
      amount_sat: Number(inv.amountPaidSat > 0n ? inv.amountPaidSat : inv.valueSat),
      requests: booked.requests,
      handle: booked.handle,
      user: booked.user,
      peer: booked.peer,
      orphan: !buyer && !holder && !l402, // an L402 purchase is claimed with its token, never orphaned
      until: until === null ? null : new Date(until).toISOString(),
      renews: booked.renews,
    };
    this.o.ledger.record(entry);
    this.o.book.settled(hash);
    this.stats.settled++;
    this.stats.satsEarned += entry.amount_sat;
    if (entry.orphan) this.stats.orphans++;
    if (booked.renews && until !== null) this.extendTo(booked.renews, until);
    this.log.info({ hash, amount: entry.amount_sat, orphan: entry.orphan, h: entry.handle }, 'invoice settled');
    if (renewed && until !== null) {
      renewed.renewal = undefined;
      const s = holder ?? buyer;
      if (!s) return;
      if (!holder) {
        // Paid after the period had ended, from the same connection: subscribed again.
        for (const r of renewed.requests) this.o.tp.w.widen(r.table, s, r.filter);
        this.entitlements.set(renewed.hash, renewed);
        this.claims.set(renewed.hash, renewed.handle);
      }
      this.arm(renewed, until);
      s.paid?.({ hash, tables: renewed.requests.map((r) => r.table), preimage });
      return;
    }
    if (!buyer || !p) return;
    const tables: string[] = [];
    for (const r of p.requests) {
      this.o.tp.w.widen(r.table, buyer, r.filter); // the paper's addPayes
      tables.push(r.table);
    }
    this.claims.set(hash, p.handle);
    buyer.paid?.({ hash, tables, preimage });
    if (until !== null) {
      const e: Entitlement = { handle: p.handle, hash, requests: p.requests, until, renewal: undefined, timers: [] };
      this.entitlements.set(hash, e);
      this.arm(e, until);
    }
  }

  private extendTo(original: string, until: number): void {
    if (until > (this.extended.get(original) ?? 0)) this.extended.set(original, until);
  }

  /** Schedules the renewal invoice (a tenth of the period before the end, at most a minute) and the end. */
  private arm(e: Entitlement, until: number): void {
    for (const t of e.timers) t.cancel();
    e.until = until;
    const period = this.o.entitlementMs as number;
    const lead = Math.min(period / 10, 60_000);
    e.timers = [
      this.o.clock.after(Math.max(0, until - lead - this.now), () => this.renew(e)),
      this.o.clock.after(Math.max(0, until - this.now), () => this.expire(e)),
    ];
  }

  private renew(e: Entitlement): void {
    const s = this.o.lookup(e.handle);
    if (!s || e.renewal || this.entitlements.get(e.hash) !== e) return;
    const amount = e.requests.reduce((n, r) => n + this.o.pricing.amount(r.table, r.filter), 0);
    // Who asked is the payer of the period being renewed, as the ledger recorded them.
    const paid = this.o.ledger.get(e.hash);
    const user = paid?.user ?? '';
    this.mint(e.requests, amount, 'Renewal', { handle: e.handle, user, peer: paid?.peer ?? null, renews: e.hash })
      .then((info) => {
        if (this.entitlements.get(e.hash) !== e || this.o.lookup(e.handle) !== s) return; // left meanwhile: a credit if paid
        e.renewal = info.hash;
        this.renewals.set(info.hash, e);
        this.addPending(e.handle, user, e.requests, info, 'Renewal');
        const tables = e.requests.map((r) => r.table);
        // An async (`.u.renew;tables;invoice) that a q subscriber handles with its own .u.renew.
        s.deliver({
          kind: 'renew', tables, hash: info.hash, paymentRequest: info.paymentRequest,
          message: new Outbound(encodeMessage(list(sym('.u.renew'), symbols(tables), invoiceDict(info)), MsgType.Async)),
        });
      }, (err: unknown) => this.log.warn({ h: e.handle, err: err instanceof Error ? err.message : String(err) }, 'renewal invoice not created'));
  }

  private expire(e: Entitlement): void {
    if (this.now < e.until) { this.arm(e, e.until); return; }
    for (const r of e.requests) this.o.tp.w.remove(r.table, e.handle);
    this.entitlements.delete(e.hash);
    if (this.claims.get(e.hash) === e.handle) this.claims.delete(e.hash);
    for (const t of e.timers) t.cancel();
    this.log.info({ h: e.handle, hash: e.hash }, 'entitlement ended');
    this.o.lookup(e.handle)?.periodEnded?.({ hash: e.hash, tables: e.requests.map((r) => r.table) });
  }

  /**
   * .u.subPaid[t;syms;preimage]: proof of payment. The preimage's SHA-256 must be a settled invoice in
   * the ledger that covers (t;syms), whose period has not ended and that no other live connection holds.
   */
  subPaid(s: Subscriber, t: string, filter: SymFilter, preimage: string): Claim {
    const refuse = (error: QText, reason: string): Claim => ({ kind: 'refused', table: t, error, reason });
    if (!this.o.tp.tables.has(t)) return refuse(Q.access, 'no such table'); // callers name the table first (u.q's 'x)
    const hash = paymentHashOf(preimage);
    if (hash === undefined) return refuse(Q.preimage, 'a preimage is 32 bytes, hex or base64');
    const entry = this.o.ledger.get(hash);
    if (!entry) return refuse(Q.unpaid, 'no settled invoice of ours has this preimage');
    // A renewal's preimage and the original's are one payment chain: one claim, one period.
    const key = entry.renews ?? hash;
    const e = this.entitlements.get(key);
    const recorded = entry.until === null ? null : Math.max(Date.parse(entry.until), this.extended.get(key) ?? 0);
    const end = e ? e.until : recorded;
    if (end !== null && end <= this.now) return refuse(Q.expired, 'the paid period has ended');
    const covered = entry.requests.some((r) => r.table === t &&
      (r.syms === null || (filter !== null && [...filter].every((x) => (r.syms as readonly string[]).includes(x)))));
    if (!covered) return refuse(Q.unpaid, 'the payment does not cover this table and these syms');
    const holder = this.claims.get(key);
    if (holder !== undefined && holder !== s.handle && this.o.lookup(holder)) {
      this.stats.claimsInUse++;
      return refuse(Q.inUse, 'another connection holds this payment');
    }
    this.claims.set(key, s.handle);
    this.o.tp.sub(s, t, filter);
    this.stats.claims++;
    if (end !== null) {
      const keep = e && e.handle === s.handle ? e.requests.filter((r) => r.table !== t) : [];
      const moved: Entitlement = e ?? { handle: s.handle, hash: key, requests: [], until: end, renewal: undefined, timers: [] };
      moved.handle = s.handle;
      moved.requests = [...keep, { table: t, filter }];
      this.entitlements.set(key, moved);
      this.arm(moved, end);
    }
    this.log.info({ h: s.handle, hash, table: t }, 'proof of payment accepted');
    return { kind: 'claimed', table: t, hash, until: end };
  }

  /**
   * subPaid, except that an invoice of ours the ledger does not have settled yet is looked up in lnd first,
   * as an L402 purchase is: paid while the tickerplant was down, its settlement is learned at once, not
   * when the restart's walk of the book reaches it. Only the payer knows a preimage whose hash is booked:
   * nobody else can make it ask.
   */
  async subPaidLookedUp(s: Subscriber, t: string, filter: SymFilter, preimage: string): Promise<Claim> {
    const first = this.subPaid(s, t, filter, preimage);
    const hash = paymentHashOf(preimage);
    // Refused for want of a settlement the ledger lacks but the book has: lnd may know it.
    if (first.kind !== 'refused' || first.error !== Q.unpaid || hash === undefined || !this.o.book.has(hash)) return first;
    if (await this.ask(hash) !== 'answered') return first;
    // Gone while lnd answered: nothing to attach (the settlement is in the ledger, a credit to claim).
    if (!this.o.lookup(s.handle)) return first;
    return this.subPaid(s, t, filter, preimage);
  }

  /** Unsubscribing from one table: its pending request goes too, so paying later does not re-subscribe. */
  cancel(handle: number, table: string): void {
    this.dropRequests((p) => p.handle === handle, table, 'unsubscribed');
  }

  /** .z.pc: the handle's pending invoices (paid later: credits), entitlement timers and claims go. */
  disconnect(handle: number): void {
    for (const [hash, p] of [...this.pendingByHash]) if (p.handle === handle) this.dropInvoice(hash, 'disconnected');
    for (const [hash, e] of this.entitlements) {
      if (e.handle !== handle) continue;
      for (const t of e.timers) t.cancel();
      this.entitlements.delete(hash);
    }
    for (const [hash, h] of this.claims) if (h === handle) this.claims.delete(hash);
  }

  /**
   * After a restart (and whenever the backend comes up): every booked invoice that is neither settled
   * in the ledger nor closed by lnd (expired by our clock included) is looked up in lnd — a settlement
   * missed while down (or whose ledger line the disk refused before a crash) becomes its ledger entry;
   * a canceled one is closed.
   */
  reconcile(): Promise<void> {
    // One walk at a time: lnd coming up during start, or reconnecting, asks again while one runs. Asked
    // while one runs, another follows it (the running one may stop short at lnd's outage).
    if (this.reconciling) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    const walk = (async () => {
      do {
        this.reconcileAgain = false;
        await this.reconcileAll();
      } while (this.reconcileAgain && !this.closed && this.o.backend.status().up);
    })();
    this.reconciling = walk.finally(() => { this.reconciling = undefined; });
    return this.reconciling;
  }

  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;

  private async reconcileAll(): Promise<void> {
    for (const booked of this.o.book.unconfirmed()) {
      if (this.closed) return;
      if (this.o.ledger.has(booked.r_hash) || this.pendingByHash.has(booked.r_hash)) continue;
      // Not reachable: the next time lightning is up, this runs again.
      if (await this.ask(booked.r_hash) === 'down') return;
    }
  }

  // ---- L402: buyers over HTTP, with no connection to hold a pending request --------------------------

  /** Sats for (table; filter), 0 = free: the price .u.sub charges. */
  price(table: string, filter: SymFilter): number { return this.o.pricing.amount(table, filter); }

  /** The end (unix ms) of what an L402 invoice created at `createdSeconds` (lnd's creation_date) buys. */
  private tokenUntil(createdSeconds: number): number {
    return createdSeconds * 1000 + (this.o.entitlementMs ?? L402_DEFAULT_LIFETIME_MS);
  }

  /**
   * An invoice for (table; filter) for an HTTP buyer, booked before it is returned, priced as .u.sub.
   * The caps: --max-pending-invoices over every kind (L402 ones at most half of it), and
   * --max-pending-per-conn per peer address (an address, or an IPv6 /64, counts as one connection), so
   * strangers cannot mint without bound, nor crowd out the q and WebSocket buyers.
   */
  async mintFor(table: string, filter: SymFilter, buyer: Buyer): Promise<TokenOffer> {
    const refuse = (error: QText, reason: string): TokenOffer => ({ kind: 'refused', error, reason });
    if (!this.o.tp.tables.has(table)) return refuse(Q.access, 'no such table');
    const amount = this.price(table, filter);
    if (amount <= 0) return { kind: 'free' };
    const status = this.o.backend.status();
    if (!status.up) return refuse(Q.lightningUnavailable, status.reason ?? 'payment backend down');
    const peer = addressBlock(buyer.peer ?? '');
    // The same peer asking again for the same thing (lnget asks twice per purchase) gets the same invoice.
    const buys = buysKey([{ table, syms: filter }]);
    for (const p of this.tokenPending.values()) {
      if (p.peer === peer && p.buys === buys && p.offer.invoice.expiresAt - this.now >= REOFFER_MIN_MS) {
        this.stats.reused++;
        return p.offer;
      }
    }
    const inFlight = this.tokenMinting.get(peer) ?? 0;
    const mine = [...this.tokenPending.values()].filter((p) => p.peer === peer).length + inFlight;
    // Strangers over HTTP may hold half of the total: q and WebSocket buyers always find room.
    const l402Max = Math.max(1, Math.floor(this.maxTotal / 2));
    let l402 = this.tokenPending.size;
    for (const n of this.tokenMinting.values()) l402 += n;
    const reason = mine >= this.maxPerConn ? `at most ${this.maxPerConn} unpaid invoices per peer address (an IPv6 /64)`
      : this.unpaid >= this.maxTotal ? `at most ${this.maxTotal} unpaid invoices in all`
        : l402 >= l402Max ? `at most ${l402Max} unpaid L402 invoices (half of --max-pending-invoices)` : undefined;
    if (reason !== undefined) {
      this.stats.refusedPending++;
      this.logRate.warn(this.log, `invoice refused ${reason}`, { peer, reason }, 'invoice refused');
      return refuse(Q.pending, reason);
    }
    this.tokenMinting.set(peer, inFlight + 1);
    this.mintingTotal++;
    let info: InvoiceInfo;
    try {
      // The token's life runs from the invoice's creation: one paid just before it expired must still buy
      // a usable token, so the invoice lives at most half of what the token does.
      const expiry = Math.max(1, Math.min(this.o.invoiceExpirySeconds ?? 3600,
        Math.floor((this.o.entitlementMs ?? L402_DEFAULT_LIFETIME_MS) / 2000)));
      info = await this.mint([{ table, filter }], amount, 'Invoice', { handle: 0, user: L402_USER, peer: buyer.peer ?? null, renews: null }, expiry);
    } catch (err) {
      const unavailable = err instanceof TpError && err.code === 'LN_ERR_UNAVAILABLE';
      return refuse(unavailable ? Q.lightningUnavailable : Q.invoice, err instanceof Error ? err.message : String(err));
    } finally {
      const n = (this.tokenMinting.get(peer) ?? 1) - 1;
      if (n > 0) this.tokenMinting.set(peer, n); else this.tokenMinting.delete(peer);
      this.mintingTotal--;
    }
    // As addPending: lnd stops accepting payment at creation_date + expiry; then the invoice no longer counts.
    const timer = this.atExpiry(info.expiresAt, () => {
      if (this.dropToken(info.hash)) this.stats.expired++;
      this.closeExpired(info.hash);
    });
    const created = this.o.book.get(info.hash)?.created ?? Math.floor(this.now / 1000);
    const offer = { kind: 'invoice', invoice: info, until: this.tokenUntil(created) } as const;
    this.tokenPending.set(info.hash, { peer, timer, buys, offer });
    this.log.info({ hash: info.hash, amount, table, peer }, 'l402 invoice issued');
    return offer;
  }

  private dropToken(hash: string): boolean {
    const p = this.tokenPending.get(hash);
    if (!p) return false;
    p.timer.cancel();
    this.tokenPending.delete(hash);
    return true;
  }

  /**
   * What a booked invoice bought, once it is settled: its ledger entry. A settlement the backend has not
   * reported yet is asked for (aperture's strict verification), so a buyer who comes back at once is not
   * turned away. Undefined: not ours, or not settled; 'unreachable': lightning could not be asked.
   */
  async purchase(hashHex: string): Promise<LedgerEntry | 'unreachable' | undefined> {
    const known = this.o.ledger.get(hashHex);
    if (known || !this.o.book.has(hashHex)) return known;
    if (await this.ask(hashHex) === 'down') return 'unreachable';
    return this.o.ledger.get(hashHex);
  }

  /** The live subscriber's handle holding a payment (one payment, one stream), if any. */
  holderOf(hashHex: string): number | undefined {
    const holder = this.claims.get(hashHex);
    return holder !== undefined && this.o.lookup(holder) ? holder : undefined;
  }

  /**
   * One payment, one stream: `s` holds the payment `hashHex` unless another live subscriber does (the
   * same claims .u.subPaid keeps, so an L402 token and its preimage over q cannot stream twice).
   * Released when `s` disconnects (disconnect(handle)).
   */
  hold(hashHex: string, s: Subscriber): boolean {
    const holder = this.claims.get(hashHex);
    if (holder !== undefined && holder !== s.handle && this.o.lookup(holder)) {
      this.stats.claimsInUse++;
      return false;
    }
    this.claims.set(hashHex, s.handle);
    this.stats.claims++;
    return true;
  }

  get pendingCount(): number {
    let n = 0;
    for (const p of this.pendingByHash.values()) n += p.requests.length;
    return n;
  }

  /** Unpaid invoices (one per invoice, with what they buy). */
  pending(): Array<{ readonly handle: number; readonly tables: readonly string[]; readonly invoice: InvoiceInfo }> {
    return [...this.pendingByHash.values()].map((p) => ({ handle: p.handle, tables: p.requests.map((r) => r.table), invoice: p.info }));
  }

  /** Amount and expiry of an invoice still waiting for payment. */
  describe(hashHex: string): InvoiceInfo | undefined { return this.pendingByHash.get(hashHex)?.info; }

  /** An upper bound of pendingTable()'s encoded bytes, counted without building it (--max-reply-bytes). */
  pendingReplyBytes(): number {
    let n = 8 + 64 + 4 * 6;
    for (const p of this.pendingByHash.values()) {
      for (const r of p.requests) {
        n += 4 + 8 + 1 + 6 + r.table.length * 3 + 2 + 6;
        if (r.filter !== null) for (const s of r.filter) n += s.length * 3 + 1;
      }
    }
    return n;
  }

  /** .u.pendingInvoices as the paper defines it: ([] handle:`int$(); request:(); index:`long$(); settled:`boolean$()). */
  pendingTable(): QValue {
    const rows = [...this.pendingByHash.values()].flatMap((p) => p.requests.map((r) => ({ p, r })));
    return table(['handle', 'request', 'index', 'settled'], [
      { type: 6, attr: 0, data: Int32Array.from(rows, ({ p }) => p.handle) },
      { type: 0, attr: 0, items: rows.map(({ r }) => list(sym(r.table), r.filter === null ? sym('') : symbols([...r.filter]))) },
      { type: 7, attr: 0, data: BigInt64Array.from(rows, ({ p }) => p.info.addIndex) },
      { type: 1, attr: 0, data: new Uint8Array(rows.length) },
    ]);
  }

  close(): void {
    this.closed = true;
    for (const p of this.tokenPending.values()) p.timer.cancel();
    for (const p of this.pendingByHash.values()) p.timer.cancel();
    for (const p of this.stillPayable.values()) p.timer.cancel();
    for (const t of this.expiryChecks.values()) t.cancel();
    for (const e of this.entitlements.values()) for (const t of e.timers) t.cancel();
  }
}

/** The paper's invoice dict: `r_hash`payment_request`add_index as strings (r_hash base64, as lnd's REST). */
export function invoiceDict(info: InvoiceInfo): QValue {
  return dict(symbols(['r_hash', 'payment_request', 'add_index']),
    list(str(Buffer.from(info.hash, 'hex').toString('base64')), str(info.paymentRequest), str(String(info.addIndex))));
}


