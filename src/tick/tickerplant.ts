// The state and behaviour of tick.q + u.q: tables, .u.w, .u.i/.u.j, .u.L, .u.d, zero-latency and batch
// ingest, end of day. No sockets here: subscribers are anything with send(Outbound).
// Spec: KxSystems/kdb-tick tick.q and tick/u.q.
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import { localAt, localNow } from '../clock.js';
import { Q, QError } from '../errors.js';
import {
  date as qDate, decodePayload, encodeMessage, journalRecordBytes, list, long, MsgType, NANOS_PER_DAY, NULL_LONG,
  enterGate, leaveGate, Outbound, publishedBytes, readUpdShape, singleSym, Slab, SlabRegion, sym, table, tablePrefixes, updShape, vectorSyms,
  withGate, writeJournalRecord, writePublished,
} from '../ipc/index.js';
import { publishedRowsBytes, symbolStarts, SymbolCache, writePublishedRows } from '../ipc/index.js';
import type { QTable, QValue, TablePrefixes, UpdHead, UpdShape } from '../ipc/index.js';
import { logPath, logSymbol, newestLogDate, openJournal, updRecord } from '../journal/index.js';
import type { FsyncPolicy, JournalIo, JournalWriter } from '../journal/index.js';
import { ColumnBuffer, take } from './columns.js';
import type { Column } from './columns.js';
import { emptyTable } from './schema.js';
import type { TableSchema } from './schema.js';
import type { EndEvent, Subscriber, UpdEvent } from './events.js';
import { Subscriptions } from './subscriptions.js';
import type { Publication, SymFilter, TableSubscriptions } from './subscriptions.js';
import { readUpdate } from './update.js';
import type { Update } from './update.js';

/** Zone offsets change on a UTC quarter-hour (they are whole quarter-hours, e.g. Adelaide's +10:30 at 16:30 UTC). */
const NANOS_PER_QUARTER_HOUR = 900_000_000_000n;

export interface TickerplantOptions {
  readonly schemas: readonly TableSchema[];
  /** Schema name (SRC): the journal is DST/SRCyyyy.mm.dd. [src='sym'] */
  readonly src?: string;
  /** Journal directory (DST); absent: no journal, as tick.q without DST. */
  readonly logDir?: string;
  /**
   * Journal records longer are refused with 'limit before anything is journaled: a --nats primary's is
   * what the stream takes (NATS max_payload), or the bridge could not publish it. [none]
   */
  readonly maxRecordBytes?: () => number;
  /**
   * An edge or standby: .u.d starts at the newest journal's date in DST when that is yesterday, so a
   * restart after midnight takes the rest of that day from the stream instead of skipping it.
   */
  readonly resumeNewestJournal?: boolean;
  /** -t: > 0 batch mode publishing every batchMs; 0 zero-latency. [batchMs=0] */
  readonly batchMs?: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly fsync?: FsyncPolicy;
  /** Truncate a corrupt journal tail instead of refusing to start. [truncateLog=false] */
  readonly truncateLog?: boolean;
  /** A chained TP (chainedtick.q): no end of day by its own clock; it follows upstream's .u.end. [false] */
  readonly followUpstream?: boolean;
  /**
   * Told of each record the journal accepted (staged, not yet flushed), with the journal's date and the
   * record's index in it: the JetStream bridge's wake-up. It must not throw or call back into the TP.
   */
  readonly onJournal?: (date: number, index: number) => void;
  /** The journal writer's system calls (tests fail them as a full disk does). [node:fs] */
  readonly journalIo?: JournalIo;
  /**
   * Told of each failed journal write, after the rollback: a follower of a replicated log (edge, hot
   * standby) then rewinds to the journal's end and applies the withdrawn records again later. It must not
   * throw or call back into the TP.
   */
  readonly onJournalFault?: () => void;
}

/** The journal's health (metrics): whether it takes writes, how often it stopped, what it refused. */
export interface JournalHealth {
  up: boolean;
  /** Times the journal went from writing to failing. */
  faults: number;
  /** Updates refused because their record could not be journaled (sync: 'journal; async: counted only). */
  refused: number;
  /** Records accepted, then rolled back by a failed flush before any of their rows left (never published). */
  withdrawn: number;
}

/** Per-table counters (metrics). */
export interface TableStats { updates: number; rowsIn: number; rowsOut: number; messagesOut: number }

/** What other modules may read of a table. */
export interface TableView {
  readonly schema: TableSchema;
  /** The empty schema table, g# on sym (u.q add's reply). */
  readonly empty: QTable;
  readonly stats: Readonly<TableStats>;
}

