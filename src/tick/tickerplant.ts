// The state and behaviour of tick.q + u.q: tables, .u.w, .u.i/.u.j, .u.L, .u.d, zero-latency and batch
// ingest, end of day. No sockets here: subscribers are anything with send(Outbound).
// Spec: KxSystems/kdb-tick tick.q and tick/u.q; kdb-ipc-and-tick.md §6.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { localAt, localNow } from '../clock.js';
import { QError } from '../errors.js';
import {
  date as qDate, encodeMessage, list, long, MsgType, NANOS_PER_DAY, NULL_LONG, Outbound, sym, table,
} from '../ipc/index.js';
import type { QTable, QValue } from '../ipc/index.js';
import { logPath, logSymbol, openJournal, updRecord } from '../journal/index.js';
import type { FsyncPolicy, JournalWriter } from '../journal/index.js';
import { ColumnBuffer } from './columns.js';
import type { Column } from './columns.js';
import { emptyTable } from './schema.js';
import type { TableSchema } from './schema.js';
import { Subscriptions } from './subscriptions.js';
import type { Subscriber, SymFilter } from './subscriptions.js';
import { readUpdate } from './update.js';
import { journalRecord, publishedMessage, tablePrefixes } from './wire.js';
import type { Stamp, TablePrefixes } from './wire.js';

const NANOS_PER_HOUR = 3_600_000_000_000n;

export interface TickerplantOptions {
  readonly schemas: readonly TableSchema[];
  /** Schema name (SRC): the journal is DST/SRCyyyy.mm.dd. [src='sym'] */
  readonly src?: string;
  /** Journal directory (DST); absent: no journal, as tick.q without DST. */
  readonly logDir?: string;
  /** -t: > 0 batch mode publishing every batchMs; 0 zero-latency. [batchMs=0] */
  readonly batchMs?: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly fsync?: FsyncPolicy;
  /** Truncate a corrupt journal tail instead of refusing to start. [truncateLog=false] */
  readonly truncateLog?: boolean;
  /** A chained TP (chainedtick.q): no end of day by its own clock; it follows upstream's .u.end. [false] */
  readonly followUpstream?: boolean;
}

/** Per-table counters (metrics). */
export interface TableStats { updates: number; rowsIn: number; rowsOut: number; messagesOut: number }

interface TableState {
  readonly schema: TableSchema;
  readonly prefixes: TablePrefixes;
  readonly stats: TableStats;
  /** The empty schema table, g# on sym (u.q add's reply). */
  readonly empty: QTable;
  /** Batch mode: rows received since the last publish. */
  readonly buffer: ColumnBuffer[];
}

export interface TickStats {
  updates: number;
  rowsIn: number;
  badUpdates: number;
  rowsOut: number;
  messagesOut: number;
}

export class Tickerplant {
  readonly tables = new Map<string, TableState>();
  /** .u.t: table names, sorted as q's `tables` returns them. */
  readonly names: readonly string[];
  /** .u.w */
  readonly w: Subscriptions;
  /** .u.i: journal records a new subscriber replays (what has been published). */
  i = 0;
  /** .u.j: journal records written (batch mode: including unpublished ones). */
  j = 0;
  /** .u.d: the current (local) date. */
  d: number;
  /** .u.L: the journal path, undefined without a journal. */
  logFile: string | undefined;
  readonly stats: TickStats = { updates: 0, rowsIn: 0, badUpdates: 0, rowsOut: 0, messagesOut: 0 };
  private journal: JournalWriter | undefined;
  private closed = false;
  /** The local date as last read from the clock, and the instant to read it again (dayCheck). */
  private localDate: number;
  private checkAt = -1n;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly batchMs: number;
  private readonly log: Logger;

  constructor(private readonly options: TickerplantOptions) {
    this.log = options.log.child({ mod: 'tick' });
    this.batchMs = options.batchMs ?? 0;
    for (const s of options.schemas) {
      if (s.columns[0] !== 'time' || s.columns[1] !== 'sym') throw new QError('timesym');
      this.tables.set(s.name, {
        schema: s,
        prefixes: tablePrefixes(s.name, s.columns),
        stats: { updates: 0, rowsIn: 0, rowsOut: 0, messagesOut: 0 },
        empty: emptyTable(s),
        buffer: s.types.map((t, c) => new ColumnBuffer(t, c === 1 && t === 11 ? 4 : 0)),
      });
    }
    this.names = [...this.tables.keys()].sort();
    this.w = new Subscriptions(this.names);
    this.d = localNow(options.clock).date;
    this.localDate = this.d;
    if (options.logDir !== undefined) this.openLog();
  }

