// Pay-per-ticker: a priced .u.sub answers (t; schema; invoice) and waits in .u.pendingInvoices until
// the payment backend reports the invoice SETTLED; then the seed's addPayes puts it into .u.w.
// Spec: the Lightning tickerplants paper's u.q (sub, add, pendingInvoices, processInvoices, addPayes).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { QError } from '../errors.js';
import { dict, encodeMessage, list, MsgType, Outbound, str, sym, symbols, table } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { Invoice, InvoiceBackend } from './backend.js';
import type { Ledger, LedgerEntry } from './ledger.js';
import type { Pricing } from './pricing.js';
import type { Subscriber, SymFilter, Tickerplant } from '../tick/index.js';

export interface PaywallOptions {
  readonly tp: Tickerplant;
  readonly backend: InvoiceBackend;
  readonly pricing: Pricing;
  readonly ledger: Ledger;
  readonly clock: Clock;
  readonly log: Logger;
  /** The live subscriber behind a handle, or undefined once it has gone. */
  readonly lookup: (handle: number) => Subscriber | undefined;
  /** [invoiceExpirySeconds=3600] as the seed. */
  readonly invoiceExpirySeconds?: number;
  /** Pay per period; undefined: until disconnect, as the seed. */
  readonly entitlementMs?: number;
}

interface Request { readonly table: string; readonly filter: SymFilter }

/** A row of .u.pendingInvoices (plus the payment hash we key on). */
interface Pending {
  readonly handle: number;
  readonly user: string;
  readonly request: Request;
  readonly index: bigint;
  readonly hash: string;
}

/** What a client needs to show an invoice: amount and expiry (the q reply carries only the seed's three fields). */
export interface InvoiceInfo {
  readonly hash: string;
  readonly paymentRequest: string;
  readonly amountSat: number;
  /** Unix ms. */
  readonly expiresAt: number;
}

interface Entitlement {
  readonly handle: number;
  readonly hash: string;
  readonly requests: Request[];
  until: number;
  renewal: string | undefined;
  timers: NodeJS.Timeout[];
}

export interface PaywallStats { invoices: number; settled: number; satsEarned: number; orphans: number; expired: number }

const hex = (b: Buffer): string => b.toString('hex');

/** The seed's memo: "Invoice:" followed by q's display of t!syms (one line per table). */
export function memoOf(kind: 'Invoice' | 'Renewal', requests: readonly Request[]): string {
  return `${kind}:` + requests.map((r) => `${r.table}| ${r.filter === null ? '' : [...r.filter].join(' ')}\n`).join('');
}

export class Paywall {
  private readonly pending: Pending[] = [];
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly entitlements = new Map<string, Entitlement>();
  /** Renewal invoice hash → the entitlement it extends. */
  private readonly renewals = new Map<string, Entitlement>();
  /** Payment hash → handle currently using it (a proof of payment serves one connection at a time). */
  private readonly claims = new Map<string, number>();
  /** Invoices waiting for payment, by hash. */
  private readonly open = new Map<string, InvoiceInfo>();
  readonly stats: PaywallStats = { invoices: 0, settled: 0, satsEarned: 0, orphans: 0, expired: 0 };
  private readonly log: Logger;

  constructor(private readonly o: PaywallOptions) {
    this.log = o.log.child({ mod: 'paywall' });
    o.backend.on('settled', (inv: Invoice) => this.processInvoice(inv));
  }

  private get now(): number { return Number(this.o.clock.nowNanos() / 1_000_000n); }