interface TableState extends TableView {
  readonly prefixes: TablePrefixes;
  /** Its entry in .u.w. */
  readonly subs: TableSubscriptions;
  readonly stats: TableStats;
  /** Batch mode: rows received since the last publish. */
  readonly buffer: ColumnBuffer[];
  /** Batch mode: rows of `buffer` whose records the journal holds (a failed flush cuts back to it). */
  durableRows: number;
}

export interface TickStats {
  updates: number;
  rowsIn: number;
  badUpdates: number;
  rowsOut: number;
  messagesOut: number;
}

/** The decoder's depth bound for the x of an update decoded from its bytes (a table is two deep). */
const X_DEPTH = 8;

/** An update's event whose columns are read from the feed's bytes only if a subscriber asks for them. */
class BytesUpd implements UpdEvent {
  readonly kind = 'upd';
  private cols: readonly Column[] | undefined;
  constructor(readonly table: string, readonly names: readonly string[], readonly rows: number,
    readonly message: Outbound, private readonly b: Buffer, private readonly xAt: number,
    private readonly time: bigint, private readonly schema: TableSchema) {}

  columns(): readonly Column[] {
    return this.cols ??= columnsOf(this.schema, this.b, this.xAt, this.time);
  }
}

/** The event of some rows of an update (a filter's selection), its columns too read only if asked for. */
class BytesRowsUpd implements UpdEvent {
  readonly kind = 'upd';
  private cols: readonly Column[] | undefined;
  /** The selected row indexes: the one row, or a plain array (a typed array per message costs a backing store). */
  private readonly idx: number | number[];
  constructor(readonly table: string, readonly names: readonly string[], readonly message: Outbound,
    idx: Int32Array, readonly rows: number, private readonly b: Buffer, private readonly xAt: number,
    private readonly time: bigint, private readonly schema: TableSchema) {
    if (rows === 1) { this.idx = idx[0] as number; return; }
    const copy = new Array<number>(rows);
    for (let j = 0; j < rows; j++) copy[j] = idx[j] as number;
    this.idx = copy;
  }

  columns(): readonly Column[] {
    if (this.cols) return this.cols;
    const idx = typeof this.idx === 'number' ? Int32Array.of(this.idx) : Int32Array.from(this.idx);
    return this.cols = columnsOf(this.schema, this.b, this.xAt, this.time).map((c) => take(c, idx, idx.length));
  }
}

function columnsOf(schema: TableSchema, b: Buffer, xAt: number, time: bigint): Column[] {
  const x = decodePayload(b, xAt, b.length, { littleEndian: true, maxDepth: X_DEPTH });
  return readUpdate(schema, x, () => time).columns();
}

/** The hot path's publication, reused for every update (a publish is synchronous). */
class BytesPublication implements Publication {
  rows = 0;
  private state!: TableState;
  private table = '';
  private b: Buffer = Buffer.alloc(0);
  private time = 0n;
  /** The symbol columns' row offsets (symbolStarts), read for this update when a filter first splits it. */
  private readonly starts: Array<Int32Array | undefined> = [];
  private startsRead = false;
  private readonly symbols = new SymbolCache();
  constructor(private readonly shape: UpdShape, private readonly slab: Slab) {}

  set(state: TableState, table: string, b: Buffer, time: bigint): this {
    this.state = state; this.table = table; this.b = b; this.time = time; this.rows = this.shape.count;
    this.startsRead = false;
    return this;
  }

  /** The rows idx[0..k) (ascending; fewer than all, so a multi-row update): spliced from the feed's bytes. */
  selected(idx: Int32Array, k: number): UpdEvent {
    const { state, b, shape, time, starts } = this;
    if (!this.startsRead) { symbolStarts(b, shape, starts); this.startsRead = true; }
    const msg = this.cut(publishedRowsBytes(state.prefixes, b, shape, starts, idx, k), idx, k);
    return new BytesRowsUpd(this.table, state.schema.columns, msg, idx, k, b, shape.xAt, time, state.schema);
  }

  syms(): readonly string[] {
    return this.shape.single ? [singleSym(this.b, this.shape)] : vectorSyms(this.b, this.shape, this.symbols);
  }

  /** The whole update's message. */
  all(): UpdEvent {
    const { state, b, shape, time } = this;
    const msg = this.cut(publishedBytes(state.prefixes, b, shape), undefined, 0);
    return new BytesUpd(this.table, state.schema.columns, shape.count, msg, b, shape.xAt, time, state.schema);
  }

