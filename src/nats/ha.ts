// A hot-standby pair (--ha): two primaries with the same SRC and NATS; one holds the lease and takes feeds,
// the other answers .u.upd with 'standby. Both follow TICK_<SRC> into their journals (follower.ts), so
// journals and .u.i are the same on both. The leader's .u.upd stores the record in JetStream first: the
// sync reply waits for the stream's ack, and subscribers get the row when it comes back from the stream,
// so nothing is published or acknowledged before JetStream has it.
// The lease is a key in a KV bucket whose max_age is the lease TTL: the leader renews it with a
// compare-and-set update; when the leader dies the key expires and the standby's create succeeds. A
// deposed leader that wakes up cannot append: every publish expects the stream's last sequence
// (Nats-Expected-Last-Sequence), and the new leader has moved it on. The server checks Nats-Msg-Id before
// that expectation, and a deposed leader's next id is the one the new leader used first, so its publish
// is answered "duplicate" with the other's sequence: that too is a refusal. It also stops taking feeds
// once its lease is older than most of the TTL (a process paused past it takes nothing on waking).
// Spec: docs.nats.io (KV, JetStream publish expectations, message deduplication).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Clock, Timer } from '../clock.js';
import { localNow, unixMs } from '../clock.js';
import { Q, QError } from '../errors.js';
import { formatQDate, NULL } from '../ipc/index.js';
import type { QValue } from '../ipc/index.js';
import { backoffDelay } from '../backoff.js';
import { Follower } from './follower.js';
import type { FollowedTickerplant } from './follower.js';
import { END, endSubject, leaseBucket, msgId, next, streamName, tableSubject } from './names.js';
import type { Position } from './names.js';
import { connectNats, ensureStream, jetstreamManager, lastPosition, recordLimit, watchLink } from './stream.js';
import type { NatsLink } from './stream.js';
import type { NatsOptions } from './stream.js';

export interface HaTickerplant extends FollowedTickerplant {
  recordOf(t: string, x: QValue): Buffer;
  readonly journalHealth: { readonly up: boolean };
  /** Counts an update refused because the journal is down (tickerplant_journal_refused_updates_total). */
  countRefused(): void;
  /** The write-ahead flush: false when the journal failed (the follower then rewinds). */
  flushJournal(): boolean;
}

export interface HotStandbyOptions extends NatsOptions {
  readonly src: string;
  readonly replicas: number;
  readonly tp: HaTickerplant;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long the standby waits after the leader's last renewal before taking over. [failoverMs=5000] */
  readonly failoverMs?: number;
  /** Stores awaiting an ack at most; beyond, feeds are not read until one is acked. [maxInFlight=4096] */
  readonly maxInFlight?: number;
  /** Bytes of stores awaiting an ack at most. [maxInFlightBytes=8 MiB] */
  readonly maxInFlightBytes?: number;
}

export type Role = 'connecting' | 'standby' | 'taking-over' | 'leader' | 'stopped';

const LEASE_KEY = 'leader';
/** How long a feed waits for the stream to say whether a store that got no answer went in. */
const STORE_DOUBT_MS = 30_000;

/** A publish that failed without JetStream's answer (not stored, or stored: not known). Others are refusals. */
const noAnswer = (err: unknown): boolean =>
  /timeout|disconnect|closed|reconnect|connection|in process/i.test(String(err)) && !/wrong last sequence/i.test(String(err));

export class HotStandby {
  role: Role = 'connecting';
  readonly id = randomUUID();
  /** Milliseconds the last takeover took, from winning the lease to accepting feeds. */
  lastTakeoverMs: number | undefined;
  private nc: NatsConnection | undefined;
  private link: NatsLink | undefined;
  /** Whether setting up failed since it last worked (its line is written once). */
  private setUpFailed = false;
  /** The first connect failed and was logged: later attempts are quiet until one works. */
  private connectFailed = false;

