// Subscriber child of bench:tick: N QConnections each calling .u.sub[`trade;`] (or its own filter), our
// decoder on every push, rows counted and feed→subscriber latency recorded (hrtime of the read that
// brought it − first time value; for N > 1 the first and the last of the N). Driven by the bench over
// the IPC channel (process.send); see tick.bench.ts.
import type net from 'node:net';
import { QConnection } from '../src/client/index.js';
import { str } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { percentile } from './stats.js';
import { serveRequests } from './child.js';

export type SubRequest =
  /** n connections; `subs[i]` is connection i's subscription (q text), .u.sub[`trade;`] when absent. */
  | { op: 'connect'; port: number; n: number; subs?: string[] }
  /** Each open connection i calls subs[i] (q text) too, e.g. to replace its subscription. */
  | { op: 'subscribe'; subs: string[] }
  | { op: 'arm'; expectRows: number; recordFromNs: string | null; capacity: number }
  /** Waits (up to timeoutMs) until every connection has expectRows rows (given here or at 'arm'). */
  | { op: 'report'; timeoutMs: number; expectRows?: number }
  | { op: 'disconnect' };

export interface LatencySummary {
  n: number; p50: number; p99: number; p999: number; max: number; mismatched: number;
  /** The first of the N connections to receive each update (the same as the last for one connection). */
  firstP50: number; firstP99: number;
}

/** Per update recorded, in ns after recordFrom: its stamp, and its first and last arrival over the connections. */
export interface Samples { stamps: number[]; first: number[]; last: number[] }

export interface SubReport {
  op: 'report';
  /** Every update timed (the bench splits them into its blocks); null when not armed to record. */
  samples: Samples | null;
  /** Rows received by the slowest / fastest connection since 'arm'. */
  minRows: number;
  maxRows: number;
  /** hrtime (ns, as a decimal string) when the last connection reached expectRows; null if it did not. */
  doneAtNs: string | null;
  /** Connections the server closed (e.g. dropped as slow consumers). */
  closed: number;
  /** Messages that were not (`upd|`.u.upd;`trade;data) with a timespan first column. */
  unrecognised: number;
  latency: LatencySummary | null;
}

export type SubReply =
  | { op: 'connected' } | { op: 'subscribed' } | { op: 'armed' } | SubReport | { op: 'disconnected' } | { op: 'error'; message: string };

/** What one connection saw since 'arm'. */
class Tally {
  rows = 0;
  recorded = 0;
  stamps: Float64Array;
  arrivals: Float64Array;
  closed = false;
  constructor(capacity: number) {
    this.stamps = new Float64Array(capacity);
    this.arrivals = new Float64Array(capacity);
  }
  record(stamp: number, arrival: number): void {
    if (this.recorded === this.stamps.length) {
      const s = new Float64Array(this.stamps.length * 2); s.set(this.stamps); this.stamps = s;
      const a = new Float64Array(this.arrivals.length * 2); a.set(this.arrivals); this.arrivals = a;
    }
    this.stamps[this.recorded] = stamp;
    this.arrivals[this.recorded++] = arrival;
  }
}

let conns: QConnection[] = [];
let tallies: Tally[] = [];
let expectRows = 0;
let recordFrom: bigint | null = null;
let base = 0n;
let reached = 0;
let doneAt: bigint | null = null;
let unrecognised = 0;
let onDone: (() => void) | undefined;

const reply = (m: SubReply): void => { process.send?.(m); };

/** (rows, first time value) of a pushed update: the TP's (`upd;`trade;table) or the relay's (`.u.upd;`trade;x). */
function readUpd(v: QValue): [number, bigint] | undefined {
  if (v.type !== 0 || v.items.length !== 3) return undefined;
  const x = v.items[2] as QValue;
  const first = x.type === 98 ? x.data[0] : x.type === 0 ? x.items[0] : undefined;
  if (first === undefined) return undefined;
  if (first.type === 16) return first.data.length > 0 ? [first.data.length, first.data[0] as bigint] : undefined;
  if (first.type === -16) return [1, first.value];
  return undefined;
}

