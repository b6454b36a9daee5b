// Where things are and what the machine allows: the repository root (from soak/*.ts under tap or from
// dist-bench/soak/*.js), the built CLI, file-descriptor limits, and small timing helpers.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lightning-tickerplant') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('soak: cannot find the repository root');
    dir = up;
  }
}

export const ROOT = findRoot();
/** The tickerplant under test: the build of src/ (npm run build), or SOAK_CLI. */
export const CLI = process.env['SOAK_CLI'] ?? path.join(ROOT, 'dist', 'cli.js');
/** .ts when running from source (tap), .js when compiled (npm run soak): for forking sibling modules. */
export const OWN_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const nowNs = (): bigint => process.hrtime.bigint();
export const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** Soft and hard RLIMIT_NOFILE as a shell sees them (children inherit ours). */
export function fdLimits(): { soft: number; hard: number } {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
    const n = (s: string | undefined): number => (s === undefined || s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: n(out[0]), hard: n(out[1]) };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

/** Resident set size of a process in bytes (/proc/<pid>/status VmRSS); NaN when unreadable. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of a process (/proc/<pid>/fd); NaN when unreadable. */
export function openFds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Sorted-copy percentile (nearest rank), as bench/stats.ts. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return sorted[i] as number;
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number): string => (Number.isNaN(bytes) ? '—' : `${(bytes / MiB).toFixed(1)} MiB`);

/** Polls `pred` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(pred: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}

/** xorshift32, seedable: the same sequence for the same seed. */
export interface Rng { next(): number; int(n: number): number; chance(p: number): boolean; float(): number }
export function makeRng(seed: number): Rng {
  let x = (seed | 0) || 0x2545f491;
  const next = (): number => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
  return { next, int: (n) => (n <= 0 ? 0 : next() % n), chance: (p) => next() / 4294967296 < p, float: () => next() / 4294967296 };
}

/** utime + stime of a process in seconds (/proc/<pid>/stat; CLK_TCK 100); NaN when unreadable. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds this process has used. */
export const ownCpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
