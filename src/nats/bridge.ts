// The primary's bridge: the local journal stays the source of truth and every record of it reaches
// TICK_<SRC> in order, byte for byte, with Nats-Msg-Id <date>:<index>; end of day goes to tick.<SRC>._end.
// Records are read back from the journal file (just written, so from the page cache) one event-loop turn
// at a time and published as one coalesced write (publisher.ts), with at most maxInFlight records (and
// maxInFlightBytes) not yet acknowledged. Each message expects the stream's last sequence to be the one
// before it (Nats-Expected-Last-Sequence), so a message stored proves that every message before it was
// stored, in place: only the turn's last message (and every ackEvery-th) asks for an ack, which stands for
// its whole segment, and a message refused or lost makes the next acked one fail. After any failure (NATS
// down, a lost ack) the bridge asks the stream where it ends and resumes from the journal there: no gap and
// no duplicate, however long the outage (the duplicate window is a second guard, not the mechanism).
// Spec: docs.nats.io JetStream (publish acks, Nats-Expected-Last-Sequence, Nats-Msg-Id).
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Clock, Timer } from '../clock.js';
import { backoffDelay } from '../backoff.js';
import { logPath } from '../journal/index.js';
import { END, endSubject, msgId, next, tableSubject } from './names.js';
import type { Position } from './names.js';
import { recordTable } from './record.js';
import { connectNats, ensureStream, jetstreamManager, lastPosition, recordLimit, watchLink } from './stream.js';
import type { NatsLink } from './stream.js';
import type { NatsOptions } from './stream.js';
import { TailMarks } from './tail.js';
import type { JournalTail } from './tail.js';
import { StreamPublisher } from './publisher.js';
import { formatQDate } from '../ipc/index.js';

/** What the bridge reads of the tickerplant: its date and the journal's record count, and the barrier. */
export interface JournalSource {
  readonly d: number;
  journalStats(): { records: number } | undefined;
  /** The records of the journal the last end of day closed: how far that day's file is the journal's. */
  readonly endedDay?: { readonly date: number; readonly records: number } | undefined;
  flushJournal(): void;
}

export interface BridgeOptions extends NatsOptions {
  readonly src: string;
  /** DST: the journal directory. */
  readonly dir: string;
  readonly replicas: number;
  readonly tp: JournalSource;
  readonly clock: Clock;
  readonly log: Logger;
  /** Publishes awaiting an ack at most. [maxInFlight=4096] */
  readonly maxInFlight?: number;
  /** Bytes of publishes awaiting an ack at most (at least one record is always sent). [maxInFlightBytes=8 MiB] */
  readonly maxInFlightBytes?: number;
  /** An ack not back after this long: the bridge resumes from the stream. [ackTimeoutMs=5000] */
  readonly ackTimeoutMs?: number;
  /** Journal bytes between two of the bridge's TailMarks (tests set it small). [markBytes=1 MiB] */
  readonly markBytes?: number;
}

/** What the bridge remembers of an acked publish until its ack: the segment of records it stands for. */
interface Sent { readonly p: Position; readonly records: number; readonly bytes: number }

/** The newest record of the turn, held back so that the turn's last message is the one that asks for an ack. */
interface Held { readonly subject: string; readonly data: Buffer; readonly p: Position; readonly expect: number }

type State = 'connecting' | 'syncing' | 'live' | 'stopped';

export class PrimaryBridge {
  private nc: NatsConnection | undefined;
  private link: NatsLink | undefined;

  /** Whether the NATS connection is up (tickerplant_nats_up). */
  get natsUp(): boolean { return this.link?.up ?? false; }
  private publisher: StreamPublisher<Sent | undefined> | undefined;
  private jsm: JetStreamManager | undefined;
  private state: State = 'connecting';
  /** The next journal position to publish. */
  private pos: Position = { date: 0, index: 0 };
  /** The position after the last record the stream acknowledged (or held when the bridge resynced). */
  private confirmed: Position = { date: 0, index: 0 };
  /** The stream's last sequence, as the next publish expects it. */
  private expectSeq = 0;
  /** Records (and their bytes) published and not yet covered by an ack, the held one included. */
  private inFlight = 0;
  private inFlightBytes = 0;
  private held: Held | undefined;
  /** Records (and bytes) since the last message that asked for an ack, the held one included. */
  private segRecords = 0;
  private segBytes = 0;
  private readonly ackEvery: number;
  private failed = false;
  private resyncing = false;
  private tail: JournalTail | undefined;
  /** Where records begin in the journal read so far: a resync seeks from near its record, not from the start. */
  private readonly marks: TailMarks;
  private scheduled = false;
  private attempt = 0;
  private retry: Timer | undefined;
  /** Whether a connect failed since the last one that worked (its line is written once). */
  private connectFailed = false;
  private readonly maxInFlight: number;
  private readonly maxInFlightBytes: number;
  /** The date's q text, formatted once per day for the Nats-Msg-Ids. */
  private dateText: { date: number; text: string } = { date: -1, text: '' };
  /** The subject of the last table published, kept while the table does not change. */
  private subject: { table: string; subject: string } = { table: '', subject: '' };
  private readonly log: Logger;
  /** Records acknowledged by the stream since start (metrics, tests). */
  acked = 0;

