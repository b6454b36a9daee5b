// npm run bench:nats — the JetStream bridge, measured beside its peer in the same run: (1) single-row
// ingest into a journaled tickerplant with the bridge on vs off (upd/s the TP takes, and for "on" the
// rate at which the stream holds them all), (2) primary → edge subscriber latency at 1k rows/s, beside a
// subscriber of the primary itself, (3) HA failover: leader killed with -9 under a sync feed, time until
// the standby acknowledges. Each is repeated REPS times; figures are medians with min–max spread.
// Processes: nats-server (Debian 2.9, file storage in a temp dir, a fresh one per phase), tickerplants
// (`node dist/cli.js`), feed and subscribers here.
// The last line is one JSON object with the figures.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { QConnection } from '../src/client/index.js';
import { float, int, list, str, sym } from '../src/ipc/index.js';
import type { QValue } from '../src/ipc/index.js';
import { fmt, median, percentile } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const CLI = path.join(root, 'dist', 'cli.js');
const NATS = '/usr/sbin/nats-server';
const REPS = Number(process.env['NATS_BENCH_REPS'] ?? 3);
const INGEST = Number(process.env['NATS_BENCH_INGEST'] ?? 100_000);
const LAT_ROWS = 2000;

const children = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-nats-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => process.exit(130));
setTimeout(() => { console.error('bench:nats: gave up after 600 s'); process.exit(1); }, 600_000).unref();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let dirs = 0;
const freshDir = (): string => { const d = path.join(tmp, `d${dirs++}`); mkdirSync(d); return d; };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

async function waitForAccept(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (i > 300) throw new Error(`nothing listening on ${port}`);
    await sleep(50);
  }
}

async function kill(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = once(p, 'exit');
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
  children.delete(p);
}

async function startNats(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(NATS, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', freshDir()], { stdio: 'ignore' });
  children.add(proc);
  await waitForAccept(port);
  return { url: `nats://127.0.0.1:${port}`, proc };
}

async function startTp(args: string[]): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, ...args, '-p', String(port), '--unix', '', '--log-level', 'warn',
    '--max-queued-bytes', String(1 << 30)], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(proc);
  await waitForAccept(port);
  return { port, proc };
}

const trade = (i: number, price = i): QValue => list(sym('.u.upd'), sym('trade'), list(sym(`S${(i + 5) % 5}`), float(price), int(i)));

/** Stream messages stored, 0 when the stream does not exist yet. */
async function stored(url: string, stream = 'TICK_sym'): Promise<number> {
  const nc = await natsConnect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    return await jsm.streams.info(stream).then((i) => i.state.messages, () => 0);
  } finally {
    await nc.close();
  }
}

// ---- (1) ingest, bridge off vs on ----

