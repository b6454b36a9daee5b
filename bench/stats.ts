// Timing helpers for benchmarks: median of repeated runs after a warm-up.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return sorted[i] as number;
}

/** Median wall time in ms of `runs` calls of fn, after `warmup` calls. */
export function time(fn: () => void, runs: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

export const fmt = (n: number, digits = 2): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(digits)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(digits)}k` : n.toFixed(digits);

/**
 * Microseconds to touch one fresh 4 KiB page, over 64 MiB. It is the machine's state, not ours: a page the
 * guest has never used costs the host's fault too (~27 µs on these VMs, measured: 12 GiB in 85 s, against
 * well under 1 µs once used), and every byte the tickerplant queues or journals lands on fresh pages while
 * its memory and the page cache grow. Printed beside the figures so that runs are compared knowingly.
 */
export function firstTouchMicrosPerPage(bytes = 64 * 1024 * 1024): number {
  const b = Buffer.allocUnsafeSlow(bytes);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < bytes; i += 4096) b[i] = 1;
  return Number(process.hrtime.bigint() - t0) / 1e3 / (bytes / 4096);
}
