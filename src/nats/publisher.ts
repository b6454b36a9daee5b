// Pipelined JetStream publishes with their acks on one reply subscription. A JetStream publish is a core
// NATS publish whose reply subject receives the stream's ack ({"stream":..,"seq":..} or {"error":..});
// the client library's request() per message costs a timer, a promise, an inbox registration and two
// Error objects with stack traces, which profiled at over half the bridge's CPU. Here each publish is one
// HPUB (coalesced with the rest of its event-loop turn into one socket write), with reply `<inbox>.<n>`
// when it asks for an ack, and one timer for the whole window fails everything pending when the oldest
// ack is overdue or the connection drops. Spec: docs.nats.io JetStream model (publish acknowledgements, Nats-Msg-Id,
// Nats-Expected-Last-Sequence) and the NATS client protocol (HPUB, no-responders status 503).
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createInbox, MsgHdrsImpl } from '@nats-io/transport-node';
import { unixMs } from '../clock.js';
import type { Clock, Timer } from '../clock.js';

/**
 * The two headers every bridge message carries, encoded straight to their wire form
 * (`NATS/1.0\r\nNats-Msg-Id: …\r\nNats-Expected-Last-Sequence: …\r\n\r\n`): the generic set() and
 * encode() (key canonicalisation, value checks, a string rebuilt and UTF-8 encoded) cost about 4 µs a
 * message, more than the rest of the publish. Both values are ASCII we made (a q date, digits).
 */
class PublishHeaders extends MsgHdrsImpl {
  constructor(private readonly id: string, private readonly expect: number) {
    super();
    this.headers.set('Nats-Msg-Id', [id]);
    this.headers.set('Nats-Expected-Last-Sequence', [String(expect)]);
  }

  override toString(): string {
    return `NATS/1.0\r\nNats-Msg-Id: ${this.id}\r\nNats-Expected-Last-Sequence: ${this.expect}\r\n\r\n`;
  }

  override encode(): Uint8Array {
    return Buffer.from(this.toString(), 'latin1');
  }
}

export interface PublisherEvents<T> {
  /** The stream stored the message (or already had it: `duplicate`) at `seq`. */
  readonly onAck: (token: T, seq: number, duplicate: boolean) => void;
  /** Refused (e.g. wrong last sequence), no JetStream listening, ack overdue or connection lost; token
   *  undefined: a message sent without asking for an ack could not be sent at all. */
  readonly onError: (token: T | undefined, err: string) => void;
}

export interface PublisherOptions<T> extends PublisherEvents<T> {
  readonly clock: Clock;
  /** An ack not back after this long (checked every quarter of it) fails the window. [ackTimeoutMs=5000] */
  readonly ackTimeoutMs?: number;
}

interface Pending<T> { readonly token: T; readonly sentMs: number }

export class StreamPublisher<T> {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  /** By reply number; numbers only increase, so an ack for a failed (forgotten) publish is ignored. */
  private readonly pending = new Map<number, Pending<T>>();
  private n = 0;
  private readonly timer: Timer;
  private readonly ackTimeoutMs: number;
  private closed = false;

  constructor(private readonly nc: NatsConnection, private readonly o: PublisherOptions<T>) {
    this.ackTimeoutMs = o.ackTimeoutMs ?? 5000;
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, m) => this.onReply(m) });
    this.timer = o.clock.every(Math.max(50, Math.round(this.ackTimeoutMs / 4)), () => this.checkOverdue());
    void this.watch();
  }

  /** Publishes awaiting their ack (those that asked for one). */
  get inFlight(): number { return this.pending.size; }

  /**
   * One message to the stream that expects its last sequence to be `expectLastSeq` before it. With a
   * token its ack is awaited; without one none is asked for (the next acked message's ack covers it: its
   * expected last sequence holds only if this one was stored).
   */
  publish(subject: string, data: Uint8Array, msgId: string, expectLastSeq: number, token?: T): void {
    const h = new PublishHeaders(msgId, expectLastSeq);
    if (token === undefined) {
      try {
        this.nc.publish(subject, data, { headers: h });
      } catch (err) {
        this.o.onError(undefined, String(err));
      }
      return;
    }
    const n = this.n++;
    this.pending.set(n, { token, sentMs: unixMs(this.o.clock) });
    try {
      this.nc.publish(subject, data, { reply: `${this.inbox}.${n}`, headers: h });
    } catch (err) {
      // A closed connection or a payload over max_payload: refused now, as if its ack said no.
      this.pending.delete(n);
      this.o.onError(token, String(err));
    }
  }

  /** Fails every publish awaiting its ack (their acks, if they come, are ignored). */
  failAll(why: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) this.o.onError(p.token, why);
  }

  close(): void {
    this.closed = true;
    this.timer.cancel();
    this.pending.clear();
    this.sub.unsubscribe();
  }


  private onReply(m: Msg): void {
    const n = Number(m.subject.slice(this.inbox.length + 1));
    const p = this.pending.get(n);
    if (!p) return;
    this.pending.delete(n);
    // A status message (503: no responders, i.e. no stream on the subject) has no body.
    if (m.headers?.hasError || m.data.length === 0) {
      this.o.onError(p.token, `nats status ${m.headers?.code ?? 0} ${m.headers?.description ?? ''}`.trim());
      return;
    }
    let ack: { seq?: unknown; duplicate?: unknown; error?: { description?: unknown } };
    try {
      ack = JSON.parse(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8')) as typeof ack;
    } catch {
      this.o.onError(p.token, 'unreadable ack');
      return;
    }
    if (ack.error !== undefined || typeof ack.seq !== 'number') {
      this.o.onError(p.token, String(ack.error?.description ?? 'ack without a sequence'));
      return;
    }
    this.o.onAck(p.token, ack.seq, ack.duplicate === true);
  }

  private checkOverdue(): void {
    const first = this.pending.values().next();
    if (!first.done && unixMs(this.o.clock) - first.value.sentMs > this.ackTimeoutMs) this.failAll('ack timed out');
  }

  /** Acks sent while the connection was down are lost: fail the window at once instead of waiting. */
  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (this.closed) return;
      if (s.type === 'disconnect' && this.pending.size > 0) this.failAll('nats disconnected');
    }
  }
}