async function ingest(natsUrl: string | undefined): Promise<{ updS: number; streamS: number | undefined }> {
  const tp = await startTp(['sym', freshDir(), ...(natsUrl ? ['--nats', natsUrl] : [])]);
  const stream = natsUrl ? `TICK_sym` : undefined;
  const before = natsUrl ? await stored(natsUrl) : 0;
  const conn = await QConnection.connect({ port: tp.port });
  const msgs = Array.from({ length: 1000 }, (_, i) => trade(i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < INGEST; i += 1000) {
    for (const m of msgs) conn.async(m);
    if (i % 20_000 === 0) await conn.sync(str(''));
  }
  await conn.sync(str(''));
  const t1 = process.hrtime.bigint();
  const updS = INGEST / (Number(t1 - t0) / 1e9);
  let streamS: number | undefined;
  if (natsUrl && stream) {
    while ((await stored(natsUrl)) - before < INGEST) await sleep(20);
    streamS = INGEST / (Number(process.hrtime.bigint() - t0) / 1e9);
  }
  conn.close();
  await kill(tp.proc);
  return { updS, streamS };
}

// ---- (2) primary → edge subscriber latency ----

/**
 * Rows are sent at 1 per ms on an absolute schedule; each carries its send time (µs since `origin`, the
 * price) and its number (the size). A subscriber of the primary is the peer measured in the same run: the
 * difference is what the bridge, JetStream and the edge add. Only this run's rows count, each exactly once
 * (a stream or an edge replaying anything else would be measured otherwise), else the bench fails.
 */
async function latency(natsUrl: string): Promise<{ p50: number; p99: number; peerP50: number; peerP99: number }> {
  const primary = await startTp(['sym', freshDir(), '--nats', natsUrl]);
  const edge = await startTp(['--from-nats', natsUrl, freshDir()]);
  const origin = process.hrtime.bigint();
  const nowUs = (): number => Number(process.hrtime.bigint() - origin) / 1e3;
  let measuring = false;
  const listen = async (port: number): Promise<{ conn: QConnection; lat: Float64Array; n: { v: number; warm: number } }> => {
    const conn = await QConnection.connect({ port });
    const lat = new Float64Array(LAT_ROWS);
    const seen = new Uint8Array(LAT_ROWS);
    const n = { v: 0, warm: 0 };
    conn.on('message', (v: QValue) => {
      if (v.type !== 0 || v.items[0]?.type !== -11 || v.items[0].value !== 'upd') return;
      const x = v.items[2];
      if (x?.type !== 98) return;
      const price = x.data[2];
      const size = x.data[3];
      if (price?.type !== 9 || size?.type !== 6) return;
      const at = nowUs();
      for (let r = 0; r < size.data.length; r++) {
        const id = size.data[r] as number;
        if (!measuring || id < 0) { n.warm++; continue; }
        if (id >= LAT_ROWS || seen[id]) throw new Error(`row ${id} not sent in this run, or seen twice`);
        seen[id] = 1;
        lat[id] = at - (price.data[r] as number);
        n.v++;
      }
    });
    await conn.sync(str('.u.sub[`trade;`]'));
    return { conn, lat, n };
  };
  const atEdge = await listen(edge.port);
  const atPrimary = await listen(primary.port);
  const feed = await QConnection.connect({ port: primary.port });
  // The edge follows once the primary has created the stream: warm up until rows arrive there.
  for (let k = 0; atEdge.n.warm === 0 && k < 400; k++) { feed.async(trade(-1, nowUs())); await sleep(25); }
  if (atEdge.n.warm === 0) throw new Error('no warm-up row reached the edge');
  await feed.sync(str(''));
  await sleep(200);
  measuring = true;
  const t0 = nowUs();
  for (let i = 0; i < LAT_ROWS;) {
    const due = Math.min(LAT_ROWS, Math.floor((nowUs() - t0) / 1000) + 1);
    for (; i < due; i++) feed.async(trade(i, nowUs()));
    await sleep(1);
  }
  const end = Date.now() + 10_000;
  while ((atEdge.n.v < LAT_ROWS || atPrimary.n.v < LAT_ROWS) && Date.now() < end) await sleep(20);
  feed.close();
  atEdge.conn.close();
  atPrimary.conn.close();
  await kill(primary.proc);
  await kill(edge.proc);
  if (atEdge.n.v !== LAT_ROWS || atPrimary.n.v !== LAT_ROWS) {
    throw new Error(`rows received: edge ${atEdge.n.v}, primary ${atPrimary.n.v} of ${LAT_ROWS}`);
  }
  const e = atEdge.lat.sort();
  const p = atPrimary.lat.sort();
  return { p50: percentile(e, 50) / 1000, p99: percentile(e, 99) / 1000, peerP50: percentile(p, 50) / 1000, peerP99: percentile(p, 99) / 1000 };
}

// ---- (3) HA failover ----

async function failover(natsUrl: string): Promise<number> {
  const args = (d: string): string[] => [path.join(root, 'q', 'sym.q'), d, '--nats', natsUrl, '--ha', '--failover', '5s'];
  const a = await startTp(args(freshDir()));
  const conns = new Map<number, QConnection>();
  const tryUpd = async (port: number, i: number): Promise<boolean> => {
    try {
      let c = conns.get(port);
      if (!c) { c = await QConnection.connect({ port, timeoutMs: 1000 }); conns.set(port, c); c.on('close', () => conns.delete(port)); }
      await Promise.race([c.sync(trade(i)), sleep(2000).then(() => { throw new Error('timeout'); })]);
      return true;
    } catch {
      conns.get(port)?.close();
      conns.delete(port);
      return false;
    }
  };
  let i = 0;
  while (!(await tryUpd(a.port, i))) await sleep(50); // a leads
  const b = await startTp(args(freshDir()));
  for (let k = 0; k < 200; k++) await tryUpd(a.port, i++);
  await sleep(1500); // b is following
  const t0 = Date.now();
  a.proc.kill('SIGKILL');
  while (!(await tryUpd(b.port, i))) await sleep(10);
  const ms = Date.now() - t0;
  for (const c of conns.values()) c.close();
  await kill(a.proc);
  await kill(b.proc);
  return ms;
}

const spread = (xs: number[], d = 0): string => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

async function main(): Promise<void> {
  const off: number[] = []; const on: number[] = []; const inStream: number[] = []; const ratio: number[] = [];
  const p50: number[] = []; const p99: number[] = []; const fail: number[] = [];
  const peer50: number[] = []; const peer99: number[] = [];
  for (let r = 0; r < REPS; r++) {
    // A fresh nats-server for each phase: a stream left by one phase must not be replayed by the next
    // (an edge with an empty journal replays the whole stream; a primary with one refuses a longer stream).
    const fresh = async <T>(f: (url: string) => Promise<T>): Promise<T> => {
      const nats = await startNats();
      try { return await f(nats.url); } finally { await kill(nats.proc); }
    };
    // Alternate the order so drift in machine load does not favour one side.
    const first = r % 2 === 0 ? await ingest(undefined) : await fresh(ingest);
    const second = r % 2 === 0 ? await fresh(ingest) : await ingest(undefined);
    const [a, b] = r % 2 === 0 ? [first, second] : [second, first];
    off.push(a.updS); on.push(b.updS); inStream.push(b.streamS ?? 0); ratio.push(b.updS / a.updS);
    const l = await fresh(latency);
    p50.push(l.p50); p99.push(l.p99); peer50.push(l.peerP50); peer99.push(l.peerP99);
    fail.push(await fresh(failover));
    console.log(`rep ${r + 1}: ingest off ${fmt(a.updS)} upd/s, on ${fmt(b.updS)} upd/s (${(b.updS / a.updS).toFixed(2)}x), ` +
      `all in stream at ${fmt(b.streamS ?? 0)} upd/s; edge latency p50 ${l.p50.toFixed(2)} ms p99 ${l.p99.toFixed(2)} ms ` +
      `(primary's own subscriber ${l.peerP50.toFixed(2)} / ${l.peerP99.toFixed(2)} ms); failover ${fail.at(-1)} ms`);
  }
  console.log(`single-row ingest, journal on, ${fmt(INGEST, 0)} updates: bridge off ${spread(off.map((x) => x / 1000))}k upd/s, ` +
    `on ${spread(on.map((x) => x / 1000))}k upd/s, ratio on/off ${spread(ratio, 2)}; stream complete at ${spread(inStream.map((x) => x / 1000))}k upd/s`);
  console.log(`primary → edge subscriber at 1k rows/s: p50 ${spread(p50, 2)} ms, p99 ${spread(p99, 2)} ms; ` +
    `the primary's own subscriber, same run: p50 ${spread(peer50, 2)} ms, p99 ${spread(peer99, 2)} ms`);
  console.log(`HA failover (leader kill -9, --failover 5s): ${spread(fail)} ms to the standby's first ack`);
  console.log(JSON.stringify({
    bench: 'nats', reps: REPS, cores: os.cpus().length, load1: os.loadavg()[0],
    ingest_off_upd_s: Math.round(median(off)), ingest_on_upd_s: Math.round(median(on)), ingest_ratio: +median(ratio).toFixed(3),
    ingest_ratio_min: +Math.min(...ratio).toFixed(3), ingest_ratio_max: +Math.max(...ratio).toFixed(3),
    stream_complete_upd_s: Math.round(median(inStream)),
    edge_p50_ms: +median(p50).toFixed(3), edge_p99_ms: +median(p99).toFixed(3),
    primary_sub_p50_ms: +median(peer50).toFixed(3), primary_sub_p99_ms: +median(peer99).toFixed(3),
    failover_ms: median(fail), failover_min_ms: Math.min(...fail), failover_max_ms: Math.max(...fail),
  }));
  process.exit(0);
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