  /**
   * .u.sub for these tables: free ones subscribe at once ((t;schema)); priced ones share one invoice
   * and answer (t;schema;invoice). The reply waits for lnd's AddInvoice.
   */
  subscribe(s: Subscriber, user: string, tables: readonly string[], filter: SymFilter): QValue[] | Promise<QValue[]> {
    const priced = tables.filter((t) => this.o.pricing.amount(t, filter) > 0);
    if (priced.length > 0 && !this.o.backend.status().up) throw new QError('lightning unavailable');
    const replies = new Map<string, QValue>();
    for (const t of tables) if (!priced.includes(t)) replies.set(t, this.o.tp.sub(s, t, filter));
    if (priced.length === 0) return tables.map((t) => replies.get(t) as QValue);
    // The seed's sub: drop the caller's current subscription and pending request for these tables first.
    for (const t of priced) {
      this.o.tp.w.remove(t, s.handle);
      this.dropPending((p) => p.handle === s.handle && p.request.table === t, 'replaced');
    }
    const requests = priced.map((table) => ({ table, filter }));
    const amount = priced.reduce((n, t) => n + this.o.pricing.amount(t, filter), 0);
    return this.mint(requests, amount, 'Invoice').then((inv) => {
      if (this.o.lookup(s.handle) === undefined) return tables.map((t) => replies.get(t) ?? list(sym(t)));
      this.addPending(s.handle, user, requests, inv);
      const invoice = invoiceDict(inv);
      return tables.map((t) => replies.get(t) ?? list(sym(t), this.o.tp.tables.get(t)?.empty as QValue, invoice));
    });
  }

