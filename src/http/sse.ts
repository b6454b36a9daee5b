// One Server-Sent Events stream (WHATWG HTML, "Server-sent events") of a table's updates: a tick
// Subscriber whose events are the WebSocket gateway's JSON, rendered once per event (updJson), one
// `event: upd` per message, `id:` = the journal's day and position after it. A stream resuming from a
// Last-Event-ID first reads the missed rows back from the journal, then joins .u.w in the same turn
// as it reads the published position for the last time, so no row is missed or sent twice.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { date as qDate } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import type { SymFilter, Subscriber, TickEvent, Tickerplant } from '../tick/index.js';
import { endJson, toJson, updJson, updText } from '../ws/index.js';
import { livePosition, positionId, publishedPosition, readRows } from './journal-rows.js';

export interface SseOptions {
  readonly handle: number;
  readonly res: ServerResponse;
  readonly tp: Tickerplant;
  readonly table: string;
  readonly filter: SymFilter;
  readonly log: Logger;
  /** Bytes queued for a client before it is dropped as a slow consumer. */
  readonly maxQueuedBytes: number;
  /** Called once when the stream has ended, whoever ended it. */
  readonly onClose: (s: SseStream) => void;
  /** It was dropped for letting too much queue (tickerplant_slow_subscriber_drops_total). */
  readonly onSlowConsumer?: (() => void) | undefined;
}

/** How soon (ms) a client's EventSource should reconnect after the stream drops. */
const RETRY_MS = 1000;
/** The rows a stream that takes over a payment may be sent again of those the old one was (see recentFrom). */
export const TAKEOVER_REPLAY_ROWS = 1024;

export class SseStream implements Subscriber {
  readonly handle: number;
  private closed = false;
  /** Where the stream has got to: replaying today's journal at a position, or live. */
  private at: { readonly day: number; readonly position: number } | 'live' | undefined;
  /** Today's journal position it started from, and the positions (ids) of the last rows it was sent, a ring. */
  private startedAt: { readonly day: number; readonly position: number } | undefined;
  private readonly recent = new Float64Array(TAKEOVER_REPLAY_ROWS);
  private recentDay = -1;
  private recentCount = 0;
  /** When a stream taking over this payment was last let replay what the stream before it was sent (unix ms). */
  replayedTakeoverAt: number | undefined;
  private readonly o: SseOptions;

  constructor(o: SseOptions) {
    this.o = o;
    this.handle = o.handle;
    o.res.on('close', () => this.closedBy('client'));
    // Gone while it was being authorized: 'close' has fired already, so end it once the caller is done.
    if (!o.res.socket || o.res.socket.destroyed) queueMicrotask(() => this.closedBy('client'));
  }

  get open(): boolean { return !this.closed; }

  /**
   * Today's journal position up to which this stream has been offered rows (live: everything published;
   * replaying: its place, 0 while still on an earlier day); undefined before it started.
   */
  offeredUpTo(): number | undefined {
    const { tp } = this.o;
    if (this.at === 'live') return publishedPosition(tp);
    return this.today(this.at);
  }

  /** A place in the journal as today's position: 0 for an earlier day (nothing of today yet). */
  private today(p: { readonly day: number; readonly position: number } | undefined): number | undefined {
    return p === undefined ? undefined : p.day === this.o.tp.d ? p.position : 0;
  }

  /**
   * Today's position from which the last TAKEOVER_REPLAY_ROWS rows this stream was sent can be read
   * again (where it started, if it was sent fewer); undefined before it started.
   */
  recentFrom(): number | undefined {
    const d = this.o.tp.d;
    if (this.recentDay === d && this.recentCount >= TAKEOVER_REPLAY_ROWS) {
      return (this.recent[this.recentCount % TAKEOVER_REPLAY_ROWS] as number) - 1; // the oldest id kept: its row is at id - 1
    }
    return this.today(this.startedAt);
  }

  /**
   * 200 and the stream's headers; then the missed rows from `resumeFrom` (a position today), then live.
   * `skipped`: a first event saying which rows are not sent (they went to the stream this one replaced).
   */
  async start(resumeFrom: number | undefined, skipped?: Record<string, string>): Promise<void> {
    const { res } = this.o;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no', connection: 'keep-alive',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (skipped) this.write('skipped', Buffer.from(JSON.stringify(skipped), 'utf8'));
    this.startedAt = { day: this.o.tp.d, position: resumeFrom ?? publishedPosition(this.o.tp) };
    if (resumeFrom === undefined || this.o.tp.logFile === undefined) { this.goLive(); return; }
    try {
      await this.catchUp(resumeFrom);
    } catch (err) {
      this.o.log.error({ h: this.handle, err: err instanceof Error ? err.message : String(err) }, 'sse replay failed');
      this.finish('error', { type: 'error', code: 'internal' });
    }
  }

