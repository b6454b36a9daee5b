// Scenario 2: many concurrent clients subscribing, re-subscribing with other syms, hanging up and coming
// back (soak/churn.ts, a child process), while a feed publishes at a fixed rate and an honest subscriber
// of every trade times each row (feed→subscriber latency: both stamp CLOCK_MONOTONIC).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, fdLimits, nowNs, openFds, ownCpuSeconds, OWN_EXT, ROOT, secondsSince, sleep } from './env.js';
import { Feed, Subscriber } from './feed.js';
import type { ChurnStats } from './churn.js';
import { childEnv, TpProcess } from './tp.js';

export interface ConnectionsOptions {
  readonly clients: number;
  /** Feed updates a second (single-row). */
  readonly feedRate: number;
  /** Syms the feed cycles through (churn clients pick 1–3 of them). */
  readonly symCount: number;
  /** Baseline (no churn) and churn phase lengths. */
  readonly baselineMs: number;
  readonly churnMs: number;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

export interface LatencyFigures { n: number; p50: number; p99: number; p999: number; max: number }

export interface ConnectionsResult {
  readonly clients: number;
  readonly note: string;
  readonly fdSoftLimit: number;
  readonly churn: ChurnStats & { open: number };
  /** Updates a second the feed achieved during the churn phase. */
  readonly feedRateAchieved: number;
  readonly baseline: LatencyFigures;
  readonly latency: LatencyFigures;
  readonly rowsLost: number;
  readonly duplicates: number;
  readonly errors: number;
  readonly tpMaxFds: number;
  /** Clients connected and subscribed at the same moment, and how long it took to get there. */
  readonly allOpen: number;
  readonly readySeconds: number;
  /** CPU during the churn phase, as a share of one core. */
  readonly cpu: { readonly tp: number; readonly driver: number; readonly clients: number };
  readonly tpRssMax: number;
  readonly alive: boolean;
  readonly failures: string[];
}

const childPath = (): string => fileURLToPath(new URL(`./churn${OWN_EXT}`, import.meta.url));

/** Node arguments for a child that runs a sibling module (tap's TypeScript loader when running from source). */
export function childNodeArgs(): string[] {
  return OWN_EXT === '.ts' ? process.execArgv.filter((a) => a.includes('typescript')) : [];
}

export async function runConnectionsScenario(o: ConnectionsOptions): Promise<ConnectionsResult> {
  const progress = o.progress ?? (() => undefined);
  const limits = fdLimits();
  const need = o.clients + 256;
  let clients = o.clients;
  let note = '';
  let fdSoftLimit: number | undefined;
  if (limits.soft < need) {
    if (limits.hard >= need) fdSoftLimit = need;
    else {
      clients = Math.max(10, limits.hard - 256);
      note = `ulimit -n allows ${limits.hard} descriptors: ${clients} clients instead of ${o.clients}`;
    }
  }
  const syms = Array.from({ length: o.symCount }, (_, i) => `S${String(i).padStart(4, '0')}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-conn-'));
  const tp = await TpProcess.start({ dst: dir, ...(fdSoftLimit !== undefined ? { fdSoftLimit } : {}) });
  const failures: string[] = [];
  try {
    const sub = await Subscriber.connect(tp.port, { isFeedSym: (s) => s.charCodeAt(0) === 83 /* S */ });
    const feed = await Feed.connect(tp.port, 0, { symOf: (seq) => syms[seq % syms.length] as string });
    let stop = false;
    const feeding = feed.runPaced(o.feedRate, 1000, () => stop);
    await sleep(500);
    sub.recording = true;
    await sleep(o.baselineMs);
    sub.recording = false;
    const baseline = sub.latency.summary();
    sub.latency.clear();
    progress(`connections: baseline p99 ${baseline.p99.toFixed(0)} µs over ${baseline.n} rows; starting ${clients} clients`);

    let tpMaxFds = 0;
    let tpRssMax = 0;
    const sampler = setInterval(() => {
      tpMaxFds = Math.max(tpMaxFds, openFds(tp.pid) || 0);
      tpRssMax = Math.max(tpRssMax, tp.rss() || 0);
    }, 250);
    const cfg = JSON.stringify({ port: tp.port, clients, syms, seed: o.seed, durationMs: o.churnMs });
    const args = [...childNodeArgs(), childPath(), cfg];
    const child = fdSoftLimit === undefined
      ? spawn(process.execPath, args, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `ulimit -n ${fdSoftLimit} && exec "$0" "$@"`, process.execPath, ...args], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyAfter: number | undefined;
    let allOpen = 0;
    const t0 = nowNs();
    const sent0 = feed.messages;
    const cpu0 = { tp: cpuSeconds(tp.pid), own: ownCpuSeconds() };
    let childCpu = 0;
    const childSampler = setInterval(() => { const c = cpuSeconds(child.pid); if (c > 0) childCpu = c; }, 200);
    sub.recording = true;
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const result = await new Promise<(ChurnStats & { open: number }) | undefined>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, o.churnMs + 60_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready (\d+)$/m.exec(out);
        if (m && readyAfter === undefined) {
          readyAfter = secondsSince(t0);
          allOpen = Number(m[1]);
          progress(`connections: ${allOpen} clients connected and subscribed at once after ${readyAfter.toFixed(1)} s; TP has ${openFds(tp.pid)} descriptors open`);
        }
      });
      child.once('close', () => {
        clearTimeout(timer);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        resolve(line ? JSON.parse(line) as ChurnStats & { open: number } : undefined);
      });
    });
    sub.recording = false;
    clearInterval(childSampler);
    const churnSeconds = secondsSince(t0);
    const cpu = { tp: (cpuSeconds(tp.pid) - cpu0.tp) / churnSeconds, driver: (ownCpuSeconds() - cpu0.own) / churnSeconds, clients: childCpu / churnSeconds };
    const feedRateAchieved = (feed.messages - sent0) / churnSeconds;
    clearInterval(sampler);
    stop = true;
    await feeding;
    const rowsLost = await sub.waitFor(0, feed.acked, 15_000);
    const latency = sub.latency.summary();
    const alive = tp.alive;
    sub.close();
    feed.close();
    if (!result) {
      failures.push(`the churn child failed: ${err.slice(0, 500)}`);
      return {
        clients, note, fdSoftLimit: fdSoftLimit ?? limits.soft, churn: emptyChurn(), feedRateAchieved, baseline, latency,
        rowsLost, duplicates: sub.duplicates, errors: 1, cpu, tpMaxFds, allOpen, readySeconds: readyAfter ?? NaN, tpRssMax, alive, failures,
      };
    }
    const errors = result.connectErrors + result.handshakeRefusals + result.subscribeErrors.length + result.unexpectedCloses +
      result.wrongSymRows + feed.errors.length;
    if (result.connectErrors > 0) failures.push(`${result.connectErrors} connection attempts failed`);
    if (result.subscribeErrors.length > 0) failures.push(`.u.sub errors: ${result.subscribeErrors.slice(0, 3).join(', ')}`);
    if (result.unexpectedCloses > 0) failures.push(`${result.unexpectedCloses} client connections closed by the tickerplant`);
    if (result.wrongSymRows > 0) failures.push(`${result.wrongSymRows} rows for syms the client was not subscribed to`);
    if (allOpen < clients) failures.push(`only ${allOpen} of ${clients} clients were connected at once`);
    if (rowsLost > 0) failures.push(`${rowsLost} acknowledged rows never reached the honest subscriber`);
    if (sub.duplicates > 0) failures.push(`${sub.duplicates} duplicated rows at the honest subscriber`);
    if (feed.errors.length > 0) failures.push(`feed errors: ${feed.errors.slice(0, 3).join(', ')}`);
    if (!alive) failures.push('the tickerplant exited');
    if (tp.errorLines.length > 0) failures.push(`error-level log lines: ${tp.errorLines[0] ?? ''}`);
    return {
      clients, note, fdSoftLimit: fdSoftLimit ?? limits.soft, churn: result, feedRateAchieved, baseline, latency,
      rowsLost, duplicates: sub.duplicates, errors, cpu, tpMaxFds, allOpen, readySeconds: readyAfter ?? NaN, tpRssMax, alive, failures,
    };
  } finally {
    await tp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function emptyChurn(): ChurnStats & { open: number } {
  return { connects: 0, connectErrors: 0, handshakeRefusals: 0, subscribes: 0, subscribeErrors: [], disconnects: 0,
    unexpectedCloses: 0, rows: 0, wrongSymRows: 0, maxOpen: 0, open: 0 };
}