  constructor(private readonly o: BridgeOptions) {
    this.marks = new TailMarks(o.markBytes);
    this.maxInFlight = o.maxInFlight ?? 4096;
    this.maxInFlightBytes = o.maxInFlightBytes ?? 8 << 20;
    // Several acks per window, so the window refills while the server stores the rest.
    this.ackEvery = Math.max(1, Math.floor(this.maxInFlight / 8));
    this.log = o.log.child({ mod: 'nats' });
  }

  get live(): boolean { return this.state === 'live'; }

  /** The longest record the stream takes (NATS max_payload, less room for headers): the tickerplant refuses longer ones. */
  recordLimit(): number { return recordLimit(this.nc); }

  /** Journal records not yet acknowledged by the stream (approximate while a whole day behind). */
  lag(): number {
    // Counted from the last acknowledged record, not from what was sent: after a failure the window's
    // records are no longer in flight but not in the stream either, until the resync resends them.
    const records = this.o.tp.journalStats()?.records ?? 0;
    const c = this.confirmed;
    const behind = c.date === this.o.tp.d ? records - c.index : records + 1;
    return Math.max(0, behind);
  }

  /** Connects in the background: the tickerplant runs whether or not NATS is up. */
  start(): void {
    this.connect().catch((err: unknown) => this.log.error({ err: String(err) }, 'nats bridge failed'));
  }

  /** A record was journaled: publish on this turn's end (after the tickerplant's own flush). */
  readonly wake = (): void => {
    if (this.scheduled || this.state !== 'live') return;
    this.scheduled = true;
    setImmediate(this.pump);
  };

  async close(): Promise<void> {
    this.state = 'stopped';
    this.retry?.cancel();
    this.tail?.close();
    this.publisher?.close();
    this.publisher = undefined;
    const nc = this.nc;
    this.nc = undefined;
    await nc?.close().catch(() => {});
  }

  /** Connects, waiting while no server takes the connection (a server refusing our credentials, or none up yet): one line until it works. */
  private async connect(): Promise<void> {
    try {
      this.nc = await connectNats({ ...this.o, name: `tickerplant ${this.o.src} primary` }, {
        stopped: () => this.state === 'stopped',
        failing: (reason) => this.log.error({ err: reason }, 'nats connection failed; retrying'),
      });
      this.link = watchLink(this.nc, this.log);
    } catch (err) {
      if (this.state === 'stopped') return;
      // The credentials file could not be read: it may be put back.
      const ms = backoffDelay(this.attempt++, { minDelayMs: 200, maxDelayMs: 5000 });
      if (!this.connectFailed) this.log.error({ err: String(err), retryMs: ms }, 'nats connection failed; retrying');
      this.connectFailed = true;
      this.retry = this.o.clock.after(ms, () => void this.connect());
      return;
    }
    this.connectFailed = false;
    this.attempt = 0;
    if (this.state === 'stopped') { await this.nc.close(); return; }
    this.publisher = new StreamPublisher<Sent | undefined>(this.nc, {
      clock: this.o.clock, ackTimeoutMs: this.o.ackTimeoutMs ?? 5000,
      onAck: (sent, _seq, duplicate) => this.acknowledged(sent, duplicate), onError: (sent, err) => this.refused(sent, err),
    });
    this.log.info({ servers: this.o.servers }, 'nats connected');
    await this.resync();
  }

