// Follows TICK_<SRC> into a local tickerplant: each record is journaled byte for byte (so the local journal
// is the primary's) and published to local subscribers; tick.<SRC>._end ends the day. An edge tickerplant
// and a hot standby are both followers. An ordered consumer delivers in stream order and, after a
// reconnect, resumes after the last message it delivered. Spec: docs.nats.io JetStream ordered consumers;
// KxSystems/kdb tick/chainedtick.q (a chained TP republishes upstream's upd and .u.end).
import type { Logger } from 'pino';
import type { JetStreamClient, JetStreamManager, JsMsg, ConsumerMessages } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { backoffDelay } from '../backoff.js';
import { localNow } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { Q, QError } from '../errors.js';
import { decodePayload } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import { compare, END, msgId, next, parseMsgId, streamName } from './names.js';
import type { Position } from './names.js';
import { seqAtOrAfter } from './stream.js';

/** The tickerplant as a follower drives it (public methods only). */
export interface FollowedTickerplant {
  readonly d: number;
  readonly batch: boolean;
  journalStats(): { records: number } | undefined;
  appendRecord(t: string, x: QValue, record: Buffer): void;
  /** Takes an earlier date while the current day holds nothing (Tickerplant.adoptDate). */
  adoptDate(d: number): boolean;
  flushBatch(): void;
  endOfDay(): void;
}

export interface FollowerOptions {
  readonly src: string;
  readonly tp: FollowedTickerplant;
  readonly clock: Clock;
  readonly log: Logger;
}

export class Follower {
  /** The stream sequence of the last message applied (0: none). */
  seq = 0;
  /** Messages in the stream after the last one applied (from the consumer's delivery info). */
  pending = 0;
  /** The position expected next; undefined until the first message (a follower without a journal). */
  private expect: Position | undefined;
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  private readonly log: Logger;
  /** Records applied since start (tests, metrics). */
  applied = 0;
  /**
   * The local journal failed (a full disk): records it took since its last flush were withdrawn, so the
   * consumer is stopped and started again from the journal's end, after a backoff, until it writes again.
   */
  private paused = false;
  /** Whether following is paused by a failed journal write (see journalFailed). */
  get rewinding(): boolean { return this.paused; }
  private rewinds = 0;
  /** The last date logged as too far ahead, and whether stream and journal are known out of step: one line each. */
  private aheadLogged: number | undefined;
  private outOfStep = false;
  /** The latest day whose end this follower applied: never adopted again. */
  private ended: number | undefined;
  private retry: Timer | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;

  constructor(private readonly o: FollowerOptions) {
    this.log = o.log.child({ mod: 'nats' });
  }

  /** Where the local state ends: the day's journal record count, when there is a journal. */
  private localPosition(): Position | undefined {
    const stats = this.o.tp.journalStats();
    return stats ? { date: this.o.tp.d, index: stats.records } : undefined;
  }

  /**
   * Starts consuming: from the message after the local journal's last record, or (no journal) from the
   * next message stored. Resolves once the consumer exists; messages are applied from then on.
   */
  async start(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    this.js = js;
    this.jsm = jsm;
    const local = this.localPosition();
    let startSeq: number;
    if (local) {
      startSeq = await seqAtOrAfter(jsm, this.o.src, local);
      this.expect = local;
    } else {
      startSeq = (await jsm.streams.info(streamName(this.o.src))).state.last_seq + 1;
    }
    this.seq = startSeq - 1;
    // Unpaused only now (a restart keeps it paused until here): before, seq still named records the
    // failed flush withdrew, and caughtUp would have said they were in the journal.
    this.paused = false;
    this.resolveWaiters();
    const consumer = await js.consumers.get(streamName(this.o.src), {
      deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq,
    });
    if (this.stopped) return;
    // Pulls of 5 s (heartbeats every 2.5 s) rather than the client's 30 s: a server that hung and woke, or a
    // pull lost with it, is noticed and the consumer reset within seconds, not a minute.
    this.messages = await consumer.consume({ expires: 5000 });
    this.log.info({ from: startSeq, at: local ? msgId(local) : null }, 'following the stream');
    void this.loop(this.messages);
  }

