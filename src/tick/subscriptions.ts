// .u.w and publishing: who gets which rows of which table. Subscribers with the same sym filter form
// one group and share one encoded message per publish (encode once per distinct filter, never once
// per subscriber). Spec: KxSystems/kdb-tick tick/u.q (.u.w, add, del, sel, pub).
import { encodeMessage, list, MsgType, Outbound, sym, symbols, table, int } from '../ipc/index.js';
import type { QList, QValue } from '../ipc/index.js';
import { take } from './columns.js';
import type { Column } from './columns.js';
import type { Subscriber, TickEvent, UpdEvent } from './events.js';

export type { Subscriber, PaidEvent } from './events.js';

/** One publish of a table's rows, as the subscriptions need it: each part built only if some group asks. */
export interface Publication {
  readonly rows: number;
  /** The sym column's values (asked only when some subscriber filters by sym). */
  syms(): readonly string[] | undefined;
  /** The event carrying every row (asked once, shared by every group that selects every row). */
  all(): UpdEvent;
  /** Every row's columns, for groups that select some of them (when `selected` is absent). */
  columns(): readonly Column[];
  /**
   * The event of the rows idx[0..k) (ascending, 0 < k < rows), built from what the publication holds
   * (the hot path splices it from the feed's bytes); absent: the rows are taken from columns() and encoded.
   */
  selected?(idx: Int32Array, k: number): UpdEvent;
}

/** A subscriber whose delivery threw, and what it threw. */
interface Failure { readonly s: Subscriber; readonly err: unknown }

/** A subscription filter: null means every sym (`). */
export type SymFilter = ReadonlySet<string> | null;

/** A filter given as one symbol atom (`IBM): .u.w shows it as given, as u.q's add keeps y. */
export class OneSym extends Set<string> {}

interface Entry {
  readonly subscriber: Subscriber;
  readonly filter: SymFilter;
  readonly group: Group;
}

interface Group {
  readonly key: string;
  readonly filter: SymFilter;
  readonly subscribers: Subscriber[];
  /** Scratch row indexes during one publish. */
  idx: Int32Array;
  hits: number;
}

const keyOf = (filter: SymFilter): string => (filter === null ? '' : '\0' + [...filter].sort().join('\0'));

/**
 * Subscriptions of one table, grouped by identical sym filter. The groups and the sym → groups index
 * change with each subscription, never rebuilt whole: a thousand clients re-subscribing cost each other
 * nothing (the soak's churn scenario).
 */
export class TableSubscriptions {
  /** By handle, in subscription order (as u.q appends to .u.w). */
  readonly entries = new Map<number, Entry>();
  private readonly groups = new Map<string, Group>();
  private readonly wildcard: Group[] = [];
  private readonly bySym = new Map<string, Group[]>();

  add(subscriber: Subscriber, filter: SymFilter): void {
    this.remove(subscriber.handle);
    const key = keyOf(filter);
    let g = this.groups.get(key);
    if (!g) {
      g = { key, filter, subscribers: [], idx: new Int32Array(16), hits: 0 };
      this.groups.set(key, g);
      if (filter === null) this.wildcard.push(g);
      else for (const s of filter) {
        const list = this.bySym.get(s);
        if (list) list.push(g); else this.bySym.set(s, [g]);
      }
    }
    g.subscribers.push(subscriber);
    this.entries.set(subscriber.handle, { subscriber, filter, group: g });
  }

  remove(handle: number): void {
    const e = this.entries.get(handle);
    if (!e) return;
    this.entries.delete(handle);
    const g = e.group;
    g.subscribers.splice(g.subscribers.indexOf(e.subscriber), 1);
    if (g.subscribers.length > 0) return;
    this.groups.delete(g.key);
    if (g.filter === null) { this.wildcard.splice(this.wildcard.indexOf(g), 1); return; }
    for (const s of g.filter) {
      const list = this.bySym.get(s) as Group[];
      list.splice(list.indexOf(g), 1);
      if (list.length === 0) this.bySym.delete(s);
    }
  }

  /**
   * Sends (`upd;t;rows) to every subscriber whose filter selects at least one row (u.q pub). Groups
   * that select every row share one event; a group selecting some rows gets its own, encoded once.
   * Subscribers whose delivery throws are added to `failed`. Returns the messages sent.
   */
  publish(name: string, names: readonly string[], p: Publication, failed: Failure[]): number {
    const n = p.rows;
    if (this.entries.size === 0 || n === 0) return 0;
    let all: UpdEvent | undefined;
    let sent = 0;
    for (const g of this.wildcard) sent += deliver(g, all ??= p.all(), failed);
    if (this.bySym.size === 0) return sent;
    const syms = p.syms();
    if (!syms) return sent;
    if (n === 1) {
      const gs = this.bySym.get(syms[0] as string);
      if (gs) for (const g of gs) sent += deliver(g, all ??= p.all(), failed);
      return sent;
    }
    const touched: Group[] = [];
    for (let i = 0; i < n; i++) {
      const gs = this.bySym.get(syms[i] as string);
      if (!gs) continue;
      for (const g of gs) {
        if (g.hits === 0) touched.push(g);
        if (g.hits === g.idx.length) {
          const bigger = new Int32Array(g.idx.length * 2);
          bigger.set(g.idx);
          g.idx = bigger;
        }
        g.idx[g.hits++] = i;
      }
    }
    let full: readonly Column[] | undefined;
    for (const g of touched) {
      const k = g.hits;
      g.hits = 0;
      if (k === n) { sent += deliver(g, all ??= p.all(), failed); continue; }
      if (p.selected) { sent += deliver(g, p.selected(g.idx, k), failed); continue; }
      full ??= p.columns();
      const part = full.map((c) => take(c, g.idx, k));
      sent += deliver(g, {
        kind: 'upd', table: name, names, rows: k, columns: () => part,
        message: new Outbound(encodeMessage(list(sym('upd'), sym(name), table(names as string[], part)), MsgType.Async)),
      }, failed);
    }
    return sent;
  }
}