  /** Finds where the stream ends and resumes the journal from there; retried with backoff until it works. */
  private async resync(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'syncing';
    this.tail?.close();
    this.tail = undefined;
    try {
      // The JetStream API may not answer yet (a cluster still electing its meta leader): asked here, inside
      // the retry, so that is one more backoff and never an unhandled rejection.
      this.jsm ??= await jetstreamManager(this.nc as NatsConnection);
      const jsm = this.jsm;
      await ensureStream(jsm, this.o.src, this.o.replicas);
      const last = await lastPosition(jsm, this.o.src);
      const records = this.o.tp.journalStats()?.records ?? 0;
      const from = last.pos ? next(last.pos) : { date: this.o.tp.d, index: 0 };
      if (from.date > this.o.tp.d || (from.date === this.o.tp.d && from.index > records)) {
        // The stream holds records this journal does not: another primary, or a journal lost. Publishing
        // would interleave two histories; stop and say so.
        this.log.error({ stream: msgId(last.pos as Position), journal: `${formatQDate(this.o.tp.d)}:${records}` },
          'stream is ahead of the journal; bridge stopped');
        this.state = 'stopped';
        return;
      }
      // Counts agree; the records must too. A journal that lost its tail (a power cut with --fsync none,
      // --truncate-log) and took new updates since has other records at the stream's last positions:
      // publishing on would give the stream two histories under one set of ids.
      if (last.pos && last.pos.index !== END && last.data && !this.sameRecord(last.pos, last.data)) {
        this.log.error({ at: msgId(last.pos) }, "stream's last record differs from the journal's; bridge stopped");
        this.state = 'stopped';
        return;
      }
      this.pos = from;
      this.confirmed = from;
      this.expectSeq = last.seq;
      this.attempt = 0;
      this.failed = false;
      this.state = 'live';
      this.log.info({ from: msgId(from), seq: last.seq }, 'stream in step with the journal');
      this.wake();
    } catch (err) {
      if (this.state === 'stopped') return;
      const ms = backoffDelay(this.attempt++, { minDelayMs: 100, maxDelayMs: 2000 });
      this.log.warn({ err: String(err), retryMs: ms }, 'nats unavailable');
      this.retry = this.o.clock.after(ms, () => void this.resync());
    }
  }