  private async mint(requests: Request[], amount: number, kind: 'Invoice' | 'Renewal'): Promise<Invoice> {
    const inv = await this.o.backend.addInvoice({
      valueSat: BigInt(amount),
      memo: memoOf(kind, requests),
      expirySeconds: this.o.invoiceExpirySeconds ?? 3600,
    }).catch((err: unknown) => {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'invoice not created');
      throw new QError('lightning unavailable');
    });
    this.stats.invoices++;
    return inv;
  }

  private addPending(handle: number, user: string, requests: Request[], inv: Invoice): void {
    const hash = hex(inv.rHash);
    for (const request of requests) this.pending.push({ handle, user, request, index: inv.addIndex, hash });
    this.open.set(hash, {
      hash, paymentRequest: inv.paymentRequest, amountSat: Number(inv.valueSat),
      expiresAt: (inv.creationDate + inv.expirySeconds) * 1000,
    });
    // SubscribeInvoices never reports expiry (lightning.md §3.1): a local timer removes the request.
    const ms = Math.max(0, (inv.creationDate + inv.expirySeconds) * 1000 - this.now);
    const timer = setTimeout(() => {
      this.expiryTimers.delete(hash);
      const n = this.dropPending((p) => p.hash === hash, 'expired');
      if (n > 0) this.stats.expired++;
    }, Math.min(ms, 2 ** 31 - 1));
    timer.unref();
    this.expiryTimers.set(hash, timer);
    this.log.info({ h: handle, hash, amount: Number(inv.valueSat), tables: requests.map((r) => r.table) }, 'invoice issued');
  }

  private dropPending(pred: (p: Pending) => boolean, reason: string): number {
    let n = 0;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i] as Pending;
      if (!pred(p)) continue;
      this.pending.splice(i, 1);
      n++;
      if (!this.pending.some((q) => q.hash === p.hash)) {
        this.open.delete(p.hash);
        const timer = this.expiryTimers.get(p.hash);
        if (timer) { clearTimeout(timer); this.expiryTimers.delete(p.hash); }
      }
      this.log.info({ h: p.handle, hash: p.hash, table: p.request.table, reason }, 'pending request removed');
    }
    return n;
  }

  /** processInvoices: a SETTLED invoice enables every request waiting on it (idempotent, by hash). */
  processInvoice(inv: Invoice): void {
    if (inv.state !== 'SETTLED') return;
    const hash = hex(inv.rHash);
    const renewed = this.renewals.get(hash);
    const rows = this.pending.filter((p) => p.hash === hash);
    if (this.o.ledger.has(hash)) return;
    let live = false;
    const enabled = new Map<Subscriber, string[]>();
    for (const p of rows) {
      const s = this.o.lookup(p.handle);
      if (!s) continue;
      live = true;
      this.o.tp.w.widen(p.request.table, s, p.request.filter); // the seed's addPayes
      enabled.set(s, [...(enabled.get(s) ?? []), p.request.table]);
    }
    for (const [s, tables] of enabled) s.paid?.({ hash, tables });
    this.dropPending((p) => p.hash === hash, 'settled');
    const first = rows[0];
    const requests = rows.length > 0 ? rows.map((r) => r.request) : renewed?.requests ?? [];
    const until = this.o.entitlementMs === undefined ? null
      : (renewed ? Math.max(renewed.until, this.now) : this.now) + this.o.entitlementMs;
    const entry: LedgerEntry = {
      time: new Date(this.now).toISOString(),
      r_hash: hash,
      amount_sat: Number(inv.amountPaidSat > 0n ? inv.amountPaidSat : inv.valueSat),
      requests: requests.map((r) => ({ table: r.table, syms: r.filter === null ? null : [...r.filter] })),
      handle: first?.handle ?? renewed?.handle ?? null,
      user: first?.user ?? null,
      orphan: !live && !(renewed && this.o.lookup(renewed.handle)),
      until: until === null ? null : new Date(until).toISOString(),
    };
    this.o.ledger.record(entry);
    this.stats.settled++;
    this.stats.satsEarned += entry.amount_sat;
    if (entry.orphan) this.stats.orphans++;
    this.log.info({ hash, amount: entry.amount_sat, orphan: entry.orphan, h: entry.handle }, 'invoice settled');
    if (until === null) return;
    if (renewed) {
      this.renewals.delete(hash);
      renewed.renewal = undefined;
      this.arm(renewed, until);
    } else if (live && first) {
      const e: Entitlement = { handle: first.handle, hash, requests, until, renewal: undefined, timers: [] };
      this.entitlements.set(hash, e);
      this.claims.set(hash, first.handle);
      this.arm(e, until);
    }
  }

  /** Schedules the renewal invoice (a tenth of the period before the end, at most a minute) and the end. */
  private arm(e: Entitlement, until: number): void {
    for (const t of e.timers) clearTimeout(t);
    e.until = until;
    const period = this.o.entitlementMs as number;
    const lead = Math.min(period / 10, 60_000);
    const renewAt = Math.max(0, until - lead - this.now);
    const endAt = Math.max(0, until - this.now);
    e.timers = [setTimeout(() => this.renew(e), renewAt), setTimeout(() => this.expire(e), endAt)];
    for (const t of e.timers) t.unref();
  }

  private renew(e: Entitlement): void {
    const s = this.o.lookup(e.handle);
    if (!s || e.renewal) return;
    const amount = e.requests.reduce((n, r) => n + this.o.pricing.amount(r.table, r.filter), 0);
    this.mint(e.requests, amount, 'Renewal').then((inv) => {
      const hash = hex(inv.rHash);
      e.renewal = hash;
      this.renewals.set(hash, e);
      this.addPending(e.handle, '', e.requests, inv);
      const tables = e.requests.map((r) => r.table);
      // An async (`.u.renew;tables;invoice) that a q subscriber handles with its own .u.renew.
      s.deliver({
        kind: 'renew', tables, hash, paymentRequest: inv.paymentRequest,
        message: new Outbound(encodeMessage(list(sym('.u.renew'), symbols(tables), invoiceDict(inv)), MsgType.Async)),
      });
    }, (err: unknown) => this.log.warn({ h: e.handle, err: String(err) }, 'renewal invoice not created'));
  }

  private expire(e: Entitlement): void {
    if (this.now < e.until) { this.arm(e, e.until); return; }
    for (const r of e.requests) this.o.tp.w.remove(r.table, e.handle);
    this.entitlements.delete(e.hash);
    if (this.claims.get(e.hash) === e.handle) this.claims.delete(e.hash);
    for (const t of e.timers) clearTimeout(t);
    this.log.info({ h: e.handle, hash: e.hash }, 'entitlement ended');
  }

  /**
   * .u.subPaid[t;syms;preimage]: proof of payment. The preimage's SHA-256 must be a settled invoice in
   * the ledger that covers (t;syms) and whose period has not ended; then no new payment is asked for.
   */
  subscribePaid(s: Subscriber, t: string, filter: SymFilter, preimage: string): QValue {
    if (!this.o.tp.tables.has(t)) throw new QError(t);
    const bytes = /^[0-9a-fA-F]{64}$/.test(preimage) ? Buffer.from(preimage, 'hex') : Buffer.from(preimage, 'base64');
    if (bytes.length !== 32) throw new QError('preimage');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const entry = this.o.ledger.get(hash);
    if (!entry) throw new QError('unpaid');
    const until = entry.until === null ? null : Date.parse(entry.until);
    const e = this.entitlements.get(hash);
    const end = e ? e.until : until;
    if (end !== null && end <= this.now) throw new QError('expired');
    const covered = entry.requests.some((r) => r.table === t &&
      (r.syms === null || (filter !== null && [...filter].every((x) => (r.syms as string[]).includes(x)))));
    if (!covered) throw new QError('unpaid');
    const holder = this.claims.get(hash);
    if (holder !== undefined && holder !== s.handle && this.o.lookup(holder)) throw new QError('in use');
    this.claims.set(hash, s.handle);
    const reply = this.o.tp.sub(s, t, filter);
    if (end !== null) {
      const requests = [{ table: t, filter }];
      const ent: Entitlement = e ?? { handle: s.handle, hash, requests, until: end, renewal: undefined, timers: [] };
      const moved: Entitlement = { ...ent, handle: s.handle, requests, timers: ent.timers };
      this.entitlements.set(hash, moved);
      this.arm(moved, end);
    }
    this.log.info({ h: s.handle, hash, table: t }, 'proof of payment accepted');
    return reply;
  }

  /** Unsubscribing from one table: its pending request goes too, so paying later does not re-subscribe. */
  cancel(handle: number, table: string): void {
    this.dropPending((p) => p.handle === handle && p.request.table === table, 'unsubscribed');
  }

  /** .z.pc: the handle's pending requests and entitlement timers go. */
  disconnect(handle: number): void {
    this.dropPending((p) => p.handle === handle, 'disconnected');
    for (const [hash, e] of this.entitlements) {
      if (e.handle !== handle) continue;
      for (const t of e.timers) clearTimeout(t);
      this.entitlements.delete(hash);
      if (e.renewal) this.renewals.delete(e.renewal);
    }
    for (const [hash, h] of this.claims) if (h === handle) this.claims.delete(hash);
  }

  get pendingCount(): number { return this.pending.length; }

  /** Amount and expiry of an invoice still waiting for payment. */
  describe(hashHex: string): InvoiceInfo | undefined { return this.open.get(hashHex); }

  /** .u.pendingInvoices as the seed defines it: ([] handle:`int$(); request:(); index:`long$(); settled:`boolean$()). */
  pendingTable(): QValue {
    const rows = this.pending;
    return table(['handle', 'request', 'index', 'settled'], [
      { type: 6, attr: 0, data: Int32Array.from(rows, (p) => p.handle) },
      { type: 0, attr: 0, items: rows.map((p) => list(sym(p.request.table),
        p.request.filter === null ? sym('') : symbols([...p.request.filter]))) },
      { type: 7, attr: 0, data: BigInt64Array.from(rows, (p) => p.index) },
      { type: 1, attr: 0, data: new Uint8Array(rows.length) },
    ]);
  }

  close(): void {
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    for (const e of this.entitlements.values()) for (const t of e.timers) clearTimeout(t);
  }
}

/** The seed's invoice dict: `r_hash`payment_request`add_index as strings (r_hash base64, as lnd's REST). */
export function invoiceDict(inv: Invoice): QValue {
  return dict(symbols(['r_hash', 'payment_request', 'add_index']),
    list(str(inv.rHash.toString('base64')), str(inv.paymentRequest), str(String(inv.addIndex))));
}

