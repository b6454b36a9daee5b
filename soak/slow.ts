// Scenario 5: subscribers that stop reading beside a healthy one: dropped at --max-queued-bytes (log line,
// connection closed), TP RSS under baseline + N × max-queued-bytes, healthy p99 within 2× of its p99
// alone. Spec: kdb-ipc-and-tick.md §8 (slow consumers); server/limits.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MiB, nowNs, secondsSince, sleep } from './env.js';
import { connectRaw, Feed, Subscriber } from './feed.js';
import type { LatencyFigures } from './connections.js';
import { TpProcess } from './tp.js';
import { syncText } from './wire.js';

export interface SlowOptions {
  readonly slow: number;
  readonly maxQueuedBytes: number;
  /** Feed messages a second and rows per message. */
  readonly rate: number;
  readonly rows: number;
  /** Phase A length; phase B lasts until every slow subscriber is dropped (at most maxPhaseBMs). */
  readonly phaseAMs: number;
  readonly maxPhaseBMs: number;
  /** RSS allowance above baseline + slow × maxQueuedBytes. */
  readonly marginBytes: number;
  readonly progress?: (line: string) => void;
}

export interface SlowResult {
  readonly slow: number;
  readonly dropped: number;
  readonly droppedLogged: number;
  readonly closedSeen: number;
  readonly phaseA: LatencyFigures;
  readonly phaseB: LatencyFigures;
  readonly phaseBSeconds: number;
  readonly p99Ratio: number;
  readonly rssBaseline: number;
  readonly rssMax: number;
  readonly rssBound: number;
  readonly rowsLost: number;
  readonly healthyDropped: boolean;
  readonly bytesPerSecond: number;
  readonly failures: string[];
}

const DROPPED = 'slow consumer dropped';

export async function runSlowScenario(o: SlowOptions): Promise<SlowResult> {
  const progress = o.progress ?? (() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-slow-'));
  const tp = await TpProcess.start({ dst: dir, args: ['--max-queued-bytes', String(o.maxQueuedBytes)], watch: [DROPPED] });
  const failures: string[] = [];
  const slow: net.Socket[] = [];
  try {
    const healthy = await Subscriber.connect(tp.port);
    const feed = await Feed.connect(tp.port, 0, { rows: o.rows });
    let stop = false;
    const feeding = feed.runPaced(o.rate, 50, () => stop);
    await sleep(1000);
    const bytes0 = healthy.socket.bytesRead;
    const tA = nowNs();
    healthy.recording = true;
    await sleep(o.phaseAMs);
    healthy.recording = false;
    const bytesPerSecond = (healthy.socket.bytesRead - bytes0) / secondsSince(tA);
    const phaseA = healthy.latency.summary();
    healthy.latency.clear();
    const rssBaseline = tp.rss();
    const rssBound = rssBaseline + o.slow * o.maxQueuedBytes + o.marginBytes;
    progress(`slow: phase A p99 ${phaseA.p99.toFixed(0)} µs, ${(bytesPerSecond / MiB).toFixed(1)} MiB/s to each subscriber, RSS ${(rssBaseline / MiB).toFixed(0)} MiB; adding ${o.slow} subscribers that never read`);

    // Phase B: N subscribers that read their handshake and .u.sub reply, then nothing more.
    let rssMax = rssBaseline;
    const sampler = setInterval(() => { const r = tp.rss(); if (r > rssMax) rssMax = r; }, 100);
    const closedSeen = new Set<net.Socket>();
    for (let i = 0; i < o.slow; i++) {
      const s = await connectRaw(tp.port);
      s.on('error', () => undefined);
      s.on('close', () => closedSeen.add(s));
      await new Promise<void>((resolve) => {
        s.once('data', () => { s.pause(); resolve(); });
        s.write(syncText('.u.sub[`trade;`]'));
      });
      slow.push(s);
    }
    const tB = nowNs();
    healthy.recording = true;
    const end = Date.now() + o.maxPhaseBMs;
    while (tp.count(DROPPED) < o.slow && Date.now() < end && tp.alive) await sleep(50);
    const phaseBSeconds = secondsSince(tB);
    healthy.recording = false;
    clearInterval(sampler);
    const phaseB = healthy.latency.summary();
    const droppedLogged = tp.count(DROPPED);
    progress(`slow: ${droppedLogged} of ${o.slow} dropped after ${phaseBSeconds.toFixed(1)} s; phase B p99 ${phaseB.p99.toFixed(0)} µs; max RSS ${(rssMax / MiB).toFixed(0)} MiB (bound ${(rssBound / MiB).toFixed(0)})`);
    // Read again: a dropped subscriber sees its connection end after what was already in flight.
    for (const s of slow) { s.on('data', () => undefined); s.resume(); }
    for (let w = 0; w < 100 && closedSeen.size < o.slow; w++) await sleep(100);
    stop = true;
    await feeding;
    const rowsLost = await healthy.waitFor(0, feed.acked, 15_000);
    const healthyDropped = healthy.closed;
    healthy.close();
    feed.close();
    const p99Ratio = phaseB.p99 / phaseA.p99;
    if (droppedLogged < o.slow) failures.push(`${o.slow - droppedLogged} slow subscribers were not dropped within ${o.maxPhaseBMs} ms`);
    if (closedSeen.size < o.slow) failures.push(`${o.slow - closedSeen.size} slow subscribers' connections did not close`);
    if (rssMax > rssBound) failures.push(`RSS reached ${(rssMax / MiB).toFixed(0)} MiB, over the bound of ${(rssBound / MiB).toFixed(0)} MiB`);
    if (!(p99Ratio <= 2)) failures.push(`healthy p99 ${phaseB.p99.toFixed(0)} µs with slow subscribers is ${p99Ratio.toFixed(2)}× its ${phaseA.p99.toFixed(0)} µs without`);
    if (healthyDropped) failures.push('the healthy subscriber was dropped');
    if (rowsLost > 0) failures.push(`${rowsLost} acknowledged rows never reached the healthy subscriber`);
    if (feed.errors.length > 0) failures.push(`feed errors: ${feed.errors.slice(0, 3).join(', ')}`);
    if (!tp.alive) failures.push('the tickerplant exited');
    return {
      slow: o.slow, dropped: droppedLogged, droppedLogged, closedSeen: closedSeen.size, phaseA, phaseB, phaseBSeconds, p99Ratio,
      rssBaseline, rssMax, rssBound, rowsLost, healthyDropped, bytesPerSecond, failures,
    };
  } finally {
    for (const s of slow) s.destroy();
    await tp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