  columns(): readonly Column[] { return columnsOf(this.state.schema, this.b, this.shape.xAt, this.time); }

  /**
   * A message of n bytes cut from the slab (a buffer of its own when large): the whole update, or its rows
   * idx[0..k). Written by argument, not by a callback: the hot path makes no closure per message.
   */
  private cut(n: number, idx: Int32Array | undefined, k: number): Outbound {
    const { state, b, shape, time, starts } = this;
    const at = this.slab.reserve(n);
    const region = at >= 0 ? this.slab.last as SlabRegion : undefined;
    const out = region ? region.buf : Buffer.allocUnsafe(n);
    const pos = region ? at : 0;
    if (idx) writePublishedRows(out, pos, state.prefixes, b, shape, starts, idx, k, time);
    else writePublished(out, pos, state.prefixes, b, shape, time);
    return region ? new Outbound(region, at, n) : new Outbound(out);
  }
}

/** A publication of columns already in hand (decoded updates, batch mode's buffers). */
function columnsPublication(table: string, names: readonly string[], rows: number, cols: () => readonly Column[],
  syms: () => readonly string[] | undefined): Publication {
  return {
    rows, syms, columns: cols,
    all: () => ({
      kind: 'upd', table, names, rows, columns: cols,
      message: new Outbound(encodeMessage(list(sym('upd'), sym(table), table_(names, cols())), MsgType.Async)),
    }),
  };
}

const table_ = (names: readonly string[], cols: readonly Column[]): QTable => table(names as string[], cols as Column[]);

export class Tickerplant {
  private readonly byName = new Map<string, TableState>();
  /** .u.t: table names, sorted as q's `tables` returns them. */
  readonly names: readonly string[];
  /** .u.w */
  readonly w: Subscriptions;
  private _i = 0;
  private _j = 0;
  private _d: number;
  private _logFile: string | undefined;
  private _endedDay: { readonly date: number; readonly records: number } | undefined;
  private readonly counters: TickStats = { updates: 0, rowsIn: 0, badUpdates: 0, rowsOut: 0, messagesOut: 0 };
  private readonly health: JournalHealth = { up: true, faults: 0, refused: 0, withdrawn: 0 };
  private journal: JournalWriter | undefined;
  /**
   * Write-ahead under faults: rows published before their record is flushed wait on this gate; a failed
   * flush withdraws it, so those rows never leave (Outbound.gate), and starts a new one.
   */
  private gate = { withdrawn: false };
  private gateUsed = false;
  /** The journal failed and has not written since: each update is written through, as a retry. */
  private faulted = false;
  private closed = false;
  /** The local date as last read from the clock, and the instant to read it again (dayCheck). */
  private localDate: number;
  private checkAt = -1n;
  /** UTC ns of the local midnight dayCheck saw: until checkAt, an update's time of day is one subtraction. */
  private dayStart = 0n;
  /** Whether the end-of-turn journal flush is queued (see afterStage). */
  private flushQueued = false;
  private timer: Timer | undefined;
  private readonly batchMs: number;
  private readonly log: Logger;
  private readonly shape = updShape();
  private readonly slab = new Slab();
  private readonly bytesPub = new BytesPublication(this.shape, this.slab);
  /** The table updBytes saw last, by name. */
  private lastTable = '';
  private lastState: TableState | undefined;
  /** appendRecord's bytes, journaled instead of a record built from x (and a refusal throws 'journal). */
  private verbatim: Buffer | undefined;

  constructor(private readonly options: TickerplantOptions) {
    this.log = options.log.child({ mod: 'tick' });
    this.batchMs = options.batchMs ?? 0;
    this.names = [...new Set(options.schemas.map((s) => s.name))].sort();
    this.w = new Subscriptions(this.names, (s, err) => this.log.warn(
      { h: s.handle, err: err instanceof Error ? err.message : String(err) }, 'subscriber dropped: delivery failed'));
    for (const s of options.schemas) {
      if (s.columns[0] !== 'time' || s.columns[1] !== 'sym') throw new QError('timesym');
      this.byName.set(s.name, {
        schema: s,
        prefixes: tablePrefixes(s.name, s.columns),
        subs: this.w.of(s.name) as TableSubscriptions,
        stats: { updates: 0, rowsIn: 0, rowsOut: 0, messagesOut: 0 },
        empty: emptyTable(s),
        buffer: s.types.map((t, c) => new ColumnBuffer(t, c === 1 && t === 11 ? 4 : 0)),
        durableRows: 0,
      });
    }
    this._d = localNow(options.clock).date;
    this.localDate = this._d;
    const newest = options.logDir !== undefined && options.resumeNewestJournal ? newestLogDate(options.logDir, options.src ?? 'sym') : undefined;
    // Yesterday's only: an older journal would roll day by day to today (tick.q refuses more than one).
    if (newest === this._d - 1) this._d = newest;
    if (options.logDir !== undefined) this.openLog();
  }