/** Delivers to each subscriber of a group; one that throws is set aside and the rest are still served. */
function deliver(g: Group, e: UpdEvent, failed: Failure[]): number {
  const subs = g.subscribers;
  for (let i = 0; i < subs.length; i++) {
    const s = subs[i] as Subscriber;
    try {
      s.deliver(e);
    } catch (err) {
      failed.push({ s, err });
    }
  }
  return subs.length;
}

/** The whole of .u.w. */
export class Subscriptions {
  private readonly tables = new Map<string, TableSubscriptions>();
  private readonly failed: Failure[] = [];

  /**
   * `onFailure` hears once about each subscriber whose delivery threw: it has then left every table
   * (as if it had disconnected), so one broken client cannot stall or starve the others.
   */
  constructor(names: readonly string[], private readonly onFailure: (s: Subscriber, err: unknown) => void = () => {}) {
    for (const n of names) this.tables.set(n, new TableSubscriptions());
  }

  /** u.q del then add: re-subscribing replaces the caller's entry for that table. */
  set(tableName: string, subscriber: Subscriber, filter: SymFilter): void {
    this.tables.get(tableName)?.add(subscriber, filter);
  }

  /** u.q add when already subscribed: widens the caller's syms (union). */
  widen(tableName: string, subscriber: Subscriber, filter: SymFilter): void {
    const t = this.tables.get(tableName);
    if (!t) return;
    const old = t.entries.get(subscriber.handle);
    const merged = !old || old.filter === null || filter === null ? (old ? null : filter)
      : new Set([...old.filter, ...filter]);
    t.add(subscriber, merged);
  }

  /** u.q del[t;h]. */
  remove(tableName: string, handle: number): void {
    this.tables.get(tableName)?.remove(handle);
  }

  /** .z.pc: the handle leaves every table. */
  removeHandle(handle: number): void {
    for (const t of this.tables.values()) t.remove(handle);
  }

  /** One table's subscriptions, kept by the hot path instead of looking its name up per update. */
  of(tableName: string): TableSubscriptions | undefined {
    return this.tables.get(tableName);
  }

  /** u.q pub: sends the rows of `p` to the subscribers of table `tableName` (`t`, from of()); returns the messages sent. */
  publish(t: TableSubscriptions, tableName: string, names: readonly string[], p: Publication): number {
    const sent = t.publish(tableName, names, p, this.failed);
    if (this.failed.length > 0) this.dropFailed();
    return sent;
  }

  /** Sends one event to each distinct subscriber (u.q end), isolating any whose delivery throws. */
  broadcast(e: TickEvent): void {
    for (const s of this.distinct()) {
      try {
        s.deliver(e);
      } catch (err) {
        this.failed.push({ s, err });
      }
    }
    if (this.failed.length > 0) this.dropFailed();
  }

  private dropFailed(): void {
    const failed = this.failed.splice(0);
    for (const { s, err } of failed) {
      if (!this.subscribed(s.handle)) continue; // already dropped (it failed in two groups)
      this.removeHandle(s.handle);
      this.onFailure(s, err);
    }
  }

  private subscribed(handle: number): boolean {
    for (const t of this.tables.values()) if (t.entries.has(handle)) return true;
    return false;
  }

  has(tableName: string, handle: number): boolean {
    return this.tables.get(tableName)?.entries.has(handle) ?? false;
  }

  /** Distinct subscribers across all tables (u.q end). */
  distinct(): Subscriber[] {
    const seen = new Map<number, Subscriber>();
    for (const t of this.tables.values()) for (const e of t.entries.values()) seen.set(e.subscriber.handle, e.subscriber);
    return [...seen.values()];
  }

  count(tableName?: string): number {
    if (tableName !== undefined) return this.tables.get(tableName)?.entries.size ?? 0;
    let n = 0;
    for (const t of this.tables.values()) n += t.entries.size;
    return n;
  }

  /**
   * An upper bound of .u.w's encoded bytes, counted without building it (the q surface checks
   * --max-reply-bytes first): per entry a 2-item list, an int and the syms, each symbol its bytes + 1.
   */
  replyBytes(): number {
    let n = 8 + 1 + 6 + 6;
    for (const [name, t] of this.tables) {
      n += name.length * 3 + 1 + 6;
      for (const e of t.entries.values()) {
        n += 6 + 5 + 6 + (e.filter === null ? 2 : 0);
        if (e.filter !== null) for (const s of e.filter) n += s.length * 3 + 1;
      }
    }
    return n;
  }

  /** .u.w as q shows it: table!(list of (handle;syms)), syms ` for all. */
  toQ(): QValue {
    const names = [...this.tables.keys()];
    const values: QList[] = names.map((n) => ({
      type: 0, attr: 0,
      items: [...(this.tables.get(n) as TableSubscriptions).entries.values()].map((e) =>
        list(int(e.subscriber.handle), e.filter === null ? sym('') : e.filter instanceof OneSym
          ? sym([...e.filter][0] as string) : symbols([...e.filter]))),
    }));
    return { type: 99, keys: symbols(names), values: { type: 0, attr: 0, items: values } };
  }
}