  /** Resolves when every message up to `seq` has been applied (and not withdrawn since). */
  caughtUp(seq: number): Promise<void> {
    if (!this.paused && this.seq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /**
   * The tickerplant's journal failed a write (its onJournalFault): stop applying, and start again from the
   * journal's end after a backoff. Retried until a record is journaled; the tickerplant logs the fault
   * and the recovery, once each.
   */
  journalFailed(): void {
    if (this.paused || this.stopped || !this.js) return;
    this.paused = true;
    const messages = this.messages;
    this.messages = undefined;
    void messages?.close().catch(() => {});
    const ms = backoffDelay(this.rewinds++, { minDelayMs: 100, maxDelayMs: 2000 });
    this.log.debug({ retryMs: ms }, 'journal failed: following again from its end');
    this.retry = this.o.clock.after(ms, () => void this.restart());
  }

  /** Stops applying and starts again from the local journal's end, at once. */
  private refollow(): void {
    this.paused = true;
    const messages = this.messages;
    this.messages = undefined;
    void messages?.close().catch(() => {});
    queueMicrotask(() => void this.restart()); // after this message's apply() has seen `paused`
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.start(this.js as JetStreamClient, this.jsm as JetStreamManager);
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: String(err) }, 'stream consumer not restarted');
      this.paused = false; // so that journalFailed schedules the next attempt
      this.journalFailed();
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    await this.messages?.close().catch(() => {});
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopped || this.paused || messages !== this.messages) break;
        this.apply(m);
      }
    } catch (err) {
      if (!this.stopped) this.log.error({ err: String(err) }, 'stream consumer stopped');
    }
  }

  private apply(m: JsMsg): void {
    this.pending = m.info.pending;
    try {
      this.applyOne(m);
    } catch (err) {
      if (err instanceof QError && err.message === Q.journal) {
        this.journalFailed(); // not applied: taken again from the stream once the journal writes
        return;
      }
      this.log.error({ seq: m.seq, err: err instanceof Error ? err.message : String(err) }, 'stream message not applied');
    }
    if (this.paused) return; // the record was taken, then withdrawn by a failed flush
    this.seq = m.seq;
    this.rewinds = 0;
    this.resolveWaiters();
  }

  /** Waiters are kept in order of seq: callers ask for increasing sequences. */
  private resolveWaiters(): void {
    while (this.waiters.length > 0 && (this.waiters[0] as { seq: number }).seq <= this.seq) {
      (this.waiters.shift() as { resolve: () => void }).resolve();
    }
  }

  private applyOne(m: JsMsg): void {
    const pos = parseMsgId(m.headers?.get('Nats-Msg-Id'));
    if (pos === undefined) {
      this.log.warn({ seq: m.seq, subject: m.subject }, 'message without a tickerplant Nats-Msg-Id ignored');
      return;
    }
    const tp = this.o.tp;
    // The primary's day is the one before ours (its clock or offset behind ours, or its records of
    // yesterday still coming) and ours holds nothing yet: the journal is the primary's, so its day is
    // ours, followed again from that day's journal end. Never further back, nor a day already ended here.
    const today = localNow(this.o.clock).date;
    if (pos.date < tp.d && pos.date >= today - 1 && (this.ended === undefined || pos.date > this.ended) && tp.adoptDate(pos.date)) {
      this.log.warn({ at: msgId(pos), was: this.expect ? msgId(this.expect) : null }, 'stream on an earlier day: following its date');
      this.refollow();
      return;
    }
    if (this.expect !== undefined && compare(pos, this.expect) < 0) return; // already journaled here
    // A date the local clock has not reached (a day's offset aside) would roll day after day to it:
    // tick.q refuses more than one day at once ('more than one day?'), so does this.
    if (pos.date > today + 1) {
      if (this.aheadLogged !== pos.date) this.log.error({ at: msgId(pos), today }, 'stream message dated more than a day ahead ignored');
      this.aheadLogged = pos.date;
      return;
    }
    if (pos.index === END) {
      while (tp.d <= pos.date) this.endOfDay();
      this.ended = Math.max(this.ended ?? pos.date, pos.date);
      this.expect = next(pos);
      return;
    }
    if (pos.date < tp.d) {
      this.log.warn({ at: msgId(pos), d: tp.d }, 'record of a past day ignored');
      return;
    }
    if (pos.date > tp.d) {
      this.log.warn({ at: msgId(pos), d: tp.d }, 'end of day missing from the stream; rolled over');
      while (tp.d < pos.date) this.endOfDay();
    }
    const local = this.localPosition();
    const inStep = !local || pos.index === local.index;
    if (!inStep && !this.outOfStep) this.log.error({ at: msgId(pos), journal: msgId(local as Position) }, 'stream and journal out of step');
    this.outOfStep = !inStep;
    const record = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const v = decodePayload(record);
    if (v.type !== 0 || v.items.length !== 3 || v.items[1]?.type !== -11) {
      this.log.warn({ seq: m.seq }, 'stream message is not an upd record; ignored');
      return;
    }
    tp.appendRecord(v.items[1].value, v.items[2] as QValue, record);
    this.applied++;
    this.expect = next(pos);
  }

  /** The day's rows first (batch mode), then .u.end and the next day's journal. */
  private endOfDay(): void {
    const tp = this.o.tp;
    if (tp.batch) tp.flushBatch();
    tp.endOfDay();
  }
}