  get batch(): boolean { return this.batchMs > 0; }
  get logging(): boolean { return this.journal !== undefined; }

  /** Starts the timer: the batch publish, or tick.q's 1 s end-of-day check in zero-latency mode. */
  start(): void {
    if (!this.batch && this.options.followUpstream) return; // the 1 s timer only checks the day
    const ms = this.batchMs > 0 ? this.batchMs : 1000;
    this.timer = setInterval(() => this.tick(), ms);
    this.timer.unref();
  }

  /** tick.q .u.ld: open (creating if needed) the journal for .u.d; i = j = its valid record count. */
  private openLog(): void {
    const path = logPath(this.options.logDir as string, this.options.src ?? 'sym', this.d);
    const opened = openJournal(path, {
      truncate: this.options.truncateLog ?? false,
      fsync: this.options.fsync ?? 'none',
    });
    if (opened.truncatedFrom !== undefined) {
      this.log.warn({ path, from: opened.truncatedFrom, chunks: opened.chunks }, 'corrupt journal truncated');
    }
    this.journal = opened.writer;
    this.logFile = path;
    this.i = this.j = opened.chunks;
    this.log.info({ path, chunks: opened.chunks }, 'journal opened');
  }

  /**
   * .u.upd[t;x]. Throws QError for a bad update, before anything is published or journaled.
   * `rawX`, the feed's little-endian bytes of x, lets the journal record and the published message be
   * assembled from those bytes instead of encoded again (wire.ts).
   */
  upd(t: string, x: QValue, sync = false, rawX?: Buffer): void {
    if (this.closed) throw new QError('closed');
    const state = this.tables.get(t);
    if (!state) throw new QError(t);
    const clock = this.options.clock;
    const nowNs = clock.nowNanos();
    if (nowNs >= this.checkAt) this.dayCheck(nowNs);
    // tick.q zero-latency .u.upd: the end-of-day check runs on every update (.u.ts "d"$.z.P).
    if (!this.batch && this.d < this.localDate) this.ts(this.localDate);
    const u = readUpdate(state.schema, x, () => localAt(clock, nowNs).timeOfDay);
    this.stats.updates++;
    this.stats.rowsIn += u.count;
    state.stats.updates++;
    state.stats.rowsIn += u.count;
    const raw = rawX !== undefined && x.type === 0 ? rawX : undefined;
    const stamp: Stamp | undefined = u.stampedAt === undefined ? undefined
      : { time: u.stampedAt, single: u.single, count: u.count };
    const record = (): Buffer => (raw ? journalRecord(state.prefixes, raw, stamp) : updRecord(t, u.logged()));
    if (this.batch) {
      // tick.q batch .u.upd: the day check happens only when stamping, and flushes first.
      if (u.stampedAt !== undefined && this.d < this.localDate) this.tick(this.localDate);
      const cols = u.columns();
      for (let c = 0; c < cols.length; c++) (state.buffer[c] as ColumnBuffer).append(cols[c] as Column);
      this.append(record, sync);
      this.j++;
    } else {
      // Journaled before it is published: with the write-ahead barrier (flushJournal before any socket
      // write leaves), no subscriber ever holds a row the journal lacks.
      if (this.journal) {
        this.append(record, sync);
        this.i++;
      }
      const whole = raw && this.w.count(t) > 0
        ? publishedMessage(state.prefixes, raw, x, state.schema.types, stamp) : undefined;
      this.pub(t, state, u.count, u.syms(), () => table(state.schema.columns as string[], u.columns()), whole);
    }
  }

  /**
   * Reads the local date (q's "d"$.z.P) and when to read it again: the next local midnight, or the next
   * hour if sooner (an offset change, e.g. daylight saving, moves midnight). Between the two, updates
   * compare one bigint instead of converting the clock.
   */
  private dayCheck(nowNs: bigint): void {
    const { date, timeOfDay } = localAt(this.options.clock, nowNs);
    this.localDate = date;
    const midnight = nowNs + (NANOS_PER_DAY - timeOfDay);
    const hour = (nowNs / NANOS_PER_HOUR + 1n) * NANOS_PER_HOUR;
    this.checkAt = midnight < hour ? midnight : hour;
  }