  /** The tables by name (read-only). */
  get tables(): ReadonlyMap<string, TableView> { return this.byName; }
  /** .u.i: journal records a new subscriber replays (what has been published). */
  get i(): number { return this._i; }
  /** .u.j: journal records written (batch mode: including unpublished ones). */
  get j(): number { return this._j; }
  /** .u.d: the current (local) date. */
  get d(): number { return this._d; }
  /** The day the last end of day closed, and its journal's records (what of its file is the journal's). */
  get endedDay(): { readonly date: number; readonly records: number } | undefined { return this._endedDay; }
  /** .u.L: the journal path, undefined without a journal. */
  get logFile(): string | undefined { return this._logFile; }
  get stats(): Readonly<TickStats> { return this.counters; }
  get batch(): boolean { return this.batchMs > 0; }
  /** Whether there is a journal (DST given), also while it cannot be written. */
  get logging(): boolean { return this.options.logDir !== undefined; }
  /** The journal's health (metrics). */
  get journalHealth(): Readonly<JournalHealth> { return this.health; }

  /** Starts the timer: the batch publish, or tick.q's 1 s end-of-day check in zero-latency mode. */
  start(): void {
    if (!this.batch && this.options.followUpstream) return; // the 1 s timer only checks the day
    const ms = this.batchMs > 0 ? this.batchMs : 1000;
    this.timer = this.options.clock.every(ms, () => this.tick());
  }

  /** tick.q's .u.L for day d: DST/SRCyyyy.mm.dd. */
  private logPathOf(d: number): string { return logPath(this.options.logDir as string, this.options.src ?? 'sym', d); }

  /** tick.q .u.ld: open (creating if needed) the journal for .u.d; i = j = its valid record count. */
  private openLog(): void {
    const path = this.logPathOf(this._d);
    // tick.q's .u.ld sets L (and i, j from it) before the file is opened: if it cannot be, .u.L and
    // .u.i still name the new day, never yesterday's journal (an RDB would replay yesterday into today).
    this._logFile = path;
    this._i = this._j = 0;
    const opened = openJournal(path, {
      truncate: this.options.truncateLog ?? false,
      fsync: this.options.fsync ?? 'none',
      ...(this.options.journalIo ? { io: this.options.journalIo } : {}),
    });
    if (opened.truncatedFrom !== undefined) {
      this.log.warn({ path, from: opened.truncatedFrom, chunks: opened.chunks }, 'corrupt journal truncated');
    }
    this.journal = opened.writer;
    this._i = this._j = opened.chunks;
    this.log.info({ path, chunks: opened.chunks }, 'journal opened');
  }

  /**
   * The hot path: .u.upd[t;x] straight from a feed's message bytes `b` (little-endian, uncompressed),
   * whose head readUpdHead read. x is validated in place against the schema (layout.ts), then its
   * journal record is written into the journal's stage and its published message spliced once, from
   * the same bytes: nothing is decoded. Returns false, having done nothing, for an x the walk does not
   * accept; the caller then decodes the message and calls upd, which converts it or raises q's error.
   */
  updBytes(b: Buffer, head: UpdHead, sync: boolean): boolean {
    if (this.closed) return false;
    const t = head.table;
    // A feed sends one table's updates over and over (readUpdHead keeps the name's string): no lookup each.
    let state = t === this.lastTable ? this.lastState : undefined;
    if (state === undefined) {
      state = this.byName.get(t);
      if (!state) return false;
      this.lastTable = t;
      this.lastState = state;
    }
    const shape = this.shape;
    if (!readUpdShape(b, head.xAt, state.schema.types, shape)) return false;
    // Too long a record: the decoding path refuses it with 'limit (and logs it).
    if (this.options.maxRecordBytes && journalRecordBytes(state.prefixes, b, shape) > this.options.maxRecordBytes()) return false;
    const clock = this.options.clock;
    const nowNs = clock.nowNanos();
    if (nowNs >= this.checkAt) this.dayCheck(nowNs);
    if (!this.batch && this._d < this.localDate) this.ts(this.localDate);
    const time = shape.hasTime ? 0n : this.timeOfDay(nowNs);
    const logged = this.logging;
    if (this.batch) {
      if (!shape.hasTime && this._d < this.localDate) this.tick(this.localDate);
      // Handled either way: a refused update is not retried through the decoded path.
      if (logged && !this.stage(state, b, time)) return this.refuse(sync);
      const cols = columnsOf(state.schema, b, head.xAt, time);
      for (let c = 0; c < cols.length; c++) (state.buffer[c] as ColumnBuffer).append(cols[c] as Column);
      this._j++;
      if (logged && !this.afterStage(sync)) return this.refuse(sync);
      this.count(state, shape.count);
      return true;
    }
    // Journaled before it is published: with the write-ahead barrier (flushJournal before any socket
    // write leaves), no subscriber ever holds a row the journal lacks.
    if (logged) {
      if (!this.stage(state, b, time)) return this.refuse(sync);
      this._i++;
      if (!this.afterStage(sync)) return this.refuse(sync);
    }
    this.count(state, shape.count);
    if (state.subs.entries.size > 0) {
      const p = this.bytesPub.set(state, t, b, time);
      const before = enterGate(this.pendingGate());
      this.slab.pin();
      try {
        this.pub(t, state, p);
      } finally {
        this.slab.unpin();
        leaveGate(before);
      }
    }
    return true;
  }

