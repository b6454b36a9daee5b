// The feed and the honest subscriber every scenario runs beside its attack: rows numbered in the size
// column, time = CLOCK_MONOTONIC at send; acknowledged = before an answered chaser (async) or answered
// (sync). The subscriber counts rows by sequence number and times them. Spec: tick.q .u.upd, u.q sub.
import net from 'node:net';
import { once } from 'node:events';
import { decodeMessage, MsgType } from '../src/ipc/index.js';
import { nowNs, percentile } from './env.js';
import { FrameSplitter, handshake, LIMITS, readUpdate, syncText, UpdTemplate } from './wire.js';

/** Connects a raw socket and completes the q handshake; rejects on refusal. */
export async function connectRaw(port: number, credentials = '', host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  socket.write(handshake(credentials));
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const onData = (b: Buffer): void => { cleanup(); resolve(b); };
    const onClose = (): void => { cleanup(); reject(new Error('access')); };
    const onError = (e: Error): void => { cleanup(); reject(e); };
    const cleanup = (): void => { socket.off('data', onData); socket.off('close', onClose); socket.off('error', onError); };
    socket.on('data', onData); socket.on('close', onClose); socket.on('error', onError);
  });
  if (reply.length !== 1) throw new Error(`unexpected handshake reply of ${reply.length} bytes`);
  return socket;
}

export const FEED_SYM = 'SOAKFEED';
const CHASER = syncText('');

/** An answer awaited: rows before `upto` are acknowledged by it; a sync update's own rows start at `from`. */
interface Waiting { readonly upto: number; readonly from?: number; readonly resolve?: () => void }

export interface FeedOptions {
  readonly credentials?: string;
  /** Sym of each row by sequence number; all of the same length. [FEED_SYM] */
  readonly symOf?: (seq: number) => string;
  /** Rows per message. [1] */
  readonly rows?: number;
}