  private append(record: () => Buffer, sync: boolean): void {
    const journal = this.journal;
    if (!journal) return;
    journal.append(record());
    if (sync) { journal.flush(); return; }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushJournal);
    }
  }

  /**
   * Writes staged journal records now. The IPC and WebSocket layers call it before their queued writes
   * leave (a write-ahead barrier): a published row, or the answer to a sync chaser, never reaches a client
   * before its journal record reaches the file, as in tick.q where the log write is immediate.
   */
  readonly flushJournal = (): void => {
    this.flushScheduled = false;
    if (this.journal && this.journal.pendingBytes > 0) this.journal.flush();
  };

  /** u.q pub. */
  private pub(t: string, state: TableState, n: number, syms: readonly string[] | undefined, data: () => QTable,
    whole?: Buffer): void {
    const sent = this.w.publish(t, n, syms, data, whole);
    if (sent > 0) {
      // rows offered; filters may send fewer to some subscribers
      this.stats.messagesOut += sent;
      this.stats.rowsOut += n;
      state.stats.messagesOut += sent;
      state.stats.rowsOut += n;
    }
  }

  /** Counters of one table, undefined for an unknown table. */
  tableStats(t: string): Readonly<TableStats> | undefined { return this.tables.get(t)?.stats; }

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
    for (const [name, state] of this.tables) {
      if ((state.buffer[0] as ColumnBuffer).size === 0) continue;
      const n = (state.buffer[0] as ColumnBuffer).size;
      const cols = state.buffer.map((b) => b.drain());
      const syms = cols[1]?.type === 11 ? cols[1].data : undefined;
      this.pub(name, state, n, syms, () => table(state.schema.columns as string[], cols));
    }
    this.i = this.j;
  }

  /** tick.q .u.ts: end of day when the date moved on; more than one day is an error, as in q. */
  private ts(today: number): void {
    if (this.d >= today || this.options.followUpstream) return;
    if (this.d < today - 1) {
      this.log.error({ d: this.d, today }, 'more than one day');
      // tick.q stops its timer and signals 'more than one day?'; we roll one day at a time instead
      // so that no day's journal is skipped.
    }
    while (this.d < today) this.endOfDay();
  }

  /** tick.q .u.endofday: .u.end to subscribers with the old date, d+1, roll the journal. */
  endOfDay(): void {
    const old = this.d;
    this.end(old);
    this.d = old + 1;
    if (this.journal) {
      this.journal.close();
      this.journal = undefined;
      this.openLog();
    }
    this.log.info({ date: old }, 'end of day');
  }

  /** u.q end: (`.u.end;d) once to each distinct subscriber. */
  end(d: number): void {
    const msg = new Outbound(encodeMessage(list(sym('.u.end'), qDate(d)), MsgType.Async));
    for (const s of this.w.distinct()) s.send(msg);
  }

  /** u.q sub[t;syms] for one table: replaces the caller's subscription and returns (t;schema). */
  sub(subscriber: Subscriber, t: string, filter: SymFilter): QValue {
    if (!this.tables.has(t)) throw new QError(t);
    this.w.set(t, subscriber, filter);
    return this.schemaReply(t);
  }

  /** u.q add's reply: (t; empty table with g# on sym). */
  schemaReply(t: string): QValue {
    const state = this.tables.get(t);
    if (!state) throw new QError(t);
    return list(sym(t), state.empty);
  }

  /** .z.pc */
  disconnect(handle: number): void {
    this.w.removeHandle(handle);
  }

  /** `.u `i`L` as r.q expects it: (.u.i; .u.L), or (0N; `) without a journal. */
  replayPoint(): QValue {
    if (!this.logFile) return list(long(NULL_LONG), sym(''));
    return list(long(BigInt(this.i)), sym(logSymbol(this.logFile)));
  }

  /** Graceful stop: publish what batch mode holds, close the journal; later updates are refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.batch) this.flushBatch();
    this.journal?.close();
    this.journal = undefined;
  }
}
