// Reconnect delays (lnd client, chained tickerplant upstream): exponential from minDelayMs, capped at
// maxDelayMs, with "equal jitter" (half fixed, half random) so clients that lost the same peer do not return in step.

export interface BackoffOptions {
  /** First retry delay. [minDelayMs=100] */
  readonly minDelayMs?: number;
  /** Longest delay. [maxDelayMs=5000] */
  readonly maxDelayMs?: number;
  /** [random=Math.random] */
  readonly random?: () => number;
}

/** The delay before retry `attempt` (0 = the first retry after a failure). */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const min = o.minDelayMs ?? 100;
  const max = Math.max(min, o.maxDelayMs ?? 5000);
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (o.random ?? Math.random)() * (ceiling / 2));
}