export class Feed {
  /** Rows sent: the next sequence number. */
  sent = 0;
  /** Every row with sequence number < acked was acknowledged (async feeds: by a chaser). */
  acked = 0;
  /** Rows of sync updates answered without an error: exactly what the tickerplant acknowledged. */
  readonly ackedRows = new SeqSet();
  /** Sync updates answered with an error (e.g. 'journal on a full disk). */
  refusals = 0;
  /** Messages sent. */
  messages = 0;
  errors: string[] = [];
  closed = false;
  /** Ticks of the paced loop where the socket was too backed up to send. */
  behind = 0;
  /** Called synchronously, inside the socket's data event, whenever `acked` moves. */
  onAck: ((acked: number) => void) | undefined;
  private readonly waiting: Waiting[] = [];
  private readonly template: UpdTemplate;
  private readonly symOf: (seq: number) => string;
  private readonly rows: number;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket, first: number, opts: FeedOptions) {
    this.sent = this.acked = first;
    this.symOf = opts.symOf ?? (() => FEED_SYM);
    this.rows = opts.rows ?? 1;
    this.template = new UpdTemplate(this.symOf(first).length, this.rows);
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => splitter.push(chunk, (f) => this.onResponse(f)));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.resolve?.();
      for (const w of this.closeWaiters.splice(0)) w();
      this.onAnswer?.();
    });
  }

  /** A feed whose first row is sequence number `first`. */
  static async connect(port: number, first = 0, opts: FeedOptions = {}): Promise<Feed> {
    return new Feed(await connectRaw(port, opts.credentials ?? ''), first, opts);
  }

  private onResponse(frame: Buffer): void {
    const w = this.waiting.shift();
    let v;
    try {
      v = decodeMessage(frame, LIMITS).value;
    } catch (err) {
      this.errors.push(`undecodable response: ${String(err)}`);
      return;
    }
    if (v.type === -128) {
      this.refusals++;
      if (this.errors.length < 20) this.errors.push(v.message);
    } else {
      if (w?.from !== undefined) for (let r = w.from; r < w.upto; r++) this.ackedRows.add(r);
      if (w && w.upto > this.acked) {
        this.acked = w.upto;
        this.onAck?.(this.acked);
      }
    }
    w?.resolve?.();
    this.onAnswer?.();
  }

  private onAnswer: (() => void) | undefined;

  private encode(n: number, msgType: MsgType): Buffer {
    const out = Buffer.allocUnsafe(n * this.template.length);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const seq = this.sent;
      at = this.template.write(out, at, msgType, nowNs(), seq, (r) => this.symOf(seq + r));
      this.sent += this.rows;
      this.messages++;
      if (msgType === MsgType.Sync) this.waiting.push({ upto: this.sent, from: seq });
    }
    return out;
  }

  /** Sends `n` async updates now. */
  sendAsync(n: number): void {
    if (this.closed) return;
    this.socket.write(this.encode(n, MsgType.Async));
  }

  /** A sync "": once answered, every row sent before it is acknowledged. */
  chaser(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push({ upto: this.sent, resolve });
      this.socket.write(CHASER);
    });
  }

  /**
   * Paced async updates at `perSecond` messages a second, a chaser after every `chaserEvery`, until
   * `until()` says stop (checked every millisecond) or the connection closes. Ends with a chaser.
   */
  async runPaced(perSecond: number, chaserEvery: number, until: () => boolean): Promise<void> {
    const t0 = nowNs();
    let sentHere = 0;
    let sinceChaser = 0;
    const cap = Math.max(1, Math.ceil(perSecond / 200)); // at most 5 ms worth per tick
    while (!until() && !this.closed) {
      const due = Math.floor((Number(nowNs() - t0) / 1e9) * perSecond) - sentHere;
      if (this.socket.writableLength > 4 << 20) this.behind++;
      else if (due > 0) {
        const k = Math.min(due, cap);
        const parts: Buffer[] = [];
        let left = k;
        while (left > 0) {
          const m = Math.min(left, chaserEvery - sinceChaser);
          parts.push(this.encode(m, MsgType.Async));
          left -= m;
          sinceChaser += m;
          if (sinceChaser === chaserEvery) { parts.push(CHASER); this.waiting.push({ upto: this.sent }); sinceChaser = 0; }
        }
        this.socket.write(parts.length === 1 ? parts[0] as Buffer : Buffer.concat(parts));
        sentHere += k;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await this.chaser();
  }

  /**
   * Paced sync updates at `perSecond` a second with at most `window` unanswered, until `until()`; each
   * answered one adds its rows to ackedRows, each refused one counts in refusals. Ends when all are answered.
   */
  async runPacedSync(perSecond: number, window: number, until: () => boolean): Promise<void> {
    const t0 = nowNs();
    let sentHere = 0;
    while (!until() && !this.closed) {
      const due = Math.floor((Number(nowNs() - t0) / 1e9) * perSecond) - sentHere;
      const room = window - this.waiting.length;
      if (due > 0 && room <= 0) this.behind++;
      else if (due > 0) {
        const k = Math.min(due, room);
        this.socket.write(this.encode(k, MsgType.Sync));
        sentHere += k;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await this.chaser();
  }

  /** Sync updates, `window` in flight, until `until()` or the connection closes. */
  async runSync(window: number, until: () => boolean): Promise<void> {
    const low = Math.floor(window / 2);
    while (!until() && !this.closed) {
      const inFlight = this.waiting.length;
      if (inFlight < window) this.socket.write(this.encode(window - inFlight, MsgType.Sync));
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (this.closed || this.waiting.length <= low) { this.onAnswer = undefined; resolve(); }
        };
        this.onAnswer = check;
        check();
      });
    }
  }

  /** Resolves when the socket has closed. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  close(): void { this.socket.destroy(); }
}

/** A growable set of non-negative sequence numbers. */
export class SeqSet {
  private bits = new Uint8Array(1 << 16);
  size = 0;
  /** Adds seq; false when it was already there. */
  add(seq: number): boolean {
    if (seq >= this.bits.length) {
      let n = this.bits.length;
      while (n <= seq) n *= 2;
      const b = new Uint8Array(n); b.set(this.bits); this.bits = b;
    }
    if (this.bits[seq] === 1) return false;
    this.bits[seq] = 1;
    this.size++;
    return true;
  }
  has(seq: number): boolean { return seq < this.bits.length && this.bits[seq] === 1; }
  /** How many of [from, to) are missing. */
  missing(from: number, to: number): number {
    let n = 0;
    for (let s = from; s < to; s++) if (!this.has(s)) n++;
    return n;
  }
}

/** A growable Float64Array of samples. */
export class Samples {
  private data = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.data.length) { const d = new Float64Array(this.n * 2); d.set(this.data); this.data = d; }
    this.data[this.n++] = x;
  }
  sorted(): Float64Array { return this.data.slice(0, this.n).sort(); }
  summary(): { n: number; p50: number; p99: number; p999: number; max: number } {
    const s = this.sorted();
    return { n: this.n, p50: percentile(s, 50), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s[s.length - 1] ?? NaN };
  }
  clear(): void { this.n = 0; }
}

