// Subscriber child of bench:tick's fan-out phase (5): a share of the 100 subscriber connections (the
// bench starts several of these so that no one process saturates), each a raw socket that frames the
// pushes and reads only what the latency needs, never decoding a message: that it is an async
// (`upd|`.u.upd;`trade;x), x the TP's table or the relay's forwarded column list; its rows (the first
// column's count); and its first time value, the feed's hrtime stamp. Per update (stamp) it keeps the
// first and last arrival over its connections and how many got it; the bench merges the processes.
// Driven by the bench over the IPC channel (advanced serialization); see tick.bench.ts.
import net from 'node:net';
import { encodeMessage, Framer, MsgType, str } from '../src/ipc/index.js';
import { serveRequests } from './child.js';

export type FanRequest =
  /** One connection per `subs` entry (q text sent as a sync message); `first` is the first one's subscriber index. */
  | { op: 'connect'; port: number; subs: string[]; first: number }
  | { op: 'arm'; recordFromNs: string }
  /** Waits (up to timeoutMs) until every connection has the rows of `sent` updates (all of them if `every`, else updatesFor). */
  | { op: 'report'; timeoutMs: number; sent: number; rowsPerMsg: number; every?: boolean }
  | { op: 'disconnect' };

export interface FanReport {
  op: 'report';
  /** Connections whose row count is not what `sent` updates give them. */
  short: number;
  rows: number;
  closed: number;
  /** Pushes that were not an async (`upd;`trade;x) with a timespan first column. */
  unrecognised: number;
  /** Pushes whose stamp was not after the connection's previous one. */
  outOfOrder: number;
  /** Per update recorded (stamp − recordFrom, ns): first and last arrival (− recordFrom, ns), connections. */
  stamps: Float64Array; first: Float64Array; last: Float64Array; n: Int32Array;
}

export type FanReply = { op: 'connected' } | { op: 'armed' } | FanReport | { op: 'disconnected' } | { op: 'error'; message: string };

/** The bench's rotation: update j goes to the 10 subscribers of group j mod 10 (subscriber s is in group s div 10). */
export const GROUPS = 10;
export const groupOf = (subscriber: number): number => Math.floor(subscriber / GROUPS);
/** Updates among the first `sent` that subscriber s receives. */
export const updatesFor = (s: number, sent: number): number => {
  const g = groupOf(s);
  return sent > g ? Math.floor((sent - 1 - g) / GROUPS) + 1 : 0;
};

const TRADE = Buffer.from('trade\0', 'latin1');

/** Rows and first stamp of a push, or undefined; reads the (`upd;`trade;x) layout up to the first column's first value. */
function readPush(b: Buffer, out: { rows: number; stamp: bigint }): boolean {
  if (b.length < 8 + 6 || b[0] !== 1 || b[1] !== 0 || b[2] !== 0 || b[8] !== 0 || b.readInt32LE(10) !== 3) return false;
  let p = 14;
  if (b[p] !== 0xf5) return false;
  p++;
  if (b[p] === 0x2e && b[p + 1] === 0x75 && b[p + 2] === 0x2e) p += 3; // `.u.upd (the relay forwards the feed's)
  if (b[p] !== 0x75 || b[p + 1] !== 0x70 || b[p + 2] !== 0x64 || b[p + 3] !== 0) return false;
  p += 4;
  if (b[p] !== 0xf5 || b.compare(TRADE, 0, TRADE.length, p + 1, p + 1 + TRADE.length) !== 0) return false;
  p += 1 + TRADE.length;
  if (b[p] === 98) {
    // table: 98 attr, dict 99, symbol vector of names, then the general list of columns
    if (b[p + 2] !== 99 || b[p + 3] !== 11) return false;
    const names = b.readInt32LE(p + 5);
    p += 9;
    for (let i = 0; i < names; i++) {
      while (p < b.length && b[p] !== 0) p++;
      p++;
    }
  }
  if (p + 6 + 6 + 8 > b.length || b[p] !== 0) return false;
  p += 6;
  if (b[p] !== 16) return false;
  out.rows = b.readInt32LE(p + 2);
  if (out.rows < 1) return false;
  out.stamp = b.readBigInt64LE(p + 6);
  return true;
}

