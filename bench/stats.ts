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