  /** Whether the NATS connection is up (tickerplant_nats_up). */
  get natsUp(): boolean { return this.link?.up ?? false; }
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private kv: KV | undefined;
  private revision = 0;
  private renewedAt = 0;
  private next: Position = { date: 0, index: 0 };
  private expectSeq = 0;
  private timer: Timer | undefined;
  private leaseTimer: Timer | undefined;
  private attempt = 0;
  private busy = false;
  readonly follower: Follower;
  /** Bytes of the stores awaiting JetStream's ack (`stores`): bounded, as the bridge's publishes are. */
  private inFlightBytes = 0;
  private readonly roomWaiters: Array<() => void> = [];
  /** Every store not yet answered (a lease is not taken again while any is open). */
  private readonly stores = new Set<Promise<number>>();
  /** The last store in doubt: the next one is asked about once it is settled. */
  private lastDoubt: Promise<unknown> = Promise.resolve();
  /** When the stream, unanswering, is given up on for the stores in doubt (unset while it answers). */
  private unanswered: number | undefined;
  private doubtLogged = false;
  /** A store in doubt of the current chain was refused for another record in its place. */
  private foreign = false;
  private readonly maxInFlight: number;
  private readonly maxInFlightBytes: number;
  private readonly ttlMs: number;
  private readonly log: Logger;

  constructor(private readonly o: HotStandbyOptions) {
    const failover = o.failoverMs ?? 5000;
    // Takeover = time to expiry (≤ TTL) + one poll + catching up: the TTL leaves room for the rest.
    this.ttlMs = Math.max(600, Math.round(failover * 0.6));
    this.maxInFlight = o.maxInFlight ?? 4096;
    this.maxInFlightBytes = o.maxInFlightBytes ?? 8 << 20;
    this.log = o.log.child({ mod: 'nats', ha: this.id.slice(0, 8) });
    this.follower = new Follower({ src: o.src, tp: o.tp, clock: o.clock, log: o.log });
  }


  get leader(): boolean { return this.role === 'leader'; }
  /** Stream messages not yet applied here. */
  lag(): number { return this.follower.pending; }

  start(): void { void this.connect(); }

  private async connect(): Promise<void> {
    try {
      this.nc = await connectNats({ ...this.o, name: `tickerplant ${this.o.src} ha` }, {
        stopped: () => this.role === 'stopped',
        failing: (reason) => { this.connectFailed = true; this.log.warn({ err: reason }, 'nats unavailable'); },
      });
      this.connectFailed = false;
      this.link = watchLink(this.nc, this.log);
      if (this.role === 'stopped') { await this.nc.close(); return; }
      this.js = jetstream(this.nc);
      await this.setUp();
    } catch (err) {
      if (this.role === 'stopped') return;
      const ms = backoffDelay(this.attempt++, { minDelayMs: 200, maxDelayMs: 2000 });
      // One line until a connection is made.
      if (this.nc || !this.connectFailed) this.log.warn({ err: String(err), retryMs: ms }, 'nats unavailable');
      if (!this.nc) this.connectFailed = true;
      this.timer = this.o.clock.after(ms, () => void (this.nc ? this.setUp().catch((e: unknown) => this.retrySetUp(e)) : this.connect()));
    }
  }

  /** Connected, but the stream, the lease bucket or the consumer not set up yet: again after a backoff, one line until it works. */
  private retrySetUp(err: unknown): void {
    if (this.role === 'stopped') return;
    const ms = backoffDelay(this.attempt++, { minDelayMs: 200, maxDelayMs: 2000 });
    if (!this.setUpFailed) this.log.warn({ err: String(err), retryMs: ms }, 'stream not set up yet; retrying');
    this.setUpFailed = true;
    this.timer = this.o.clock.after(ms, () => void this.setUp().catch((e: unknown) => this.retrySetUp(e)));
  }

  private async setUp(): Promise<void> {
    // Asked here, inside the retry: JetStream may not answer yet (a cluster electing its meta leader).
    const jsm = this.jsm ??= await jetstreamManager(this.nc as NatsConnection);
    await ensureStream(jsm, this.o.src, this.o.replicas);
    const kvm = new Kvm(this.nc as NatsConnection);
    this.kv = await kvm.create(leaseBucket(this.o.src), { ttl: this.ttlMs, history: 1, replicas: this.o.replicas });
    await this.follower.start(this.js as JetStreamClient, jsm);
    this.role = 'standby';
    this.attempt = 0;
    this.setUpFailed = false;
    this.log.info({ ttlMs: this.ttlMs }, 'hot standby following the stream');
    // The lease: the leader renews three times per TTL; the standby tries to take it as often.
    const every = Math.max(100, Math.round(this.ttlMs / 6));
    this.leaseTimer = this.o.clock.every(every, () => void this.onLeaseTimer());
    void this.onLeaseTimer();
  }