  /**
   * .u.upd[t;x] for a decoded x. Throws QError for a bad update, before anything is published or
   * journaled.
   */
  upd(t: string, x: QValue, sync = false): void {
    let state: TableState | undefined;
    let u: Update;
    let built: Buffer | undefined;
    const clock = this.options.clock;
    const nowNs = clock.nowNanos();
    try {
      if (this.closed) throw new QError('closed');
      state = this.byName.get(t);
      if (!state) throw QError.named(t);
      if (nowNs >= this.checkAt) this.dayCheck(nowNs);
      // tick.q zero-latency .u.upd: the end-of-day check runs on every update (.u.ts "d"$.z.P).
      if (!this.batch && this._d < this.localDate) this.ts(this.localDate);
      u = readUpdate(state.schema, x, () => this.timeOfDay(nowNs));
      if (this.options.maxRecordBytes && this.logging) {
        built = this.verbatim ?? updRecord(t, u.logged());
        if (built.length > this.options.maxRecordBytes()) throw new QError(Q.limit);
      }
    } catch (err) {
      this.counters.badUpdates++;
      throw err;
    }
    const st = state;
    const logged = this.logging;
    const verbatim = this.verbatim;
    const record = (): void => this.append(built ?? verbatim ?? updRecord(t, u.logged()));
    if (this.batch) {
      // tick.q batch .u.upd: the day check happens only when stamping, and flushes first.
      if (u.stampedAt !== undefined && this._d < this.localDate) this.tick(this.localDate);
      const cols = u.columns(); // built before the record is staged: nothing after it may refuse the update
      if (logged && !this.stage(record)) { this.refuse(sync); return; }
      for (let c = 0; c < cols.length; c++) (st.buffer[c] as ColumnBuffer).append(cols[c] as Column);
      this._j++;
      if (logged && !this.afterStage(sync)) { this.refuse(sync); return; }
    } else {
      if (logged) {
        if (!this.stage(record)) { this.refuse(sync); return; }
        this._i++;
        if (!this.afterStage(sync)) { this.refuse(sync); return; }
      }
      if (st.subs.entries.size > 0) {
        const p = columnsPublication(t, st.schema.columns, u.count, () => u.columns(), () => u.syms());
        withGate(this.pendingGate(), () => this.pub(t, st, p));
      }
    }
    this.count(st, u.count);
  }

  private count(state: TableState, rows: number): void {
    this.counters.updates++;
    this.counters.rowsIn += rows;
    state.stats.updates++;
    state.stats.rowsIn += rows;
  }

  /**
   * A record taken from a replicated log (a JetStream edge or hot standby): `record` is the primary's
   * journal record of (`upd;t;x) and is journaled byte for byte; x, already stamped, is handled as .u.upd.
   * Throws QError 'journal when the journal cannot take it (nothing published; see onJournalFault).
   */
  appendRecord(t: string, x: QValue, record: Buffer): void {
    this.verbatim = record;
    try {
      this.upd(t, x);
    } finally {
      this.verbatim = undefined;
    }
  }