/** One subscriber connection: q handshake, sync requests answered in order, pushes counted. */
class Conn {
  rows = 0;
  closed = false;
  lastStamp = -1n;
  private readonly framer = new Framer({ maxMessageBytes: 1 << 24 });
  private readonly waiting: (() => void)[] = [];
  private constructor(readonly socket: net.Socket, readonly index: number) {}

  static async open(port: number, index: number): Promise<Conn> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.setNoDelay(true);
    socket.write(Buffer.from([0x3a, 3, 0]));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    const c = new Conn(socket, index);
    socket.on('data', (chunk: Buffer) => c.framer.push(chunk, c.onFrame));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => { c.closed = true; onProgress?.(); });
    return c;
  }

  sync(q: string): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(encodeMessage(str(q), MsgType.Sync));
    });
  }

  private readonly onFrame = (frame: Buffer): void => {
    if (frame[1] === MsgType.Response) { this.waiting.shift()?.(); return; }
    const now = process.hrtime.bigint();
    if (!readPush(frame, push)) { unrecognised++; return; }
    if (push.stamp <= this.lastStamp) outOfOrder++;
    this.lastStamp = push.stamp;
    this.rows += push.rows;
    if (recordFrom !== null && push.stamp >= recordFrom) note(Number(push.stamp - recordFrom), Number(now - recordFrom));
    if (this.rows >= this.expect) onProgress?.();
  };

  expect = Number.MAX_SAFE_INTEGER;
}

const push = { rows: 0, stamp: 0n };
let conns: Conn[] = [];
let recordFrom: bigint | null = null;
let unrecognised = 0;
let outOfOrder = 0;
let onProgress: (() => void) | undefined;
/** stamp → index into the arrays below. */
let byStamp = new Map<number, number>();
let stamps: number[] = [];
let firsts: number[] = [];
let lasts: number[] = [];
let counts: number[] = [];

function note(stamp: number, arrival: number): void {
  const i = byStamp.get(stamp);
  if (i === undefined) {
    byStamp.set(stamp, stamps.length);
    stamps.push(stamp); firsts.push(arrival); lasts.push(arrival); counts.push(1);
    return;
  }
  if (arrival < (firsts[i] as number)) firsts[i] = arrival;
  if (arrival > (lasts[i] as number)) lasts[i] = arrival;
  counts[i] = (counts[i] as number) + 1;
}

const reply = (m: FanReply): void => { process.send?.(m); };

async function handle(m: FanRequest): Promise<void> {
  switch (m.op) {
    case 'connect': {
      conns = await Promise.all(m.subs.map((_, i) => Conn.open(m.port, m.first + i)));
      for (let i = 0; i < conns.length; i++) await (conns[i] as Conn).sync(m.subs[i] as string);
      reply({ op: 'connected' });
      return;
    }
    case 'arm': {
      recordFrom = BigInt(m.recordFromNs);
      for (const c of conns) { c.rows = 0; c.lastStamp = -1n; c.expect = Number.MAX_SAFE_INTEGER; }
      unrecognised = 0; outOfOrder = 0;
      byStamp = new Map(); stamps = []; firsts = []; lasts = []; counts = [];
      reply({ op: 'armed' });
      return;
    }
    case 'report': {
      for (const c of conns) c.expect = (m.every ? m.sent : updatesFor(c.index, m.sent)) * m.rowsPerMsg;
      const done = (): boolean => conns.every((c) => c.rows >= c.expect) || conns.some((c) => c.closed);
      if (!done()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, m.timeoutMs);
          onProgress = () => { if (done()) { clearTimeout(timer); resolve(); } };
        });
        onProgress = undefined;
      }
      reply({
        op: 'report',
        short: conns.filter((c) => c.rows !== c.expect).length,
        rows: conns.reduce((n, c) => n + c.rows, 0),
        closed: conns.filter((c) => c.closed).length,
        unrecognised, outOfOrder,
        stamps: Float64Array.from(stamps), first: Float64Array.from(firsts), last: Float64Array.from(lasts), n: Int32Array.from(counts),
      });
      return;
    }
    case 'disconnect': {
      for (const c of conns) { c.socket.removeAllListeners('close'); c.socket.destroy(); }
      conns = [];
      reply({ op: 'disconnected' });
      return;
    }
  }
}

serveRequests<FanRequest>(handle);