  /** Whether the journal's record at `p` is `data` (a day whose file is gone is not compared). */
  private sameRecord(p: Position, data: Uint8Array): boolean {
    const tail = this.marks.reader(logPath(this.o.dir, this.o.src, p.date), p.date, p.index);
    try {
      if (!tail.open() || !tail.seek(p.index)) return true; // no such record here: the count check decides
      let ours: Buffer | undefined;
      tail.read(1, 64 << 20, (record) => { ours = record; });
      return ours === undefined || ours.equals(data);
    } finally {
      tail.close();
    }
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.state !== 'live') return;
    try {
      this.fill();
    } catch (err) {
      // A record the bridge cannot name a subject for (not an upd): stop, never crash the tickerplant.
      this.log.error({ err: err instanceof Error ? err.message : String(err), at: msgId(this.pos) }, 'journal record unreadable; bridge stopped');
      this.state = 'stopped';
    } finally {
      // The records before a stop are sent too, so the stream ends just before the one that stopped it.
      this.sendHeld();
    }
  };

  /** Publishes what the journal holds beyond the stream, as far as the window allows. */
  private fill(): void {
    const tp = this.o.tp;
    tp.flushJournal();
    while (this.inFlight < this.maxInFlight && this.inFlightBytes < this.maxInFlightBytes && this.state === 'live') {
      if (!this.tail) {
        this.tail = this.marks.reader(logPath(this.o.dir, this.o.src, this.pos.date), this.pos.date, this.pos.index);
        if (this.pos.index > 0 && !this.tail.seek(this.pos.index)) {
          if (this.pos.date === tp.d) break; // not written yet
          this.log.error({ at: msgId(this.pos) }, 'journal shorter than the stream; bridge stopped');
          this.state = 'stopped';
          return;
        }
      }
      const date = this.pos.date;
      const limit = this.recordLimit();
      let tooBig: Position | undefined;
      // A file is read only as far as the journal's record count (today's, or the day just ended): a tail
      // a failed write could not cut (a full disk refusing even ftruncate) is not the journal's, and
      // never reaches the stream.
      const ended = tp.endedDay?.date === date ? tp.endedDay.records : undefined;
      const records = date === tp.d ? tp.journalStats()?.records ?? 0 : ended;
      const room = records === undefined ? this.maxInFlight - this.inFlight : Math.min(this.maxInFlight - this.inFlight, records - this.pos.index);
      const n = room <= 0 ? 0 : this.tail.read(room, this.maxInFlightBytes - this.inFlightBytes, (record, index) => {
        if (tooBig || this.state !== 'live') return;
        if (record.length > limit) { tooBig = { date, index }; return; }
        this.publish(this.subjectOf(record), record, { date, index });
      });
      if (tooBig) {
        // Not dropped and not retried in a loop: the bridge stops here, lag grows, and a restart after
        // raising nats-server's max_payload resumes from this record.
        this.log.error({ at: msgId(tooBig), maxRecordBytes: limit }, 'journal record larger than NATS max_payload; bridge stopped');
        this.state = 'stopped';
        return;
      }
      if (n > 0) continue;
      // Nothing left in this day's file: once the tickerplant has moved on (and closed it), the day ends.
      if (date >= tp.d) break;
      this.tail.close();
      this.tail = undefined;
      this.publish(endSubject(this.o.src), Buffer.from(formatQDate(date), 'latin1'), { date, index: END });
    }
  }

  /** tick.<SRC>.<table>, the string built again only when the table changes. */
  private subjectOf(record: Buffer): string {
    const table = recordTable(record);
    if (table !== this.subject.table) this.subject = { table, subject: tableSubject(this.o.src, table) };
    return this.subject.subject;
  }

  /** msgId(p), with the day's date formatted once. */
  private idOf(p: Position): string {
    if (p.index === END) return msgId(p);
    if (this.dateText.date !== p.date) this.dateText = { date: p.date, text: formatQDate(p.date) };
    return `${this.dateText.text}:${p.index}`;
  }

  private publish(subject: string, data: Buffer, p: Position): void {
    const expect = this.expectSeq++;
    this.pos = next(p);
    this.inFlight++;
    this.inFlightBytes += data.length;
    this.segRecords++;
    this.segBytes += data.length;
    const before = this.held;
    this.held = { subject, data, p, expect };
    if (before) this.send(before, false);
    if (this.segRecords >= this.ackEvery) this.sendHeld();
  }

  /** The held record, asking for the ack that covers its segment. */
  private sendHeld(): void {
    const h = this.held;
    if (h && this.publisher) this.send(h, true);
  }

  private send(h: Held, acked: boolean): void {
    if (h === this.held) this.held = undefined;
    let sent: Sent | undefined;
    if (acked) {
      sent = { p: h.p, records: this.segRecords, bytes: this.segBytes };
      this.segRecords = 0;
      this.segBytes = 0;
    }
    (this.publisher as StreamPublisher<Sent | undefined>).publish(h.subject, h.data, this.idOf(h.p), h.expect, sent);
  }

  private acknowledged(sent: Sent | undefined, duplicate: boolean): void {
    if (!sent) return;
    if (duplicate) {
      // Already in the stream: our idea of where the stream ends is out of date. Resume from the stream.
      this.refused(sent, 'duplicate');
      return;
    }
    this.inFlight -= sent.records;
    this.inFlightBytes -= sent.bytes;
    this.acked += sent.records;
    this.confirmed = next(sent.p);
    if (this.failed) this.resyncWhenDrained(); else this.wake();
  }

  private refused(sent: Sent | undefined, err: string): void {
    if (sent) {
      this.inFlight -= sent.records;
      this.inFlightBytes -= sent.bytes;
    }
    if (!this.failed) {
      this.log.warn({ err, at: sent ? msgId(sent.p) : null }, 'nats publish failed; resuming from the stream');
      this.failed = true;
      if (this.state === 'live') this.state = 'syncing';
      // The rest of the window expected this one before it: fail it now rather than wait for each ack.
      this.publisher?.failAll(err);
      // Records no ack stands for yet (refused while the turn was being published) are given up too.
      this.held = undefined;
      this.inFlight -= this.segRecords;
      this.inFlightBytes -= this.segBytes;
      this.segRecords = 0;
      this.segBytes = 0;
    }
    this.resyncWhenDrained();
  }

  /** After a failure, once nothing is in flight, the stream is asked where it ends (once). */
  private resyncWhenDrained(): void {
    if (!this.failed || this.inFlight > 0 || this.resyncing) return;
    this.resyncing = true;
    void this.resync().finally(() => { this.resyncing = false; });
  }
}
