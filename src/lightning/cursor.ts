// Where to resume listening to lnd without losing a settlement: the reconciling ListInvoices scan, the
// SubscribeInvoices{add_index, settle_index} it leads to, and which stream events may advance the cursor.
// lnd's replay rules (lnrpc InvoiceSubscription: strictly greater, 0 = no backlog).
import type { InvoiceState } from '../payments/backend.js';

/** A resume point. Every settle with index > settleIndex and every invoice with add_index > addIndex
 *  will be replayed by SubscribeInvoices; everything at or below both has already been reported. */
export interface Cursor {
  readonly addIndex: bigint;
  readonly settleIndex: bigint;
}

export const NO_CURSOR: Cursor = { addIndex: 0n, settleIndex: 0n };

interface Seen {
  readonly addIndex: bigint;
  readonly settleIndex: bigint;
  readonly state: InvoiceState;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * The add_index after which the ListInvoices scan starts. Without a settle cursor lnd cannot replay
 * settles (0 means none), so the scan must cover everything. With one, the settle backlog already covers
 * every invoice however old; re-listing the last `margin` invoices only re-announces recent settles in
 * case the process died between reporting one and its consumer acting on it.
 */
export function scanStart(saved: Cursor, margin: bigint): bigint {
  if (saved.settleIndex === 0n) return 0n;
  return max(0n, saved.addIndex - margin);
}

/**
 * Tallies the scan, page by page, into the subscription that follows it. The catch is an invoice read as
 * OPEN that settles before lnd registers the subscription: with a partial scan the saved settle cursor
 * replays it; with a full scan the subscription restarts the add backlog just before the first invoice
 * that could still settle, so lnd re-sends it in its current state. When that invoice is add_index 1
 * (which lnd cannot replay), the settle cursor stays at the highest settle seen up to its page instead.
 */
export class ScanTally {
  private maxAdd = 0n;
  private maxSettle = 0n;
  private firstOpen: bigint | undefined;
  private firstPageMaxSettle: bigint | undefined;

  constructor(private readonly saved: Cursor, private readonly start: bigint) {}

  page(invoices: readonly Seen[]): void {
    for (const inv of invoices) {
      this.maxAdd = max(this.maxAdd, inv.addIndex);
      if (inv.state === 'SETTLED') this.maxSettle = max(this.maxSettle, inv.settleIndex);
      const canSettle = inv.state === 'OPEN' || inv.state === 'ACCEPTED';
      if (canSettle && (this.firstOpen === undefined || inv.addIndex < this.firstOpen)) this.firstOpen = inv.addIndex;
    }
    // A page is read at one moment: a settle that happens after it gets a higher index than any on it.
    this.firstPageMaxSettle ??= this.maxSettle;
  }

  subscription(): Cursor {
    if (this.start > 0n) return { addIndex: max(this.saved.addIndex, this.maxAdd), settleIndex: this.saved.settleIndex };
    if (this.firstOpen === undefined) return { addIndex: this.maxAdd, settleIndex: this.maxSettle };
    if (this.firstOpen > 1n) return { addIndex: this.firstOpen - 1n, settleIndex: this.maxSettle };
    return { addIndex: 1n, settleIndex: this.firstPageMaxSettle ?? 0n };
  }
}

/** What must be re-listed once lnd has registered a subscription, because its backlog cannot cover it. */
export type Recheck = 'none' | 'first' | 'all';

/**
 * Follows one SubscribeInvoices stream. add_index only grows. settle_index may advance only on events
 * that arrive in settle order: lnd first replays invoices added after the subscribed add_index, in their
 * current state, so a SETTLED one among those can carry a settle_index ahead of older settles that the
 * settle backlog has yet to deliver. Such an event is recognisable: its add_index is above every add_index
 * seen so far (a settle-ordered event is for an invoice whose add was already subscribed or seen).
 *
 * Subscribed with settle_index 0, lnd replays no settle at all, so an invoice that settled between the
 * scan and the subscription reaching lnd is only found by listing again afterwards: everything when
 * add_index was 0 too (lnd had no invoice when scanned), else invoice 1, the one the add backlog cannot
 * reach. Until that re-list is done, `current` keeps settle_index at 0 so nothing is resumed past it.
 */
export class StreamCursor {
  private add: bigint;
  private settle: bigint;
  private pending: Recheck;

  constructor(subscribed: Cursor) {
    this.add = subscribed.addIndex;
    this.settle = subscribed.settleIndex;
    this.pending = subscribed.settleIndex > 0n ? 'none' : subscribed.addIndex > 0n ? 'first' : 'all';
  }

  see(inv: Seen): void {
    const inSettleOrder = inv.addIndex <= this.add;
    this.add = max(this.add, inv.addIndex);
    if (inv.state === 'SETTLED' && inSettleOrder) this.settle = max(this.settle, inv.settleIndex);
  }

  get recheck(): Recheck {
    return this.pending;
  }

  rechecked(): void {
    this.pending = 'none';
  }

  get current(): Cursor {
    return { addIndex: this.add, settleIndex: this.pending === 'none' ? this.settle : 0n };
  }
}

/** The r_hashes already reported in this process, oldest forgotten first beyond `limit`. */
export class RecentHashes {
  private readonly keys = new Set<string>();

  constructor(private readonly limit: number) {}

  /** true when the hash is new (and now remembered). */
  add(rHash: Buffer): boolean {
    const key = rHash.toString('hex');
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) {
      const oldest = this.keys.values().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    return true;
  }
}