  /**
   * The journal record .u.upd[t;x] would write now, validated and time-stamped, without journaling or
   * publishing it: a hot-standby leader stores it in JetStream first. Throws QError for a bad update.
   */
  recordOf(t: string, x: QValue): Buffer {
    const clock = this.options.clock;
    const nowNs = clock.nowNanos();
    try {
      const state = this.byName.get(t);
      if (!state) throw QError.named(t);
      return updRecord(t, readUpdate(state.schema, x, () => localAt(clock, nowNs).timeOfDay).logged());
    } catch (err) {
      this.counters.badUpdates++;
      throw err;
    }
  }

  /**
   * Reads the local date (q's "d"$.z.P) and when to read it again: the next local midnight, or the next
   * quarter-hour if sooner (an offset change, e.g. daylight saving, moves midnight). Between the two, updates
   * compare one bigint instead of converting the clock.
   */
  /** tick.q's stamp (.z.P's time of day, local) for nowNs, read after dayCheck has run for it. */
  private timeOfDay(nowNs: bigint): bigint {
    // Same local day and offset as dayCheck saw (checkAt bounds both); a clock moved back converts in full.
    return nowNs >= this.dayStart && nowNs < this.checkAt ? nowNs - this.dayStart : localAt(this.options.clock, nowNs).timeOfDay;
  }

  private dayCheck(nowNs: bigint): void {
    const { date, timeOfDay } = localAt(this.options.clock, nowNs);
    this.localDate = date;
    this.dayStart = nowNs - timeOfDay;
    const midnight = nowNs + (NANOS_PER_DAY - timeOfDay);
    const quarter = (nowNs / NANOS_PER_QUARTER_HOUR + 1n) * NANOS_PER_QUARTER_HOUR;
    this.checkAt = midnight < quarter ? midnight : quarter;
  }

  /** The journal record of the update the layout walk just read, written in place into the journal's stage. */
  private journalBytes(state: TableState, b: Buffer, time: bigint): void {
    const journal = this.journal as JournalWriter;
    const n = journalRecordBytes(state.prefixes, b, this.shape);
    const at = journal.reserve(n);
    if (at >= 0) {
      writeJournalRecord(journal.stage, at, state.prefixes, b, this.shape, time);
      journal.commit(n);
    } else {
      const record = Buffer.allocUnsafe(n);
      writeJournalRecord(record, 0, state.prefixes, b, this.shape, time);
      journal.append(record);
    }
  }

  private append(record: Buffer): void {
    (this.journal as JournalWriter).append(record);
  }

  /**
   * Stages one record with `write` (which throws as the writer does); false when the journal failed (its
   * state rolled back, see journalFailed) or cannot be opened.
   */
  private stage(write: () => void): boolean;
  /** The hot path's form: the walked update's record, staged without a closure per update. */
  private stage(state: TableState, b: Buffer, time: bigint): boolean;
  private stage(write: (() => void) | TableState, b?: Buffer, time?: bigint): boolean {
    if (!this.journal && !this.reopenLog()) return false;
    try {
      if (typeof write === 'function') write();
      else this.journalBytes(write, b as Buffer, time as bigint);
    } catch (err) {
      this.journalFailed(err);
      return false;
    }
    this.options.onJournal?.(this._d, (this.journal as JournalWriter).records - 1);
    return true;
  }