  /** Replays [position, published) from the journal until it has caught up, then subscribes live. */
  private async catchUp(from: number): Promise<void> {
    const { tp, table, filter } = this.o;
    let path = tp.logFile as string;
    let day = tp.d;
    let position = from;
    for (;;) {
      this.at = { day, position };
      if (this.closed) return;
      tp.flushJournal(); // what has been published is in the file before it is read back
      if (tp.logFile !== path) {
        // The day ended while we read: the rest of that day's file, its end, then the new day from 0.
        await readRows(tp, path, table, filter, position, undefined, (cols, p) => this.replayed(cols, day, p), () => this.closed);
        this.write('end', endText(day));
        path = tp.logFile as string;
        day = tp.d;
        position = 0;
        continue;
      }
      const to = publishedPosition(tp);
      if (position >= to) { this.goLive(); return; } // in the same turn as `to` was read: nothing in between
      const r = await readRows(tp, path, table, filter, position, to, (cols, p) => this.replayed(cols, day, p), () => this.closed);
      if (r.short) throw new Error(`journal ended at ${r.position} of ${to} records`);
      position = r.position;
    }
  }

  private replayed(cols: readonly QValue[], day: number, position: number): Promise<void> | undefined {
    const { table, tp } = this.o;
    this.at = { day, position };
    this.sent(day, position);
    const ok = this.write('upd', updText(table, tp.tables.get(table)?.schema.columns ?? [], cols), positionId(day, position));
    return ok || this.closed ? undefined : this.drained();
  }

  private goLive(): void {
    if (this.closed) return;
    this.at = 'live';
    this.o.tp.sub(this, this.o.table, this.o.filter);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { this.o.res.off('drain', done); this.o.res.off('close', done); resolve(); };
      this.o.res.once('drain', done);
      this.o.res.once('close', done);
    });
  }

  /** A tick event: updates and end of day as the WebSocket gateway renders them; renewals are not ours. */
  deliver(e: TickEvent): void {
    const { tp, res } = this.o;
    if (e.kind === 'renew') return;
    if (res.writableLength > this.o.maxQueuedBytes) {
      this.o.log.warn({ h: this.handle, queued: res.writableLength, max: this.o.maxQueuedBytes }, 'slow sse consumer dropped');
      this.o.onSlowConsumer?.();
      res.destroy();
      return;
    }
    if (e.kind === 'end') { this.write('end', endJson(e)); return; }
    if (tp.logFile === undefined) { this.write('upd', updJson(e)); return; }
    const position = livePosition(tp);
    this.sent(tp.d, position);
    this.write('upd', updJson(e), positionId(tp.d, position));
  }

  /** Notes the id of a row sent (the ring of recentFrom). */
  private sent(day: number, position: number): void {
    if (day !== this.recentDay) { this.recentDay = day; this.recentCount = 0; }
    this.recent[this.recentCount++ % TAKEOVER_REPLAY_ROWS] = position;
  }

  /** Sends a last event and ends the stream (the token expired, the server stops, a read failed). */
  finish(event: string, data: Record<string, string>): void {
    if (this.closed) return;
    this.write(event, Buffer.from(JSON.stringify(data), 'utf8'));
    this.o.res.end();
    this.closedBy('server');
  }

  /** A comment line: keeps proxies from timing the stream out and finds dead peers. */
  keepAlive(): void {
    if (!this.closed) this.o.res.write(': keep-alive\n\n');
  }

  private write(event: string, data: Buffer, id?: string): boolean {
    if (this.closed) return true;
    this.o.tp.flushJournal(); // write-ahead: nothing reaches a client before its journal record
    // JSON.stringify never emits a raw newline, so each payload is one data: line. Corked: one write.
    const { res } = this.o;
    res.cork();
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: `);
    res.write(data);
    const ok = res.write('\n\n');
    res.uncork();
    return ok;
  }

  private closedBy(who: 'client' | 'server'): void {
    if (this.closed) return;
    this.closed = true;
    this.o.log.info({ h: this.handle, table: this.o.table, by: who }, 'sse stream ended');
    this.o.onClose(this);
  }
}

function endText(day: number): Buffer {
  return Buffer.from(JSON.stringify({ type: 'end', date: toJson(qDate(day)) }), 'utf8');
}