function attach(conn: QConnection, tally: () => Tally): void {
  // Arrival is when the read that carries the message comes in, before any decoding: what the server is
  // answerable for. (Stamped after decoding, the 10th message of a read would carry this decoder's cost
  // for the 9 before it, and the TP's tables decode dearer here than the relay's forwarded lists.)
  // QConnection decodes a read synchronously in its own 'data' listener, which this one precedes.
  let now = 0n;
  (conn as unknown as { socket: net.Socket }).socket.prependListener('data', () => { now = process.hrtime.bigint(); });
  conn.on('message', (v: QValue) => {
    const u = readUpd(v);
    if (!u) { unrecognised++; return; }
    const t = tally();
    const before = t.rows;
    t.rows += u[0];
    if (recordFrom !== null && u[1] >= recordFrom) t.record(Number(u[1] - base), Number(now - base));
    if (before < expectRows && t.rows >= expectRows) {
      reached++;
      if (reached === tallies.length) { doneAt = now; onDone?.(); }
    }
  });
  conn.on('close', () => { tally().closed = true; onDone?.(); });
}

function summarise(samples: Samples): LatencySummary | null {
  if (recordFrom === null || tallies.length === 0) return null;
  const n = Math.min(...tallies.map((t) => t.recorded));
  const first = tallies[0] as Tally;
  const lat = new Float64Array(n);
  const firstLat = new Float64Array(n);
  let mismatched = 0;
  for (let k = 0; k < n; k++) {
    const stamp = first.stamps[k] as number;
    let last = first.arrivals[k] as number;
    let earliest = last;
    for (let c = 1; c < tallies.length; c++) {
      const t = tallies[c] as Tally;
      if (t.stamps[k] !== stamp) mismatched++;
      const a = t.arrivals[k] as number;
      if (a > last) last = a;
      if (a < earliest) earliest = a;
    }
    lat[k] = (last - stamp) / 1000;
    firstLat[k] = (earliest - stamp) / 1000;
    samples.stamps.push(stamp); samples.first.push(earliest); samples.last.push(last);
  }
  lat.sort();
  firstLat.sort();
  return {
    n, mismatched,
    p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9), max: lat[n - 1] ?? NaN,
    firstP50: percentile(firstLat, 50), firstP99: percentile(firstLat, 99),
  };
}

async function handle(m: SubRequest): Promise<void> {
  switch (m.op) {
    case 'connect': {
      conns = await Promise.all(Array.from({ length: m.n }, () => QConnection.connect({ port: m.port })));
      tallies = conns.map(() => new Tally(16));
      conns.forEach((c, i) => attach(c, () => tallies[i] as Tally));
      // Sync subscriptions one after another, as N RDBs would each call .u.sub.
      for (let i = 0; i < conns.length; i++) await (conns[i] as QConnection).sync(str(m.subs?.[i] ?? '.u.sub[`trade;`]'));
      reply({ op: 'connected' });
      return;
    }
    case 'subscribe': {
      for (let i = 0; i < conns.length; i++) {
        const q = m.subs[i];
        if (q !== undefined) await (conns[i] as QConnection).sync(str(q));
      }
      reply({ op: 'subscribed' });
      return;
    }
    case 'arm': {
      expectRows = m.expectRows;
      recordFrom = m.recordFromNs === null ? null : BigInt(m.recordFromNs);
      base = recordFrom ?? process.hrtime.bigint(); // times are kept as ns after recordFrom
      tallies = conns.map(() => new Tally(Math.max(16, m.capacity)));
      reached = 0; doneAt = null; unrecognised = 0;
      reply({ op: 'armed' });
      return;
    }
    case 'report': {
      if (m.expectRows !== undefined) {
        expectRows = m.expectRows;
        reached = tallies.filter((t) => t.rows >= expectRows).length;
      }
      const done = (): boolean => reached === tallies.length || tallies.some((t) => t.closed);
      if (!done()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, m.timeoutMs);
          onDone = () => { if (done()) { clearTimeout(timer); resolve(); } };
        });
        onDone = undefined;
      }
      const rows = tallies.map((t) => t.rows);
      const samples: Samples = { stamps: [], first: [], last: [] };
      const latency = summarise(samples);
      reply({
        op: 'report',
        minRows: Math.min(...rows), maxRows: Math.max(...rows),
        doneAtNs: doneAt === null ? null : String(doneAt),
        closed: tallies.filter((t) => t.closed).length,
        unrecognised,
        latency,
        samples: latency ? samples : null,
      });
      return;
    }
    case 'disconnect': {
      for (const c of conns) { c.removeAllListeners('close'); c.close(); }
      conns = []; tallies = [];
      reply({ op: 'disconnected' });
      return;
    }
  }
}

serveRequests<SubRequest>(handle);