  /**
   * After staging: a sync update's record reaches the file before the answer, and so does every update's
   * while the journal is failing (each one a retry); others by the turn's end at the latest: a nextTick,
   * which runs once this read's frames are handled, one per read as the write-ahead barrier flushes.
   * (A setImmediate, armed and cleared each turn, cost 2–3 µs of the first update's latency: two calls
   * into libuv to ref and unref the loop's check handle.)
   */
  private afterStage(sync: boolean): boolean {
    if (sync || this.faulted) return this.flushJournalNow(1);
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.endOfTurn);
    }
    return true;
  }

  private readonly endOfTurn = (): void => {
    this.flushQueued = false;
    this.flushJournalNow();
  };

  /** An update whose record the journal could not take: sync feeds get 'journal, async ones are counted. */
  private refuse(sync: boolean): true {
    // A replicated record is not counted: its follower applies it again once the journal writes.
    if (this.verbatim !== undefined) throw new QError(Q.journal);
    this.health.refused++;
    if (sync) throw new QError(Q.journal);
    return true;
  }

  /** An update refused before it reached the tickerplant (a hot-standby leader whose journal is down). */
  countRefused(): void {
    this.health.refused++;
  }

  /** The gate for rows published now: set while their record (or an earlier one) is only staged. */
  private pendingGate(): { withdrawn: boolean } | undefined {
    if (this.journal === undefined || this.journal.undurableRecords === 0) return undefined;
    this.gateUsed = true;
    return this.gate;
  }

  /**
   * Flushes the journal; false when the flush failed (see journalFailed). `current`: records of the
   * update being handled among those it rolls back (counted as refused, not withdrawn).
   */
  private flushJournalNow(current = 0): boolean {
    const journal = this.journal;
    if (!journal || !journal.dirty) return true;
    try {
      journal.flush();
    } catch (err) {
      this.journalFailed(err, current);
      return false;
    }
    this.journalDurable();
    return true;
  }

  /** Everything accepted so far is in the file: new rows get a new gate; a fault is over. */
  private journalDurable(): void {
    if (this.gateUsed) {
      this.gate = { withdrawn: false };
      this.gateUsed = false;
    }
    if (this.batch) for (const state of this.byName.values()) state.durableRows = (state.buffer[0] as ColumnBuffer).size;
    if (this.faulted) {
      this.faulted = false;
      this.health.up = true;
      this.log.info({ path: this._logFile ?? null }, 'journal writing again');
    }
  }

  /**
   * A write, sync or open failed. The writer has rolled back to its last successful flush; what was
   * accepted since is withdrawn here too: unsent rows (the gate), .u.i/.u.j, batch mode's buffered rows.
   * One log line when the journal goes from writing to failing; until it writes again, updates are
   * written through one by one, each a retry.
   */
  private journalFailed(err: unknown, current = 0): void {
    if (this.gateUsed) {
      this.gate.withdrawn = true;
      this.gate = { withdrawn: false };
      this.gateUsed = false;
    }
    let withdrawn = 0;
    const journal = this.journal;
    if (journal) {
      if (this.batch) {
        withdrawn = this._j - journal.records;
        this._j = journal.records;
        for (const state of this.byName.values()) for (const b of state.buffer) b.truncate(state.durableRows);
      } else {
        withdrawn = this._i - journal.records;
        this._i = journal.records;
      }
    }
    withdrawn = Math.max(0, withdrawn - current);
    this.health.withdrawn += withdrawn;
    this.options.onJournalFault?.();
    if (this.faulted) return;
    this.faulted = true;
    this.health.up = false;
    this.health.faults++;
    this.log.error({ path: this._logFile ?? null, err: err instanceof Error ? err.message : String(err), withdrawn },
      'journal write failed: updates refused until it writes again');
  }

  /** After a failed day roll: opens the day's journal; false (still faulted) if it cannot. */
  private reopenLog(): boolean {
    try {
      this.openLog();
      return true;
    } catch (err) {
      this.journalFailed(err);
      return false;
    }
  }

  /**
   * Writes staged journal records now. The IPC and WebSocket layers call it before their queued writes
   * leave (a write-ahead barrier): a published row, or the answer to a sync chaser, never reaches a client
   * before its journal record reaches the file, as in tick.q where the log write is immediate.
   */
  readonly flushJournal = (): boolean => this.flushJournalNow();

  /** u.q pub. */
  private pub(t: string, state: TableState, p: Publication): void {
    const sent = this.w.publish(state.subs, t, state.schema.columns, p);
    if (sent > 0) {
      // rows offered; filters may send fewer to some subscribers
      this.counters.messagesOut += sent;
      this.counters.rowsOut += p.rows;
      state.stats.messagesOut += sent;
      state.stats.rowsOut += p.rows;
    }
  }

  /** Counters of one table, undefined for an unknown table. */
  tableStats(t: string): Readonly<TableStats> | undefined { return this.byName.get(t)?.stats; }

  /** Size and record count of today's journal (staged records included); undefined without one. */
  journalStats(): { bytes: number; records: number } | undefined {
    return this.journal ? { bytes: this.journal.bytes, records: this.journal.records } : undefined;
  }

  /** Timer: batch publish (.z.ts) then the end-of-day check (.u.ts). */
  tick(today = localNow(this.options.clock).date): void {
    if (this.batch) this.flushBatch();
    this.ts(today);
  }

  /** Publishes every table's buffered rows and empties it; i := j. */
  flushBatch(): void {
    // Rows leave only once their records are in the file; a failed flush has cut the buffers back.
    this.flushJournalNow();
    for (const [name, state] of this.byName) {
      state.durableRows = 0;
      if ((state.buffer[0] as ColumnBuffer).size === 0) continue;
      const n = (state.buffer[0] as ColumnBuffer).size;
      const cols = state.buffer.map((b) => b.drain());
      const syms = cols[1]?.type === 11 ? cols[1].data : undefined;
      this.pub(name, state, columnsPublication(name, state.schema.columns, n, () => cols, () => syms));
    }
    this._i = this._j;
  }

  /** tick.q .u.ts: end of day when the date moved on; more than one day is an error, as in q. */
  private ts(today: number): void {
    if (this._d >= today || this.options.followUpstream) return;
    if (this._d < today - 1) {
      this.log.error({ d: this._d, today }, 'more than one day');
      // tick.q stops its timer and signals 'more than one day?'; we roll one day at a time instead
      // so that no day's journal is skipped.
    }
    while (this._d < today) this.endOfDay();
  }

  /** tick.q .u.endofday: .u.end to subscribers with the old date, d+1, roll the journal. */
  endOfDay(): void {
    const old = this._d;
    this.end(old);
    this._d = old + 1;
    if (this.logging) {
      const journal = this.journal;
      this.journal = undefined;
      try {
        journal?.close();
      } catch (err) {
        this.journal = journal; // for journalFailed's accounting; it is closed
        this.journalFailed(err);
        this.journal = undefined;
      }
      // Counted after the last flush: records a failed one withdrew are not the day's (the NATS bridge
      // publishes the ended day up to here).
      this._endedDay = { date: old, records: journal?.records ?? 0 };
      this.reopenLog();
    }
    this.log.info({ date: old }, 'end of day');
  }

  /** The local date now (the clock's, with --utc-offset): what a date from elsewhere is checked against. */
  get today(): number { return localNow(this.options.clock).date; }

  /**
   * An edge or standby whose day has nothing yet takes the day before from the stream (a primary whose
   * clock or offset is behind ours): .u.d, .u.L and the journal move to that day. False, doing nothing,
   * for any other date or once the day holds a record.
   */
  adoptDate(d: number): boolean {
    if (d !== this._d - 1 || this._i > 0 || this._j > 0 || (this.journal?.records ?? 0) > 0) return false;
    if (this.logging) {
      try { this.journal?.close(); } catch { /* an empty day's file: nothing in it to keep */ }
      this.journal = undefined;
    }
    this._d = d;
    if (this.logging) this.reopenLog();
    return true;
  }

  /** A chained TP (chainedtick.q) takes its upstream's .u.d. */
  followDate(d: number): void { this._d = d; }

  /** A chained TP forwards upstream's .u.end: the day's rows first (batch mode), .u.end, then the next .u.d. */
  forwardEnd(d: number): void {
    if (this.batch) this.flushBatch();
    this.end(d);
    this._d = d + 1;
  }

  /** u.q end: (`.u.end;d) once to each distinct subscriber. */
  end(d: number): void {
    const e: EndEvent = { kind: 'end', date: d, message: new Outbound(encodeMessage(list(sym('.u.end'), qDate(d)), MsgType.Async)) };
    this.w.broadcast(e);
  }

  /** u.q sub[t;syms] for one table: replaces the caller's subscription and returns (t;schema). */
  sub(subscriber: Subscriber, t: string, filter: SymFilter): QValue {
    if (!this.byName.has(t)) throw QError.named(t);
    this.w.set(t, subscriber, filter);
    return this.schemaReply(t);
  }

  /** u.q add's reply: (t; empty table with g# on sym). */
  schemaReply(t: string): QValue {
    const state = this.byName.get(t);
    if (!state) throw QError.named(t);
    return list(sym(t), state.empty);
  }

  /** .z.pc */
  disconnect(handle: number): void {
    this.w.removeHandle(handle);
  }

  /** `.u `i`L` as r.q expects it: (.u.i; .u.L), or (0N; `) without a journal. */
  replayPoint(): QValue {
    if (!this._logFile) return list(long(NULL_LONG), sym(''));
    return list(long(BigInt(this._i)), sym(logSymbol(this._logFile)));
  }

  /** Graceful stop: publish what batch mode holds, close the journal; later updates are refused. */
  /** Publishes what batch mode holds and closes the journal; false when its last records could not be written. */
  close(): boolean {
    if (this.closed) return true;
    this.closed = true;
    this.timer?.cancel();
    // Batch mode's last flush may fail (and withdraw its records) before close has anything left to write.
    const withdrawn = this.health.withdrawn;
    if (this.batch) this.flushBatch();
    let ok = this.health.withdrawn === withdrawn;
    try {
      this.journal?.close();
    } catch (err) {
      ok = false;
      this.log.error({ path: this._logFile ?? null, err: err instanceof Error ? err.message : String(err) }, 'journal close failed');
    }
    this.journal = undefined;
    return ok;
  }
}