  private async onLeaseTimer(): Promise<void> {
    if (this.busy || this.role === 'stopped') return;
    this.busy = true;
    try {
      if (this.role === 'leader') await this.renew();
      else if (this.role === 'standby') await this.campaign();
      if (this.role === 'leader') this.dayCheck();
    } finally {
      this.busy = false;
    }
  }

  private async renew(): Promise<void> {
    const now = unixMs(this.o.clock);
    if (now - this.renewedAt < this.ttlMs / 3) return;
    try {
      this.revision = await (this.kv as KV).update(LEASE_KEY, this.id, this.revision);
      this.renewedAt = now;
    } catch (err) {
      // Lost to someone else (compare-and-set refused), or unreachable for most of the TTL: step down
      // before the lease can expire under us.
      if (/wrong last sequence/.test(String(err)) || unixMs(this.o.clock) - this.renewedAt > this.ttlMs * 0.8) {
        this.stepDown(String(err));
      }
    }
  }

  private async campaign(): Promise<void> {
    await this.storesSettled();
    let rev: number;
    try {
      rev = await (this.kv as KV).create(LEASE_KEY, this.id);
    } catch {
      // Held by the leader (or NATS unreachable): stay standby. Held by this node (it stepped aside after a
      // store that failed and could not reclaim then): take it back now rather than wait out the TTL.
      await this.reclaim(true);
      return;
    }
    const won = unixMs(this.o.clock);
    this.revision = rev;
    this.renewedAt = won;
    this.role = 'taking-over';
    try {
      await this.catchUp();
      this.role = 'leader';
      this.lastTakeoverMs = unixMs(this.o.clock) - won;
      this.log.info({ next: msgId(this.next), seq: this.expectSeq, takeoverMs: this.lastTakeoverMs }, 'leader');
      this.dayCheck();
    } catch (err) {
      this.stepDown(String(err));
    }
  }

  /** Before taking feeds: where the stream ends, and every message up to there applied locally. */
  private async catchUp(): Promise<void> {
    const last = await lastPosition(this.jsm as JetStreamManager, this.o.src);
    // A stream ending on a date our clock has not reached: records stored after it would carry that date,
    // and every follower (this one too) ignores them. Not led until someone looks (one line per attempt).
    const today = localNow(this.o.clock).date;
    if (last.pos && last.pos.date > today + 1) {
      throw new Error(`the stream ends at ${msgId(last.pos)}, more than a day past today: not taking the lead`);
    }
    await this.follower.caughtUp(last.seq);
    this.expectSeq = last.seq;
    const records = this.o.tp.journalStats()?.records ?? 0;
    this.next = last.pos ? next(last.pos) : { date: this.o.tp.d, index: records };
  }

  private stepDown(why: string): void {
    if (this.role !== 'leader' && this.role !== 'taking-over') return;
    this.role = 'standby';
    this.log.warn({ why }, 'no longer leader');
  }

  /** tick.q's end-of-day check, done by the leader for both: the day ends in the stream. */
  private dayCheck(): void {
    const today = localNow(this.o.clock).date;
    while (this.role === 'leader' && this.next.date < today) {
      const p: Position = { date: this.next.date, index: END };
      void this.store(endSubject(this.o.src), Buffer.from(formatQDate(p.date), 'latin1'), p).catch(() => {});
    }
  }

  /**
   * .u.upd on this node. The standby refuses it with 'standby so the feed moves on; the leader stores
   * the stamped record in the stream and resolves once JetStream acknowledged it.
   */
  upd(t: string, x: QValue): Promise<QValue> {
    // A lease not renewed for most of its TTL may be someone else's by now: nothing is taken on it (the
    // feed moves on). The role stays: a renewal that is only slow makes this node take feeds again.
    if (this.role !== 'leader' || unixMs(this.o.clock) - this.renewedAt > this.ttlMs * 0.8) throw new QError('standby');
    // The leader acknowledges only what its own journal holds: while that cannot be written, nothing is
    // stored in the stream either (the feed gets 'journal, as from a lone tickerplant).
    if (!this.o.tp.journalHealth.up) {
      this.o.tp.countRefused();
      throw new QError(Q.journal);
    }
    this.dayCheck();
    const record = this.o.tp.recordOf(t, x);
    // A record the stream cannot hold is refused up front (q's 'limit), not left to fail the publish.
    if (record.length > recordLimit(this.nc)) throw new QError('limit');
    const p = this.next;
    return this.store(tableSubject(this.o.src, t), record, p).then((seq) => this.journaled(seq)).then(() => NULL);
  }