export interface SubscriberOptions {
  readonly credentials?: string;
  /** The q request that subscribes. [.u.sub[`trade;`]] */
  readonly subscribe?: string;
  /** Rows of this sym are the feed's (counted and timed). [FEED_SYM] */
  readonly isFeedSym?: (sym: string) => boolean;
}

/** An honest subscriber on a raw socket (our decoder on every message). */
export class Subscriber {
  readonly seen = new SeqSet();
  rows = 0;
  duplicates = 0;
  messages = 0;
  /** Messages that were not updates (after the subscribe reply). */
  other = 0;
  /** Feed→subscriber latency in µs while `recording`. */
  readonly latency = new Samples();
  recording = false;
  closed = false;
  subscribeReply: unknown;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket, private readonly isFeedSym: (s: string) => boolean) {
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      const now = nowNs();
      splitter.push(chunk, (f) => this.onFrame(f, now));
      if (this.waiters.length) for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; for (const w of this.waiters.splice(0)) w(); });
  }

  static async connect(port: number, opts: SubscriberOptions = {}): Promise<Subscriber> {
    const socket = await connectRaw(port, opts.credentials ?? '');
    const s = new Subscriber(socket, opts.isFeedSym ?? ((x) => x === FEED_SYM));
    const replied = new Promise<void>((resolve) => { s.onReply = resolve; });
    socket.write(syncText(opts.subscribe ?? '.u.sub[`trade;`]'));
    await replied;
    return s;
  }

  private onReply: (() => void) | undefined;

  private onFrame(frame: Buffer, now: bigint): void {
    if (frame[1] === MsgType.Response) {
      this.subscribeReply = decodeMessage(frame, LIMITS).value;
      const r = this.onReply;
      this.onReply = undefined;
      r?.();
      return;
    }
    this.messages++;
    const u = readUpdate(frame);
    if (!u) { this.other++; return; }
    for (let i = 0; i < u.syms.length; i++) {
      if (!this.isFeedSym(u.syms[i] as string)) continue;
      this.rows++;
      if (!this.seen.add(u.size[i] as number)) this.duplicates++;
      if (this.recording) this.latency.push(Number(now - (u.time[i] as bigint)) / 1000);
    }
  }

  /** Waits until every sequence number in [from, to) has arrived (or timeout / close); returns how many are missing. */
  async waitFor(from: number, to: number, timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    let scanFrom = from;
    for (;;) {
      while (scanFrom < to && this.seen.has(scanFrom)) scanFrom++;
      if (scanFrom >= to || this.closed || Date.now() > end) return this.seen.missing(scanFrom, to);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(1, Math.min(200, end - Date.now())));
        this.waiters.push(() => { clearTimeout(timer); r(); });
      });
    }
  }

  close(): void { this.socket.destroy(); }
}