  /**
   * Resolves once the stream's message `seq` is in this node's journal and flushed. If the journal fails
   * meanwhile, the follower applies it again once the disk has room, and the answer waits for that: a
   * record the stream holds is never refused (it will be published), nor acknowledged before it is here.
   */
  private async journaled(seq: number): Promise<void> {
    for (;;) {
      await this.follower.caughtUp(seq);
      if (this.o.tp.flushJournal()) return;
      if (!this.follower.rewinding) throw new QError(Q.journal); // stopped: nothing will apply it again
    }
  }

  /**
   * Undefined while stores in flight are under the caps; else resolves when one is acked. The feed's
   * connection is not read meanwhile (dispatch returns this for an async .u.upd), so a fast async feed
   * against a slow or stopped NATS holds at most the caps, not every update it sends.
   */
  room(): Promise<void> | undefined {
    if (!this.full) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private get full(): boolean { return this.stores.size >= this.maxInFlight || this.inFlightBytes >= this.maxInFlightBytes; }

  private store(subject: string, data: Buffer, p: Position): Promise<number> {
    const expected = this.expectSeq++;
    this.next = next(p);
    this.inFlightBytes += data.length;
    const publish = (): Promise<PubAck> =>
      (this.js as JetStreamClient).publish(subject, data, { msgID: msgId(p), expect: { lastSequence: expected } });
    const first = publish().then(
      (ack) => this.answered(ack, p, data, expected),
      (err: unknown) => (noAnswer(err) ? 'doubt' as const : this.refuse(String(err), p))); // refused: not stored
    // Counted until answered, in doubt included: its bytes are held until then.
    const done = first.then((r) => (r === 'doubt' ? this.inDoubt(publish, p, data, expected) : r)).finally(() => {
      this.stores.delete(done);
      this.inFlightBytes -= data.length;
      if (!this.full) for (const wake of this.roomWaiters.splice(0)) wake();
    });
    this.stores.add(done);
    return done;
  }

  /**
   * JetStream's answer to a publish: our record's sequence, or 'doubt' when that cannot be told yet.
   * A duplicate id is ours only where ours was to go, with our bytes (an earlier attempt of this very
   * store); anything else is another leader's record: 'nats.
   */
  private async answered(ack: PubAck, p: Position, data: Buffer, expected: number): Promise<number | 'doubt'> {
    if (ack.seq === expected + 1 && ack.duplicate) {
      let stored: { data: Uint8Array } | null;
      try {
        stored = await (this.jsm as JetStreamManager).streams.getMessage(streamName(this.o.src), { seq: ack.seq });
      } catch {
        return 'doubt'; // not read back: asked again
      }
      if (!stored || !Buffer.from(stored.data).equals(data)) return this.refuse(`stored as duplicate of seq ${ack.seq}`, p);
    } else if (ack.seq !== expected + 1) {
      if (!ack.duplicate) this.log.error({ at: msgId(p), seq: ack.seq, expected }, 'stream stored a record out of turn');
      return this.refuse(`stored as duplicate of seq ${ack.seq}`, p);
    }
    this.heard();
    return ack.seq;
  }

  /** The stream answered: the doubt window (if any) closes and the next outage gets its own log line. */
  private heard(): void {
    this.unanswered = undefined;
    this.doubtLogged = false;
  }

  /** The stream said no (another record where ours goes, or a plain refusal): 'nats, and no feeds until the lease is checked. */
  private refuse(why: string, p: Position): never {
    this.heard();
    this.stepAside(why, p);
    throw new QError(Q.nats);
  }

  /** Whatever failed, our idea of the stream's end is unsure: take no feeds, and find it again (or find that someone else leads). */
  private stepAside(why: string, p: Position): void {
    if (this.role !== 'leader') return;
    this.log.warn({ err: why, at: msgId(p) }, 'stream refused a record; re-checking the lease');
    this.role = 'standby';
    this.revision = 0;
    void this.reclaim();
  }

  /**
   * A publish with no answer (a timeout, a lost connection) may be stored all the same: the client sends
   * what it holds once the server answers again. The same message is published again, with its id and
   * expected sequence, until JetStream answers: stored now, or a duplicate of the first (both ours: the
   * feed is acknowledged), or a later record in its place ('nats). Stores in doubt are asked about in
   * their order, each once the one before it is settled, so none is refused only for being early. The
   * stream unanswering for STORE_DOUBT_MS: the rest are 'nats, with one line saying they may yet be stored.
   */
  private inDoubt(publish: () => Promise<PubAck>, p: Position, data: Buffer, expected: number): Promise<number> {
    const before = this.lastDoubt;
    const settle = async (): Promise<number> => {
      await before.catch(() => {});
      // The one before was refused for another record in its place: ours would land after that record.
      if (this.foreign) this.refuse('another record before it', p);
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          const ms = backoffDelay(attempt - 1, { minDelayMs: 100, maxDelayMs: 1000 });
          await new Promise<void>((resolve) => this.o.clock.after(ms, resolve));
        }
        // Past the window the stream is not asked again (a hung server costs a publish timeout per ask).
        if (this.role === 'stopped' || (this.unanswered !== undefined && unixMs(this.o.clock) >= this.unanswered)) return this.giveUp(p);
        this.unanswered ??= unixMs(this.o.clock) + STORE_DOUBT_MS;
        let answer: number | 'doubt';
        try {
          answer = await this.answered(await publish(), p, data, expected);
        } catch (err) {
          // Another record where ours goes: none after it in this chain may follow it.
          if (err instanceof QError) { this.foreign = true; throw err; }
          // "wrong last sequence: N" with N past ours: another record is where ours goes. Anything else (the
          // one before missing, JetStream unavailable, no answer) says nothing of our first attempt: in doubt.
          const last = /wrong last sequence: (\d+)/.exec(String(err));
          if (last && Number(last[1]) > expected) { this.foreign = true; this.refuse(String(err), p); }
          answer = 'doubt';
        }
        if (answer !== 'doubt') return answer;
      }
    };
    const done = settle();
    this.lastDoubt = done;
    // The chain drained: the next outage starts afresh.
    const drained = (): void => { if (this.lastDoubt === done) { this.unanswered = undefined; this.foreign = false; } };
    void done.then(drained, drained);
    return done;
  }

  /**
   * Stores still open (in doubt included) are answered before the lease is taken again: until then their
   * sequences may yet be the stream's end, and a lease taken meanwhile would lapse unrenewed.
   */
  private async storesSettled(): Promise<void> {
    while (this.stores.size > 0) await Promise.allSettled([...this.stores]);
  }

  private giveUp(p: Position): never {
    if (!this.doubtLogged) this.log.warn({ at: msgId(p) }, 'stores unanswered and the stream unreachable: the records may yet be stored');
    this.doubtLogged = true;
    throw new QError(Q.nats);
  }

  /** After a failed store: take the lease again if it is still ours (the renewal CAS succeeds), else stay standby. */
  private async reclaim(quiet = false): Promise<void> {
    await this.storesSettled();
    try {
      const entry = await (this.kv as KV).get(LEASE_KEY);
      if (!entry || entry.string() !== this.id) return;
      this.revision = await (this.kv as KV).update(LEASE_KEY, this.id, entry.revision);
      this.renewedAt = unixMs(this.o.clock);
      this.role = 'taking-over';
      await this.catchUp();
      if (this.role === 'taking-over') this.role = 'leader';
    } catch (err) {
      if (this.role === 'taking-over') this.role = 'standby';
      if (!quiet) this.log.warn({ err: String(err) }, 'lease not reclaimed');
    }
  }

  async close(): Promise<void> {
    const wasLeader = this.role === 'leader';
    this.role = 'stopped';
    this.timer?.cancel();
    this.leaseTimer?.cancel();
    for (const wake of this.roomWaiters.splice(0)) wake();
    await this.follower.close();
    // A graceful stop hands over at once instead of after the TTL.
    if (wasLeader) await this.kv?.delete(LEASE_KEY).catch(() => {});
    await this.nc?.close().catch(() => {});
  }
}
